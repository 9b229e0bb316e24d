/* yaml_json.h - loads a YAML document into a jansson value, so configuration is read with
 * the same helpers as JSON. Plain scalars follow YAML 1.1's core forms as PyYAML's
 * safe_load reads them (null/~, true/false/yes/no/on/off, integers, floats); quoted scalars
 * are always strings. Anchors and aliases are refused (config files need none, and they are
 * the classic "billion laughs" vector). */
#ifndef MOL_RUNTIME_YAML_JSON_H
#define MOL_RUNTIME_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>

/* Parses the first document of a YAML text. An empty document gives an empty object.
 * Returns NULL on error with a "line N: reason" message in err. */
json_t *mol_yaml_parse(const char *text, size_t len, char *err, size_t errlen);
json_t *mol_yaml_load_file(const char *path, char *err, size_t errlen);

#endif
