/* Unit tests of the server's route table (route.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/server_int.h"
#include "molecule.h"

static int tags[8];
static void h(mol_http_req *r, void *arg) {
  (void)r;
  (void)arg;
}

static int match(const mol_routes *t, const char *m, const char *p, int *status, mol_buf *a) {
  const mol_route *r = mol_http__routes_match(t, m, p, status, a);
  return r ? *(int *)r->arg : 0;
}

static void exact_prefix_and_methods(void **state) {
  (void)state;
  mol_routes t = {0};
  for (int i = 0; i < 8; i++) tags[i] = i + 1;
  assert_int_equal(mol_http__routes_add(&t, "GET", "/a", 0, h, &tags[0]), 0);
  assert_int_equal(mol_http__routes_add(&t, "POST", "/a", 0, h, &tags[1]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/api", 1, h, &tags[2]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/api/v2/", 1, h, &tags[3]), 0);
  assert_int_equal(mol_http__routes_add(&t, "GET", "/api/exact", 0, h, &tags[4]), 0);
  assert_int_equal(mol_http__routes_add(&t, "PUT", "/only-put", 0, h, &tags[5]), 0);
  assert_int_equal(mol_http__routes_add(&t, "GET", "relative", 0, h, &tags[6]), MOL_EINVAL);
  int st = 0;
  mol_buf allow = MOL_BUF_INIT;
  assert_int_equal(match(&t, "GET", "/a", &st, NULL), 1);
  assert_int_equal(match(&t, "POST", "/a", &st, NULL), 2);
  assert_int_equal(match(&t, "HEAD", "/a", &st, NULL), 1);   /* HEAD falls back to GET */
  assert_int_equal(match(&t, "GET", "/api", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/api/x/y", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/api/v2/z", &st, NULL), 4); /* longest prefix wins */
  assert_int_equal(match(&t, "GET", "/api/exact", &st, NULL), 5); /* exact beats prefix */
  assert_int_equal(match(&t, "POST", "/api/exact", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/apix", &st, NULL), 0);
  assert_int_equal(st, 404);
  assert_int_equal(match(&t, "DELETE", "/a", &st, &allow), 0);
  assert_int_equal(st, 405);
  assert_string_equal(allow.data, "GET, HEAD, POST");
  mol_buf_reset(&allow);
  assert_int_equal(match(&t, "GET", "/only-put", &st, &allow), 0);
  assert_int_equal(st, 405);
  assert_string_equal(allow.data, "PUT");
  mol_buf_free(&allow);
  mol_http__routes_free(&t);
}

static void root_prefix_catches_all(void **state) {
  (void)state;
  mol_routes t = {0};
  int tag = 9;
  assert_int_equal(mol_http__routes_add(&t, NULL, "/", 1, h, &tag), 0);
  int st = 0;
  assert_int_equal(match(&t, "PATCH", "/anything/at/all", &st, NULL), 9);
  assert_int_equal(match(&t, "GET", "*", &st, NULL), 0);
  assert_int_equal(st, 404);
  mol_http__routes_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(exact_prefix_and_methods),
    cmocka_unit_test(root_prefix_catches_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
