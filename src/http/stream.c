/* stream.c - mol_stream over TCP, in plain text or through a TLS session (tls_conn.h).
 *
 * With TLS the socket carries ciphertext: what is read is fed to the session and the plaintext
 * it yields goes to on_read; a write is encrypted at once and its records are written with the
 * owner's completion attached, so write callbacks, mol_stream_queued and on_drain count
 * plaintext exactly as for plain TCP. Handshake records and alerts go out as internal writes
 * the owner never sees. */
#include "http/stream.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/tls_conn.h"
#include "molecule.h"

typedef struct {
  uv_write_t req;
  mol_stream *s;
  mol_stream_write_cb cb;
  void *arg;
  size_t len;   /* plaintext bytes counted in s->queued */
  char *owned;  /* freed on completion */
  int internal; /* TLS handshake records or alerts: no callback, no drain */
} stream_write;

/* A write accepted on a TLS server stream before its handshake finished; it is encrypted
 * once the session keys exist. */
struct mol_stream_early {
  struct mol_stream_early *next;
  mol_stream_write_cb cb;
  void *arg;
  size_t len;
  char *data;
  char *owned;
};

/* Reads are consumed synchronously inside on_read, so one buffer per thread serves every
 * stream on the loop instead of one buffer per connection. The same holds for decrypted
 * records, at most one record (16 KiB) at a time, kept after the read buffer. Allocated on the
 * thread's first read and freed when it exits: as __thread arrays, the C library zeroed these
 * 80 KiB for every thread as it started, the main thread's before main, which cost every
 * `molecule` command 20 page faults (docs/benchmarks.md, "Start-up"). */
enum { READ_BUF_LEN = 64 * 1024, PLAIN_BUF_LEN = 16 * 1024 };
static __thread char *thread_bufs;
static pthread_key_t bufs_key;
static int bufs_key_err;

static void make_bufs_key(void) { bufs_key_err = pthread_key_create(&bufs_key, free); }

static char *bufs(void) { /* NULL without memory (or a key): reads then end in an error */
  if (!thread_bufs) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_bufs_key);
    char *b = bufs_key_err ? NULL : malloc(READ_BUF_LEN + PLAIN_BUF_LEN);
    if (b && pthread_setspecific(bufs_key, b) != 0) { /* the key frees it at thread exit */
      free(b);
      b = NULL;
    }
    thread_bufs = b;
  }
  return thread_bufs;
}

static void tls_on_tcp_read(mol_stream *s, ssize_t nread, const char *data);
static int tls_write(mol_stream *s, char *owned, const char *data, size_t len,
                     mol_stream_write_cb cb, void *arg);
static int tls_read_start(mol_stream *s);
static int tls_sync_reading(mol_stream *s);
static void tls_handshake_step(mol_stream *s);
static int tls_shutdown(mol_stream *s);
static void tls_goodbye(mol_stream *s);
static void early_fail(mol_stream *s, int status);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  buf->base = bufs();
  buf->len = buf->base ? READ_BUF_LEN : 0; /* 0: libuv reads UV_ENOBUFS, the stream's end */
}

/* Once the owner has closed, it hears nothing more from the read side. */
static void deliver_terminal(mol_stream *s, ssize_t code) {
  if (s->read_done) return;
  s->read_done = 1;
  if (s->on_read && !s->closing) s->on_read(s, code, NULL);
}

static void on_tcp_read(uv_stream_t *t, ssize_t nread, const uv_buf_t *buf) {
  mol_stream *s = t->data;
  if (nread == 0) return;
  if (s->tls) {
    tls_on_tcp_read(s, nread, buf->base);
    return;
  }
  if (nread < 0) {
    uv_read_stop(t);
    deliver_terminal(s, nread);
    return;
  }
  if (s->read_done || !s->on_read) return;
  s->on_read(s, nread, buf->base);
}

/* ---- lifetime ------------------------------------------------------------------------- */

static void finish_close(mol_stream *s) {
  if (s->tls) {
    early_fail(s, MOL_ECANCELED);
    mol_http__tls_conn_free(s->tls);
    s->tls = NULL;
  }
  /* Closed between TCP connect and the end of the TLS handshake: no uv request is left to
   * cancel, so the promised on_connect is delivered here. */
  if (s->connect_pending) {
    s->connect_pending = 0;
    s->on_connect(s, MOL_ECANCELED);
  }
  if (s->on_close) s->on_close(s);
}

static void on_idle_closed(uv_handle_t *h) { finish_close(h->data); }

static void on_tcp_closed(uv_handle_t *h) {
  mol_stream *s = h->data;
  if (s->tls) {
    uv_close((uv_handle_t *)&s->tls_resume, on_idle_closed);
  } else {
    finish_close(s);
  }
}

static int tls_attach(mol_stream *s, mol_tls_config *cfg, int server, const char *hostname) {
  int rc = mol_http__tls_conn_new(cfg, server, hostname, &s->tls);
  if (rc) return rc;
  uv_idle_init(s->loop, &s->tls_resume);
  s->tls_resume.data = s;
  return 0;
}

/* A write to a peer that has gone away raises SIGPIPE, whose default action ends the process.
 * Sockets report EPIPE anyway, so the first stream ignores the signal, but only when nobody
 * has installed a handler of their own (the approach curl takes). */
static uv_once_t sigpipe_once = UV_ONCE_INIT;

static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

int mol_stream_accept(uv_loop_t *loop, uv_stream_t *server, mol_stream *s,
                      mol_tls_config *tls, mol_stream_close_cb on_close) {
  uv_once(&sigpipe_once, ignore_sigpipe);
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->on_close = on_close;
  int rc = uv_tcp_init(loop, &s->tcp);
  if (rc) return rc;
  s->tcp.data = s;
  rc = uv_accept(server, (uv_stream_t *)&s->tcp);
  if (rc == 0 && tls) rc = tls_attach(s, tls, 1, NULL);
  if (rc) {
    s->closing = 1;
    uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
    return rc;
  }
  uv_tcp_nodelay(&s->tcp, 1);
  s->connected = 1; /* writes before a TLS handshake ends wait in tls_early */
  return 0;
}

static void on_tcp_connect(uv_connect_t *req, int status) {
  mol_stream *s = req->data;
  if (status == UV_ECANCELED && s->closing) status = MOL_ECANCELED;
  if (status == 0) uv_tcp_nodelay(&s->tcp, 1);
  if (status == 0 && s->tls) {
    /* on_connect waits for the handshake, which needs the socket read. */
    status = tls_sync_reading(s);
    if (status == 0) {
      tls_handshake_step(s);
      return;
    }
  }
  if (status == 0) s->connected = 1;
  s->connect_pending = 0;
  s->on_connect(s, status);
}

int mol_stream_connect(uv_loop_t *loop, mol_stream *s, const struct sockaddr *addr,
                       mol_tls_config *tls, const char *hostname,
                       mol_stream_connect_cb on_connect) {
  uv_once(&sigpipe_once, ignore_sigpipe);
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->on_connect = on_connect;
  int rc = uv_tcp_init(loop, &s->tcp);
  if (rc) return rc;
  s->tcp.data = s;
  s->connect_req.data = s;
  if (tls && (rc = tls_attach(s, tls, 0, hostname)) != 0) return rc;
  /* On a synchronous failure the handle stays open: the owner closes it like any other. */
  rc = uv_tcp_connect(&s->connect_req, &s->tcp, addr, on_tcp_connect);
  if (rc == 0) s->connect_pending = 1;
  return rc;
}

static void on_tls_resume(uv_idle_t *h);

int mol_stream_start_tls(mol_stream *s, mol_tls_config *tls, const char *hostname,
                         mol_stream_connect_cb on_connect) {
  if (!tls || s->tls || s->closing || s->read_done || !s->connected) return MOL_EINVAL;
  mol_stream_read_stop(s);
  int rc = tls_attach(s, tls, 0, hostname);
  if (rc) return rc;
  s->connected = 0; /* writes wait for the handshake, as after mol_stream_connect */
  s->on_connect = on_connect;
  s->connect_pending = 1;
  rc = tls_sync_reading(s);
  if (rc) {
    s->connect_pending = 0;
    return rc;
  }
  /* The first handshake step runs from the loop: a failure to send the ClientHello must not
   * call on_connect inside this call. */
  uv_idle_start(&s->tls_resume, on_tls_resume);
  return 0;
}

int mol_stream_read_start(mol_stream *s, mol_stream_read_cb on_read) {
  if (s->closing || s->read_done) return MOL_ESHUTDOWN;
  s->on_read = on_read;
  if (s->reading) return 0;
  s->reading = 1;
  int rc = s->tls ? tls_read_start(s)
                  : uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_tcp_read);
  if (rc) s->reading = 0;
  return rc;
}

void mol_stream_read_stop(mol_stream *s) {
  if (!s->reading) return;
  s->reading = 0;
  if (s->closing) return;
  if (s->tls) {
    uv_idle_stop(&s->tls_resume);
    tls_sync_reading(s);
  } else {
    uv_read_stop((uv_stream_t *)&s->tcp);
  }
}

/* ---- writes --------------------------------------------------------------------------- */

static void complete_write(mol_stream *s, size_t len, mol_stream_write_cb cb, void *arg,
                           int status) {
  s->queued -= len;
  if (cb) cb(s, status, arg);
  if (s->queued == 0 && s->on_drain && !s->closing) s->on_drain(s);
}

static void on_write_done(uv_write_t *req, int status) {
  stream_write *w = (stream_write *)req;
  free(w->owned);
  if (!w->internal) complete_write(w->s, w->len, w->cb, w->arg, status);
  free(w);
}

/* Hands n bytes at `bytes` to the socket; w (and w->owned) belong to the write from now on.
 * The caller counts w->len in s->queued when this succeeds. */
static int submit(mol_stream *s, stream_write *w, char *bytes, size_t n) {
  uv_buf_t buf = uv_buf_init(bytes, (unsigned)n);
  int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, on_write_done);
  if (rc) {
    free(w->owned);
    free(w);
  }
  return rc;
}

/* A write nobody waits for (no callback, no drain watcher) on an empty queue goes straight to
 * the socket. Through uv_write, even one that completes at once, libuv resets the socket's
 * epoll mask when its queue drains: one epoll_ctl for every request a client sends. Returns
 * the bytes written; the rest (or everything, on any error) takes the ordinary path, which
 * reports errors as before. */
static size_t plain_write_now(mol_stream *s, const char *data, size_t len,
                              mol_stream_write_cb cb) {
  if (cb || s->on_drain || s->queued || len == 0) return 0;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
  return n > 0 ? (size_t)n : 0;
}

static int plain_write(mol_stream *s, char *owned, const char *data, size_t len,
                       mol_stream_write_cb cb, void *arg) {
  size_t done = plain_write_now(s, data, len, cb);
  if (done == len && len > 0) {
    free(owned);
    return 0;
  }
  len -= done; /* the rest goes through uv_write */
  stream_write *w = malloc(sizeof(*w) + (owned ? 0 : len));
  if (!w) {
    free(owned);
    return MOL_ENOMEM;
  }
  *w = (stream_write){.s = s, .cb = cb, .arg = arg, .len = len, .owned = owned};
  char *bytes = owned ? owned + done : memcpy(w + 1, data + done, len);
  int rc = submit(s, w, bytes, len);
  if (rc == 0) s->queued += len;
  return rc;
}

static int write_any(mol_stream *s, char *owned, const char *data, size_t len,
                     mol_stream_write_cb cb, void *arg) {
  if (s->closing || !s->connected) {
    free(owned);
    return MOL_EPIPE;
  }
  if (s->tls) return tls_write(s, owned, data, len, cb, arg);
  return plain_write(s, owned, data, len, cb, arg);
}

int mol_stream_write(mol_stream *s, const void *data, size_t len, mol_stream_write_cb cb,
                     void *arg) {
  return write_any(s, NULL, data, len, cb, arg);
}

int mol_stream_write_owned(mol_stream *s, char *data, size_t len, mol_stream_write_cb cb,
                           void *arg) {
  return write_any(s, data, data, len, cb, arg);
}

size_t mol_stream_try_write(mol_stream *s, const void *data, size_t len) {
  if (s->tls || s->closing || !s->connected || s->queued || len == 0) return 0;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
  return n > 0 ? (size_t)n : 0;
}

size_t mol_stream_queued(const mol_stream *s) { return s->queued; }

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

static int tcp_shutdown(mol_stream *s) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (!req) return MOL_ENOMEM;
  int rc = uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown);
  if (rc) free(req);
  return rc;
}

int mol_stream_shutdown(mol_stream *s) {
  if (s->closing || !s->connected) return MOL_EPIPE;
  return s->tls ? tls_shutdown(s) : tcp_shutdown(s);
}

void mol_stream_close(mol_stream *s, int abort) {
  if (s->closing) return;
  s->closing = 1;
  if (s->tls && !abort) tls_goodbye(s);
  /* close_reset refuses a handle with a shutdown in flight; a plain close still closes it. */
  if (abort && s->connected && uv_tcp_close_reset(&s->tcp, on_tcp_closed) == 0) return;
  uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
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

/* ---- TLS: sending records ------------------------------------------------------------- */

/* Writes the records the session has produced, with w (allocated by the caller) as the
 * request. Internal sends (handshake, alerts) have no owner callback and are skipped when
 * there is nothing to send; an owner's write always goes through uv_write, even empty, so
 * its callback keeps its place in the order. */
static int tls_submit(mol_stream *s, stream_write *w, size_t len, mol_stream_write_cb cb,
                      void *arg, int internal) {
  size_t n;
  char *out = mol_http__tls_conn_take_output(s->tls, &n);
  if (!out && internal) {
    free(w);
    return 0;
  }
  *w = (stream_write){.s = s, .cb = cb, .arg = arg, .len = len, .owned = out,
                      .internal = internal};
  return submit(s, w, out, n);
}

static int tls_send_internal(mol_stream *s) {
  stream_write *w = malloc(sizeof(*w));
  if (!w) return MOL_ENOMEM;
  return tls_submit(s, w, 0, NULL, NULL, 1);
}

/* Encrypts an owner's write and sends it. The request is allocated first: records that were
 * encrypted but could not be sent would leave a gap in the session's sequence. */
static int tls_send_data(mol_stream *s, const char *data, size_t len, mol_stream_write_cb cb,
                         void *arg) {
  stream_write *w = malloc(sizeof(*w));
  if (!w) return MOL_ENOMEM;
  int rc = mol_http__tls_conn_write(s->tls, data, len);
  if (rc) {
    free(w);
    return rc;
  }
  return tls_submit(s, w, len, cb, arg, 0);
}

static int early_push(mol_stream *s, char *owned, const char *data, size_t len,
                      mol_stream_write_cb cb, void *arg) {
  struct mol_stream_early *e = malloc(sizeof(*e) + (owned ? 0 : len));
  if (!e) {
    free(owned);
    return MOL_ENOMEM;
  }
  *e = (struct mol_stream_early){.cb = cb, .arg = arg, .len = len, .owned = owned};
  e->data = owned ? owned : memcpy(e + 1, data, len);
  struct mol_stream_early **tail = &s->tls_early;
  while (*tail) tail = &(*tail)->next;
  *tail = e;
  s->queued += len;
  return 0;
}

/* Encrypts the writes that waited for the handshake, in order. */
static void early_flush(mol_stream *s) {
  struct mol_stream_early *e;
  while (!s->closing && (e = s->tls_early) != NULL) {
    s->tls_early = e->next;
    int rc = tls_send_data(s, e->data, e->len, e->cb, e->arg);
    free(e->owned);
    if (rc) complete_write(s, e->len, e->cb, e->arg, rc == MOL_ENOMEM ? rc : MOL_EPIPE);
    free(e);
  }
}

static void early_fail(mol_stream *s, int status) {
  struct mol_stream_early *e;
  while ((e = s->tls_early) != NULL) {
    s->tls_early = e->next;
    free(e->owned);
    complete_write(s, e->len, e->cb, e->arg, status);
    free(e);
  }
}

static int tls_write(mol_stream *s, char *owned, const char *data, size_t len,
                     mol_stream_write_cb cb, void *arg) {
  mol_tls_state st = mol_http__tls_conn_state(s->tls);
  if (s->tls_shutdown || st == MOL_TLS_FAILED) {
    free(owned);
    return MOL_EPIPE;
  }
  if (st == MOL_TLS_HANDSHAKE) return early_push(s, owned, data, len, cb, arg);
  int rc = tls_send_data(s, data, len, cb, arg);
  free(owned);
  if (rc == 0) s->queued += len;
  return rc == MOL_ETLS ? MOL_EPIPE : rc;
}

static int tls_shutdown_now(mol_stream *s) {
  mol_http__tls_conn_close_notify(s->tls);
  int rc = tls_send_internal(s);
  return rc ? rc : tcp_shutdown(s);
}

static int tls_shutdown(mol_stream *s) {
  if (s->tls_shutdown) return MOL_EPIPE;
  s->tls_shutdown = 1;
  /* Before the handshake ends (a server stream), early writes must go first: the handshake's
   * end sends them, then the close_notify and the FIN. */
  if (mol_http__tls_conn_state(s->tls) == MOL_TLS_HANDSHAKE) return 0;
  return tls_shutdown_now(s);
}

/* Best effort on a graceful close: the handle closes right after, so close_notify goes out
 * only if the socket takes it at once (not behind writes that the close cancels anyway). */
static void tls_goodbye(mol_stream *s) {
  mol_http__tls_conn_close_notify(s->tls);
  size_t n;
  char *out = mol_http__tls_conn_take_output(s->tls, &n);
  if (!out) return;
  uv_buf_t buf = uv_buf_init(out, (unsigned)n);
  uv_try_write((uv_stream_t *)&s->tcp, &buf, 1);
  free(out);
}

/* ---- TLS: reading and the handshake --------------------------------------------------- */

/* The socket is read while the owner wants data or a client handshake is under way (its
 * on_connect depends on it); never after the terminal read or the socket's end. */
static int tls_sync_reading(mol_stream *s) {
  int want = !s->closing && !s->read_done && !mol_http__tls_conn_ended(s->tls) &&
             (s->reading || s->connect_pending);
  if (want == (int)s->tls_reading) return 0;
  if (want) {
    int rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_tcp_read);
    if (rc) return rc;
  } else if (!s->closing) {
    uv_read_stop((uv_stream_t *)&s->tcp);
  }
  s->tls_reading = (unsigned)want;
  return 0;
}

/* Delivers every plaintext record already received, until the owner stops reading or closes,
 * the session needs more ciphertext, or the stream ends. */
static void tls_deliver(mol_stream *s) {
  char *b = bufs();
  char *plain_buf = b ? b + READ_BUF_LEN : NULL;
  if (!plain_buf) deliver_terminal(s, MOL_ENOMEM);
  while (s->reading && !s->closing && !s->read_done) {
    ssize_t n = mol_http__tls_conn_read(s->tls, plain_buf, PLAIN_BUF_LEN);
    if (n == MOL_EAGAIN) break;
    if (n > 0) {
      s->on_read(s, n, plain_buf);
    } else if (n < 0) {
      tls_send_internal(s); /* an alert, if the session produced one */
      deliver_terminal(s, n);
    }
  }
  if (s->closing) return;
  tls_send_internal(s);
  int rc = tls_sync_reading(s);
  if (rc) deliver_terminal(s, rc); /* the owner would otherwise wait forever */
}

static void tls_handshake_done(mol_stream *s) {
  if (s->connect_pending) { /* only a client has an on_connect waiting */
    s->connected = 1;
    s->connect_pending = 0;
    tls_sync_reading(s); /* stops if the owner is not reading yet: records stay buffered */
    s->on_connect(s, 0);
  } else {
    early_flush(s);
    if (s->tls_shutdown && !s->closing) tls_shutdown_now(s);
  }
  if (!s->closing) tls_deliver(s);
}

static void tls_handshake_failed(mol_stream *s, int err) {
  if (s->connect_pending) {
    s->connect_pending = 0;
    s->read_done = 1; /* nothing can be read from a session without keys */
    tls_sync_reading(s);
    s->on_connect(s, err);
    return;
  }
  early_fail(s, MOL_ETLS);
  deliver_terminal(s, MOL_ETLS);
  tls_sync_reading(s);
}

static void tls_handshake_step(mol_stream *s) {
  int rc = mol_http__tls_conn_handshake(s->tls);
  int sent = tls_send_internal(s);
  if (rc == MOL_EAGAIN && sent == 0) return;
  if (rc == 0 && sent == 0) {
    tls_handshake_done(s);
  } else {
    tls_handshake_failed(s, rc == 0 || rc == MOL_EAGAIN ? MOL_ETLS : rc);
  }
}

static void tls_progress(mol_stream *s) {
  if (mol_http__tls_conn_state(s->tls) == MOL_TLS_HANDSHAKE) {
    tls_handshake_step(s);
  } else {
    tls_deliver(s);
  }
}

static void tls_on_tcp_read(mol_stream *s, ssize_t nread, const char *data) {
  if (nread < 0) {
    /* libuv stops reading at the end; the session reports it after the buffered records. */
    uv_read_stop((uv_stream_t *)&s->tcp);
    s->tls_reading = 0;
    mol_http__tls_conn_feed_end(s->tls, (int)nread);
  } else if (mol_http__tls_conn_feed(s->tls, data, (size_t)nread)) {
    mol_http__tls_conn_feed_end(s->tls, MOL_ENOMEM);
  }
  tls_progress(s);
}

static void on_tls_resume(uv_idle_t *h) {
  mol_stream *s = h->data;
  uv_idle_stop(h);
  if (!s->closing) tls_progress(s);
}

static int tls_read_start(mol_stream *s) {
  int rc = tls_sync_reading(s);
  /* Records that arrived while reads were stopped produce no new socket event: deliver them
   * from the next loop iteration rather than re-entering the owner from this call. */
  if (rc == 0 && mol_http__tls_conn_pending(s->tls)) uv_idle_start(&s->tls_resume, on_tls_resume);
  return rc;
}
