/* test_platform_delegate_answer.c - the platform's answer to a delegation is read with the
 * scanner, and with jansson when the scanner does not decide: wherever the scanner reads it,
 * jansson reads the same delegation_id and idempotent_hit (repeated keys, escapes, a
 * delegation_id that is not a string, NUL, not JSON), on a table and tens of thousands of
 * mutations; the platform's usual answers are read by the scanner itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutate.h"
#include "platform/platform_int.h"

static const struct {
  int fast; /* the scanner reads it itself */
  const char *body;
} rows[] = {
  {1, "{\"delegation_id\":\"5b0c1f3e-9a7d-4c2b-8e6f-1a2b3c4d5e6f\",\"status\":\"pending\"}"},
  {1, "{\"delegation_id\":\"d1\",\"idempotent_hit\":true,\"status\":\"completed\"}"},
  {1, "{\"x\":[1,{\"y\":null}],\"deleg\\u0061tion_id\":\"d\\u00e9\",\"idempotent_hit\":false}"},
  {1, "{\"delegation_id\":\"a\",\"delegation_id\":\"b\"}"},
  {1, "{\"delegation_id\":\"a\",\"delegation_id\":7}"},
  {1, "{\"idempotent_hit\":true,\"idempotent_hit\":1}"},
  {1, "{}"},
  {1, "{\"r\":1.5e3}"},
  {0, "{\"delegation_id\":\"a\\u0000b\"}"},
  {0, "[{\"delegation_id\":\"a\"}]"},
  {0, "\"a\""},
  {0, "{\"delegation_id\":\"a\"} trailing"},
  {0, "{\"delegation_id\":}"},
  {0, "{\"big\":123456789012345678901234567890}"},
};

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Returns what the scanner did; when it read the body, jansson must read the same. */
static int read_both(const char *body, size_t len) {
  char *a, *b;
  int ha, hb;
  int fast = mol_platform__delegate_answer_scan(body, len, &a, &ha);
  int dom = mol_platform__delegate_answer_dom(body, len, &b, &hb);
  if (fast && (!dom || ha != hb || !same_str(a, b))) {
    fprintf(stderr, "disagree on: %.*s (scanner %s %d, jansson %s %d)\n", (int)len, body,
            a ? a : "NULL", ha, b ? b : "NULL", hb);
    fail();
  }
  if (!fast) assert_null(a);
  free(a);
  free(b);
  return fast;
}

static void table_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    if (read_both(rows[i].body, strlen(rows[i].body)) != rows[i].fast) {
      fprintf(stderr, "row %zu: %s\n", i, rows[i].body);
      fail();
    }
  }
  char *id;
  int hit;
  assert_int_equal(mol_platform__delegate_answer_scan(rows[1].body, strlen(rows[1].body), &id, &hit), 1);
  assert_string_equal(id, "d1");
  assert_int_equal(hit, 1);
  free(id);
  assert_int_equal(mol_platform__delegate_answer_scan(rows[4].body, strlen(rows[4].body), &id, &hit), 1);
  assert_null(id); /* the last delegation_id is no string: none, as jansson says */
}

static void mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\ nul0123456789.eE+-abtrfsdix\x00\xc3\xa9\xff";
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int fast = 0;
  char buf[512];
  for (int iter = 0; iter < 40000; iter++) {
    size_t len = mol_test_mutate(buf, sizeof buf, rows[iter % 4].body, 1 + iter % 3, &seed, alphabet,
                                 sizeof alphabet - 1);
    fast += read_both(buf, len);
  }
  assert_true(fast > 1000); /* the scanner still reads many of them: the test compares */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_agrees),
    cmocka_unit_test(mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
