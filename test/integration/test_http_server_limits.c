/* HTTP server limits over loopback: the Host rules, header, body and idle timeouts, the
 * connection limit and the pipelining limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "test_http_server_util.h"

typedef struct {
  uv_loop_t loop;
  mol_http_server *s;
  int port;
  int requests;
  mol_http_req *held[8];
  int nheld;
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

static void setup(fixture *f, const mol_http_server_opts *o) {
  memset(f, 0, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(mol_http_server_new(&f->loop, o, &f->s), 0);
  assert_int_equal(mol_http_server_route(f->s, NULL, "/", 1, h_text, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/hold", 0, h_hold, f), 0);
  assert_int_equal(mol_http_server_listen(f->s, "127.0.0.1", 0), 0);
  f->port = mol_http_server_port(f->s);
}

static tclient *connect_ok(fixture *f) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", f->port, 0);
  assert_true(run_until(&f->loop, is_connected, c, 2000));
  assert_int_equal(c->connected, 1);
  return c;
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
  close_server_and_loop(&f.loop, f.s);
}

static void header_timeout_spares_others(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.header_timeout_ms = 300};
  setup(&f, &o);
  tclient *slow = connect_ok(&f);
  uint64_t t0 = uv_now(&f.loop);
  /* A byte every 50 ms does not extend the deadline of the whole header block. */
  static const char dribble[] = "GET /x HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < sizeof(dribble) - 1 && !slow->eof; i++) {
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
  expect_status_then_eof(&f, slow, "HTTP/1.1 408 ", 2000);
  uint64_t took = uv_now(&f.loop) - t0;
  assert_true(took >= 250 && took < 1500);
  assert_int_equal(f.requests, 1);
  tc_close(slow);
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
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
  close_server_and_loop(&f.loop, f.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(host_rules),
    cmocka_unit_test(header_timeout_spares_others),
    cmocka_unit_test(silent_connection_closed),
    cmocka_unit_test(body_timeout),
    cmocka_unit_test(idle_timeout_closes),
    cmocka_unit_test(idle_timeout_spares_busy_connections),
    cmocka_unit_test(connection_limit),
    cmocka_unit_test(pipeline_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
