/* Helpers for the HTTP server integration tests: a raw libuv TCP test client on the same loop
 * as the server, a loop runner with a deadline, and a response splitter built on llhttp. */
#ifndef TEST_HTTP_SERVER_UTIL_H
#define TEST_HTTP_SERVER_UTIL_H

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "http/server.h"
#include "molecule.h"

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t creq;
  mol_buf in;
  int connected, eof, closed, status;
} tclient;

static char tc_buf[64 * 1024];

static inline void tc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  b->base = tc_buf;
  b->len = sizeof(tc_buf);
}

static inline void tc_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  tclient *c = s->data;
  if (n > 0) mol_buf_append(&c->in, b->base, (size_t)n);
  if (n < 0) {
    c->eof = 1;
    uv_read_stop(s);
  }
}

static inline void tc_on_connect(uv_connect_t *req, int status) {
  tclient *c = req->data;
  c->status = status;
  c->connected = status == 0 ? 1 : -1;
  if (status == 0) uv_read_start((uv_stream_t *)&c->tcp, tc_alloc, tc_on_read);
}

/* Connects to ip:port; rcvbuf > 0 shrinks the receive buffer (for back-pressure tests). */
static inline tclient *tc_open(uv_loop_t *loop, const char *ip, int port, int rcvbuf) {
  tclient *c = calloc(1, sizeof(*c));
  struct sockaddr_storage ss;
  int v6 = strchr(ip, ':') != NULL;
  if (v6) uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss);
  else uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);
  uv_tcp_init_ex(loop, &c->tcp, v6 ? AF_INET6 : AF_INET);
  if (rcvbuf > 0) uv_recv_buffer_size((uv_handle_t *)&c->tcp, &rcvbuf);
  c->tcp.data = c;
  c->creq.data = c;
  uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&ss, tc_on_connect);
  return c;
}

static inline void tc_on_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static inline void tc_send(tclient *c, const void *data, size_t len) {
  uv_write_t *w = malloc(sizeof(*w) + len);
  memcpy(w + 1, data, len);
  uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);
  uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, tc_on_written);
}

static inline void tc_send_str(tclient *c, const char *s) { tc_send(c, s, strlen(s)); }

static inline void tc_on_closed(uv_handle_t *h) {
  tclient *c = h->data;
  mol_buf_free(&c->in);
  free(c);
}

static inline void tc_close(tclient *c) { uv_close((uv_handle_t *)&c->tcp, tc_on_closed); }

/* ---- running the loop -------------------------------------------------------------------- */

static inline void tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until pred(arg) holds or ms pass; returns pred's final value. */
static inline int run_until(uv_loop_t *loop, int (*pred)(void *), void *arg, unsigned ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, tick, 5, 5);
  uint64_t end = uv_now(loop) + ms;
  int ok;
  while (!(ok = pred(arg)) && uv_now(loop) < end) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

static inline int never(void *arg) {
  (void)arg;
  return 0;
}

static inline void run_for(uv_loop_t *loop, unsigned ms) { run_until(loop, never, NULL, ms); }

static inline int is_connected(void *arg) { return ((tclient *)arg)->connected != 0; }
static inline int has_eof(void *arg) { return ((tclient *)arg)->eof; }

/* ---- parsing responses ------------------------------------------------------------------ */

typedef struct {
  int status;
  int keep_alive;
  mol_buf body;
} tresp;

typedef struct {
  tresp *r;
  int n, max;
} tresps;

static inline int tr_begin(llhttp_t *p) {
  tresps *rs = p->data;
  if (rs->n < rs->max) memset(&rs->r[rs->n], 0, sizeof(tresp));
  return 0;
}

static inline int tr_body(llhttp_t *p, const char *at, size_t len) {
  tresps *rs = p->data;
  if (rs->n < rs->max) mol_buf_append(&rs->r[rs->n].body, at, len);
  return 0;
}

static inline int tr_complete(llhttp_t *p) {
  tresps *rs = p->data;
  if (rs->n < rs->max) {
    rs->r[rs->n].status = p->status_code;
    rs->r[rs->n].keep_alive = llhttp_should_keep_alive(p);
  }
  rs->n++;
  return 0;
}

/* Splits everything the client received into complete responses (HEAD responses are not
 * supported here). Returns how many; free with tresp_free. */
static inline int tc_responses(tclient *c, tresp *out, int max) {
  llhttp_settings_t st;
  llhttp_settings_init(&st);
  st.on_message_begin = tr_begin;
  st.on_body = tr_body;
  st.on_message_complete = tr_complete;
  llhttp_t p;
  llhttp_init(&p, HTTP_RESPONSE, &st);
  tresps rs = {out, 0, max};
  memset(out, 0, sizeof(*out) * (size_t)max);
  p.data = &rs;
  if (c->in.len && llhttp_execute(&p, c->in.data, c->in.len) == HPE_OK && c->eof)
    llhttp_finish(&p); /* completes a close-delimited body */
  if (rs.n < max) mol_buf_free(&out[rs.n].body); /* a partial message's */
  return rs.n;
}

static inline void tresp_free(tresp *r, int n) {
  for (int i = 0; i < n; i++) mol_buf_free(&r[i].body);
}

typedef struct {
  tclient *c;
  int want;
} resp_wait;

static inline int has_responses(void *arg) {
  resp_wait *w = arg;
  tresp r[32];
  int n = tc_responses(w->c, r, 32);
  tresp_free(r, n < 32 ? n : 32);
  return n >= w->want;
}

/* Waits for n complete responses on c. */
static inline int wait_responses(uv_loop_t *loop, tclient *c, int n, unsigned ms) {
  resp_wait w = {c, n};
  return run_until(loop, has_responses, &w, ms);
}

/* ---- server lifecycle -------------------------------------------------------------------- */

static inline void count_close(void *arg) { (*(int *)arg)++; }

/* Closes the server, runs the loop dry and checks that nothing was left behind. */
static inline void close_server_and_loop(uv_loop_t *loop, mol_http_server *s) {
  int closed = 0;
  mol_http_server_close(s, 1000, count_close, &closed);
  for (int i = 0; i < 200 && !closed; i++) uv_run(loop, UV_RUN_ONCE);
  uv_run(loop, UV_RUN_DEFAULT);
  if (closed != 1 || uv_loop_close(loop) != 0) abort();
}

#endif
