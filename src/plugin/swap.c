/* swap.c - the on-disk side of an install: the lock, the atomic swap, removal and recovery.
 * All blocking; install.c calls these from worker threads.
 *
 * Layout of a plugins directory:
 *   <name>/                  a live plugin
 *   .staging-<name>-<hex>/   an install in progress, or the old version right after an
 *                            exchange (either way garbage once no install holds the lock)
 *   .staging-<name>-<hex>.tgz  the downloaded archive of an install in progress
 *   .old-<name>-<hex>/       the previous version during the fallback swap (no
 *                            RENAME_EXCHANGE): restored when <name> is missing, else garbage
 *   .setup-<name>.log        the output of the last setup.sh run
 * Every install and removal holds an exclusive flock on the directory itself, which the
 * kernel drops when the process dies, so recovery never races a live install. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "molecule.h"
#include "plugin/plugin.h"

static int rmtree_at(int parent, const char *name, int depth);

static int rmtree_children(int fd, int depth) {
  DIR *d = fdopendir(fd);
  if (!d) {
    int err = -errno;
    close(fd);
    return err;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    int r = rmtree_at(dirfd(d), e->d_name, depth + 1);
    if (r && !rc) rc = r;
  }
  closedir(d);
  return rc;
}

static int rmtree_at(int parent, const char *name, int depth) {
  if (depth > 512) return -ELOOP;
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -errno;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  (void)fchmod(fd, 0700);  /* a read-only directory would refuse the unlinks below */
  int rc = rmtree_children(fd, depth);
  if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc) rc = -errno;
  return rc;
}

int mol_plugin__rmtree(const char *path) { return rmtree_at(AT_FDCWD, path, 0); }

int mol_plugin__lock(const char *plugins_dir) {
  int rc = mol_mkdir_p(plugins_dir, 0700);
  if (rc) return rc;
  int fd = open(plugins_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno == EWOULDBLOCK ? MOL_EBUSY : -errno;
    close(fd);
    return err;
  }
  return fd;
}

void mol_plugin__unlock(int fd) {
  if (fd >= 0) close(fd);  /* closing drops the flock */
}

/* ".old-<name>-<hex>" → name. */
static int old_name(const char *entry, char *name, size_t cap) {
  const char *start = entry + strlen(".old-"), *dash = strrchr(entry, '-');
  if (dash <= start || (size_t)(dash - start) >= cap) return -1;
  memcpy(name, start, (size_t)(dash - start));
  name[dash - start] = '\0';
  return mol_plugin_name_valid(name) ? 0 : -1;
}

static int recover_old(int dfd, const char *entry) {
  char name[MOL_PLUGIN_NAME_MAX + 1];
  struct stat st;
  if (old_name(entry, name, sizeof(name)) == 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
      errno == ENOENT)
    return renameat(dfd, entry, dfd, name) == 0 ? 0 : -errno;
  return rmtree_at(dfd, entry, 0);
}

int mol_plugin__recover_locked(const char *plugins_dir) {
  DIR *d = opendir(plugins_dir);
  if (!d) return errno == ENOENT ? 0 : -errno;
  int count = 0, rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int r;
    if (strncmp(e->d_name, ".staging-", 9) == 0) r = rmtree_at(dirfd(d), e->d_name, 0);
    else if (strncmp(e->d_name, ".old-", 5) == 0) r = recover_old(dirfd(d), e->d_name);
    else continue;
    if (r && !rc) rc = r;
    if (!r) count++;
  }
  closedir(d);
  return rc ? rc : count;
}

int mol_plugin_recover(const char *plugins_dir) {
  int fd = mol_plugin__lock(plugins_dir);
  if (fd < 0) return fd;
  int rc = mol_plugin__recover_locked(plugins_dir);
  mol_plugin__unlock(fd);
  return rc;
}

static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* Where the filesystem has no RENAME_EXCHANGE: old version aside under a name recovery knows
 * how to restore, new version in, old version deleted. */
static int swap_fallback(const char *dir, const char *name, const char *staging,
                         const char *target, char msg[MOL_PLUGIN_MSG_MAX]) {
  char old[4096], hex[9];
  if (mol_random_hex(hex, 4) != 0) return MOL_EIO;
  if (mol_plugin_pathf(old, "%s/.old-%s-%s", dir, name, hex)) return -ENAMETOOLONG;
  if (rename(target, old) != 0) {
    mol_plugin__msgf(msg, "moving %s aside: %s", target, strerror(errno));
    return -errno;
  }
  if (rename(staging, target) != 0) {
    int err = -errno;
    mol_plugin__msgf(msg, "renaming %s to %s: %s", staging, target, strerror(errno));
    (void)rename(old, target);
    return err;
  }
  sync_dir(dir);
  (void)mol_plugin__rmtree(old);  /* if this is cut short, recovery finishes it */
  return 0;
}

/* Why RENAME_EXCHANGE failed, as it would have failed where the call works: ENOSYS (the
 * system call missing, or filtered by seccomp) comes before the kernel looks for a previous
 * version, so a first install would be taken for a swap; look for one here. */
static int exchange_errno(const char *target) {
  struct stat st;
  if (errno != ENOSYS) return errno;
  if (lstat(target, &st) == 0) return EINVAL;
  return errno;
}

int mol_plugin__swap_in(const char *dir, const char *name, const char *staging,
                       char msg[MOL_PLUGIN_MSG_MAX]) {
  char target[4096];
  if (mol_plugin_pathf(target, "%s/%s", dir, name)) return -ENAMETOOLONG;
  if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
    sync_dir(dir);
    /* staging now holds the previous version: garbage, and recovery's if we die here. */
    (void)mol_plugin__rmtree(staging);
    return 0;
  }
  int err = exchange_errno(target);
  if (err == ENOENT) {  /* no previous version */
    int rc = renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) rc = rename(staging, target);
    if (rc == 0) {
      sync_dir(dir);
      return 0;
    }
    err = errno;
  } else if (err == EINVAL) {
    return swap_fallback(dir, name, staging, target, msg);
  }
  mol_plugin__msgf(msg, "installing %s: %s", target, strerror(err));
  return -err;
}

int mol_plugin_remove(const char *dir, const char *name, char msg[MOL_PLUGIN_MSG_MAX]) {
  msg[0] = '\0';
  if (!mol_plugin_name_valid(name)) {
    mol_plugin__msgf(msg, "invalid plugin name '%s'", name ? name : "");
    return MOL_EINVAL;
  }
  int lock = mol_plugin__lock(dir);
  if (lock < 0) {
    mol_plugin__msgf(msg, "%s: %s", dir,
             lock == MOL_EBUSY ? "another install or removal is running" : mol_strerror(lock));
    return lock;
  }
  (void)mol_plugin__recover_locked(dir);
  char target[4096] = "", trash[4096], hex[9];
  int rc = mol_random_hex(hex, 4);
  if (!rc && (mol_plugin_pathf(target, "%s/%s", dir, name) ||
              mol_plugin_pathf(trash, "%s/.staging-%s-%s", dir, name, hex)))
    rc = -ENAMETOOLONG;
  if (!rc && rename(target, trash) != 0) rc = -errno;
  if (!rc) {
    sync_dir(dir);
    rc = mol_plugin__rmtree(trash);
  }
  if (rc) mol_plugin__msgf(msg, "removing %s: %s", target,
                   rc == MOL_ENOENT ? "not installed" : mol_strerror(rc));
  mol_plugin__unlock(lock);
  return rc;
}
