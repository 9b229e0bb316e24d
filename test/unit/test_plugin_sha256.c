/* test_plugin_sha256.c - the SHA-NI path and the portable (mbedTLS) path agree with each other
 * and with known vectors, for every length around the block boundaries and for random
 * split points of incremental updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin.h"

static void digest(int portable, const uint8_t *data, size_t len, size_t split, uint8_t out[32]) {
  mol_plugin__sha256_select(portable);
  mol_plugin_sha256 h;
  mol_plugin__sha256_init(&h);
  size_t a = split < len ? split : len;
  mol_plugin__sha256_update(&h, data, a);
  mol_plugin__sha256_update(&h, data + a, len - a);
  mol_plugin__sha256_final(&h, out);
}

static void test_vectors(void **state) {
  (void)state;
  struct { const char *in, *hex; } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"hello world", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    for (int portable = 0; portable < 2; portable++) {
      uint8_t d[32];
      char hex[65];
      digest(portable, (const uint8_t *)v[i].in, strlen(v[i].in), 1, d);
      mol_hex(d, 32, hex);
      assert_string_equal(hex, v[i].hex);
    }
}

static void test_paths_agree(void **state) {
  (void)state;
  size_t max = 4096 + 200;
  uint8_t *buf = malloc(max);
  srand(99);
  for (size_t i = 0; i < max; i++) buf[i] = (uint8_t)rand();
  for (size_t len = 0; len < max; len += (len < 300 ? 1 : 61)) {
    uint8_t a[32], b[32];
    size_t split = len ? (size_t)rand() % len : 0;
    digest(0, buf, len, split, a);
    digest(1, buf, len, len - split, b);
    assert_memory_equal(a, b, 32);
  }
  free(buf);
  mol_plugin__sha256_select(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors), cmocka_unit_test(test_paths_agree)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
