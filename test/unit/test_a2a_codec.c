/* test_a2a_codec.c - request parsing and error answers: JSON-RPC framing, the A2A error codes,
 * v0.3 and v1.0 shapes, what Molecule callers send (docs/a2a.md). */
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

/* The request id's text, for assertions. */
static const char *id_text(const mol_a2a_request *req) {
  size_t n;
  return mol_a2a_request_id(req, &n);
}

/* Parses body (header may be NULL) and returns the serialized error answer. */
static char *error_answer(const char *body, const char *header, int *code) {
  mol_a2a_request req;
  int rc = mol_a2a_request_parse(body, body ? strlen(body) : 0, header, &req);
  assert_int_not_equal(rc, 0);
  *code = req.error.code;
  char *out = mol_a2a_reply_request_error(&req);
  mol_a2a_request_free(&req);
  return out;
}

static void expect_error(const char *body, const char *header, const char *want) {
  int code;
  assert_json_free(error_answer(body, header, &code), want);
}

static void expect_code(const char *body, const char *header, int want_code) {
  int code;
  free(error_answer(body, header, &code));
  assert_int_equal(code, want_code);
}

/* Bad JSON -> -32700 with id null. */
static void parse_error_has_null_id(void **state) {
  (void)state;
  const char *want = "{\"jsonrpc\":\"2.0\",\"id\":null,"
                     "\"error\":{\"code\":-32700,\"message\":\"Invalid JSON payload\"}}";
  expect_error("{\"jsonrpc\": \"2.0\", \"method\": \"message/send\", \"params\": {\"foo\": \"bar\"}",
               NULL, want);
  expect_error("{bad", NULL, want);
  expect_error("", NULL, want);
  expect_error(NULL, NULL, want);
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"} trailing", NULL, want);
}

/* Invalid requests (bad jsonrpc, no method, bad id, a batch) -> -32600; the id is echoed when
 * it is itself valid (test_a2a_codec_ids.c has those), null when it is not or there is none. */
static void invalid_request_has_null_id(void **state) {
  (void)state;
  const char *bodies[] = {
    "{\"jsonrpc\":\"aaa\",\"method\":\"message/send\",\"params\":{}}",
    "{\"jsonrpc\":\"1.0\",\"id\":null,\"method\":\"message/send\"}",
    "{\"method\":\"message/send\"}",
    "{\"jsonrpc\":2.0,\"id\":[1],\"method\":\"message/send\"}",
    "{\"jsonrpc\":\"2.0\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":7}",
    "{\"jsonrpc\":\"2.0\",\"id\":false,\"method\":\"\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":{\"bad\":\"type\"},\"method\":\"tasks/get\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"tasks/get\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"tasks/get\"}",
    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}]",
    "42",
    "\"str\"",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    int code;
    char *out = error_answer(bodies[i], NULL, &code);
    assert_int_equal(code, MOL_A2A_INVALID_REQUEST);
    json_t *v = jparse(out);
    assert_true(json_is_null(json_object_get(v, "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32600);
    json_decref(v);
    free(out);
  }
  expect_error("{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"message/send\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32600,"
               "\"message\":\"Invalid Request: jsonrpc must be \\\"2.0\\\"\"}}");
}

/* An unknown method: -32601 echoes the id with its exact type. */
static void method_not_found_echoes_id(void **state) {
  (void)state;
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"message/ssend\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: message/ssend\"}}");
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"nonexistent/method\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: nonexistent/method\"}}");
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"tasks/foo\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: tasks/foo\"}}");
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"method\":\"tasks/foo\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: tasks/foo\"}}");
  /* An absent id is answered with null (we never treat requests as notifications). */
  expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"tasks/foo\"}", NULL,
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32601,"
               "\"message\":\"Method not found: tasks/foo\"}}");
  /* SendMessage without A2A-Version goes down the v0.3 path -> -32601, and vice versa. */
  expect_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{}}", NULL,
              MOL_A2A_METHOD_NOT_FOUND);
  expect_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{}}", "",
              MOL_A2A_METHOD_NOT_FOUND);
  expect_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{}}", "1.0",
              MOL_A2A_METHOD_NOT_FOUND);
  expect_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ListTasks\"}", "0.3",
              MOL_A2A_METHOD_NOT_FOUND);
}

/* Unknown A2A-Version values -> -32009 in the v1.0 shape, id echoed. */
static void version_negotiation(void **state) {
  (void)state;
  expect_error("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"SendMessage\"}", "0.5",
               "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32009,\"message\":"
               "\"A2A version 0.5 is not supported. Supported versions: 1.0, 0.3\","
               "\"data\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
               "\"reason\":\"VERSION_NOT_SUPPORTED\",\"domain\":\"a2a-protocol.org\"}]}}");
  const char *good03[] = {NULL, "", "0.3", "0.3.0", " 0.3 "};
  const char *good10[] = {"1.0", "1.0.1", "\t1.0 "};
  const char *bad[] = {"0.5", "1", "1.0x", "1.0.", "2.0", "0.3.a", "latest"};
  mol_a2a_version v;
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(mol_a2a_version_parse(good03[i], &v), 0);
    assert_int_equal(v, MOL_A2A_V03);
  }
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(mol_a2a_version_parse(good10[i], &v), 0);
    assert_int_equal(v, MOL_A2A_V10);
  }
  for (size_t i = 0; i < 7; i++) assert_int_equal(mol_a2a_version_parse(bad[i], &v), MOL_EINVAL);
}

#define SEND_WITH(msg) \
  "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"message/send\",\"params\":{\"message\":" msg "}}"

static void expect_invalid_params(const char *body, const char *header, const char *message) {
  char want[1024];
  snprintf(want, sizeof(want),
           "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"error\":{\"code\":-32602,\"message\":\"%s\"}}",
           message);
  expect_error(body, header, want);
}

/* Invalid params -> -32602 with the id echoed. */
static void invalid_params(void **state) {
  (void)state;
  expect_invalid_params(SEND_WITH("\"x\""), NULL, "message must be an object");
  expect_invalid_params(SEND_WITH("{\"kind\":\"message\"}"), NULL, "message.messageId is required");
  expect_invalid_params(SEND_WITH("{\"parts\":\"invalid\"}"), NULL, "message.messageId is required");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":\"invalid\"}"),
                        NULL, "message.parts must be an array");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"text\":\"a\"}]}"),
                        NULL, "Invalid v0.3 part kind: undefined");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"image\"}]}"),
                        NULL, "Invalid v0.3 part kind: image");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"bot\",\"parts\":[]}"), NULL,
                        "message.role must be user or agent");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"parts\":[]}"), NULL,
                        "message.role must be user or agent");
  expect_invalid_params(SEND_WITH("{\"kind\":\"task\",\"messageId\":\"m\",\"role\":\"user\",\"parts\":[]}"),
                        NULL, "message.kind must be 'message'");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":5}]}"),
                        NULL, "text part needs a string 'text'");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"file\",\"file\":{}}]}"),
                        NULL, "file part needs 'bytes' or 'uri'");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"data\",\"data\":[1]}]}"),
                        NULL, "data part needs an object 'data'");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[\"str\"]}"),
                        NULL, "part must be an object");
  expect_invalid_params(SEND_WITH("{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[],\"taskId\":3}"),
                        NULL, "message.taskId must be a string");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"message/send\"}", NULL,
                        "params is required");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"message/send\",\"params\":[]}",
                        NULL, "params must be an object");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"message/send\",\"params\":{}}",
                        NULL, "params.message is required");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"message/send\",\"params\":"
                        "{\"message\":{\"messageId\":\"m\",\"role\":\"user\",\"parts\":[]},\"configuration\":5}}",
                        NULL, "configuration must be an object");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"tasks/get\",\"params\":{}}",
                        NULL, "params.id is required");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"tasks/cancel\",\"params\":{\"id\":7}}",
                        NULL, "params.id is required");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"tasks/get\",\"params\":"
                        "{\"id\":\"t\",\"historyLength\":-1}}",
                        NULL, "historyLength must be a non-negative integer");
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"ListTasks\",\"params\":"
                        "{\"status\":\"sleeping\"}}",
                        "1.0", "status is not a task state");
  /* v1.0: a part with none of the oneof members. */
  expect_invalid_params("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"SendMessage\",\"params\":"
                        "{\"message\":{\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[{\"mediaType\":\"x\"}]}}}",
                        "1.0", "part must carry one of text, raw, url or data");
}

/* Parses a request that must succeed. */
static void parse_ok(const char *body, const char *header, mol_a2a_request *req) {
  int rc = mol_a2a_request_parse(body, strlen(body), header, req);
  if (rc != 0) fprintf(stderr, "unexpected error %d: %s\n", req->error.code, req->error.message);
  assert_int_equal(rc, 0);
  assert_int_equal(req->error.code, 0);
}

static void assert_canonical(const mol_a2a_request *req, const char *want) {
  char *got = json_dumps(mol_a2a_cmsg_json(req->message), JSON_COMPACT);
  assert_json(got, want);
  free(got);
}

/* The shape every Molecule caller sends (no kind, no configuration, no header). */
static void molecule_request_shape(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":\"6f1c\",\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
           NULL, &req);
  assert_int_equal(req.version, MOL_A2A_V03);
  assert_int_equal(req.method, MOL_A2A_M_SEND);
  assert_string_equal(id_text(&req), "\"6f1c\"");
  assert_int_equal(req.config.blocking, 1);
  assert_int_equal(req.config.history_length, -1);
  assert_canonical(&req, "{\"kind\":\"message\",\"messageId\":\"m1\",\"role\":\"user\","
                         "\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}");
  char *text = mol_a2a_cmsg_text(req.message);
  assert_string_equal(text, "hi");
  free(text);
  assert_int_equal(mol_a2a_cmsg_role(req.message), MOL_A2A_ROLE_USER);
  assert_null(mol_a2a_cmsg_task_id(req.message));
  mol_a2a_request_free(&req);
}

/* Molecule's "type" accepted as an alias of "kind"; unknown fields anywhere ignored. */
static void lenient_shapes(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"message/send\",\"extra\":true,\"params\":{"
           "\"junk\":[1],\"message\":{\"role\":\"user\",\"messageId\":\"m2\",\"what\":1,"
           "\"contextId\":\"c1\",\"metadata\":{\"k\":\"v\"},\"parts\":["
           "{\"type\":\"text\",\"text\":\"a\",\"zzz\":0},"
           "{\"kind\":\"data\",\"data\":{\"x\":1}},"
           "{\"type\":\"file\",\"file\":{\"uri\":\"http://f\",\"mimeType\":\"text/plain\",\"q\":1}}]}}}",
           NULL, &req);
  assert_canonical(&req, "{\"kind\":\"message\",\"messageId\":\"m2\",\"role\":\"user\","
                         "\"contextId\":\"c1\",\"metadata\":{\"k\":\"v\"},\"parts\":["
                         "{\"kind\":\"text\",\"text\":\"a\"},{\"kind\":\"data\",\"data\":{\"x\":1}},"
                         "{\"kind\":\"file\",\"file\":{\"uri\":\"http://f\",\"mimeType\":\"text/plain\"}}]}");
  assert_string_equal(id_text(&req), "9");
  mol_a2a_request_free(&req);
}

/* The a2a-js v0.3 request with configuration. */
static void v03_configuration(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"message/stream\",\"params\":{\"message\":"
           "{\"kind\":\"message\",\"messageId\":\"7cd5\",\"role\":\"user\",\"parts\":[{\"kind\":"
           "\"text\",\"text\":\"via proxy\"}]},\"configuration\":{\"blocking\":false,"
           "\"historyLength\":2,\"acceptedOutputModes\":[]},\"metadata\":{\"a\":1}}}",
           "0.3", &req);
  assert_int_equal(req.method, MOL_A2A_M_STREAM);
  assert_int_equal(req.config.blocking, 0);
  assert_int_equal(req.config.history_length, 2);
  assert_non_null(req.config.accepted_output_modes);
  assert_int_equal(json_array_size(req.config.accepted_output_modes), 0);
  assert_int_equal(json_integer_value(json_object_get(req.metadata, "a")), 1);
  assert_true(mol_a2a_method_is_streaming(req.method));
  mol_a2a_request_free(&req);
}

/* The a2a-js v1.0 request shape, oneof parts and ProtoJSON enums. */
static void v10_send_message(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"SendMessage\",\"params\":{\"message\":{\"messageId\":"
           "\"89ff\",\"role\":\"ROLE_USER\",\"contextId\":\"\",\"taskId\":\"\",\"parts\":["
           "{\"text\":\"via proxy\",\"mediaType\":\"text/plain\"},"
           "{\"raw\":\"aGk=\",\"mediaType\":\"image/png\",\"filename\":\"a.png\"},"
           "{\"url\":\"http://u\"},{\"data\":[1,2]}]},\"configuration\":{}},\"id\":1}",
           "1.0", &req);
  assert_int_equal(req.version, MOL_A2A_V10);
  assert_int_equal(req.method, MOL_A2A_M_SEND);
  assert_int_equal(req.config.blocking, 1);
  assert_canonical(&req, "{\"kind\":\"message\",\"messageId\":\"89ff\",\"role\":\"user\",\"parts\":["
                         "{\"kind\":\"text\",\"text\":\"via proxy\"},"
                         "{\"kind\":\"file\",\"file\":{\"bytes\":\"aGk=\",\"name\":\"a.png\",\"mimeType\":\"image/png\"}},"
                         "{\"kind\":\"file\",\"file\":{\"uri\":\"http://u\"}},"
                         "{\"kind\":\"data\",\"data\":[1,2]}]}");
  mol_a2a_request_free(&req);
  parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"SendStreamingMessage\",\"id\":\"s\",\"params\":{"
           "\"message\":{\"messageId\":\"m\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"kind\":\"text\","
           "\"text\":\"t\"}]},\"configuration\":{\"returnImmediately\":true,\"historyLength\":0}}}",
           "1.0", &req);
  assert_int_equal(req.method, MOL_A2A_M_STREAM);
  assert_int_equal(req.config.blocking, 0);
  assert_int_equal(req.config.history_length, 0);
  assert_int_equal(mol_a2a_cmsg_role(req.message), MOL_A2A_ROLE_AGENT);
  mol_a2a_request_free(&req);
}

typedef struct {
  const char *name;
  mol_a2a_method method;
} name_case;

/* Every method in both versions, with the task-id family's params. */
static void all_methods_both_versions(void **state) {
  (void)state;
  static const name_case v03[] = {
    {"tasks/get", MOL_A2A_M_GET}, {"tasks/cancel", MOL_A2A_M_CANCEL},
    {"tasks/resubscribe", MOL_A2A_M_RESUBSCRIBE},
    {"tasks/pushNotificationConfig/set", MOL_A2A_M_PUSH_SET},
    {"tasks/pushNotificationConfig/get", MOL_A2A_M_PUSH_GET},
    {"tasks/pushNotificationConfig/list", MOL_A2A_M_PUSH_LIST},
    {"tasks/pushNotificationConfig/delete", MOL_A2A_M_PUSH_DELETE},
    {"agent/getAuthenticatedExtendedCard", MOL_A2A_M_GET_EXTENDED_CARD}};
  static const name_case v10[] = {
    {"GetTask", MOL_A2A_M_GET}, {"CancelTask", MOL_A2A_M_CANCEL},
    {"SubscribeToTask", MOL_A2A_M_RESUBSCRIBE},
    {"CreateTaskPushNotificationConfig", MOL_A2A_M_PUSH_SET},
    {"GetTaskPushNotificationConfig", MOL_A2A_M_PUSH_GET},
    {"ListTaskPushNotificationConfigs", MOL_A2A_M_PUSH_LIST},
    {"DeleteTaskPushNotificationConfig", MOL_A2A_M_PUSH_DELETE},
    {"GetExtendedAgentCard", MOL_A2A_M_GET_EXTENDED_CARD}, {"ListTasks", MOL_A2A_M_LIST_TASKS}};
  char body[512];
  for (int ver = 0; ver < 2; ver++) {
    const name_case *cases = ver ? v10 : v03;
    size_t n = ver ? sizeof(v10) / sizeof(v10[0]) : sizeof(v03) / sizeof(v03[0]);
    for (size_t i = 0; i < n; i++) {
      snprintf(body, sizeof(body),
               "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"%s\",\"params\":{\"id\":\"t1\","
               "\"historyLength\":3}}", i, cases[i].name);
      mol_a2a_request req;
      parse_ok(body, ver ? "1.0" : NULL, &req);
      assert_int_equal(req.method, cases[i].method);
      assert_string_equal(mol_a2a_method_name(req.method, ver ? MOL_A2A_V10 : MOL_A2A_V03),
                          cases[i].name);
      if (req.method != MOL_A2A_M_GET_EXTENDED_CARD && req.method != MOL_A2A_M_LIST_TASKS)
        assert_string_equal(req.task_id, "t1");
      if (req.method == MOL_A2A_M_GET) assert_int_equal(req.history_length, 3);
      char want_id[32];
      snprintf(want_id, sizeof(want_id), "%zu", i);
      assert_string_equal(id_text(&req), want_id);
      mol_a2a_request_free(&req);
    }
  }
  assert_null(mol_a2a_method_name(MOL_A2A_M_LIST_TASKS, MOL_A2A_V03));
}

/* Push params: v0.3 and v1.0 spellings, and leniency (a push-less server answers -32003). */
static void push_params(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/pushNotificationConfig/set\",\"params\":"
           "{\"taskId\":\"t1\",\"pushNotificationConfig\":{\"url\":\"http://h\"}}}", NULL, &req);
  assert_string_equal(req.task_id, "t1");
  assert_string_equal(json_string_value(json_object_get(req.push_config, "url")), "http://h");
  mol_a2a_request_free(&req);
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/pushNotificationConfig/delete\",\"params\":"
           "{\"id\":\"t1\",\"pushNotificationConfigId\":\"c9\"}}", NULL, &req);
  assert_string_equal(req.task_id, "t1");
  assert_string_equal(req.push_config_id, "c9");
  mol_a2a_request_free(&req);
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTaskPushNotificationConfig\",\"params\":"
           "{\"taskId\":\"t2\",\"id\":\"c2\"}}", "1.0", &req);
  assert_string_equal(req.task_id, "t2");
  assert_string_equal(req.push_config_id, "c2");
  mol_a2a_request_free(&req);
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/pushNotificationConfig/set\",\"params\":\"x\"}",
           NULL, &req);
  assert_null(req.task_id);
  mol_a2a_request_free(&req);
}

static void list_tasks_params(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ListTasks\",\"params\":{\"contextId\":\"c\","
           "\"status\":\"TASK_STATE_WORKING\",\"pageSize\":10,\"pageToken\":\"5\",\"historyLength\":1}}",
           "1.0", &req);
  assert_string_equal(req.context_id, "c");
  assert_int_equal(req.state_filter, MOL_A2A_STATE_WORKING);
  assert_int_equal(req.page_size, 10);
  assert_string_equal(req.page_token, "5");
  assert_int_equal(req.history_length, 1);
  mol_a2a_request_free(&req);
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ListTasks\"}", "1.0", &req);
  assert_null(req.context_id);
  assert_int_equal(req.state_filter, MOL_A2A_STATE_UNKNOWN);
  mol_a2a_request_free(&req);
}

/* The engine-side error codes, built by the binding: exact JSON in both versions. */
static void a2a_error_codes(void **state) {
  (void)state;
  json_t *sid = json_string("r"), *nid = json_integer(4);
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, sid, MOL_A2A_TASK_NOT_FOUND, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"error\":{\"code\":-32001,\"message\":\"Task not found\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, nid, MOL_A2A_TASK_NOT_CANCELABLE, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32002,\"message\":\"Task cannot be canceled\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, NULL, MOL_A2A_PUSH_NOT_SUPPORTED, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32003,\"message\":\"Push Notification is not supported\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, sid, MOL_A2A_UNSUPPORTED_OPERATION, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"error\":{\"code\":-32004,\"message\":\"This operation is not supported\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, sid, MOL_A2A_CONTENT_TYPE_NOT_SUPPORTED, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"error\":{\"code\":-32005,\"message\":\"Incompatible content types\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V03, sid, MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"error\":{\"code\":-32007,\"message\":\"Authenticated Extended Card is not configured\"}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V10, nid, MOL_A2A_TASK_NOT_FOUND, "no such task"),
                   "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32001,\"message\":\"no such task\","
                   "\"data\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"TASK_NOT_FOUND\","
                   "\"domain\":\"a2a-protocol.org\"}]}}");
  assert_json_free(mol_a2a_response_error(MOL_A2A_V10, nid, MOL_A2A_INVALID_PARAMS, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32602,\"message\":\"Invalid params\"}}");
  static const struct { int code; const char *reason; } reasons[] = {
    {-32002, "TASK_NOT_CANCELABLE"}, {-32003, "PUSH_NOTIFICATION_NOT_SUPPORTED"},
    {-32004, "UNSUPPORTED_OPERATION"}, {-32005, "CONTENT_TYPE_NOT_SUPPORTED"},
    {-32006, "INVALID_AGENT_RESPONSE"}, {-32007, "EXTENDED_AGENT_CARD_NOT_CONFIGURED"},
    {-32008, "EXTENSION_SUPPORT_REQUIRED"}, {-32009, "VERSION_NOT_SUPPORTED"}};
  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
    assert_string_equal(mol_a2a_error_reason(reasons[i].code), reasons[i].reason);
  assert_null(mol_a2a_error_reason(-32700));
  json_decref(sid);
  json_decref(nid);
}

/* A real-valued id keeps its type too (JSON-RPC allows any number). */
static void id_real_echo(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_ok("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}", NULL,
           &req);
  assert_json_free(mol_a2a_reply_error(&req, MOL_A2A_TASK_NOT_FOUND, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"error\":{\"code\":-32001,\"message\":\"Task not found\"}}");
  mol_a2a_request_free(&req);
}

/* -32005 decisions: acceptedOutputModes. */
static void accepted_output_modes(void **state) {
  (void)state;
  mol_a2a_send_config cfg = {.blocking = 1, .history_length = -1};
  assert_true(mol_a2a_accepts_output(NULL, "text/plain"));
  assert_true(mol_a2a_accepts_output(&cfg, "text/plain"));
  json_t *modes = jparse("[]");
  cfg.accepted_output_modes = modes;
  assert_true(mol_a2a_accepts_output(&cfg, "text/plain"));
  json_decref(modes);
  modes = jparse("[\"application/json\", \"image/*\"]");
  cfg.accepted_output_modes = modes;
  assert_false(mol_a2a_accepts_output(&cfg, "text/plain"));
  assert_true(mol_a2a_accepts_output(&cfg, "Application/JSON"));
  assert_true(mol_a2a_accepts_output(&cfg, "image/png"));
  json_decref(modes);
  modes = jparse("[\"*/*\"]");
  cfg.accepted_output_modes = modes;
  assert_true(mol_a2a_accepts_output(&cfg, "text/plain"));
  json_decref(modes);
}

/* ---- the DOM-free path (codec_fast.c) ------------------------------------------------------ */

#define ENV "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"message/send\",\"params\":"
#define MSG(extra) "{\"message\":{\"role\":\"user\",\"messageId\":\"m1\"," extra "\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}"

static void fresh(mol_a2a_request *r) { mol_a2a__request_init(r); }

/* Fast-path result == full-parser result, field by field. */
static void assert_fast_matches_full(const char *body) {
  mol_a2a_request fast, full;
  fresh(&fast);
  if (!mol_a2a__request_parse_fast(body, strlen(body), MOL_A2A_V03, &fast)) fail_msg("fast path declined: %s", body);
  assert_int_equal(mol_a2a__request_parse_full(body, strlen(body), NULL, &full), 0);
  assert_int_equal(fast.method, full.method);
  assert_string_equal(id_text(&fast), id_text(&full)); /* the same text, byte for byte */
  assert_int_equal(fast.config.blocking, full.config.blocking);
  assert_int_equal(fast.config.history_length, full.config.history_length);
  assert_true((!fast.metadata && !full.metadata) || json_equal(fast.metadata, full.metadata));
  assert_true(mol_a2a_cmsg_is_compact(fast.message));
  assert_true(json_equal(mol_a2a_cmsg_json(fast.message), mol_a2a_cmsg_json(full.message)));
  char *a = mol_a2a_reply_message(&fast, fast.message), *b = mol_a2a_reply_message(&full, full.message);
  json_t *ja = mol_json_parse(a, strlen(a), NULL, 0), *jb = mol_json_parse(b, strlen(b), NULL, 0);
  assert_true(json_equal(ja, jb));
  json_decref(ja);
  json_decref(jb);
  /* the envelope, id included, byte for byte (member order inside the message may differ) */
  const char *ra = strstr(a, ",\"result\":"), *rb = strstr(b, ",\"result\":");
  assert_true(ra && rb && ra - a == rb - b && memcmp(a, b, (size_t)(ra - a)) == 0);
  free(a);
  free(b);
  mol_a2a_request_free(&fast);
  mol_a2a_request_free(&full);
}

static void assert_fast_declines(const char *body) {
  mol_a2a_request fast;
  fresh(&fast);
  if (mol_a2a__request_parse_fast(body, strlen(body), MOL_A2A_V03, &fast)) fail_msg("fast path took: %s", body);
  mol_a2a_request_free(&fast);
}

static void fast_path_agrees(void **state) {
  (void)state;
  static const char *const same[] = {
      ENV MSG("") "}}",
      ENV MSG("\"kind\":\"message\",\"contextId\":\"c1\",\"taskId\":\"t1\",") "}}",
      ENV MSG("\"contextId\":\"\",\"taskId\":null,\"unknown\":[1,{\"a\":2}],") "}}",
      "{\"id\":7,\"jsonrpc\":\"2.0\",\"params\":" MSG("") "},\"method\":\"message/stream\"}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":" MSG("") "}}", /* no id */
      "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":\"\\u00e9\\ud83d\\ude00\",\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":-0,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":1E+3,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      ENV MSG("") ",\"configuration\":{\"blocking\":false,\"historyLength\":2,\"x\":1}}}",
      ENV MSG("") ",\"configuration\":null,\"metadata\":{\"history\":[{\"role\":\"user\",\"parts\":[]}]}}}",
      ENV MSG("") ",\"metadata\":null}}",
      ENV "{\"message\":{\"role\":\"agent\",\"messageId\":\"m\\u0031\",\"parts\":[{\"type\":\"text\",\"text\":"
          "\"a\\n\\\"b\\\"\\u0001c\"},{\"kind\":\"text\",\"type\":\"data\",\"text\":\"\"}]}}}",
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]}}}",
      " \n" ENV MSG("") "}} \t\r\n",
  };
  for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) assert_fast_matches_full(same[i]);

  static const char *const declined[] = {
      ENV MSG("\"metadata\":{},") "}}",                   /* message metadata: the full form */
      ENV MSG("\"extensions\":[],") "}}",
      ENV MSG("\"role\":\"user\",") "}}",                 /* a duplicate member */
      ENV MSG("") ",\"configuration\":{\"acceptedOutputModes\":[\"text/plain\"]}}}",
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"file\",\"file\":{\"uri\":\"u\"}}]}}}",
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"x\",\"metadata\":{}}]}}}",
      ENV "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[]}}}",
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"\",\"parts\":[]}}}", /* -32602 */
      ENV "{\"m\\u0065ssage\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]}}}", /* escaped key */
      "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"message/send\",\"params\":" MSG("") "}}",
      /* a U+0000 anywhere: refused (-32602) or, in the id, kept by the full parser */
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000b\"}]}}}",
      ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"\\u0000\"}]}}}",
      ENV MSG("\"contextId\":\"c\\u0000\",") "}}",
      ENV MSG("") ",\"metadata\":{\"k\":\"\\u0000\"}}}",
      ENV MSG("\"junk\":[\"\\u0000\"],") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":\"\\u0000\",\"method\":\"message/send\",\"params\":" MSG("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"t\"}}",
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\"}",
      ENV MSG("") "}} x",
      ENV MSG("") "}",
      "[" ENV MSG("") "}}]",
  };
  for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) assert_fast_declines(declined[i]);

  /* and through the public entry: a declined request still gets the full parser's answer */
  mol_a2a_request req;
  const char *bad = ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"\",\"parts\":[]}}}";
  assert_int_equal(mol_a2a_request_parse(bad, strlen(bad), NULL, &req), MOL_EINVAL);
  assert_int_equal(req.error.code, MOL_A2A_INVALID_PARAMS);
  mol_a2a_request_free(&req);
  bad = ENV "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000b\"}]}}}";
  assert_int_equal(mol_a2a_request_parse(bad, strlen(bad), NULL, &req), MOL_EINVAL);
  assert_int_equal(req.error.code, MOL_A2A_INVALID_PARAMS);
  mol_a2a_request_free(&req);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_error_has_null_id),
    cmocka_unit_test(invalid_request_has_null_id),
    cmocka_unit_test(method_not_found_echoes_id),
    cmocka_unit_test(version_negotiation),
    cmocka_unit_test(invalid_params),
    cmocka_unit_test(molecule_request_shape),
    cmocka_unit_test(lenient_shapes),
    cmocka_unit_test(v03_configuration),
    cmocka_unit_test(v10_send_message),
    cmocka_unit_test(all_methods_both_versions),
    cmocka_unit_test(push_params),
    cmocka_unit_test(list_tasks_params),
    cmocka_unit_test(a2a_error_codes),
    cmocka_unit_test(id_real_echo),
    cmocka_unit_test(accepted_output_modes),
    cmocka_unit_test(fast_path_agrees),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
