/* platform_fake.h - a scripted fake platform for the platform-client tests: a raw libuv TCP
 * server on 127.0.0.1 that records every request and answers what the test's handler says,
 * including the faults a real server cannot produce on demand (429 storms, a reset in the
 * middle of a body, a hang, a close without answer). Header-only: each test includes it. */
#ifndef PLATFORM_FAKE_H
#define PLATFORM_FAKE_H

/* Each test uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define FAKE_MAX_LOG 512

typedef struct {
  char method[16];
  char path[2048];    /* with the query */
  char headers[8192]; /* raw header lines */
  char *body;         /* NUL-terminated */
  size_t body_len;
  uint64_t at_ms;     /* uv_now at arrival */
} fake_req;

typedef enum { FAKE_RESPOND = 0, FAKE_CLOSE, FAKE_RESET_MID_BODY, FAKE_HANG } fake_action;

typedef struct {
  int status;
  const char *headers; /* extra header lines, each ending in \r\n */
  const char *body;
  fake_action action;
  unsigned delay_ms;
} fake_resp;

typedef struct fake fake;
typedef void (*fake_handler)(fake *f, const fake_req *r, fake_resp *out, void *arg);

typedef struct fake_conn {
  uv_tcp_t tcp;
  uv_timer_t delay;
  fake *f;
  struct fake_conn *next;
  char *buf;
  size_t len, cap;
  char *pending; /* delayed response bytes */
  size_t pending_len;
  int pending_reset;
  int busy; /* a delayed response is outstanding */
} fake_conn;

struct fake {
  uv_loop_t *loop;
  uv_tcp_t server;
  int listening;
  int port;
  fake_handler handler;
  void *arg;
  fake_req log[FAKE_MAX_LOG];
  int nlog;
  fake_conn *conns;
  char scratch[8192];
};

static const char *fake_header(const fake_req *r, const char *name) {
  static char val[4096];
  size_t n = strlen(name);
  for (const char *p = r->headers; *p;) {
    const char *eol = strstr(p, "\r\n");
    if (!eol) break;
    if ((size_t)(eol - p) > n && p[n] == ':' && !strncasecmp(p, name, n)) {
      const char *v = p + n + 1;
      while (*v == ' ') v++;
      snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
      return val;
    }
    p = eol + 2;
  }
  return NULL;
}

static int fake_count(const fake *f, const char *method, const char *path_prefix) {
  int n = 0;
  for (int i = 0; i < f->nlog; i++)
    if (!strcmp(f->log[i].method, method) &&
        !strncmp(f->log[i].path, path_prefix, strlen(path_prefix)))
      n++;
  return n;
}

static void fake_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  b->base = malloc(sz);
  b->len = sz;
}

static void fake_conn_closed(uv_handle_t *h) {
  fake_conn *c = h->data;
  if (--c->busy > -2) return; /* two handles: tcp and timer */
  free(c->buf);
  free(c->pending);
  free(c);
}

static void fake_conn_close(fake_conn *c, int reset) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
  fake **pp = NULL;
  (void)pp;
  fake_conn **l = &c->f->conns;
  while (*l && *l != c) l = &(*l)->next;
  if (*l) *l = c->next;
  c->busy = 0;
  if (reset) uv_tcp_close_reset(&c->tcp, fake_conn_closed);
  else uv_close((uv_handle_t *)&c->tcp, fake_conn_closed);
  uv_close((uv_handle_t *)&c->delay, fake_conn_closed);
}

typedef struct {
  uv_write_t w;
  fake_conn *c;
  char *data;
  int reset;
} fake_write;

static void fake_written(uv_write_t *w, int status) {
  fake_write *fw = (fake_write *)w;
  (void)status;
  if (fw->reset) fake_conn_close(fw->c, 1);
  free(fw->data);
  free(fw);
}

static void fake_send(fake_conn *c, char *data, size_t len, int reset) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) {
    free(data);
    return;
  }
  fake_write *fw = calloc(1, sizeof(*fw));
  fw->c = c;
  fw->data = data;
  fw->reset = reset;
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  if (uv_write(&fw->w, (uv_stream_t *)&c->tcp, &b, 1, fake_written)) {
    free(data);
    free(fw);
  }
}

static void fake_process(fake_conn *c);

static void fake_delay_fired(uv_timer_t *t) {
  fake_conn *c = t->data;
  c->busy = 0;
  char *p = c->pending;
  c->pending = NULL;
  fake_send(c, p, c->pending_len, c->pending_reset);
  fake_process(c);
}

static char *fake_render(const fake_resp *out, size_t *len, int *reset) {
  const char *body = out->body ? out->body : "";
  size_t blen = strlen(body);
  *reset = out->action == FAKE_RESET_MID_BODY;
  size_t announced = *reset ? blen + 100 : blen;
  size_t cap = blen + 1024 + (out->headers ? strlen(out->headers) : 0);
  char *s = malloc(cap);
  int n = snprintf(s, cap,
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "%s\r\n",
                   out->status ? out->status : 200, announced, out->headers ? out->headers : "");
  memcpy(s + n, body, blen);
  *len = (size_t)n + blen;
  return s;
}

/* Handles complete requests in the buffer, one at a time. */
static void fake_process(fake_conn *c) {
  while (!c->busy && !uv_is_closing((uv_handle_t *)&c->tcp)) {
    char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (!end) return;
    size_t head = (size_t)(end - c->buf) + 4;
    fake_req *r = &c->f->log[c->f->nlog < FAKE_MAX_LOG ? c->f->nlog : FAKE_MAX_LOG - 1];
    memset(r, 0, sizeof(*r));
    char *line_end = memmem(c->buf, head, "\r\n", 2);
    sscanf(c->buf, "%15s %2047s", r->method, r->path);
    snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(head - 2 - (size_t)(line_end + 2 - c->buf)),
             line_end + 2);
    const char *cl = fake_header(r, "Content-Length");
    size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
    if (c->len < head + blen) return;
    r->body = calloc(1, blen + 1);
    memcpy(r->body, c->buf + head, blen);
    r->body_len = blen;
    r->at_ms = uv_now(c->f->loop);
    if (c->f->nlog < FAKE_MAX_LOG) c->f->nlog++;
    memmove(c->buf, c->buf + head + blen, c->len - head - blen);
    c->len -= head + blen;
    fake_resp out = {0};
    c->f->handler(c->f, r, &out, c->f->arg);
    if (out.action == FAKE_HANG) return;
    if (out.action == FAKE_CLOSE) {
      fake_conn_close(c, 0);
      return;
    }
    size_t len;
    int reset;
    char *data = fake_render(&out, &len, &reset);
    if (reset) len -= strlen(out.body ? out.body : "") / 2; /* stop in the middle of the body */
    if (out.delay_ms) {
      c->busy = 1;
      c->pending = data;
      c->pending_len = len;
      c->pending_reset = reset;
      uv_timer_start(&c->delay, fake_delay_fired, out.delay_ms, 0);
      return;
    }
    fake_send(c, data, len, reset);
    if (reset) return;
  }
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  fake_conn *c = s->data;
  if (n < 0) {
    free(b->base);
    fake_conn_close(c, 0);
    return;
  }
  if (c->len + (size_t)n + 1 > c->cap) {
    c->cap = (c->len + (size_t)n + 1) * 2;
    c->buf = realloc(c->buf, c->cap);
  }
  memcpy(c->buf + c->len, b->base, (size_t)n);
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  free(b->base);
  fake_process(c);
}

static void fake_accept(uv_stream_t *server, int status) {
  fake *f = server->data;
  if (status) return;
  fake_conn *c = calloc(1, sizeof(*c));
  c->f = f;
  uv_tcp_init(f->loop, &c->tcp);
  uv_timer_init(f->loop, &c->delay);
  c->tcp.data = c->delay.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    fake_conn_close(c, 0);
    return;
  }
  c->next = f->conns;
  f->conns = c;
  uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_read);
}

/* Listens on 127.0.0.1:port (0 = ephemeral; f->port receives the port). */
static int fake_listen(fake *f, int port) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_init(f->loop, &f->server);
  f->server.data = f;
  int rc = uv_tcp_bind(&f->server, (const struct sockaddr *)&a, 0);
  if (!rc) rc = uv_listen((uv_stream_t *)&f->server, 128, fake_accept);
  if (rc) return rc;
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  uv_tcp_getsockname(&f->server, (struct sockaddr *)&ss, &len);
  f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  f->listening = 1;
  return 0;
}

static void fake_init(fake *f, uv_loop_t *loop, fake_handler h, void *arg) {
  memset(f, 0, sizeof(*f));
  f->loop = loop;
  f->handler = h;
  f->arg = arg;
}

/* Stops listening and drops every connection (the port can be reused afterwards). */
static void fake_stop(fake *f) {
  if (f->listening) uv_close((uv_handle_t *)&f->server, NULL);
  f->listening = 0;
  while (f->conns) fake_conn_close(f->conns, 0);
}

static void fake_free_log(fake *f) {
  for (int i = 0; i < f->nlog; i++) free(f->log[i].body);
  f->nlog = 0;
}

/* ---- loop helpers ---- */

static void fake_tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until *flag is non-zero or timeout_ms pass. Returns *flag. */
static int run_until(uv_loop_t *loop, volatile int *flag, unsigned timeout_ms) {
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  uv_timer_start(&guard, fake_tick, 20, 20);
  uv_update_time(loop);
  uint64_t end = uv_now(loop) + timeout_ms;
  while (!*flag && uv_now(loop) < end) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag;
}

/* Runs the loop for ms milliseconds. */
static void run_for(uv_loop_t *loop, unsigned ms) {
  int never = 0;
  run_until(loop, &never, ms);
}

/* Drains closing handles so valgrind/ASan see no leaks. */
static void loop_drain(uv_loop_t *loop) {
  for (int i = 0; i < 50; i++) uv_run(loop, UV_RUN_NOWAIT);
}

#endif
