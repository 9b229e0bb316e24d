/* http_fake_server.h - a scripted raw HTTP/1.1 peer on loopback for the client tests.
 *
 * Deliberately not our HTTP server: it must misbehave on demand (stay silent, reset mid-body,
 * close a kept-alive connection, trickle bytes) in ways a correct server never would. Every
 * complete request (head + Content-Length body) is passed to the test's handler. Header-only
 * so each client test file can include it; everything is static inline.
 */
#ifndef TEST_HTTP_FAKE_SERVER_H
#define TEST_HTTP_FAKE_SERVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/buf.h"

enum { FS_MAX_CONNS = 256 };

typedef struct fake_server fake_server;
typedef struct fake_conn fake_conn;
typedef void (*fake_handler)(fake_conn *fc, const char *req, size_t len);

struct fake_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;       /* for trickling / streaming handlers */
  fake_server *fs;
  mol_buf in;
  int id;                 /* order of acceptance, from 0 */
  int served;             /* requests received on this connection */
  size_t remaining;       /* handler state: bytes still to send */
  int closing;
  int timer_on;
};

struct fake_server {
  uv_tcp_t tcp;
  uv_loop_t *loop;
  int port;
  fake_handler handler;
  const char *canned;     /* response for fs_canned */
  int close_after;        /* fs_canned: close the connection after the response */
  int nconns, nrequests, live;
  fake_conn *conns[FS_MAX_CONNS];
  char last_req[4096];
  size_t max_write_queue; /* largest backlog seen by the streaming handler */
  void *user;
};

typedef struct {
  uv_write_t req;
  fake_conn *fc;
  int after; /* FS_AFTER_* */
  char data[];
} fs_write_req;

enum { FS_AFTER_NONE, FS_AFTER_CLOSE, FS_AFTER_RESET };

static inline void fs_conn_closed(uv_handle_t *h) {
  fake_conn *fc = h->data;
  if (--fc->closing > 0) return;
  fc->fs->conns[fc->id] = NULL;
  fc->fs->live--;
  mol_buf_free(&fc->in);
  free(fc);
}

static inline void fs_close(fake_conn *fc, int reset) {
  if (fc->closing) return;
  fc->closing = 2;
  uv_close((uv_handle_t *)&fc->timer, fs_conn_closed);
  if (reset) uv_tcp_close_reset(&fc->tcp, fs_conn_closed);
  else uv_close((uv_handle_t *)&fc->tcp, fs_conn_closed);
}

static inline void fs_written(uv_write_t *req, int status) {
  fs_write_req *w = (fs_write_req *)req;
  (void)status;
  if (w->after && !w->fc->closing) fs_close(w->fc, w->after == FS_AFTER_RESET);
  free(w);
}

static inline void fs_write_then(fake_conn *fc, const void *data, size_t len, int after) {
  if (fc->closing) return;
  fs_write_req *w = malloc(sizeof(*w) + len);
  w->fc = fc;
  w->after = after;
  memcpy(w->data, data, len);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&fc->tcp, &b, 1, fs_written)) free(w);
}

static inline void fs_write(fake_conn *fc, const char *s) { fs_write_then(fc, s, strlen(s), 0); }

/* The size of a complete request at the start of buf, or 0 if more bytes are needed. */
static inline size_t fs_request_size(const char *buf, size_t len) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - buf) + 4, body = 0;
  const char *cl = memmem(buf, head, "Content-Length:", 15);
  if (cl) body = strtoul(cl + 15, NULL, 10);
  return len >= head + body ? head + body : 0;
}

static inline void fs_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  b->base = malloc(hint);
  b->len = hint;
}

static inline void fs_read(uv_stream_t *t, ssize_t n, const uv_buf_t *b) {
  fake_conn *fc = t->data;
  if (n < 0) fs_close(fc, 0);
  if (n > 0 && !fc->closing) mol_buf_append(&fc->in, b->base, (size_t)n);
  free(b->base);
  size_t sz;
  while (!fc->closing && fc->in.len && (sz = fs_request_size(fc->in.data, fc->in.len))) {
    fake_server *fs = fc->fs;
    size_t keep = sz < sizeof(fs->last_req) - 1 ? sz : sizeof(fs->last_req) - 1;
    memcpy(fs->last_req, fc->in.data, keep);
    fs->last_req[keep] = '\0';
    fs->nrequests++;
    fc->served++;
    fs->handler(fc, fc->in.data, sz);
    mol_buf_consume(&fc->in, sz);
  }
}

static inline void fs_accept(uv_stream_t *server, int status) {
  fake_server *fs = server->data;
  if (status || fs->nconns >= FS_MAX_CONNS) return;
  fake_conn *fc = calloc(1, sizeof(*fc));
  fc->fs = fs;
  fc->id = fs->nconns++;
  uv_tcp_init(fs->loop, &fc->tcp);
  uv_timer_init(fs->loop, &fc->timer);
  fc->tcp.data = fc->timer.data = fc;
  fs->conns[fc->id] = fc;
  fs->live++;
  uv_accept(server, (uv_stream_t *)&fc->tcp);
  uv_read_start((uv_stream_t *)&fc->tcp, fs_alloc, fs_read);
}

static inline int fs_start(fake_server *fs, uv_loop_t *loop, fake_handler h, const char *ip) {
  memset(fs, 0, sizeof(*fs));
  fs->loop = loop;
  fs->handler = h;
  uv_tcp_init(loop, &fs->tcp);
  fs->tcp.data = fs;
  struct sockaddr_storage ss;
  int rc = strchr(ip, ':') ? uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss)
                           : uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss);
  if (!rc) rc = uv_tcp_bind(&fs->tcp, (struct sockaddr *)&ss, 0);
  if (!rc) rc = uv_listen((uv_stream_t *)&fs->tcp, 1024, fs_accept);
  int len = sizeof(ss);
  if (!rc) rc = uv_tcp_getsockname(&fs->tcp, (struct sockaddr *)&ss, &len);
  if (!rc) fs->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return rc;
}

static inline void fs_stop(fake_server *fs) {
  for (int i = 0; i < fs->nconns; i++)
    if (fs->conns[i]) fs_close(fs->conns[i], 0);
  if (!uv_is_closing((uv_handle_t *)&fs->tcp)) uv_close((uv_handle_t *)&fs->tcp, NULL);
}

/* Handlers shared by the test files. */
static inline void fs_canned(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  const char *r = fc->fs->canned;
  fs_write_then(fc, r, strlen(r), fc->fs->close_after ? FS_AFTER_CLOSE : FS_AFTER_NONE);
}

static inline void fs_silent(fake_conn *fc, const char *req, size_t len) {
  (void)fc;
  (void)req;
  (void)len;
}

#endif
