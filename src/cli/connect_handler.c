/* connect_handler.c - the handler process of `molecule connect`: spawns /bin/sh -c CMD for one
 * message (uv_spawn, its own process group), writes the text to its stdin, reads its stdout
 * until EOF, enforces the timeout, and reports the outcome once both the exit status and the
 * end of the output are in. See connect_handler.h. */
#include "cli/connect_handler.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/holds.h"
#include "cli/verbs_env.h"

#define MAX_REPLY (1024 * 1024) /* handler output kept as the reply */

extern char **environ;

struct connect_handler {
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_write_t wr;
  uv_timer_t timer;       /* the timeout; the holds' last handle */
  mol_holds holds;        /* the run's own until reported; each other handle while closing */
  char *text;             /* the stdin contents, owned until the write completes */
  char *buf;              /* stdout */
  size_t len;
  int started, exited, out_done, reported, timed_out;
  int64_t exit_status;
  int term_signal;
  connect_handler_cb cb;
  void *arg;
};

static void report(connect_handler *h) {
  char none[1] = "";
  connect_handler_result res = {.started = h->started,
                                .ok = h->exit_status == 0 && h->term_signal == 0,
                                .timed_out = h->timed_out, .exit_status = h->exit_status,
                                .term_signal = h->term_signal,
                                .output = h->buf ? h->buf : none, .len = h->len};
  h->reported = 1;
  h->cb(&res, h->arg);
}

/* The holds' finish: every handle has closed. */
static void handler_free(void *arg) {
  connect_handler *h = arg;
  if (!h->reported) report(h); /* it could not be started */
  free(h->text);
  free(h->buf);
  free(h);
}

static void on_handle_closed(uv_handle_t *handle) {
  connect_handler *h = handle->data;
  mol_holds_drop(&h->holds);
}

static void close_handle(connect_handler *h, uv_handle_t *handle) {
  if (uv_is_closing(handle)) return;
  mol_holds_take(&h->holds); /* until its close callback */
  uv_close(handle, on_handle_closed);
}

/* Both the exit status and the end of stdout are in: report, then release the handles (the
 * timer last, once the others have closed). */
static void finish(connect_handler *h) {
  uv_timer_stop(&h->timer);
  report(h);
  close_handle(h, (uv_handle_t *)&h->proc);
  close_handle(h, (uv_handle_t *)&h->in);
  close_handle(h, (uv_handle_t *)&h->out);
  mol_holds_drop(&h->holds); /* the run's own */
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  connect_handler *h = p->data;
  h->exited = 1;
  h->exit_status = status;
  h->term_signal = term_signal;
  if (h->out_done) finish(h);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b) {
  connect_handler *h = handle->data;
  size_t want = h->len + suggested + 1;
  char *nb = h->len + 1 < MAX_REPLY ? realloc(h->buf, want) : NULL;
  if (nb) {
    h->buf = nb;
    nb[h->len] = '\0'; /* a read that brings nothing (EOF) leaves the output terminated */
  }
  *b = uv_buf_init(nb ? nb + h->len : NULL, nb ? (unsigned)suggested : 0);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  connect_handler *h = s->data;
  (void)b;
  if (n > 0) {
    h->len += (size_t)n;
    h->buf[h->len] = '\0';
    if (h->len < MAX_REPLY) return;
  } else if (n == 0) {
    return;
  }
  /* EOF, a read error, an allocation failure (no buffer) or the size bound: stop reading */
  uv_read_stop(s);
  h->out_done = 1;
  if (h->exited) finish(h);
}

static void on_stdin_written(uv_write_t *w, int status) {
  connect_handler *h = w->data;
  (void)status; /* a handler that does not read its input is allowed (EPIPE) */
  close_handle(h, (uv_handle_t *)&h->in); /* EOF on the handler's stdin */
}

/* Signals the handler's whole process group (it may have exited while its children live). */
void mol_cli__connect_handler_kill(connect_handler *h, int signum) {
  if (!h->out_done || !h->exited) uv_kill(-h->proc.pid, signum);
}

static void on_timeout(uv_timer_t *t) {
  connect_handler *h = t->data;
  h->timed_out = 1;
  mol_cli__connect_handler_kill(h, SIGKILL);
}

/* environ plus what the handler needs to know about the message. */
static char **handler_env(const mol_platform_message *m, char extra[6][1200]) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 7, sizeof(*env));
  if (!env) return NULL;
  memcpy(env, environ, n * sizeof(*env));
  const char *src = m->source == MOL_PLATFORM_SRC_CANVAS_USER ? "canvas_user"
                    : m->source == MOL_PLATFORM_SRC_PEER_AGENT ? "peer_agent" : "unknown";
  snprintf(extra[0], 1200, "MOLECULE_MESSAGE_SOURCE=%s", src);
  snprintf(extra[1], 1200, "MOLECULE_SOURCE_ID=%s", m->source_id);
  snprintf(extra[2], 1200, "MOLECULE_ACTIVITY_ID=%s", m->activity_id);
  snprintf(extra[3], 1200, "MOLECULE_PEER_NAME=%s", m->peer_name);
  snprintf(extra[4], 1200, "MOLECULE_PEER_ROLE=%s", m->peer_role);
  snprintf(extra[5], 1200, "MOLECULE_PEER_CARD_URL=%s", m->agent_card_url);
  for (int i = 0; i < 6; i++) env[n + i] = extra[i];
  return env;
}

static int spawn(connect_handler *h, uv_loop_t *loop, const char *cmd,
                 const mol_platform_message *m) {
  char extra[6][1200];
  mol_cli__connect_message_file(m);
  char **env = handler_env(m, extra);
  if (!env) return UV_ENOMEM;
  char *args[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&h->in},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&h->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  /* Its own process group (setsid), so a timeout or a shutdown also reaches what the shell
   * started: a surviving grandchild would hold stdout open and the reply would never end. */
  uv_process_options_t po = {.exit_cb = on_exit_cb, .file = args[0], .args = args, .env = env,
                             .stdio_count = 3, .stdio = stdio, .flags = UV_PROCESS_DETACHED};
  int rc = uv_spawn(loop, &h->proc, &po);
  free(env);
  return rc;
}

static int feed_stdin(connect_handler *h) {
  uv_buf_t b = uv_buf_init(h->text, (unsigned)strlen(h->text));
  h->wr.data = h;
  return uv_write(&h->wr, (uv_stream_t *)&h->in, &b, 1, on_stdin_written);
}

int mol_cli__connect_handler_start(uv_loop_t *loop, const char *cmd, unsigned timeout_ms,
                                   const mol_platform_message *m, connect_handler_cb cb, void *arg,
                                   connect_handler **out) {
  connect_handler *h = calloc(1, sizeof(*h));
  if (!h || !(h->text = strdup(m->text ? m->text : ""))) {
    free(h);
    return MOL_ENOMEM;
  }
  h->cb = cb;
  h->arg = arg;
  uv_pipe_init(loop, &h->in, 0);
  uv_pipe_init(loop, &h->out, 0);
  uv_timer_init(loop, &h->timer);
  h->in.data = h->out.data = h->timer.data = h->proc.data = h;
  mol_holds_init(&h->holds, (uv_handle_t *)&h->timer, handler_free, h);
  *out = h;
  int rc = spawn(h, loop, cmd, m);
  if (rc) { /* reported when the handles have closed, so never inside this call */
    fprintf(stderr, "[molecule] cannot start the handler: %s\n", uv_strerror(rc));
    h->exited = h->out_done = 1;
    h->exit_status = 127;
    close_handle(h, (uv_handle_t *)&h->in); /* no process handle to close */
    close_handle(h, (uv_handle_t *)&h->out);
    mol_holds_drop(&h->holds); /* the run's own */
    return 0;
  }
  h->started = 1;
  uv_timer_start(&h->timer, on_timeout, timeout_ms, 0);
  if (feed_stdin(h)) close_handle(h, (uv_handle_t *)&h->in);
  uv_read_start((uv_stream_t *)&h->out, on_alloc, on_read);
  return 0;
}
