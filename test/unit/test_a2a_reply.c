/* test_a2a_reply.c - reply builders (v0.3 and v1.0 shapes), SSE framing, the client-side
 * request builders and response parser, and the agent card. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "a2a/card.h"
#include "a2a/codec.h"
#include "a2a_test_util.h"
#include "base/json.h"
#include "molecule.h"

#define T0 1777636800955LL /* 2026-05-01T12:00:00.955Z */
static int64_t fake_now = T0;
static int64_t fake_clock(void *arg) {
  (void)arg;
  return fake_now;
}

static void parse_req(const char *body, const char *header, mol_a2a_request *req) {
  assert_int_equal(mol_a2a_request_parse(body, strlen(body), header, req), 0);
}

/* The Message reply Molecule callers read (result.parts[0].text), with extras. */
static void message_reply_both_versions(void **state) {
  (void)state;
  mol_a2a_request req;
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":\"u-1\",\"method\":\"message/send\",\"params\":{\"message\":"
            "{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
            NULL, &req);
  json_t *reply = jparse("{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"contextId\":\"c\","
                         "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}]}");
  json_object_set_new(reply, "usage", json_pack("{s:i,s:i}", "input_tokens", 3, "output_tokens", 4));
  json_object_set_new(reply, "metadata", json_pack("{s:[]}", "tool_trace"));
  mol_a2a_cmsg *held = mol_a2a_cmsg_wrap(json_incref(reply));
  char *body = mol_a2a_reply_message(&req, held);
  mol_a2a_cmsg_unref(held);
  assert_json(body, "{\"jsonrpc\":\"2.0\",\"id\":\"u-1\",\"result\":{\"kind\":\"message\",\"messageId\":\"a1\","
                    "\"role\":\"agent\",\"contextId\":\"c\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}],"
                    "\"usage\":{\"input_tokens\":3,\"output_tokens\":4},\"metadata\":{\"tool_trace\":[]}}}");
  assert_null(strchr(body, '\n'));
  json_t *v = jparse(body);
  assert_string_equal(json_string_value(json_object_get(json_array_get(
                          json_object_get(json_object_get(v, "result"), "parts"), 0), "text")),
                      "echo: hi");
  json_decref(v);
  free(body);
  mol_a2a_request_free(&req);

  parse_req("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"SendMessage\",\"params\":{\"message\":"
            "{\"role\":\"ROLE_USER\",\"messageId\":\"m1\",\"parts\":[{\"text\":\"hi\"}]}}}",
            "1.0", &req);
  json_object_del(reply, "usage");
  held = mol_a2a_cmsg_wrap(json_incref(reply));
  assert_json_free(mol_a2a_reply_message(&req, held),
                   "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"message\":{\"messageId\":\"a1\",\"role\":"
                   "\"ROLE_AGENT\",\"contextId\":\"c\",\"parts\":[{\"text\":\"echo: hi\"}],"
                   "\"metadata\":{\"tool_trace\":[]}}}}");
  mol_a2a_cmsg_unref(held);
  mol_a2a_request_free(&req);
  json_decref(reply);
}

/* A completed task with two user turns and one artifact. */
static mol_a2a_task *make_task(mol_a2a_store *s) {
  mol_a2a_task *t;
  mol_a2a_error err;
  mol_a2a_cmsg *m1 = mol_a2a_cmsg_wrap(jparse("{\"kind\":\"message\",\"messageId\":\"m1\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"one\"}]}"));
  assert_int_equal(mol_a2a_store_begin(s, &m1, &t, &err), 0);
  /* the same continuation held compactly */
  mol_a2a_text_span two = {"two", 3};
  mol_a2a_cmsg *m2 = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_USER, "m2", NULL, mol_a2a_task_id(t), &two, 1);
  mol_a2a_task *again;
  assert_int_equal(mol_a2a_store_begin(s, &m2, &again, &err), 0);
  assert_ptr_equal(again, t);
  json_t *art = jparse("{\"artifactId\":\"a1\",\"name\":\"reply\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo\"}]}");
  assert_int_equal(mol_a2a_task_add_artifact(t, art, 0, 1), 0);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
  mol_a2a_cmsg_unref(m1);
  mol_a2a_cmsg_unref(m2);
  json_decref(art);
  return t;
}

static char *fmt_task(const char *tmpl, const mol_a2a_task *t) {
  /* tmpl uses %1$s for the task id and %2$s for the context id */
  char *out = NULL;
  assert_true(asprintf(&out, tmpl, mol_a2a_task_id(t), mol_a2a_task_context_id(t)) > 0);
  return out;
}

static void task_reply_v03(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t = make_task(s);
  mol_a2a_request req;
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"id\":\"x\",\"historyLength\":1}}",
            NULL, &req);
  char *want = fmt_task(
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"kind\":\"task\",\"id\":\"%1$s\",\"contextId\":\"%2$s\","
      "\"status\":{\"state\":\"completed\",\"timestamp\":\"2026-05-01T12:00:00.955Z\"},"
      "\"history\":[{\"kind\":\"message\",\"messageId\":\"m2\",\"role\":\"user\",\"taskId\":\"%1$s\","
      "\"contextId\":\"%2$s\",\"parts\":[{\"kind\":\"text\",\"text\":\"two\"}]}],"
      "\"artifacts\":[{\"artifactId\":\"a1\",\"name\":\"reply\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo\"}]}]}}",
      t);
  assert_json_free(mol_a2a_reply_task(&req, t), want);
  free(want);
  mol_a2a_request_free(&req);
  /* historyLength 0: no history member at all. */
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"id\":\"x\",\"historyLength\":0}}",
            NULL, &req);
  char *body = mol_a2a_reply_task(&req, t);
  json_t *v = jparse(body);
  assert_null(json_object_get(json_object_get(v, "result"), "history"));
  json_decref(v);
  free(body);
  mol_a2a_request_free(&req);
  mol_a2a_store_free(s);
}

static void task_reply_v10(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t = make_task(s);
  mol_a2a_request req;
  /* SendMessage wraps the task; GetTask does not. */
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"SendMessage\",\"params\":{\"message\":"
            "{\"role\":\"ROLE_USER\",\"messageId\":\"q\",\"parts\":[{\"text\":\"x\"}]},"
            "\"configuration\":{\"historyLength\":0}}}", "1.0", &req);
  char *want = fmt_task(
      "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"task\":{\"id\":\"%1$s\",\"contextId\":\"%2$s\","
      "\"status\":{\"state\":\"TASK_STATE_COMPLETED\",\"timestamp\":\"2026-05-01T12:00:00.955Z\"},"
      "\"artifacts\":[{\"artifactId\":\"a1\",\"name\":\"reply\",\"parts\":[{\"text\":\"echo\"}]}]}}}", t);
  assert_json_free(mol_a2a_reply_task(&req, t), want);
  free(want);
  mol_a2a_request_free(&req);
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"GetTask\",\"params\":{\"id\":\"x\",\"historyLength\":1}}",
            "1.0", &req);
  want = fmt_task(
      "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"result\":{\"id\":\"%1$s\",\"contextId\":\"%2$s\","
      "\"status\":{\"state\":\"TASK_STATE_COMPLETED\",\"timestamp\":\"2026-05-01T12:00:00.955Z\"},"
      "\"history\":[{\"messageId\":\"m2\",\"role\":\"ROLE_USER\",\"taskId\":\"%1$s\",\"contextId\":\"%2$s\","
      "\"parts\":[{\"text\":\"two\"}]}],"
      "\"artifacts\":[{\"artifactId\":\"a1\",\"name\":\"reply\",\"parts\":[{\"text\":\"echo\"}]}]}}", t);
  assert_json_free(mol_a2a_reply_task(&req, t), want);
  free(want);
  mol_a2a_request_free(&req);
  mol_a2a_store_free(s);
}

/* Stream events in both shapes; `final` only in v0.3. */
static void event_replies(void **state) {
  (void)state;
  json_t *art = jparse("{\"artifactId\":\"a\",\"name\":\"reply\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hello\"}]}");
  mol_a2a_event st = {.kind = MOL_A2A_EV_STATUS, .task_id = "t", .context_id = "c", .final = 1,
                      .state = MOL_A2A_STATE_COMPLETED, .timestamp = "2026-05-01T12:00:00.955Z"};
  mol_a2a_event ar = {.kind = MOL_A2A_EV_ARTIFACT, .task_id = "t", .context_id = "c",
                      .artifact = art, .append = 0, .last_chunk = 1};
  mol_a2a_request req;
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/stream\",\"params\":{\"message\":"
            "{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]}}}", NULL, &req);
  assert_json_free(mol_a2a_reply_event(&req, &st),
                   "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"kind\":\"status-update\",\"taskId\":\"t\","
                   "\"contextId\":\"c\",\"status\":{\"state\":\"completed\",\"timestamp\":"
                   "\"2026-05-01T12:00:00.955Z\"},\"final\":true}}");
  assert_json_free(mol_a2a_reply_event(&req, &ar),
                   "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"kind\":\"artifact-update\",\"taskId\":\"t\","
                   "\"contextId\":\"c\",\"artifact\":{\"artifactId\":\"a\",\"name\":\"reply\",\"parts\":"
                   "[{\"kind\":\"text\",\"text\":\"echo: hello\"}]},\"append\":false,\"lastChunk\":true}}");
  mol_a2a_request_free(&req);
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"SubscribeToTask\",\"params\":{\"id\":\"t\"}}",
            "1.0", &req);
  st.state = MOL_A2A_STATE_WORKING;
  st.final = 0;
  assert_json_free(mol_a2a_reply_event(&req, &st),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"statusUpdate\":{\"taskId\":\"t\","
                   "\"contextId\":\"c\",\"status\":{\"state\":\"TASK_STATE_WORKING\",\"timestamp\":"
                   "\"2026-05-01T12:00:00.955Z\"}}}}");
  assert_json_free(mol_a2a_reply_event(&req, &ar),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"artifactUpdate\":{\"taskId\":\"t\","
                   "\"contextId\":\"c\",\"artifact\":{\"artifactId\":\"a\",\"name\":\"reply\",\"parts\":"
                   "[{\"text\":\"echo: hello\"}]},\"append\":false,\"lastChunk\":true}}}");
  mol_a2a_event closed = {.kind = MOL_A2A_EV_CLOSED, .final = 1};
  assert_null(mol_a2a_reply_event(&req, &closed));
  mol_a2a_request_free(&req);
  json_decref(art);
}

/* v1.0 ListTasks and plain results (card, push config, null). */
static void list_and_plain_results(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t;
  assert_int_equal(mol_a2a_store_create(s, "ctx", &t), 0);
  mol_a2a_request req;
  parse_req("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ListTasks\",\"params\":{\"pageSize\":1}}",
            "1.0", &req);
  mol_a2a_task *page[1];
  mol_a2a_task_query q = {.context_id = req.context_id, .state = req.state_filter,
                          .status_after_ms = req.status_after_ms};
  size_t n, total;
  int more;
  assert_int_equal(mol_a2a_store_query(s, &q, page, 1, &n, &total, &more), 0);
  assert_int_equal(n, 1);
  char *want = fmt_task(
      "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"tasks\":[{\"id\":\"%1$s\",\"contextId\":\"%2$s\","
      "\"status\":{\"state\":\"TASK_STATE_SUBMITTED\",\"timestamp\":\"2026-05-01T12:00:00.955Z\"}}],"
      "\"nextPageToken\":\"\",\"pageSize\":1,\"totalSize\":1}}", t);
  assert_json_free(mol_a2a_reply_task_list(&req, page, 1, total, NULL), want);
  free(want);
  assert_json_free(mol_a2a_reply_result(&req, NULL), "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":null}");
  mol_a2a_request_free(&req);
  mol_a2a_store_free(s);
}

/* Executor-side constructors, and every part kind in the v1.0 oneof shape. */
static void constructors_and_v10_parts(void **state) {
  (void)state;
  json_t *m = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, "a");
  assert_int_equal(mol_a2a_parts_append(m, mol_a2a_part_data(json_pack("{s:i}", "n", 1))), 0);
  assert_int_equal(mol_a2a_parts_append(m, mol_a2a_part_file_uri("http://f", "f.txt", "text/plain")), 0);
  json_t *bytes = jparse("{\"kind\":\"file\",\"file\":{\"bytes\":\"aGk=\"},\"metadata\":{\"x\":1}}");
  assert_int_equal(mol_a2a_parts_append(m, bytes), 0);
  assert_int_equal(strlen(mol_a2a_msg_id(m)), 36);
  json_object_set_new(m, "messageId", json_string("fixed"));
  json_t *w = mol_a2a_message_to_wire(m, MOL_A2A_V10);
  char *got = json_dumps(w, JSON_COMPACT);
  assert_json(got, "{\"messageId\":\"fixed\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":\"a\"},"
                   "{\"data\":{\"n\":1}},{\"url\":\"http://f\",\"mediaType\":\"text/plain\",\"filename\":\"f.txt\"},"
                   "{\"raw\":\"aGk=\",\"metadata\":{\"x\":1}}]}");
  free(got);
  /* and back: v1.0 wire -> canonical is the identity on our own output */
  json_t *back;
  mol_a2a_error err;
  assert_int_equal(mol_a2a_message_from_wire(w, MOL_A2A_V10, &back, &err), 0);
  assert_true(json_equal(back, m));
  char *text = mol_a2a_parts_text(back);
  assert_string_equal(text, "a");
  free(text);
  assert_int_equal(mol_a2a_parts_append(m, NULL), MOL_ENOMEM);
  assert_int_equal(mol_a2a_role_parse("ROLE_USER"), MOL_A2A_ROLE_USER);
  assert_int_equal(mol_a2a_role_parse(NULL), MOL_A2A_ROLE_UNSPECIFIED);
  assert_string_equal(mol_a2a_role_name(MOL_A2A_ROLE_UNSPECIFIED, MOL_A2A_V10), "ROLE_UNSPECIFIED");
  json_decref(back);
  json_decref(w);
  json_decref(m);
  json_t *a = mol_a2a_artifact_new(NULL, NULL, NULL);
  assert_int_equal(strlen(json_string_value(json_object_get(a, "artifactId"))), 36);
  assert_int_equal(json_array_size(json_object_get(a, "parts")), 0);
  json_decref(a);
}

static void sse_framing(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  assert_int_equal(mol_a2a_sse_frame(&b, "{\"a\":1}", 0), 0);
  assert_int_equal(mol_a2a_sse_frame(&b, "{\"e\":2}", 1), 0);
  assert_string_equal(b.data, "data: {\"a\":1}\n\nevent: error\ndata: {\"e\":2}\n\n");
  assert_int_equal(mol_a2a_sse_frame(&b, "{\n}", 0), MOL_EINVAL);
  mol_buf_free(&b);
  /* A text with newlines still serialises to one line. */
  json_t *id = json_integer(1);
  char *body = mol_a2a_response_result(id, json_pack("{s:s}", "text", "a\nb\r\nc"));
  assert_null(strpbrk(body, "\r\n"));
  free(body);
  json_decref(id);
}

/* Client side: request bodies in both versions. */
static void client_requests(void **state) {
  (void)state;
  json_t *msg = jparse("{\"kind\":\"message\",\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}");
  json_t *id = json_string("r1");
  assert_json_free(mol_a2a_request_build_send(MOL_A2A_V03, id, 0, msg, NULL, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"message/send\",\"params\":{\"message\":"
                   "{\"kind\":\"message\",\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}");
  mol_a2a_send_config cfg = {.blocking = 0, .history_length = 2};
  assert_json_free(mol_a2a_request_build_send(MOL_A2A_V10, id, 1, msg, &cfg, NULL),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"SendStreamingMessage\",\"params\":{\"message\":"
                   "{\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"hi\"}]},"
                   "\"configuration\":{\"returnImmediately\":true,\"historyLength\":2}}}");
  assert_json_free(mol_a2a_request_build_task(MOL_A2A_V03, MOL_A2A_M_GET, id, "t1", 3),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"tasks/get\",\"params\":{\"id\":\"t1\",\"historyLength\":3}}");
  assert_json_free(mol_a2a_request_build_task(MOL_A2A_V10, MOL_A2A_M_CANCEL, id, "t1", -1),
                   "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"CancelTask\",\"params\":{\"id\":\"t1\"}}");
  assert_null(mol_a2a_request_build(MOL_A2A_V03, MOL_A2A_M_LIST_TASKS, id, NULL));
  /* Round trip: what we build, we parse as a server. */
  char *body = mol_a2a_request_build_send(MOL_A2A_V10, id, 0, msg, NULL, NULL);
  mol_a2a_request req;
  parse_req(body, "1.0", &req);
  assert_true(json_equal(mol_a2a_cmsg_json(req.message), msg));
  mol_a2a_request_free(&req);
  free(body);
  json_decref(msg);
  json_decref(id);
}

static void parse_resp(const char *body, mol_a2a_version v, mol_a2a_response *r) {
  int rc = mol_a2a_response_parse(body, strlen(body), v, r);
  assert_int_equal(rc, 0);
}

/* Client side: responses as the a2a-js servers write them. */
static void client_responses(void **state) {
  (void)state;
  mol_a2a_response r;
  parse_resp("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"kind\":\"task\",\"id\":\"8332\",\"contextId\":\"d36e\","
             "\"status\":{\"state\":\"completed\",\"timestamp\":\"2026-05-01T12:00:00.955Z\"},"
             "\"history\":[{\"kind\":\"message\",\"messageId\":\"m1\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}],"
             "\"artifacts\":[{\"artifactId\":\"b812\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}],\"name\":\"reply\"}]}}",
             MOL_A2A_V03, &r);
  assert_int_equal(r.kind, MOL_A2A_RESULT_TASK);
  assert_int_equal(json_integer_value(r.id), 1);
  char *text = mol_a2a_response_text(&r);
  assert_string_equal(text, "echo: hi");
  free(text);
  mol_a2a_response_free(&r);

  parse_resp("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"task\":{\"id\":\"t\",\"contextId\":\"c\","
             "\"status\":{\"state\":\"TASK_STATE_COMPLETED\"},\"artifacts\":[{\"artifactId\":\"x\","
             "\"name\":\"reply\",\"parts\":[{\"text\":\"echo: yo\",\"mediaType\":\"text/plain\"}]}]}}}",
             MOL_A2A_V10, &r);
  assert_int_equal(r.kind, MOL_A2A_RESULT_TASK);
  assert_string_equal(mol_json_str(r.result, "status.state"), "completed");
  text = mol_a2a_response_text(&r);
  assert_string_equal(text, "echo: yo");
  free(text);
  mol_a2a_response_free(&r);

  parse_resp("{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"result\":{\"messageId\":\"a\",\"role\":\"agent\","
             "\"parts\":[{\"kind\":\"text\",\"text\":\"plain\"}]}}", MOL_A2A_V03, &r);
  assert_int_equal(r.kind, MOL_A2A_RESULT_MESSAGE);
  text = mol_a2a_response_text(&r);
  assert_string_equal(text, "plain");
  free(text);
  mol_a2a_response_free(&r);

  parse_resp("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"statusUpdate\":{\"taskId\":\"t\",\"contextId\":\"c\","
             "\"status\":{\"state\":\"TASK_STATE_INPUT_REQUIRED\"}}}}", MOL_A2A_V10, &r);
  assert_int_equal(r.kind, MOL_A2A_RESULT_STATUS_UPDATE);
  assert_true(json_is_true(json_object_get(r.result, "final")));
  mol_a2a_response_free(&r);

  parse_resp("{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":{\"kind\":\"artifact-update\",\"taskId\":\"t\",\"contextId\":\"c\","
             "\"artifact\":{\"artifactId\":\"3\",\"parts\":[{\"kind\":\"text\",\"text\":\"e\"}]},\"append\":false,\"lastChunk\":true}}",
             MOL_A2A_V03, &r);
  assert_int_equal(r.kind, MOL_A2A_RESULT_ARTIFACT_UPDATE);
  assert_true(json_is_true(json_object_get(r.result, "lastChunk")));
  mol_a2a_response_free(&r);

  parse_resp("{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32001,\"message\":\"gone\",\"data\":"
             "[{\"reason\":\"TASK_NOT_FOUND\"}]}}", MOL_A2A_V10, &r);
  assert_true(r.is_error);
  assert_int_equal(r.error.code, -32001);
  assert_string_equal(r.error.message, "gone");
  assert_true(json_is_array(r.error_data));
  mol_a2a_response_free(&r);

  assert_int_equal(mol_a2a_response_parse("{x", 2, MOL_A2A_V03, &r), MOL_EJSON);
  mol_a2a_response_free(&r);
  assert_int_equal(mol_a2a_response_parse("{\"id\":1}", 8, MOL_A2A_V03, &r), MOL_EPROTO);
  mol_a2a_response_free(&r);
  const char *bad_task = "{\"id\":1,\"result\":{\"kind\":\"task\",\"id\":\"t\"}}";
  assert_int_equal(mol_a2a_response_parse(bad_task, strlen(bad_task), MOL_A2A_V03, &r), MOL_EPROTO);
  mol_a2a_response_free(&r);
}

static const char *const k_tags[] = {"echo"};
static const mol_a2a_skill k_skill = {.id = "echo", .name = "Echo", .description = "echoes text",
                                      .tags = k_tags, .n_tags = 1};
static const mol_a2a_card k_card = {
  .name = "molecule-agent", .description = "test agent", .url = "http://127.0.0.1:8000/",
  .version = "0.1.0", .streaming = 1, .skills = &k_skill, .n_skills = 1};

/* Every required card field, preferredTransport and additionalInterfaces. */
static void card_v03(void **state) {
  (void)state;
  assert_json_free(mol_a2a_card_build(&k_card, MOL_A2A_CARD_V03),
                   "{\"protocolVersion\":\"0.3.0\",\"name\":\"molecule-agent\",\"description\":\"test agent\","
                   "\"url\":\"http://127.0.0.1:8000/\",\"preferredTransport\":\"JSONRPC\","
                   "\"additionalInterfaces\":[{\"url\":\"http://127.0.0.1:8000/\",\"transport\":\"JSONRPC\"}],"
                   "\"version\":\"0.1.0\",\"capabilities\":{\"streaming\":true,\"pushNotifications\":false,"
                   "\"stateTransitionHistory\":false},\"defaultInputModes\":[\"text/plain\"],"
                   "\"defaultOutputModes\":[\"text/plain\"],\"skills\":[{\"id\":\"echo\",\"name\":\"Echo\","
                   "\"description\":\"echoes text\",\"tags\":[\"echo\"]}],"
                   "\"supportsAuthenticatedExtendedCard\":false}");
  json_t *hybrid = mol_a2a_card_to_json(&k_card, MOL_A2A_CARD_HYBRID);
  assert_string_equal(mol_json_str(hybrid, "preferredTransport"), "JSONRPC");
  json_t *si = json_object_get(hybrid, "supportedInterfaces");
  assert_int_equal(json_array_size(si), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(si, 0), "protocolVersion")), "1.0");
  json_decref(hybrid);
  mol_a2a_card bad = k_card;
  bad.url = NULL;
  assert_null(mol_a2a_card_build(&bad, MOL_A2A_CARD_V03));
  mol_a2a_skill bad_skill = k_skill;
  bad_skill.id = NULL;
  bad = k_card;
  bad.skills = &bad_skill;
  assert_null(mol_a2a_card_build(&bad, MOL_A2A_CARD_V03));
}

static void card_v10(void **state) {
  (void)state;
  json_t *c = mol_a2a_card_to_json(&k_card, MOL_A2A_CARD_V10);
  assert_null(json_object_get(c, "url"));
  assert_null(json_object_get(c, "protocolVersion"));
  assert_null(json_object_get(c, "preferredTransport"));
  json_t *si = json_array_get(json_object_get(c, "supportedInterfaces"), 0);
  assert_string_equal(mol_json_str(si, "protocolBinding"), "JSONRPC");
  assert_string_equal(mol_json_str(si, "url"), "http://127.0.0.1:8000/");
  assert_true(json_is_false(mol_json_path(c, "capabilities.extendedAgentCard")));
  assert_true(json_is_array(json_object_get(c, "securityRequirements")));
  json_decref(c);
  assert_int_equal(mol_a2a_card_flavor_for("1.0", 1), MOL_A2A_CARD_V10);
  assert_int_equal(mol_a2a_card_flavor_for(NULL, 1), MOL_A2A_CARD_HYBRID);
  assert_int_equal(mol_a2a_card_flavor_for("1.0", 0), MOL_A2A_CARD_V03);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(message_reply_both_versions),
    cmocka_unit_test(task_reply_v03),
    cmocka_unit_test(task_reply_v10),
    cmocka_unit_test(event_replies),
    cmocka_unit_test(list_and_plain_results),
    cmocka_unit_test(constructors_and_v10_parts),
    cmocka_unit_test(sse_framing),
    cmocka_unit_test(client_requests),
    cmocka_unit_test(client_responses),
    cmocka_unit_test(card_v03),
    cmocka_unit_test(card_v10),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
