/* HTTP client faults against a misbehaving loopback peer: timeouts, cancellation, resets,
 * refusals, size bounds, streaming back-pressure and shutdown with requests in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_client_env.h"

/* A listener whose accept queue is full and is never accepted from: Linux drops further SYNs,
 * so a connect to it hangs - a connect timeout on loopback, without unroutable addresses. */
typedef struct {
  int listen_fd;
  int fillers[4];
  int port;
} full_backlog;

static void full_backlog_open(full_backlog *b) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  b->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(bind(b->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(b->listen_fd, 0), 0);
  assert_int_equal(getsockname(b->listen_fd, (struct sockaddr *)&a, &len), 0);
  b->port = ntohs(a.sin_port);
  for (int i = 0; i < 4; i++) {
    b->fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(b->fillers[i], F_SETFL, O_NONBLOCK);
    connect(b->fillers[i], (struct sockaddr *)&a, sizeof(a));
  }
  /* The listener turns readable once a handshake has completed into its accept queue, which
   * then holds all it may (backlog 0): later SYNs are dropped from here on. */
  struct pollfd p = {.fd = b->listen_fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 30000), 1);
}

static void full_backlog_close(full_backlog *b) {
  for (int i = 0; i < 4; i++) close(b->fillers[i]);
  close(b->listen_fd);
}

static void connect_timeout(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_silent, NULL);
  full_backlog b;
  full_backlog_open(&b);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", b.port);
  result res = {0};
  /* the other timers far off: only the connect timeout can end this before the kernel gives up
   * on its SYNs (about two minutes) */
  mol_http_request_opts o = {.url = url, .connect_timeout_ms = 200, .idle_timeout_ms = 600000,
                             .total_timeout_ms = 600000};
  uint64_t start = uv_now(&e.loop);
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  uint64_t took = uv_now(&e.loop) - start;
  assert_int_equal(res.err, MOL_ETIMEDOUT);
  assert_int_equal(res.had_resp, 0);
  assert_true(took >= 190);
  env_teardown(&e);
  full_backlog_close(&b);
  assert_int_equal(res.calls, 1);
}

static void idle_timeout(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_silent, NULL);
  result res = {0};
  mol_http_request_opts o = {.url = e.url, .idle_timeout_ms = 100};
  uint64_t start = uv_now(&e.loop);
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, MOL_ETIMEDOUT);
  assert_int_equal(res.had_resp, 0);
  assert_true(uv_now(&e.loop) - start >= 95);
  assert_int_equal(e.fs.nrequests, 1);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
}

/* Sends the head, then one body byte every 20 ms: never idle, never finished. */
static void trickle_tick(uv_timer_t *t) {
  fake_conn *fc = t->data;
  fs_write(fc, "x");
  if (--fc->remaining == 0) uv_timer_stop(t);
}

static void fs_trickle(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_write(fc, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  fc->remaining = 1000;
  uv_timer_start(&fc->timer, trickle_tick, 20, 20);
}

static void total_timeout(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_trickle, NULL);
  result res = {0};
  mol_http_request_opts o = {.url = e.url, .idle_timeout_ms = 1000, .total_timeout_ms = 250};
  uint64_t start = uv_now(&e.loop);
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  uint64_t took = uv_now(&e.loop) - start;
  assert_int_equal(res.err, MOL_ETIMEDOUT);
  assert_int_equal(res.had_resp, 1); /* the head had arrived */
  assert_int_equal(res.status, 200);
  assert_true(took >= 245);
  /* cut short: the trickle never idles, so only the total timeout ends it before its end */
  assert_true(res.body.len > 0 && res.body.len < 1000);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void cancel_before_response(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_silent, NULL);
  result res = {0};
  mol_http_request *r;
  assert_int_equal(env_get(&e, NULL, &res, &r), 0);
  mol_http_request_cancel(r);
  assert_int_equal(res.calls, 0); /* never inside cancel */
  mol_http_request_cancel(r);     /* twice is harmless */
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, MOL_ECANCELED);
  run_for(&e, 50);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
}

/* Requests waiting for a pool slot: one cancelled, one timing out, both exactly once. */
static void queued_cancel_and_total_timeout(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 1};
  env_setup(&e, fs_silent, &co);
  result busy = {0}, cancelled = {0}, late = {0};
  mol_http_request *r;
  assert_int_equal(env_get(&e, NULL, &busy, NULL), 0);
  assert_int_equal(env_get(&e, NULL, &cancelled, &r), 0);
  mol_http_request_opts o = {.url = e.url, .total_timeout_ms = 100};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &late, NULL), 0);
  mol_http_request_cancel(r);
  assert_int_equal(cancelled.calls, 0);
  run_until(&e, &late.calls, 1);
  assert_int_equal(cancelled.err, MOL_ECANCELED);
  assert_int_equal(late.err, MOL_ETIMEDOUT);
  assert_int_equal(e.fs.nconns, 1);
  assert_int_equal(e.fs.nrequests, 1); /* neither queued request reached the wire */
  assert_int_equal(busy.calls, 0);
  env_teardown(&e);
  assert_int_equal(busy.err, MOL_ESHUTDOWN);
  assert_int_equal(busy.calls + cancelled.calls + late.calls, 3);
}

static const char *const OK_RESP = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void idle_pool_bound_and_expiry(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 3, .max_idle_per_origin = 1,
                             .idle_keepalive_ms = 150};
  env_setup(&e, fs_canned, &co);
  e.fs.canned = OK_RESP;
  int done = 0;
  result res[3] = {{.counter = &done}, {.counter = &done}, {.counter = &done}};
  for (int i = 0; i < 3; i++) assert_int_equal(env_get(&e, NULL, &res[i], NULL), 0);
  run_until(&e, &done, 3);
  assert_int_equal(e.fs.nconns, 3);
  run_for(&e, 50);
  assert_int_equal(e.fs.live, 1); /* only one kept idle */
  run_for(&e, 250);
  assert_int_equal(e.fs.live, 0); /* and it expired */
  env_teardown(&e);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].err, 0);
    mol_buf_free(&res[i].body);
  }
}

typedef struct {
  result res;
  mol_http_request *r;
  int cancel_in_body;
  int cancelled_inside;
  size_t got;
  uv_timer_t timer;
} cancel_ctx;

static int cancel_on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)data;
  cancel_ctx *cc = arg;
  cc->got += len;
  if (cc->cancel_in_body && !cc->cancelled_inside) {
    cc->cancelled_inside = 1;
    mol_http_request_cancel(r);
    assert_int_equal(cc->res.calls, 0);
  }
  return 0;
}

static void cancel_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  res_done(r, err, resp, &((cancel_ctx *)arg)->res);
}

static void cancel_tick(uv_timer_t *t) { mol_http_request_cancel(t->data); }

static void cancel_during_response(void **state) {
  (void)state;
  for (int inside = 0; inside < 2; inside++) {
    env e;
    env_setup(&e, fs_trickle, NULL);
    cancel_ctx cc = {.cancel_in_body = inside};
    mol_http_request_opts o = {.url = e.url, .on_body = cancel_on_body};
    assert_int_equal(mol_http_request_send(e.c, &o, cancel_done, &cc, &cc.r), 0);
    uv_timer_init(&e.loop, &cc.timer);
    cc.timer.data = cc.r;
    if (!inside) uv_timer_start(&cc.timer, cancel_tick, 100, 0);
    run_until(&e, &cc.res.calls, 1);
    uv_timer_stop(&cc.timer);
    uv_close((uv_handle_t *)&cc.timer, NULL);
    assert_int_equal(cc.res.err, MOL_ECANCELED);
    assert_int_equal(cc.res.status, 200);
    assert_true(cc.got > 0 && cc.got < 1000);
    run_for(&e, 60);
    assert_int_equal(e.fs.live, 0); /* the connection went with the request */
    env_teardown(&e);
    assert_int_equal(cc.res.calls, 1);
  }
}

static void fs_reset_mid_body(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_write(fc, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
  fs_write_then(fc, "partial", 7, FS_AFTER_RESET);
}

static void fs_eof_mid_body(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_write(fc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  fs_write_then(fc, "a\r\npart", 7, FS_AFTER_CLOSE);
}

static void fs_garbage(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_write(fc, "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n");
}

static void broken_peer(fake_handler h, int want_err, int want_resp) {
  env e;
  env_setup(&e, h, NULL);
  result res = {0};
  assert_int_equal(env_get(&e, NULL, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, want_err);
  assert_int_equal(res.had_resp, want_resp);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void reset_mid_body(void **state) {
  (void)state;
  broken_peer(fs_reset_mid_body, MOL_ECONNRESET, 1);
  broken_peer(fs_eof_mid_body, MOL_ECONNRESET, 1);
  broken_peer(fs_garbage, MOL_EBADRESP, 0);
}

static void connection_refused(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_silent, NULL);
  /* A port that was just bound and released: nothing listens there. */
  uv_tcp_t t;
  uv_tcp_init(&e.loop, &t);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&t, (struct sockaddr *)&a, 0);
  int len = sizeof(a);
  uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
  uv_close((uv_handle_t *)&t, NULL);
  char url[64];
  snprintf(url, sizeof(url), "http://localhost:%d/", ntohs(a.sin_port));
  result res = {0};
  assert_int_equal(env_get(&e, url, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, MOL_ECONNREFUSED);
  assert_int_equal(res.had_resp, 0);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
}

static void fs_big_chunked(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_write(fc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  char chunk[600];
  memset(chunk, 'a', sizeof(chunk));
  memcpy(chunk, "200\r\n", 5);
  memcpy(chunk + 5 + 512, "\r\n", 2);
  for (int i = 0; i < 4; i++) fs_write_then(fc, chunk, 5 + 512 + 2, 0);
}

static void oversized_body(void **state) {
  (void)state;
  for (int chunked = 0; chunked < 2; chunked++) {
    env e;
    env_setup(&e, chunked ? fs_big_chunked : fs_canned, NULL);
    e.fs.canned = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
    result res = {0};
    mol_http_request_opts o = {.url = e.url, .max_body_bytes = 1000};
    assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
    run_until(&e, &res.calls, 1);
    assert_int_equal(res.err, MOL_ETOOBIG);
    assert_int_equal(res.status, 200);
    assert_true(res.body.len <= 1000);
    env_teardown(&e);
    assert_int_equal(res.calls, 1);
    mol_buf_free(&res.body);
  }
}

static int abort_on_headers(mol_http_request *r, const mol_http_response *resp, void *arg) {
  (void)r;
  (void)arg;
  return resp->status == 200;
}

static void on_headers_can_abort(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  result res = {0};
  mol_http_request_opts o = {.url = e.url, .on_headers = abort_on_headers};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, MOL_ECANCELED);
  assert_int_equal(res.status, 200);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void shutdown_with_requests_in_flight(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 3};
  env_setup(&e, fs_silent, &co);
  enum { N = 6 };
  int done = 0;
  result res[N];
  memset(res, 0, sizeof(res));
  for (int i = 0; i < N; i++) {
    res[i].counter = &done;
    assert_int_equal(env_get(&e, NULL, &res[i], NULL), 0);
  }
  run_for(&e, 50); /* three in flight on the wire, three queued */
  assert_int_equal(e.fs.nrequests, 3);
  mol_http_client_close(e.c, on_client_closed, &e.closed);
  assert_int_equal(done, 0);
  run_until(&e, &e.closed, 1);
  assert_int_equal(done, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].err, MOL_ESHUTDOWN);
  }
  e.c = NULL;
  e.closed = 0;
  env_teardown(&e);
}

/* Many requests waiting at once, their total timeouts sent out of order: the client keeps
 * their deadlines without a libuv timer each, and every one still times out exactly once,
 * not before its own deadline. */
typedef struct {
  uv_loop_t *loop;
  int calls, err;
  uint64_t at;
  int *done;
} timed;

static void timed_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  (void)resp;
  timed *t = arg;
  t->calls++;
  t->err = err;
  t->at = uv_now(t->loop);
  (*t->done)++;
}

static void count_timer(uv_handle_t *h, void *arg) {
  if (h->type == UV_TIMER && !uv_is_closing(h)) (*(int *)arg)++;
}

static void many_deadlines_one_timer(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 4};
  env_setup(&e, fs_silent, &co);
  enum { N = 200 };
  static timed t[N];
  int done = 0;
  uint64_t start = uv_now(&e.loop);
  for (int i = 0; i < N; i++) {
    t[i] = (timed){.loop = &e.loop, .done = &done};
    unsigned ms = 60 + (unsigned)((i * 37) % 7) * 20; /* 60..180 ms, out of order */
    mol_http_request_opts o = {.url = e.url, .total_timeout_ms = ms};
    assert_int_equal(mol_http_request_send(e.c, &o, timed_done, &t[i], NULL), 0);
  }
  int timers = 0;
  uv_walk(&e.loop, count_timer, &timers);
  assert_true(timers < 20); /* the env's, the client's, a few per connection: not one each */
  run_until(&e, &done, N);
  for (int i = 0; i < N; i++) {
    unsigned ms = 60 + (unsigned)((i * 37) % 7) * 20;
    assert_int_equal(t[i].calls, 1);
    assert_int_equal(t[i].err, MOL_ETIMEDOUT);
    assert_true(t[i].at - start >= ms);
  }
  run_for(&e, 50);
  env_teardown(&e);
  for (int i = 0; i < N; i++) assert_int_equal(t[i].calls, 1);
}

/* Once its last request is done, the client keeps no timer holding the loop open (here the
 * connection goes with the request): a loop that has nothing else to do can end. */
static void count_ref_timer(uv_handle_t *h, void *arg) {
  if (h->type == UV_TIMER && uv_is_active(h) && uv_has_ref(h)) (*(int *)arg)++;
}

static void no_timer_holds_the_loop_after_the_last_request(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = OK_RESP;
  result res = {0};
  mol_http_header close_hdr = {"Connection", "close"};
  mol_http_request_opts o = {.url = e.url, .total_timeout_ms = 60000, .headers = &close_hdr,
                             .nheaders = 1};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  run_for(&e, 20);
  uv_timer_stop(&e.tick);
  int timers = 0;
  uv_walk(&e.loop, count_ref_timer, &timers);
  assert_int_equal(timers, 0);
  uv_timer_start(&e.tick, tick_cb, 50, 50);
  env_teardown(&e);
  mol_buf_free(&res.body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connect_timeout),
      cmocka_unit_test(idle_timeout),
      cmocka_unit_test(total_timeout),
      cmocka_unit_test(cancel_before_response),
      cmocka_unit_test(cancel_during_response),
      cmocka_unit_test(queued_cancel_and_total_timeout),
      cmocka_unit_test(idle_pool_bound_and_expiry),
      cmocka_unit_test(reset_mid_body),
      cmocka_unit_test(connection_refused),
      cmocka_unit_test(oversized_body),
      cmocka_unit_test(on_headers_can_abort),
      cmocka_unit_test(shutdown_with_requests_in_flight),
      cmocka_unit_test(many_deadlines_one_timer),
      cmocka_unit_test(no_timer_holds_the_loop_after_the_last_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
