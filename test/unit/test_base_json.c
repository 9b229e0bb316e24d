#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static void parse_and_paths(void **state) {
  (void)state;
  const char *doc = "{\"a\":{\"b\":{\"c\":\"deep\",\"n\":7}},\"s\":\"top\",\"arr\":[1]}";
  json_t *v = mol_json_parse(doc, strlen(doc), NULL, 0);
  assert_non_null(v);
  assert_string_equal(mol_json_str(v, "a.b.c"), "deep");
  assert_int_equal(mol_json_int(v, "a.b.n", -1), 7);
  assert_int_equal(mol_json_int(v, "a.b.c", -1), -1);
  assert_null(mol_json_str(v, "a.b.missing"));
  assert_null(mol_json_str(v, "arr.x"));
  assert_string_equal(mol_json_str(v, "s"), "top");
  char *out = mol_json_dump(v);
  assert_string_equal(out, doc);
  free(out);
  json_decref(v);
}

static void parse_errors_explained(void **state) {
  (void)state;
  char err[128] = "";
  assert_null(mol_json_parse("{\"a\":", 5, err, sizeof(err)));
  assert_true(strlen(err) > 0);
  json_t *scalar = mol_json_parse("42", 2, NULL, 0);
  assert_true(json_is_integer(scalar));
  json_decref(scalar);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_and_paths),
    cmocka_unit_test(parse_errors_explained),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
