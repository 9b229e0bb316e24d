/* test_tools_args.c - a tool call's arguments are read with the scanner and built into the
 * jansson object straight from its tokens, or left to json_loads: on every text the scanner
 * reads, json_loads gives the same value with its members in the same order (the schema check
 * reports the first bad one); on hand-written shapes (escapes, unicode, nesting, repeated keys,
 * long strings, numbers at the edges) and on tens of thousands of mutations of them. The
 * scanner must read the usual shapes itself and leave the rest to jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutate.h"
#include "tools/args.h"

static const char *const shapes[] = {
  /* what models send */
  "{\"workspace_id\":\"w1\",\"task\":\"turn 1234 step 0\"}",
  "{\"a\":2,\"b\":-3,\"flag\":true,\"off\":false,\"none\":null}",
  " {\n \"path\" : \"x\\ny\\t\\\"q\\\"\\\\\\/\" ,\"tags\":[\"a\",[],{}],\"meta\":{\"k\":{\"d\":[1,[2,[3]]]}}}\n",
  "{\"u\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9\xf0\x9f\x98\x80\",\"\\u006bey\":\"v\"}",
  "{}",
  "{\"dup\":1,\"other\":2,\"dup\":\"second\"}",
  "{\"big\":9223372036854775807,\"small\":-9223372036854775808,\"zero\":-0}",
  "{\"e\":\"\"}",
  /* left to jansson */
  "{\"ratio\":0.5}",
  "{\"n\":1e3}",
  "[1,2]",
  "{\"nul\":\"a\\u0000b\"}",
  "{\"over\":9223372036854775808}",
  "\"text\"",
  "42",
  "{\"a\":1} trailing",
  "{\"a\":1,}",
  "{\"bad\":\"\xff\"}",
  "{'single':1}",
  "",
  "{\"a\":1}\n\n",
};

/* shapes[i] the scanner must read itself (1) or leave to jansson (0). */
static const int fast_expected[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* Values equal and, for objects, members in the same order at every depth. */
static int same(const json_t *a, const json_t *b) {
  if (!json_equal((json_t *)a, (json_t *)b)) return 0;
  if (json_is_array(a)) {
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!same(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  if (!json_is_object(a)) return 1;
  void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
  for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib))
    if (strcmp(json_object_iter_key(ia), json_object_iter_key(ib)) ||
        !same(json_object_iter_value(ia), json_object_iter_value(ib)))
      return 0;
  return !ia && !ib;
}

/* Reads text both ways; when the scanner read it, the values must be the same. Returns 1 when
 * the scanner read it. text is copied so that it is NUL-terminated as the registry's is. */
static int read_both(const char *text, size_t len) {
  char *copy = malloc(len + 1);
  assert_non_null(copy);
  memcpy(copy, text, len);
  copy[len] = '\0';
  int declined = 0;
  json_t *fast = mol_tools__args_scan(copy, len, &declined);
  json_t *dom = mol_tools__args_dom(copy, len);
  if (fast && (!dom || !same(fast, dom))) {
    fprintf(stderr, "disagree on: %.*s\n", (int)len, text);
    fail();
  }
  if (!fast) assert_true(declined); /* never a silent NULL: no memory is short here */
  json_t *both = mol_tools__args_parse(copy, len);
  assert_true((!both && !dom) || (both && dom && same(both, dom)));
  json_decref(both);
  json_decref(fast);
  json_decref(dom);
  free(copy);
  return fast != NULL;
}

static void shapes_agree(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    if (read_both(shapes[i], strlen(shapes[i])) != fast_expected[i]) {
      fprintf(stderr, "shape %zu: %s\n", i, shapes[i]);
      fail();
    }
  }
}

/* The values the tool sees. */
static void the_values_are_right(void **state) {
  (void)state;
  int declined;
  json_t *v = mol_tools__args_scan(shapes[3], strlen(shapes[3]), &declined);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "u")),
                      "\xc3\xa9\xf0\x9f\x98\x80 \xc3\xa9\xf0\x9f\x98\x80");
  assert_string_equal(json_string_value(json_object_get(v, "key")), "v");
  json_decref(v);
  v = mol_tools__args_scan(shapes[5], strlen(shapes[5]), &declined);
  assert_string_equal(json_string_value(json_object_get(v, "dup")), "second");
  assert_string_equal(json_object_iter_key(json_object_iter(v)), "dup"); /* kept its place */
  json_decref(v);
  v = mol_tools__args_scan(shapes[6], strlen(shapes[6]), &declined);
  assert_true(json_integer_value(json_object_get(v, "small")) == INT64_MIN);
  json_decref(v);
}

/* Strings and keys past the stack buffer, and nesting past the scanner's depth. */
static void long_and_deep(void **state) {
  (void)state;
  size_t n = 5000;
  char *text = malloc(2 * n + 64);
  assert_non_null(text);
  size_t len = (size_t)sprintf(text, "{\"");
  memset(text + len, 'k', n), len += n;
  len += (size_t)sprintf(text + len, "\":\"");
  for (size_t i = 0; i < n / 2; i++) text[len++] = i % 50 ? 'v' : '\\', text[len++] = i % 50 ? 'w' : 'n';
  len += (size_t)sprintf(text + len, "\"}");
  assert_int_equal(read_both(text, len), 1);
  len = 0;
  for (int i = 0; i < 70; i++) len += (size_t)sprintf(text + len, "{\"d\":");
  text[len++] = '1';
  for (int i = 0; i < 70; i++) text[len++] = '}';
  text[len] = '\0';
  assert_int_equal(read_both(text, len), 0); /* deeper than the scanner goes: jansson reads it */
  json_t *v = mol_tools__args_parse(text, len);
  assert_non_null(v);
  json_decref(v);
  free(text);
}

/* Random edits of the shapes the scanner reads: wherever it reads, jansson reads the same. */
static void mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\ nul0123456789.eE+-abtrfsx\x00\xc3\xa9\xff";
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int fast = 0;
  char buf[1024];
  for (int iter = 0; iter < 40000; iter++) {
    size_t len = mol_test_mutate(buf, sizeof buf, shapes[iter % 8], 1 + iter % 3, &seed, alphabet,
                                 sizeof alphabet - 1);
    fast += read_both(buf, len);
  }
  assert_true(fast > 1000); /* the scanner still reads many of them: the test compares */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(shapes_agree),
    cmocka_unit_test(the_values_are_right),
    cmocka_unit_test(long_and_deep),
    cmocka_unit_test(mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
