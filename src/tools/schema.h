/* schema.h - the part of JSON Schema a tool's arguments are checked against before the tool
 * runs: the arguments are an object; every "required" property is present; each property
 * declared under "properties" has its declared "type" (a name or a list of names) and, when it
 * lists an "enum", one of its values; with "additionalProperties": false, nothing else. Enough
 * to turn a model's malformed call into a clear error text; the tool checks the meaning. Pure. */
#ifndef MOL_TOOLS_SCHEMA_H
#define MOL_TOOLS_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* 0 when args fits schema; else -1 with a one-line reason in err (NUL-terminated). */
int mol_tool_schema_check(const json_t *schema, const json_t *args, char *err, size_t errlen);

#endif
