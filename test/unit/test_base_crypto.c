#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "molecule.h"

static void sha256_vectors(void **state) {
  (void)state;
  uint8_t d[MOL_SHA256_LEN];
  char hex[MOL_SHA256_HEX_LEN + 1];
  mol_sha256_once("", 0, d);
  mol_hex(d, sizeof(d), hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  mol_sha256 h;
  mol_sha256_init(&h);
  mol_sha256_update(&h, "a", 1);
  mol_sha256_update(&h, "bc", 2);
  mol_sha256_final(&h, d);
  mol_hex(d, sizeof(d), hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void uuid4_shape_and_uniqueness(void **state) {
  (void)state;
  char a[MOL_UUID_LEN + 1], b[MOL_UUID_LEN + 1];
  assert_int_equal(mol_uuid4(a), 0);
  assert_int_equal(mol_uuid4(b), 0);
  assert_int_equal(strlen(a), 36);
  assert_string_not_equal(a, b);
  assert_int_equal(a[8], '-');
  assert_int_equal(a[14], '4');
  assert_non_null(strchr("89ab", a[19]));
}

static void base64_round_trip(void **state) {
  (void)state;
  char enc[64];
  uint8_t dec[64];
  assert_int_equal(mol_base64_encode("foobar", 6, enc, sizeof(enc)), 8);
  assert_string_equal(enc, "Zm9vYmFy");
  assert_int_equal(mol_base64_decode("Zm9vYg==", 8, dec, sizeof(dec)), 4);
  assert_memory_equal(dec, "foob", 4);
  assert_int_equal(mol_base64_decode("Zm9v!!==", 8, dec, sizeof(dec)), MOL_EINVAL);
  assert_int_equal(mol_base64_encode("foobar", 6, enc, 4), MOL_ETOOBIG);
}

static void constant_time_compare(void **state) {
  (void)state;
  assert_true(mol_ct_streq("secret", "secret"));
  assert_false(mol_ct_streq("secret", "secreT"));
  assert_false(mol_ct_streq("secret", "secret2"));
  assert_false(mol_ct_streq(NULL, "x"));
  assert_true(mol_ct_equal("", 0, "", 0));
}

static void random_hex_and_clock(void **state) {
  (void)state;
  char hex[65];
  assert_int_equal(mol_random_hex(hex, 32), 0);
  assert_int_equal(strlen(hex), 64);
  assert_int_equal(mol_random_hex(hex, 100), MOL_EINVAL);
  uint64_t a = mol_mono_ns(), b = mol_mono_ns();
  assert_true(b >= a);
  char date[30];
  mol_http_date(784111777, date);
  assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
  assert_true(mol_unix_ms() > 1700000000000LL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sha256_vectors), cmocka_unit_test(uuid4_shape_and_uniqueness),
    cmocka_unit_test(base64_round_trip), cmocka_unit_test(constant_time_compare),
    cmocka_unit_test(random_hex_and_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
