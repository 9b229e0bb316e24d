/* test_plugin_support.h - fixtures for the plugin tests: tarballs generated at test time with
 * libarchive's writer (hostile entries included), temp dirs, small file helpers. Header-only:
 * each test executable includes it once. */
#ifndef TEST_PLUGIN_SUPPORT_H
#define TEST_PLUGIN_SUPPORT_H

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "plugin/plugin.h"

/* A fresh temp dir, canonical (the extractor wants a symlink-free absolute path). */
static inline char *tp_mkdtemp(void) {
  char tmpl[] = "/tmp/molplugin-XXXXXX";
  if (!mkdtemp(tmpl)) abort();
  return realpath(tmpl, NULL);
}

static inline char *tp_path(const char *dir, const char *rel) {
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

static inline int tp_exists(const char *dir, const char *rel) {
  char *p = tp_path(dir, rel);
  struct stat st;
  int ok = lstat(p, &st) == 0;
  free(p);
  return ok;
}

static inline int tp_mode(const char *dir, const char *rel) {
  char *p = tp_path(dir, rel);
  struct stat st;
  int m = lstat(p, &st) == 0 ? (int)st.st_mode : -1;
  free(p);
  return m;
}

/* Reads a whole small file; NULL when missing. */
static inline char *tp_read(const char *dir, const char *rel) {
  char *p = tp_path(dir, rel);
  FILE *f = fopen(p, "rb");
  free(p);
  if (!f) return NULL;
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static inline void tp_write(const char *dir, const char *rel, const char *content) {
  char *p = tp_path(dir, rel);
  FILE *f = fopen(p, "wb");
  if (!f) abort();
  fputs(content, f);
  fclose(f);
  free(p);
}

static inline int tp_count_entries(const char *dir) {
  int n = 0;
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
  FILE *p = popen(cmd, "r");
  if (p && fscanf(p, "%d", &n) != 1) n = -1;
  if (p) pclose(p);
  return n;
}

/* ---- tarball builder --------------------------------------------------------------------- */

typedef struct {
  struct archive *a;
} tp_tar;

static inline void tp_tar_open(tp_tar *t, const char *path, int gzip) {
  t->a = archive_write_new();
  if (gzip) archive_write_add_filter_gzip(t->a);
  archive_write_set_format_pax_restricted(t->a);
  if (archive_write_open_filename(t->a, path) != ARCHIVE_OK) abort();
}

static inline void tp_tar_entry(tp_tar *t, const char *name, mode_t type, int perm,
                                const void *data, size_t len, const char *link, int hard) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, perm);
  archive_entry_set_uid(e, 4242);
  archive_entry_set_gid(e, 4242);
  archive_entry_set_mtime(e, 1700000000, 0);
  if (type == AE_IFREG) archive_entry_set_size(e, (la_int64_t)len);
  if (type == AE_IFCHR || type == AE_IFBLK) archive_entry_set_rdev(e, makedev(1, 3));
  if (link && hard) archive_entry_set_hardlink(e, link);
  else if (link) archive_entry_set_symlink(e, link);
  if (archive_write_header(t->a, e) != ARCHIVE_OK) {
    fprintf(stderr, "tar header %s: %s\n", name, archive_error_string(t->a));
    abort();
  }
  if (type == AE_IFREG && len && !hard) archive_write_data(t->a, data, len);
  archive_entry_free(e);
}

static inline void tp_tar_file(tp_tar *t, const char *name, const char *content) {
  tp_tar_entry(t, name, AE_IFREG, 0644, content, strlen(content), NULL, 0);
}

static inline void tp_tar_dir(tp_tar *t, const char *name) {
  tp_tar_entry(t, name, AE_IFDIR, 0755, NULL, 0, NULL, 0);
}

static inline void tp_tar_symlink(tp_tar *t, const char *name, const char *target) {
  tp_tar_entry(t, name, AE_IFLNK, 0777, NULL, 0, target, 0);
}

static inline void tp_tar_hardlink(tp_tar *t, const char *name, const char *target) {
  tp_tar_entry(t, name, AE_IFREG, 0644, NULL, 0, target, 1);
}

static inline void tp_tar_close(tp_tar *t) {
  archive_write_close(t->a);
  archive_write_free(t->a);
}

/* Extracts the archive at path into dest with the given limits. */
static inline void tp_extract(const char *tgz, const char *dest, const mol_plugin_limits *l,
                              mol_plugin_extract_result *res) {
  int fd = open(tgz, O_RDONLY);
  if (fd < 0) abort();
  mol_plugin__extract_fd(fd, -1, dest, l, res);
  close(fd);
}

#endif
