/* args.c - a tool call's arguments read into a jansson object (see args.h): the scanner's
 * tokens built straight into the tree, and json_loads for anything it does not decide (a
 * top-level value that is not an object, a real number, a string holding NUL, nesting past the
 * scanner's depth, invalid JSON), so that the tool sees exactly what jansson would give it. */
#include "tools/args.h"

#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

/* Strings and keys up to this many bytes are decoded on the stack. */
#define SHORT_TEXT 256

/* The STRING or KEY token decoded; *heap set when it had to be allocated. NULL: no memory. */
static char *decoded(const mol_jtok *t, char *small, char **heap, size_t *n) {
  char *out = t->len < SHORT_TEXT ? small : (*heap = malloc(t->len + 1));
  if (out) *n = mol_jscan_string(t, out);
  return out;
}

static json_t *scalar(const mol_jtok *t) {
  switch (t->type) {
    case MOL_JT_STRING: {
      char small[SHORT_TEXT], *heap = NULL;
      size_t n = 0;
      const char *s = decoded(t, small, &heap, &n);
      /* The scanner validated the UTF-8; a NUL inside is caught by mol_jscan_saw_nul. */
      json_t *v = s ? json_stringn_nocheck(s, n) : NULL;
      free(heap);
      return v;
    }
    case MOL_JT_INT: return json_integer(t->ival);
    case MOL_JT_TRUE: return json_true();
    case MOL_JT_FALSE: return json_false();
    case MOL_JT_NULL: return json_null();
    default: return NULL;
  }
}

/* Puts v into the container on top (under key for an object), taking v's reference. */
static int place(json_t *top, const mol_jtok *key, json_t *v) {
  if (json_is_array(top)) return json_array_append_new(top, v);
  char small[SHORT_TEXT], *heap = NULL;
  size_t n;
  const char *k = decoded(key, small, &heap, &n);
  /* A repeated key replaces the earlier value in its place, as json_loads does. */
  int rc = k ? json_object_set_new_nocheck(top, k, v) : (json_decref(v), -1);
  free(heap);
  return rc;
}

enum { OK, DECLINE, NOMEM };

static int build(mol_jscan *s, json_t **root) {
  json_t *stack[MOL_JSCAN_MAX_DEPTH];
  int sp = 0;
  mol_jtok t, key = {0};
  if (mol_jscan_next(s, &t) != MOL_JT_OBJECT || !(*root = json_object())) return DECLINE;
  stack[sp++] = *root;
  while (sp > 0) {
    mol_jtype ty = mol_jscan_next(s, &t);
    if (ty == MOL_JT_KEY) {
      key = t;
      continue;
    }
    if (ty == MOL_JT_OBJECT_END || ty == MOL_JT_ARRAY_END) {
      sp--;
      continue;
    }
    json_t *v = ty == MOL_JT_OBJECT ? json_object() : ty == MOL_JT_ARRAY ? json_array()
              : scalar(&t);
    if (!v) /* a real, a failure, or no memory: json_loads decides */
      return ty == MOL_JT_REAL || ty == MOL_JT_FAIL ? DECLINE : NOMEM;
    if (place(stack[sp - 1], &key, v)) return NOMEM;
    if (ty == MOL_JT_OBJECT || ty == MOL_JT_ARRAY) stack[sp++] = v; /* the scanner bounds sp */
  }
  return mol_jscan_next(s, &t) == MOL_JT_END && !mol_jscan_saw_nul(s) ? OK : DECLINE;
}

json_t *mol_tools__args_scan(const char *text, size_t len, int *declined) {
  mol_jscan s;
  json_t *root = NULL;
  mol_jscan_init(&s, text, len);
  int rc = build(&s, &root);
  *declined = rc == DECLINE;
  if (rc == OK) return root;
  json_decref(root);
  return NULL;
}

json_t *mol_tools__args_dom(const char *text, size_t len) {
  (void)len; /* NUL-terminated: json_loads reads up to the NUL, as the registry always did */
  return json_loads(text, 0, NULL);
}

json_t *mol_tools__args_parse(const char *text, size_t len) {
  int declined;
  json_t *v = mol_tools__args_scan(text, len, &declined);
  return v ? v : mol_tools__args_dom(text, len); /* out of memory too: jansson says so */
}
