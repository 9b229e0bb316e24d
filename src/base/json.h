/* json.h - small helpers over jansson. */
#ifndef MOL_BASE_JSON_H
#define MOL_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

/* Parses len bytes of JSON (any top-level value). Returns NULL on error; if err is non-NULL it
 * receives a short description. */
json_t *mol_json_parse(const char *data, size_t len, char *err, size_t errlen);
/* Follows a dot-separated path of object keys ("a.b.c"); NULL when any step is missing. */
json_t *mol_json_path(json_t *root, const char *path);
/* The string at `path`, or NULL when missing or not a string. */
const char *mol_json_str(json_t *root, const char *path);
/* The integer at `path`, or `dflt` when missing or not an integer. */
long long mol_json_int(json_t *root, const char *path, long long dflt);
/* Compact serialisation, byte for byte what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) gives,
 * several times faster; the caller frees. NULL on allocation failure. */
char *mol_json_dump(const json_t *v);
/* The same, appended to b. Returns 0 or MOL_ENOMEM (b is left as it was). */
int mol_json_write(mol_buf *b, const json_t *v);
/* n bytes of UTF-8 (NULs allowed) as a JSON string literal, escaped exactly as mol_json_write
 * escapes strings, appended to b. Returns 0 or MOL_ENOMEM (b is left as it was). */
int mol_json_write_string(mol_buf *b, const char *s, size_t n);
/* 1 if s[0..n) is strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF): what
 * jansson accepts in a string it serialises. */
int mol_json_utf8_valid(const char *s, size_t n);

#endif
