/* test_a2a_client_fast.c - the codec's client side without trees. The DOM-free reader of v0.3
 * answers (codec_fast_answer.c) against the full parser, on a table of answers: what the fast
 * path takes, the full parser reads the same (kind, id, and the canonical result byte for
 * byte, key order included); what it must leave to the full parser, it declines; and
 * mol_a2a_response_parse goes through it. The message/send request written as text gives the
 * bytes the packed envelope tree gave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "a2a/codec_int.h"
#include "base/json.h"
#include "molecule.h"

typedef struct {
  const char *why;
  int take; /* 1: the fast path must read it; 0: it must decline */
  const char *body;
} row;

#define MSG(extra) "{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\"," extra \
                   "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}]}"
#define ANSWER(result) "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":" result "}"

static const row k_rows[] = {
    {"an echo worker's Message", 1, ANSWER(MSG("\"contextId\":\"c1\",\"taskId\":\"t1\","))},
    {"a bare Message", 1, ANSWER(MSG(""))},
    {"escapes in text and ids", 1,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a\\/1\",\"role\":\"agent\",\"contextId\":"
            "\"c\\u00e9\",\"parts\":[{\"kind\":\"text\",\"text\":\"\\\"q\\\" \\u00e9\\n\\ud83d\\ude00\"}]}")},
    {"the old part spelling, part metadata, extras kept and ignored", 1,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"ROLE_AGENT\",\"usage\":{\"in\":3},"
            "\"parts\":[{\"type\":\"text\",\"text\":\"x\",\"metadata\":{\"k\":[1,2.5,null]}},"
            "{\"kind\":\"text\",\"type\":\"data\",\"text\":\"y\"}],\"metadata\":{\"tool_trace\":[]},"
            "\"referenceTaskIds\":[\"t0\"],\"extensions\":[\"e\"]}")},
    {"mistyped optional members are dropped", 1,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"user\",\"contextId\":\"\","
            "\"taskId\":null,\"metadata\":[],\"extensions\":{},\"parts\":[]}")},
    {"members in any order, blanks", 1,
     " {\n \"result\" : {\"parts\":[ {\"text\":\"hi\",\"kind\":\"text\"} ],\"role\":\"agent\","
     "\"messageId\":\"m\",\"kind\":\"message\"} ,\"id\":\"r-1\",\"jsonrpc\":\"2.0\"}\n"},
    {"an integer id", 1, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":" MSG("") "}"},
    {"a null id", 1, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":" MSG("") "}"},
    {"no id", 1, "{\"jsonrpc\":\"2.0\",\"result\":" MSG("") "}"},
    {"a completed Task", 1,
     ANSWER("{\"kind\":\"task\",\"id\":\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":"
            "\"completed\",\"timestamp\":\"2026-05-01T12:00:00.955Z\",\"message\":" MSG("") "},"
            "\"history\":[{\"kind\":\"message\",\"messageId\":\"u1\",\"role\":\"user\",\"parts\":"
            "[{\"kind\":\"text\",\"text\":\"hi\"}]}," MSG("\"taskId\":\"t1\",") "],"
            "\"artifacts\":[{\"artifactId\":\"x1\",\"name\":\"answer\",\"description\":\"\","
            "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}],\"metadata\":{\"m\":1},"
            "\"extensions\":[\"e\"]}],\"metadata\":{\"k\":\"v\"}}")},
    {"a Task in an unknown state, mistyped optionals", 1,
     ANSWER("{\"kind\":\"task\",\"id\":\"\",\"contextId\":\"c1\",\"status\":{\"state\":\"weird\","
            "\"message\":3,\"timestamp\":\"\"},\"history\":{},\"artifacts\":null,\"metadata\":[1]}")},
    {"a Task with v1.0 state names", 1,
     ANSWER("{\"kind\":\"task\",\"id\":\"t\",\"contextId\":\"c\",\"status\":{\"state\":"
            "\"TASK_STATE_WORKING\"}}")},

    {"a JSON-RPC error", 0,
     "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32001,\"message\":\"no\"}}"},
    {"an error member that is not an object", 0,
     "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":1,\"result\":" MSG("") "}"},
    {"a file part", 0,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"parts\":[{\"kind\":"
            "\"file\",\"file\":{\"uri\":\"http://x/\"}}]}")},
    {"a data part", 0,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"parts\":[{\"kind\":"
            "\"data\",\"data\":{}}]}")},
    {"an untagged result", 0,
     ANSWER("{\"messageId\":\"a1\",\"role\":\"agent\",\"parts\":[]}")},
    {"a status-update", 0,
     ANSWER("{\"kind\":\"status-update\",\"taskId\":\"t\",\"contextId\":\"c\",\"status\":"
            "{\"state\":\"working\"},\"final\":false}")},
    {"a duplicated result", 0,
     "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":" MSG("") ",\"result\":" MSG("") "}"},
    {"a duplicated messageId", 0, ANSWER(MSG("\"messageId\":\"a2\","))},
    {"U+0000 in the text", 0,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"parts\":[{\"kind\":"
            "\"text\",\"text\":\"a\\u0000b\"}]}")},
    {"U+0000 in the id", 0, "{\"jsonrpc\":\"2.0\",\"id\":\"r\\u0000\",\"result\":" MSG("") "}"},
    {"an escaped key", 0,
     ANSWER("{\"\\u006bind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"parts\":[]}")},
    {"a role that is neither", 0,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"system\",\"parts\":[]}")},
    {"an empty messageId", 0,
     ANSWER("{\"kind\":\"message\",\"messageId\":\"\",\"role\":\"agent\",\"parts\":[]}")},
    {"a history entry the full parser drops", 0,
     ANSWER("{\"kind\":\"task\",\"id\":\"t\",\"contextId\":\"c\",\"status\":{\"state\":"
            "\"working\"},\"history\":[{\"kind\":\"message\",\"messageId\":\"u1\",\"parts\":[]}]}")},
    {"an artifact without an id", 0,
     ANSWER("{\"kind\":\"task\",\"id\":\"t\",\"contextId\":\"c\",\"status\":{\"state\":"
            "\"working\"},\"artifacts\":[{\"parts\":[]}]}")},
    {"a status that is not an object", 0,
     ANSWER("{\"kind\":\"task\",\"id\":\"t\",\"contextId\":\"c\",\"status\":\"working\"}")},
    {"a real id", 0, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":" MSG("") "}"},
    {"text after the answer", 0, ANSWER(MSG("")) " x"},
    {"not JSON", 0, "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":{"},
    {"not an object", 0, "[1]"},
    {"no result", 0, "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\"}"},
};

static char *dump(const json_t *v) {
  return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* What the fast path took, the full parser reads alike. */
static void assert_agrees(const row *r, const mol_a2a_response *fast) {
  mol_a2a_response full;
  int rc = mol_a2a__response_parse_full(r->body, strlen(r->body), MOL_A2A_V03, &full);
  if (rc != 0) fail_msg("%s: the full parser refuses what the fast path took (%d)", r->why, rc);
  assert_false(full.is_error);
  assert_int_equal(fast->kind, full.kind);
  assert_true(json_equal(fast->id, full.id));
  char *a = dump(fast->result), *b = dump(full.result);
  if (!a || !b || strcmp(a, b) != 0)
    fail_msg("%s:\n  fast: %s\n  full: %s", r->why, a ? a : "(null)", b ? b : "(null)");
  free(a);
  free(b);
  char path[8];
  assert_false(mol_a2a_json_find_nul(fast->result, "", path, sizeof(path)));
  mol_a2a_response_free(&full);
}

static void table_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(k_rows) / sizeof(k_rows[0]); i++) {
    const row *r = &k_rows[i];
    mol_a2a_response fast;
    memset(&fast, 0, sizeof(fast));
    int took = mol_a2a__response_parse_fast(r->body, strlen(r->body), &fast);
    if (took != r->take) fail_msg("%s: fast path %s", r->why, took ? "took it" : "declined");
    if (took) assert_agrees(r, &fast);
    else assert_null(fast.result);
    mol_a2a_response_free(&fast);
  }
}

/* mol_a2a_response_parse answers v0.3 through the fast path (it builds no DOM of the body:
 * root stays NULL), and v1.0 through the full parser. */
static void response_parse_uses_it(void **state) {
  (void)state;
  const char *body = k_rows[0].body;
  mol_a2a_response r;
  assert_int_equal(mol_a2a_response_parse(body, strlen(body), MOL_A2A_V03, &r), 0);
  assert_int_equal(r.kind, MOL_A2A_RESULT_MESSAGE);
  assert_null(r.root);
  char *text = mol_a2a_response_text(&r);
  assert_string_equal(text, "echo: hi");
  free(text);
  mol_a2a_response_free(&r);
  assert_int_equal(mol_a2a_response_parse(body, strlen(body), MOL_A2A_V10, &r), 0);
  assert_non_null(r.root);
  mol_a2a_response_free(&r);
}

/* A body cut anywhere is not JSON: never taken. */
static void prefixes_never_taken(void **state) {
  (void)state;
  const char *body = k_rows[9].body;
  size_t n = strlen(body);
  for (size_t len = 0; len < n; len++) {
    mol_a2a_response fast;
    memset(&fast, 0, sizeof(fast));
    assert_int_equal(mol_a2a__response_parse_fast(body, len, &fast), 0);
    mol_a2a_response_free(&fast);
  }
}

/* The request as it was built before: an envelope tree around the params, dumped. */
static char *send_by_tree(mol_a2a_version v, const json_t *id, int stream, const json_t *msg,
                          const mol_a2a_send_config *cfg, const json_t *metadata) {
  json_t *params = json_pack("{s:o}", "message", mol_a2a_message_to_wire(msg, v));
  if (cfg) {
    json_t *c = json_object();
    if (v == MOL_A2A_V10 && !cfg->blocking) json_object_set_new(c, "returnImmediately", json_true());
    if (v == MOL_A2A_V03) json_object_set_new(c, "blocking", json_boolean(cfg->blocking));
    if (cfg->history_length >= 0)
      json_object_set_new(c, "historyLength", json_integer(cfg->history_length));
    if (cfg->accepted_output_modes)
      json_object_set(c, "acceptedOutputModes", (json_t *)cfg->accepted_output_modes);
    if (cfg->push_config)
      json_object_set(c, v == MOL_A2A_V10 ? "taskPushNotificationConfig" : "pushNotificationConfig",
                      (json_t *)cfg->push_config);
    json_object_set_new(params, "configuration", c);
  }
  if (metadata) json_object_set(params, "metadata", (json_t *)metadata);
  return mol_a2a_request_build(v, stream ? MOL_A2A_M_STREAM : MOL_A2A_M_SEND, id, params);
}

static void send_request_bytes(void **state) {
  (void)state;
  const char *msg_text =
      "{\"kind\":\"message\",\"messageId\":\"m1\",\"contextId\":\"c\",\"role\":\"user\","
      "\"parts\":[{\"kind\":\"text\",\"text\":\"h\\u00e9\\n\\u001f \\\"q\\\"\"},{\"kind\":\"file\","
      "\"file\":{\"uri\":\"http://x/a\",\"name\":\"a\"}}],\"metadata\":{\"k\":[1,2.5,null]}}";
  json_t *msg = mol_json_parse(msg_text, strlen(msg_text), NULL, 0);
  json_t *modes = json_pack("[s]", "text/plain");
  json_t *push = json_pack("{s:s,s:s}", "url", "http://127.0.0.1:1/p", "token", "t");
  json_t *meta = json_pack("{s:{s:[]}}", "history", "x");
  json_t *ids[] = {json_string("8b0c-\u00e9"), json_integer(7), NULL};
  mol_a2a_send_config cfgs[] = {
      {.blocking = 1, .history_length = -1},
      {.blocking = 0, .history_length = 3, .accepted_output_modes = modes, .push_config = push},
  };
  assert_non_null(msg);
  for (int v = 0; v < 2; v++)
    for (int stream = 0; stream < 2; stream++)
      for (size_t i = 0; i < 3; i++)
        for (size_t c = 0; c < 3; c++)
          for (int with_meta = 0; with_meta < 2; with_meta++) {
            mol_a2a_version ver = v ? MOL_A2A_V10 : MOL_A2A_V03;
            const mol_a2a_send_config *cfg = c < 2 ? &cfgs[c] : NULL;
            const json_t *md = with_meta ? meta : NULL;
            char *got = mol_a2a_request_build_send(ver, ids[i], stream, msg, cfg, md);
            char *want = send_by_tree(ver, ids[i], stream, msg, cfg, md);
            assert_non_null(got);
            assert_non_null(want);
            assert_string_equal(got, want);
            free(got);
            free(want);
          }
  for (size_t i = 0; i < 2; i++) json_decref(ids[i]);
  json_decref(msg);
  json_decref(modes);
  json_decref(push);
  json_decref(meta);
}

/* The message every outgoing call starts from: the canonical shape, members in this order. */
static void message_new_shape(void **state) {
  (void)state;
  json_t *m = mol_a2a_message_new(MOL_A2A_ROLE_USER, "h\xc3\xa9");
  assert_non_null(m);
  char *text = json_dumps(m, JSON_COMPACT);
  char want[200];
  snprintf(want, sizeof(want), "{\"kind\":\"message\",\"messageId\":\"%s\",\"role\":\"user\","
           "\"parts\":[{\"kind\":\"text\",\"text\":\"h\xc3\xa9\"}]}",
           json_string_value(json_object_get(m, "messageId")));
  assert_int_equal(strlen(json_string_value(json_object_get(m, "messageId"))), 36);
  assert_string_equal(text, want);
  free(text);
  json_decref(m);
  m = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, NULL);
  assert_true(json_is_array(json_object_get(m, "parts")));
  assert_int_equal(json_array_size(json_object_get(m, "parts")), 0);
  assert_string_equal(json_string_value(json_object_get(m, "role")), "agent");
  json_decref(m);
  assert_null(mol_a2a_message_new(MOL_A2A_ROLE_USER, "bad \xff utf-8"));
  assert_null(mol_a2a_part_text("\xc3"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(table_agrees),
      cmocka_unit_test(response_parse_uses_it),
      cmocka_unit_test(prefixes_never_taken),
      cmocka_unit_test(send_request_bytes),
      cmocka_unit_test(message_new_shape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
