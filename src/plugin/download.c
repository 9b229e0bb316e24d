/* download.c - the streamed GET of a plugin archive. Every body chunk is hashed (SHA-256 of
 * the stream) and written to a pipe whose read end feeds the extractor on a worker thread
 * (which also tees the bytes into the temporary archive file). Nothing is held whole in
 * memory: past HIGH_WATER bytes not yet taken by the reader the request is paused (TCP
 * back-pressure reaches the server), and resumed below LOW_WATER. The pipe's write end is
 * closed only once every queued write has completed, so the reader sees EOF exactly at the end
 * of the body - or earlier, on failure, which it then reports as a truncated archive.
 *
 * Nothing here waits on the thread pool: a worker blocked on the pipe must never be what a
 * pipe write waits for, or a few concurrent installs could deadlock the pool. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/holds.h"
#include "molecule.h"
#include "plugin/plugin.h"

enum { HIGH_WATER = 4 << 20, LOW_WATER = 2 << 20, PIPE_SIZE = 1 << 20, ERR_BODY_MAX = 2048 };

struct mol_plugin_download {
  uv_loop_t *loop;
  mol_plugin_download_opts o;
  char *url;
  mol_http_request *req;
  mol_plugin_sha256 sha;
  uint64_t received, total, max;
  uint64_t outstanding;       /* bytes queued on the pipe, not yet taken by the reader */
  int paused, started, http_done, pipe_open;
  int abort_err;              /* our own reason to stop (size cap, disk, cancel) */
  uv_pipe_t pipe_w;
  uv_timer_t defer;           /* cancels the request from a clean stack; the holds' last handle */
  mol_holds holds;            /* the request's until done; each chunk until written; the pipe
                                 until closed */
  mol_buf err_body;
  mol_plugin_download_result res;
};

typedef struct {
  mol_plugin_download *d;
  uv_write_t wr;
  size_t len;
  char data[];
} chunk;

static void close_pipe_when_done(mol_plugin_download *d);

/* The holds' finish: the request is over, every chunk has left, the pipe is closed. */
static void download_finish(void *arg) {
  mol_plugin_download *d = arg;
  d->o.on_done(&d->res, d->o.arg);
  mol_buf_free(&d->err_body);
  free(d->url);
  free(d);
}

static void on_pipe_closed(uv_handle_t *h) {
  mol_plugin_download *d = h->data;
  mol_holds_drop(&d->holds);
}

static void on_defer(uv_timer_t *t) {
  mol_plugin_download *d = t->data;
  if (!d->http_done && d->req) mol_http_request_cancel(d->req);
}

static void abort_later(mol_plugin_download *d, int err) {
  if (!d->abort_err) d->abort_err = err;
  if (!d->http_done) uv_timer_start(&d->defer, on_defer, 0, 0); /* the request holds d */
}

static void chunk_release(chunk *c, int err) {
  mol_plugin_download *d = c->d;
  if (err && err != UV_ECANCELED) abort_later(d, err);
  d->outstanding -= c->len;
  free(c);
  if (d->paused && d->outstanding < LOW_WATER && !d->http_done) {
    d->paused = 0;
    mol_http_request_resume(d->req);
  }
  close_pipe_when_done(d);
  mol_holds_drop(&d->holds); /* the chunk's */
}

static void on_pipe_written(uv_write_t *w, int status) { chunk_release(w->data, status); }

static int queue_chunk(mol_plugin_download *d, const char *data, size_t len) {
  chunk *c = malloc(sizeof(*c) + len);
  if (!c) return MOL_ENOMEM;
  memcpy(c->data, data, len);
  c->d = d;
  c->len = len;
  c->wr.data = c;
  d->outstanding += len;
  mol_holds_take(&d->holds); /* until chunk_release */
  uv_buf_t b = uv_buf_init(c->data, (unsigned)len);
  int rc = uv_write(&c->wr, (uv_stream_t *)&d->pipe_w, &b, 1, on_pipe_written);
  if (rc) chunk_release(c, rc);
  return 0;
}

static int on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  mol_plugin_download *d = arg;
  (void)r;
  if (!d->started) {  /* an error status: keep the start of the body for the message */
    size_t room = ERR_BODY_MAX - d->err_body.len;
    (void)mol_buf_append(&d->err_body, data, len < room ? len : room);
    return 0;
  }
  if (d->abort_err) return 1;
  d->received += len;
  if (d->received > d->max) {
    abort_later(d, MOL_ETOOBIG);
    return 1;
  }
  mol_plugin__sha256_update(&d->sha, data, len);
  if (queue_chunk(d, data, len)) {
    abort_later(d, MOL_ENOMEM);
    return 1;
  }
  if (d->o.on_progress) d->o.on_progress(d->received, d->total, d->o.arg);
  if (d->outstanding < HIGH_WATER) return 0;
  d->paused = 1;
  return 1;
}

static int open_pipe(mol_plugin_download *d) {
  uv_file fds[2];
  int rc = uv_pipe(fds, 0, 0);
  if (rc) return rc;
  (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);  /* fewer wake-ups; the default works too */
  uv_pipe_init(d->loop, &d->pipe_w, 0);
  d->pipe_w.data = d;
  mol_holds_take(&d->holds); /* until the pipe has closed */
  d->pipe_open = 1;
  rc = uv_pipe_open(&d->pipe_w, fds[1]);
  if (rc) {
    close(fds[0]);
    close(fds[1]);
    return rc;
  }
  d->started = 1;
  return d->o.on_start(fds[0], d->o.arg) ? MOL_ECANCELED : 0;
}

static int on_headers(mol_http_request *r, const mol_http_response *resp, void *arg) {
  mol_plugin_download *d = arg;
  (void)r;
  d->res.status = resp->status;
  if (resp->status < 200 || resp->status > 299) return 0;
  const char *cl = mol_http_headers_get(resp->headers, "Content-Length");
  if (cl) d->total = strtoull(cl, NULL, 10);
  if (d->total > d->max) {
    d->abort_err = MOL_ETOOBIG;
    return 1;
  }
  const char *h = mol_http_headers_get(resp->headers, "X-Plugin-Sha256");
  if (h && mol_plugin_digest_parse(h, d->res.header_sha256) != 0) {
    d->abort_err = MOL_EPROTO;
    snprintf(d->res.msg, sizeof(d->res.msg), "GET %s: malformed X-Plugin-Sha256 header", d->url);
    return 1;
  }
  int rc = open_pipe(d);
  if (rc && !d->abort_err) d->abort_err = rc;
  return rc != 0;
}

static void describe(mol_plugin_download *d, int err) {
  mol_plugin_download_result *res = &d->res;
  if (res->msg[0]) return;
  if (err == MOL_EHTTP)
    snprintf(res->msg, sizeof(res->msg), "GET %s: HTTP %d%s%.300s", d->url, res->status,
             d->err_body.len ? ": " : "", d->err_body.len ? d->err_body.data : "");
  else if (err == MOL_ETOOBIG)
    snprintf(res->msg, sizeof(res->msg), "GET %s: archive larger than the %llu-byte cap", d->url,
             (unsigned long long)d->max);
  else if (err)
    snprintf(res->msg, sizeof(res->msg), "GET %s: download failed after %llu bytes: %s", d->url,
             (unsigned long long)d->received, mol_strerror(err));
}

static void on_http_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  mol_plugin_download *d = arg;
  (void)r;
  (void)resp;
  d->http_done = 1;
  d->req = NULL;
  if (d->abort_err) err = d->abort_err;
  else if (!err && (d->res.status < 200 || d->res.status > 299)) err = MOL_EHTTP;
  else if (!err && d->total && d->received != d->total) err = MOL_EBADRESP;
  d->res.err = err;
  describe(d, err);
  uint8_t digest[MOL_SHA256_LEN];
  mol_plugin__sha256_final(&d->sha, digest);
  mol_hex(digest, MOL_SHA256_LEN, d->res.archive_sha256);
  d->res.bytes = d->received;
  close_pipe_when_done(d);
  mol_holds_drop(&d->holds); /* the request's */
}

/* The pipe closes once the HTTP request is over and every chunk has reached it; on failure at
 * once - pending writes are cancelled - so the reader stops early. The download ends when
 * nothing holds it any more. */
static void close_pipe_when_done(mol_plugin_download *d) {
  if (!d->http_done) return;
  if (d->abort_err && !d->res.err) d->res.err = d->abort_err;
  if (!d->pipe_open || (!d->res.err && d->outstanding)) return;
  d->pipe_open = 0;
  uv_close((uv_handle_t *)&d->pipe_w, on_pipe_closed);
}

static char *header_copy_url(const char *url) { return strdup(url); }

int mol_plugin__download_start(uv_loop_t *loop, mol_http_client *http,
                              const mol_plugin_download_opts *o, mol_plugin_download **out) {
  mol_plugin_download *d = calloc(1, sizeof(*d));
  if (!d || !(d->url = header_copy_url(o->url))) {
    free(d);
    return MOL_ENOMEM;
  }
  d->loop = loop;
  d->o = *o;
  d->max = o->max_bytes ? o->max_bytes : (512ull << 20);
  mol_plugin__sha256_init(&d->sha);
  mol_http_request_opts ro = {.url = d->url, .headers = o->headers, .nheaders = o->nheaders,
                              .idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : 60000,
                              .on_headers = on_headers, .on_body = on_body};
  int rc = mol_http_request_send(http, &ro, on_http_done, d, &d->req);
  if (rc) {
    free(d->url);
    free(d);
    return rc;
  }
  uv_timer_init(loop, &d->defer);
  d->defer.data = d;
  mol_holds_init(&d->holds, (uv_handle_t *)&d->defer, download_finish, d); /* the request's */
  if (out) *out = d;
  return 0;
}

void mol_plugin__download_cancel(mol_plugin_download *d) {
  if (d && !d->http_done) abort_later(d, MOL_ECANCELED);
}
