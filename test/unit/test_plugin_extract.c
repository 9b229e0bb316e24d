/* test_plugin_extract.c - extraction rules: every TAR-* case of upstream's safe extraction and the
 * C-only additions (devices, FIFOs, setuid, ownership, limits/bombs, duplicates, links used as
 * parents), corrupt and non-gzip input. Tarballs are generated here with libarchive's writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>

#include "molecule.h"
#include "test_plugin_support.h"

typedef struct {
  char *tmp;   /* holds the tarball */
  char *dest;  /* extraction target */
  char *tgz;
  mol_plugin_extract_result res;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  f->tmp = tp_mkdtemp();
  f->dest = tp_mkdtemp();
  f->tgz = tp_path(f->tmp, "p.tgz");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  mol_plugin__extract_result_free(&f->res);
  mol_plugin__rmtree(f->tmp);
  mol_plugin__rmtree(f->dest);
  free(f->tmp);
  free(f->dest);
  free(f->tgz);
  free(f);
  return 0;
}

static void run(fx *f, const mol_plugin_limits *l) {
  mol_plugin__extract_result_free(&f->res);
  tp_extract(f->tgz, f->dest, l, &f->res);
}

/* One-entry archive with a regular file under `name`. */
static void single(fx *f, const char *name) {
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_file(&t, name, "x\n");
  tp_tar_close(&t);
  run(f, NULL);
}

static void expect_refused(fx *f, const char *name) {
  single(f, name);
  assert_int_equal(f->res.err, MOL_EINVAL);
  assert_non_null(strstr(f->res.msg, "refusing tar entry escaping"));
  assert_int_equal(tp_count_entries(f->dest), 0); /* TAR-32/33: nothing written */
}

static void test_traversal_rejected(void **state) { /* TAR-01,05,06,07,12,13,34, ".." alone */
  fx *f = *state;
  const char *bad[] = {"../escape.txt", "../../file", "../sibling/marker.txt", "a/../../../b.txt",
                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/../../file.txt", "..",
                       "1/2/3/4/5/6/7/8/9/10/../../../../../../../../../../../x", NULL};
  for (const char **b = bad; *b; b++) expect_refused(f, *b);
}

static void test_absolute_rejected(void **state) { /* TAR-02,08,09,10 */
  fx *f = *state;
  expect_refused(f, "/etc/passwd");
  expect_refused(f, "/usr/local/anything");
  expect_refused(f, "/tmp/staged/foo.txt");
  struct stat st;
  assert_int_not_equal(stat("/tmp/staged/foo.txt", &st), 0);
}

static void test_sibling_untouched(void **state) { /* TAR-07 */
  fx *f = *state;
  char *sib = tp_mkdtemp();
  tp_write(sib, "marker.txt", "original");
  char name[256];
  snprintf(name, sizeof(name), "../%s/marker.txt", strrchr(sib, '/') + 1);
  expect_refused(f, name);
  char *c = tp_read(sib, "marker.txt");
  assert_string_equal(c, "original");
  free(c);
  mol_plugin__rmtree(sib);
  free(sib);
}

static void expect_at(fx *f, const char *name, const char *where) {
  mol_plugin__rmtree(f->dest);
  mkdir(f->dest, 0700);
  single(f, name);
  assert_int_equal(f->res.err, 0);
  char *c = tp_read(f->dest, where);
  assert_non_null(c);
  assert_string_equal(c, "x\n");
  free(c);
}

static void test_normalised_inside(void **state) { /* TAR-11,14-21,30,31,35 */
  fx *f = *state;
  expect_at(f, "foo/bar.txt", "foo/bar.txt");
  expect_at(f, "subdir/../outdir/file.txt", "outdir/file.txt");
  expect_at(f, "subdir/../another.txt", "another.txt");
  expect_at(f, "foo/../bar.txt", "bar.txt");
  expect_at(f, "a/b/c/../../d.txt", "a/d.txt");
  expect_at(f, "a/b/c/../../../file.txt", "file.txt");
  expect_at(f, "foo/./bar/../baz.txt", "foo/baz.txt");
  expect_at(f, "foo/bar/baz.txt", "foo/bar/baz.txt");
  expect_at(f, "rules/x.md", "rules/x.md");
  expect_at(f, "./file.txt", "file.txt");
  expect_at(f, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe6\x96\x87\xe4\xbb\xb6.txt",
            "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe6\x96\x87\xe4\xbb\xb6.txt");
  expect_at(f, "a//b///c.txt", "a/b/c.txt");
}

static void test_links_skipped(void **state) { /* TAR-03,04,22-28 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_symlink(&t, "evil", "/etc/passwd");          /* first: does not stop later files */
  tp_tar_file(&t, "real.txt", "real\n");
  tp_tar_symlink(&t, "up", "..");
  tp_tar_symlink(&t, "inside", "real.txt");
  tp_tar_hardlink(&t, "hard-abs", "/etc/passwd");
  tp_tar_hardlink(&t, "hard-in", "real.txt");
  tp_tar_file(&t, "after.txt", "after\n");
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  assert_int_equal(f->res.skipped_links, 5);
  const char *gone[] = {"evil", "up", "inside", "hard-abs", "hard-in", NULL};
  for (const char **g = gone; *g; g++) assert_false(tp_exists(f->dest, *g));
  char *c = tp_read(f->dest, "real.txt");
  assert_string_equal(c, "real\n");
  free(c);
  assert_true(tp_exists(f->dest, "after.txt"));
  assert_int_equal(f->res.nwarnings, 5);
  assert_non_null(strstr(f->res.warnings[0], "skipping symlink in plugin tarball"));
  assert_non_null(strstr(f->res.warnings[0], "evil -> /etc/passwd"));
  assert_non_null(strstr(f->res.warnings[3], "hardlink"));
  assert_non_null(strstr(f->res.warnings[3], "hard-abs -> /etc/passwd"));
}

static void test_empty_archive(void **state) { /* TAR-29 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  assert_int_equal(tp_count_entries(f->dest), 0);
  assert_string_equal(f->res.content_sha256,
                      "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945");
}

static void test_devices_fifos_rejected(void **state) { /* ADD-16 */
  fx *f = *state;
  struct { mode_t type; const char *what; } cases[] = {
      {AE_IFCHR, "character device"}, {AE_IFBLK, "block device"}, {AE_IFIFO, "FIFO"}};
  for (int i = 0; i < 3; i++) {
    tp_tar t;
    tp_tar_open(&t, f->tgz, 1);
    tp_tar_entry(&t, "node", cases[i].type, 0666, NULL, 0, NULL, 0);
    tp_tar_close(&t);
    run(f, NULL);
    assert_int_equal(f->res.err, MOL_EINVAL);
    assert_non_null(strstr(f->res.msg, cases[i].what));
    assert_false(tp_exists(f->dest, "node"));
  }
}

static void test_modes_stripped_no_chown(void **state) { /* ADD-17 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_entry(&t, "suid", AE_IFREG, 04755, "#!/bin/sh\n", 10, NULL, 0);
  tp_tar_entry(&t, "sgid", AE_IFREG, 02755, "x", 1, NULL, 0);
  tp_tar_entry(&t, "sticky", AE_IFDIR, 01777, NULL, 0, NULL, 0);
  tp_tar_entry(&t, "noperm", AE_IFREG, 0000, "y", 1, NULL, 0);
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  assert_int_equal(tp_mode(f->dest, "suid") & 07000, 0);
  assert_int_equal(tp_mode(f->dest, "sgid") & 07000, 0);
  assert_int_equal(tp_mode(f->dest, "sticky") & 07000, 0);
  assert_int_equal(tp_mode(f->dest, "noperm") & 0600, 0600); /* the owner can still read it */
  char *p = tp_path(f->dest, "suid");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_uid, getuid()); /* tar said uid 4242: never applied */
  assert_int_equal(st.st_gid, getgid());
  free(p);
}

static void test_limit_entries(void **state) { /* ADD-18 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof(name), "f%d", i);
    tp_tar_file(&t, name, "x");
  }
  tp_tar_close(&t);
  mol_plugin_limits l = {.max_entries = 10};
  run(f, &l);
  assert_int_equal(f->res.err, MOL_ELIMIT);
  assert_non_null(strstr(f->res.msg, "more than 10 entries"));
}

static void write_big(fx *f, size_t size, int random) {
  char *buf = malloc(size);
  for (size_t i = 0; i < size; i++) buf[i] = random ? (char)(rand() & 0xff) : 0;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_entry(&t, "big.bin", AE_IFREG, 0644, buf, size, NULL, 0);
  tp_tar_close(&t);
  free(buf);
}

static void test_limit_total(void **state) { /* ADD-18 */
  fx *f = *state;
  write_big(f, 3 << 20, 1);
  mol_plugin_limits l = {.max_total_bytes = 1 << 20};
  run(f, &l);
  assert_int_equal(f->res.err, MOL_ETOOBIG);
  assert_non_null(strstr(f->res.msg, "expands past"));
}

static void test_bomb_ratio(void **state) { /* ADD-18: 64 MiB of zeros is ~64 KiB gzipped */
  fx *f = *state;
  write_big(f, 64 << 20, 0);
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_ELIMIT);
  assert_non_null(strstr(f->res.msg, "compression ratio"));
  assert_true(f->res.bytes_out < (32u << 20)); /* stopped early, not after writing it all */
}

static void test_duplicates_rejected(void **state) { /* ADD-19 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_dir(&t, "d/");
  tp_tar_dir(&t, "d/"); /* repeated directories are fine */
  tp_tar_file(&t, "d/a.txt", "one");
  tp_tar_file(&t, "d/./a.txt", "two");
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_EEXIST);
  assert_non_null(strstr(f->res.msg, "duplicate"));
  char *c = tp_read(f->dest, "d/a.txt");
  assert_string_equal(c, "one");
  free(c);
}

static void test_link_as_parent(void **state) { /* ADD-20 */
  fx *f = *state;
  char *outside = tp_mkdtemp();
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_symlink(&t, "link", outside);
  tp_tar_file(&t, "link/pwned.txt", "x");
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  assert_false(tp_exists(outside, "pwned.txt"));
  assert_true(S_ISDIR(tp_mode(f->dest, "link"))); /* a real directory, not a link */
  assert_true(tp_exists(f->dest, "link/pwned.txt"));
  mol_plugin__rmtree(outside);
  free(outside);
}

static void test_not_gzip(void **state) { /* PLG-03 */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 0); /* a plain tar: upstream opens r:gz only */
  tp_tar_file(&t, "a.txt", "x");
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_EPROTO);
  assert_non_null(strstr(f->res.msg, "gzip"));
  tp_write(f->tmp, "p.tgz", "<html>not found</html>");
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_EPROTO);
  tp_write(f->tmp, "p.tgz", "");
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_EPROTO);
}

/* libarchive 3.6 does not check the gzip CRC, and deflate's stored blocks (what random data
 * compresses to) carry no check of their own: corruption there surfaces as a different
 * content hash, which the install refuses. Either way it never passes unnoticed. */
static void test_corrupt_and_truncated_gzip(void **state) {
  fx *f = *state;
  srand(7);
  write_big(f, 256 << 10, 1);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  char good[65];
  memcpy(good, f->res.content_sha256, sizeof(good));
  mol_plugin__rmtree(f->dest);
  mkdir(f->dest, 0700);
  struct stat st;
  stat(f->tgz, &st);
  FILE *fp = fopen(f->tgz, "r+b");
  fseek(fp, st.st_size / 2, SEEK_SET);
  fputs("CORRUPTCORRUPTCORRUPT", fp);
  fclose(fp);
  run(f, NULL);
  assert_true(f->res.err != 0 || strcmp(f->res.content_sha256, good) != 0);
  /* corruption of the deflate stream itself (header area of the first block) */
  srand(7);
  write_big(f, 256 << 10, 1);
  fp = fopen(f->tgz, "r+b");
  fseek(fp, 10, SEEK_SET);
  fputs("\xff\xff\xff\xff", fp);
  fclose(fp);
  mol_plugin__rmtree(f->dest);
  mkdir(f->dest, 0700);
  run(f, NULL);
  assert_true(f->res.err != 0 || strcmp(f->res.content_sha256, good) != 0);
  /* truncated */
  srand(7);
  write_big(f, 256 << 10, 1);
  assert_int_equal(truncate(f->tgz, st.st_size / 2), 0);
  mol_plugin__rmtree(f->dest);
  mkdir(f->dest, 0700);
  run(f, NULL);
  assert_int_equal(f->res.err, MOL_EPROTO);
  assert_non_null(strstr(f->res.msg, "big.bin"));
}

static void test_hash_matches_walk(void **state) {
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_file(&t, "plugin.yaml", "name: demo\n");
  tp_tar_file(&t, "a.txt", "hi\n");
  tp_tar_dir(&t, "dir");
  tp_tar_file(&t, "dir/b.md", "");
  tp_tar_file(&t, "\xc3\xa9.txt", "hi\n");
  tp_tar_file(&t, ".hidden", "dotfiles count");
  tp_tar_close(&t);
  run(f, NULL);
  assert_int_equal(f->res.err, 0);
  char walk[65], msg[MOL_PLUGIN_MSG_MAX];
  assert_int_equal(mol_plugin_hash_dir(f->dest, walk, msg), 0);
  assert_string_equal(walk, f->res.content_sha256);
  assert_int_equal(f->res.files, 5);
}

/* The bytes read are teed, all of them, even past the tar end-of-archive blocks. */
static void test_tee_copies_stream(void **state) {
  fx *f = *state;
  write_big(f, 300 << 10, 1);
  FILE *fp = fopen(f->tgz, "ab"); /* trailing zeros after the gzip member: read by the drain */
  for (int i = 0; i < 200000; i++) fputc(0, fp);
  fclose(fp);
  char *copy = tp_path(f->tmp, "copy.tgz");
  int in = open(f->tgz, O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  mol_plugin__extract_result_free(&f->res);
  mol_plugin__extract_fd(in, out, f->dest, NULL, &f->res);
  close(in);
  close(out);
  assert_int_equal(f->res.err, 0);
  char cmd[8400];
  snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", f->tgz, copy);
  assert_int_equal(system(cmd), 0);
  free(copy);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8"); /* the tar writer stores non-ASCII names as UTF-8 pax headers */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_traversal_rejected), T(test_absolute_rejected), T(test_sibling_untouched),
      T(test_normalised_inside),  T(test_links_skipped),     T(test_empty_archive),
      T(test_devices_fifos_rejected), T(test_modes_stripped_no_chown), T(test_limit_entries),
      T(test_limit_total),        T(test_bomb_ratio),        T(test_duplicates_rejected),
      T(test_link_as_parent),     T(test_not_gzip),          T(test_corrupt_and_truncated_gzip),
      T(test_hash_matches_walk),  T(test_tee_copies_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
