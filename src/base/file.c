/* file.c - small-file helpers for state that must survive a crash intact: the atomic writer,
 * mkdir -p and the stripped reader of tokens and cursors. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/str.h"

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
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd); /* the rename is durable only once the directory is */
    close(fd);
  }
  free(dir);
}

/* "<path>.<pid>.<16 hex>.tmp": unique, and a sweeper can tell a dead writer's leftovers. */
static int temp_name(const char *path, char **out) {
  char rnd[17];
  if (mol_random_hex(rnd, 8)) return -EIO;
  size_t cap = strlen(path) + 48;
  if (!(*out = malloc(cap))) return -ENOMEM;
  snprintf(*out, cap, "%s.%ld.%s.tmp", path, (long)getpid(), rnd);
  return 0;
}

int mol_write_file_atomic(const char *path, const void *data, size_t len, int mode) {
  char *tmp;
  int rc = temp_name(path, &tmp);
  if (rc) return rc;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    rc = -errno;
    free(tmp);
    return rc;
  }
  rc = fchmod(fd, (mode_t)mode) ? -errno : 0; /* exact mode whatever the umask */
  if (!rc) rc = write_all(fd, data, len);
  if (!rc && fsync(fd)) rc = -errno;
  if (close(fd) && !rc) rc = -errno;
  if (!rc && rename(tmp, path)) rc = -errno;
  if (rc) unlink(tmp);
  else fsync_dir_of(path);
  free(tmp);
  return rc;
}

int mol_mkdir_p(const char *dir, mode_t mode) {
  if (!*dir) return -ENOENT;
  char *p = strdup(dir);
  if (!p) return -ENOMEM;
  int rc = 0;
  for (char *s = p + 1; !rc; s++) {
    if (*s != '/' && *s != '\0') continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, mode) && errno != EEXIST) rc = -errno;
    *s = saved;
    if (!saved) break;
  }
  free(p);
  return rc;
}

int mol_read_file_stripped(const char *path, char **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  char buf[MOL_SMALL_FILE_MAX + 1];
  size_t len = 0;
  int rc = 0;
  while (len < MOL_SMALL_FILE_MAX) {
    ssize_t n = read(fd, buf + len, MOL_SMALL_FILE_MAX - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  if (!rc && len && !(*out = mol_str_strip_dup(buf))) rc = -ENOMEM;
  memset(buf, 0, len);
  if (*out && !**out) {
    free(*out);
    *out = NULL;
  }
  return rc;
}
