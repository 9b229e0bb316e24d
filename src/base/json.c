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
/* Copies the plain text of s from i into the room reserved at o, up to the first byte to escape
 * (or n); returns where it stopped. Eight bytes per step: a word is stored whole even when it
 * holds the byte to escape (the room is there), the bytes from that one on are written again. */
static size_t copy_plain(char *o, const char *s, size_t i, size_t n) {
  size_t j = i;
#if MOL_B16
  while (n - j >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(s + j));
    _mm_storeu_si128((__m128i *)(o + (j - i)), x);
    unsigned m = mol_b16_stops(s + j, 0);
    if (m) return j + (size_t)__builtin_ctz(m);
    j += 16;
  }
  if (j > i && j < n && n - i >= 16) { /* the last 16 bytes, some of them already passed */
    size_t k = n - 16;
    _mm_storeu_si128((__m128i *)(o + (k - i)), _mm_loadu_si128((const __m128i *)(s + k)));
    unsigned m = mol_b16_stops(s + k, 0);
    return m ? k + (size_t)__builtin_ctz(m) : n; /* the bytes before j are plain: not marked */
  }
#endif
  while (n - j >= 8) {
    uint64_t w = mol_b8_load(s + j);
    uint64_t m = mol_b8_special_bits(w);
    memcpy(o + (j - i), &w, 8);
    if (m) {
#if MOL_B8_FIRST
      j += mol_b8_first(m);
#endif
      break;
    }
    j += 8;
  }
  for (; j < n; j++) {
    unsigned char c = (unsigned char)s[j];
    if (c < 0x20 || c == '"' || c == '\\') break;
    o[j - i] = (char)c;
  }
  return j;
}

static int write_string(mol_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001F, upper case */
  if (mol_buf_append(b, "\"", 1)) return -1;
  size_t i = 0;
  for (;;) {
    if (mol_buf_reserve(b, n - i + 1)) return -1; /* the rest, if plain, and the quote */
    size_t j = copy_plain(b->data + b->len, s, i, n);
    b->len += j - i;
    if (j == n) break;
    unsigned char c = (unsigned char)s[j];
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
    i = j + 1;
  }
  b->data[b->len++] = '"'; /* reserved above, with the NUL */
  b->data[b->len] = '\0';
  return 0;
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

/* Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), as jansson requires of
 * every string it serialises: the compact form must never write what a tree could not hold. */
int mol_json_utf8_valid(const char *text, size_t n) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8 && (mol_b8_load(s + i) & MOL_B8_HIGHS) == 0) {
      i += 8; /* ASCII, eight bytes per step */
      continue;
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}
