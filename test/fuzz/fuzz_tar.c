/* fuzz_tar.c - libFuzzer target for the plugin extractor's entry checks (plugin/extract.c).
 * The input is the archive stream as a download would deliver it; the seed corpus holds real
 * .tar.gz files with hostile entries (absolute names, "..", links, devices, duplicates) for
 * the mutations to start from. Whatever it holds, nothing is written outside the destination:
 * the destination sits alone in its own parent directory, and after the extraction the parent
 * holds nothing but it. A failure always says why, and the limits hold. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"

static char parent[256], dest[300];

static void ensure_dirs(void) {
  if (parent[0]) return;
  snprintf(parent, sizeof(parent), "/tmp/fuzz-tar-%d", (int)getpid());
  snprintf(dest, sizeof(dest), "%s/dest", parent);
  mkdir(parent, 0700);
}

static void only_dest_in_parent(void) {
  DIR *d = opendir(parent);
  if (!d) abort();
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "dest")) abort();
  closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  ensure_dirs();
  mol_plugin__rmtree(dest);
  if (mkdir(dest, 0700) != 0) abort();
  int fd = memfd_create("tar", 0);
  if (fd < 0) abort();
  if (len && write(fd, data, len) != (ssize_t)len) abort();
  lseek(fd, 0, SEEK_SET);
  mol_plugin_limits lim = {.max_total_bytes = 1 << 20, .max_entries = 256};
  mol_plugin_extract_result res;
  mol_plugin__extract_fd(fd, -1, dest, &lim, &res);
  close(fd);
  if (res.err && !res.msg[0]) abort();
  if (res.files > lim.max_entries || res.bytes_out > lim.max_total_bytes) abort();
  mol_plugin__extract_result_free(&res);
  only_dest_in_parent();
  return 0;
}
