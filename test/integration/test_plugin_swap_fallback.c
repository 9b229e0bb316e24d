/* test_plugin_swap_fallback.c - the install's swap where renameat2's flags do not work, end to
 * end over loopback like test_plugin_install: the fallback (old version aside, new one in, old
 * one deleted) gives the same outcome as the atomic exchange, a first install is a plain
 * rename, and a failed second step puts the old version back. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plugin_install_fixture.h"

/* Where renameat2's flags do not work: a filesystem without them (some network and FUSE
 * filesystems) refuses them with EINVAL, after the lookups (so RENAME_EXCHANGE onto a missing
 * name is still ENOENT); a kernel without the system call, or a seccomp filter that blocks it,
 * answers ENOSYS to everything. The local filesystem cannot be made to do either on demand,
 * so this binary supplies renameat2 (and rename, to fail the fallback's second step) over the
 * real calls; the plugin library linked into it calls these. */
static int g_rename_flags_errno, g_flag_refusals, g_fail_staging_rename;

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags) {
  if (flags && g_rename_flags_errno) {
    struct stat st;
    g_flag_refusals++;
    errno = g_rename_flags_errno;
    if (errno == EINVAL && (flags & RENAME_EXCHANGE) &&
        (fstatat(olddirfd, oldpath, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
         fstatat(newdirfd, newpath, &st, AT_SYMLINK_NOFOLLOW) != 0))
      errno = ENOENT;
    return -1;
  }
  return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int rename(const char *oldpath, const char *newpath) {
  if (g_fail_staging_rename && strstr(oldpath, "/.staging-")) {
    errno = EXDEV;
    return -1;
  }
  return renameat(AT_FDCWD, oldpath, AT_FDCWD, newpath);
}

static int setup_no_faults(void **state) {
  g_rename_flags_errno = g_fail_staging_rename = 0;
  return setup(state);
}

/* Without RENAME_EXCHANGE the old version goes aside, the new one in, the old one away: the
 * same outcome as the atomic swap, nothing left behind, a bad archive still refused. */
static void swap_without_flags(fx *f, int err) {
  char h1[65], h2[65];
  g_rename_flags_errno = err;
  g_flag_refusals = 0;
  demo_tarball(f, 1, 0, h1);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, h1);
  assert_int_equal(install(f, &o), 0); /* the first install: a plain rename in the end */
  assert_true(g_flag_refusals >= 1);
  char *dir = tp_path(f->plugins, "demo");
  assert_true(tp_exists(dir, "only-v1.txt"));
  assert_no_litter(f);
  demo_tarball(f, 2, 1, h2);
  serve_file(f, NULL);
  o.expected_sha256 = h2;
  int before = g_flag_refusals;
  assert_int_equal(install(f, &o), 0); /* RENAME_EXCHANGE refused: the fallback swap */
  assert_int_equal(g_flag_refusals, before + 1);
  assert_string_equal(f->content, h2);
  assert_true(tp_exists(dir, "only-v2.txt"));
  assert_false(tp_exists(dir, "only-v1.txt"));
  assert_true(f->setup_ran); /* in the new version's directory */
  assert_true(tp_exists(dir, "setup-ran"));
  assert_no_litter(f);
  /* a mismatching archive never reaches the swap: v2 stays */
  demo_tarball(f, 1, 0, h1);
  serve_file(f, NULL);
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  assert_true(tp_exists(dir, "only-v2.txt"));
  assert_true(tp_exists(dir, "setup-ran"));
  assert_no_litter(f);
  g_rename_flags_errno = 0;
  free(dir);
}

static void test_swap_fallback_einval(void **state) { swap_without_flags(*state, EINVAL); }
static void test_swap_fallback_enosys(void **state) { swap_without_flags(*state, ENOSYS); }

/* The fallback's second rename fails after the first moved the old version aside: the old
 * version is put back, the error names the rename, nothing is left behind. */
static void test_swap_fallback_failure_restores(void **state) {
  fx *f = *state;
  char h1[65], h2[65], hash[65], msg[MOL_PLUGIN_MSG_MAX];
  demo_tarball(f, 1, 0, h1);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, h1);
  assert_int_equal(install(f, &o), 0);
  g_rename_flags_errno = EINVAL;
  g_fail_staging_rename = 1;
  demo_tarball(f, 2, 1, h2);
  serve_file(f, NULL);
  o.expected_sha256 = h2;
  assert_int_equal(install(f, &o), -EXDEV);
  g_rename_flags_errno = g_fail_staging_rename = 0;
  assert_non_null(strstr(f->msg, "renaming "));
  assert_non_null(strstr(f->msg, strerror(EXDEV)));
  assert_false(f->setup_ran);
  char *dir = tp_path(f->plugins, "demo");
  assert_int_equal(mol_plugin_hash_dir(dir, hash, msg), 0);
  assert_string_equal(hash, h1);
  assert_false(tp_exists(dir, "setup-ran"));
  assert_no_litter(f);
  free(dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_no_faults, teardown)
  const struct CMUnitTest tests[] = {
      T(test_swap_fallback_einval),
      T(test_swap_fallback_enosys),
      T(test_swap_fallback_failure_restores),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
