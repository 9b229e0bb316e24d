/* fuzz_jscan.c - the scanner must never be more lenient than jansson: whenever a walk over the
 * input reaches MOL_JT_END, json_loadb (with mol_json_parse's flags) must accept the input and
 * give exactly the value rebuilt from the tokens. Inputs whose length is odd also skip the first
 * container with mol_jscan_skip, which must agree with the full walk. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

#define JFLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Walks the whole input, rebuilding a jansson value. Returns it on MOL_JT_END, NULL on
 * MOL_JT_FAIL; aborts on anything inconsistent. */
static json_t *rebuild(const char *data, size_t len) {
  mol_jscan s;
  mol_jtok t;
  json_t *stack[MOL_JSCAN_MAX_DEPTH], *root = NULL;
  int sp = 0;
  char *key = NULL;
  size_t klen = 0;
  mol_jscan_init(&s, data, len);
  for (;;) {
    mol_jtype ty = mol_jscan_next(&s, &t);
    json_t *v = NULL;
    if (t.type != ty) abort();
    if (ty != MOL_JT_FAIL && ty != MOL_JT_END &&
        (t.start < data || t.len > (size_t)(data + len - t.start)))
      abort(); /* tokens lie inside the input */
    switch (ty) {
      case MOL_JT_FAIL:
        if (mol_jscan_next(&s, &t) != MOL_JT_FAIL || mol_jscan_skip(&s) != -1) abort();
        free(key);
        json_decref(root);
        return NULL;
      case MOL_JT_END:
        if (sp != 0 || key || mol_jscan_next(&s, &t) != MOL_JT_END) abort();
        return root;
      case MOL_JT_KEY:
        if (key) abort();
        key = malloc(t.len + 1);
        klen = mol_jscan_string(&t, key);
        if (klen > t.len || memchr(key, '\0', klen) || !mol_jscan_eq(&t, key)) abort();
        continue;
      case MOL_JT_OBJECT_END:
      case MOL_JT_ARRAY_END:
        if (sp == 0 || json_is_object(stack[sp - 1]) != (ty == MOL_JT_OBJECT_END)) abort();
        sp--;
        continue;
      case MOL_JT_OBJECT: v = json_object(); break;
      case MOL_JT_ARRAY: v = json_array(); break;
      case MOL_JT_STRING: {
        char *buf = malloc(t.len + 1);
        size_t n = mol_jscan_string(&t, buf);
        if (n > t.len || buf[n] != '\0') abort();
        if (!memchr(buf, '\0', n) && !mol_jscan_eq(&t, buf)) abort();
        v = json_stringn(buf, n);
        free(buf);
        break;
      }
      case MOL_JT_INT: v = json_integer(t.ival); break;
      case MOL_JT_REAL: {
        char *buf = malloc(t.len + 1);
        memcpy(buf, t.start, t.len);
        buf[t.len] = '\0';
        v = json_real(strtod(buf, NULL));
        free(buf);
        break;
      }
      case MOL_JT_TRUE: v = json_true(); break;
      case MOL_JT_FALSE: v = json_false(); break;
      case MOL_JT_NULL: v = json_null(); break;
    }
    if (!v) abort(); /* e.g. json_stringn refusing invalid UTF-8, json_real refusing inf */
    if (sp == 0) {
      if (root) abort();
      root = v;
    } else if (json_is_object(stack[sp - 1])) {
      if (!key || json_object_setn_new(stack[sp - 1], key, klen, v) != 0) abort();
      free(key);
      key = NULL;
    } else if (json_array_append_new(stack[sp - 1], v) != 0) {
      abort();
    }
    if (ty == MOL_JT_OBJECT || ty == MOL_JT_ARRAY) {
      if (sp == MOL_JSCAN_MAX_DEPTH) abort();
      stack[sp++] = v;
    }
  }
}

/* Reads up to the first container, skips it, then reads to the end: the outcome must match the
 * full walk (read = it reached MOL_JT_END). */
static void check_skip(const char *data, size_t len, int read) {
  mol_jscan s;
  mol_jtok t;
  mol_jtype ty;
  mol_jscan_init(&s, data, len);
  do ty = mol_jscan_next(&s, &t);
  while (ty != MOL_JT_OBJECT && ty != MOL_JT_ARRAY && ty != MOL_JT_FAIL && ty != MOL_JT_END);
  if (ty == MOL_JT_OBJECT || ty == MOL_JT_ARRAY) {
    if (mol_jscan_skip(&s) != 0) {
      if (read) abort();
      return;
    }
  }
  while (ty != MOL_JT_FAIL && ty != MOL_JT_END) ty = mol_jscan_next(&s, &t);
  if ((ty == MOL_JT_END) != read) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  json_t *got = rebuild(text, size);
  if (got) {
    json_error_t err;
    json_t *want = json_loadb(text, size, JFLAGS, &err);
    if (!want || !json_equal(got, want)) abort(); /* the scanner was more lenient than jansson */
    json_decref(want);
    json_decref(got);
  }
  if (size & 1) check_skip(text, size, got != NULL);
  return 0;
}
