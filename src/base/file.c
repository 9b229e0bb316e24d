/* file.c - small-file helpers for state that must survive a crash intact. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void fsync_dir_of(const char *path) {
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

int mol_write_file_atomic(const char *path, const void *data, size_t len, int mode) {
  char tmp[4096], rnd[17];
  if (mol_random_hex(rnd, 8)) return -EIO;
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rnd) >= sizeof(tmp)) return -ENAMETOOLONG;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  int rc = write_all(fd, data, len);
  if (!rc && fchmod(fd, (mode_t)mode) < 0) rc = -errno; /* umask must not widen or narrow it */
  if (!rc && fsync(fd) < 0) rc = -errno;
  if (close(fd) < 0 && !rc) rc = -errno;
  if (!rc && rename(tmp, path) < 0) rc = -errno;
  if (rc) {
    unlink(tmp);
    return rc;
  }
  fsync_dir_of(path);
  return 0;
}
