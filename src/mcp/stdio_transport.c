/* stdio_transport.c - MCP over stdio (see stdio.h): lines in, the session in the middle, lines out.
 *
 * Input and output are each a libuv stream (pipe, socket, terminal) or, for regular files,
 * a chain of uv_fs requests. The binding lives while anything holds it: its run (until the
 * session has closed and the output has drained), each open handle, each write in flight;
 * on_end fires from the close of its last handle. */
#include "mcp/stdio_transport.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/holds.h"
#include "base/log.h"
#include "molecule.h"

#define SCOPE "mcp"
#define DEFAULT_MAX_LINE (4u << 20)
#define DEFAULT_MAX_OUT (16u << 20)
#define FILE_CHUNK 65536

typedef struct out_msg {
  struct out_msg *next;
  uv_write_t w;
  uv_fs_t fs;
  struct mol_mcp_stdio *io;
  size_t len;
  char data[];
} out_msg;

typedef union {
  uv_handle_t h;
  uv_stream_t s;
  uv_pipe_t pipe;
  uv_tty_t tty;
} stream_handle;

struct mol_mcp_stdio {
  uv_loop_t *loop;
  mol_mcp_session *session;
  mol_mcp_stdio_end_cb on_end;
  void *arg;
  mol_holds holds;
  uv_timer_t last;
  /* input */
  int in_fd, in_is_file, in_open, reading, in_ended, discarding;
  stream_handle in;
  uv_fs_t in_fs;
  int in_fs_busy;
  char *file_buf;
  mol_buf line;
  size_t max_line;
  /* output */
  int out_fd, out_is_file, out_open;
  stream_handle out;
  out_msg *file_head, *file_tail; /* regular file: written one at a time, in order */
  size_t out_bytes, max_out;
  int err, stopping, session_closed, finished;
};

static void maybe_finish(mol_mcp_stdio *io);
static void read_more(mol_mcp_stdio *io);

/* ---- the end -------------------------------------------------------------------------------- */

static void io_free(void *data) {
  mol_mcp_stdio *io = data;
  mol_mcp_stdio_end_cb cb = io->on_end;
  void *arg = io->arg;
  int err = io->err;
  mol_buf_free(&io->line);
  free(io->file_buf);
  free(io);
  if (cb) cb(err, arg);
}

static void on_handle_closed(uv_handle_t *h) {
  mol_mcp_stdio *io = h->data;
  mol_holds_drop(&io->holds);
}

static void close_stream(mol_mcp_stdio *io, stream_handle *sh, int *open) {
  if (!*open) return;
  *open = 0;
  sh->h.data = io;
  uv_close(&sh->h, on_handle_closed);
}

static void stop_input(mol_mcp_stdio *io) {
  io->in_ended = 1;
  if (io->reading && !io->in_is_file) uv_read_stop(&io->in.s);
  io->reading = 0;
  if (!io->in_is_file) close_stream(io, &io->in, &io->in_open);
}

/* Done once the session has closed (every answer given) and the output has drained. */
static void maybe_finish(mol_mcp_stdio *io) {
  if (io->finished || !io->session_closed || io->out_bytes > 0 || io->in_fs_busy) return;
  io->finished = 1;
  stop_input(io);
  if (!io->out_is_file) close_stream(io, &io->out, &io->out_open);
  mol_holds_drop(&io->holds); /* the run's */
}

static void on_session_closed(void *arg) {
  mol_mcp_stdio *io = arg;
  io->session = NULL;
  io->session_closed = 1;
  maybe_finish(io);
}

static void close_session(mol_mcp_stdio *io, int cancel) {
  if (io->session && !io->stopping) {
    io->stopping = 1;
    mol_mcp_session_close(io->session, cancel, on_session_closed, io);
  }
}

static void fail(mol_mcp_stdio *io, int err) {
  if (!io->err) io->err = err;
  stop_input(io);
  close_session(io, 1);
}

/* ---- output ------------------------------------------------------------------------------- */

static void written(mol_mcp_stdio *io, out_msg *m, int status) {
  io->out_bytes -= m->len;
  free(m);
  if (status < 0 && !io->err) {
    mol_logw(SCOPE, "stdout: %s; the client is gone", uv_strerror(status));
    fail(io, status);
  }
  if (!io->in_ended && !io->reading && io->out_bytes <= io->max_out / 2) read_more(io);
  maybe_finish(io);
  mol_holds_drop(&io->holds);
}

static void on_stream_written(uv_write_t *w, int status) {
  out_msg *m = w->data;
  written(m->io, m, status);
}

static void file_write_next(mol_mcp_stdio *io);

static void on_file_written(uv_fs_t *fs) {
  out_msg *m = fs->data;
  mol_mcp_stdio *io = m->io;
  ssize_t n = fs->result;
  uv_fs_req_cleanup(fs);
  io->file_head = m->next;
  if (!io->file_head) io->file_tail = NULL;
  int status = n < 0 ? (int)n : (size_t)n < m->len ? UV_EIO : 0;
  if (io->file_head) file_write_next(io);
  written(io, m, status);
}

static void file_write_next(mol_mcp_stdio *io) {
  out_msg *m = io->file_head;
  uv_buf_t b = uv_buf_init(m->data, (unsigned)m->len);
  m->fs.data = m;
  int rc = uv_fs_write(io->loop, &m->fs, io->out_fd, &b, 1, -1, on_file_written);
  if (rc < 0) { /* never started: complete it as failed, on this path */
    m->fs.result = rc;
    on_file_written(&m->fs);
  }
}

static void write_line(mol_mcp_stdio *io, const char *json, size_t len) {
  if (io->err) return; /* the client is gone: nothing can reach it */
  out_msg *m = malloc(sizeof *m + len + 1);
  if (!m) {
    mol_loge(SCOPE, "out of memory: an answer was not written");
    fail(io, MOL_ENOMEM);
    return;
  }
  memset(m, 0, sizeof *m);
  m->io = io;
  m->len = len + 1;
  memcpy(m->data, json, len);
  m->data[len] = '\n';
  io->out_bytes += m->len;
  mol_holds_take(&io->holds);
  if (io->out_is_file) {
    int idle = io->file_head == NULL;
    if (io->file_tail) io->file_tail->next = m;
    else io->file_head = m;
    io->file_tail = m;
    if (idle) file_write_next(io);
  } else {
    uv_buf_t b = uv_buf_init(m->data, (unsigned)m->len);
    m->w.data = m;
    int rc = uv_write(&m->w, &io->out.s, &b, 1, on_stream_written);
    if (rc < 0) {
      io->out_bytes -= m->len;
      free(m);
      mol_holds_drop(&io->holds);
      fail(io, rc);
      return;
    }
  }
  /* A client that does not read: stop reading its requests until it catches up. */
  if (io->out_bytes > io->max_out && io->reading && !io->in_is_file) {
    uv_read_stop(&io->in.s);
    io->reading = 0;
  }
}

static void on_answer(void *ctx, const char *json, size_t len, void *arg) {
  (void)ctx;
  if (json) write_line(arg, json, len);
}

/* ---- input -------------------------------------------------------------------------------- */

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
  return 1;
}

static void too_long(mol_mcp_stdio *io) {
  char msg[160];
  int n = snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                   "\"message\":\"Invalid Request: message longer than %zu bytes\"}}",
                   io->max_line);
  mol_logw(SCOPE, "stdin: a message longer than %zu bytes was skipped", io->max_line);
  write_line(io, msg, (size_t)n);
}

static void feed_line(mol_mcp_stdio *io, const char *s, size_t n) {
  if (n && s[n - 1] == '\r') n--;
  if (blank(s, n) || !io->session || io->stopping) return;
  int rc = mol_mcp_session_feed(io->session, s, n, NULL, NULL);
  if (rc < 0) mol_loge(SCOPE, "a message was not handled: %s", mol_strerror(rc));
}

static void take_bytes(mol_mcp_stdio *io, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t part = nl ? (size_t)(nl - p) : n;
    if (io->discarding) {
      if (nl) io->discarding = 0;
    } else if (io->line.len + part > io->max_line) {
      too_long(io);
      mol_buf_reset(&io->line);
      io->discarding = !nl;
    } else if (nl && io->line.len == 0) {
      feed_line(io, p, part); /* the whole line is in this chunk: no copy */
    } else {
      if (mol_buf_append(&io->line, p, part) < 0) {
        fail(io, MOL_ENOMEM);
        return;
      }
      if (nl) {
        feed_line(io, io->line.data, io->line.len);
        mol_buf_reset(&io->line);
      }
    }
    if (!nl) return;
    p = nl + 1;
    n -= part + 1;
  }
}

static void input_ended(mol_mcp_stdio *io, int err) {
  if (err && err != UV_EOF) {
    mol_logw(SCOPE, "stdin: %s", uv_strerror(err));
    fail(io, err);
    return;
  }
  if (io->line.len && !io->discarding) feed_line(io, io->line.data, io->line.len);
  mol_buf_reset(&io->line);
  stop_input(io);
  close_session(io, 0); /* drain: what runs ends and is answered */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  mol_mcp_stdio *io = s->data;
  if (n > 0) take_bytes(io, buf->base, (size_t)n);
  free(buf->base);
  if (n < 0 && !io->in_ended) input_ended(io, (int)n);
}

static void on_file_read(uv_fs_t *fs) {
  mol_mcp_stdio *io = fs->data;
  ssize_t n = fs->result;
  uv_fs_req_cleanup(fs);
  io->in_fs_busy = 0;
  io->reading = 0;
  if (n > 0 && !io->in_ended) {
    take_bytes(io, io->file_buf, (size_t)n);
    if (!io->in_ended && io->out_bytes <= io->max_out) read_more(io);
  } else if (!io->in_ended) {
    input_ended(io, n < 0 ? (int)n : UV_EOF);
  }
  maybe_finish(io);
}

static void read_more(mol_mcp_stdio *io) {
  if (io->in_ended || io->reading) return;
  io->reading = 1;
  if (!io->in_is_file) {
    int rc = uv_read_start(&io->in.s, on_alloc, on_read);
    if (rc < 0) {
      io->reading = 0;
      input_ended(io, rc);
    }
    return;
  }
  uv_buf_t b = uv_buf_init(io->file_buf, FILE_CHUNK);
  io->in_fs.data = io;
  io->in_fs_busy = 1;
  int rc = uv_fs_read(io->loop, &io->in_fs, io->in_fd, &b, 1, -1, on_file_read);
  if (rc < 0) {
    io->in_fs_busy = 0;
    io->reading = 0;
    input_ended(io, rc);
  }
}

/* ---- start and stop ----------------------------------------------------------------------- */

/* A pipe, socket or terminal becomes a stream; a regular file (or device) stays a descriptor
 * for uv_fs. */
static int open_fd(mol_mcp_stdio *io, int fd, int readable, stream_handle *sh, int *is_file,
                   int *open) {
  uv_handle_type t = uv_guess_handle(fd);
  int rc;
  if (t == UV_FILE) {
    *is_file = 1;
    return 0;
  }
  if (t == UV_TTY) rc = uv_tty_init(io->loop, &sh->tty, fd, readable);
  else if (t == UV_NAMED_PIPE || t == UV_TCP) rc = uv_pipe_init(io->loop, &sh->pipe, 0);
  else return MOL_EINVAL;
  if (rc < 0) return rc;
  *open = 1; /* the handle exists from here: maybe_finish closes it */
  mol_holds_take(&io->holds);
  sh->h.data = io;
  return t == UV_TTY ? 0 : uv_pipe_open(&sh->pipe, fd);
}

/* A write to a client that closed its end raises SIGPIPE, whose default action ends the process
 * before the write can report EPIPE; ignore it unless someone chose a disposition. */
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

int mol_mcp_stdio_start(uv_loop_t *loop, const mol_mcp_stdio_opts *o, mol_mcp_stdio_end_cb on_end,
                        void *arg, mol_mcp_stdio **out) {
  if (!loop || !o || !o->session.tools || !on_end) return MOL_EINVAL;
  ignore_sigpipe();
  mol_mcp_stdio *io = calloc(1, sizeof *io);
  if (!io) return MOL_ENOMEM;
  io->loop = loop;
  io->on_end = on_end;
  io->arg = arg;
  io->in_fd = o->in_fd;
  io->out_fd = o->out_fd;
  io->max_line = o->max_line ? o->max_line : DEFAULT_MAX_LINE;
  io->max_out = o->max_out_queue ? o->max_out_queue : DEFAULT_MAX_OUT;
  uv_timer_init(loop, &io->last);
  mol_holds_init(&io->holds, (uv_handle_t *)&io->last, io_free, io);
  int rc = open_fd(io, io->in_fd, 1, &io->in, &io->in_is_file, &io->in_open);
  if (!rc) rc = open_fd(io, io->out_fd, 0, &io->out, &io->out_is_file, &io->out_open);
  if (!rc && io->in_is_file && !(io->file_buf = malloc(FILE_CHUNK))) rc = MOL_ENOMEM;
  if (!rc) rc = mol_mcp_session_new(&o->session, on_answer, io, &io->session);
  if (rc < 0) {
    /* Nothing was read or written: what opened closes in the background, and on_end is only
     * for a binding that started. */
    io->on_end = NULL;
    io->session_closed = 1;
    maybe_finish(io);
    return rc;
  }
  read_more(io);
  if (out) *out = io;
  return 0;
}

void mol_mcp_stdio_stop(mol_mcp_stdio *io) {
  if (!io || io->stopping) return;
  stop_input(io);
  close_session(io, 1);
}
