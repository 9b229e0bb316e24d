/* proc.c - one handler process on the loop (see proc.h): spawn, stdin, stdout lines,
 * the last stderr line, the deadline and the group kill. */
#include "base/proc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/holds.h"
#include "molecule.h"

#define ERR_LINE_MAX 1000

/* OVER: exited, and stdout and stderr at their end (or given up): the handles are closing. */
typedef enum { RUNNING = 0, TERMED, KILLED, ABANDONED, OVER } stop_phase;

struct mol_proc {
  mol_proc_opts o;
  uv_process_t proc;
  uv_pipe_t in, out, err;
  uv_write_t wr;
  uv_timer_t timer;          /* the deadline and the kill grace; the holds' last handle */
  mol_holds holds;           /* the run's own until it is over; each other handle closing */
  char *input;
  mol_buf outb;
  size_t scanned;            /* stdout bytes already looked at for newlines */
  size_t line_start;         /* where the stdout line in progress starts */
  char err_chunk[4096];
  char err_cur[ERR_LINE_MAX + 1], err_last[ERR_LINE_MAX + 1];
  size_t err_cur_len;
  int exited, out_eof, err_eof, spawned;
  stop_phase phase;
  mol_proc_end end;
  int64_t exit_status;
  int term_signal;
};

/* A write to a pipe whose reader has exited raises SIGPIPE; ignore it (as the HTTP streams
 * do) unless the application installed a handler of its own. The child gets the default
 * disposition back: uv_spawn resets signals in the child. */
static uv_once_t sigpipe_once = UV_ONCE_INIT;
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

int mol_proc_pid(const mol_proc *p) { return p->proc.pid; }

/* ---- the end ------------------------------------------------------------------------------- */

static void proc_free(mol_proc *p) {
  free(p->input);
  mol_buf_free(&p->outb);
  free(p);
}

/* The holds' finish: every handle has closed. */
static void proc_finish(void *arg) {
  mol_proc *p = arg;
  if (p->spawned) {
    mol_proc_result r = {.end = p->end, .exit_status = p->exit_status,
                         .term_signal = p->term_signal, .out = p->outb.data ? p->outb.data : "",
                         .out_len = p->outb.len, .err_line = p->err_last};
    p->o.on_done(&r, p->o.arg);
  }
  proc_free(p);
}

static void on_handle_closed(uv_handle_t *h) {
  mol_proc *p = h->data;
  mol_holds_drop(&p->holds);
}

static void close_handle(mol_proc *p, uv_handle_t *h) {
  if (uv_is_closing(h)) return;
  mol_holds_take(&p->holds); /* until its close callback */
  uv_close(h, on_handle_closed);
}

/* Once: the run is over, or never started. The timer closes after the others. */
static void close_all(mol_proc *p) {
  p->phase = OVER;
  uv_timer_stop(&p->timer);
  close_handle(p, (uv_handle_t *)&p->in);
  close_handle(p, (uv_handle_t *)&p->out);
  close_handle(p, (uv_handle_t *)&p->err);
  close_handle(p, (uv_handle_t *)&p->proc); /* initialised by uv_spawn even when it fails */
  mol_holds_drop(&p->holds); /* the run's own */
}

static void close_if_over(mol_proc *p) {
  if (p->phase != OVER && p->exited && p->out_eof && p->err_eof) close_all(p);
}

/* ---- stopping ------------------------------------------------------------------------------ */

/* The whole group: what the shell started goes too, or it could hold stdout open forever.
 * Only while something of the run may still be alive (after that the group id could belong
 * to someone else). */
static void signal_group(mol_proc *p, int signum) {
  if (!(p->exited && p->out_eof && p->err_eof)) uv_kill(-p->proc.pid, signum);
}

static void on_timer(uv_timer_t *t);

static void stop_run(mol_proc *p, mol_proc_end why) {
  if (p->phase != RUNNING) return;
  p->end = why;
  p->phase = TERMED;
  signal_group(p, SIGTERM);
  uv_timer_start(&p->timer, on_timer, p->o.kill_grace_ms, 0);
}

static void on_timer(uv_timer_t *t) {
  mol_proc *p = t->data;
  switch (p->phase) {
    case RUNNING:
      stop_run(p, MOL_PROC_TIMED_OUT);
      return;
    case TERMED:
      p->phase = KILLED;
      signal_group(p, SIGKILL);
      uv_timer_start(&p->timer, on_timer, p->o.kill_grace_ms, 0);
      return;
    default:
      /* Killed, yet the pipes are still held: by a descendant that left the group. Give them
       * up rather than wait for it. The shell itself was in the group, so its exit comes. */
      p->phase = ABANDONED;
      uv_read_stop((uv_stream_t *)&p->out);
      uv_read_stop((uv_stream_t *)&p->err);
      p->out_eof = p->err_eof = 1;
      close_if_over(p);
  }
}

void mol_proc_kill(mol_proc *p) { stop_run(p, MOL_PROC_KILLED); }

static void on_exit_cb(uv_process_t *h, int64_t status, int term_signal) {
  mol_proc *p = h->data;
  p->exited = 1;
  p->exit_status = status;
  p->term_signal = term_signal;
  close_if_over(p);
}

/* ---- stdout -------------------------------------------------------------------------------- */

static void emit_lines(mol_proc *p, int at_eof) {
  if (!p->o.on_line) return;
  for (; p->scanned < p->outb.len; p->scanned++) {
    if (p->outb.data[p->scanned] != '\n') continue;
    p->o.on_line(p->outb.data + p->line_start, p->scanned + 1 - p->line_start, p->o.arg);
    p->line_start = p->scanned + 1;
  }
  if (at_eof && p->line_start < p->outb.len) {
    p->o.on_line(p->outb.data + p->line_start, p->outb.len - p->line_start, p->o.arg);
    p->line_start = p->outb.len;
  }
}

static void out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  mol_proc *p = h->data;
  size_t room = p->o.max_output + 1 - p->outb.len; /* one byte past the cap tells it was passed */
  size_t want = suggested < room ? suggested : room;
  if (mol_buf_reserve(&p->outb, want) != 0) {
    *b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to out_read */
    return;
  }
  *b = uv_buf_init(p->outb.data + p->outb.len, (unsigned)want);
}

static void out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  mol_proc *p = s->data;
  if (n == 0) return;
  if (n > 0) {
    p->outb.len += (size_t)n;
    p->outb.data[p->outb.len] = '\0';
    if (p->outb.len <= p->o.max_output) {
      emit_lines(p, 0);
      return;
    }
    p->outb.len = p->o.max_output;
    p->outb.data[p->outb.len] = '\0';
    stop_run(p, MOL_PROC_TOO_MUCH_OUTPUT);
  } else if (n == UV_EOF) {
    emit_lines(p, 1);
  } else if (n == UV_ENOBUFS) {
    stop_run(p, MOL_PROC_TOO_MUCH_OUTPUT); /* no memory for more: as good as too much */
  }
  uv_read_stop(s);
  p->out_eof = 1;
  close_if_over(p);
}

/* ---- stderr: only its last non-empty line is kept ------------------------------------------ */

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  mol_proc *p = h->data;
  *b = uv_buf_init(p->err_chunk, sizeof(p->err_chunk));
}

static void err_line_done(mol_proc *p) {
  size_t n = p->err_cur_len;
  while (n && (p->err_cur[n - 1] == '\r' || p->err_cur[n - 1] == ' ' || p->err_cur[n - 1] == '\t'))
    n--;
  if (n) {
    memcpy(p->err_last, p->err_cur, n);
    p->err_last[n] = '\0';
    if (p->o.on_err_line) p->o.on_err_line(p->err_last, p->o.arg);
  }
  p->err_cur_len = 0;
}

static void err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  mol_proc *p = s->data;
  for (ssize_t i = 0; i < n; i++) {
    if (b->base[i] == '\n') err_line_done(p);
    else if (p->err_cur_len < ERR_LINE_MAX) p->err_cur[p->err_cur_len++] = b->base[i];
  }
  if (n >= 0) return;
  err_line_done(p);
  uv_read_stop(s);
  p->err_eof = 1;
  close_if_over(p);
}

/* ---- start --------------------------------------------------------------------------------- */

static void on_stdin_written(uv_write_t *w, int status) {
  (void)status; /* a handler that does not read its input may close it early (EPIPE) */
  mol_proc *p = w->data;
  close_handle(p, (uv_handle_t *)&p->in); /* end of file on the handler's stdin */
}

static void feed_stdin(mol_proc *p) {
  if (!p->input || p->o.input_len == 0) {
    close_handle(p, (uv_handle_t *)&p->in);
    return;
  }
  uv_buf_t b = uv_buf_init(p->input, (unsigned)p->o.input_len);
  p->wr.data = p;
  if (uv_write(&p->wr, (uv_stream_t *)&p->in, &b, 1, on_stdin_written) != 0)
    close_handle(p, (uv_handle_t *)&p->in);
}

static int spawn(uv_loop_t *loop, mol_proc *p, const char *cmd, char **env) {
  char *args[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  uv_stdio_container_t stdio[3] = {
    {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&p->in},
    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out},
    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->err}};
  /* DETACHED = setsid(): a session and process group of its own, whose id is the shell's
   * pid, so one signal reaches everything the handler started. */
  uv_process_options_t po = {.exit_cb = on_exit_cb, .file = args[0], .args = args, .env = env,
                             .stdio_count = 3, .stdio = stdio, .flags = UV_PROCESS_DETACHED};
  return uv_spawn(loop, &p->proc, &po);
}

int mol_proc_start(uv_loop_t *loop, const mol_proc_opts *o, mol_proc **out) {
  if (!loop || !o || !o->cmd || !o->on_done) return MOL_EINVAL;
  uv_once(&sigpipe_once, ignore_sigpipe);
  mol_proc *p = calloc(1, sizeof(*p));
  if (!p) return MOL_ENOMEM;
  p->o = *o;
  p->o.cmd = NULL; /* both only used by the spawn */
  p->o.env = NULL;
  if (!p->o.kill_grace_ms) p->o.kill_grace_ms = 2000;
  if (!p->o.max_output) p->o.max_output = 1024 * 1024;
  if (o->input_len && !(p->input = malloc(o->input_len))) {
    free(p);
    return MOL_ENOMEM;
  }
  if (o->input_len) memcpy(p->input, o->input, o->input_len);
  uv_pipe_init(loop, &p->in, 0);
  uv_pipe_init(loop, &p->out, 0);
  uv_pipe_init(loop, &p->err, 0);
  uv_timer_init(loop, &p->timer);
  p->in.data = p->out.data = p->err.data = p->timer.data = p->proc.data = p;
  mol_holds_init(&p->holds, (uv_handle_t *)&p->timer, proc_finish, p);
  int rc = spawn(loop, p, o->cmd, o->env);
  if (rc) {
    close_all(p); /* frees p later; on_done is for runs that started */
    return rc;
  }
  p->spawned = 1;
  feed_stdin(p);
  uv_read_start((uv_stream_t *)&p->out, out_alloc, out_read);
  uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
  if (o->timeout_ms) uv_timer_start(&p->timer, on_timer, o->timeout_ms, 0);
  if (out) *out = p;
  return 0;
}
