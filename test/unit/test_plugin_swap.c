/* test_plugin_swap.c - the on-disk side: swap with and without a previous version, recovery of
 * every kind of leftover (staging dirs and archives, the fallback's .old-* in both states),
 * removal, the lock, and rm -rf that never follows symlinks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "molecule.h"
#include "test_plugin_support.h"

static void mkdir_in(const char *dir, const char *rel) {
  char *p = tp_path(dir, rel);
  assert_int_equal(mkdir(p, 0755), 0);
  free(p);
}

static void test_swap_fresh_and_exchange(void **state) {
  (void)state;
  char *d = tp_mkdtemp(), msg[MOL_PLUGIN_MSG_MAX];
  mkdir_in(d, ".staging-demo-00000001");
  tp_write(d, ".staging-demo-00000001/v", "1");
  char *st1 = tp_path(d, ".staging-demo-00000001");
  assert_int_equal(mol_plugin__swap_in(d, "demo", st1, msg), 0);
  char *v = tp_read(d, "demo/v");
  assert_string_equal(v, "1");
  free(v);
  mkdir_in(d, ".staging-demo-00000002");
  tp_write(d, ".staging-demo-00000002/v", "2");
  char *st2 = tp_path(d, ".staging-demo-00000002");
  assert_int_equal(mol_plugin__swap_in(d, "demo", st2, msg), 0);
  v = tp_read(d, "demo/v");
  assert_string_equal(v, "2");
  free(v);
  assert_int_equal(tp_count_entries(d), 1); /* the old version went away with the staging name */
  free(st1);
  free(st2);
  mol_plugin__rmtree(d);
  free(d);
}

static void test_recovery_rules(void **state) {
  (void)state;
  char *d = tp_mkdtemp();
  mkdir_in(d, "live");
  tp_write(d, "live/f", "live");
  mkdir_in(d, ".staging-live-aaaaaaaa"); /* an interrupted install, or an exchanged old version */
  tp_write(d, ".staging-live-aaaaaaaa/f", "junk");
  tp_write(d, ".staging-live-aaaaaaaa.tgz", "partial archive");
  mkdir_in(d, ".old-live-bbbbbbbb"); /* fallback finished its renames: garbage */
  mkdir_in(d, ".old-gone-cccccccc"); /* fallback cut between its renames: restore */
  tp_write(d, ".old-gone-cccccccc/f", "previous");
  tp_write(d, ".setup-live.log", "kept");
  assert_int_equal(mol_plugin_recover(d), 4);
  assert_true(tp_exists(d, "live/f"));
  char *g = tp_read(d, "gone/f");
  assert_string_equal(g, "previous");
  free(g);
  assert_true(tp_exists(d, ".setup-live.log"));
  assert_int_equal(tp_count_entries(d), 3);
  assert_int_equal(mol_plugin_recover(d), 0); /* idempotent */
  mol_plugin__rmtree(d);
  free(d);
}

static void test_lock_and_remove(void **state) {
  (void)state;
  char *d = tp_mkdtemp(), msg[MOL_PLUGIN_MSG_MAX];
  char *plugins = tp_path(d, "a/b/plugins"); /* created on demand */
  int fd = mol_plugin__lock(plugins);
  assert_true(fd >= 0);
  assert_int_equal(mol_plugin__lock(plugins), MOL_EBUSY);
  assert_int_equal(mol_plugin_recover(plugins), MOL_EBUSY);
  mkdir_in(plugins, "demo");
  assert_int_equal(mol_plugin_remove(plugins, "demo", msg), MOL_EBUSY);
  assert_non_null(strstr(msg, "another install"));
  mol_plugin__unlock(fd);
  assert_int_equal(mol_plugin_remove(plugins, "demo", msg), 0);
  assert_false(tp_exists(plugins, "demo"));
  assert_int_equal(mol_plugin_remove(plugins, "demo", msg), MOL_ENOENT);
  assert_non_null(strstr(msg, "not installed"));
  assert_int_equal(mol_plugin_remove(plugins, "../etc", msg), MOL_EINVAL);
  assert_int_equal(tp_count_entries(plugins), 0);
  free(plugins);
  mol_plugin__rmtree(d);
  free(d);
}

static void test_rmtree_no_follow(void **state) {
  (void)state;
  char *d = tp_mkdtemp(), *outside = tp_mkdtemp();
  tp_write(outside, "precious", "keep me");
  mkdir_in(d, "t");
  mkdir_in(d, "t/ro");
  tp_write(d, "t/ro/f", "x");
  char *ro = tp_path(d, "t/ro"), *ln = tp_path(d, "t/link");
  assert_int_equal(symlink(outside, ln), 0);
  chmod(ro, 0500); /* read-only dirs are still removed */
  char *t = tp_path(d, "t");
  assert_int_equal(mol_plugin__rmtree(t), 0);
  assert_false(tp_exists(d, "t"));
  assert_true(tp_exists(outside, "precious"));
  assert_int_equal(mol_plugin__rmtree(t), 0); /* missing is fine */
  free(t);
  free(ro);
  free(ln);
  mol_plugin__rmtree(d);
  mol_plugin__rmtree(outside);
  free(d);
  free(outside);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swap_fresh_and_exchange), cmocka_unit_test(test_recovery_rules),
      cmocka_unit_test(test_lock_and_remove),         cmocka_unit_test(test_rmtree_no_follow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
