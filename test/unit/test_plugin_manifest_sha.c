/* test_plugin_manifest_sha.c - the sha256 a plugin.yaml declares, as the manifest trust mode
 * reads it: the forms authors write are read (bare, quoted, commented, upper-case hex, CRLF),
 * nested or absent keys are "none", and anything ambiguous is malformed, never "none" - so a
 * digest that cannot be read fails the install instead of skipping the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "molecule.h"
#include "plugin/plugin.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

static int parse(const char *yaml, char out[MOL_SHA256_HEX_LEN + 1]) {
  return mol_plugin__manifest_sha256(yaml, strlen(yaml), out);
}

static void test_read_forms(void **state) {
  (void)state;
  const char *ok[] = {
      "name: x\nsha256: " HEX "\n",
      "sha256: \"" HEX "\"\nname: x\n",
      "name: x\nsha256: '" HEX "'   # by the author\n",
      "\"sha256\": " HEX "\n",
      "name: x\r\nsha256: " HEX "\r\n",
      "name: x\nsha256 : " HEX,
      "name: x\nsha256: " UPPER "\n",
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char out[MOL_SHA256_HEX_LEN + 1] = "";
    assert_int_equal(parse(ok[i], out), 0);
    assert_string_equal(out, HEX);
  }
}

static void test_none(void **state) {
  (void)state;
  const char *none[] = {
      "",
      "name: x\n",
      "name: x\nmeta:\n  sha256: " HEX "\n", /* nested: not the plugin's digest */
      "name: x\n# sha256: " HEX "\n",          /* a comment */
      "name: x\nsha256sum: " HEX "\n",         /* another key */
  };
  for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
    char out[MOL_SHA256_HEX_LEN + 1];
    assert_int_equal(parse(none[i], out), MOL_ENOENT);
  }
}

static void test_malformed(void **state) {
  (void)state;
  const char *bad[] = {
      "sha256: abc\n",
      "sha256:\n",
      "sha256: " HEX "0\n",                         /* 65 digits */
      "sha256: \"" HEX "\n",                        /* unterminated quote */
      "sha256: " HEX " trailing\n",
      "sha256: |\n  " HEX "\n",                     /* a block scalar */
      "sha256: " HEX "\nsha256: " HEX "\n",         /* a duplicate */
      "{name: x, sha256: " HEX "}\n",               /* a flow mapping */
      "sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char out[MOL_SHA256_HEX_LEN + 1];
    assert_int_equal(parse(bad[i], out), MOL_EINVAL);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_forms),
      cmocka_unit_test(test_none),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
