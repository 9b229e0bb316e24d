/* json.c - small helpers over jansson. */
#include "base/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes8.h"
#include "molecule.h"

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

/* ---- serialisation ---------------------------------------------------------------------- */

/* json_dumps walks the tree through a callback per chunk and decodes UTF-8 per character; on
 * a message/send it cost more than the HTTP server's whole request. This writer produces the
 * same bytes (compact, insertion order, UTF-8 passed through, control characters escaped as
 * jansson does) by copying runs of plain bytes at once. Reals are left to jansson: they are
 * rare here and their formatting rules are jansson's own. */
static int write_string(mol_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001F, upper case */
  if (mol_buf_reserve(b, n + 2)) return -1;
  mol_buf_append(b, "\"", 1);
  size_t run = 0, i = 0;
  while (i < n) {
    if (n - i >= 8) { /* plain text goes eight bytes per step */
      if (!mol_b8_special(mol_b8_load(s + i))) {
        i += 8;
        continue;
      }
    }
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      i++;
      continue;
    }
    if (mol_buf_append(b, s + run, i - run)) return -1;
    char esc[7] = {'\\', 0};
    size_t len = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        len = 6;
    }
    if (mol_buf_append(b, esc, len)) return -1;
    run = ++i;
  }
  if (mol_buf_append(b, s + run, n - run)) return -1;
  return mol_buf_append(b, "\"", 1);
}

static int write_int(mol_buf *b, json_int_t v) {
  char tmp[24], *p = tmp + sizeof(tmp);
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  return mol_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int write_value(mol_buf *b, const json_t *v, int depth);

static int write_container(mol_buf *b, const json_t *v, int depth) {
  int obj = json_is_object(v);
  if (mol_buf_append(b, obj ? "{" : "[", 1)) return -1;
  int first = 1;
  if (obj) {
    const char *k;
    json_t *item;
    json_object_foreach((json_t *)v, k, item) {
      if ((!first && mol_buf_append(b, ",", 1)) || write_string(b, k, strlen(k)) ||
          mol_buf_append(b, ":", 1) || write_value(b, item, depth + 1))
        return -1;
      first = 0;
    }
  } else {
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      if ((!first && mol_buf_append(b, ",", 1)) || write_value(b, item, depth + 1)) return -1;
      first = 0;
    }
  }
  return mol_buf_append(b, obj ? "}" : "]", 1);
}

static int write_value(mol_buf *b, const json_t *v, int depth) {
  if (depth > 2048) return -1; /* jansson's own nesting limit */
  switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY: return write_container(b, v, depth);
    case JSON_STRING: return write_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return write_int(b, json_integer_value(v));
    case JSON_TRUE: return mol_buf_append(b, "true", 4);
    case JSON_FALSE: return mol_buf_append(b, "false", 5);
    case JSON_NULL: return mol_buf_append(b, "null", 4);
    case JSON_REAL: {
      char *s = json_dumps(v, JSON_ENCODE_ANY);
      int rc = s ? mol_buf_append_str(b, s) : -1;
      free(s);
      return rc;
    }
  }
  return -1;
}

int mol_json_write(mol_buf *b, const json_t *v) {
  size_t mark = b->len;
  if (!v || write_value(b, v, 0)) {
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
    return MOL_ENOMEM;
  }
  return 0;
}

int mol_json_write_string(mol_buf *b, const char *s, size_t n) {
  size_t mark = b->len;
  if (write_string(b, s, n)) {
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
    return MOL_ENOMEM;
  }
  return 0;
}

char *mol_json_dump(const json_t *v) {
  mol_buf b = MOL_BUF_INIT;
  if (mol_json_write(&b, v)) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}
