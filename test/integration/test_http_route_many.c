/* A server shared by thousands of route owners, as `molecule host` shares one with its agents,
 * over real loopback sockets: each owner's paths reach its handler, an owner that leaves
 * (unroute) answers 404 while its neighbours keep serving, it can come back, and the
 * catch-all and 405 answers stay what they were with a handful of routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "test_http_server_util.h"

enum { AGENTS = 3000 };

typedef struct {
  int id;
  int calls;
} owner;

typedef struct {
  uv_loop_t loop;
  mol_http_server *s;
  int port;
  owner agents[AGENTS];
  owner root;
} fixture;

/* Answers "<owner id> <method> <path>". */
static void h_owner(mol_http_req *r, void *arg) {
  owner *o = arg;
  o->calls++;
  char body[256];
  int n = snprintf(body, sizeof(body), "%d %s %s", o->id, mol_http_req_method(r),
                   mol_http_req_path(r));
  mol_http_respond(r, 200, "text/plain", body, (size_t)n);
}

/* The routes a hosted agent registers: card (two names), JSON-RPC, REST prefix, transcript. */
static void route_agent(fixture *f, int i) {
  static const struct {
    const char *method, *fmt;
    int prefix;
  } routes[] = {
    {"GET", "/agents/a%d/.well-known/agent-card.json", 0},
    {"GET", "/agents/a%d/.well-known/agent.json", 0},
    {"POST", "/agents/a%d/", 0},
    {"POST", "/agents/a%d", 0},
    {NULL, "/agents/a%d/v1/", 1},
    {"GET", "/agents/a%d/transcript", 0},
  };
  char path[96];
  for (size_t k = 0; k < sizeof(routes) / sizeof(*routes); k++) {
    snprintf(path, sizeof(path), routes[k].fmt, i);
    assert_int_equal(mol_http_server_route(f->s, routes[k].method, path, routes[k].prefix,
                                           h_owner, &f->agents[i]),
                     0);
  }
}

static fixture *setup_many(void) {
  fixture *f = calloc(1, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(mol_http_server_new(&f->loop, NULL, &f->s), 0);
  for (int i = 0; i < AGENTS; i++) {
    f->agents[i].id = i;
    route_agent(f, i);
  }
  assert_int_equal(mol_http_server_listen(f->s, "127.0.0.1", 0), 0);
  f->port = mol_http_server_port(f->s);
  return f;
}

static void teardown(fixture *f) {
  close_server_and_loop(&f->loop, f->s);
  free(f);
}

/* Sends one request on a fresh connection and returns its response (free with tresp_free). */
static tresp call(fixture *f, const char *method, const char *path) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", f->port, 0);
  assert_true(run_until(&f->loop, is_connected, c, 5000));
  char req[256];
  snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", method,
           path);
  tc_send_str(c, req);
  assert_true(wait_responses(&f->loop, c, 1, 5000));
  tresp r;
  assert_int_equal(tc_responses(c, &r, 1), 1);
  if (r.status == 405) {
    const char *allow = strstr(c->in.data, "\r\nAllow: ");
    assert_non_null(allow);
    mol_buf_reset(&r.body); /* the Allow value in place of the reason phrase */
    const char *end = strstr(allow + 9, "\r\n");
    mol_buf_append(&r.body, allow + 9, (size_t)(end - allow - 9));
  }
  tc_close(c);
  return r;
}

static void expect(fixture *f, const char *method, const char *path, int status,
                   const char *body) {
  tresp r = call(f, method, path);
  assert_int_equal(r.status, status);
  if (body) assert_string_equal(r.body.data, body);
  tresp_free(&r, 1);
}

static void every_agent_reaches_its_own_handler(void **state) {
  (void)state;
  fixture *f = setup_many();
  expect(f, "POST", "/agents/a0/", 200, "0 POST /agents/a0/");
  expect(f, "POST", "/agents/a2999", 200, "2999 POST /agents/a2999");
  expect(f, "GET", "/agents/a1500/.well-known/agent-card.json", 200,
         "1500 GET /agents/a1500/.well-known/agent-card.json");
  expect(f, "DELETE", "/agents/a7/v1/tasks/t-1", 200, "7 DELETE /agents/a7/v1/tasks/t-1");
  expect(f, "GET", "/agents/a70/transcript", 200, "70 GET /agents/a70/transcript");
  /* A name that is a prefix of another's reaches neither. */
  expect(f, "POST", "/agents/a29990/", 404, "Not Found");
  expect(f, "POST", "/agents/a/", 404, "Not Found");
  expect(f, "POST", "/agents/", 404, "Not Found");
  expect(f, "GET", "/agents/a7/v1x", 404, "Not Found");
  expect(f, "DELETE", "/agents/a7/transcript", 405, "GET, HEAD");
  expect(f, "GET", "/agents/a7/", 405, "POST");
  int calls = 0;
  for (int i = 0; i < AGENTS; i++) calls += f->agents[i].calls;
  assert_int_equal(calls, 5);
  teardown(f);
}

static void an_agent_leaves_and_comes_back(void **state) {
  (void)state;
  fixture *f = setup_many();
  assert_int_equal(mol_http_server_unroute(f->s, &f->agents[1234]), 6);
  assert_int_equal(mol_http_server_unroute(f->s, &f->agents[1234]), 0);
  expect(f, "POST", "/agents/a1234/", 404, "Not Found");
  expect(f, "GET", "/agents/a1234/v1/tasks/x", 404, "Not Found");
  expect(f, "POST", "/agents/a1233/", 200, "1233 POST /agents/a1233/");
  expect(f, "POST", "/agents/a1235/", 200, "1235 POST /agents/a1235/");
  /* A catch-all added later takes what nobody else owns, never an agent's own path. */
  f->root.id = -1;
  assert_int_equal(mol_http_server_route(f->s, NULL, "/", 1, h_owner, &f->root), 0);
  expect(f, "POST", "/agents/a1234/", 200, "-1 POST /agents/a1234/");
  expect(f, "GET", "/metrics", 200, "-1 GET /metrics");
  expect(f, "POST", "/agents/a1235/", 200, "1235 POST /agents/a1235/");
  route_agent(f, 1234);
  expect(f, "POST", "/agents/a1234/", 200, "1234 POST /agents/a1234/");
  /* Every agent leaving, as a host's stop does, leaves only the catch-all. */
  for (int i = 0; i < AGENTS; i++)
    assert_int_equal(mol_http_server_unroute(f->s, &f->agents[i]), 6);
  expect(f, "POST", "/agents/a0/", 200, "-1 POST /agents/a0/");
  assert_int_equal(mol_http_server_unroute(f->s, &f->root), 1);
  expect(f, "POST", "/agents/a0/", 404, "Not Found");
  teardown(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_agent_reaches_its_own_handler),
    cmocka_unit_test(an_agent_leaves_and_comes_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
