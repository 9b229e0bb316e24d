/* setup_sh.c - runs a plugin's setup.sh the way upstream does (bash, cwd = plugin dir, 120 s)
 * minus its holes: a sanitised environment instead of the full one (no tokens or keys leak
 * into third-party scripts), its own session and process group so a timeout kills the
 * grandchildren too, and its output captured to a capped log file instead of memory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/holds.h"
#include "molecule.h"
#include "plugin/plugin.h"

extern char **environ;

enum { KILL_GRACE_MS = 2000, DRAIN_MS = 200, MAX_ENV = 128 };

typedef struct {
  uv_process_t proc;
  uv_pipe_t out[2];
  uv_timer_t timer;            /* the timeout, then the drain; the holds' last handle */
  mol_holds holds;             /* the process and the two pipes, each until closed */
  int exited, timed_out, killed, eofs;
  int log_fd;
  size_t logged, max_log;
  mol_plugin_setup_result res;
  mol_plugin_setup_cb cb;
  void *arg;
  /* Both pipes read into it: libuv hands it to on_read before the next allocation. Per job,
   * not a __thread array, which every thread of every command would pay for at its start. */
  char chunk[16384];
} setup_job;

static const char *const keep_env[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ",
                                       "TMPDIR", "TERM", NULL};

static int env_allowed(const char *kv) {
  if (strncmp(kv, "LC_", 3) == 0) return 1;
  for (const char *const *k = keep_env; *k; k++) {
    size_t n = strlen(*k);
    if (strncmp(kv, *k, n) == 0 && kv[n] == '=') return 1;
  }
  return 0;
}

/* Fills env (MAX_ENV slots) with the extras, PLUGIN_DIR and the allow-listed variables. The
 * strings in extra/environ are borrowed; plugin_dir_kv is the caller's buffer. */
static void build_env(char **env, const char *const *extra, char *plugin_dir_kv) {
  size_t n = 0;
  int have_path = 0;
  for (; extra && *extra && n < MAX_ENV - 4; extra++) env[n++] = (char *)*extra;
  env[n++] = plugin_dir_kv;
  for (char **e = environ; e && *e && n < MAX_ENV - 2; e++) {
    if (!env_allowed(*e)) continue;
    have_path |= strncmp(*e, "PATH=", 5) == 0;
    env[n++] = *e;
  }
  if (!have_path) env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
  env[n] = NULL;
}

/* The holds' finish: the process and its pipes have closed, and then the timer. */
static void job_finish(void *arg) {
  setup_job *j = arg;
  if (j->log_fd >= 0) close(j->log_fd);
  if (j->cb) j->cb(&j->res, j->arg);
  free(j);
}

static void on_closed(uv_handle_t *h) {
  setup_job *j = h->data;
  mol_holds_drop(&j->holds);
}

static void close_handle(setup_job *j, uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, on_closed);
  (void)j;
}

static void kill_group(setup_job *j, int sig) {
  if (j->res.pid > 0) (void)kill(-j->res.pid, sig);
}

static void log_bytes(setup_job *j, const char *data, size_t len) {
  if (j->logged >= j->max_log) return;
  size_t n = len > j->max_log - j->logged ? j->max_log - j->logged : len;
  /* A local file, at most max_log bytes per run: a short synchronous write. */
  ssize_t w = write(j->log_fd, data, n);
  if (w > 0) j->logged += (size_t)w;
  if (j->logged >= j->max_log) {
    static const char note[] = "\n[molecule: setup.sh output truncated]\n";
    (void)!write(j->log_fd, note, sizeof(note) - 1);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  setup_job *j = h->data;
  (void)suggested;
  *buf = uv_buf_init(j->chunk, sizeof(j->chunk));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  setup_job *j = s->data;
  if (n > 0) log_bytes(j, buf->base, (size_t)n);
  if (n >= 0) return;
  j->eofs++;
  close_handle(j, (uv_handle_t *)s); /* the last of the three to close takes the timer along */
}

static void on_timer(uv_timer_t *t) {
  setup_job *j = t->data;
  if (j->exited) {  /* drain period over: whoever still holds the pipes is not waited for */
    close_handle(j, (uv_handle_t *)&j->out[0]);
    close_handle(j, (uv_handle_t *)&j->out[1]);
  } else if (!j->timed_out) {
    j->timed_out = 1;
    kill_group(j, SIGTERM);
    uv_timer_start(t, on_timer, KILL_GRACE_MS, 0);
  } else {
    kill_group(j, SIGKILL);
  }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  setup_job *j = p->data;
  j->exited = 1;
  j->res.exit_status = (int)status;
  j->res.term_signal = sig;
  j->res.err = j->timed_out ? MOL_ETIMEDOUT : 0;
  kill_group(j, SIGKILL);  /* bash is gone; nothing it started outlives it */
  close_handle(j, (uv_handle_t *)p);
  if (j->eofs < 2) uv_timer_start(&j->timer, on_timer, DRAIN_MS, 0);
}

static int spawn(uv_loop_t *loop, setup_job *j, const mol_plugin_setup_opts *o, char *script) {
  char pdir[4200];
  snprintf(pdir, sizeof(pdir), "PLUGIN_DIR=%s", o->dir);
  char *env[MAX_ENV];
  build_env(env, o->env, pdir);
  char *args[] = {"bash", script, NULL};
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}};
  for (int i = 0; i < 2; i++) {
    uv_pipe_init(loop, &j->out[i], 0);
    j->out[i].data = j;
    mol_holds_take(&j->holds);
    stdio[i + 1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[i + 1].data.stream = (uv_stream_t *)&j->out[i];
  }
  uv_process_options_t po = {.exit_cb = on_exit_cb, .file = "bash", .args = args, .env = env,
                             .cwd = o->dir, .flags = UV_PROCESS_DETACHED, .stdio_count = 3,
                             .stdio = stdio};
  j->proc.data = j;
  mol_holds_take(&j->holds); /* uv_spawn initialises the handle even when it fails */
  return uv_spawn(loop, &j->proc, &po);
}

int mol_plugin__setup_run(uv_loop_t *loop, const mol_plugin_setup_opts *o, mol_plugin_setup_cb cb,
                         void *arg) {
  char script[4096]; /* checked before any handle exists: nothing to close on this error */
  if (mol_plugin_pathf(script, "%s/setup.sh", o->dir)) return -ENAMETOOLONG;
  setup_job *j = calloc(1, sizeof(*j));
  if (!j) return MOL_ENOMEM;
  j->cb = cb;
  j->arg = arg;
  j->max_log = o->max_log_bytes ? o->max_log_bytes : (1u << 20);
  j->log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (j->log_fd < 0) {
    int err = -errno;
    free(j);
    return err;
  }
  uv_timer_init(loop, &j->timer);
  j->timer.data = j;
  mol_holds_init(&j->holds, (uv_handle_t *)&j->timer, job_finish, j);
  int rc = spawn(loop, j, o, script);
  if (rc) {
    /* No child. The handles (the process one included: libuv initialised it) still close
     * on a later turn; cb is cleared so job_finish only frees. */
    j->cb = NULL;
    close_handle(j, (uv_handle_t *)&j->proc);
    for (int i = 0; i < 2; i++) close_handle(j, (uv_handle_t *)&j->out[i]);
  } else {
    j->res.pid = j->proc.pid;
    for (int i = 0; i < 2; i++) uv_read_start((uv_stream_t *)&j->out[i], on_alloc, on_read);
    uv_timer_start(&j->timer, on_timer, o->timeout_ms ? o->timeout_ms : 120000, 0);
  }
  mol_holds_drop(&j->holds); /* the creator's: the handles hold the job from here */
  return rc;
}
