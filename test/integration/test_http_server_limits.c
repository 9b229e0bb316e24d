/* HTTP server limits over loopback: the Host rules; header, body, whole-request, idle and
 * send timeouts; the connection limit and the pipelining limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>

#include "test_http_server_util.h"

#define MIB (1024 * 1024)

typedef struct {
  uv_loop_t loop;
  mol_http_server *s;
  int port;
  int requests;
  mol_http_req *held[8];
  int nheld;
  char *big;              /* the body /big answers with */
  size_t big_len;
  mol_http_req *sse;      /* the stream /sse is writing */
  uv_timer_t sse_timer;
  int events, aborts;
} fixture;

static void h_text(mol_http_req *r, void *arg) {
  ((fixture *)arg)->requests++;
  const char *path = mol_http_req_path(r);
  mol_http_respond(r, 200, "text/plain", path, strlen(path));
}

static void h_hold(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->requests++;
  f->held[f->nheld++] = r;
}

static void h_big(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->requests++;
  mol_http_respond(r, 200, "application/octet-stream", f->big, f->big_len);
}

#define SSE_EVENTS 20

static void sse_tick(uv_timer_t *t) {
  fixture *f = t->data;
  char ev[32];
  int n = snprintf(ev, sizeof(ev), "tick %d", ++f->events);
  assert_int_equal(mol_http_sse_send(f->sse, "tick", ev, (size_t)n), 0);
  if (f->events < SSE_EVENTS) return;
  uv_timer_stop(t);
  assert_int_equal(mol_http_resp_end(f->sse), 0);
  f->sse = NULL;
}

static void sse_aborted(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->aborts++;
  uv_timer_stop(&f->sse_timer);
  mol_http_resp_end(r);
  f->sse = NULL;
}

/* An event every 30 ms, SSE_EVENTS of them, then the end of the stream. */
static void h_sse(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->requests++;
  f->sse = r;
  mol_http_req_on_abort(r, sse_aborted, f);
  assert_int_equal(mol_http_sse_start(r), 0);
  uv_timer_start(&f->sse_timer, sse_tick, 30, 30);
}

static void setup(fixture *f, const mol_http_server_opts *o) {
  memset(f, 0, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(mol_http_server_new(&f->loop, o, &f->s), 0);
  assert_int_equal(mol_http_server_route(f->s, NULL, "/", 1, h_text, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/hold", 0, h_hold, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/big", 0, h_big, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/sse", 0, h_sse, f), 0);
  uv_timer_init(&f->loop, &f->sse_timer);
  f->sse_timer.data = f;
  assert_int_equal(mol_http_server_listen(f->s, "127.0.0.1", 0), 0);
  f->port = mol_http_server_port(f->s);
}

static tclient *connect_ok(fixture *f) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", f->port, 0);
  assert_true(run_until(&f->loop, is_connected, c, 2000));
  assert_int_equal(c->connected, 1);
  return c;
}

static int response_or_eof(void *arg) {
  resp_wait w = {arg, 1};
  return ((tclient *)arg)->eof || has_responses(&w);
}

/* Cheaper than parsing everything received on every loop turn, for a large body. */
typedef struct {
  tclient *c;
  size_t want;
} bytes_wait;

static int bytes_or_eof(void *arg) {
  bytes_wait *w = arg;
  return w->c->eof || w->c->in.len >= w->want;
}

/* A client with a small receive buffer that reads nothing. */
static tclient *connect_mute(fixture *f) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", f->port, 4096);
  assert_true(run_until(&f->loop, is_connected, c, 2000));
  assert_int_equal(c->connected, 1);
  uv_read_stop((uv_stream_t *)&c->tcp);
  return c;
}

/* The server dropped c: its socket left ESTABLISHED (a reset or FIN arrived). Seen without
 * reading, since the clients this is for read nothing. */
static int peer_dropped(void *arg) {
  tclient *c = arg;
  uv_os_fd_t fd;
  struct tcp_info ti;
  socklen_t len = sizeof(ti);
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
    return 1;
  return ti.tcpi_state != TCP_ESTABLISHED;
}

static void close_fixture(fixture *f) {
  uv_close((uv_handle_t *)&f->sse_timer, NULL);
  close_server_and_loop(&f->loop, f->s);
  free(f->big);
}

static void expect_status_then_eof(fixture *f, tclient *c, const char *status, unsigned ms) {
  assert_true(run_until(&f->loop, has_eof, c, ms));
  assert_non_null(c->in.data);
  if (strncmp(c->in.data, status, strlen(status)) != 0) fail_msg("got [%s]", c->in.data);
}

/* RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host; a refusal closes like any
 * other framing error, and the request never reaches a handler. */
static void host_rules(void **state) {
  (void)state;
  static const char *const refused[] = {
    "GET /none HTTP/1.1\r\n\r\n",
    "GET /two HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nhost: a\r\n\r\nhi",
  };
  fixture f;
  setup(&f, NULL);
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    tclient *c = connect_ok(&f);
    tc_send_str(c, refused[i]);
    expect_status_then_eof(&f, c, "HTTP/1.1 400 ", 2000);
    assert_non_null(strstr(c->in.data, "Connection: close\r\n"));
    tc_close(c);
  }
  assert_int_equal(f.requests, 0);
  /* HTTP/1.0 predates Host: still served, kept alive on request. */
  tclient *c = connect_ok(&f);
  tc_send_str(c, "GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                 "GET /eleven HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_true(wait_responses(&f.loop, c, 2, 2000));
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 2);
  assert_int_equal(r[0].status, 200);
  assert_string_equal(r[0].body.data, "/ten");
  assert_int_equal(r[1].status, 200);
  assert_string_equal(r[1].body.data, "/eleven");
  tresp_free(r, 2);
  assert_false(c->eof);
  assert_int_equal(f.requests, 2);
  tc_close(c);
  close_fixture(&f);
}

static void header_timeout_spares_others(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.header_timeout_ms = 300, .idle_timeout_ms = 60000};
  setup(&f, &o);
  tclient *slow = connect_ok(&f);
  uint64_t t0 = uv_now(&f.loop);
  /* A byte every 50 ms does not extend the deadline of the whole header block: the 408 comes
   * while the dribble (at least 1.3 s) is still going. A timer that each byte restarted would
   * fire only 300 ms after the last one. */
  static const char dribble[] = "GET /x HTTP/1.1\r\nHost: a\r\n";
  size_t sent = 0;
  for (size_t i = 0; i < sizeof(dribble) - 1 && !slow->eof; i++, sent++) {
    tc_send(slow, dribble + i, 1);
    run_for(&f.loop, 50);
    if (i == 2) {
      tclient *good = connect_ok(&f);
      tc_send_str(good, "GET /good HTTP/1.1\r\nHost: t\r\n\r\n");
      assert_true(wait_responses(&f.loop, good, 1, 1000));
      assert_non_null(strstr(good->in.data, "/good"));
      tc_close(good);
    }
  }
  expect_status_then_eof(&f, slow, "HTTP/1.1 408 ", 30000);
  assert_true(uv_now(&f.loop) - t0 >= 250);
  assert_true(sent < sizeof(dribble) - 1);
  assert_int_equal(f.requests, 1);
  tc_close(slow);
  close_fixture(&f);
}

/* A connection that never starts a request gets the header timeout, not the idle one. */
static void silent_connection_closed(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.header_timeout_ms = 200, .idle_timeout_ms = 60000};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  uint64_t t0 = uv_now(&f.loop);
  assert_true(run_until(&f.loop, has_eof, c, 2000));
  assert_true(uv_now(&f.loop) - t0 >= 150);
  assert_int_equal(c->in.len, 0);
  tc_close(c);
  close_fixture(&f);
}

static void body_timeout(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.body_timeout_ms = 200};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  tc_send_str(c, "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  expect_status_then_eof(&f, c, "HTTP/1.1 408 ", 2000);
  assert_int_equal(f.requests, 0);
  tc_close(c);
  close_fixture(&f);
}

static void idle_timeout_closes(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.idle_timeout_ms = 200};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  tc_send_str(c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, c, 1, 1000));
  size_t len = c->in.len;
  uint64_t t0 = uv_now(&f.loop);
  assert_true(run_until(&f.loop, has_eof, c, 2000));
  assert_true(uv_now(&f.loop) - t0 >= 150);
  assert_int_equal(c->in.len, len); /* closed silently */
  tc_close(c);
  close_fixture(&f);
}

/* The idle timer counts from the last request, not from the connection's start. */
static void idle_timeout_spares_busy_connections(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.idle_timeout_ms = 200};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  for (int i = 1; i <= 8; i++) {
    tc_send_str(c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(wait_responses(&f.loop, c, i, 1000));
    run_for(&f.loop, 80);
  }
  assert_false(c->eof);
  tc_close(c);
  close_fixture(&f);
}

/* A body trickled a byte every 50 ms never trips the 300 ms gap timer, but the whole request
 * must arrive within request_timeout_ms: 408 and close. */
static void trickled_body_hits_request_deadline(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.body_timeout_ms = 300, .request_timeout_ms = 500};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  tc_send_str(c, "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
  for (int i = 0; i < 100 && !c->eof; i++) {
    run_for(&f.loop, 50);
    tc_send(c, "x", 1);
  }
  expect_status_then_eof(&f, c, "HTTP/1.1 408 ", 2000);
  assert_int_equal(f.requests, 0);
  tc_close(c);
  close_fixture(&f);
}

/* A complete response the client does not read: dropped after send_timeout_ms, although
 * the connection is otherwise idle (the idle timer is a minute). */
static void unread_response_dropped(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.send_timeout_ms = 200};
  setup(&f, &o);
  f.big_len = 16 * MIB;
  f.big = calloc(1, f.big_len);
  tclient *c = connect_mute(&f);
  tc_send_str(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, peer_dropped, c, 5000));
  assert_int_equal(f.requests, 1);
  tc_close(c);
  close_fixture(&f);
}

/* A client that pipelines requests for large answers and reads none: the server stops
 * taking requests once max_write_queue bytes wait for it, instead of queuing an answer per
 * request, and drops it after the send timeout. */
static void unread_pipeline_bounded(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.send_timeout_ms = 300, .max_write_queue = MIB};
  setup(&f, &o);
  f.big_len = MIB;
  f.big = calloc(1, f.big_len);
  tclient *c = connect_mute(&f);
  mol_buf b = MOL_BUF_INIT;
  for (int i = 0; i < 64; i++) mol_buf_append_str(&b, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  tc_send(c, b.data, b.len);
  mol_buf_free(&b);
  assert_true(run_until(&f.loop, peer_dropped, c, 5000));
  if (f.requests >= 16) fail_msg("%d requests answered into a full write queue", f.requests);
  tc_close(c);
  close_fixture(&f);
}

/* A slow reader that keeps making progress is not a stalled one, even when one write takes
 * far longer than the send timeout to drain. */
#define PACE_BYTES (64 * 1024) /* read per 25 ms tick: at most 2.6 MB/s */
static struct {
  tclient *c;
  size_t window;
} pace;

static void paced_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  tc_on_read(s, n, b);
  if (n > 0 && (pace.window += (size_t)n) >= PACE_BYTES) uv_read_stop(s);
}

static void pace_tick(uv_timer_t *t) {
  (void)t;
  pace.window = 0;
  if (!pace.c->eof) uv_read_start((uv_stream_t *)&pace.c->tcp, tc_alloc, paced_on_read);
}

static void slow_reader_kept(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.send_timeout_ms = 1500}; /* the write takes seconds to drain */
  setup(&f, &o);
  f.big_len = 16 * MIB;
  f.big = calloc(1, f.big_len);
  tclient *c = tc_open(&f.loop, "127.0.0.1", f.port, 64 * 1024);
  assert_true(run_until(&f.loop, is_connected, c, 2000));
  uv_read_stop((uv_stream_t *)&c->tcp);
  pace.c = c;
  uv_timer_t t;
  uv_timer_init(&f.loop, &t);
  uv_timer_start(&t, pace_tick, 25, 25);
  tc_send_str(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  bytes_wait w = {c, f.big_len + 64}; /* body and head */
  assert_true(run_until(&f.loop, bytes_or_eof, &w, 60000));
  assert_false(c->eof);
  tresp r[1];
  assert_int_equal(tc_responses(c, r, 1), 1);
  assert_int_equal(r[0].status, 200);
  assert_int_equal(r[0].body.len, f.big_len);
  tresp_free(r, 1);
  uv_close((uv_handle_t *)&t, NULL);
  tc_close(c);
  close_fixture(&f);
}

/* An SSE stream the client reads outlives every timeout: the request deadline ends when the
 * request is complete, and the send timeout counts only a lack of progress. */
static void sse_being_read_survives(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.header_timeout_ms = 150, .body_timeout_ms = 150,
                            .request_timeout_ms = 150, .idle_timeout_ms = 150,
                            .send_timeout_ms = 150};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  tc_send_str(c, "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, response_or_eof, c, 10000)); /* 20 events, 30 ms apart */
  tresp r[1];
  assert_int_equal(tc_responses(c, r, 1), 1);
  assert_int_equal(r[0].status, 200);
  assert_non_null(strstr(r[0].body.data, "data: tick 20\n\n"));
  tresp_free(r, 1);
  assert_int_equal(f.events, SSE_EVENTS);
  assert_int_equal(f.aborts, 0);
  tc_close(c);
  close_fixture(&f);
}

static void connection_limit(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.max_connections = 2};
  setup(&f, &o);
  tclient *a = connect_ok(&f), *b = connect_ok(&f);
  tc_send_str(a, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  tc_send_str(b, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, a, 1, 1000));
  assert_true(wait_responses(&f.loop, b, 1, 1000));
  tclient *c = connect_ok(&f);
  expect_status_then_eof(&f, c, "HTTP/1.1 503 ", 2000);
  tc_close(c);
  tc_close(a);
  run_for(&f.loop, 100);
  tclient *d = connect_ok(&f);
  tc_send_str(d, "GET /d HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, d, 1, 1000));
  assert_non_null(strstr(d->in.data, "200 OK"));
  tc_close(b);
  tc_close(d);
  close_fixture(&f);
}

static int held_n(void *arg) {
  fixture *f = arg;
  return f->nheld >= 2;
}

/* Past max_pipelined the server stops reading; answers resume it, order is kept. */
static void pipeline_limit(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.max_pipelined = 2};
  setup(&f, &o);
  tclient *c = connect_ok(&f);
  tc_send_str(c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\nGET /hold HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /4 HTTP/1.1\r\nHost: t\r\n\r\nGET /5 HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, held_n, &f, 1000));
  run_for(&f.loop, 50);
  assert_int_equal(f.requests, 2);
  mol_http_respond(f.held[1], 200, "text/plain", "h2", 2);
  mol_http_respond(f.held[0], 200, "text/plain", "h1", 2);
  assert_true(wait_responses(&f.loop, c, 5, 2000));
  tresp r[5];
  assert_int_equal(tc_responses(c, r, 5), 5);
  assert_string_equal(r[0].body.data, "h1");
  assert_string_equal(r[1].body.data, "h2");
  assert_string_equal(r[2].body.data, "/3");
  assert_string_equal(r[4].body.data, "/5");
  tresp_free(r, 5);
  tc_close(c);
  close_fixture(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(host_rules),
    cmocka_unit_test(header_timeout_spares_others),
    cmocka_unit_test(silent_connection_closed),
    cmocka_unit_test(body_timeout),
    cmocka_unit_test(idle_timeout_closes),
    cmocka_unit_test(idle_timeout_spares_busy_connections),
    cmocka_unit_test(trickled_body_hits_request_deadline),
    cmocka_unit_test(unread_response_dropped),
    cmocka_unit_test(unread_pipeline_bounded),
    cmocka_unit_test(slow_reader_kept),
    cmocka_unit_test(sse_being_read_survives),
    cmocka_unit_test(connection_limit),
    cmocka_unit_test(pipeline_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
