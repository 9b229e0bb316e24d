/* test_base_file.c - the small-file helpers every layer persists state with (base/file.h): the
 * atomic writer (whole file or nothing, exact mode whatever the umask, no temporary file left
 * behind), mkdir -p, and the stripped reader of tokens and cursors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"

static char dir[] = "/tmp/mol-file-XXXXXX";

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/mol-file-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd);
}

/* A path in the test's directory; four buffers in turn, so one call may take two paths. */
static const char *in_dir(const char *name) {
  static char paths[4][256];
  static unsigned next;
  char *path = paths[next++ % 4];
  snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
  return path;
}

static size_t entries(const char *d) {
  DIR *h = opendir(d);
  assert_non_null(h);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(h)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(h);
  return n;
}

static char *slurp(const char *path) {
  static char buf[64];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
  fclose(f);
  return buf;
}

static mode_t mode_of(const char *path) {
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  return sb.st_mode & 0777;
}

static void atomic_write_replaces_and_cleans(void **state) {
  (void)state;
  const char *path = in_dir("f");
  assert_int_equal(mol_write_file_atomic(path, "one", 3, 0600), 0);
  assert_string_equal(slurp(path), "one");
  assert_int_equal(mol_write_file_atomic(path, "two!", 4, 0644), 0);
  assert_string_equal(slurp(path), "two!");
  assert_int_equal(mode_of(path), 0644);
  assert_int_equal(mol_write_file_atomic(path, "", 0, 0600), 0);
  assert_string_equal(slurp(path), "");
  assert_int_equal(entries(dir), 1); /* no temporary file left behind */
}

/* The mode is exact under any umask: a permissive one does not widen it, a strict one does
 * not narrow it (the token file must be 0600, a snapshot readable as configured). */
static void atomic_write_mode_ignores_umask(void **state) {
  (void)state;
  mode_t old = umask(0);
  assert_int_equal(mol_write_file_atomic(in_dir("open"), "x", 1, 0600), 0);
  umask(0777);
  int rc = mol_write_file_atomic(in_dir("closed"), "y", 1, 0640);
  umask(old);
  assert_int_equal(rc, 0);
  assert_int_equal(mode_of(in_dir("open")), 0600);
  assert_int_equal(mode_of(in_dir("closed")), 0640);
  assert_string_equal(slurp(in_dir("closed")), "y");
}

/* A failure leaves the target untouched and removes the temporary file. */
static void atomic_write_failure_touches_nothing(void **state) {
  (void)state;
  assert_int_equal(mol_write_file_atomic(in_dir("missing-dir/f"), "x", 1, 0600), -ENOENT);
  assert_int_equal(mkdir(in_dir("d"), 0700), 0);
  assert_int_equal(mol_write_file_atomic(in_dir("d/inner"), "keep", 4, 0600), 0);
  /* renaming a file over a non-empty directory fails: the writer must clean up after it */
  assert_true(mol_write_file_atomic(in_dir("d"), "x", 1, 0600) < 0);
  assert_int_equal(entries(dir), 1);
  assert_string_equal(slurp(in_dir("d/inner")), "keep");
}

static void mkdir_p_creates_each_level(void **state) {
  (void)state;
  assert_int_equal(mol_mkdir_p(in_dir("a/b/c"), 0700), 0);
  assert_int_equal(mode_of(in_dir("a/b/c")) & 0700, 0700);
  assert_int_equal(mol_mkdir_p(in_dir("a/b/c"), 0700), 0); /* existing: fine */
  assert_int_equal(mol_mkdir_p(in_dir("a/b/c/"), 0700), 0);
  assert_int_equal(mol_write_file_atomic(in_dir("a/file"), "x", 1, 0600), 0);
  assert_int_equal(mol_mkdir_p(in_dir("a/file/sub"), 0700), -ENOTDIR);
  assert_int_equal(mol_mkdir_p("", 0700), -ENOENT);
}

static void read_stripped(void **state) {
  (void)state;
  char *s = (char *)1;
  assert_int_equal(mol_read_file_stripped(in_dir("absent"), &s), 0);
  assert_null(s); /* absent: no content, no error */
  assert_int_equal(mol_write_file_atomic(in_dir("tok"), " tok-0123\r\n", 11, 0600), 0);
  assert_int_equal(mol_read_file_stripped(in_dir("tok"), &s), 0);
  assert_string_equal(s, "tok-0123");
  free(s);
  assert_int_equal(mol_write_file_atomic(in_dir("blank"), " \n\t\n", 4, 0600), 0);
  assert_int_equal(mol_read_file_stripped(in_dir("blank"), &s), 0);
  assert_null(s);
  assert_int_equal(symlink(in_dir("tok"), in_dir("link")), 0);
  assert_int_equal(mol_read_file_stripped(in_dir("link"), &s), -ELOOP); /* never followed */
  assert_null(s);
  /* only the first MOL_SMALL_FILE_MAX bytes count */
  char big[MOL_SMALL_FILE_MAX + 10];
  memset(big, 'a', sizeof(big));
  assert_int_equal(mol_write_file_atomic(in_dir("big"), big, sizeof(big), 0600), 0);
  assert_int_equal(mol_read_file_stripped(in_dir("big"), &s), 0);
  assert_int_equal(strlen(s), MOL_SMALL_FILE_MAX);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(atomic_write_replaces_and_cleans, setup, teardown),
    cmocka_unit_test_setup_teardown(atomic_write_mode_ignores_umask, setup, teardown),
    cmocka_unit_test_setup_teardown(atomic_write_failure_touches_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(mkdir_p_creates_each_level, setup, teardown),
    cmocka_unit_test_setup_teardown(read_stripped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
