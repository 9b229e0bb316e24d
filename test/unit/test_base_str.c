/* test_base_str.c - the shared whitespace stripper (base/str.h): what counts as blank, in place
 * and as a copy, and the blank-only test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

static void blanks_are_the_c_locale_spaces(void **state) {
  (void)state;
  for (int ch = 1; ch < 256; ch++) {
    int want = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
    assert_int_equal(mol_is_blank((char)ch), want);
  }
  assert_false(mol_is_blank('\0'));
}

static void strip_in_place(void **state) {
  (void)state;
  char a[] = " \t\v\f\r\n tok en \r\n\f\v";
  assert_ptr_equal(mol_str_strip(a), a);
  assert_string_equal(a, "tok en");
  char b[] = "  \n";
  assert_string_equal(mol_str_strip(b), "");
  char c[] = "x";
  assert_string_equal(mol_str_strip(c), "x");
  char d[] = "caf\xC3\xA9\xC2\xA0"; /* bytes above 0x7f are never blank (no locale) */
  assert_string_equal(mol_str_strip(d), "caf\xC3\xA9\xC2\xA0");
  assert_null(mol_str_strip(NULL));
}

static void strip_copy(void **state) {
  (void)state;
  const char *in = "\n tok-0123 \t\n";
  char *s = mol_str_strip_dup(in);
  assert_string_equal(s, "tok-0123");
  assert_string_equal(in, "\n tok-0123 \t\n"); /* the input is untouched */
  free(s);
  s = mol_str_strip_dup(" \v\f ");
  assert_string_equal(s, "");
  free(s);
}

static void blank_only(void **state) {
  (void)state;
  assert_true(mol_str_is_blank(NULL));
  assert_true(mol_str_is_blank(""));
  assert_true(mol_str_is_blank(" \t\r\n\v\f"));
  assert_false(mol_str_is_blank(" a "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(blanks_are_the_c_locale_spaces),
    cmocka_unit_test(strip_in_place),
    cmocka_unit_test(strip_copy),
    cmocka_unit_test(blank_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
