/* fuzz_tar.c - libFuzzer target for the plugin extractor's entry checks (plugin/extract.c).
 * The input is the archive stream as a download would deliver it; the seed corpus holds real
 * .tar.gz files with hostile entries (absolute names, "..", links, devices, duplicates) for
 * the mutations to start from. Whatever it holds, nothing is written outside the destination:
 * the destination sits alone in its own parent directory, and after the extraction the parent
 * holds nothing but it, and it is still the same directory. A failure always says why, and
 * the limits hold.
 *
 * Only the extraction is per input: the directories live on tmpfs (/dev/shm, where there is
 * one) and are made once, the destination is emptied rather than remade, the archive stream
 * is one memfd rewritten in place, and the C.UTF-8 locale stays loaded. On a disk the
 * directory churn cost more than the extraction itself. */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"

static char parent[256], dest[300];
static DIR *parent_dir, *dest_dir;
static struct stat dest_st;
static int archive_fd = -1;
static locale_t utf8_held;

static void remove_dirs(void) {
  if (parent_dir) closedir(parent_dir);
  if (dest_dir) closedir(dest_dir);
  if (utf8_held) freelocale(utf8_held);
  (void)mol_plugin__rmtree(parent);
}

static const char *scratch_root(void) {
  struct stat st;
  if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  const char *t = getenv("TMPDIR");
  return t && t[0] ? t : "/tmp";
}

static void setup_once(void) {
  if (parent_dir) return;
  snprintf(parent, sizeof(parent), "%s/fuzz-tar-%d", scratch_root(), (int)getpid());
  snprintf(dest, sizeof(dest), "%s/dest", parent);
  (void)mol_plugin__rmtree(parent);  /* a crashed run of a recycled pid left it behind */
  if (mkdir(parent, 0700) != 0 || mkdir(dest, 0700) != 0) abort();
  parent_dir = opendir(parent);
  dest_dir = opendir(dest);
  if (!parent_dir || !dest_dir || fstat(dirfd(dest_dir), &dest_st) != 0) abort();
  archive_fd = memfd_create("tar", MFD_CLOEXEC);
  if (archive_fd < 0) abort();
  /* The extractor takes C.UTF-8 for each archive and frees it after; glibc unloads a locale
   * when its last user frees it, so without this reference every input reopens, maps and
   * parses the locale file. */
  utf8_held = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  atexit(remove_dirs);
}

/* Empties the destination; rewinddir() reads it afresh, so an empty one costs one getdents. */
static void empty_dest(void) {
  rewinddir(dest_dir);
  struct dirent *e;
  char path[4400];
  while ((e = readdir(dest_dir)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof(path), "%s/%s", dest, e->d_name);
    if (mol_plugin__rmtree(path) != 0) abort();
  }
}

static void load_archive(const uint8_t *data, size_t len) {
  if (ftruncate(archive_fd, 0) != 0) abort();
  if (len && pwrite(archive_fd, data, len, 0) != (ssize_t)len) abort();
  if (lseek(archive_fd, 0, SEEK_SET) != 0) abort();
}

static void only_dest_in_parent(void) {
  rewinddir(parent_dir);
  struct dirent *e;
  while ((e = readdir(parent_dir)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "dest")) abort();
  struct stat st;
  if (lstat(dest, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_ino != dest_st.st_ino ||
      st.st_dev != dest_st.st_dev)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  setup_once();
  empty_dest();
  load_archive(data, len);
  mol_plugin_limits lim = {.max_total_bytes = 1 << 20, .max_entries = 256};
  mol_plugin_extract_result res;
  mol_plugin__extract_fd(archive_fd, -1, dest, &lim, &res);
  if (res.err && !res.msg[0]) abort();
  if (res.files > lim.max_entries || res.bytes_out > lim.max_total_bytes) abort();
  mol_plugin__extract_result_free(&res);
  only_dest_in_parent();
  return 0;
}
