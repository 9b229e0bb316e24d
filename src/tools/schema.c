/* schema.c - checking a tool call's arguments against its schema (see schema.h). */
#include "tools/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_type(const json_t *v, const char *type) {
  if (strcmp(type, "string") == 0) return json_is_string(v);
  if (strcmp(type, "integer") == 0)
    return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
  if (strcmp(type, "number") == 0) return json_is_number(v);
  if (strcmp(type, "boolean") == 0) return json_is_boolean(v);
  if (strcmp(type, "object") == 0) return json_is_object(v);
  if (strcmp(type, "array") == 0) return json_is_array(v);
  if (strcmp(type, "null") == 0) return json_is_null(v);
  return 1; /* a type this check does not know: the tool decides */
}

/* 1 when v has one of the types the property declares (or it declares none). Every call of
 * every tool passes here: the names are only written out for the error. */
static int type_fits(const json_t *prop, const json_t *v) {
  const json_t *type = json_object_get(prop, "type");
  if (json_is_string(type)) return is_type(v, json_string_value(type));
  if (!json_is_array(type) || json_array_size(type) == 0) return 1;
  size_t i;
  const json_t *t;
  json_array_foreach(type, i, t) {
    if (json_is_string(t) && is_type(v, json_string_value(t))) return 1;
  }
  return 0;
}

/* The declared types, for the error of a value that has none of them. */
static void type_names(const json_t *prop, char *want, size_t wantlen) {
  const json_t *type = json_object_get(prop, "type");
  if (json_is_string(type)) {
    snprintf(want, wantlen, "%s", json_string_value(type));
    return;
  }
  size_t i;
  const json_t *t;
  want[0] = '\0';
  json_array_foreach(type, i, t) {
    if (!json_is_string(t)) continue;
    size_t n = strlen(want);
    snprintf(want + n, wantlen - n, "%s%s", n ? " or " : "", json_string_value(t));
  }
}

static int in_enum(const json_t *prop, const json_t *v) {
  const json_t *values = json_object_get(prop, "enum");
  if (!json_is_array(values)) return 1;
  size_t i;
  const json_t *e;
  json_array_foreach(values, i, e) if (json_equal((json_t *)e, (json_t *)v)) return 1;
  return 0;
}

int mol_tool_schema_check(const json_t *schema, const json_t *args, char *err, size_t errlen) {
  if (!json_is_object(args)) {
    snprintf(err, errlen, "the arguments must be a JSON object");
    return -1;
  }
  size_t i;
  const json_t *req;
  json_array_foreach(json_object_get(schema, "required"), i, req) {
    if (json_is_string(req) && !json_object_get(args, json_string_value(req))) {
      snprintf(err, errlen, "missing required argument \"%s\"", json_string_value(req));
      return -1;
    }
  }
  const json_t *props = json_object_get(schema, "properties");
  int closed = json_is_false(json_object_get(schema, "additionalProperties"));
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)args, key, v) {
    const json_t *prop = json_object_get(props, key);
    char want[128];
    if (!prop) {
      if (!closed) continue;
      snprintf(err, errlen, "unknown argument \"%s\"", key);
      return -1;
    }
    if (!type_fits(prop, v)) {
      type_names(prop, want, sizeof want);
      snprintf(err, errlen, "argument \"%s\" must be %s", key, want);
      return -1;
    }
    if (!in_enum(prop, v)) {
      char *allowed = json_dumps(json_object_get(prop, "enum"), JSON_COMPACT);
      snprintf(err, errlen, "argument \"%s\" must be one of %s", key, allowed ? allowed : "its enum");
      free(allowed);
      return -1;
    }
  }
  return 0;
}
