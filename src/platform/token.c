/* token.c - the token store (~/.molecule/<id>/.auth_token) and atomic writes of small files.
 *
 * These files are a few dozen bytes, written once per registration or per inbound batch, so
 * the syscalls here are plain blocking POSIX on the loop thread: a uv_fs round trip through
 * the thread pool would cost more than the write itself.
 *
 * Unlike the Python SDK (sdk-parity §3.1, §9.3-7), a save never truncates the live file: the
 * token goes to a fresh temporary file created 0600 with O_EXCL, is fsync'ed, and is renamed
 * over the target (then the directory is fsync'ed). Readers see the old token or the new one,
 * never an empty or partial file, and two concurrent writers cannot destroy each other's
 * token; no lock is needed on either side. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "platform/platform_int.h"

#define SMALL_FILE_MAX 4096

int plat_mkdir_p(const char *dir, mode_t mode, int force_mode) {
  char *p = strdup(dir);
  if (!p) return MOL_ENOMEM;
  int rc = 0;
  for (char *s = p + 1; !rc; s++) {
    if (*s != '/' && *s != '\0') continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, mode) && errno != EEXIST) rc = -errno;
    *s = saved;
    if (!saved) break;
  }
  /* The token dir's mode is re-asserted on every save, as the SDK does (best effort); other
   * directories (a cursor file's parent may be /tmp) are only created, never re-moded. */
  if (!rc && force_mode) chmod(p, mode);
  free(p);
  return rc;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    data += n;
    len -= (size_t)n;
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

static int make_temp(const char *path, char **tmp) {
  char rnd[17];
  if (mol_random_hex(rnd, 8)) return MOL_EIO;
  mol_buf b = MOL_BUF_INIT;
  if (mol_buf_printf(&b, "%s.%ld.%s.tmp", path, (long)getpid(), rnd)) return MOL_ENOMEM;
  *tmp = mol_buf_steal(&b);
  return *tmp ? 0 : MOL_ENOMEM;
}

int plat_write_atomic(const char *path, const char *data, size_t len) {
  char *tmp;
  int rc = make_temp(path, &tmp);
  if (rc) return rc;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    rc = -errno;
    free(tmp);
    return rc;
  }
  rc = fchmod(fd, 0600) ? -errno : 0; /* exact mode whatever the umask */
  if (!rc) rc = write_all(fd, data, len);
  if (!rc && fsync(fd)) rc = -errno;
  if (close(fd) && !rc) rc = -errno;
  if (!rc && rename(tmp, path)) rc = -errno;
  if (rc) unlink(tmp);
  else fsync_dir_of(path);
  free(tmp);
  return rc;
}

int plat_read_small(const char *path, char **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  char buf[SMALL_FILE_MAX + 1];
  size_t len = 0;
  int rc = 0;
  while (len < SMALL_FILE_MAX) {
    ssize_t n = read(fd, buf + len, SMALL_FILE_MAX - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  if (!rc && len && !(*out = mol_str_strip_dup(buf))) rc = MOL_ENOMEM;
  memset(buf, 0, len);
  if (*out && !**out) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

int plat_default_token_dir(const char *ws_id, char **out) {
  const char *home = getenv("HOME");
  if (!home || !*home) return MOL_EINVAL;
  mol_buf b = MOL_BUF_INIT;
  if (mol_buf_printf(&b, "%s/.molecule/%s", home, ws_id)) return MOL_ENOMEM;
  *out = mol_buf_steal(&b);
  return *out ? 0 : MOL_ENOMEM;
}

void plat_token_set(mol_platform_client *c, const char *token) {
  char *t = strdup(token);
  if (!t) return;
  if (c->token) {
    memset(c->token, 0, strlen(c->token));
    free(c->token);
  }
  c->token = t;
  c->token_gen++;
  /* The registry holds 64 values; past that, Bearer and token-key redaction still apply. */
  mol_log_add_secret(t);
}

int plat_token_reload(mol_platform_client *c, int *changed) {
  char *t;
  *changed = 0;
  int rc = plat_read_small(c->token_path, &t);
  if (rc) {
    mol_logw(PLAT_SCOPE, "cannot read token file %s: %s", c->token_path, mol_strerror(rc));
    return rc;
  }
  if (!t) return 0;
  if (strlen(t) < PLAT_TOKEN_MAX && !mol_ct_streq(t, c->token)) {
    plat_token_set(c, t);
    *changed = 1;
  }
  memset(t, 0, strlen(t));
  free(t);
  return 0;
}

/* A writer killed between creating its temporary file and the rename leaves
 * ".auth_token.<pid>.<rnd>.tmp" behind (0600, never read). Token saves are rare, so each one
 * removes the leftovers of processes that no longer exist. */
static void sweep_stale_temps(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    long pid;
    size_t n = strlen(e->d_name);
    if (strncmp(e->d_name, ".auth_token.", 12) || n < 16 || strcmp(e->d_name + n - 4, ".tmp") ||
        sscanf(e->d_name + 12, "%ld.", &pid) != 1 || pid <= 0 || pid == (long)getpid())
      continue;
    if (kill((pid_t)pid, 0) && errno == ESRCH) unlinkat(dirfd(d), e->d_name, 0);
  }
  if (d) closedir(d);
}

int mol_platform_save_token(mol_platform_client *c, const char *token) {
  if (!c || !token) return MOL_EINVAL;
  char *t = mol_str_strip_dup(token);
  if (!t) return MOL_ENOMEM;
  int rc = !*t || strlen(t) >= PLAT_TOKEN_MAX ? MOL_EINVAL : plat_mkdir_p(c->token_dir, 0700, 1);
  if (!rc) rc = plat_write_atomic(c->token_path, t, strlen(t));
  if (!rc) plat_token_set(c, t);
  if (!rc) sweep_stale_temps(c->token_dir);
  memset(t, 0, strlen(t));
  free(t);
  return rc;
}

int mol_platform_has_token(const mol_platform_client *c) { return c && c->token ? 1 : 0; }

int mol_platform_check_bearer(const mol_platform_client *c, const char *authorization) {
  if (!c || !c->token || !*c->token || !authorization) return 0;
  if (strncmp(authorization, "Bearer ", 7) != 0) return 0; /* exact, as upstream: no case games */
  return mol_ct_streq(authorization + 7, c->token);
}
