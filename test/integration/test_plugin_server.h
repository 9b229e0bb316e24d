/* test_plugin_server.h - a minimal HTTP/1.1 server on raw libuv for the plugin tests: fixed
 * routes, one request per connection (Connection: close), optional throttling, truncation and
 * extra headers, and a record of what each request carried. Header-only. */
#ifndef TEST_PLUGIN_SERVER_H
#define TEST_PLUGIN_SERVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

enum { TPS_MAX_ROUTES = 8, TPS_MAX_REQS = 64 };

typedef struct {
  const char *method, *path;  /* exact match on the path (query excluded) */
  int status;
  const char *extra_headers;  /* "Name: value\r\n" lines or NULL */
  char *body;                 /* owned by the caller */
  size_t body_len;
  size_t truncate_at;         /* >0: close after this many body bytes (Content-Length is full) */
  size_t chunk;               /* throttling: bytes per tick (0 = all at once) */
  unsigned tick_ms;
} tps_route;

typedef struct {
  char method[8], target[1024], auth[256], body[4096];
} tps_record;

typedef struct tps_server {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  int port;
  tps_route routes[TPS_MAX_ROUTES];
  int nroutes;
  tps_record reqs[TPS_MAX_REQS];
  int nreqs;
} tps_server;

typedef struct {
  uv_tcp_t tcp;
  tps_server *srv;
  char in[16384];
  size_t in_len;
  const tps_route *route;
  size_t sent, limit;
  uv_timer_t timer;
  int closing, timer_on;
} tps_conn;

static void tps_conn_closed(uv_handle_t *h) {
  tps_conn *c = h->data;
  if (--c->closing == 0) free(c);
}

static void tps_conn_close(tps_conn *c) {
  if (c->closing) return;
  c->closing = 1 + c->timer_on;
  if (c->timer_on) uv_close((uv_handle_t *)&c->timer, tps_conn_closed);
  uv_close((uv_handle_t *)&c->tcp, tps_conn_closed);
}

static void tps_after_write(uv_write_t *w, int status) {
  free(w->data);
  free(w);
  (void)status;
}

static void tps_send(tps_conn *c, const char *data, size_t len) {
  uv_write_t *w = malloc(sizeof(*w));
  char *copy = malloc(len ? len : 1);
  memcpy(copy, data, len);
  w->data = copy;
  uv_buf_t b = uv_buf_init(copy, (unsigned)len);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, tps_after_write) != 0) {
    free(copy);
    free(w);
  }
}

static void tps_shutdown_cb(uv_shutdown_t *s, int status) {
  tps_conn *c = s->data;
  (void)status;
  free(s);
  tps_conn_close(c);
}

static void tps_finish(tps_conn *c) {
  uv_shutdown_t *s = malloc(sizeof(*s));
  s->data = c;
  if (uv_shutdown(s, (uv_stream_t *)&c->tcp, tps_shutdown_cb) != 0) {
    free(s);
    tps_conn_close(c);
  }
}

static void tps_tick(uv_timer_t *t) {
  tps_conn *c = t->data;
  if (c->closing) return;
  size_t n = c->limit - c->sent;
  if (c->route->chunk && n > c->route->chunk) n = c->route->chunk;
  /* crude back-pressure: wait while the kernel and libuv hold more than 4 chunks */
  if (c->route->chunk && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 4 * c->route->chunk)
    return;
  tps_send(c, c->route->body + c->sent, n);
  c->sent += n;
  if (c->sent >= c->limit) {
    uv_timer_stop(t);
    tps_finish(c);
  }
}

static void tps_respond(tps_conn *c, const tps_route *r) {
  char head[1024];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                   r->status, r->body_len, r->extra_headers ? r->extra_headers : "");
  tps_send(c, head, (size_t)n);
  c->route = r;
  c->limit = r->truncate_at ? r->truncate_at : r->body_len;
  if (!r->chunk || !c->limit) {
    if (c->limit) tps_send(c, r->body, c->limit);
    tps_finish(c);
    return;
  }
  uv_timer_init(c->srv->loop, &c->timer);
  c->timer.data = c;
  c->timer_on = 1;
  uv_timer_start(&c->timer, tps_tick, 0, r->tick_ms ? r->tick_ms : 1);
}

static void tps_record_req(tps_conn *c, const char *body) {
  tps_server *s = c->srv;
  if (s->nreqs >= TPS_MAX_REQS) return;
  tps_record *rec = &s->reqs[s->nreqs++];
  memset(rec, 0, sizeof(*rec));
  sscanf(c->in, "%7s %1023s", rec->method, rec->target);
  const char *a = strcasestr(c->in, "\r\nAuthorization: ");
  if (a) sscanf(a + 17, "%255[^\r]", rec->auth);
  snprintf(rec->body, sizeof(rec->body), "%s", body);
}

static void tps_handle(tps_conn *c, const char *body) {
  tps_record_req(c, body);
  tps_record *rec = &c->srv->reqs[c->srv->nreqs - 1];
  char path[1024];
  snprintf(path, sizeof(path), "%s", rec->target);
  char *q = strchr(path, '?');
  if (q) *q = '\0';
  for (int i = 0; i < c->srv->nroutes; i++) {
    const tps_route *r = &c->srv->routes[i];
    if (!strcmp(r->method, rec->method) && !strcmp(r->path, path)) {
      tps_respond(c, r);
      return;
    }
  }
  static tps_route not_found = {"", "", 404, NULL, "{\"error\":\"no such route\"}", 25, 0, 0, 0};
  tps_respond(c, &not_found);
}

static void tps_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  tps_conn *c = h->data;
  (void)sz;
  *b = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - 1 - c->in_len));
}

static void tps_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  tps_conn *c = s->data;
  (void)b;
  if (n < 0) {
    tps_conn_close(c);
    return;
  }
  c->in_len += (size_t)n;
  c->in[c->in_len] = '\0';
  char *end = strstr(c->in, "\r\n\r\n");
  if (!end) return;
  size_t want = 0;
  const char *cl = strcasestr(c->in, "\r\nContent-Length: ");
  if (cl && cl < end) want = strtoul(cl + 18, NULL, 10);
  if (c->in_len < (size_t)(end + 4 - c->in) + want) return;
  uv_read_stop(s);
  tps_handle(c, end + 4);
}

static void tps_on_conn(uv_stream_t *server, int status) {
  tps_server *s = server->data;
  if (status) return;
  tps_conn *c = calloc(1, sizeof(*c));
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    tps_conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, tps_alloc, tps_read);
}

static int tps_start(tps_server *s, uv_loop_t *loop) {
  s->loop = loop;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(loop, &s->tcp);
  s->tcp.data = s;
  if (uv_tcp_bind(&s->tcp, (const struct sockaddr *)&addr, 0)) return -1;
  if (uv_listen((uv_stream_t *)&s->tcp, 128, tps_on_conn)) return -1;
  struct sockaddr_in bound;
  int len = sizeof(bound);
  uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &len);
  s->port = ntohs(bound.sin_port);
  return 0;
}

static tps_route *tps_add(tps_server *s, const char *method, const char *path, int status,
                          char *body, size_t len) {
  tps_route *r = &s->routes[s->nroutes++];
  memset(r, 0, sizeof(*r));
  r->method = method;
  r->path = path;
  r->status = status;
  r->body = body;
  r->body_len = len;
  return r;
}

static void tps_stop(tps_server *s) { uv_close((uv_handle_t *)&s->tcp, NULL); }

/* Reads a whole file into memory (the caller frees). */
static char *tps_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

#endif
