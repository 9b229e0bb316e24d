/* test_mcp_session.c - the MCP protocol core on a real loop with the diagnostic tools, no
 * sockets: JSON-RPC errors (parse, invalid request, unknown method, unknown tool), version
 * negotiation, the lifecycle, notifications never answered, tools/list pages, tool results and
 * tool errors (isError), calls answered in completion order, notifications/cancelled, batches
 * only where the revision has them, the in-flight bound, and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mcp/session.h"
#include "mcp/toolset.h"

#define MAX_ANSWERS 64

static uv_loop_t loop;
static mol_tool_env env;
static mol_tools *reg;
static json_t *answers[MAX_ANSWERS]; /* parsed; json null for "no answer due" */
static void *answer_ctx[MAX_ANSWERS];
static int n_answers;
static int closed;

static void on_answer(void *ctx, const char *json, size_t len, void *arg) {
  (void)arg;
  assert_true(n_answers < MAX_ANSWERS);
  if (json) {
    assert_int_equal(strlen(json), len);
    assert_null(strchr(json, '\n')); /* one stdio line per message */
    answers[n_answers] = json_loads(json, 0, NULL);
    assert_non_null(answers[n_answers]);
  } else {
    answers[n_answers] = json_null();
  }
  answer_ctx[n_answers++] = ctx;
}

static void on_closed(void *arg) { (*(int *)arg)++; }

static void reset_answers(void) {
  for (int i = 0; i < n_answers; i++) json_decref(answers[i]);
  n_answers = 0;
}

static int setup(void **state) {
  (void)state;
  uv_loop_init(&loop);
  env.loop = &loop;
  reg = mol_tools_new(&env);
  assert_int_equal(mol_mcp_test_tools_add(reg), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  reset_answers();
  mol_tools_free(reg);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  return 0;
}

static mol_mcp_session *open_session(const mol_mcp_session_opts *more) {
  mol_mcp_session_opts o = more ? *more : (mol_mcp_session_opts){0};
  o.tools = reg;
  mol_mcp_session *s = NULL;
  assert_int_equal(mol_mcp_session_new(&o, on_answer, NULL, &s), 0);
  return s;
}

static void close_session(mol_mcp_session *s) {
  closed = 0;
  mol_mcp_session_close(s, 1, on_closed, &closed);
  assert_int_equal(closed, 0); /* never inside the call */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
}

static mol_mcp_feed_info feed(mol_mcp_session *s, const char *text) {
  mol_mcp_feed_info info;
  assert_int_equal(mol_mcp_session_feed(s, text, strlen(text), (void *)text, &info), 0);
  return info;
}

static void initialize(mol_mcp_session *s, const char *version) {
  char msg[256];
  snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
           "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
           "\"version\":\"1\"}}}", version);
  int before = n_answers;
  feed(s, msg);
  assert_int_equal(n_answers, before + 1);
  assert_string_equal(mol_mcp_session_version(s), version);
  feed(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
  assert_int_equal(n_answers, before + 1);
  reset_answers();
}

static int error_code(const json_t *a) {
  return (int)json_integer_value(json_object_get(json_object_get(a, "error"), "code"));
}

static const char *result_text(const json_t *a) {
  json_t *content = json_object_get(json_object_get(a, "result"), "content");
  assert_int_equal(json_array_size(content), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(content, 0), "type")),
                      "text");
  return json_string_value(json_object_get(json_array_get(content, 0), "text"));
}

static int is_error(const json_t *a) {
  return json_is_true(json_object_get(json_object_get(a, "result"), "isError"));
}

static void call(mol_mcp_session *s, int id, const char *name, const char *args) {
  char msg[512];
  snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"%s\",\"arguments\":%s}}", id, name, args);
  mol_mcp_feed_info info;
  assert_int_equal(mol_mcp_session_feed(s, msg, strlen(msg), NULL, &info), 0);
  assert_int_equal(info.answer, 1);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_negotiation(void **state) {
  (void)state;
  mol_mcp_session *s = open_session(NULL);
  /* A revision we do not speak: ours comes back. */
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
          "{\"protocolVersion\":\"1999-01-01\",\"capabilities\":{}}}");
  assert_int_equal(n_answers, 1);
  json_t *r = json_object_get(answers[0], "result");
  assert_string_equal(json_string_value(json_object_get(r, "protocolVersion")),
                      MCP_LATEST_VERSION);
  assert_non_null(json_object_get(json_object_get(r, "capabilities"), "tools"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "serverInfo"),
                                                        "name")), "molecule");
  /* Twice is an error. */
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":"
          "{\"protocolVersion\":\"2025-06-18\"}}");
  assert_int_equal(error_code(answers[1]), -32600);
  close_session(s);
  reset_answers();

  /* Each revision we speak is answered with itself. */
  const char *versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  for (size_t i = 0; i < 4; i++) {
    s = open_session(NULL);
    initialize(s, versions[i]);
    close_session(s);
  }
  /* No protocolVersion: invalid params, and the session stays uninitialized. */
  s = open_session(NULL);
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"initialize\",\"params\":{}}");
  assert_int_equal(error_code(answers[0]), -32602);
  assert_string_equal(json_string_value(json_object_get(answers[0], "id")), "x");
  assert_null(mol_mcp_session_version(s));
  close_session(s);
}

static void test_lifecycle_and_errors(void **state) {
  (void)state;
  mol_mcp_session *s = open_session(NULL);
  /* ping works before initialize; other requests do not. */
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
  assert_int_equal(json_object_size(json_object_get(answers[0], "result")), 0);
  assert_true(json_is_object(json_object_get(answers[0], "result")));
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
  assert_int_equal(error_code(answers[1]), -32600);
  reset_answers();
  initialize(s, MCP_LATEST_VERSION);

  mol_mcp_feed_info info = feed(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/lis");
  assert_true(info.answer && info.malformed);
  assert_int_equal(error_code(answers[0]), -32700);
  assert_true(json_is_null(json_object_get(answers[0], "id")));
  info = feed(s, "[1,2");
  assert_int_equal(error_code(answers[1]), -32700);
  info = feed(s, "{\"id\":4,\"method\":\"ping\"}"); /* no "jsonrpc" */
  assert_true(info.malformed);
  assert_int_equal(error_code(answers[2]), -32600);
  assert_int_equal(json_integer_value(json_object_get(answers[2], "id")), 4);
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}");
  assert_int_equal(error_code(answers[3]), -32600);
  feed(s, "\"just a string\"");
  assert_int_equal(error_code(answers[4]), -32600);
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/list\"}");
  assert_int_equal(error_code(answers[5]), -32601);
  info = feed(s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":[1]}");
  assert_int_equal(error_code(answers[6]), -32602);
  assert_int_equal(n_answers, 7);

  /* Notifications, known or not, and responses are never answered. */
  const char *silent[] = {
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\",\"params\":{}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":99}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/method\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}",
    "{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":1,\"message\":\"x\"}}",
  };
  for (size_t i = 0; i < sizeof silent / sizeof *silent; i++) {
    info = feed(s, silent[i]);
    assert_int_equal(info.answer, 0);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(n_answers, 7);
  close_session(s);
}

static void test_tools_list_pages(void **state) {
  (void)state;
  mol_mcp_session_opts o = {.page_size = 3};
  mol_mcp_session *s = open_session(&o);
  initialize(s, MCP_LATEST_VERSION);
  size_t seen = 0;
  char msg[256];
  const char *cursor = NULL;
  for (int page = 0; page < 10; page++) {
    if (cursor)
      snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\","
               "\"params\":{\"cursor\":\"%s\"}}", page, cursor);
    else
      snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\"}", page);
    feed(s, msg);
    json_t *r = json_object_get(answers[n_answers - 1], "result");
    json_t *tools = json_object_get(r, "tools");
    assert_true(json_array_size(tools) >= 1 && json_array_size(tools) <= 3);
    for (size_t i = 0; i < json_array_size(tools); i++) {
      json_t *t = json_array_get(tools, i);
      assert_string_equal(json_string_value(json_object_get(t, "name")),
                          mol_tools_at(reg, seen + i)->name);
      assert_true(json_is_object(json_object_get(t, "inputSchema")));
      assert_non_null(json_string_value(json_object_get(t, "description")));
    }
    seen += json_array_size(tools);
    cursor = json_string_value(json_object_get(r, "nextCursor"));
    if (!cursor) break;
  }
  assert_int_equal(seen, mol_tools_count(reg));
  feed(s, "{\"jsonrpc\":\"2.0\",\"id\":\"c\",\"method\":\"tools/list\",\"params\":{\"cursor\":"
          "\"nonsense\"}}");
  assert_int_equal(error_code(answers[n_answers - 1]), -32602);
  close_session(s);
}

static void test_tool_calls(void **state) {
  (void)state;
  mol_mcp_session *s = open_session(NULL);
  initialize(s, MCP_LATEST_VERSION);
  call(s, 1, "echo", "{\"text\":\"h\\u00e9llo\"}");
  call(s, 2, "add", "{\"a\":2,\"b\":40}");
  call(s, 3, "fail", "{\"message\":\"it broke\"}");
  call(s, 4, "echo", "{}");                /* misses a required argument: a tool error */
  assert_int_equal(n_answers, 0);          /* answered later, on the loop */
  call(s, 5, "nope", "{}");                /* unknown tool: a protocol error, at once */
  call(s, 6, "echo", "[1]");               /* arguments that are not an object */
  assert_int_equal(n_answers, 2);
  assert_int_equal(error_code(answers[0]), -32602);
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(answers[0], "error"),
                                                           "message")), "Unknown tool: nope"));
  assert_int_equal(error_code(answers[1]), -32602);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(n_answers, 6);
  for (int i = 2; i < 6; i++) {
    json_int_t id = json_integer_value(json_object_get(answers[i], "id"));
    switch (id) {
      case 1: assert_string_equal(result_text(answers[i]), "h\xc3\xa9llo");
              assert_false(is_error(answers[i])); break;
      case 2: assert_string_equal(result_text(answers[i]), "42");
              assert_false(is_error(answers[i])); break;
      case 3: assert_string_equal(result_text(answers[i]), "it broke");
              assert_true(is_error(answers[i])); break;
      case 4: assert_non_null(strstr(result_text(answers[i]), "text"));
              assert_true(is_error(answers[i])); break;
      default: fail();
    }
  }
  close_session(s);
}

static void test_completion_order_and_cancel(void **state) {
  (void)state;
  mol_mcp_session *s = open_session(NULL);
  initialize(s, MCP_LATEST_VERSION);
  call(s, 1, "slow", "{\"ms\":30}");
  call(s, 2, "slow", "{}");                /* a minute: canceled below */
  call(s, 3, "echo", "{\"text\":\"quick\"}");
  assert_int_equal(mol_mcp_session_inflight(s), 3);
  /* A second request with an id still in flight is refused. */
  call(s, 2, "echo", "{\"text\":\"dup\"}");
  assert_int_equal(n_answers, 1);
  assert_int_equal(error_code(answers[0]), -32600);
  mol_mcp_feed_info info = feed(s,
                                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                                "\"params\":{\"requestId\":2,\"reason\":\"user\"}}");
  assert_int_equal(info.answer, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(n_answers, 4);
  /* The quick call first, the canceled one with nothing to send, the slow one last. */
  assert_string_equal(result_text(answers[1]), "quick");
  assert_true(json_is_null(answers[2]));
  assert_int_equal(json_integer_value(json_object_get(answers[3], "id")), 1);
  assert_string_equal(result_text(answers[3]), "slept 30 ms");
  assert_int_equal(mol_mcp_session_inflight(s), 0);
  reset_answers();
  call(s, 9, "running", "{}");
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_string_equal(result_text(answers[0]), "0"); /* the cancel stopped the tool for real */
  close_session(s);
}

static void test_batches(void **state) {
  (void)state;
  static const char batch[] =
      "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
      "\"arguments\":{\"text\":\"a\"}}},"
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"},"
      "{\"jsonrpc\":\"2.0\",\"id\":3}]";
  mol_mcp_session *s = open_session(NULL);
  initialize(s, "2025-03-26");
  mol_mcp_feed_info info = feed(s, batch);
  assert_int_equal(info.answer, 1);
  assert_int_equal(n_answers, 0);     /* one array, once the call is done */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(n_answers, 1);
  assert_ptr_equal(answer_ctx[0], batch);
  assert_true(json_is_array(answers[0]));
  assert_int_equal(json_array_size(answers[0]), 3);
  /* Notifications only: nothing is ever sent. */
  info = feed(s, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]");
  assert_int_equal(info.answer, 0);
  info = feed(s, "[]");
  assert_true(info.malformed);
  assert_int_equal(error_code(answers[1]), -32600);
  close_session(s);
  reset_answers();

  /* Revisions from 2025-06-18 on have no batches; neither does a session not initialized. */
  s = open_session(NULL);
  info = feed(s, batch);
  assert_true(info.answer && info.malformed);
  assert_int_equal(error_code(answers[0]), -32600);
  initialize(s, "2025-06-18");
  info = feed(s, batch);
  assert_true(info.malformed);
  assert_int_equal(error_code(answers[0]), -32600);
  close_session(s);
}

static void test_inflight_bound_and_close(void **state) {
  (void)state;
  mol_mcp_session_opts o = {.max_inflight = 2};
  mol_mcp_session *s = open_session(&o);
  initialize(s, MCP_LATEST_VERSION);
  call(s, 1, "slow", "{}");
  call(s, 2, "slow", "{}");
  call(s, 3, "slow", "{}");
  assert_int_equal(n_answers, 1);
  assert_int_equal(error_code(answers[0]), -32000);
  /* Close cancels them; each is still answered, with isError. */
  closed = 0;
  mol_mcp_session_close(s, 1, on_closed, &closed);
  assert_int_equal(closed, 0);
  mol_mcp_feed_info info;
  assert_int_equal(mol_mcp_session_feed(s, "{}", 2, NULL, &info), MOL_ESHUTDOWN);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(n_answers, 3);
  for (int i = 1; i < 3; i++) {
    assert_true(is_error(answers[i]));
    assert_non_null(strstr(result_text(answers[i]), "canceled"));
  }
}

static void test_close_drains(void **state) {
  (void)state;
  mol_mcp_session *s = open_session(NULL);
  initialize(s, MCP_LATEST_VERSION);
  call(s, 1, "slow", "{\"ms\":20}");
  closed = 0;
  mol_mcp_session_close(s, 0, on_closed, &closed); /* drain: the call runs to its end */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(n_answers, 1);
  assert_string_equal(result_text(answers[0]), "slept 20 ms");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lifecycle_and_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tools_list_pages, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tool_calls, setup, teardown),
    cmocka_unit_test_setup_teardown(test_completion_order_and_cancel, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
    cmocka_unit_test_setup_teardown(test_inflight_bound_and_close, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
