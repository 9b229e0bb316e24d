/* token.c - the token store (~/.molecule/<id>/.auth_token): load, reload on a 401, save, and
 * the bearer check of inbound requests.
 *
 * The file is a few dozen bytes, so the reads here are plain blocking POSIX on the loop thread
 * (base/file.h). The save after a registration runs in the thread pool instead (its two
 * fsyncs dominate, and a host registers thousands of agents at once); mol_platform_save_token,
 * the API's own save, stays synchronous.
 *
 * Unlike the Python SDK's, a save never truncates the live file: the
 * token goes through mol_write_file_atomic (a fresh temporary file, 0600 from its creation,
 * fsync'ed and renamed over the target). Readers see the old token or the new one, never an
 * empty or partial file, and two concurrent writers cannot destroy each other's token; no lock
 * is needed on either side. */
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
#include "base/file.h"
#include "base/log.h"
#include "base/str.h"
#include "platform/platform_int.h"

int mol_platform__default_token_dir(const char *ws_id, char **out) {
  const char *home = getenv("HOME");
  if (!home || !*home) return MOL_EINVAL;
  mol_buf b = MOL_BUF_INIT;
  if (mol_buf_printf(&b, "%s/.molecule/%s", home, ws_id)) return MOL_ENOMEM;
  *out = mol_buf_steal(&b);
  return *out ? 0 : MOL_ENOMEM;
}

void mol_platform__token_set(mol_platform_client *c, const char *token) {
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

int mol_platform__token_reload(mol_platform_client *c, int *changed) {
  char *t;
  *changed = 0;
  int rc = mol_read_file_stripped(c->token_path, &t);
  if (rc) {
    mol_logw(MOL_PLATFORM__SCOPE, "cannot read token file %s: %s", c->token_path, mol_strerror(rc));
    return rc;
  }
  if (!t) return 0;
  if (strlen(t) < MOL_PLATFORM__TOKEN_MAX && !mol_ct_streq(t, c->token)) {
    mol_platform__token_set(c, t);
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

/* The file work of a save: touches no client, so it may run in the thread pool. */
static int save_file(const char *dir, const char *path, const char *t) {
  int rc = mol_mkdir_p(dir, 0700);
  /* The directory's mode is re-asserted on every save, as the SDK does (best effort). */
  if (!rc) chmod(dir, 0700);
  if (!rc) rc = mol_write_file_atomic(path, t, strlen(t), 0600);
  if (!rc) sweep_stale_temps(dir);
  return rc;
}

/* A stripped copy of token, or NULL with *rc set (MOL_EINVAL for an empty or oversized one). */
static char *token_copy(const char *token, int *rc) {
  char *t = mol_str_strip_dup(token);
  *rc = t ? 0 : MOL_ENOMEM;
  if (t && (!*t || strlen(t) >= MOL_PLATFORM__TOKEN_MAX)) {
    *rc = MOL_EINVAL;
    memset(t, 0, strlen(t));
    free(t);
    t = NULL;
  }
  return t;
}

static void wipe_free(char *t) {
  if (t) memset(t, 0, strlen(t));
  free(t);
}

/* The token's directory: its path without "/.auth_token" (the client keeps the path only). */
static char *token_dir_dup(const mol_platform_client *c) {
  return strndup(c->token_path, strlen(c->token_path) - strlen("/" MOL_PLATFORM__TOKEN_FILE));
}

int mol_platform_save_token(mol_platform_client *c, const char *token) {
  if (!c || !token) return MOL_EINVAL;
  int rc;
  char *t = token_copy(token, &rc);
  char *dir = rc ? NULL : token_dir_dup(c);
  if (!rc && !dir) rc = MOL_ENOMEM;
  if (!rc) rc = save_file(dir, c->token_path, t);
  if (!rc) mol_platform__token_set(c, t);
  free(dir);
  wipe_free(t);
  return rc;
}

/* ---- the save of a registration's token, off the loop ----------------------------------
 * A save is two fsyncs (the file, its directory): milliseconds each on a loaded disk. On the
 * loop thread, thousands of agents registering at start-up queued behind them; in the thread
 * pool they overlap, and the loop keeps serving. The call stays open until the token is on
 * disk, so its callback still never sees a token that a crash could lose. */

typedef struct {
  uv_work_t work;
  mol_platform_req *r;
  char *token, *dir, *path; /* copies: the worker reads no client */
  int rc;
  void (*done)(mol_platform_req *r, int err);
} token_save;

static void save_work(uv_work_t *w) {
  token_save *s = w->data;
  s->rc = save_file(s->dir, s->path, s->token);
}

static void save_after(uv_work_t *w, int status) {
  token_save *s = w->data;
  mol_platform_req *r = s->r;
  int rc = status ? status : s->rc;
  if (!rc) mol_platform__token_set(r->c, s->token);
  r->saving = 0;
  wipe_free(s->token);
  free(s->dir);
  free(s->path);
  void (*done)(mol_platform_req *, int) = s->done;
  free(s);
  done(r, rc);
}

int mol_platform__token_save_async(mol_platform_req *r, const char *token,
                                   void (*done)(mol_platform_req *r, int err)) {
  int rc;
  token_save *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  s->token = token_copy(token, &rc);
  if (!rc && (!(s->dir = token_dir_dup(r->c)) || !(s->path = strdup(r->c->token_path))))
    rc = MOL_ENOMEM;
  s->r = r;
  s->done = done;
  s->work.data = s;
  if (!rc) rc = uv_queue_work(r->c->loop, &s->work, save_work, save_after);
  if (rc) {
    wipe_free(s->token);
    free(s->dir);
    free(s->path);
    free(s);
    return rc;
  }
  r->saving = 1;
  return 0;
}

int mol_platform_has_token(const mol_platform_client *c) { return c && c->token ? 1 : 0; }

int mol_platform_check_bearer(const mol_platform_client *c, const char *authorization) {
  if (!c || !c->token || !*c->token || !authorization) return 0;
  if (strncmp(authorization, "Bearer ", 7) != 0) return 0; /* exact, as upstream: no case games */
  return mol_ct_streq(authorization + 7, c->token);
}
