/* yaml_json.c - YAML to jansson via libyaml's event parser. */
#include "runtime/yaml_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

typedef struct {
  yaml_parser_t parser;
  char *err;
  size_t errlen;
} reader;

static void fail(reader *r, size_t line, const char *what) {
  if (r->err && !r->err[0]) snprintf(r->err, r->errlen, "line %zu: %s", line + 1, what);
}

static int is_int(const char *s) {
  const char *p = s + (*s == '-' || *s == '+');
  if (!*p) return 0;
  for (; *p; p++)
    if (*p < '0' || *p > '9') return 0;
  return 1;
}

static json_t *plain_scalar(const char *s) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
  static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (size_t i = 0; i < 5; i++)
    if (strcmp(s, nulls[i]) == 0) return json_null();
  for (size_t i = 0; i < 9; i++) {
    if (strcmp(s, trues[i]) == 0) return json_true();
    if (strcmp(s, falses[i]) == 0) return json_false();
  }
  if (is_int(s)) {
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == 0) return json_integer(v);
  }
  char *end;
  double d = strtod(s, &end);
  if (*s && !*end && strspn(s, "0123456789.+-eE") == strlen(s)) return json_real(d);
  return json_string(s);
}

static json_t *scalar(const yaml_event_t *ev) {
  const char *v = (const char *)ev->data.scalar.value;
  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return plain_scalar(v);
  return json_stringn(v, ev->data.scalar.length);
}

static json_t *node(reader *r, yaml_event_t *ev, int depth);

static json_t *collection(reader *r, int is_map, int depth, size_t line) {
  json_t *c = is_map ? json_object() : json_array();
  if (!c) {
    fail(r, line, "out of memory");
    return NULL;
  }
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&r->parser, &ev)) {
      fail(r, r->parser.problem_mark.line, r->parser.problem ? r->parser.problem : "syntax error");
      json_decref(c);
      return NULL;
    }
    if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return c;
    }
    json_t *key = node(r, &ev, depth + 1), *val = NULL;
    if (key && is_map) {
      yaml_event_t vev;
      if (!json_is_string(key)) { /* PyYAML would accept ints as keys; JSON cannot */
        json_t *s = json_is_integer(key) ? json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(key)) : NULL;
        json_decref(key);
        key = s;
        if (!key) fail(r, ev.start_mark.line, "mapping keys must be strings or integers");
      }
      if (key && yaml_parser_parse(&r->parser, &vev)) val = node(r, &vev, depth + 1);
      else if (key) fail(r, r->parser.problem_mark.line, "syntax error");
      if (val && json_object_set_new(c, json_string_value(key), val)) {
        fail(r, ev.start_mark.line, "out of memory"); /* never a member silently missing */
        val = NULL;
      }
      json_decref(key);
    } else if (key) {
      val = key;
      if (json_array_append_new(c, val)) {
        fail(r, ev.start_mark.line, "out of memory");
        val = NULL;
      }
    }
    if (!val) {
      json_decref(c);
      return NULL;
    }
  }
}

/* Consumes ev (and the events of its children). */
static json_t *node(reader *r, yaml_event_t *ev, int depth) {
  json_t *v = NULL;
  if (depth > MAX_DEPTH) {
    fail(r, ev->start_mark.line, "nesting too deep");
  } else if (ev->type == YAML_SCALAR_EVENT) {
    if (ev->data.scalar.anchor) fail(r, ev->start_mark.line, "anchors are not supported");
    else if (!(v = scalar(ev))) fail(r, ev->start_mark.line, "out of memory");
  } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    size_t line = ev->start_mark.line;
    int anchored = is_map ? ev->data.mapping_start.anchor != NULL : ev->data.sequence_start.anchor != NULL;
    yaml_event_delete(ev);
    if (anchored) {
      fail(r, line, "anchors are not supported");
      return NULL;
    }
    return collection(r, is_map, depth, line);
  } else if (ev->type == YAML_ALIAS_EVENT) {
    fail(r, ev->start_mark.line, "aliases are not supported");
  } else {
    fail(r, ev->start_mark.line, "unexpected YAML event");
  }
  yaml_event_delete(ev);
  return v;
}

json_t *mol_yaml_parse(const char *text, size_t len, char *err, size_t errlen) {
  reader r = {.err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  yaml_parser_initialize(&r.parser);
  yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
  json_t *root = NULL;
  int done = 0;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&r.parser, &ev)) {
      fail(&r, r.parser.problem_mark.line, r.parser.problem ? r.parser.problem : "syntax error");
      json_decref(root);
      root = NULL;
      break;
    }
    switch (ev.type) {
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT:
      case YAML_SCALAR_EVENT:
      case YAML_ALIAS_EVENT:
        root = node(&r, &ev, 0);
        done = 1; /* the first document only */
        break;
      case YAML_STREAM_END_EVENT:
        done = 1;
        yaml_event_delete(&ev);
        break;
      default:
        yaml_event_delete(&ev);
    }
  }
  yaml_parser_delete(&r.parser);
  if (!root && !(err && err[0])) root = json_object();
  if (json_is_null(root)) {
    json_decref(root);
    root = json_object();
  }
  if (!root && err && errlen && !err[0]) snprintf(err, errlen, "out of memory");
  return root;
}

json_t *mol_yaml_load_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (err) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t cap = 0, len = 0, n;
  char chunk[8192];
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (len + n > cap) {
      cap = (len + n) * 2;
      char *p = realloc(buf, cap);
      if (!p) { /* never a document read from half the file */
        fclose(f);
        free(buf);
        if (err) snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
      }
      buf = p;
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  json_t *v = mol_yaml_parse(buf ? buf : "", len, err, errlen);
  free(buf);
  return v;
}
