/* client_tunnel.c - an https origin reached through a proxy: on the plain connection to the
 * proxy, "CONNECT host:port" (with Proxy-Authorization when the proxy URL had credentials);
 * a 2xx answer turns the connection into a tunnel, and the TLS handshake with the origin runs
 * inside it, verified exactly as on a direct connection. Anything else is MOL_EPROXY, logged
 * with the proxy's name and its status line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "http/client_int.h"
#include "molecule.h"

enum { TUNNEL_HEAD_MAX = 16 * 1024 }; /* a proxy's answer to CONNECT, headers included */

static void tunnel_refused(mol_conn *conn, const char *why) {
  const mol_http_proxy *p = conn->o->proxy;
  mol_loge("http", "proxy %s (from %s) refused the tunnel to %s:%u: %s", p->name, p->source,
           conn->o->url.host, conn->o->url.port, why);
  mol_buf_reset(&conn->held);
  mol_http__conn_fail(conn, conn->req, MOL_EPROXY);
}

static void tunnel_on_tls(mol_stream *s, int status) {
  mol_conn *conn = s->data;
  if (conn->dead) return;
  if (status) {
    mol_http__conn_fail(conn, conn->req, status);
    return;
  }
  mol_http__conn_start(conn, conn->req);
}

static void tunnel_open(mol_conn *conn) {
  mol_buf_reset(&conn->held);
  mol_tls_config *tls = NULL;
  int rc = mol_http__client_tls(conn->o->c, conn->o->insecure, &tls);
  if (!rc) rc = mol_stream_start_tls(&conn->s, tls, conn->o->url.host, tunnel_on_tls);
  if (rc) mol_http__conn_fail(conn, conn->req, rc);
}

/* "HTTP/1.x NNN reason": the status, or -1. */
static int status_of(const char *line, size_t n) {
  if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ') return -1;
  int st = 0;
  for (int i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') return -1;
    st = st * 10 + (line[i] - '0');
  }
  return n == 12 || line[12] == ' ' ? st : -1;
}

/* The answer's head is complete in conn->held: a 2xx with nothing after it opens the tunnel
 * (the origin speaks only after our ClientHello, so stray bytes mean a confused proxy). */
static void tunnel_answer(mol_conn *conn, size_t head_len) {
  const char *head = conn->held.data;
  size_t line = strcspn(head, "\r\n");
  int status = status_of(head, line);
  char why[160];
  if (status < 0) {
    tunnel_refused(conn, "its answer to CONNECT is not HTTP");
    return;
  }
  if (status < 200 || status > 299) {
    size_t n = line - 9 > 120 ? 120 : line - 9; /* the status line only, bounded */
    snprintf(why, sizeof(why), "HTTP %.*s", (int)n, head + 9);
    tunnel_refused(conn, why);
    return;
  }
  if (conn->held.len != head_len) {
    tunnel_refused(conn, "bytes after its answer to CONNECT");
    return;
  }
  mol_stream_read_stop(&conn->s);
  tunnel_open(conn);
}

static void tunnel_on_read(mol_stream *s, ssize_t nread, const char *data) {
  mol_conn *conn = s->data;
  if (conn->dead) return;
  if (nread < 0) {
    tunnel_refused(conn, "it closed the connection before answering CONNECT");
    return;
  }
  conn->req->last_activity = uv_now(s->loop);
  if (conn->held.len + (size_t)nread > TUNNEL_HEAD_MAX) {
    tunnel_refused(conn, "its answer to CONNECT is too long");
    return;
  }
  if (mol_buf_append(&conn->held, data, (size_t)nread) ||
      mol_buf_append(&conn->held, "", 1)) { /* NUL for the string functions, then dropped */
    mol_http__conn_fail(conn, conn->req, MOL_ENOMEM);
    return;
  }
  conn->held.len--;
  const char *end = strstr(conn->held.data, "\r\n\r\n");
  if (end) tunnel_answer(conn, (size_t)(end - conn->held.data) + 4);
}

static int append_connect(mol_buf *b, const mol_url *u, const char *auth) {
  const char *l = u->ipv6 ? "[" : "", *r = u->ipv6 ? "]" : "";
  int rc = mol_buf_printf(b, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n", l, u->host, r,
                          u->port, l, u->host, r, u->port);
  if (!rc && auth) rc = mol_buf_printf(b, "Proxy-Authorization: %s\r\n", auth);
  return rc ? rc : mol_buf_append(b, "\r\n", 2);
}

void mol_http__tunnel_start(mol_conn *conn) {
  mol_buf req = {0};
  int rc = append_connect(&req, &conn->o->url, conn->o->proxy->auth);
  if (!rc) rc = mol_stream_write(&conn->s, req.data, req.len, NULL, NULL);
  if (!rc) rc = mol_stream_read_start(&conn->s, tunnel_on_read);
  if (req.data) memset(req.data, 0, req.len); /* it may carry the proxy's password */
  mol_buf_free(&req);
  if (rc) mol_http__conn_fail(conn, conn->req, rc);
}
