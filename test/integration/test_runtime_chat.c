/* The chat-completions bridge against the real @dwmkerr/mock-llm (npm, pinned), plain and
 * streaming, plus the failures a real backend cannot produce on demand (a backend that never
 * answers, for cancel) from an in-process server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "node_peer.h"
#include "runtime/exec_chat.h"

static node_peer mock;
static mol_a2a_executor chat, chat_down, chat_stall;
static mol_http_server *stall;
static int stall_aborted, stall_seen;

static void on_stall_abort(mol_http_req *r, void *arg) {
  (void)arg;
  stall_aborted++;
  mol_http_respond(r, 500, NULL, NULL, 0); /* releases the request */
}

static void on_stall(mol_http_req *r, void *arg) { /* never answers */
  (void)arg;
  stall_seen++;
  mol_http_req_on_abort(r, on_stall_abort, NULL);
}

static int setup(void **state) {
  (void)state;
  const char *args[] = {"node_modules/@dwmkerr/mock-llm/dist/main.js", "--config", "safe-echo.yaml", NULL};
  mock = np_start("mock-llm", args[0], args + 1, NULL);
  h_setup_base();
  char base[128];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", mock.port);
  mol_chat_opts o = {.http = H.client, .api_base = base, .model = "mock", .api_key = "sk-test-key-123456",
                     .system_prompt = "You are a test."};
  assert_int_equal(mol_chat_executor_new(&o, &chat), 0);
  mol_chat_opts down = {.http = H.client, .api_base = "http://127.0.0.1:1/v1"};
  assert_int_equal(mol_chat_executor_new(&down, &chat_down), 0);
  mol_http_server_new(&H.loop, NULL, &stall);
  mol_http_server_route(stall, NULL, "/", 1, on_stall, NULL);
  mol_http_server_listen(stall, "127.0.0.1", 0);
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", mol_http_server_port(stall));
  mol_chat_opts st = {.http = H.client, .api_base = base};
  assert_int_equal(mol_chat_executor_new(&st, &chat_stall), 0);
  h_mount("", &chat, 1);
  h_mount("/down", &chat_down, 1);
  h_mount("/stall", &chat_stall, 1);
  return 0;
}

static int stall_closed;
static void on_stall_closed(void *arg) { (void)arg; stall_closed = 1; }

static int teardown(void **state) {
  (void)state;
  mol_http_server_close(stall, 100, on_stall_closed, NULL);
  h_teardown();
  assert_true(stall_closed);
  mol_chat_executor_free(&chat);
  mol_chat_executor_free(&chat_down);
  mol_chat_executor_free(&chat_stall);
  np_stop(&mock);
  return 0;
}

static const char *text_of(json_t *v) {
  return json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(v, "result"), "parts"), 0), "text"));
}

static void plain_reply_keeps_quotes_and_newlines(void **state) {
  (void)state;
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
                         "{\"role\":\"user\",\"messageId\":\"c1\",\"parts\":[{\"kind\":\"text\",\"text\":\"say \\\"hi\\\"\\nplease\"}]}}}", NULL);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(json_object_get(v, "result"), "kind")), "message");
  assert_string_equal(text_of(v), "say \"hi\"\nplease"); /* mock-llm echoes the last message */
  json_decref(v);
}

static void history_from_request_metadata(void **state) {
  (void)state;
  /* The mock echoes the LAST message: if the bridge put history after the user turn, or
   * dropped the user turn, this would differ. */
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\",\"params\":{"
                         "\"metadata\":{\"history\":[{\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"earlier\"}]},"
                         "{\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"reply\"}]}]},"
                         "\"message\":{\"role\":\"user\",\"messageId\":\"c2\",\"parts\":[{\"kind\":\"text\",\"text\":\"now\"}]}}}", NULL);
  assert_string_equal(text_of(v), "now");
  json_decref(v);
}

static void upstream_error_text(void **state) {
  (void)state;
  json_t *v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":"
                         "{\"role\":\"user\",\"messageId\":\"c3\",\"parts\":[{\"kind\":\"text\",\"text\":\"error-500\"}]}}}", NULL);
  assert_non_null(strstr(text_of(v), "[hermes-agent error 500]"));
  assert_non_null(strstr(text_of(v), "mock upstream failure"));
  json_decref(v);
  v = h_rpc("/down", "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"message/send\",\"params\":{\"message\":"
                     "{\"role\":\"user\",\"messageId\":\"c4\",\"parts\":[{\"kind\":\"text\",\"text\":\"anyone?\"}]}}}", NULL);
  assert_non_null(strstr(text_of(v), "[hermes-agent unreachable]"));
  json_decref(v);
  v = h_rpc("/", "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"message/send\",\"params\":{\"message\":"
                 "{\"role\":\"user\",\"messageId\":\"c5\",\"parts\":[{\"kind\":\"text\",\"text\":\"  \"}]}}}", NULL);
  assert_string_equal(text_of(v), "(empty prompt — nothing to do)");
  json_decref(v);
}

static void streaming_deltas_become_artifact_chunks(void **state) {
  (void)state;
  h_resp o;
  h_req("POST", "/", "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"message/stream\",\"params\":{\"message\":"
                     "{\"role\":\"user\",\"messageId\":\"c6\",\"parts\":[{\"kind\":\"text\",\"text\":\"stream this text please\"}]}}}",
        NULL, NULL, &o);
  char *data[64];
  int err[64];
  int n = h_sse_events(o.body, data, err, 64);
  assert_true(n >= 5); /* task, working, >= 2 chunks, completed */
  char joined[256] = "";
  int chunks = 0;
  for (int i = 0; i < n; i++) {
    json_t *ev = json_loads(data[i], 0, NULL);
    json_t *res = json_object_get(ev, "result");
    if (strcmp(json_string_value(json_object_get(res, "kind")), "artifact-update") == 0) {
      const char *t = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(res, "artifact"), "parts"), 0), "text"));
      strncat(joined, t, sizeof(joined) - strlen(joined) - 1);
      if (*t) chunks++;
      if (chunks > 1 && *t) assert_true(json_is_true(json_object_get(res, "append")));
    }
    if (i == n - 1) assert_string_equal(json_string_value(json_object_get(json_object_get(res, "status"), "state")), "completed");
    json_decref(ev);
  }
  assert_true(chunks >= 2); /* chunkSize 8 */
  assert_string_equal(joined, "stream this text please");
  h_free(&o);
}

static void cancel_closes_the_upstream_request(void **state) {
  (void)state;
  json_t *v = h_rpc("/stall", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\",\"params\":{"
                              "\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\",\"messageId\":\"c7\","
                              "\"parts\":[{\"kind\":\"text\",\"text\":\"think forever\"}]}}}", NULL);
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"%s\"}}",
           json_string_value(json_object_get(json_object_get(v, "result"), "id")));
  json_decref(v);
  while (!stall_seen) uv_run(&H.loop, UV_RUN_ONCE);
  v = h_rpc("/stall", body, NULL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(v, "result"), "status"), "state")), "canceled");
  json_decref(v);
  while (!stall_aborted) uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(stall_aborted, 1); /* the upstream saw its connection go */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(plain_reply_keeps_quotes_and_newlines),
    cmocka_unit_test(history_from_request_metadata),
    cmocka_unit_test(upstream_error_text),
    cmocka_unit_test(streaming_deltas_become_artifact_chunks),
    cmocka_unit_test(cancel_closes_the_upstream_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
