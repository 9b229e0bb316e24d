/* test_mcp_http.c - MCP's Streamable HTTP transport over real loopback sockets, with the
 * diagnostic tools: Origin (403) and bearer (401) checks, sessions (Mcp-Session-Id, 400
 * without it, 404 once gone, DELETE), 202 for notifications, 405 for GET, 415/406/400 for bad
 * requests, tools/call as an SSE stream with keep-alives or as JSON, concurrent calls answered
 * in completion order across connections, notifications/cancelled in its own POST, the session
 * bound, idle expiry, and close answering every call still in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "mcp/http_transport.h"
#include "mcp/toolset.h"
#include "test_http_server_util.h"

#define PATH "/agents/a/mcp"
#define TOKEN "Bearer s3cret"

static uv_loop_t loop;
static mol_tool_env env;
static mol_tools *reg;
static mol_http_server *srv;
static mol_mcp_http *mcp;
static int port;
static int logged_idle;
static mol_http_server_opts *srv_opts; /* NULL: defaults */

static int authorize(const char *authorization, void *arg) {
  (void)arg;
  return authorization && mol_ct_streq(authorization, TOKEN);
}

static void log_sink(mol_log_level level, const char *line, void *arg) {
  (void)level;
  (void)arg;
  if (strstr(line, "ms idle")) logged_idle++;
}

static void start(unsigned max_sessions, unsigned idle_ms, unsigned keepalive_ms) {
  uv_loop_init(&loop);
  env.loop = &loop;
  reg = mol_tools_new(&env);
  assert_int_equal(mol_mcp_test_tools_add(reg), 0);
  assert_int_equal(mol_http_server_new(&loop, srv_opts, &srv), 0);
  mol_mcp_http_opts o = {
      .session = {.tools = reg, .name = "molecule", .title = "a"},
      .path = PATH,
      .authorize = authorize,
      .allowed_origins = "https://agents.example, https://other.example",
      .max_sessions = max_sessions,
      .session_idle_ms = idle_ms,
      .keepalive_ms = keepalive_ms,
  };
  assert_int_equal(mol_mcp_http_mount(&loop, srv, &o, &mcp), 0);
  assert_int_equal(mol_http_server_listen(srv, "127.0.0.1", 0), 0);
  port = mol_http_server_port(srv);
}

static int closed_mcp;

static void stop(void) {
  if (mcp) {
    closed_mcp = 0;
    mol_mcp_http_close(mcp, count_close, &closed_mcp);
    assert_int_equal(closed_mcp, 0);
    for (int i = 0; i < 200 && !closed_mcp; i++) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(closed_mcp, 1);
    mcp = NULL;
  }
  mol_tools_free(reg);
  close_server_and_loop(&loop, srv);
}

/* ---- one exchange per connection ------------------------------------------------------------ */

typedef struct {
  int status;
  char head[2048];
  mol_buf body;
} reply;

static tclient *send_req(const char *method, const char *headers, const char *body) {
  tclient *c = tc_open(&loop, "127.0.0.1", port, 0);
  mol_buf req = MOL_BUF_INIT;
  mol_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                 "Content-Length: %zu\r\n\r\n", method, PATH, headers, body ? strlen(body) : 0);
  if (body) mol_buf_append_str(&req, body);
  tc_send(c, req.data, req.len);
  mol_buf_free(&req);
  return c;
}

static void finish(tclient *c, reply *r) {
  assert_true(run_until(&loop, has_eof, c, 10000));
  memset(r, 0, sizeof *r);
  const char *end = strstr(c->in.data ? c->in.data : "", "\r\n\r\n");
  assert_non_null(end);
  snprintf(r->head, sizeof r->head, "%.*s", (int)(end - c->in.data), c->in.data);
  tresp one;
  assert_int_equal(tc_responses(c, &one, 1), 1);
  r->status = one.status;
  r->body = one.body;
  tc_close(c);
}

static reply request(const char *method, const char *headers, const char *body) {
  reply r;
  finish(send_req(method, headers, body), &r);
  return r;
}

#define JSON_HEADERS(extra) \
  "Authorization: " TOKEN "\r\nContent-Type: application/json\r\n" \
  "Accept: application/json, text/event-stream\r\n" extra

static reply post(const char *sid, const char *body) {
  char h[512];
  snprintf(h, sizeof h, JSON_HEADERS("%s%s%s"), sid ? "Mcp-Session-Id: " : "", sid ? sid : "",
           sid ? "\r\n" : "");
  return request("POST", h, body);
}

static void header(const reply *r, const char *name, char *out, size_t len) {
  char key[64];
  snprintf(key, sizeof key, "\r\n%s: ", name);
  const char *p = strcasestr(r->head, key);
  assert_non_null(p);
  p += strlen(key);
  snprintf(out, len, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static json_t *body_json(const reply *r) {
  json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
  assert_non_null(j);
  return j;
}

/* The JSON of the one "message" event of an SSE body, or NULL when there is none. */
static json_t *sse_message(const reply *r) {
  const char *ev = strstr(r->body.data ? r->body.data : "", "event: message\ndata: ");
  if (!ev) return NULL;
  ev += strlen("event: message\ndata: ");
  return json_loadb(ev, strcspn(ev, "\n"), 0, NULL);
}

static const char init_msg[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";

static void open_session(char *sid, size_t len) {
  reply r = post(NULL, init_msg);
  assert_int_equal(r.status, 200);
  header(&r, "Mcp-Session-Id", sid, len);
  assert_int_equal(strlen(sid), 32);
  mol_buf_free(&r.body);
  r = post(sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
  assert_int_equal(r.status, 202);
  assert_int_equal(r.body.len, 0);
}

static char *call_msg(int id, const char *tool, const char *args) {
  static char msg[512];
  snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"%s\",\"arguments\":%s}}", id, tool, args);
  return msg;
}

static const char *content_text(json_t *answer) {
  return json_string_value(json_object_get(
      json_array_get(json_object_get(json_object_get(answer, "result"), "content"), 0), "text"));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_origin_and_bearer(void **state) {
  (void)state;
  start(0, 0, 0);
  reply r = request("POST", "Content-Type: application/json\r\n", init_msg);
  assert_int_equal(r.status, 401);
  assert_non_null(strcasestr(r.head, "WWW-Authenticate: Bearer"));
  mol_buf_free(&r.body);
  r = request("POST", "Authorization: Bearer s3cre\r\nContent-Type: application/json\r\n",
              init_msg);
  assert_int_equal(r.status, 401);
  mol_buf_free(&r.body);
  r = request("POST", "Authorization: bearer s3cret\r\nContent-Type: application/json\r\n",
              init_msg);
  assert_int_equal(r.status, 401);
  mol_buf_free(&r.body);
  /* A page elsewhere (DNS rebinding): refused even with the bearer. */
  const char *bad[] = {"http://evil.example.com", "http://evil.example.com:8080", "null",
                       "http://127.0.0.1.evil.example", "https://agents.example.evil"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char h[512];
    snprintf(h, sizeof h, JSON_HEADERS("Origin: %s\r\n"), bad[i]);
    r = request("POST", h, init_msg);
    assert_int_equal(r.status, 403);
    mol_buf_free(&r.body);
  }
  const char *good[] = {"http://localhost:6274", "http://127.0.0.1", "http://[::1]:9",
                        "https://agents.example", "https://other.example"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char h[512];
    snprintf(h, sizeof h, JSON_HEADERS("Origin: %s\r\n"), good[i]);
    r = request("POST", h, init_msg);
    assert_int_equal(r.status, 200);
    mol_buf_free(&r.body);
  }
  stop();
}

static void test_sessions_and_statuses(void **state) {
  (void)state;
  start(0, 0, 0);
  reply r = post(NULL, init_msg);
  assert_int_equal(r.status, 200);
  assert_non_null(strcasestr(r.head, "Content-Type: application/json"));
  json_t *j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "result"),
                                                        "protocolVersion")), "2025-11-25");
  json_decref(j);
  char sid[64];
  header(&r, "Mcp-Session-Id", sid, sizeof sid);
  mol_buf_free(&r.body);

  static const char list[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";
  r = post(NULL, list); /* no session id */
  assert_int_equal(r.status, 400);
  mol_buf_free(&r.body);
  r = post("0123456789abcdef0123456789abcdef", list);
  assert_int_equal(r.status, 404);
  mol_buf_free(&r.body);
  r = post(sid, list);
  assert_int_equal(r.status, 200);
  j = body_json(&r);
  assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"), "tools")),
                   mol_tools_count(reg));
  json_decref(j);
  mol_buf_free(&r.body);
  /* A second initialize on the session: a JSON-RPC error, not a new session. */
  r = post(sid, init_msg);
  assert_int_equal(r.status, 200);
  j = body_json(&r);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                   -32600);
  json_decref(j);
  mol_buf_free(&r.body);

  r = post(sid, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}"); /* a response: accepted */
  assert_int_equal(r.status, 202);
  r = post(sid, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/l");
  assert_int_equal(r.status, 400);
  j = body_json(&r);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                   -32700);
  json_decref(j);
  mol_buf_free(&r.body);
  r = post(sid, "{\"id\":5,\"method\":\"ping\"}");
  assert_int_equal(r.status, 400);
  mol_buf_free(&r.body);
  r = post(sid, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"nope\"}");
  assert_int_equal(r.status, 200);
  mol_buf_free(&r.body);

  char h[512];
  snprintf(h, sizeof h, JSON_HEADERS("Mcp-Session-Id: %s\r\nMCP-Protocol-Version: 1999-01-01\r\n"),
           sid);
  r = request("POST", h, list);
  assert_int_equal(r.status, 400);
  mol_buf_free(&r.body);
  snprintf(h, sizeof h, JSON_HEADERS("Mcp-Session-Id: %s\r\nMCP-Protocol-Version: 2025-03-26\r\n"),
           sid);
  r = request("POST", h, list);
  assert_int_equal(r.status, 200);
  mol_buf_free(&r.body);
  r = request("POST", "Authorization: " TOKEN "\r\nContent-Type: text/plain\r\n", list);
  assert_int_equal(r.status, 415);
  mol_buf_free(&r.body);
  r = request("POST", "Authorization: " TOKEN "\r\nContent-Type: application/json\r\n"
              "Accept: text/html\r\n", list);
  assert_int_equal(r.status, 406);
  mol_buf_free(&r.body);
  r = request("GET", "Authorization: " TOKEN "\r\nAccept: text/event-stream\r\n", NULL);
  assert_int_equal(r.status, 405);
  assert_non_null(strcasestr(r.head, "Allow: POST, DELETE"));
  mol_buf_free(&r.body);

  snprintf(h, sizeof h, "Authorization: " TOKEN "\r\nMcp-Session-Id: %s\r\n", sid);
  r = request("DELETE", h, NULL);
  assert_int_equal(r.status, 204);
  r = post(sid, list);
  assert_int_equal(r.status, 404);
  mol_buf_free(&r.body);
  stop();
}

static void test_calls_sse_json_cancel(void **state) {
  (void)state;
  start(0, 0, 20);
  char sid[64];
  open_session(sid, sizeof sid);

  /* SSE: the answer as one message event, after keep-alive comments. */
  reply r = post(sid, call_msg(10, "slow", "{\"ms\":150}"));
  assert_int_equal(r.status, 200);
  assert_non_null(strcasestr(r.head, "Content-Type: text/event-stream"));
  assert_non_null(strstr(r.body.data, ": keep-alive\n\n"));
  json_t *j = sse_message(&r);
  assert_non_null(j);
  assert_string_equal(content_text(j), "slept 150 ms");
  json_decref(j);
  mol_buf_free(&r.body);

  /* JSON only: the answer as the response; a tool failure is a result with isError. */
  char h[512];
  snprintf(h, sizeof h, "Authorization: " TOKEN "\r\nContent-Type: application/json\r\n"
           "Accept: application/json\r\nMcp-Session-Id: %s\r\n", sid);
  r = request("POST", h, call_msg(11, "fail", "{\"message\":\"no luck\"}"));
  assert_int_equal(r.status, 200);
  j = body_json(&r);
  assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "isError")));
  assert_string_equal(content_text(j), "no luck");
  json_decref(j);
  mol_buf_free(&r.body);
  r = post(sid, call_msg(12, "missing_tool", "{}"));
  j = body_json(&r);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                   -32602);
  json_decref(j);
  mol_buf_free(&r.body);

  /* Concurrency: a long call on one connection, a quick one answered on another meanwhile,
   * then the long one canceled from a third: its stream ends with no event. */
  snprintf(h, sizeof h, JSON_HEADERS("Mcp-Session-Id: %s\r\n"), sid);
  tclient *slow = send_req("POST", h, call_msg(20, "slow", "{}"));
  reply quick;
  finish(send_req("POST", h, call_msg(21, "echo", "{\"text\":\"meanwhile\"}")), &quick);
  j = sse_message(&quick);
  assert_string_equal(content_text(j), "meanwhile");
  json_decref(j);
  mol_buf_free(&quick.body);
  assert_false(slow->eof);
  r = post(sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
                "{\"requestId\":20,\"reason\":\"test\"}}");
  assert_int_equal(r.status, 202);
  reply canceled;
  finish(slow, &canceled);
  assert_int_equal(canceled.status, 200);
  assert_null(sse_message(&canceled));
  mol_buf_free(&canceled.body);
  r = post(sid, call_msg(22, "running", "{}"));
  j = sse_message(&r);
  assert_string_equal(content_text(j), "0");
  json_decref(j);
  mol_buf_free(&r.body);
  stop();
}

/* Waits until n slow calls run, asking "running" on the session (a readiness signal, not a
 * sleep: the POST of the call may still be on its way). */
static void wait_running(const char *sid, const char *n) {
  int ok = 0;
  for (int i = 0; i < 1000 && !ok; i++) {
    reply r = post(sid, call_msg(1000 + i, "running", "{}"));
    json_t *j = sse_message(&r);
    ok = j && strcmp(content_text(j), n) == 0;
    json_decref(j);
    mol_buf_free(&r.body);
  }
  assert_true(ok);
}

static void test_close_answers_calls(void **state) {
  (void)state;
  start(0, 0, 0);
  char sid[64], h[512];
  open_session(sid, sizeof sid);
  snprintf(h, sizeof h, JSON_HEADERS("Mcp-Session-Id: %s\r\n"), sid);
  tclient *c = send_req("POST", h, call_msg(30, "slow", "{}"));
  wait_running(sid, "1");
  closed_mcp = 0;
  mol_mcp_http_close(mcp, count_close, &closed_mcp);
  mcp = NULL;
  reply r;
  finish(c, &r);
  json_t *j = sse_message(&r);
  assert_non_null(j);
  assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "isError")));
  assert_non_null(strstr(content_text(j), "canceled"));
  json_decref(j);
  mol_buf_free(&r.body);
  for (int i = 0; i < 200 && !closed_mcp; i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(closed_mcp, 1);
  stop();
}

static void test_session_bound(void **state) {
  (void)state;
  start(1, 0, 0);
  char a[64], b[64], h[512];
  open_session(a, sizeof a);
  open_session(b, sizeof b); /* a was idle: closed to make room */
  reply r = post(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
  assert_int_equal(r.status, 404);
  mol_buf_free(&r.body);
  snprintf(h, sizeof h, JSON_HEADERS("Mcp-Session-Id: %s\r\n"), b);
  tclient *c = send_req("POST", h, call_msg(3, "slow", "{}"));
  wait_running(b, "1");
  r = post(NULL, init_msg); /* b is busy: no room */
  assert_int_equal(r.status, 503);
  mol_buf_free(&r.body);
  r = post(b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
              "{\"requestId\":3}}");
  assert_int_equal(r.status, 202);
  finish(c, &r);
  mol_buf_free(&r.body);
  stop();
}

static int idle_logged(void *arg) {
  (void)arg;
  return logged_idle > 0;
}

static void test_idle_sessions_close(void **state) {
  (void)state;
  start(0, 40, 10);
  mol_log_set_sink(log_sink, NULL);
  logged_idle = 0;
  char sid[64];
  open_session(sid, sizeof sid);
  assert_true(run_until(&loop, idle_logged, NULL, 10000));
  mol_log_set_sink(NULL, NULL);
  reply r = post(sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
  assert_int_equal(r.status, 404);
  mol_buf_free(&r.body);
  stop();
}

/* An answer larger than the server lets one response queue: the client still gets an answer for
 * its id, an error that says why. */
static void test_answer_too_large_for_stream(void **state) {
  (void)state;
  mol_http_server_opts so = {.max_write_queue = 16 * 1024, .max_body_bytes = 1 << 20};
  srv_opts = &so;
  start(0, 0, 0);
  srv_opts = NULL;
  char sid[64];
  open_session(sid, sizeof sid);
  size_t n = 64 * 1024;
  char *args = malloc(n + 32), *body = malloc(n + 256);
  memcpy(args, "{\"text\":\"", 9);
  memset(args + 9, 'x', n);
  strcpy(args + 9 + n, "\"}");
  snprintf(body, n + 256, "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"echo\",\"arguments\":%s}}", args);
  reply r = post(sid, body);
  json_t *j = sse_message(&r);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "id")), 41);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                   -32603);
  json_decref(j);
  mol_buf_free(&r.body);
  free(args);
  free(body);
  stop();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_origin_and_bearer),
    cmocka_unit_test(test_sessions_and_statuses),
    cmocka_unit_test(test_calls_sse_json_cancel),
    cmocka_unit_test(test_close_answers_calls),
    cmocka_unit_test(test_session_bound),
    cmocka_unit_test(test_idle_sessions_close),
    cmocka_unit_test(test_answer_too_large_for_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
