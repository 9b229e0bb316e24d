/* client_conn.c - one client connection: resolve, connect (trying each address in order),
 * write a request, feed the response parser, and hand the connection back to the pool. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "http/client_int.h"
#include "molecule.h"

static void conn_on_read(mol_stream *s, ssize_t nread, const char *data);
static void conn_try_next(mol_conn *conn);

/* ---- lifetime --------------------------------------------------------------------------- */

/* The holds' finish: closed, and every libuv handle and request it embeds has called back. */
static void conn_free(void *arg) {
  mol_conn *conn = arg;
  mol_origin *o = conn->o;
  mol_http_client *c = o->c;
  mol_http__resp_free(&conn->parser);
  mol_buf_free(&conn->held);
  if (conn->ai) uv_freeaddrinfo(conn->ai);
  free(conn);
  o->nlive--;
  mol_http__origin_maybe_free(o);
  mol_holds_drop(&c->holds);
}

static void on_stream_closed(mol_stream *s) {
  mol_conn *conn = s->data;
  conn->stream_open = 0;
  if (!conn->dead) conn_try_next(conn); /* a failed address attempt: try the next one */
  mol_holds_drop(&conn->holds);
}

/* Idempotent. The caller detaches any request first (conn->req = NULL). */
void mol_http__conn_close(mol_conn *conn) {
  if (conn->dead) return;
  mol_origin *o = conn->o;
  conn->dead = 1;
  conn->req = NULL;
  mol_http__origin_idle_remove(o, conn);
  o->nconns--;
  if (conn->resolving) uv_cancel((uv_req_t *)&conn->gai);
  uv_timer_stop(&conn->idle_timer);
  if (conn->stream_open) mol_stream_close(&conn->s, 0);
  mol_http__origin_pump(o); /* a slot is free for a waiting request */
  mol_holds_drop(&conn->holds);
}

/* The request's outcome is decided while it is on this connection: the connection cannot
 * carry another response, so it goes with it. */
void mol_http__conn_fail(mol_conn *conn, mol_http_request *r, int err) {
  r->conn = NULL;
  mol_http__conn_close(conn);
  mol_http__req_abort(r, err);
}

/* The proxy, not the origin, failed: said with the proxy's name, since "connection refused"
 * alone would point at the server the user asked for. */
void mol_http__conn_proxy_failed(mol_conn *conn, int err) {
  const mol_http_proxy *p = conn->o->proxy;
  mol_loge("http", "cannot reach proxy %s (from %s) for %s: %s", p->name, p->source,
           conn->o->key, mol_strerror(err));
  mol_http__conn_fail(conn, conn->req, MOL_EPROXY);
}

/* ---- connect ---------------------------------------------------------------------------- */

static void conn_on_connect(mol_stream *s, int status) {
  mol_conn *conn = s->data;
  if (conn->dead) return;
  if (status == MOL_ETLS || status == MOL_ETLSVERIFY) {
    /* The server was reached and the handshake failed: another address of the same name
     * would only hide the real reason behind, say, a refusal. */
    mol_http__conn_fail(conn, conn->req, status);
    return;
  }
  if (status) {
    conn->last_err = status;
    mol_stream_close(s, 0); /* on_stream_closed tries the next address */
    return;
  }
  conn->connected = 1;
  if (conn->o->proxy && conn->o->https) mol_http__tunnel_start(conn);
  else mol_http__conn_start(conn, conn->req);
}

static void conn_try_next(mol_conn *conn) {
  struct addrinfo *ai = conn->ai_next;
  int err = conn->last_err ? conn->last_err : MOL_ECONNREFUSED;
  if (!ai && conn->o->proxy) {
    mol_http__conn_proxy_failed(conn, err);
    return;
  }
  if (!ai) {
    mol_http__conn_fail(conn, conn->req, err);
    return;
  }
  conn->ai_next = ai->ai_next;
  /* Through a proxy the TCP connection goes to the proxy in plain text; TLS starts inside
   * the tunnel (client_tunnel.c). */
  int direct_tls = conn->o->https && !conn->o->proxy;
  mol_tls_config *tls = NULL;
  int rc = direct_tls ? mol_http__client_tls(conn->o->c, conn->o->insecure, &tls) : 0;
  if (rc) {
    mol_http__conn_fail(conn, conn->req, rc);
    return;
  }
  rc = mol_stream_connect(conn->o->c->loop, &conn->s, ai->ai_addr, tls,
                          conn->o->url.host, conn_on_connect);
  conn->s.data = conn;
  conn->s.on_close = on_stream_closed;
  conn->stream_open = 1;
  mol_holds_take(&conn->holds);
  if (rc) {
    conn->last_err = rc;
    mol_stream_close(&conn->s, 0);
  }
}

static void conn_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  mol_conn *conn = req->data;
  conn->resolving = 0;
  conn->ai = res;
  conn->ai_next = res;
  if (!conn->dead) {
    if (status && conn->o->proxy) mol_http__conn_proxy_failed(conn, status);
    else if (status) mol_http__conn_fail(conn, conn->req, status);
    else conn_try_next(conn);
  }
  mol_holds_drop(&conn->holds);
}

/* IP literals skip getaddrinfo: no trip through libuv's small thread pool, which a burst of
 * new connections would otherwise queue behind. */
static int conn_literal(mol_conn *conn, const mol_url *u) {
  struct sockaddr_storage *ss = &conn->literal_addr;
  int rc = u->ipv6 ? uv_ip6_addr(u->host, u->port, (struct sockaddr_in6 *)ss)
                   : uv_ip4_addr(u->host, u->port, (struct sockaddr_in *)ss);
  if (rc) return rc;
  conn->literal_ai.ai_family = ss->ss_family;
  conn->literal_ai.ai_socktype = SOCK_STREAM;
  conn->literal_ai.ai_addr = (struct sockaddr *)ss;
  conn->literal_ai.ai_addrlen = u->ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  conn->ai_next = &conn->literal_ai;
  conn_try_next(conn);
  return 0;
}

static int conn_resolve(mol_conn *conn, const mol_url *u) {
  unsigned char buf[16];
  if (u->ipv6 || inet_pton(AF_INET, u->host, buf) == 1) return conn_literal(conn, u);
  char port[8];
  snprintf(port, sizeof(port), "%u", u->port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  conn->gai.data = conn;
  int rc = uv_getaddrinfo(conn->o->c->loop, &conn->gai, conn_on_resolved, u->host, port, &hints);
  if (rc == 0) {
    conn->resolving = 1;
    mol_holds_take(&conn->holds);
  }
  return rc;
}

static const mol_resp_events conn_events;

int mol_http__conn_open(mol_origin *o, mol_http_request *r) {
  mol_http_client *c = o->c;
  mol_conn *conn = calloc(1, sizeof(*conn));
  if (!conn) return MOL_ENOMEM;
  conn->o = o;
  o->nconns++;
  o->nlive++;
  mol_holds_take(&c->holds);
  uv_timer_init(c->loop, &conn->idle_timer);
  conn->idle_timer.data = conn;
  mol_holds_init(&conn->holds, (uv_handle_t *)&conn->idle_timer, conn_free, conn);
  mol_http__resp_init(&conn->parser, &conn_events, conn);
  conn->req = r;
  r->conn = conn;
  r->state = REQ_CONNECTING;
  r->connect_deadline = uv_now(c->loop) + r->connect_ms;
  mol_http__req_arm(r);
  int rc = conn_resolve(conn, o->proxy ? &o->proxy->url : &o->url);
  if (rc) {
    r->conn = NULL;
    mol_http__conn_close(conn);
  }
  return rc;
}

/* ---- request / response ----------------------------------------------------------------- */

void mol_http__conn_start(mol_conn *conn, mol_http_request *r) {
  conn->req = r;
  r->conn = conn;
  r->state = REQ_ACTIVE;
  r->last_activity = uv_now(conn->o->c->loop);
  mol_http__resp_reset(&conn->parser, &r->headers, r->is_head);
  int rc = mol_stream_write(&conn->s, r->wire.data, r->wire.len, NULL, NULL);
  if (!rc && !r->paused) rc = mol_stream_read_start(&conn->s, conn_on_read);
  if (rc) {
    mol_http__conn_fail(conn, r, rc);
    return;
  }
  mol_http__req_arm(r);
}

/* A pooled connection the server had already closed fails before any response byte; the
 * request never reached the application, so an idempotent one may safely go again. */
static int conn_may_retry(mol_conn *conn, mol_http_request *r) {
  return conn->reused && !conn->parser.started && r->idempotent && !r->retried;
}

static void conn_retry(mol_conn *conn, mol_http_request *r) {
  mol_origin *o = conn->o;
  mol_logd("http", "%s: pooled connection was closed by the server; retrying once", o->key);
  r->conn = NULL;
  r->retried = 1;
  r->need_fresh = 1;
  mol_http_headers_clear(&r->headers);
  mol_http__origin_enqueue(o, r, 1);
  mol_http__conn_close(conn); /* frees a slot and pumps the queue */
  mol_http__req_arm(r);
}

static void conn_response_done(mol_conn *conn, mol_http_request *r, int leftover) {
  int keep = conn->parser.keep_alive && !leftover && !r->conn_close && !conn->held.len;
  conn->req = NULL;
  r->conn = NULL;
  /* An idle connection keeps reading so that a close by the server is seen at once (the
   * response may have ended while reading was paused). */
  if (keep && mol_stream_read_start(&conn->s, conn_on_read)) keep = 0;
  if (keep) mol_http__origin_release(conn->o, conn);
  else mol_http__conn_close(conn);
  mol_http__req_complete(r, 0);
}

/* Runs the parser over bytes from the socket (held = 0) or from the held-back buffer.
 * Returns 1 while r is still this connection's request, 0 once it is not: cancelled, failed
 * or complete (and then possibly freed already, so the caller must not touch it). */
static int conn_feed(mol_conn *conn, mol_http_request *r, const char *data, size_t len,
                     int held) {
  size_t used = 0;
  int rc = mol_http__resp_feed(&conn->parser, data, len, &used);
  if (conn->req != r) return 0; /* the caller cancelled from inside a callback */
  if (held) mol_buf_consume(&conn->held, used);
  if (rc == MOL_RESP_MORE) return 1;
  if (rc == MOL_RESP_PAUSE) {
    mol_stream_read_stop(&conn->s);
    if (!held && mol_buf_append(&conn->held, data + used, len - used)) {
      mol_http__conn_fail(conn, r, MOL_ENOMEM);
      return 0;
    }
    r->paused = 1;
    mol_http__req_arm(r);
    return 1;
  }
  if (rc == MOL_RESP_DONE) conn_response_done(conn, r, held ? conn->held.len > 0 : used < len);
  else mol_http__conn_fail(conn, r, rc);
  return 0;
}

static void conn_on_eof(mol_conn *conn, mol_http_request *r, int err) {
  if (err == MOL_EOF) {
    int rc = mol_http__resp_finish(&conn->parser);
    if (rc == MOL_RESP_DONE) {
      conn_response_done(conn, r, 1);
      return;
    }
    err = rc;
  }
  if (conn_may_retry(conn, r)) conn_retry(conn, r);
  else mol_http__conn_fail(conn, r, err);
}

static void conn_on_read(mol_stream *s, ssize_t nread, const char *data) {
  mol_conn *conn = s->data;
  mol_http_request *r = conn->req;
  if (!r) { /* idle: the server closed it, or sent bytes nobody asked for */
    mol_http__conn_close(conn);
    return;
  }
  if (nread < 0) {
    conn_on_eof(conn, r, (int)nread);
    return;
  }
  r->last_activity = uv_now(s->loop);
  conn_feed(conn, r, data, (size_t)nread, 0);
}

int mol_http__conn_resume(mol_conn *conn, mol_http_request *r) {
  /* Always feed, even nothing: a pause on the last body byte leaves the end of the message
   * pending inside llhttp, and no more bytes will come from the socket to complete it. */
  if (!conn_feed(conn, r, conn->held.data ? conn->held.data : "", conn->held.len, 1)) return 0;
  if (r->paused || r->state != REQ_ACTIVE) return 1;
  int rc = mol_stream_read_start(&conn->s, conn_on_read);
  if (!rc) return 1;
  conn_on_eof(conn, r, rc);
  return 0;
}

/* ---- parser events ---------------------------------------------------------------------- */

static int ev_head(void *ctx, int status, const mol_http_headers *h) {
  mol_conn *conn = ctx;
  mol_http_request *r = conn->req;
  r->status = status;
  if (!r->on_body && !r->is_head) {
    const char *cl = mol_http_headers_get(h, "content-length");
    if (cl && strtoull(cl, NULL, 10) > r->max_body) return MOL_ETOOBIG;
  }
  if (!r->on_headers) return 0;
  mol_http_response resp = {status, h, NULL, 0};
  int rc = r->on_headers(r, &resp, r->arg);
  if (conn->req != r) return MOL_ECANCELED;
  return rc ? MOL_ECANCELED : 0;
}

static int ev_body(void *ctx, const char *data, size_t len) {
  mol_conn *conn = ctx;
  mol_http_request *r = conn->req;
  if (!r->on_body) {
    if (len > r->max_body - r->body.len) return MOL_ETOOBIG;
    return mol_buf_append(&r->body, data, len);
  }
  int rc = r->on_body(r, data, len, r->arg);
  if (conn->req != r) return MOL_ECANCELED;
  return rc || r->paused ? MOL_RESP_PAUSE : 0;
}

static const mol_resp_events conn_events = {ev_head, ev_body};
