#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static void append_and_printf(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  assert_int_equal(mol_buf_append_str(&b, "hello"), 0);
  assert_int_equal(mol_buf_printf(&b, " %d-%s", 42, "x"), 0);
  assert_string_equal(b.data, "hello 42-x");
  assert_int_equal(b.len, 10);
  mol_buf_free(&b);
  assert_null(b.data);
}

static void grows_past_many_doublings(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  char chunk[1000];
  memset(chunk, 'a', sizeof(chunk));
  for (int i = 0; i < 1000; i++) assert_int_equal(mol_buf_append(&b, chunk, sizeof(chunk)), 0);
  assert_int_equal(b.len, 1000000);
  assert_true(b.cap > b.len);
  assert_int_equal(b.data[b.len], '\0');
  mol_buf_free(&b);
}

static void consume_shifts_and_clamps(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, "abcdef");
  mol_buf_consume(&b, 2);
  assert_string_equal(b.data, "cdef");
  mol_buf_consume(&b, 100);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  mol_buf_free(&b);
}

static void steal_hands_over_memory(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  char *empty = mol_buf_steal(&b);
  assert_non_null(empty);
  assert_string_equal(empty, "");
  free(empty);
  mol_buf_append_str(&b, "xyz");
  char *s = mol_buf_steal(&b);
  assert_string_equal(s, "xyz");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  free(s);
}

/* A known size is allocated as asked (queued HTTP requests hold their wire bytes: doubling
 * from 64 would hold up to twice that); later growth still doubles. */
static void first_reserve_is_exact(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  assert_int_equal(mol_buf_reserve(&b, 600), 0);
  assert_int_equal(b.cap, 601);
  char x[600] = {0};
  assert_int_equal(mol_buf_append(&b, x, sizeof(x)), 0);
  assert_int_equal(b.cap, 601);
  assert_int_equal(mol_buf_append(&b, "y", 1), 0);
  assert_int_equal(b.cap, 1202);
  assert_int_equal(b.len, 601);
  mol_buf_free(&b);
}

static void reserve_rejects_overflow(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  assert_int_not_equal(mol_buf_reserve(&b, SIZE_MAX - 2), 0);
  mol_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(append_and_printf),
    cmocka_unit_test(grows_past_many_doublings),
    cmocka_unit_test(consume_shifts_and_clamps),
    cmocka_unit_test(steal_hands_over_memory),
    cmocka_unit_test(reserve_rejects_overflow),
    cmocka_unit_test(first_reserve_is_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
