/* The chat executor's tool loop where mock-llm cannot go (it answers 500 or drops the calls
 * when tool calls are streamed): streamed delta.tool_calls fragments from a scripted server
 * (chat_script.h) on the test's loop - two calls interleaved by index, their arguments split
 * mid-JSON and one SSE line split between writes; a call without an id; too many calls; an
 * error event - a cancel while the second model request is in flight, tool output that is
 * not UTF-8, and a result over 1 MiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "base/json.h"
#include "chat_script.h"
#include "runtime/exec_chat.h"
#include "tools/registry.h"

static mol_tool_env env;
static mol_tools *tools;
static mol_a2a_executor ex;
static chat_script cs;

#define CHUNK(delta, finish) "data: {\"id\":\"k\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}]}\n\n"
#define DONE "data: [DONE]\n\n"

/* Call b (index 1) opens before call a (index 0); the arguments of both arrive in pieces that
 * are not JSON on their own, interleaved, the last two in one chunk; call b repeats its id and
 * name (the first value stays); one SSE line is split between two writes. */
static const char *const frag_round0[] = {
  CHUNK("{\"role\":\"assistant\",\"content\":\"Let me add. \"}", "null"),
  CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"\"}}]}", "null"),
  CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":\"}}]}", "null"),
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"argu",
  "ments\":\"{\\\"a\\\":10,\"}}]},\"finish_reason\":null}]}\n\n",
  CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"2,\\\"b\\\"\"}}]}", "null"),
  CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"add\",\"arguments\":\"\\\"b\\\":20}\"}},"
        "{\"index\":0,\"function\":{\"arguments\":\":3}\"}}]}", "null"),
  CHUNK("{}", "\"tool_calls\""),
  DONE, NULL};
static const char *const frag_round1[] = {
  CHUNK("{\"role\":\"assistant\",\"content\":\"The sums are \"}", "null"),
  CHUNK("{\"content\":\"5 and 30.\"}", "null"),
  CHUNK("{}", "\"stop\""), DONE, NULL};
static const cs_step frag_steps[] = {{.pieces = frag_round0}, {.pieces = frag_round1}};
static cs_scenario frag = {.name = "frag", .steps = frag_steps, .nsteps = 2};

/* A call without an id (some local servers): the bridge names it. The server says "stop"
 * even though it sent a call; the call decides. */
static const char *const noid_round0[] = {
  CHUNK("{\"tool_calls\":[{\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":1,\\\"b\\\":1}\"}}]}", "null"),
  CHUNK("{}", "\"stop\""), DONE, NULL};
static const char *const noid_round1[] = {CHUNK("{\"content\":\"two\"}", "\"stop\""), DONE, NULL};
static const cs_step noid_steps[] = {{.pieces = noid_round0}, {.pieces = noid_round1}};
static cs_scenario noid = {.name = "noid", .steps = noid_steps, .nsteps = 2};

/* 129 calls in one chunk (built in setup). */
static char many_chunk[16384];
static const char *const many_round0[] = {many_chunk, DONE, NULL};
static const cs_step many_steps[] = {{.pieces = many_round0}};
static cs_scenario many = {.name = "many", .steps = many_steps, .nsteps = 1};

/* An error event in the middle of the calls. */
static const char *const err_round0[] = {
  CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"e1\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\"}}]}", "null"),
  "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", NULL};
static const cs_step err_steps[] = {{.pieces = err_round0}};
static cs_scenario errs = {.name = "err", .steps = err_steps, .nsteps = 1};

/* Plain: a tool call, then a model request that never answers. */
static const cs_step hang_steps[] = {
  {.json = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
           "{\"id\":\"h1\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":1,\\\"b\\\":2}\"}}]},"
           "\"finish_reason\":\"tool_calls\"}]}"},
  {.hang = 1}};
static cs_scenario hang = {.name = "hang", .steps = hang_steps, .nsteps = 2};

/* Plain: a tool whose output is not UTF-8, then the answer. */
static const cs_step bytes_steps[] = {
  {.json = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
           "{\"id\":\"r1\",\"type\":\"function\",\"function\":{\"name\":\"raw\",\"arguments\":\"{}\"}}]},"
           "\"finish_reason\":\"tool_calls\"}]}"},
  {.json = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"read it\"}}]}"}};
static cs_scenario bytes = {.name = "bytes", .steps = bytes_steps, .nsteps = 2};

/* Plain: a tool whose result is over 1 MiB, then the answer. */
static const cs_step big_steps[] = {
  {.json = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
           "{\"id\":\"g1\",\"type\":\"function\",\"function\":{\"name\":\"huge\",\"arguments\":\"{}\"}}]},"
           "\"finish_reason\":\"tool_calls\"}]}"},
  {.json = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"that was long\"}}]}"}};
static cs_scenario big = {.name = "big", .steps = big_steps, .nsteps = 2};

static cs_scenario *scenarios[] = {&frag, &noid, &many, &errs, &hang, &bytes, &big, NULL};

static int add_start(mol_tool_call *call, json_t *args) {
  char text[64];
  snprintf(text, sizeof text, "%g", json_number_value(json_object_get(args, "a")) +
                                        json_number_value(json_object_get(args, "b")));
  mol_tool_call_done(call, text, (size_t)-1);
  return 0;
}

/* raw: output that is not UTF-8 (a stray byte, a cut sequence), as a process may print. */
static int raw_start(mol_tool_call *call, json_t *args) {
  (void)args;
  mol_tool_call_done(call, "ok \xff done \xe2\x82", 12);
  return 0;
}

/* huge: 1 MiB + 100 bytes of 'x', with a 2-byte character straddling the 1 MiB mark. */
#define HUGE_LEN ((1u << 20) + 100)
static int huge_start(mol_tool_call *call, json_t *args) {
  (void)args;
  char *text = malloc(HUGE_LEN);
  memset(text, 'x', HUGE_LEN);
  text[(1u << 20) - 1] = '\xc3';
  text[1u << 20] = '\xa9';
  mol_tool_call_done(call, text, HUGE_LEN);
  free(text);
  return 0;
}

static int setup(void **state) {
  (void)state;
  h_setup_base();
  env.loop = &H.loop;
  tools = mol_tools_new(&env);
  mol_tool_def add = {.name = "add", .description = "adds a and b", .start = add_start,
                      .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                                      "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}"};
  assert_int_equal(mol_tools_add(tools, &add), 0);
  mol_tool_def raw = {.name = "raw", .description = "prints bytes", .start = raw_start,
                      .input_schema = "{\"type\":\"object\"}"};
  assert_int_equal(mol_tools_add(tools, &raw), 0);
  mol_tool_def huge = {.name = "huge", .description = "talks a lot", .start = huge_start,
                       .input_schema = "{\"type\":\"object\"}"};
  assert_int_equal(mol_tools_add(tools, &huge), 0);
  size_t n = (size_t)snprintf(many_chunk, sizeof many_chunk, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[");
  for (int i = 0; i <= 128; i++)
    n += (size_t)snprintf(many_chunk + n, sizeof many_chunk - n, "%s{\"index\":%d,\"id\":\"m%d\",\"function\":{\"name\":\"add\",\"arguments\":\"{}\"}}",
                          i ? "," : "", i, i);
  snprintf(many_chunk + n, sizeof many_chunk - n, "]},\"finish_reason\":\"tool_calls\"}]}\n\n");
  cs_start(&cs, &H.loop, scenarios);
  return 0;
}

static void make_executor(const char *name) {
  char base[128];
  snprintf(base, sizeof base, "http://127.0.0.1:%d/%s/v1", cs_port(&cs), name);
  mol_chat_opts o = {.http = H.client, .api_base = base, .model = "m", .tools = tools};
  assert_int_equal(mol_chat_executor_new(&o, &ex), 0);
  h_mount("", &ex, 1);
}

static int teardown(void **state) {
  (void)state;
  cs_stop(&cs);
  h_teardown();
  mol_chat_executor_free(&ex);
  mol_tools_free(tools);
  return 0;
}

/* One test per group (the harness mounts at most four agents): each scenario gets its own
 * executor, set up and torn down around it. */
static int per_test_setup(void **state) {
  setup(state);
  make_executor(*state ? (const char *)*state : "frag");
  return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct {
  char status_texts[512];  /* working status messages, joined with '|' */
  char artifact[512];      /* the text of every artifact chunk, joined */
  char final_state[32];
  char final_text[256];
  int events;
} stream_seen;

static void read_event(stream_seen *s, json_t *res) {
  const char *kind = json_string_value(json_object_get(res, "kind"));
  json_t *status = json_object_get(res, "status");
  const char *text = json_string_value(json_object_get(json_array_get(json_object_get(
      json_object_get(status, "message"), "parts"), 0), "text"));
  if (kind && strcmp(kind, "artifact-update") == 0) {
    const char *t = json_string_value(json_object_get(json_array_get(json_object_get(
        json_object_get(res, "artifact"), "parts"), 0), "text"));
    strncat(s->artifact, t ? t : "", sizeof s->artifact - strlen(s->artifact) - 1);
  } else if (status) {
    const char *state = json_string_value(json_object_get(status, "state"));
    snprintf(s->final_state, sizeof s->final_state, "%s", state ? state : "");
    if (state && strcmp(state, "working") == 0 && text) {
      strncat(s->status_texts, text, sizeof s->status_texts - strlen(s->status_texts) - 1);
      strncat(s->status_texts, "|", sizeof s->status_texts - strlen(s->status_texts) - 1);
    }
    snprintf(s->final_text, sizeof s->final_text, "%s", text ? text : "");
  }
}

static void stream_text(const char *text, stream_seen *s) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/stream\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"s-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}", text);
  h_resp o;
  h_req("POST", "/", body, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  char *data[64];
  int err[64];
  int n = h_sse_events(o.body, data, err, 64);
  assert_true(n > 0);
  memset(s, 0, sizeof *s);
  for (int i = 0; i < n; i++) {
    json_t *ev = json_loads(data[i], 0, NULL);
    assert_false(err[i]);
    read_event(s, json_object_get(ev, "result"));
    json_decref(ev);
  }
  s->events = n;
  h_free(&o);
}

static json_t *sent(cs_scenario *sc, size_t i) {
  assert_true(sc->seen > i);
  json_t *v = json_loads(sc->bodies[i], 0, NULL);
  assert_non_null(v);
  return v;
}

static const char *msg_str(json_t *body, int i, const char *path) {
  json_t *m = json_array_get(json_object_get(body, "messages"), (size_t)i);
  const char *s = mol_json_str(m, path);
  return s ? s : "(none)";
}

/* ---- tests -------------------------------------------------------------------------------- */

static void fragments_by_index_make_two_calls(void **state) {
  (void)state;
  stream_seen s;
  stream_text("add 2+3 and 10+20", &s);
  assert_string_equal(s.final_state, "completed");
  assert_string_equal(s.final_text, "The sums are 5 and 30.");
  assert_string_equal(s.artifact, "Let me add. The sums are 5 and 30.");
  assert_non_null(strstr(s.status_texts, "calling 2 tools: add, add|"));
  assert_int_equal(frag.seen, 2);

  json_t *b = sent(&frag, 1);
  assert_true(json_is_true(json_object_get(b, "stream")));
  assert_string_equal(mol_json_str(b, "tool_choice"), "auto");
  assert_string_equal(mol_json_str(json_array_get(json_object_get(b, "tools"), 0), "function.name"), "add");
  assert_int_equal(json_array_size(json_object_get(b, "messages")), 4);
  json_t *calls = json_object_get(json_array_get(json_object_get(b, "messages"), 1), "tool_calls");
  assert_string_equal(msg_str(b, 1, "role"), "assistant");
  assert_string_equal(msg_str(b, 1, "content"), "Let me add. ");
  assert_int_equal(json_array_size(calls), 2);
  assert_string_equal(mol_json_str(json_array_get(calls, 0), "id"), "call_a");
  assert_string_equal(mol_json_str(json_array_get(calls, 0), "type"), "function");
  assert_string_equal(mol_json_str(json_array_get(calls, 0), "function.arguments"), "{\"a\":2,\"b\":3}");
  assert_string_equal(mol_json_str(json_array_get(calls, 1), "id"), "call_b");
  assert_string_equal(mol_json_str(json_array_get(calls, 1), "function.name"), "add");
  assert_string_equal(mol_json_str(json_array_get(calls, 1), "function.arguments"), "{\"a\":10,\"b\":20}");
  assert_string_equal(msg_str(b, 2, "role"), "tool");
  assert_string_equal(msg_str(b, 2, "tool_call_id"), "call_a");
  assert_string_equal(msg_str(b, 2, "content"), "5");
  assert_string_equal(msg_str(b, 3, "tool_call_id"), "call_b");
  assert_string_equal(msg_str(b, 3, "content"), "30");
  json_decref(b);
}

static void a_call_without_id_gets_one(void **state) {
  (void)state;
  stream_seen s;
  stream_text("one plus one", &s);
  assert_string_equal(s.final_text, "two");
  assert_non_null(strstr(s.status_texts, "calling tool add|"));
  json_t *b = sent(&noid, 1);
  json_t *calls = json_object_get(json_array_get(json_object_get(b, "messages"), 1), "tool_calls");
  assert_string_equal(mol_json_str(json_array_get(calls, 0), "id"), "call_0_0");
  assert_true(json_is_null(json_object_get(json_array_get(json_object_get(b, "messages"), 1), "content")));
  assert_string_equal(msg_str(b, 2, "tool_call_id"), "call_0_0");
  assert_string_equal(msg_str(b, 2, "content"), "2");
  json_decref(b);
}

static void too_many_calls_is_an_error(void **state) {
  (void)state;
  stream_seen s;
  stream_text("many", &s);
  assert_string_equal(s.final_text, "[hermes-agent error 200] the model asked for more than 128 tool calls in one reply");
  assert_int_equal(many.seen, 1); /* no tool ran, no second request */
}

static void error_event_ends_the_turn(void **state) {
  (void)state;
  stream_seen s;
  stream_text("oops", &s);
  assert_string_equal(s.final_text, "[hermes-agent error 200] overloaded");
  assert_int_equal(errs.seen, 1);
}

/* Cancel while the second model request (after the tool ran) is in flight: the request is
 * closed (the server sees the client go) and the task ends canceled. */
static void cancel_closes_the_second_model_request(void **state) {
  (void)state;
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\",\"params\":{"
                         "\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\",\"messageId\":\"h-1\","
                         "\"parts\":[{\"kind\":\"text\",\"text\":\"add then think\"}]}}}", NULL);
  char body[256];
  snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"%s\"}}",
           json_string_value(json_object_get(json_object_get(v, "result"), "id")));
  json_decref(v);
  while (hang.seen < 2) uv_run(&H.loop, UV_RUN_ONCE);
  json_t *b = sent(&hang, 1);
  assert_string_equal(msg_str(b, 2, "content"), "3"); /* the tool ran before */
  json_decref(b);
  v = h_rpc("/", body, NULL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(v, "result"), "status"), "state")), "canceled");
  json_decref(v);
  while (!hang.aborted) uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(hang.aborted, 1);
}

/* Bytes that are not UTF-8 reach the model as U+FFFD, in a request that is still JSON. */
static void tool_output_not_utf8_is_replaced(void **state) {
  (void)state;
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"message/send\",\"params\":{\"message\":"
                         "{\"role\":\"user\",\"messageId\":\"b-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"run it\"}]}}}", NULL);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                          json_object_get(v, "result"), "parts"), 0), "text")), "read it");
  json_decref(v);
  json_t *b = sent(&bytes, 1);
  assert_string_equal(msg_str(b, 2, "content"), "ok \xef\xbf\xbd done \xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(msg_str(b, 1, "content"), "");
  json_decref(b);
}

/* A result over 1 MiB is cut there (the character split by the cut becomes U+FFFD) and says
 * how long it was. */
static void huge_result_is_cut(void **state) {
  (void)state;
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"message/send\",\"params\":{\"message\":"
                         "{\"role\":\"user\",\"messageId\":\"g-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"say a lot\"}]}}}", NULL);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                          json_object_get(v, "result"), "parts"), 0), "text")), "that was long");
  json_decref(v);
  json_t *b = sent(&big, 1);
  const char *c = msg_str(b, 2, "content");
  size_t n = strlen(c);
  const char *tail = "\xef\xbf\xbd\n[cut here: the result was 1048676 bytes]";
  assert_int_equal(n, (1u << 20) - 1 + strlen(tail));
  assert_string_equal(c + (1u << 20) - 1, tail);
  assert_int_equal(strspn(c, "x"), (1u << 20) - 1);
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_prestate_setup_teardown(fragments_by_index_make_two_calls, per_test_setup, teardown, "frag"),
    cmocka_unit_test_prestate_setup_teardown(a_call_without_id_gets_one, per_test_setup, teardown, "noid"),
    cmocka_unit_test_prestate_setup_teardown(too_many_calls_is_an_error, per_test_setup, teardown, "many"),
    cmocka_unit_test_prestate_setup_teardown(error_event_ends_the_turn, per_test_setup, teardown, "err"),
    cmocka_unit_test_prestate_setup_teardown(cancel_closes_the_second_model_request, per_test_setup, teardown, "hang"),
    cmocka_unit_test_prestate_setup_teardown(tool_output_not_utf8_is_replaced, per_test_setup, teardown, "bytes"),
    cmocka_unit_test_prestate_setup_teardown(huge_result_is_cut, per_test_setup, teardown, "big"),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
