/* jscan_rebuild.h - rebuilds a jansson value from mol_jscan tokens, checking each token on the
 * way (shared by test/unit/test_base_jscan.c and test/fuzz/fuzz_jscan.c). The includer defines
 * JR_CHECK(cond): fail the test, or abort for the fuzzer. */
#ifndef MOL_TEST_JSCAN_REBUILD_H
#define MOL_TEST_JSCAN_REBUILD_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

#define JFLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Walks the whole input, rebuilding a jansson value. Returns it on MOL_JT_END, NULL on
 * MOL_JT_FAIL; aborts on anything inconsistent. */
static json_t *jr_rebuild(const char *data, size_t len) {
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
    JR_CHECK(t.type == ty);
    JR_CHECK(ty == MOL_JT_FAIL || ty == MOL_JT_END ||
             (t.start >= data && t.len <= (size_t)(data + len - t.start))); /* inside the input */
    switch (ty) {
      case MOL_JT_FAIL:
        JR_CHECK(mol_jscan_next(&s, &t) == MOL_JT_FAIL && mol_jscan_skip(&s) == -1); /* sticky */
        free(key);
        json_decref(root);
        return NULL;
      case MOL_JT_END:
        JR_CHECK(sp == 0 && !key && mol_jscan_next(&s, &t) == MOL_JT_END);
        return root;
      case MOL_JT_KEY:
        JR_CHECK(!key);
        key = malloc(t.len + 1);
        klen = mol_jscan_string(&t, key);
        JR_CHECK(klen <= t.len && !memchr(key, '\0', klen) && mol_jscan_eq(&t, key));
        continue;
      case MOL_JT_OBJECT_END:
      case MOL_JT_ARRAY_END:
        JR_CHECK(sp > 0 && json_is_object(stack[sp - 1]) == (ty == MOL_JT_OBJECT_END));
        sp--;
        continue;
      case MOL_JT_OBJECT: v = json_object(); break;
      case MOL_JT_ARRAY: v = json_array(); break;
      case MOL_JT_STRING: {
        char *buf = malloc(t.len + 1);
        size_t n = mol_jscan_string(&t, buf);
        JR_CHECK(n <= t.len && buf[n] == '\0');
        JR_CHECK(memchr(buf, '\0', n) || mol_jscan_eq(&t, buf));
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
      case MOL_JT_BIGNUM: JR_CHECK(0); break; /* only after mol_jscan_allow_bignum */
    }
    JR_CHECK(v != NULL); /* e.g. json_stringn refusing invalid UTF-8, json_real refusing inf */
    if (sp == 0) {
      JR_CHECK(!root);
      root = v;
    } else if (json_is_object(stack[sp - 1])) {
      JR_CHECK(key && json_object_setn_new(stack[sp - 1], key, klen, v) == 0);
      free(key);
      key = NULL;
    } else {
      JR_CHECK(json_array_append_new(stack[sp - 1], v) == 0);
    }
    if (ty == MOL_JT_OBJECT || ty == MOL_JT_ARRAY) {
      JR_CHECK(sp < MOL_JSCAN_MAX_DEPTH);
      stack[sp++] = v;
    }
  }
}

#endif
