/* HTTP client against a scripted loopback peer: framings, keep-alive, pool bounds, stale
 * pooled connections, request construction, and volume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client_env.h"

static const char *const CL_RESP =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello";

static void content_length_body(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = CL_RESP;
  result res = {.want_header = "x-test"};
  mol_http_request *r = NULL;
  assert_int_equal(env_get(&e, NULL, &res, &r), 0);
  assert_non_null(r);
  assert_int_equal(res.calls, 0); /* never synchronously inside send */
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  assert_int_equal(res.status, 200);
  assert_int_equal(res.body.len, 5);
  assert_memory_equal(res.body.data, "hello", 5);
  assert_string_equal(res.header, "yes");
  char host[64];
  snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", e.fs.port);
  assert_non_null(strstr(e.fs.last_req, "GET /path?q=1 HTTP/1.1\r\n"));
  assert_non_null(strstr(e.fs.last_req, host));
  assert_null(strstr(e.fs.last_req, "Content-Length"));
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void chunked_body(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "6;ext=1\r\nchunky\r\n1\r\n \r\n4\r\nbody\r\n0\r\nX-Trailer: t\r\n\r\n";
  result res = {0};
  assert_int_equal(env_get(&e, NULL, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  assert_int_equal(res.body.len, 11);
  assert_memory_equal(res.body.data, "chunky body", 11);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void close_delimited_body(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the end";
  e.fs.close_after = 1;
  result res = {0};
  assert_int_equal(env_get(&e, NULL, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  assert_int_equal(res.body.len, 18);
  assert_memory_equal(res.body.data, "read until the end", 18);
  env_teardown(&e);
  assert_int_equal(res.calls, 1);
  mol_buf_free(&res.body);
}

static void keepalive_reuses_connection(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = CL_RESP;
  result a = {0}, b = {0}, h = {0};
  assert_int_equal(env_get(&e, NULL, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  assert_int_equal(env_get(&e, NULL, &b, NULL), 0);
  run_until(&e, &b.calls, 1);
  /* HEAD: Content-Length describes a body that never comes; the connection stays usable. */
  mol_http_request_opts o = {.url = e.url, .method = "HEAD"};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &h, NULL), 0);
  run_until(&e, &h.calls, 1);
  assert_int_equal(a.err | b.err | h.err, 0);
  assert_int_equal(h.status, 200);
  assert_int_equal(h.body.len, 0);
  assert_int_equal(e.fs.nconns, 1);
  assert_int_equal(e.fs.conns[0]->served, 3);
  env_teardown(&e);
  assert_int_equal(a.calls + b.calls + h.calls, 3);
  mol_buf_free(&h.body);
  mol_buf_free(&a.body);
  mol_buf_free(&b.body);
}

static void connection_close_is_not_pooled(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = CL_RESP;
  result a = {0}, b = {0};
  mol_http_header hd[] = {{"Connection", "close"}};
  mol_http_request_opts o = {.url = e.url, .headers = hd, .nheaders = 1};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  assert_int_equal(env_get(&e, NULL, &b, NULL), 0);
  run_until(&e, &b.calls, 1);
  assert_int_equal(a.err | b.err, 0);
  assert_int_equal(e.fs.nconns, 2);
  env_teardown(&e);
  mol_buf_free(&a.body);
  mol_buf_free(&b.body);
}

static void pool_bound_limits_connections(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 2};
  env_setup(&e, fs_canned, &co);
  e.fs.canned = CL_RESP;
  int done = 0;
  result res[3] = {{.counter = &done}, {.counter = &done}, {.counter = &done}};
  for (int i = 0; i < 3; i++) assert_int_equal(env_get(&e, NULL, &res[i], NULL), 0);
  run_until(&e, &done, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].err, 0);
    mol_buf_free(&res[i].body);
  }
  assert_int_equal(e.fs.nconns, 2);
  assert_int_equal(e.fs.nrequests, 3);
  env_teardown(&e);
}

/* The server answers once per connection, then closes it without a word when the next
 * request arrives: the classic keep-alive race. */
static void fs_drop_second(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  if (fc->served > 1) fs_close(fc, 0);
  else fs_write(fc, CL_RESP);
}

static void stale_pooled_get_is_retried_once(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_drop_second, NULL);
  result a = {0}, b = {0};
  assert_int_equal(env_get(&e, NULL, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  assert_int_equal(env_get(&e, NULL, &b, NULL), 0); /* goes out on the pooled connection */
  run_until(&e, &b.calls, 1);
  assert_int_equal(a.err, 0);
  assert_int_equal(b.err, 0);
  assert_int_equal(b.status, 200);
  assert_int_equal(e.fs.nconns, 2);
  assert_int_equal(e.fs.nrequests, 3); /* the dropped one, then its retry */
  env_teardown(&e);
  assert_int_equal(a.calls + b.calls, 2);
  mol_buf_free(&a.body);
  mol_buf_free(&b.body);
}

static void stale_pooled_post_is_not_retried(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_drop_second, NULL);
  result a = {0}, b = {0};
  assert_int_equal(env_get(&e, NULL, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  mol_http_request_opts o = {.url = e.url, .method = "POST", .body = "x", .body_len = 1};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &b, NULL), 0);
  run_until(&e, &b.calls, 1);
  assert_int_equal(b.err, MOL_ECONNRESET);
  assert_int_equal(b.had_resp, 0);
  assert_int_equal(e.fs.nconns, 1);
  assert_int_equal(e.fs.nrequests, 2);
  env_teardown(&e);
  assert_int_equal(b.calls, 1);
  mol_buf_free(&a.body);
}

static void idle_close_by_server_is_detected(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = CL_RESP; /* says keep-alive, then closes anyway */
  e.fs.close_after = 1;
  result a = {0}, b = {0};
  assert_int_equal(env_get(&e, NULL, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  run_for(&e, 100); /* the client sees the EOF while the connection is idle */
  assert_int_equal(env_get(&e, NULL, &b, NULL), 0);
  run_until(&e, &b.calls, 1);
  assert_int_equal(a.err | b.err, 0);
  assert_int_equal(e.fs.nconns, 2);
  assert_int_equal(e.fs.nrequests, 2); /* no request was lost to the dead connection */
  env_teardown(&e);
  mol_buf_free(&a.body);
  mol_buf_free(&b.body);
}

static void echo_body(fake_conn *fc, const char *req, size_t len) {
  const char *body = strstr(req, "\r\n\r\n") + 4;
  size_t blen = len - (size_t)(body - req);
  char head[128];
  snprintf(head, sizeof(head), "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n", blen);
  fs_write(fc, head);
  fs_write_then(fc, body, blen, 0);
}

static void post_sends_body_and_headers(void **state) {
  (void)state;
  env e;
  env_setup(&e, echo_body, NULL);
  result res = {0};
  mol_http_header hd[] = {{"Content-Type", "application/json"}, {"Content-Length", "999"},
                          {"Host", "example.test"}};
  mol_http_request_opts o = {.url = e.url, .method = "POST", .headers = hd, .nheaders = 3,
                             .body = "{\"a\":1}", .body_len = 7};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  assert_int_equal(res.status, 201);
  assert_int_equal(res.body.len, 7);
  assert_memory_equal(res.body.data, "{\"a\":1}", 7);
  assert_non_null(strstr(e.fs.last_req, "POST /path?q=1 HTTP/1.1\r\n"));
  assert_non_null(strstr(e.fs.last_req, "\r\nHost: example.test\r\n"));
  assert_non_null(strstr(e.fs.last_req, "\r\nContent-Length: 7\r\n"));
  assert_null(strstr(e.fs.last_req, "999"));
  assert_null(strstr(e.fs.last_req, "127.0.0.1"));
  env_teardown(&e);
  mol_buf_free(&res.body);
}

static void send_errors_never_call_back(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 1, .max_queued = 1};
  env_setup(&e, fs_silent, &co);
  result res = {0};
  mol_http_header inj[] = {{"X-A", "b\r\nX-Injected: 1"}};
  mol_http_header bad_name[] = {{"X A", "b"}};
  mol_http_header te[] = {{"Transfer-Encoding", "chunked"}};
  mol_http_header hosts[] = {{"Host", "a"}, {"host", "b"}}; /* servers refuse two (400) */
  mol_http_request_opts o = {.url = e.url, .headers = inj, .nheaders = 1};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), MOL_EINVAL);
  o.headers = bad_name;
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), MOL_EINVAL);
  o.headers = te;
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), MOL_EINVAL);
  o.headers = hosts;
  o.nheaders = 2;
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &res, NULL), MOL_EINVAL);
  o.nheaders = 1;
  mol_http_request_opts m = {.url = e.url, .method = "GET /x HTTP/1.1\r\n"};
  assert_int_equal(mol_http_request_send(e.c, &m, res_done, &res, NULL), MOL_EINVAL);
  mol_http_request_opts u = {.url = "http://127.0.0.1:1/\r\nX: y"};
  assert_int_equal(mol_http_request_send(e.c, &u, res_done, &res, NULL), MOL_EURL);
  u.url = "gopher://127.0.0.1/";
  assert_int_equal(mol_http_request_send(e.c, &u, res_done, &res, NULL), MOL_EURL);
  /* One connection busy, one request queued: the next is over the bound. */
  int done = 0;
  result q[2] = {{.counter = &done}, {.counter = &done}};
  assert_int_equal(env_get(&e, NULL, &q[0], NULL), 0);
  assert_int_equal(env_get(&e, NULL, &q[1], NULL), 0);
  assert_int_equal(env_get(&e, NULL, &res, NULL), MOL_ELIMIT);
  run_for(&e, 50);
  assert_int_equal(res.calls, 0);
  env_teardown(&e);
  assert_int_equal(done, 2);
  assert_int_equal(q[0].err, MOL_ESHUTDOWN);
  assert_int_equal(q[1].err, MOL_ESHUTDOWN);
  assert_int_equal(res.calls, 0);
  assert_int_equal(mol_http_request_send(NULL, &o, res_done, &res, NULL), MOL_EINVAL);
}

static void ipv6_loopback(void **state) {
  (void)state;
  env e;
  memset(&e, 0, sizeof(e));
  assert_int_equal(uv_loop_init(&e.loop), 0);
  uv_timer_init(&e.loop, &e.tick);
  uv_timer_start(&e.tick, tick_cb, 50, 50);
  if (fs_start(&e.fs, &e.loop, fs_canned, "::1")) { /* no IPv6 on this host */
    fs_stop(&e.fs);
    uv_close((uv_handle_t *)&e.tick, NULL);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    uv_loop_close(&e.loop);
    skip();
  }
  e.fs.canned = CL_RESP;
  assert_int_equal(mol_http_client_new(&e.loop, NULL, &e.c), 0);
  char url[64];
  snprintf(url, sizeof(url), "http://[::1]:%d/v6", e.fs.port);
  result res = {0};
  assert_int_equal(env_get(&e, url, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, 0);
  char host[64];
  snprintf(host, sizeof(host), "Host: [::1]:%d\r\n", e.fs.port);
  assert_non_null(strstr(e.fs.last_req, host));
  env_teardown(&e);
  mol_buf_free(&res.body);
}

static void thousand_requests_over_fifty_connections(void **state) {
  (void)state;
  env e;
  mol_http_client_opts co = {.max_conns_per_origin = 50, .max_idle_per_origin = 50};
  env_setup(&e, fs_canned, &co);
  e.fs.canned = CL_RESP;
  enum { N = 1000 };
  int done = 0;
  result *res = calloc(N, sizeof(*res));
  for (int i = 0; i < N; i++) {
    res[i].counter = &done;
    assert_int_equal(env_get(&e, NULL, &res[i], NULL), 0);
  }
  run_until(&e, &done, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].err, 0);
    assert_int_equal(res[i].body.len, 5);
    mol_buf_free(&res[i].body);
  }
  assert_int_equal(e.fs.nconns, 50);
  assert_int_equal(e.fs.nrequests, N);
  env_teardown(&e);
  free(res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(content_length_body),
      cmocka_unit_test(chunked_body),
      cmocka_unit_test(close_delimited_body),
      cmocka_unit_test(keepalive_reuses_connection),
      cmocka_unit_test(connection_close_is_not_pooled),
      cmocka_unit_test(pool_bound_limits_connections),
      cmocka_unit_test(stale_pooled_get_is_retried_once),
      cmocka_unit_test(stale_pooled_post_is_not_retried),
      cmocka_unit_test(idle_close_by_server_is_detected),
      cmocka_unit_test(post_sends_body_and_headers),
      cmocka_unit_test(send_errors_never_call_back),
      cmocka_unit_test(ipv6_loopback),
      cmocka_unit_test(thousand_requests_over_fifty_connections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
