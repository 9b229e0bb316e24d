/* The chat executor's tool loop against the real @dwmkerr/mock-llm (npm, pinned), plain
 * (non-streamed) replies with tool_calls, scripted in test/interop/mock-llm/tools.yaml: a
 * multi-step script whose every step checks what the bridge sent back, calls that must run
 * concurrently, a failing tool, an unknown tool and bad arguments reaching the model as text,
 * the round cap (answer and failure), a tool deadline, cancel while a tool runs, and no tools
 * sent for an empty registry, and a registry changed between turns offering its new tools
 * (the executor keeps the tools' text from turn to turn). The tools are registered here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "node_peer.h"
#include "runtime/exec_chat.h"
#include "tools/registry.h"

static node_peer mock;
static mol_tool_env env;
static mol_tools *tools, *no_tools, *changing;
static mol_a2a_executor ex_seq, ex_m, ex_t, ex_e, ex_r;

/* ---- the tools ---------------------------------------------------------------------------- */

static int add_start(mol_tool_call *call, json_t *args) {
  char text[64];
  snprintf(text, sizeof text, "%g", json_number_value(json_object_get(args, "a")) +
                                        json_number_value(json_object_get(args, "b")));
  mol_tool_call_done(call, text, (size_t)-1);
  return 0;
}

/* gather: a call ends only once three calls are running at the same time, so calls run one
 * after the other would never end (the tool deadline would answer instead). */
static mol_tool_call *gathered[3];
static char gathered_tag[3][16];
static int ngathered;

static int gather_start(mol_tool_call *call, json_t *args) {
  snprintf(gathered_tag[ngathered], sizeof gathered_tag[0], "%s",
           json_string_value(json_object_get(args, "tag")));
  gathered[ngathered++] = call;
  if (ngathered < 3) return 0;
  for (int i = 0; i < 3; i++) {
    char text[96];
    snprintf(text, sizeof text, "%s ran with 3 at once", gathered_tag[i]);
    mol_tool_call_done(gathered[i], text, (size_t)-1);
  }
  ngathered = 0;
  return 0;
}

static int fail_start(mol_tool_call *call, json_t *args) {
  (void)args;
  mol_tool_call_fail(call, "disk on fire");
  return 0;
}

/* slow: runs until stopped (a cancel or its deadline). */
static int slow_started, slow_stopped;
static mol_tool_call *slow_call;

static int slow_start(mol_tool_call *call, json_t *args) {
  (void)args;
  slow_started++;
  slow_call = call;
  return 0;
}

static void slow_cancel(mol_tool_call *call) {
  slow_stopped++;
  slow_call = NULL;
  mol_tool_call_fail(call, "stopped");
}

static void add_tools(void) {
  env.loop = &H.loop;
  tools = mol_tools_new(&env);
  no_tools = mol_tools_new(&env);
  changing = mol_tools_new(&env);
  mol_tool_def defs[] = {
    {.name = "add", .description = "adds a and b", .start = add_start,
     .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                     "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}"},
    {.name = "slow", .description = "takes its time", .start = slow_start, .cancel = slow_cancel,
     .input_schema = "{\"type\":\"object\"}"},
    {.name = "gather", .description = "waits for its peers", .start = gather_start,
     .input_schema = "{\"type\":\"object\",\"properties\":{\"tag\":{\"type\":\"string\"}},\"required\":[\"tag\"]}"},
    {.name = "fail", .description = "always fails", .start = fail_start,
     .input_schema = "{\"type\":\"object\"}"},
  };
  for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) assert_int_equal(mol_tools_add(tools, &defs[i]), 0);
}

/* ---- setup -------------------------------------------------------------------------------- */

static void make_executor(mol_a2a_executor *ex, const char *script, mol_tools *reg,
                          unsigned rounds, unsigned tool_timeout_ms) {
  char base[128];
  snprintf(base, sizeof base, "http://127.0.0.1:%d/%s/v1", mock.port, script);
  mol_chat_opts o = {.http = H.client, .api_base = base, .model = "mock", .tools = reg,
                     .max_tool_rounds = rounds, .tool_timeout_ms = tool_timeout_ms};
  assert_int_equal(mol_chat_executor_new(&o, ex), 0);
}

static int setup(void **state) {
  (void)state;
  const char *args[] = {"node_modules/@dwmkerr/mock-llm/dist/main.js", "--config", "tools.yaml", NULL};
  mock = np_start("mock-llm", args[0], args + 1, NULL);
  h_setup_base();
  add_tools();
  make_executor(&ex_seq, "seq", tools, 0, 0);
  make_executor(&ex_m, "m", tools, 3, 0);
  make_executor(&ex_t, "t", tools, 0, 50);
  make_executor(&ex_e, "e", no_tools, 0, 0);
  make_executor(&ex_r, "r", changing, 0, 0);
  h_mount("", &ex_seq, 1);
  h_mount("/m", &ex_m, 1);
  h_mount("/t", &ex_t, 1);
  h_mount("/e", &ex_e, 1);
  h_mount("/r", &ex_r, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  mol_chat_executor_free(&ex_seq);
  mol_chat_executor_free(&ex_m);
  mol_chat_executor_free(&ex_t);
  mol_chat_executor_free(&ex_e);
  mol_chat_executor_free(&ex_r);
  mol_tools_free(tools);
  mol_tools_free(no_tools);
  mol_tools_free(changing);
  np_stop(&mock);
  return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *send_text(const char *path, const char *text, int blocking) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{"
           "\"configuration\":{\"blocking\":%s},\"message\":{\"role\":\"user\",\"messageId\":\"m-%s\","
           "\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}",
           blocking ? "true" : "false", text, text);
  json_t *v = h_rpc(path, body, NULL);
  assert_non_null(v);
  return v;
}

static const char *reply_text(json_t *v) {
  const char *t = json_string_value(json_object_get(json_array_get(json_object_get(
      json_object_get(v, "result"), "parts"), 0), "text"));
  if (!t) {
    char *s = json_dumps(v, 0);
    fprintf(stderr, "not a reply: %s\n", s);
    free(s);
  }
  return t ? t : "";
}

static const char *task_state(json_t *v) {
  return json_string_value(json_object_get(json_object_get(json_object_get(v, "result"), "status"), "state"));
}

static const char *task_status_text(json_t *v) {
  json_t *msg = json_object_get(json_object_get(json_object_get(v, "result"), "status"), "message");
  return json_string_value(json_object_get(json_array_get(json_object_get(msg, "parts"), 0), "text"));
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Three model calls in a sequence: every step of the script matches only when the bridge sent
 * the tools, the assistant message with its tool_calls and the tool result back. */
static void multi_step_script_reaches_the_answer(void **state) {
  (void)state;
  json_t *v = send_text("/", "add things up", 1);
  assert_string_equal(reply_text(v), "2 + 3 + 10 = 15");
  json_decref(v);
}

/* Six calls in one reply: three that end only when running together, a failing tool, an
 * unknown tool, and arguments that are not JSON. The model sees one tool message per call, in
 * call order, errors as text. */
static void calls_run_together_and_errors_reach_the_model(void **state) {
  (void)state;
  json_t *v = send_text("/m", "fanout", 1);
  assert_string_equal(reply_text(v),
                      "g1,g2,f1,g3,n1,b1 | g1 ran with 3 at once | g2 ran with 3 at once | "
                      "Error: disk on fire | g3 ran with 3 at once | "
                      "Error: nosuch is not a valid tool, try one of [add, slow, gather, fail]. | "
                      "Error: add: the arguments are not valid JSON");
  json_decref(v);
}

/* A model that never stops calling tools: after 3 rounds one request without tools asks for
 * the answer. */
static void round_cap_asks_for_an_answer(void **state) {
  (void)state;
  json_t *v = send_text("/m", "cap", 1);
  assert_string_equal(reply_text(v), "gave up after 3 tool results");
  json_decref(v);
}

/* ... and when even that reply has no content, the task fails and says why. */
static void round_cap_without_an_answer_fails(void **state) {
  (void)state;
  json_t *v = send_text("/m", "capfail", 1);
  assert_string_equal(task_state(v), "failed");
  assert_string_equal(task_status_text(v), "no final answer after 3 rounds of tool calls (the limit)");
  json_decref(v);
}

/* A tool past its deadline is stopped and the model reads why. */
static void tool_deadline_reaches_the_model(void **state) {
  (void)state;
  int stopped = slow_stopped;
  json_t *v = send_text("/t", "slow", 1);
  assert_string_equal(reply_text(v), "tool said: Error: slow timed out after 50 ms");
  assert_int_equal(slow_stopped, stopped + 1);
  json_decref(v);
}

/* Cancel while the tool runs: the tool is stopped and the task ends canceled. */
static void cancel_stops_the_running_tool(void **state) {
  (void)state;
  int started = slow_started, stopped = slow_stopped;
  json_t *v = send_text("/m", "slow", 0);
  char body[256];
  snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"%s\"}}",
           json_string_value(json_object_get(json_object_get(v, "result"), "id")));
  json_decref(v);
  while (slow_started == started) uv_run(&H.loop, UV_RUN_ONCE);
  assert_non_null(slow_call);
  v = h_rpc("/m", body, NULL);
  assert_string_equal(task_state(v), "canceled");
  assert_int_equal(slow_stopped, stopped + 1);
  assert_null(slow_call);
  json_decref(v);
}

/* An empty registry means no tools and no tool_choice on the wire. */
static void empty_registry_sends_no_tools(void **state) {
  (void)state;
  json_t *v = send_text("/e", "hello", 1);
  assert_string_equal(reply_text(v), "tools: null, tool_choice: null");
  json_decref(v);
}

static void add_named(mol_tools *reg, const char *name) {
  mol_tool_def def = {.name = name, .description = "d", .start = fail_start,
                      .input_schema = "{\"type\":\"object\"}"};
  assert_int_equal(mol_tools_add(reg, &def), 0);
}

static void offered_tools(const char *text, const char *want) {
  json_t *v = send_text("/r", text, 1);
  assert_string_equal(reply_text(v), want);
  json_decref(v);
}

/* The tools a turn offers are the registry's as the turn starts: a tool added or removed
 * between turns is offered, or no longer, from the next turn on. */
static void registry_changes_reach_the_next_turn(void **state) {
  (void)state;
  add_named(changing, "first");
  offered_tools("one", "tools: first");
  offered_tools("two", "tools: first"); /* unchanged */
  add_named(changing, "second");
  offered_tools("three", "tools: first,second");
  assert_int_equal(mol_tools_remove(changing, "first"), 0);
  offered_tools("four", "tools: second");
  /* removed and added back: the count of tools is the same, the tools are not */
  assert_int_equal(mol_tools_remove(changing, "second"), 0);
  add_named(changing, "third");
  offered_tools("five", "tools: third");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(multi_step_script_reaches_the_answer),
    cmocka_unit_test(calls_run_together_and_errors_reach_the_model),
    cmocka_unit_test(round_cap_asks_for_an_answer),
    cmocka_unit_test(round_cap_without_an_answer_fails),
    cmocka_unit_test(tool_deadline_reaches_the_model),
    cmocka_unit_test(cancel_stops_the_running_tool),
    cmocka_unit_test(empty_registry_sends_no_tools),
    cmocka_unit_test(registry_changes_reach_the_next_turn),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
