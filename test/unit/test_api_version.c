/* test_api_version.c - the version an application compiles against (MOL_VERSION_* macros of
 * <molecule.h>) and the one it runs against (mol_version(), mol_version_number()) agree with
 * each other and with meson's project version, given as the first argument. Built against
 * libmolecule.so and the public headers only, as an application is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <molecule.h>

static const char *project_version;

static void macros_match_the_project_version(void **state) {
  (void)state;
  char expect[64];
  snprintf(expect, sizeof(expect), "%d.%d.%d", MOL_VERSION_MAJOR, MOL_VERSION_MINOR,
           MOL_VERSION_PATCH);
  assert_string_equal(expect, project_version);
  assert_string_equal(MOL_VERSION_STRING, project_version);
}

static void runtime_version_matches_the_headers(void **state) {
  (void)state;
  assert_string_equal(mol_version(), MOL_VERSION_STRING);
  assert_int_equal(mol_version_number(), MOL_VERSION_HEX);
  assert_int_equal(MOL_VERSION_HEX,
                   (MOL_VERSION_MAJOR << 16) | (MOL_VERSION_MINOR << 8) | MOL_VERSION_PATCH);
}

/* Memory the library hands out (mol_host_metrics, ...) goes back through mol_free; NULL is a
 * no-op, as free(NULL) is. */
static void mol_free_accepts_null(void **state) {
  (void)state;
  mol_free(NULL);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROJECT_VERSION\n", argv[0]);
    return 2;
  }
  project_version = argv[1];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(macros_match_the_project_version),
    cmocka_unit_test(runtime_version_matches_the_headers),
    cmocka_unit_test(mol_free_accepts_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
