/* What docs/a2a.md promises, end to end over loopback:
 *  - tasks/cancel waits a bounded time for an executor that does not stop, then answers with
 *    the task as it is; the turn still ends later and is recorded;
 *  - ListTasks pages with pageSize / nextPageToken / totalSize and filters by contextId and
 *    status;
 *  - a client that goes away in the middle of a blocking message/send loses nothing on the
 *    server: the turn runs to its end and the task is readable afterwards;
 *  - finished tasks expire after terminal_ttl_ms through the server's sweep, running ones
 *    never do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"

/* ---- an executor whose turns the test ends; cancel is heard but not obeyed --------------- */

static mol_a2a_turn *held[16];
static int n_held, cancels_heard;

static int hold_execute(void *self, mol_a2a_turn *t) {
  (void)self;
  if (strncmp(mol_a2a_turn_text(t), "hold", 4) != 0) return mol_a2a_turn_reply_text(t, "done");
  held[n_held++] = t;
  return mol_a2a_turn_working(t, NULL);
}

static void stubborn_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  (void)t;
  cancels_heard++;
}

static mol_a2a_executor hold_ex = {.name = "hold", .execute = hold_execute,
                                   .cancel = stubborn_cancel};

/* The store's clock, moved by the test. */
static int64_t now_ms = 1000000;
static int64_t test_clock(void *arg) {
  (void)arg;
  return now_ms;
}

#define CANCEL_WAIT_MS 100
#define TTL_MS 60000

static int setup(void **state) {
  (void)state;
  h_setup_base();
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", H.port);
  mol_a2a_card card = {.name = "documented", .description = "test agent", .url = url,
                       .streaming = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = &hold_ex, .cancel_wait_ms = CANCEL_WAIT_MS,
                           .sweep_interval_ms = 10,
                           .store = {.terminal_ttl_ms = TTL_MS, .clock = test_clock}};
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < n_held; i++)
    if (held[i]) mol_a2a_turn_canceled(held[i]);
  h_teardown();
  return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static json_t *rpc(const char *body, const char *version) {
  json_t *v = h_rpc("/", body, version);
  if (!v) fail_msg("no JSON answer to %s", body);
  return v;
}

static const char *str_at(json_t *v, const char *a, const char *b, const char *c) {
  json_t *x = json_object_get(v, a);
  if (b) x = json_object_get(x, b);
  if (c) x = json_object_get(x, c);
  return json_string_value(x);
}

/* A non-blocking send in context ctx; returns the new task's id in id. */
static void send_in(const char *ctx, const char *text, char *id, size_t cap) {
  static int sent;
  char body[512];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\","
           "\"params\":{\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\","
           "\"messageId\":\"m-%d\",\"contextId\":\"%s\",\"parts\":[{\"kind\":\"text\","
           "\"text\":\"%s\"}]}}}", ++sent, ctx, text);
  json_t *v = rpc(body, NULL);
  const char *tid = str_at(v, "result", "id", NULL);
  if (!tid) fail_msg("send: %s", json_dumps(v, 0));
  snprintf(id, cap, "%s", tid ? tid : "");
  json_decref(v);
}

static const char *state_of(const char *id, char *out, size_t cap) {
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\","
           "\"params\":{\"id\":\"%s\"}}", id);
  json_t *v = rpc(body, NULL);
  const char *s = str_at(v, "result", "status", "state");
  if (s) snprintf(out, cap, "%s", s);
  else snprintf(out, cap, "%lld",
                (long long)json_integer_value(json_object_get(json_object_get(v, "error"), "code")));
  json_decref(v);
  return out;
}

static void run_ms(unsigned ms) {
  uint64_t until = uv_now(&H.loop) + ms;
  while (uv_now(&H.loop) < until) uv_run(&H.loop, UV_RUN_ONCE);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void cancel_wait_is_bounded(void **state) {
  (void)state;
  char id[64], st[32], body[256];
  int first = n_held;
  send_in("ctx-cancel", "hold me", id, sizeof(id));
  assert_int_equal(n_held, first + 1);
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/cancel\","
           "\"params\":{\"id\":\"%s\"}}", id);
  uint64_t t0 = uv_now(&H.loop);
  json_t *v = rpc(body, NULL);
  assert_true(uv_now(&H.loop) - t0 >= CANCEL_WAIT_MS); /* it did wait for the executor */
  assert_int_equal(cancels_heard, 1);
  assert_string_equal(str_at(v, "result", "id", NULL), id);
  assert_string_equal(str_at(v, "result", "status", "state"), "working");
  json_decref(v);
  /* The executor stops in its own time; the task records it. */
  mol_a2a_turn_canceled(held[first]);
  held[first] = NULL;
  assert_string_equal(state_of(id, st, sizeof(st)), "canceled");
}

static void list_tasks_pages_and_filters(void **state) {
  (void)state;
  char ids[5][64], other[64], body[512];
  for (int i = 0; i < 5; i++) send_in("ctx-list", "quick", ids[i], sizeof(ids[i]));
  send_in("ctx-other", "hold on", other, sizeof(other));
  char token[32] = "";
  int seen = 0, pages = 0;
  do {
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ListTasks\","
             "\"params\":{\"contextId\":\"ctx-list\",\"pageSize\":2%s%s%s}}",
             *token ? ",\"pageToken\":\"" : "", token, *token ? "\"" : "");
    json_t *v = rpc(body, "1.0");
    json_t *res = json_object_get(v, "result");
    if (!res) fail_msg("ListTasks: %s", json_dumps(v, 0));
    assert_int_equal(json_integer_value(json_object_get(res, "totalSize")), 5);
    json_t *tasks = json_object_get(res, "tasks");
    assert_true(json_array_size(tasks) <= 2);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
      assert_string_equal(json_string_value(json_object_get(t, "contextId")), "ctx-list");
      int known = 0;
      for (int k = 0; k < 5; k++) known |= strcmp(json_string_value(json_object_get(t, "id")), ids[k]) == 0;
      assert_true(known);
      seen++;
    }
    const char *next = str_at(res, "nextPageToken", NULL, NULL);
    snprintf(token, sizeof(token), "%s", next ? next : "");
    pages++;
    json_decref(v);
  } while (*token && pages < 10);
  assert_int_equal(seen, 5);
  assert_int_equal(pages, 3);
  /* status filter: the held task is the only working one in its context */
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ListTasks\","
           "\"params\":{\"contextId\":\"ctx-other\",\"status\":\"TASK_STATE_WORKING\"}}");
  json_t *v = rpc(body, "1.0");
  json_t *tasks = json_object_get(json_object_get(v, "result"), "tasks");
  assert_int_equal(json_array_size(tasks), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tasks, 0), "id")), other);
  json_decref(v);
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ListTasks\","
           "\"params\":{\"contextId\":\"ctx-list\",\"status\":\"TASK_STATE_WORKING\"}}");
  v = rpc(body, "1.0");
  assert_int_equal(json_array_size(json_object_get(json_object_get(v, "result"), "tasks")), 0);
  json_decref(v);
  mol_a2a_turn_complete(held[n_held - 1], "ok");
  held[n_held - 1] = NULL;
}

static void client_gone_mid_send_loses_nothing(void **state) {
  (void)state;
  char body[512], st[32];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\","
           "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"gone-1\","
           "\"parts\":[{\"kind\":\"text\",\"text\":\"hold while I leave\"}]}}}");
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", H.port);
  h_resp o = {0};
  mol_http_header hdr = {"Content-Type", "application/json"};
  mol_http_request_opts ro = {.method = "POST", .url = url, .headers = &hdr, .nheaders = 1,
                              .body = body, .body_len = strlen(body), .total_timeout_ms = 10000};
  mol_http_request *req;
  int first = n_held;
  assert_int_equal(mol_http_request_send(H.client, &ro, h_done, &o, &req), 0);
  while (n_held == first) uv_run(&H.loop, UV_RUN_ONCE);
  mol_a2a_turn *t = held[first];
  char id[64];
  snprintf(id, sizeof(id), "%s", mol_a2a_turn_task_id(t));
  mol_http_request_cancel(req); /* the client goes away; its connection closes */
  h_wait(&o);
  assert_int_equal(o.err, MOL_ECANCELED);
  run_ms(50);                   /* the server sees the connection go */
  mol_a2a_server_stats st1;
  mol_a2a_server_stats_get(H.a2a[0], &st1);
  assert_int_equal(st1.live_turns, 1);  /* the turn goes on */
  assert_int_equal(cancels_heard, 1);   /* a gone client is not a cancel (only the earlier one) */
  assert_int_equal(mol_a2a_turn_reply_text(t, "finished anyway"), 0);
  held[first] = NULL;
  assert_string_equal(state_of(id, st, sizeof(st)), "completed");
  h_free(&o);
}

static void finished_tasks_expire_running_ones_do_not(void **state) {
  (void)state;
  char done[64], running[64], st[32];
  send_in("ctx-ttl", "quick", done, sizeof(done));
  send_in("ctx-ttl", "hold on", running, sizeof(running));
  assert_string_equal(state_of(done, st, sizeof(st)), "completed");
  now_ms += TTL_MS - 1;
  run_ms(40); /* several sweeps */
  assert_string_equal(state_of(done, st, sizeof(st)), "completed");
  now_ms += 2;
  for (int i = 0; i < 100 && strcmp(state_of(done, st, sizeof(st)), "-32001") != 0; i++) run_ms(10);
  assert_string_equal(st, "-32001");
  now_ms += 10 * TTL_MS;
  run_ms(40);
  assert_string_equal(state_of(running, st, sizeof(st)), "working");
  mol_a2a_turn_complete(held[n_held - 1], "ok");
  held[n_held - 1] = NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(cancel_wait_is_bounded),
    cmocka_unit_test(list_tasks_pages_and_filters),
    cmocka_unit_test(client_gone_mid_send_loses_nothing),
    cmocka_unit_test(finished_tasks_expire_running_ones_do_not),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
