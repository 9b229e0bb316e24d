/* stream.c - mol_stream over plain TCP; the TLS path lives in tls.c and is entered through
 * the mol_tls_conn hooks below. */
#include "http/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"

typedef struct {
  uv_write_t req;
  mol_stream *s;
  mol_stream_write_cb cb;
  void *arg;
  size_t len;
  char *owned; /* freed on completion */
} stream_write;

/* Reads are consumed synchronously inside on_read, so one buffer per thread serves every
 * stream on the loop instead of one buffer per connection. */
static __thread char read_buf[64 * 1024];

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  buf->base = read_buf;
  buf->len = sizeof(read_buf);
}

static void deliver_terminal(mol_stream *s, ssize_t code) {
  if (s->read_done) return;
  s->read_done = 1;
  if (s->on_read) s->on_read(s, code, NULL);
}

static void on_tcp_read(uv_stream_t *t, ssize_t nread, const uv_buf_t *buf) {
  mol_stream *s = t->data;
  if (nread == 0) return;
  if (nread < 0) {
    uv_read_stop(t);
    deliver_terminal(s, nread);
    return;
  }
  if (s->read_done || !s->on_read) return;
  s->on_read(s, nread, buf->base);
}

static void on_closed(uv_handle_t *h) {
  mol_stream *s = h->data;
  if (s->on_close) s->on_close(s);
}

int mol_stream_accept(uv_loop_t *loop, uv_stream_t *server, mol_stream *s,
                      mol_tls_config *tls, mol_stream_close_cb on_close) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->on_close = on_close;
  int rc = uv_tcp_init(loop, &s->tcp);
  if (rc) return rc;
  s->tcp.data = s;
  rc = uv_accept(server, (uv_stream_t *)&s->tcp);
  if (rc == 0 && tls) rc = MOL_ENOTSUP;
  if (rc) {
    s->closing = 1;
    uv_close((uv_handle_t *)&s->tcp, on_closed);
    return rc;
  }
  uv_tcp_nodelay(&s->tcp, 1);
  s->connected = 1;
  return 0;
}

static void on_tcp_connect(uv_connect_t *req, int status) {
  mol_stream *s = req->data;
  if (status == 0) {
    uv_tcp_nodelay(&s->tcp, 1);
    s->connected = 1;
  }
  if (status == UV_ECANCELED && s->closing) status = MOL_ECANCELED;
  s->on_connect(s, status);
}

int mol_stream_connect(uv_loop_t *loop, mol_stream *s, const struct sockaddr *addr,
                       mol_tls_config *tls, const char *hostname,
                       mol_stream_connect_cb on_connect) {
  (void)hostname;
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->on_connect = on_connect;
  int rc = uv_tcp_init(loop, &s->tcp);
  if (rc) return rc;
  s->tcp.data = s;
  s->connect_req.data = s;
  if (tls) return MOL_ENOTSUP;
  /* On a synchronous failure the handle stays open: the owner closes it like any other. */
  return uv_tcp_connect(&s->connect_req, &s->tcp, addr, on_tcp_connect);
}

int mol_stream_read_start(mol_stream *s, mol_stream_read_cb on_read) {
  if (s->closing || s->read_done) return MOL_ESHUTDOWN;
  s->on_read = on_read;
  if (s->reading) return 0;
  s->reading = 1;
  return uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_tcp_read);
}

void mol_stream_read_stop(mol_stream *s) {
  if (!s->reading) return;
  s->reading = 0;
  if (!s->closing) uv_read_stop((uv_stream_t *)&s->tcp);
}

static void on_write_done(uv_write_t *req, int status) {
  stream_write *w = (stream_write *)req;
  mol_stream *s = w->s;
  s->queued -= w->len;
  if (w->cb) w->cb(s, status, w->arg);
  free(w->owned);
  free(w);
  if (s->queued == 0 && s->on_drain && !s->closing) s->on_drain(s);
}

static int write_raw(mol_stream *s, char *owned, const char *data, size_t len,
                     mol_stream_write_cb cb, void *arg) {
  if (s->closing || !s->connected) {
    free(owned);
    return MOL_EPIPE;
  }
  stream_write *w = malloc(sizeof(*w) + (owned ? 0 : len));
  if (!w) {
    free(owned);
    return MOL_ENOMEM;
  }
  w->s = s;
  w->cb = cb;
  w->arg = arg;
  w->len = len;
  w->owned = owned;
  uv_buf_t buf;
  if (owned) {
    buf = uv_buf_init(owned, (unsigned)len);
  } else {
    memcpy(w + 1, data, len);
    buf = uv_buf_init((char *)(w + 1), (unsigned)len);
  }
  int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, on_write_done);
  if (rc) {
    free(w->owned);
    free(w);
    return rc;
  }
  s->queued += len;
  return 0;
}

int mol_stream_write(mol_stream *s, const void *data, size_t len, mol_stream_write_cb cb,
                     void *arg) {
  return write_raw(s, NULL, data, len, cb, arg);
}

int mol_stream_write_owned(mol_stream *s, char *data, size_t len, mol_stream_write_cb cb,
                           void *arg) {
  return write_raw(s, data, data, len, cb, arg);
}

size_t mol_stream_queued(const mol_stream *s) { return s->queued; }

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

int mol_stream_shutdown(mol_stream *s) {
  if (s->closing || !s->connected) return MOL_EPIPE;
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (!req) return MOL_ENOMEM;
  int rc = uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown);
  if (rc) free(req);
  return rc;
}

void mol_stream_close(mol_stream *s, int abort) {
  if (s->closing) return;
  s->closing = 1;
  if (abort && s->connected) {
    uv_tcp_close_reset(&s->tcp, on_closed);
  } else {
    uv_close((uv_handle_t *)&s->tcp, on_closed);
  }
}

int mol_stream_peer_name(mol_stream *s, char *out, size_t outlen) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  int rc = uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len);
  if (rc) return rc;
  char ip[64];
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, ip, sizeof(ip));
    snprintf(out, outlen, "[%s]:%u", ip, ntohs(a->sin6_port));
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, sizeof(ip));
    snprintf(out, outlen, "%s:%u", ip, ntohs(a->sin_port));
  }
  return 0;
}
