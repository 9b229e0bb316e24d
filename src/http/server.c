/* server.c - the socket side of the HTTP server: listeners, connections (a mol_stream bound
 * to an I/O-free mol_h1 core), one timer per connection and graceful shutdown.
 *
 * Deadlines: a read-side one by phase (a new connection's first request, the head, the body's
 * gaps and the whole request, keep-alive idle, the FIN after ours) and, whenever response
 * bytes wait in the socket queue, a send one (no write progress for send_timeout_ms). Both
 * share the connection's single uv_timer, which is lazy: it is only (re)started when the
 * earliest deadline moves earlier than the one armed; when it fires, the deadlines are
 * recomputed and the timer re-armed if the connection made progress meanwhile. A keep-alive
 * request/response cycle therefore usually costs no timer operation at all.
 *
 * Output made during a connection's read goes out when the read is done; output made elsewhere
 * (a timer, another request, a late callback) at the loop's next idle phase, once per
 * connection: events raised in one timer pass are one write. An active idle handle keeps the
 * poll (and an embedding loop's uv_backend_timeout) from blocking meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/holds.h"
#include "base/log.h"
#include "http/http.h"
#include "http/server_int.h"
#include "molecule.h"

#define MAX_LISTENERS 8
#define LINGER_MAX_MS 5000   /* wait this long at most for the peer's FIN after ours */
#define REJECT_SLACK 64      /* connections past the limit still answered with a 503 */

typedef struct srv_conn srv_conn;

struct mol_http_server {
  uv_loop_t *loop;
  mol_http_server_opts opts;
  mol_h1_limits lim;
  mol_h1_callbacks cbs;
  mol_routes routes;
  mol_http_counts counts;      /* requests by route and status (server_count.c) */
  uv_tcp_t *listeners[MAX_LISTENERS];
  int nlisteners;
  int port;
  srv_conn *conns;
  unsigned nconns;
  uv_timer_t grace;            /* also the holds' last handle */
  mol_holds holds;             /* the server's own until close, each connection, each closing
                                  listener */
  unsigned closing : 1, at_limit : 1;
  uv_idle_t flush_idle;        /* writes out the connections on `dirty` (idle phase) */
  srv_conn *dirty;             /* connections with output made outside their read */
  void (*close_cb)(void *arg);
  void *close_arg;
};

struct srv_conn {
  mol_stream stream;
  mol_h1 core;
  uv_timer_t timer;      /* also the holds' last handle */
  mol_holds holds;       /* the connection's own until conn_close, and its stream's */
  mol_http_server *srv;
  srv_conn *prev, *next;
  uint64_t phase_start, last_rx, timer_due;
  uint64_t req_start;    /* when the request being received started arriving */
  uint64_t last_tx;      /* last write progress while bytes were queued */
  size_t tx_mark;        /* the socket's unwritten bytes as of last_tx */
  unsigned seq;
  int phase;
  unsigned closing : 1, lingering : 1, peer_eof : 1, is_dirty : 1;
  unsigned uncounted : 1; /* accepted on a listener whose requests are not counted */
  srv_conn *dirty_next;  /* on srv->dirty while is_dirty */
  char peer[64];
};

static void after_core(srv_conn *c);
static void on_stream_read(mol_stream *st, ssize_t nread, const char *data);

/* ---- closing connections and the server ----------------------------------------------- */

/* The connection's holds' finish: closed, and its stream too. */
static void conn_free(void *arg) {
  srv_conn *c = arg;
  mol_http_server *s = c->srv;
  for (srv_conn **p = &s->dirty; c->is_dirty && *p; p = &(*p)->dirty_next)
    if (*p == c) {
      *p = c->dirty_next;
      break;
    }
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->nconns--;
  mol_http__h1_free(&c->core);
  free(c);
  mol_holds_drop(&s->holds);
}

static void on_stream_closed(mol_stream *st) {
  srv_conn *c = st->data;
  mol_holds_drop(&c->holds);
}

static void conn_close(srv_conn *c, int abort) {
  if (c->closing) return;
  c->closing = 1;
  mol_logd("http", "closing connection from %s%s", c->peer, abort ? " (reset)" : "");
  mol_http__h1_abort(&c->core);
  uv_timer_stop(&c->timer);
  mol_stream_close(&c->stream, abort);
  mol_holds_drop(&c->holds);
}

/* The server's holds' finish: closed, every connection freed, every listener closed. */
static void server_finish(void *arg) {
  mol_http_server *s = arg;
  void (*cb)(void *) = s->close_cb;
  void *cb_arg = s->close_arg;
  mol_http__routes_free(&s->routes);
  mol_http__counts_free(&s->counts);
  free(s);
  if (cb) cb(cb_arg);
}

/* ---- timers ----------------------------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b) { return !a ? b : !b || a < b ? a : b; }

/* When the read side of the current phase runs out of time (0: no limit). A request must
 * arrive whole within request_timeout_ms of its first byte, whatever the gaps between its
 * bytes; once it is complete, answering it takes as long as the handler needs. */
static uint64_t read_deadline(const srv_conn *c) {
  const mol_http_server_opts *o = &c->srv->opts;
  uint64_t whole = c->req_start + o->request_timeout_ms;
  switch (c->phase) {
    case MOL_H1_IDLE: /* requests answered within one read never leave IDLE */
      if (!c->core.msg_seq) return c->phase_start + o->header_timeout_ms; /* never spoke */
      return (c->last_rx > c->phase_start ? c->last_rx : c->phase_start) + o->idle_timeout_ms;
    case MOL_H1_HEAD: return earliest(c->req_start + o->header_timeout_ms, whole);
    case MOL_H1_BODY: return earliest(c->last_rx + o->body_timeout_ms, whole);
    case MOL_H1_CLOSING: /* still flushing (no read limit), or waiting for the peer's FIN */
      if (!c->lingering) return 0;
      return c->phase_start +
             (o->header_timeout_ms < LINGER_MAX_MS ? o->header_timeout_ms : LINGER_MAX_MS);
    default: return 0;
  }
}

/* In every phase, a peer that accepts no response byte for send_timeout_ms while bytes wait
 * for it is dropped: neither an idle-looking connection nor a stream is held by a client
 * that stopped reading. */
static uint64_t send_deadline(const srv_conn *c) {
  return mol_stream_queued(&c->stream) ? c->last_tx + c->srv->opts.send_timeout_ms : 0;
}

/* libuv completes a write only once all of it is out, so the write of a large answer to a
 * slow reader can outlast the send timeout while bytes do flow. Progress is therefore a
 * completed write or a socket queue that shrank since the last look (libuv counts partial
 * writes); looking only when the deadline is due keeps this off the hot path, at the price
 * of dropping a stalled peer between one and two send timeouts after its last progress. */
static size_t unwritten(const srv_conn *c) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->stream.tcp);
}

static void note_tx(srv_conn *c) {
  c->last_tx = uv_now(c->srv->loop);
  c->tx_mark = unwritten(c);
}

static void check_tx_progress(srv_conn *c) {
  if (unwritten(c) < c->tx_mark) note_tx(c);
}

static void track_phase(srv_conn *c) {
  int ph = mol_http__h1_phase(&c->core);
  int receiving = ph == MOL_H1_HEAD || ph == MOL_H1_BODY;
  if (ph == c->phase && (!receiving || c->core.msg_seq == c->seq)) return;
  uint64_t now = uv_now(c->srv->loop);
  if (receiving && c->core.msg_seq != c->seq) { /* a new request started arriving */
    c->seq = c->core.msg_seq;
    c->req_start = now;
  }
  if (ph != c->phase) {
    c->phase = ph;
    c->phase_start = now;
  }
}

static void on_timer(uv_timer_t *t);

static void arm(srv_conn *c, uint64_t deadline) {
  uint64_t now = uv_now(c->srv->loop);
  c->timer_due = deadline;
  uv_timer_start(&c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void update_timer(srv_conn *c) {
  track_phase(c);
  uint64_t d = earliest(read_deadline(c), send_deadline(c));
  if (d && (!uv_is_active((uv_handle_t *)&c->timer) || d < c->timer_due)) arm(c, d);
}

static void read_expired(srv_conn *c) {
  switch (c->phase) {
    case MOL_H1_IDLE: conn_close(c, 0); break;
    case MOL_H1_HEAD:
    case MOL_H1_BODY:
      mol_logd("http", "request from %s timed out", c->peer);
      mol_http__h1_fail(&c->core, 408); /* on_output carries on */
      break;
    default: conn_close(c, 1); /* no FIN from the peer after ours */
  }
}

static void on_timer(uv_timer_t *t) {
  srv_conn *c = t->data;
  uint64_t now = uv_now(c->srv->loop);
  track_phase(c);
  uint64_t sd = send_deadline(c), rd = read_deadline(c);
  if (sd && sd <= now) {
    check_tx_progress(c);
    sd = send_deadline(c);
  }
  if (sd && sd <= now) {
    mol_logd("http", "%s stopped reading; dropping the connection", c->peer);
    conn_close(c, 1);
  } else if (rd && rd <= now) {
    read_expired(c);
  } else if (sd || rd) {
    arm(c, earliest(sd, rd));
  }
}

/* ---- I/O -------------------------------------------------------------------------------- */

static void on_written(mol_stream *st, int status, void *arg) {
  (void)st;
  srv_conn *c = arg;
  if (c->closing) return;
  note_tx(c);
  if (status < 0) {
    mol_logd("http", "write to %s failed: %s", c->peer, mol_strerror(status));
    conn_close(c, 1);
    return;
  }
  mol_http__h1_resume(&c->core); /* held-back pipelined requests */
  after_core(c);
}

/* Write in place when the socket takes it (see mol_stream_try_write): saves a syscall and a
 * malloc per response. Only an unwritten remainder is queued. Not while input is held back,
 * since its resumption hangs on a write completion (on_written). */
static size_t write_direct(srv_conn *c) {
  if (mol_http__h1_blocked(&c->core)) return 0;
  return mol_stream_try_write(&c->stream, c->core.out.data, c->core.out.len);
}

static void flush(srv_conn *c) {
  if (!c->core.out.len) return;
  size_t done = write_direct(c);
  if (done == c->core.out.len) {
    c->core.out.len = 0; /* the buffer is kept for the next response */
    return;
  }
  mol_buf_consume(&c->core.out, done);
  if (!mol_stream_queued(&c->stream)) c->last_tx = uv_now(c->srv->loop); /* the wait starts */
  else check_tx_progress(c); /* before the new bytes raise the queue */
  size_t len = c->core.out.len;
  char *data = mol_buf_steal(&c->core.out);
  if (!data || mol_stream_write_owned(&c->stream, data, len, on_written, c)) conn_close(c, 1);
  else c->tx_mark = unwritten(c);
}

/* Everything is answered: close, after a FIN and a short wait for the peer's, so that a
 * client still sending (e.g. a body we refused) is not reset before it reads our answer. */
static void finish_output(srv_conn *c) {
  if (c->peer_eof || c->srv->closing) {
    conn_close(c, 0);
  } else if (!c->lingering) {
    c->lingering = 1;
    c->phase = MOL_H1_CLOSING;
    c->phase_start = uv_now(c->srv->loop);
    if (mol_stream_shutdown(&c->stream)) conn_close(c, 0);
  }
}

static void after_core(srv_conn *c) {
  if (c->closing) return;
  flush(c);
  if (c->closing) return;
  if (c->core.dead) {
    conn_close(c, 1);
    return;
  }
  if (c->core.done) {
    if (mol_stream_queued(&c->stream) == 0) finish_output(c);
    if (c->closing) return;
  } else if (mol_http__h1_blocked(&c->core)) {
    mol_stream_read_stop(&c->stream);
  } else if (!c->stream.reading && !c->peer_eof) {
    if (mol_stream_read_start(&c->stream, on_stream_read)) c->peer_eof = 1;
  }
  update_timer(c);
}

static void on_flush_idle(uv_idle_t *h) {
  mol_http_server *s = h->data;
  while (s->dirty) {
    srv_conn *c = s->dirty;
    s->dirty = c->dirty_next;
    c->is_dirty = 0;
    after_core(c);
  }
  uv_idle_stop(h);
}

/* Output made outside the connection's read: written in the idle phase (see the top). A
 * closing server writes at once: its idle handle is going. */
static void on_output(void *ctx) {
  srv_conn *c = ctx;
  mol_http_server *s = c->srv;
  if (c->closing || c->is_dirty) return;
  if (s->closing) {
    after_core(c);
    return;
  }
  c->is_dirty = 1;
  c->dirty_next = s->dirty;
  s->dirty = c;
  uv_idle_start(&s->flush_idle, on_flush_idle);
}

static size_t socket_queued(void *ctx) { return mol_stream_queued(&((srv_conn *)ctx)->stream); }

static void on_drain(mol_stream *st) {
  srv_conn *c = st->data;
  if (!c->closing) mol_http__h1_drained(&c->core);
}

static void on_eof(srv_conn *c, ssize_t code) {
  c->peer_eof = 1;
  if (code != MOL_EOF) mol_logd("http", "read from %s: %s", c->peer, mol_strerror((int)code));
  if (c->lingering || code != MOL_EOF || mol_http__h1_eof(&c->core)) {
    conn_close(c, code != MOL_EOF);
    return;
  }
  after_core(c);
}

static void on_stream_read(mol_stream *st, ssize_t nread, const char *data) {
  srv_conn *c = st->data;
  if (c->closing) return;
  if (nread < 0) {
    on_eof(c, nread);
    return;
  }
  c->last_rx = uv_now(c->srv->loop);
  if (c->lingering) return; /* discarded: we are only waiting for the FIN */
  mol_http__h1_feed(&c->core, data, (size_t)nread);
  after_core(c);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static void on_request(mol_http_req *r, void *ctx) {
  mol_http_server *s = ((srv_conn *)ctx)->srv;
  int status = 404;
  mol_buf allow = MOL_BUF_INIT;
  const mol_route *rt = mol_http__routes_match(&s->routes, r->method, mol_http_req_path(r), &status,
                                               &allow);
  if (!((srv_conn *)ctx)->uncounted) mol_http__counts_route(&s->counts, r, rt ? rt->path : NULL);
  if (rt) {
    rt->h(r, rt->arg);
    return;
  }
  if (status == 405 && allow.len) mol_http_resp_header(r, "Allow", allow.data);
  mol_buf_free(&allow);
  const char *reason = mol_http_reason(status);
  mol_http_respond(r, status, "text/plain", reason, strlen(reason));
}

static void on_status(mol_http_req *r, int status, void *ctx) {
  mol_http__counts_answer(&((srv_conn *)ctx)->srv->counts, r, status);
}

void mol_http_req_set_route(mol_http_req *r, const char *route) {
  if (r->conn && r->route) mol_http__counts_route(&((srv_conn *)r->conn->ctx)->srv->counts, r, route);
}

int mol_http_server_requests_write(const mol_http_server *s, mol_buf *out) {
  return mol_http__counts_write(&s->counts, out);
}

/* ---- accepting ---------------------------------------------------------------------------- */

static void start_conn(mol_http_server *s, srv_conn *c) {
  c->stream.data = c;
  c->stream.on_drain = on_drain;
  if (mol_stream_peer_name(&c->stream, c->peer, sizeof(c->peer))) c->peer[0] = '\0';
  c->core.peer = c->peer;
  c->phase = -1;
  c->last_rx = uv_now(s->loop);
  mol_logd("http", "connection from %s", c->peer);
  if (s->nconns > s->opts.max_connections + REJECT_SLACK) {
    conn_close(c, 1);
    return;
  }
  if (mol_stream_read_start(&c->stream, on_stream_read)) {
    conn_close(c, 1);
    return;
  }
  if (s->nconns > s->opts.max_connections) {
    if (!s->at_limit) /* once per episode, not once per refused connection */
      mol_logw("http", "connection limit (%u) reached, refusing connections",
               s->opts.max_connections);
    s->at_limit = 1;
    mol_http__h1_fail(&c->core, 503);
    return;
  }
  s->at_limit = 0;
  update_timer(c);
}

static void on_connection(uv_stream_t *server, int status) {
  mol_http_server *s = server->data;
  if (status < 0) {
    mol_logw("http", "accept failed: %s", mol_strerror(status));
    return;
  }
  srv_conn *c = calloc(1, sizeof(*c));
  if (!c) {
    mol_loge("http", "out of memory accepting a connection");
    return;
  }
  c->srv = s;
  c->uncounted = s->opts.count_first_listener && s->nlisteners && server != (uv_stream_t *)s->listeners[0];
  uv_timer_init(s->loop, &c->timer);
  c->timer.data = c;
  mol_holds_init(&c->holds, (uv_handle_t *)&c->timer, conn_free, c);
  mol_holds_take(&c->holds); /* the stream's, until on_stream_closed */
  mol_holds_take(&s->holds);
  mol_http__h1_init(&c->core, &s->lim, &s->cbs, c);
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  int rc = mol_stream_accept(s->loop, server, &c->stream, s->opts.tls, on_stream_closed);
  c->stream.data = c;
  if (rc) {
    mol_logw("http", "accept failed: %s", mol_strerror(rc));
    c->closing = 1; /* the stream is closing: on_stream_closed drops its hold */
    mol_holds_drop(&c->holds);
    return;
  }
  start_conn(s, c);
}

/* ---- public API ------------------------------------------------------------------------- */

static void apply_defaults(mol_http_server_opts *o) {
  if (!o->max_connections) o->max_connections = 10000;
  if (!o->header_timeout_ms) o->header_timeout_ms = 10000;
  if (!o->body_timeout_ms) o->body_timeout_ms = 30000;
  if (!o->idle_timeout_ms) o->idle_timeout_ms = 60000;
  if (!o->request_timeout_ms) o->request_timeout_ms = 60000;
  if (!o->send_timeout_ms) o->send_timeout_ms = 60000;
}

int mol_http_server_new(uv_loop_t *loop, const mol_http_server_opts *opts,
                        mol_http_server **out) {
  mol_http_server *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  s->loop = loop;
  if (opts) s->opts = *opts;
  apply_defaults(&s->opts);
  mol_http__h1_limits_init(&s->lim, &s->opts);
  s->cbs.on_request = on_request;
  s->cbs.on_output = on_output;
  s->cbs.socket_queued = socket_queued;
  s->cbs.on_status = on_status;
  uv_timer_init(loop, &s->grace);
  s->grace.data = s;
  uv_idle_init(loop, &s->flush_idle);
  s->flush_idle.data = s;
  mol_holds_init(&s->holds, (uv_handle_t *)&s->grace, server_finish, s);
  *out = s;
  return 0;
}

int mol_http_server_route(mol_http_server *s, const char *method, const char *path, int prefix,
                          mol_http_handler h, void *arg) {
  return mol_http__routes_add(&s->routes, method, path, prefix, h, arg);
}

size_t mol_http_server_unroute(mol_http_server *s, const void *arg) {
  return mol_http__routes_remove_arg(&s->routes, arg);
}

static void free_handle(uv_handle_t *h) { free(h); }

static int bind_listener(mol_http_server *s, uv_tcp_t *t, mol_http__sock_addr *a) {
  int v6 = a->sa.sa_family == AF_INET6;
  int rc = s->opts.reuse_port ? mol_http__addr_reuse_port(t) : 0;
  if (!rc) rc = uv_tcp_bind(t, &a->sa, v6 ? UV_TCP_IPV6ONLY : 0);
  if (!rc) rc = uv_listen((uv_stream_t *)t, 511, on_connection);
  if (rc || s->nlisteners) return rc;
  int port = mol_http__addr_port(t);
  if (port < 0) return port;
  s->port = port;
  return 0;
}

int mol_http_server_listen(mol_http_server *s, const char *host, int port) {
  mol_http__sock_addr a;
  if (!host || s->closing || mol_http__addr_parse(host, port, &a)) return MOL_EINVAL;
  if (s->nlisteners >= MAX_LISTENERS) return MOL_ELIMIT;
  uv_tcp_t *t = malloc(sizeof(*t));
  if (!t) return MOL_ENOMEM;
  int rc = uv_tcp_init_ex(s->loop, t, a.sa.sa_family);
  if (rc) {
    free(t);
    return rc;
  }
  t->data = s;
  rc = bind_listener(s, t, &a);
  if (rc) {
    uv_close((uv_handle_t *)t, free_handle);
    return rc;
  }
  s->listeners[s->nlisteners++] = t;
  mol_logd("http", "listening on %s port %d", host, port ? port : s->port);
  return 0;
}

int mol_http_server_port(const mol_http_server *s) {
  return s->nlisteners ? s->port : MOL_EINVAL;
}

int mol_http_server_listener_port(const mol_http_server *s, int i) {
  if (i < 0 || i >= s->nlisteners) return MOL_EINVAL;
  return mol_http__addr_port(s->listeners[i]);
}

int mol_http_server_local_host(const mol_http_server *s, char *buf, size_t n) {
  return s->nlisteners ? mol_http__addr_local_host(s->listeners[0], buf, n) : MOL_EINVAL;
}

static void on_flush_idle_closed(uv_handle_t *h) {
  mol_http_server *s = h->data;
  mol_holds_drop(&s->holds);
}

static void on_listener_closed(uv_handle_t *h) {
  mol_http_server *s = h->data;
  free(h);
  mol_holds_drop(&s->holds);
}

static void on_grace_expired(uv_timer_t *t) {
  mol_http_server *s = t->data;
  for (srv_conn *c = s->conns; c; c = c->next) conn_close(c, 1);
}

void mol_http_server_close(mol_http_server *s, unsigned grace_ms, void (*cb)(void *arg),
                           void *arg) {
  if (s->closing) return;
  s->closing = 1;
  s->close_cb = cb;
  s->close_arg = arg;
  on_flush_idle(&s->flush_idle); /* what waits for the idle phase goes now */
  mol_holds_take(&s->holds);
  uv_close((uv_handle_t *)&s->flush_idle, on_flush_idle_closed);
  for (int i = 0; i < s->nlisteners; i++) {
    mol_holds_take(&s->holds);
    uv_close((uv_handle_t *)s->listeners[i], on_listener_closed);
  }
  s->nlisteners = 0;
  for (srv_conn *c = s->conns; c; c = c->next) {
    int ph = mol_http__h1_phase(&c->core);
    if (ph == MOL_H1_IDLE || ph == MOL_H1_HEAD || ph == MOL_H1_BODY) {
      conn_close(c, 0);
    } else {
      mol_http__h1_shutdown(&c->core);
      after_core(c);
    }
  }
  if (grace_ms) uv_timer_start(&s->grace, on_grace_expired, grace_ms, 0);
  else on_grace_expired(&s->grace);
  mol_holds_drop(&s->holds); /* the connections' and listeners' holds keep it until they end */
}
