/* test_a2a_client.c - the A2A client against a scripted fake peer (http_fake_server.h), for
 * what real peers do not do on demand: JSON-RPC errors with foreign ids, malformed JSON, SSE
 * streams cut mid-event or carrying another request's id, silence past the deadline, HTTP 500,
 * cancellation in the middle of a stream, and the client closing with calls in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_client_util.h"
#include "a2a_fake_peer.h"

static a2a_env g;
static fake_server fs;

/* ---- fixtures ---------------------------------------------------------------------------- */

static char base_url[64];

static int setup(void **state) {
  (void)state;
  memset(&sc, 0, sizeof(sc));
  ae_init_loop(&g);
  assert_int_equal(fs_start(&fs, &g.loop, handler, "127.0.0.1"), 0);
  snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/", fs.port);
  ae_client(&g, base_url, MOL_A2A_V03, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ae_close_clients(&g);
  fs_stop(&fs);
  ae_fini_loop(&g);
  return 0;
}

static void send_one(ares *a, const mol_a2a_call_opts *o) {
  json_t *m = ae_msg("hi");
  a->in_call = 1;
  assert_int_equal(mol_a2a_send(g.c, m, o, ar_done, a, &a->call), 0);
  a->in_call = 0;
  json_decref(m);
  ae_wait(&g, a);
}

static void stream_one(ares *a, const mol_a2a_call_opts *o) {
  json_t *m = ae_msg("hi");
  a->in_call = 1;
  assert_int_equal(mol_a2a_stream(g.c, m, o, ar_event, ar_done, a, &a->call), 0);
  a->in_call = 0;
  json_decref(m);
  ae_wait(&g, a);
}

#define EV_TASK "data: {\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"task\"," \
                "\"id\":\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":\"submitted\"}}}\n\n"
#define EV_ART "data: {\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"artifact-update\"," \
               "\"taskId\":\"t1\",\"contextId\":\"c1\",\"artifact\":{\"artifactId\":\"a1\"," \
               "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}]}}}\n\n"
#define EV_DONE "data: {\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"status-update\"," \
                "\"taskId\":\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":\"completed\"}," \
                "\"final\":true}}\n\n"

/* ---- unary faults ------------------------------------------------------------------------ */

static void test_rpc_error_string_id(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"error\":{\"code\":-32001,\"message\":\"gone\","
            "\"data\":{\"why\":1}}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, -32001);
  assert_string_equal(a.rpc_message, "gone");
  assert_true(a.has_rpc_data);
  assert_int_equal(a.http_status, 200);
  assert_string_equal(a.detail, "JSON-RPC error -32001: gone");
}

static void test_rpc_error_foreign_number_id(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32603,\"message\":\"x\"}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
  assert_int_equal(a.rpc_code, 0);
}

static void test_rpc_error_null_id(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"bad\"}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, -32700);
}

static void test_malformed_json(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{bad";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EJSON);
}

static void test_not_jsonrpc(void **state) {
  (void)state;
  sc.body = "[1,2,3]";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
}

static void test_result_foreign_id(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":\"someone-else\",\"result\":{\"kind\":\"message\","
            "\"messageId\":\"m\",\"role\":\"agent\",\"parts\":[]}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
}

static void test_result_wrong_kind(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"status-update\","
            "\"taskId\":\"t\",\"contextId\":\"c\",\"status\":{\"state\":\"working\"}}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
}

static void test_message_result(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"message\",\"messageId\":"
            "\"m\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"fine\"}]}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.kind, MOL_A2A_RESULT_MESSAGE);
  assert_string_equal(a.text, "fine");
  /* v0.3: slash name, no A2A-Version header, our headers present */
  assert_non_null(strstr(fs.last_req, "\"method\":\"message/send\""));
  assert_null(strstr(fs.last_req, "A2A-Version"));
  assert_non_null(strstr(fs.last_req, "Content-Type: application/json"));
}

static void test_send_options(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"task\",\"id\":\"t\","
            "\"contextId\":\"c\",\"status\":{\"state\":\"submitted\"}}}";
  mol_a2a_call_opts o = {.return_immediately = 1, .has_history_length = 1, .history_length = 2};
  ares a = {0};
  send_one(&a, &o);
  assert_int_equal(a.err, 0);
  assert_string_equal(a.state, "submitted");
  assert_non_null(strstr(fs.last_req, "\"blocking\":false"));
  assert_non_null(strstr(fs.last_req, "\"historyLength\":2"));
  /* a fresh UUID string id per call */
  char first[256];
  snprintf(first, sizeof(first), "%s", strstr(fs.last_req, "\"id\":\""));
  ares b = {0};
  send_one(&b, NULL);
  assert_null(strstr(fs.last_req, "\"blocking\":false"));
  assert_true(strlen(first) > 43); /* "id":"<36-char UUID>" */
  assert_true(strncmp(strstr(fs.last_req, "\"id\":\""), first, 43) != 0);
}

static void test_http_500(void **state) {
  (void)state;
  sc.status = 500;
  sc.ctype = "text/plain";
  sc.body = "upstream exploded";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_EHTTP);
  assert_int_equal(a.http_status, 500);
  assert_non_null(strstr(a.detail, "500"));
}

static void test_http_500_with_rpc_error(void **state) {
  (void)state;
  sc.status = 500;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"error\":{\"code\":-32603,\"message\":\"boom\"}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.http_status, 500);
  assert_int_equal(a.rpc_code, -32603);
}

static void test_deadline(void **state) {
  (void)state;
  sc.silent = 1;
  ares a = {0};
  mol_a2a_call_opts o = {.timeout_ms = 200};
  uint64_t t0 = uv_now(&g.loop);
  send_one(&a, &o);
  assert_int_equal(a.err, MOL_ETIMEDOUT);
  assert_true(uv_now(&g.loop) - t0 >= 190);
}

static void test_cancel_unary(void **state) {
  (void)state;
  sc.silent = 1;
  ares a = {0};
  json_t *m = ae_msg("hi");
  assert_int_equal(mol_a2a_send(g.c, m, NULL, ar_done, &a, &a.call), 0);
  json_decref(m);
  ae_run_for(&g, 50);
  a.in_call = 1;
  mol_a2a_client_cancel(a.call);
  mol_a2a_client_cancel(a.call); /* twice is harmless */
  a.in_call = 0;
  ae_wait(&g, &a);
  assert_int_equal(a.err, MOL_ECANCELED);
}

static void test_bad_arguments(void **state) {
  (void)state;
  ares a = {0};
  json_t *m = ae_msg("hi");
  assert_int_equal(mol_a2a_send(g.c, NULL, NULL, ar_done, &a, NULL), MOL_EINVAL);
  assert_int_equal(mol_a2a_send(g.c, m, NULL, NULL, &a, NULL), MOL_EINVAL);
  assert_int_equal(mol_a2a_get_task(g.c, "", NULL, ar_done, &a, NULL), MOL_EINVAL);
  json_decref(m);
  mol_a2a_client *c;
  mol_a2a_client_opts o = {.url = "ftp://x/"};
  assert_int_equal(mol_a2a_client_new(&g.loop, g.http, &o, &c), MOL_EINVAL);
  assert_int_equal(mol_a2a_client_set_rpc_url(g.c, "not a url"), MOL_EINVAL);
  ae_run_for(&g, 10);
  assert_int_equal(a.calls, 0);
}

/* ---- v1.0 request shape -------------------------------------------------------------------- */

static void test_v10_request(void **state) {
  (void)state;
  ae_close_clients(&g);
  mol_http_header h[] = {{"Authorization", "Bearer s3cret"}};
  mol_a2a_client_opts o = {.headers = h, .nheaders = 1};
  ae_client(&g, base_url, MOL_A2A_V10, &o);
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"task\":{\"id\":\"t9\",\"contextId\":"
            "\"c\",\"status\":{\"state\":\"TASK_STATE_COMPLETED\"},\"artifacts\":[{\"artifactId\":"
            "\"a\",\"parts\":[{\"text\":\"v1 reply\"}]}]}}}";
  ares a = {0};
  send_one(&a, NULL);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.kind, MOL_A2A_RESULT_TASK);
  assert_string_equal(a.state, "completed");
  assert_string_equal(a.task_id, "t9");
  assert_string_equal(a.text, "v1 reply");
  assert_non_null(strstr(fs.last_req, "\"method\":\"SendMessage\""));
  assert_non_null(strstr(fs.last_req, "A2A-Version: 1.0"));
  assert_non_null(strstr(fs.last_req, "Authorization: Bearer s3cret"));
}

/* ---- card -------------------------------------------------------------------------------- */

static void fetch_card(ares *a) {
  a->in_call = 1;
  assert_int_equal(mol_a2a_fetch_card(g.c, NULL, ar_done, a, NULL), 0);
  a->in_call = 0;
  ae_wait(&g, a);
}

static void test_card_fallback(void **state) {
  (void)state;
  sc.card_404 = 1;
  ares a = {0};
  fetch_card(&a);
  assert_int_equal(a.err, 0);
  assert_string_equal(a.card_name, "fake");
  assert_string_equal(a.rpc_url, "http://127.0.0.1:1/rpc");
  assert_non_null(strstr(fs.last_req, "GET /.well-known/agent.json"));
  assert_int_equal(fs.nrequests, 2);
}

static void test_card_missing(void **state) {
  (void)state;
  sc.card_404 = 2;
  ares a = {0};
  fetch_card(&a);
  assert_int_equal(a.err, MOL_EHTTP);
  assert_int_equal(a.http_status, 404);
}

static void test_card_v10_interface(void **state) {
  (void)state;
  ae_close_clients(&g);
  ae_client(&g, base_url, MOL_A2A_V10, NULL);
  ares a = {0};
  fetch_card(&a);
  assert_int_equal(a.err, 0);
  assert_string_equal(a.rpc_url, "http://127.0.0.1:1/v1");
  assert_non_null(strstr(fs.last_req, "A2A-Version: 1.0"));
}

/* ---- streams ----------------------------------------------------------------------------- */

static void test_stream_ok(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = EV_ART;
  sc.events[2] = EV_DONE;
  sc.events[3] = EV_ART; /* after the final event: dropped */
  sc.chunked = 1;
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.nev, 3);
  assert_int_equal(a.events, 3);
  assert_string_equal(a.text, "echo: hi");
  assert_string_equal(a.task_id, "t1");
  assert_non_null(strstr(fs.last_req, "Accept: text/event-stream"));
  assert_non_null(strstr(fs.last_req, "\"method\":\"message/stream\""));
}

static void test_stream_cut_chunked(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.chunked = 1;
  sc.end = END_CUT;
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_ECONNRESET);
  assert_int_equal(a.nev, 1);
  assert_non_null(strstr(a.detail, "after 1 events"));
}

static void test_stream_cut_close_delimited(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.end = END_CUT;
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
  assert_string_equal(a.detail, "the stream ended in the middle of an event");
}

static void test_stream_no_final(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = EV_ART;
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
  assert_int_equal(a.nev, 2);
  assert_string_equal(a.detail, "the stream ended before its final event");
}

static void test_stream_foreign_id(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = "data: {\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"kind\":\"status-update\","
                 "\"taskId\":\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":\"completed\"},"
                 "\"final\":true}}\n\n";
  sc.end = END_SILENT; /* the error must not wait for the end of the stream */
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_EBADRESP);
  assert_int_equal(a.nev, 1);
  assert_non_null(strstr(a.detail, "another request id"));
}

static void test_stream_bad_json_event(void **state) {
  (void)state;
  sc.events[0] = "data: {not json\n\n";
  sc.end = END_SILENT;
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_EJSON);
  assert_int_equal(a.nev, 0);
}

static void test_stream_error_event(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = "event: error\ndata: {\"jsonrpc\":\"2.0\",\"id\":$ID,\"error\":{\"code\":-32004,"
                 "\"message\":\"nope\"}}\n\n";
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, -32004);
  assert_string_equal(a.rpc_message, "nope");
  assert_int_equal(a.nev, 1);
}

static void test_stream_plain_json_error(void **state) {
  (void)state;
  sc.body = "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"error\":{\"code\":-32602,\"message\":\"bad\"}}";
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, -32602);
  assert_int_equal(a.nev, 0);
}

static void test_stream_http_500(void **state) {
  (void)state;
  sc.status = 500;
  sc.ctype = "text/html";
  sc.body = "<h1>oops</h1>";
  ares a = {0};
  stream_one(&a, NULL);
  assert_int_equal(a.err, MOL_EHTTP);
  assert_int_equal(a.http_status, 500);
}

static void cancel_after_first(ares *a) {
  json_t *m = ae_msg("hi");
  assert_int_equal(mol_a2a_stream(g.c, m, NULL, ar_event, ar_done, a, &a->call), 0);
  json_decref(m);
  ae_run_until(&g, &a->nev, 1, 5000);
  a->in_call = 1;
  mol_a2a_client_cancel(a->call);
  a->in_call = 0;
  ae_wait(&g, a);
}

static void test_stream_cancel_mid_stream(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.end = END_SILENT;
  ares a = {0};
  cancel_after_first(&a);
  assert_int_equal(a.err, MOL_ECANCELED);
  assert_int_equal(a.nev, 1);
}

static void test_stream_cancel_while_paused(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = EV_ART;
  sc.events[2] = EV_DONE;
  ares a = {.pause_each = 1};
  cancel_after_first(&a);
  assert_int_equal(a.err, MOL_ECANCELED);
  assert_int_equal(a.nev, 1);
}

/* Paused with the whole stream already received: the deadline still ends the call. */
static void test_stream_deadline_while_paused(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.events[1] = EV_ART;
  sc.events[2] = EV_DONE;
  ares a = {.pause_each = 1};
  mol_a2a_call_opts o = {.timeout_ms = 300};
  stream_one(&a, &o);
  assert_int_equal(a.err, MOL_ETIMEDOUT);
  assert_int_equal(a.nev, 1);
}

static void test_stream_deadline(void **state) {
  (void)state;
  sc.events[0] = EV_TASK;
  sc.end = END_SILENT;
  ares a = {0};
  mol_a2a_call_opts o = {.timeout_ms = 250};
  stream_one(&a, &o);
  assert_int_equal(a.err, MOL_ETIMEDOUT);
  assert_int_equal(a.nev, 1);
}

static void test_resubscribe_snapshot(void **state) {
  (void)state;
  sc.events[0] = "data: {\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"kind\":\"task\",\"id\":"
                 "\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":\"completed\"},\"artifacts\":"
                 "[{\"artifactId\":\"a\",\"parts\":[{\"kind\":\"text\",\"text\":\"old\"}]}]}}\n\n";
  ares a = {0};
  assert_int_equal(mol_a2a_resubscribe(g.c, "t1", NULL, ar_event, ar_done, &a, NULL), 0);
  ae_wait(&g, &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.nev, 1);
  assert_string_equal(a.text, "old");
  assert_non_null(strstr(fs.last_req, "\"method\":\"tasks/resubscribe\""));
}

/* ---- client close ------------------------------------------------------------------------ */

static void test_close_with_calls_in_flight(void **state) {
  (void)state;
  sc.silent = 1;
  ares a = {0}, b = {0};
  json_t *m = ae_msg("hi");
  assert_int_equal(mol_a2a_send(g.c, m, NULL, ar_done, &a, NULL), 0);
  assert_int_equal(mol_a2a_stream(g.c, m, NULL, ar_event, ar_done, &b, NULL), 0);
  json_decref(m);
  ae_run_for(&g, 30);
  int closed = 0;
  mol_a2a_client_close(g.c, ae_on_closed, &closed);
  g.c = NULL;
  assert_int_equal(a.calls + b.calls + closed, 0); /* nothing inside the close call */
  ae_run_until(&g, &closed, 1, 5000);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.err, MOL_ESHUTDOWN);
  assert_int_equal(b.err, MOL_ESHUTDOWN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_rpc_error_string_id), T(test_rpc_error_foreign_number_id),
      T(test_rpc_error_null_id), T(test_malformed_json), T(test_not_jsonrpc),
      T(test_result_foreign_id), T(test_result_wrong_kind), T(test_message_result),
      T(test_send_options), T(test_http_500), T(test_http_500_with_rpc_error), T(test_deadline),
      T(test_cancel_unary), T(test_bad_arguments), T(test_v10_request),
      T(test_card_fallback), T(test_card_missing), T(test_card_v10_interface),
      T(test_stream_ok), T(test_stream_cut_chunked), T(test_stream_cut_close_delimited),
      T(test_stream_no_final), T(test_stream_foreign_id), T(test_stream_bad_json_event),
      T(test_stream_error_event), T(test_stream_plain_json_error), T(test_stream_http_500),
      T(test_stream_cancel_mid_stream), T(test_stream_cancel_while_paused),
      T(test_stream_deadline_while_paused), T(test_stream_deadline),
      T(test_resubscribe_snapshot), T(test_close_with_calls_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
