/* The A2A conformance checks, each one an HTTP exchange (or an SSE stream) with our server over
 * a real loopback socket. The numbers in comments place each check in one list: card 1-4,
 * JSON-RPC framing 5-12, core methods 13-20, streaming 21-27, capabilities and versions 28-32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"

#define SEND(id, text) \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"message/send\",\"params\":{\"message\":" \
  "{\"role\":\"user\",\"messageId\":\"m-" text "\",\"parts\":[{\"kind\":\"text\",\"text\":\"" text "\"}]}}}"

static int setup(void **state) { (void)state; h_setup(); return 0; }
static int teardown(void **state) { (void)state; h_teardown(); return 0; }

static void assert_rpc_error(json_t *v, int code, int id_null) {
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "jsonrpc")), "2.0");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")), code);
  if (id_null) assert_true(json_is_null(json_object_get(v, "id")));
  json_decref(v);
}

static const char *result_str(json_t *v, const char *path) {
  json_t *cur = json_object_get(v, "result");
  char key[64];
  while (cur && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(key, sizeof(key), "%.*s", (int)n, path);
    cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(key)) : json_object_get(cur, key);
    path += n + (dot ? 1 : 0);
  }
  return json_string_value(cur);
}

/* ---- 7.1 agent card ---- */

static void card_checks_1_to_4(void **state) {
  (void)state;
  h_resp a, b, v1, c304;
  h_req("GET", "/.well-known/agent-card.json", NULL, NULL, NULL, &a);
  assert_int_equal(a.status, 200);
  json_t *card = json_loads(a.body, 0, NULL);
  assert_non_null(card);
  const char *required[] = {"name", "description", "url", "version", "protocolVersion",
                            "preferredTransport"};
  for (size_t i = 0; i < 6; i++) assert_true(json_is_string(json_object_get(card, required[i])));
  assert_true(json_is_object(json_object_get(card, "capabilities")));
  assert_true(json_is_array(json_object_get(card, "skills")));
  assert_true(json_is_array(json_object_get(card, "defaultInputModes")));
  assert_true(json_is_array(json_object_get(card, "additionalInterfaces")));
  json_decref(card);
  h_req("GET", "/.well-known/agent.json", NULL, NULL, NULL, &b); /* 2 */
  assert_int_equal(b.status, 200);
  assert_string_equal(a.body, b.body);
  assert_true(strlen(a.etag) > 2 && strlen(a.cache) > 0);           /* 3 */
  h_req("GET", "/.well-known/agent-card.json", NULL, "If-None-Match", a.etag, &c304);
  assert_int_equal(c304.status, 304);
  h_req("GET", "/.well-known/agent-card.json", NULL, "A2A-Version", "1.0", &v1); /* 4 */
  assert_string_equal(a.vary, "A2A-Version");
  json_t *c1 = json_loads(v1.body, 0, NULL);
  assert_non_null(json_object_get(c1, "supportedInterfaces"));
  assert_string_not_equal(a.body, v1.body);
  json_decref(c1);
  h_free(&a); h_free(&b); h_free(&v1); h_free(&c304);
}

/* ---- 7.2 framing ---- */

static void framing_checks_5_to_12(void **state) {
  (void)state;
  assert_rpc_error(h_rpc("/", "{\"jsonrpc\": \"2.0\", \"method\": \"message/send\", \"params\": {\"foo\": \"bar\"}", NULL), -32700, 1);
  const char *invalid[] = { /* 6, 7: -32600 echoes the request's valid id */
    "{\"jsonrpc\":\"aaa\",\"id\":1,\"method\":\"tasks/get\",\"params\":{}}",
    "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{}}",
  };
  for (size_t i = 0; i < 3; i++) {
    json_t *e = h_rpc("/", invalid[i], NULL);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), 1);
    assert_rpc_error(e, -32600, 0);
  }
  assert_rpc_error(h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":{\"bad\":\"type\"},\"method\":\"tasks/get\"}", NULL), -32600, 1);
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":\"x9\",\"method\":\"message/ssend\",\"params\":{}}", NULL);
  assert_string_equal(json_string_value(json_object_get(v, "id")), "x9"); /* 9: id echoed */
  assert_rpc_error(v, -32601, 0);
  assert_rpc_error(h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nonexistent/method\"}", NULL), -32601, 0);
  const char *bad_params[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"parts\":\"invalid\"}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"kind\":\"message\"}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":\"x\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"text\":\"no kind\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"no id\"}]}}}",
  };
  for (size_t i = 0; i < 5; i++) assert_rpc_error(h_rpc("/", bad_params[i], NULL), -32602, 0); /* 10 */
  v = h_rpc("/", SEND("42", "num id"), NULL); /* 11: numeric id stays a number */
  assert_true(json_is_integer(json_object_get(v, "id")));
  assert_int_equal(json_integer_value(json_object_get(v, "id")), 42);
  json_decref(v);
  v = h_rpc("/", SEND("\"42\"", "str id"), NULL);
  assert_string_equal(json_string_value(json_object_get(v, "id")), "42");
  json_decref(v);
  assert_rpc_error(h_rpc("/", "[" SEND("1", "batch") "]", NULL), -32600, 1); /* 12 */
}

/* ---- 7.3 core methods ---- */

static void send_and_get_13_to_15(void **state) {
  (void)state;
  mol_a2a_server_stats before, after;
  mol_a2a_server_stats_get(H.a2a[0], &before);
  json_t *v = h_rpc("/", SEND("1", "hello"), NULL); /* 13: instant agent -> Message */
  mol_a2a_server_stats_get(H.a2a[0], &after);
  assert_int_equal(after.tasks, before.tasks); /* a Message-only exchange keeps no task */
  assert_string_equal(result_str(v, "kind"), "message");
  assert_string_equal(result_str(v, "role"), "agent");
  assert_string_equal(result_str(v, "parts.0.text"), "echo: hello");
  json_decref(v);
  v = h_rpc("/task", SEND("2", "lifecycle"), NULL); /* 13: task agent -> Task */
  assert_string_equal(result_str(v, "kind"), "task");
  assert_string_equal(result_str(v, "status.state"), "completed");
  assert_string_equal(result_str(v, "artifacts.0.parts.0.text"), "echo: lifecycle");
  char get[256], id[64];
  snprintf(id, sizeof(id), "%s", result_str(v, "id"));
  json_decref(v);
  snprintf(get, sizeof(get), "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\",\"historyLength\":0}}", id);
  v = h_rpc("/task", get, NULL); /* 14 */
  assert_string_equal(result_str(v, "id"), id);
  json_t *hist = json_object_get(json_object_get(v, "result"), "history");
  assert_true(!hist || json_array_size(hist) == 0);
  json_decref(v);
  snprintf(get, sizeof(get), "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\",\"historyLength\":1}}", id);
  v = h_rpc("/task", get, NULL);
  assert_true(json_array_size(json_object_get(json_object_get(v, "result"), "history")) <= 1);
  json_decref(v);
  assert_rpc_error(h_rpc("/task", "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tasks/get\",\"params\":{\"id\":\"nope\"}}", NULL), -32001, 0); /* 15 */
}

static char *start_running_task(void) {
  json_t *v = h_rpc("/task", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{"
                             "\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\","
                             "\"messageId\":\"run-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"slow\"}]}}}", NULL);
  assert_string_equal(result_str(v, "kind"), "task");
  assert_false(strcmp(result_str(v, "status.state"), "completed") == 0);
  char *id = strdup(result_str(v, "id"));
  json_decref(v);
  return id;
}

static json_t *task_call(const char *method, const char *id) {
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"%s\",\"params\":{\"id\":\"%s\"}}", method, id);
  return h_rpc("/task", body, NULL);
}

static void cancel_16_and_terminal_17(void **state) {
  (void)state;
  assert_rpc_error(task_call("tasks/cancel", "unknown"), -32001, 0);
  char *id = start_running_task();
  json_t *v = task_call("tasks/cancel", id); /* running -> canceled, executor stopped */
  assert_string_equal(result_str(v, "status.state"), "canceled");
  json_decref(v);
  /* until the turn has ended: a step the executor still took would show below */
  for (mol_a2a_server_stats s;; uv_run(&H.loop, UV_RUN_ONCE)) {
    mol_a2a_server_stats_get(H.a2a[1], &s);
    if (!s.live_turns) break;
  }
  v = task_call("tasks/get", id);
  assert_string_equal(result_str(v, "status.state"), "canceled");
  assert_int_equal(json_array_size(json_object_get(json_object_get(v, "result"), "artifacts")), 0);
  json_decref(v);
  assert_rpc_error(task_call("tasks/cancel", id), -32002, 0); /* terminal */
  char body[512]; /* 17: continuing a terminal task */
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m17\",\"taskId\":\"%s\",\"parts\":[{\"kind\":\"text\",\"text\":\"again\"}]}}}", id);
  assert_rpc_error(h_rpc("/task", body, NULL), -32004, 0); /* UnsupportedOperation, as v1.0 */
  free(id);
}

static void ids_contexts_unknown_fields_18_to_20(void **state) {
  (void)state;
  json_t *a = h_rpc("/task", SEND("1", "input-required please"), NULL);
  json_t *b = h_rpc("/task", SEND("2", "other"), NULL);
  assert_string_equal(result_str(a, "status.state"), "input-required");
  assert_string_not_equal(result_str(a, "id"), result_str(b, "id")); /* unique ids */
  char body[640];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m18\",\"taskId\":\"%s\",\"contextId\":\"%s\",\"parts\":[{\"kind\":\"text\",\"text\":\"x\"}]}}}",
           result_str(a, "id"), result_str(b, "contextId"));
  assert_rpc_error(h_rpc("/task", body, NULL), -32602, 0); /* disagreeing ids */
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":4,\"extra\":1,\"method\":\"message/send\",\"params\":{\"zzz\":true,\"message\":{\"role\":\"user\",\"messageId\":\"m18b\",\"taskId\":\"%s\",\"unknownField\":[1],\"parts\":[{\"kind\":\"text\",\"text\":\"continued\",\"what\":0}]}}}",
           result_str(a, "id"));
  json_t *c = h_rpc("/task", body, NULL); /* continue with only taskId; 19: unknown fields */
  assert_string_equal(result_str(c, "id"), result_str(a, "id"));
  assert_string_equal(result_str(c, "contextId"), result_str(a, "contextId"));
  assert_string_equal(result_str(c, "status.state"), "completed");
  json_decref(a); json_decref(b); json_decref(c);
  assert_rpc_error(h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"agent/getAuthenticatedExtendedCard\"}", NULL), -32007, 0); /* 20 */
}

/* ---- 7.4 streaming ---- */

static void check_stream(const char *path, const char *body, const char *want_first, int *n_out,
                         char *last_state, size_t last_len) {
  h_resp o;
  h_req("POST", path, body, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  assert_true(strncmp(o.ctype, "text/event-stream", 17) == 0); /* 21 */
  char *data[32];
  int is_err[32];
  int n = h_sse_events(o.body, data, is_err, 32);
  assert_true(n >= 2);
  for (int i = 0; i < n; i++) {
    json_t *ev = json_loads(data[i], 0, NULL);
    assert_non_null(ev);
    assert_int_equal(json_integer_value(json_object_get(ev, "id")), 77); /* same id, a number */
    if (i == 0) assert_string_equal(result_str(ev, "kind"), want_first); /* 22 */
    if (i == n - 1) { /* 23 */
      assert_string_equal(result_str(ev, "kind"), "status-update");
      assert_true(json_is_true(json_object_get(json_object_get(ev, "result"), "final")));
      snprintf(last_state, last_len, "%s", result_str(ev, "status.state"));
    }
    json_decref(ev);
  }
  *n_out = n;
  h_free(&o);
}

#define STREAM(text) \
  "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"message/stream\",\"params\":{\"message\":" \
  "{\"role\":\"user\",\"messageId\":\"s-1\",\"parts\":[{\"type\":\"text\",\"text\":\"" text "\"}]}}}"

static void stream_checks_21_to_24(void **state) {
  (void)state;
  int n;
  char last[32];
  check_stream("/task", STREAM("stream me"), "task", &n, last, sizeof(last));
  assert_int_equal(n, 4); /* task, working, artifact (lastChunk), completed */
  assert_string_equal(last, "completed");
  check_stream("/", STREAM("instant"), "task", &n, last, sizeof(last));
  assert_string_equal(last, "completed");
  check_stream("/task", STREAM("input-required now"), "task", &n, last, sizeof(last));
  assert_string_equal(last, "input-required"); /* interrupted ends the stream too */
}

static void resubscribe_25_26(void **state) {
  (void)state;
  char *id = start_running_task();
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"tasks/resubscribe\",\"params\":{\"id\":\"%s\"}}", id);
  h_resp a, b;
  h_start("POST", "/task", body, NULL, NULL, &a); /* 26: two subscribers at once */
  h_start("POST", "/task", body, NULL, NULL, &b);
  h_wait(&a);
  h_wait(&b);
  assert_int_equal(a.status, 200);
  char *da[16], *db[16];
  int ea[16], eb[16];
  int na = h_sse_events(a.body, da, ea, 16), nb = h_sse_events(b.body, db, eb, 16);
  assert_true(na >= 2);
  assert_int_equal(na, nb);
  for (int i = 1; i < na; i++) assert_string_equal(da[i], db[i]); /* same events, same order */
  json_t *last = json_loads(da[na - 1], 0, NULL);
  assert_string_equal(result_str(last, "status.state"), "completed");
  assert_string_equal(json_string_value(json_object_get(last, "id")), "r");
  json_decref(last);
  h_free(&a); h_free(&b);
  json_t *v = h_rpc("/task", body, NULL); /* 25: terminal -> -32004 */
  assert_rpc_error(v, -32004, 0);
  free(id);
}

/* ---- 7.5 capabilities, versions, serialization ---- */

static void capabilities_28_29_30(void **state) {
  (void)state;
  const char *push[] = {"tasks/pushNotificationConfig/set", "tasks/pushNotificationConfig/get",
                        "tasks/pushNotificationConfig/list", "tasks/pushNotificationConfig/delete"};
  char body[256];
  for (int i = 0; i < 4; i++) {
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"id\":\"t\",\"taskId\":\"t\"}}", push[i]);
    assert_rpc_error(h_rpc("/", body, NULL), -32003, 0);
  }
  assert_rpc_error(h_rpc("/nostream", STREAM("no"), NULL), -32004, 0);
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"legacy\",\"parts\":[{\"type\":\"text\",\"text\":\"old style\"}]}}}", NULL);
  assert_string_equal(result_str(v, "parts.0.text"), "echo: old style");
  json_decref(v);
}

static void versions_and_serialization_31_32(void **state) {
  (void)state;
  const char *v1 = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{\"message\":"
                   "{\"role\":\"ROLE_USER\",\"messageId\":\"v1\",\"parts\":[{\"text\":\"hi\"}]}}}";
  json_t *v = h_rpc("/task", v1, "1.0");
  json_t *task = json_object_get(json_object_get(v, "result"), "task");
  assert_non_null(task);
  const char *state_name = json_string_value(json_object_get(json_object_get(task, "status"), "state"));
  assert_string_equal(state_name, "TASK_STATE_COMPLETED");
  const char *ts = json_string_value(json_object_get(json_object_get(task, "status"), "timestamp"));
  assert_int_equal(strlen(ts), 24); /* 32: 2026-05-01T12:00:00.955Z */
  assert_int_equal(ts[23], 'Z');
  assert_int_equal(ts[19], '.');
  assert_non_null(json_object_get(task, "contextId")); /* camelCase */
  json_decref(v);
  assert_rpc_error(h_rpc("/", v1, "0.5"), -32009, 0);
  assert_rpc_error(h_rpc("/", v1, NULL), -32601, 0);
  v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\",\"params\":{\"id\":\"nope\"}}", "1.0");
  json_t *data = json_object_get(json_object_get(v, "error"), "data");
  assert_true(json_is_array(data));
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(data, 0), "@type")), "ErrorInfo"));
  assert_rpc_error(v, -32001, 0);
}

static void health_and_bad_prefix(void **state) {
  (void)state;
  h_resp o;
  h_req("GET", "/health", NULL, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.body, "{\"status\":\"ok\"}");
  h_free(&o);
  mol_a2a_server *bad;
  mol_a2a_card card = {.name = "x", .url = "http://x/"};
  mol_a2a_server_opts opts = {.card = &card, .executor = &H.ex_instant, .prefix = "no-slash"};
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &opts, &bad), MOL_EINVAL);
  opts.card = NULL;
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &opts, &bad), MOL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(card_checks_1_to_4),
    cmocka_unit_test(framing_checks_5_to_12),
    cmocka_unit_test(send_and_get_13_to_15),
    cmocka_unit_test(cancel_16_and_terminal_17),
    cmocka_unit_test(ids_contexts_unknown_fields_18_to_20),
    cmocka_unit_test(stream_checks_21_to_24),
    cmocka_unit_test(resubscribe_25_26),
    cmocka_unit_test(capabilities_28_29_30),
    cmocka_unit_test(versions_and_serialization_31_32),
    cmocka_unit_test(health_and_bad_prefix),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
