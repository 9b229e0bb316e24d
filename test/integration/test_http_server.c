/* HTTP server over real loopback sockets: keep-alive, pipelining order, request bodies,
 * 100-continue, IPv6, routing statuses and refusals on the wire. */
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
} fixture;

static void h_echo(mol_http_req *r, void *arg) {
  ((fixture *)arg)->requests++;
  size_t n;
  const char *body = mol_http_req_body(r, &n);
  mol_http_respond(r, 200, "application/json", body, n);
}

static void h_text(mol_http_req *r, void *arg) {
  ((fixture *)arg)->requests++;
  const char *path = mol_http_req_path(r);
  mol_http_resp_header(r, "X-Path", path);
  mol_http_respond(r, 200, "text/plain", path, strlen(path));
}

typedef struct {
  uv_timer_t t;
  mol_http_req *r;
} later;

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_fire(uv_timer_t *t) {
  later *l = t->data;
  mol_http_respond(l->r, 200, "text/plain", "slow", 4);
  uv_close((uv_handle_t *)t, later_closed);
}

/* Answers after 80 ms, so that requests pipelined behind it are answered first. */
static void h_slow(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->requests++;
  later *l = calloc(1, sizeof(*l));
  l->r = r;
  uv_timer_init(&f->loop, &l->t);
  l->t.data = l;
  uv_timer_start(&l->t, later_fire, 80, 0);
}

static void setup(fixture *f, const mol_http_server_opts *o) {
  memset(f, 0, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(mol_http_server_new(&f->loop, o, &f->s), 0);
  assert_int_equal(mol_http_server_route(f->s, "POST", "/echo", 0, h_echo, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/text", 1, h_text, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/slow", 0, h_slow, f), 0);
  assert_int_equal(mol_http_server_listen(f->s, "127.0.0.1", 0), 0);
  f->port = mol_http_server_port(f->s);
  assert_true(f->port > 0);
}

static tclient *connect_ok(fixture *f, const char *ip) {
  tclient *c = tc_open(&f->loop, ip, f->port, 0);
  assert_true(run_until(&f->loop, is_connected, c, 2000));
  assert_int_equal(c->connected, 1);
  return c;
}

static void keep_alive_reuse(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  char body[300], req[512];
  memset(body, 'x', sizeof(body));
  for (int i = 1; i <= 3; i++) {
    body[0] = (char)('0' + i);
    int n = snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n"
                     "\r\n%.*s", sizeof(body), (int)sizeof(body), body);
    tc_send(c, req, (size_t)n);
    assert_true(wait_responses(&f.loop, c, i, 2000));
  }
  tresp r[3];
  assert_int_equal(tc_responses(c, r, 3), 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(r[i].status, 200);
    assert_true(r[i].keep_alive);
    assert_int_equal(r[i].body.len, 300);
    assert_int_equal(r[i].body.data[0], '1' + i);
  }
  tresp_free(r, 3);
  assert_false(c->eof);
  assert_non_null(strstr(c->in.data, "\r\nDate: "));
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void pipelined_in_order(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  tc_send_str(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /text/a HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /text/b HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, c, 3, 2000));
  tresp r[3];
  assert_int_equal(tc_responses(c, r, 3), 3);
  assert_string_equal(r[0].body.data, "slow");
  assert_string_equal(r[1].body.data, "/text/a");
  assert_string_equal(r[2].body.data, "/text/b");
  tresp_free(r, 3);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void chunked_request_body(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n"
                 "hello\r\n");
  run_for(&f.loop, 30);
  assert_int_equal(f.requests, 0); /* never a partial request */
  tc_send_str(c, "6\r\n world\r\n0\r\n\r\n");
  assert_true(wait_responses(&f.loop, c, 1, 2000));
  tresp r[1];
  assert_int_equal(tc_responses(c, r, 1), 1);
  assert_string_equal(r[0].body.data, "hello world");
  tresp_free(r, 1);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static int got_continue(void *arg) {
  tclient *c = arg;
  return c->in.data && strstr(c->in.data, "HTTP/1.1 100 Continue\r\n\r\n");
}

static void expect_continue(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n"
                 "\r\n");
  assert_true(run_until(&f.loop, got_continue, c, 2000));
  tc_send_str(c, "body");
  assert_true(wait_responses(&f.loop, c, 2, 2000));
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 2);
  assert_int_equal(r[0].status, 100);
  assert_int_equal(r[1].status, 200);
  assert_string_equal(r[1].body.data, "body");
  tresp_free(r, 2);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void ipv6_listener(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  int rc = mol_http_server_listen(f.s, "::1", f.port);
  if (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT) {
    close_server_and_loop(&f.loop, f.s);
    skip();
  }
  assert_int_equal(rc, 0);
  tclient *c = connect_ok(&f, "::1");
  tc_send_str(c, "GET /text/six HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, c, 1, 2000));
  assert_non_null(strstr(c->in.data, "/text/six"));
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void not_found_and_bad_method(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  tc_send_str(c, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n"
                 "HEAD /text/h HTTP/1.1\r\nHost: t\r\n\r\n");
  run_for(&f.loop, 200);
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 2);
  assert_int_equal(r[0].status, 404);
  assert_int_equal(r[1].status, 405);
  tresp_free(r, 2);
  assert_non_null(strstr(c->in.data, "\r\nAllow: POST\r\n"));
  /* HEAD: the GET route's headers, with its length, and no body. */
  const char *head = strstr(c->in.data, "X-Path: /text/h");
  assert_non_null(head);
  assert_non_null(strstr(c->in.data, "Content-Length: 7\r\n"));
  assert_string_equal(strstr(head, "\r\n\r\n"), "\r\n\r\n");
  assert_int_equal(f.requests, 1);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void refusal_closes(fixture *f, const char *req, size_t len, const char *status) {
  tclient *c = connect_ok(f, "127.0.0.1");
  tc_send(c, req, len);
  assert_true(run_until(&f->loop, has_eof, c, 3000));
  assert_non_null(c->in.data);
  if (strncmp(c->in.data, status, strlen(status)) != 0) fail_msg("got %s", c->in.data);
  assert_non_null(strstr(c->in.data, "Connection: close\r\n"));
  tc_close(c);
}

static void refusals_on_the_wire(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.max_body_bytes = 1000, .max_header_bytes = 2048};
  setup(&f, &o);
  /* A good client keeps being served while others are refused. */
  tclient *good = connect_ok(&f, "127.0.0.1");
  static const char big_body[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n";
  refusal_closes(&f, big_body, sizeof(big_body) - 1, "HTTP/1.1 413 ");
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, "GET /text HTTP/1.1\r\nHost: t\r\nX-Big: ");
  for (int i = 0; i < 3000; i++) mol_buf_append(&b, "y", 1);
  mol_buf_append_str(&b, "\r\n\r\n");
  refusal_closes(&f, b.data, b.len, "HTTP/1.1 431 ");
  mol_buf_free(&b);
  static const char smuggle[] =
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n";
  refusal_closes(&f, smuggle, sizeof(smuggle) - 1, "HTTP/1.1 400 ");
  refusal_closes(&f, "GARBAGE\r\n\r\n", 11, "HTTP/1.1 400 ");
  tc_send_str(good, "GET /text/still HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, good, 1, 2000));
  assert_non_null(strstr(good->in.data, "/text/still"));
  assert_int_equal(f.requests, 1);
  tc_close(good);
  close_server_and_loop(&f.loop, f.s);
}

static void connection_close_honoured(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, "127.0.0.1");
  tc_send_str(c, "GET /text/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                 "GET /text/2 HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, has_eof, c, 2000));
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 1);
  assert_false(r[0].keep_alive);
  tresp_free(r, 1);
  assert_int_equal(f.requests, 1);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static void reuse_port_shares_port(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.reuse_port = 1};
  setup(&f, &o);
  mol_http_server *other, *plain;
  assert_int_equal(mol_http_server_new(&f.loop, &o, &other), 0);
  assert_int_equal(mol_http_server_listen(other, "127.0.0.1", f.port), 0);
  assert_int_equal(mol_http_server_new(&f.loop, NULL, &plain), 0);
  assert_int_equal(mol_http_server_listen(plain, "127.0.0.1", f.port), MOL_EADDRINUSE);
  assert_int_equal(mol_http_server_listen(plain, "not-an-ip", 0), MOL_EINVAL);
  assert_int_equal(mol_http_server_port(plain), MOL_EINVAL);
  mol_http_server_close(plain, 0, NULL, NULL);
  mol_http_server_close(other, 0, NULL, NULL);
  close_server_and_loop(&f.loop, f.s);
}

typedef struct {
  tclient *c[50];
  int sent[50];
  int rounds;
} crowd;

/* Each client sends its next request as soon as the previous answer is in. */
static int crowd_step(void *arg) {
  crowd *w = arg;
  int finished = 0;
  for (int i = 0; i < 50; i++) {
    tresp r[32];
    int n = tc_responses(w->c[i], r, 32);
    tresp_free(r, n < 32 ? n : 32);
    if (n == w->sent[i] && n < w->rounds) {
      tc_send_str(w->c[i], "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
      w->sent[i]++;
    }
    finished += n == w->rounds;
  }
  return finished == 50;
}

static void fifty_clients(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  crowd w = {.rounds = 20};
  for (int i = 0; i < 50; i++) w.c[i] = tc_open(&f.loop, "127.0.0.1", f.port, 0);
  assert_true(run_until(&f.loop, crowd_step, &w, 10000));
  assert_int_equal(f.requests, 50 * 20);
  for (int i = 0; i < 50; i++) tc_close(w.c[i]);
  close_server_and_loop(&f.loop, f.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(keep_alive_reuse),
    cmocka_unit_test(pipelined_in_order),
    cmocka_unit_test(chunked_request_body),
    cmocka_unit_test(expect_continue),
    cmocka_unit_test(ipv6_listener),
    cmocka_unit_test(not_found_and_bad_method),
    cmocka_unit_test(refusals_on_the_wire),
    cmocka_unit_test(connection_close_honoured),
    cmocka_unit_test(reuse_port_shares_port),
    cmocka_unit_test(fifty_clients),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
