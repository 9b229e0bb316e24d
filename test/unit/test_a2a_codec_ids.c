/* test_a2a_codec_ids.c - JSON-RPC ids are echoed exactly as the client wrote them (value
 * and type, as the a2a-js client demands), and no string of a request is ever cut at a U+0000:
 * a request that carries one where the agent reads text is refused with -32602 instead. Every
 * check runs through the public entry (fast path first) and through the full parser alone,
 * which must answer byte for byte alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a/codec.h"
#include "a2a/codec_int.h"
#include "base/json.h"
#include "a2a_test_util.h"
#include "molecule.h"

typedef int (*parse_fn)(const char *body, size_t len, const char *version, mol_a2a_request *req);

/* The answer the server would give before dispatch: the parse error, or for a parsed request
 * a Message reply (message/send) or -32001 (anything else), so the id shows in both. */
static char *answer_with(parse_fn parse, const char *body, const char *version, int *code) {
  mol_a2a_request req;
  int rc = parse(body, strlen(body), version, &req);
  *code = rc ? req.error.code : 0;
  char *out = rc            ? mol_a2a_reply_request_error(&req)
              : req.message ? mol_a2a_reply_message(&req, req.message)
                            : mol_a2a_reply_error(&req, MOL_A2A_TASK_NOT_FOUND, NULL);
  mol_a2a_request_free(&req);
  assert_non_null(out);
  return out;
}

/* Both parsers give exactly want (or, with prefix, an answer starting with want). */
static void expect_bytes(const char *body, const char *version, const char *want, int prefix) {
  parse_fn parsers[] = {mol_a2a_request_parse, mol_a2a__request_parse_full};
  for (int i = 0; i < 2; i++) {
    int code;
    char *got = answer_with(parsers[i], body, version, &code);
    int ok = prefix ? strncmp(got, want, strlen(want)) == 0 : strcmp(got, want) == 0;
    if (!ok) fail_msg("%s parser\n  body: %s\n  got:  %s\n  want: %s%s", i ? "full" : "public",
                      body, got, want, prefix ? "..." : "");
    free(got);
  }
}

#define INVALID_PARAMS(id, msg) \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"error\":{\"code\":-32602,\"message\":\"" msg "\"}}"

#define SEND_ID(id) \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"message/send\",\"params\":{\"message\":" \
  "{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}"

static const char *const k_number_ids[] = {
    "18446744073709551616",  /* 2^64: beyond any C integer */
    "-18446744073709551617",
    "123456789012345678901234567890",
    "1e3",
    "-0",
    "1.5",
    "-1.5E+07",
    "0.10",
    "1e400", /* beyond a double */
    "-1e-400",
    "9223372036854775807",
    "-9223372036854775808",
    "0",
};
#define N_NUMBER_IDS (sizeof(k_number_ids) / sizeof(k_number_ids[0]))

/* Strings keep their escapes as written, NULs included. */
static const char *const k_string_ids[] = {
    "\"r-1\"", "\"\"", "\"a\\/b\\u00e9\\n\\\"\"", "\"caf\xc3\xa9\"", "\"x\\u0000y\"",
};
#define N_STRING_IDS (sizeof(k_string_ids) / sizeof(k_string_ids[0]))

static void echo_id_everywhere(const char *id) {
  char body[512], want[512];
  snprintf(body, sizeof(body), SEND_ID("%s"), id);
  snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"kind\":\"message\"", id);
  expect_bytes(body, NULL, want, 1);
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}", id);
  snprintf(want, sizeof(want),
           "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32001,\"message\":\"Task not found\"}}",
           id);
  expect_bytes(body, NULL, want, 0);
  snprintf(body, sizeof(body), "{\"id\" : %s ,\"jsonrpc\":\"2.0\",\"method\":\"x/y\"}", id);
  snprintf(want, sizeof(want),
           "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,"
           "\"message\":\"Method not found: x/y\"}}",
           id);
  expect_bytes(body, NULL, want, 0);
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"GetTask\","
           "\"params\":{\"id\":\"t\"}}", id);
  snprintf(want, sizeof(want),
           "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32001,\"message\":\"Task not found\","
           "\"data\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
           "\"reason\":\"TASK_NOT_FOUND\",\"domain\":\"a2a-protocol.org\"}]}}", id);
  expect_bytes(body, "1.0", want, 0);
}

/* Item: an id of 2^64 was -32700, 1e3 came back as 1000.0. */
static void number_ids_echo_as_written(void **state) {
  (void)state;
  for (size_t i = 0; i < N_NUMBER_IDS; i++) echo_id_everywhere(k_number_ids[i]);
}

static void string_ids_echo_as_written(void **state) {
  (void)state;
  for (size_t i = 0; i < N_STRING_IDS; i++) echo_id_everywhere(k_string_ids[i]);
  /* a null or absent id is answered with null */
  expect_bytes(SEND_ID("null"), NULL, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":", 1);
  expect_bytes("{\"jsonrpc\":\"2.0\",\"method\":\"x/y\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: x/y\"}}", 0);
  /* duplicated members: the last one counts, as jansson reads it */
  expect_bytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":\"two\",\"method\":\"x/y\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":\"two\",\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: x/y\"}}", 0);
  expect_bytes("{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"\\u0069d\":2,\"method\":\"x/y\"}",
               NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: x/y\"}}", 0);
}

#define BAD_JSONRPC "{\"code\":-32600,\"message\":\"Invalid Request: jsonrpc must be \\\"2.0\\\"\"}}"
#define NO_METHOD "{\"code\":-32600,\"message\":\"Invalid Request: method must be a non-empty string\"}}"
#define BAD_ID "{\"code\":-32600,\"message\":\"Invalid Request: id must be a string, a number or null\"}}"

/* -32600 echoes an id of a valid type (the A2A TCK and the reference SDKs expect it). */
static void invalid_request_echoes_a_valid_id(void **state) {
  (void)state;
  static const struct {
    const char *body, *want;
  } cases[] = {
      {"{\"jsonrpc\":\"aaa\",\"id\":1,\"method\":\"message/send\",\"params\":{}}",
       "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":" BAD_JSONRPC},
      {"{\"jsonrpc\":\"1.0\",\"id\":\"x\",\"method\":\"message/send\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":" BAD_JSONRPC},
      {"{\"id\":1e3,\"method\":\"message/send\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":1e3,\"error\":" BAD_JSONRPC},
      {"{\"jsonrpc\":2.0,\"id\":18446744073709551616,\"method\":\"message/send\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"error\":" BAD_JSONRPC},
      {"{\"jsonrpc\":\"2.0\\u0000\",\"id\":-0,\"method\":\"tasks/get\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":-0,\"error\":" BAD_JSONRPC},
      {"{\"jsonrpc\":\"2.0\",\"id\":5}", "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":" NO_METHOD},
      {"{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":7}",
       "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"error\":" NO_METHOD},
      {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"error\":" NO_METHOD},
      {"{\"jsonrpc\":\"2.0\",\"id\":null}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":" NO_METHOD},
      /* an id of the wrong type is not echoed */
      {"{\"jsonrpc\":\"2.0\",\"id\":{\"bad\":\"type\"},\"method\":\"tasks/get\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":" BAD_ID},
      {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"tasks/get\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":" BAD_ID},
      {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"tasks/get\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":" BAD_ID},
      {"{\"jsonrpc\":\"1.0\",\"id\":false}", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":" BAD_JSONRPC},
      /* no object, no id */
      {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}]",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
       "\"message\":\"Invalid Request: batch requests are not supported\"}}"},
      {"18446744073709551616",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
       "\"message\":\"Invalid Request: the body must be a JSON object\"}}"},
      /* not JSON: -32700 and null, whatever id can be seen */
      {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\"",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}"},
      {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\"} x",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}"},
      {"{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"x\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}"},
      {"{\"jsonrpc\":\"2.0\",\"id\":1.,\"method\":\"x\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}"},
      {"{\"jsonrpc\":\"2.0\",\"id\":-,\"method\":\"x\"}",
       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    expect_bytes(cases[i].body, NULL, cases[i].want, 0);
}

/* Numbers jansson cannot load are valid JSON wherever they are: never -32700. */
static void big_numbers_elsewhere(void **state) {
  (void)state;
  /* where nothing reads them, they are ignored like any unknown member */
  expect_bytes("{\"jsonrpc\":\"2.0\",\"x\":[1e999,{\"y\":18446744073709551616}],\"id\":1e3,"
               "\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}",
               NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":1e3,\"error\":{\"code\":-32001,"
               "\"message\":\"Task not found\"}}", 0);
  /* where the agent reads params, a number it cannot hold is -32602, not a silent 0 */
  static const char *const in_params[] = {
      "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"tasks/get\",\"params\":{\"id\":\"t\","
      "\"historyLength\":18446744073709551616}}",
      "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"message/send\",\"params\":{\"message\":"
      "{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]},\"metadata\":{\"n\":[1e400]}}}",
  };
  for (size_t i = 0; i < 2; i++)
    expect_bytes(in_params[i], NULL,
                 INVALID_PARAMS("\"b\"", "params holds a number beyond 64-bit integers and doubles"),
                 0);
  /* the envelope is still checked first */
  expect_bytes("{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"no/such\","
               "\"params\":{\"n\":1e999}}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: no/such\"}}", 0);
  expect_bytes("[18446744073709551616]", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
               "\"message\":\"Invalid Request: batch requests are not supported\"}}", 0);
  /* many of them: each is masked */
  expect_bytes("{\"id\":1e999,\"id\":2e999,\"id\":3e999,\"id\":4e999,\"id\":5e999,\"z\":[6e999,"
               "7e999],\"jsonrpc\":\"2.0\",\"method\":\"x/y\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":5e999,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: x/y\"}}", 0);
}

/* A body deeper than the scanner reads (64 levels) is jansson's alone: its id is still echoed,
 * with jansson's spelling of the same value. */
static void deep_body_still_echoes_the_id(void **state) {
  (void)state;
  char body[1024] = "{\"jsonrpc\":\"2.0\",\"id\":\"deep\",\"method\":\"x/y\",\"junk\":";
  for (int i = 0; i < 80; i++) strcat(body, "[");
  for (int i = 0; i < 80; i++) strcat(body, "]");
  strcat(body, "}");
  expect_bytes(body, NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":\"deep\",\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: x/y\"}}", 0);
}

/* ---- U+0000 ---------------------------------------------------------------------------- */

#define NO_NUL " must not contain U+0000 (NUL)"

/* Item: "a\u0000b" in a text part came back as "echo: a". */
static void nul_in_text_is_refused(void **state) {
  (void)state;
  static const struct {
    const char *body, *version, *want;
  } cases[] = {
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000b\"}]}}}",
       NULL, INVALID_PARAMS("1", "params.message.parts[0].text" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/stream\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"ok\"},{\"type\":\"text\","
       "\"text\":\"\\u0000\"}]}}}",
       NULL, INVALID_PARAMS("1", "params.message.parts[1].text" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"SendMessage\",\"params\":{\"message\":{\"role\":"
       "\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"text\":\"x\\u0000\"}]}}}",
       "1.0", INVALID_PARAMS("\"s\"", "params.message.parts[0].text" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\\u0000\",\"parts\":[]}}}",
       NULL, INVALID_PARAMS("2", "params.message.messageId" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"contextId\":\"c\\u0000x\",\"parts\":[]}}}",
       NULL, INVALID_PARAMS("2", "params.message.contextId" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"taskId\":\"t\\u0000x\",\"parts\":[]}}}",
       NULL, INVALID_PARAMS("2", "params.message.taskId" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"parts\":[]},\"metadata\":{\"history\":[{\"parts\":[{\"text\":"
       "\"ok\"}]},{\"parts\":[{\"text\":\"\\u0000\"}]}]}}}",
       NULL, INVALID_PARAMS("3", "params.metadata.history[1].parts[0].text" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"file\",\"file\":{\"uri\":"
       "\"http://a\\u0000.b\"}}]}}}",
       NULL, INVALID_PARAMS("3", "params.message.parts[0].file.uri" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
       "\"user\",\"messageId\":\"m\",\"parts\":[]},\"configuration\":{\"acceptedOutputModes\":"
       "[\"text/plain\\u0000x\"]}}}",
       NULL, INVALID_PARAMS("3", "params.configuration.acceptedOutputModes[0]" NO_NUL)},
      /* a task id with a NUL used to find the task named by its first half */
      {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\\u0000x\"}}",
       NULL, INVALID_PARAMS("4", "params.id" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"\\u0000\"}}",
       NULL, INVALID_PARAMS("4", "params.id" NO_NUL)},
      {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ListTasks\",\"params\":{\"contextId\":\"c\\u0000\"}}",
       "1.0", INVALID_PARAMS("4", "params.contextId" NO_NUL)},
      /* and in the envelope: no method name holds a NUL */
      {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"message/send\\u0000x\",\"params\":{}}", NULL,
       "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32601,"
       "\"message\":\"Method not found: the name contains U+0000 (NUL)\"}}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    expect_bytes(cases[i].body, cases[i].version, cases[i].want, 0);
}

/* Where a NUL is harmless it is kept: strings the agent only echoes as JSON. */
static void nul_kept_where_lengths_are_carried(void **state) {
  (void)state;
  /* the request id (its text is echoed as written) */
  expect_bytes(SEND_ID("\"a\\u0000b\""), NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"result\":{\"kind\":\"message\","
               "\"messageId\":\"m1\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}",
               0);
  /* push methods read nothing of their params (the server answers -32003 whatever they hold) */
  const char *push = "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tasks/pushNotificationConfig/get\","
                     "\"params\":{\"id\":\"t\\u0000\"}}";
  parse_fn parsers[] = {mol_a2a_request_parse, mol_a2a__request_parse_full};
  for (int i = 0; i < 2; i++) {
    mol_a2a_request req;
    assert_int_equal(parsers[i](push, strlen(push), NULL, &req), 0);
    assert_int_equal(req.method, MOL_A2A_M_PUSH_GET);
    mol_a2a_request_free(&req);
  }
}

/* The client side: a peer's reply whose text holds a NUL is an error, not a shorter text. */
static void nul_in_a_peer_reply_is_an_error(void **state) {
  (void)state;
  const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"result\":{\"kind\":\"message\",\"messageId\":"
                    "\"m\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000b\"}]}}";
  mol_a2a_response r;
  assert_int_equal(mol_a2a_response_parse(msg, strlen(msg), MOL_A2A_V03, &r), MOL_EPROTO);
  mol_a2a_response_free(&r);
  const char *task = "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"result\":{\"kind\":\"task\",\"id\":\"t\","
                     "\"contextId\":\"c\",\"status\":{\"state\":\"completed\"},\"artifacts\":[{"
                     "\"artifactId\":\"a\",\"parts\":[{\"kind\":\"text\",\"text\":\"\\u0000\"}]}]}}";
  assert_int_equal(mol_a2a_response_parse(task, strlen(task), MOL_A2A_V03, &r), MOL_EPROTO);
  mol_a2a_response_free(&r);
}

/* Error messages quote client text (a method name, a version header); cut at a byte limit they
 * must stay UTF-8, or the reply could not be written at all. */
static void error_messages_stay_utf8(void **state) {
  (void)state;
  char name[200] = "a";
  for (int i = 0; i < 40; i++) strcat(name, "\xc3\xa9"); /* the 64-byte cut lands mid-character */
  char body[400];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
  int code;
  char *out = answer_with(mol_a2a_request_parse, body, NULL, &code);
  assert_int_equal(code, MOL_A2A_METHOD_NOT_FOUND);
  json_t *v = jparse(out);
  assert_non_null(v);
  assert_int_equal(json_integer_value(json_object_get(v, "id")), 1);
  json_decref(v);
  free(out);
  out = answer_with(mol_a2a_request_parse, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\"}",
                    "\xff\xfe", &code);
  assert_int_equal(code, MOL_A2A_VERSION_NOT_SUPPORTED);
  v = jparse(out);
  assert_non_null(v);
  assert_int_equal(json_integer_value(json_object_get(v, "id")), 1);
  json_decref(v);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(number_ids_echo_as_written),
      cmocka_unit_test(string_ids_echo_as_written),
      cmocka_unit_test(invalid_request_echoes_a_valid_id),
      cmocka_unit_test(big_numbers_elsewhere),
      cmocka_unit_test(deep_body_still_echoes_the_id),
      cmocka_unit_test(nul_in_text_is_refused),
      cmocka_unit_test(nul_kept_where_lengths_are_carried),
      cmocka_unit_test(nul_in_a_peer_reply_is_an_error),
      cmocka_unit_test(error_messages_stay_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
