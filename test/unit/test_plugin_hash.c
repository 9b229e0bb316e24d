/* test_plugin_hash.c - the content hash of docs/plugins.md (test vectors and SHA-*
 * acceptance cases), digest parsing and plugin name validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "molecule.h"
#include "test_plugin_support.h"

#define HI_HEX "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"

static void hash_dir_ok(const char *dir, char out[65]) {
  char msg[MOL_PLUGIN_MSG_MAX];
  int rc = mol_plugin_hash_dir(dir, out, msg);
  if (rc) fprintf(stderr, "hash_dir: %s\n", msg);
  assert_int_equal(rc, 0);
}

static void test_vector_empty(void **state) { /* SHA-08 */
  (void)state;
  char *d = tp_mkdtemp(), h[65];
  tp_write(d, "plugin.yaml", "name: x\nsha256: abc\n");
  hash_dir_ok(d, h);
  assert_string_equal(h, "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945");
  mol_plugin__rmtree(d);
  free(d);
}

static void test_vector_one_file(void **state) { /* SHA-03 */
  (void)state;
  char *d = tp_mkdtemp(), h[65];
  tp_write(d, "plugin.yaml", "name: x\n");
  tp_write(d, "a.txt", "hi\n");
  hash_dir_ok(d, h);
  assert_string_equal(h, "85c06e7e8d94816de97dd77e54689d31e29163dd74e87fe785bb1b35d7d7376c");
  mol_plugin__rmtree(d);
  free(d);
}

static void test_vector_unicode_nested(void **state) {
  (void)state;
  char *d = tp_mkdtemp(), h[65];
  tp_write(d, "plugin.yaml", "name: x\n");
  tp_write(d, "a.txt", "hi\n");
  char *sub = tp_path(d, "dir");
  mkdir(sub, 0755);
  free(sub);
  tp_write(d, "dir/b.md", "");
  tp_write(d, "\xc3\xa9.txt", "hi\n");
  hash_dir_ok(d, h);
  assert_string_equal(h, "b6538c09e4ac2c3042d4b7099b9c034a1987207fe23b943b8f6fd169c2650950");
  mol_plugin__rmtree(d);
  free(d);
}

static void test_manifest_json_format(void **state) {
  (void)state;
  mol_plugin_manifest m = {0};
  uint8_t dg[32];
  mol_sha256_once("hi\n", 3, dg);
  mol_plugin__manifest_add(&m, "\xc3\xa9.txt", dg);
  mol_plugin__manifest_add(&m, "a.txt", dg);
  mol_plugin__manifest_add(&m, "plugin.yaml", dg);   /* root one dropped */
  mol_plugin__manifest_add(&m, "x/plugin.yaml", dg); /* nested one kept */
  char *json;
  size_t len;
  assert_int_equal(mol_plugin__manifest_json(&m, &json, &len), 0);
  assert_string_equal(json, "[[\"a.txt\", \"" HI_HEX "\"], [\"x/plugin.yaml\", \"" HI_HEX
                            "\"], [\"\\u00e9.txt\", \"" HI_HEX "\"]]");
  free(json);
  mol_plugin__manifest_free(&m);
}

/* Escapes as json.dumps(ensure_ascii=True): quotes, backslash, short escapes, \u00XX controls,
 * DEL, astral characters as lower-case surrogate pairs, undecodable bytes as surrogateescape. */
static void test_manifest_json_escapes(void **state) {
  (void)state;
  mol_plugin_manifest m = {0};
  uint8_t dg[32] = {0};
  mol_plugin__manifest_add(&m, "q\"b\\n\nr\rt\tb\bf\f\x01\x7f/\xf0\x9f\x98\x80\xff", dg);
  char *json;
  size_t len;
  assert_int_equal(mol_plugin__manifest_json(&m, &json, &len), 0);
  assert_string_equal(json, "[[\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u007f/\\ud83d\\ude00\\udcff\", "
                            "\"0000000000000000000000000000000000000000000000000000000000000000\"]]");
  free(json);
  mol_plugin__manifest_free(&m);
}

/* Python sorts code points: U+FF5E (3 UTF-8 bytes) < U+1F600 (4 bytes), and "a-c" < "a/b". */
static void test_manifest_order(void **state) {
  (void)state;
  mol_plugin_manifest m = {0};
  uint8_t dg[32] = {0};
  mol_plugin__manifest_add(&m, "\xf0\x9f\x98\x80", dg);
  mol_plugin__manifest_add(&m, "\xef\xbd\x9e", dg);
  mol_plugin__manifest_add(&m, "a/b", dg);
  mol_plugin__manifest_add(&m, "a-c", dg);
  char *json;
  size_t len;
  assert_int_equal(mol_plugin__manifest_json(&m, &json, &len), 0);
  assert_non_null(strstr(json, "[[\"a-c\""));
  assert_true(strstr(json, "\\uff5e") < strstr(json, "\\ud83d"));
  free(json);
  mol_plugin__manifest_free(&m);
}

static void test_per_file_hash(void **state) { /* SHA-01 */
  (void)state;
  uint8_t d[32];
  char hex[65];
  mol_sha256_once("hello world", 11, d);
  mol_hex(d, 32, hex);
  assert_string_equal(hex, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

static void test_walk_rules(void **state) { /* SHA-02, SHA-09, symlink rules of rglob */
  (void)state;
  char *d = tp_mkdtemp(), h1[65], h2[65];
  tp_write(d, "a.txt", "hi\n");
  hash_dir_ok(d, h1);
  assert_string_equal(h1, "85c06e7e8d94816de97dd77e54689d31e29163dd74e87fe785bb1b35d7d7376c");
  char *p = tp_path(d, "emptydir");
  mkdir(p, 0755); /* empty dirs ignored */
  free(p);
  p = tp_path(d, "dangling");
  assert_int_equal(symlink("/nonexistent/x", p), 0); /* not a file: ignored */
  free(p);
  hash_dir_ok(d, h2);
  assert_string_equal(h1, h2);
  p = tp_path(d, "link.txt");
  assert_int_equal(symlink("a.txt", p), 0); /* a file symlink counts, with its target's bytes */
  free(p);
  hash_dir_ok(d, h2);
  assert_string_not_equal(h1, h2);
  mol_plugin__rmtree(d);
  free(d);
}

static void test_order_independence(void **state) { /* SHA-12, SHA-13, SHA-14 */
  (void)state;
  char *a = tp_mkdtemp(), *b = tp_mkdtemp(), ha[65], hb[65];
  char rel[64];
  for (int s = 0; s < 5; s++) {
    snprintf(rel, sizeof(rel), "s%d", s);
    char *pa = tp_path(a, rel), *pb = tp_path(b, rel);
    mkdir(pa, 0755);
    mkdir(pb, 0755);
    free(pa);
    free(pb);
  }
  for (int i = 0; i < 50; i++) {
    snprintf(rel, sizeof(rel), "s%d/f%02d.txt", i % 5, i);
    tp_write(a, rel, rel);
    snprintf(rel, sizeof(rel), "s%d/f%02d.txt", (49 - i) % 5, 49 - i);
    tp_write(b, rel, rel);
  }
  hash_dir_ok(a, ha);
  hash_dir_ok(b, hb);
  assert_string_equal(ha, hb);
  tp_write(a, "s0/f00.txt", "tampered"); /* SHA-06 */
  hash_dir_ok(a, ha);
  assert_string_not_equal(ha, hb);
  mol_plugin__rmtree(a);
  mol_plugin__rmtree(b);
  free(a);
  free(b);
}

static void test_digest_parse(void **state) { /* SHA-04, -05, -07, -10, -11 */
  (void)state;
  char out[65];
  assert_int_equal(mol_plugin_digest_parse(HI_HEX, out), 0);
  assert_string_equal(out, HI_HEX);
  assert_int_equal(mol_plugin_digest_parse("98EA6E4F216F2FB4B69FFF9B3A44842C38686CA685F3F55DC48C5D3FB1107BE4", out), 0);
  assert_string_equal(out, HI_HEX); /* upper case is lower-cased, documented */
  assert_int_equal(mol_plugin_digest_parse("", out), MOL_EINVAL);
  assert_int_equal(mol_plugin_digest_parse("abc", out), MOL_EINVAL);
  assert_int_equal(mol_plugin_digest_parse(NULL, out), MOL_EINVAL);
  char g[65];
  memset(g, 'g', 64);
  g[64] = 0;
  assert_int_equal(mol_plugin_digest_parse(g, out), MOL_EINVAL);
  assert_int_equal(mol_plugin_digest_parse("0x" HI_HEX, out), MOL_EINVAL);
  char sp[65];
  memcpy(sp, HI_HEX, 65);
  sp[10] = ' ';
  assert_int_equal(mol_plugin_digest_parse(sp, out), MOL_EINVAL);
}

static void test_name_valid(void **state) { /* ADD-21 */
  (void)state;
  assert_true(mol_plugin_name_valid("my-plugin"));
  assert_true(mol_plugin_name_valid("a.b_c-1"));
  const char *bad[] = {"", ".", "..", ".hidden", "-x", "a/b", "a\\b", "../x", "a..b", "a b",
                       "x\n", "caf\xc3\xa9", NULL};
  for (const char **b = bad; *b; b++) assert_false(mol_plugin_name_valid(*b));
  assert_false(mol_plugin_name_valid(NULL));
  char longname[200];
  memset(longname, 'a', 129);
  longname[129] = 0;
  assert_false(mol_plugin_name_valid(longname));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_empty),          cmocka_unit_test(test_vector_one_file),
      cmocka_unit_test(test_vector_unicode_nested), cmocka_unit_test(test_manifest_json_format),
      cmocka_unit_test(test_manifest_json_escapes), cmocka_unit_test(test_manifest_order),
      cmocka_unit_test(test_per_file_hash),         cmocka_unit_test(test_walk_rules),
      cmocka_unit_test(test_order_independence),    cmocka_unit_test(test_digest_parse),
      cmocka_unit_test(test_name_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
