/* json.c - small helpers over jansson. */
#include "base/json.h"

#include <stdio.h>
#include <string.h>

json_t *mol_json_parse(const char *data, size_t len, char *err, size_t errlen) {
  json_error_t e;
  json_t *v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
  if (!v && err && errlen) snprintf(err, errlen, "%s at offset %d", e.text, e.position);
  return v;
}

json_t *mol_json_path(json_t *root, const char *path) {
  json_t *cur = root;
  const char *p = path;
  while (cur && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (!json_is_object(cur)) return NULL;
    cur = json_object_getn(cur, p, n);
    p += n + (dot ? 1 : 0);
  }
  return cur;
}

const char *mol_json_str(json_t *root, const char *path) {
  json_t *v = mol_json_path(root, path);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

long long mol_json_int(json_t *root, const char *path, long long dflt) {
  json_t *v = mol_json_path(root, path);
  return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

char *mol_json_dump(const json_t *v) {
  return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
