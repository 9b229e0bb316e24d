/* The task store's memory budget over real sockets: a client that sends with blocking:false
 * and polls tasks/get finds its task long after the old 1024-task cap would have dropped it;
 * a small budget evicts the task that ended first, first, never a task a turn still works on,
 * and counts each eviction. A blocking send is answered even when its task's listener bound is
 * taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"

/* ---- an executor that keeps "hold" turns until the test lets them go ------------------------ */

static mol_a2a_turn *held[4];
static int n_held;

static int hold_execute(void *self, mol_a2a_turn *t) {
  (void)self;
  if (strncmp(mol_a2a_turn_text(t), "hold", 4) != 0) return mol_a2a_turn_reply_text(t, "done");
  held[n_held++] = t;
  return mol_a2a_turn_working(t, NULL);
}

static mol_a2a_turn *late_cancel; /* a "hold late" turn asked to stop: the test ends it */

static void hold_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  if (strncmp(mol_a2a_turn_text(t), "hold late", 9) == 0) {
    late_cancel = t;
    return;
  }
  for (int i = 0; i < n_held; i++)
    if (held[i] == t) held[i] = NULL;
  mol_a2a_turn_canceled(t);
}

static mol_a2a_executor hold_ex = {.name = "hold", .execute = hold_execute, .cancel = hold_cancel};

enum { M_DEFAULT, M_SMALL, M_ONE_LISTENER };
static const char *const prefix[] = {"/default", "/small", "/one-listener"};
#define SMALL_BUDGET (16 * 1024) /* about fifteen tasks */

static void mount(int m, const mol_a2a_store_opts *store) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix[m]);
  mol_a2a_card card = {.name = "budget", .description = "test agent", .url = url, .streaming = 1};
  /* A tasks/cancel waits for its task to end no longer than the client waits for an answer:
   * an answer that only the wait timer could give arrives too late to pass. */
  mol_a2a_server_opts o = {.card = &card, .executor = &hold_ex, .prefix = prefix[m],
                           .store = *store, .cancel_wait_ms = 60000};
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]), 0);
}

static int setup(void **state) {
  (void)state;
  h_setup_base();
  mol_a2a_store_opts dflt = {0}, small = {.max_bytes = SMALL_BUDGET}, one = {.max_listeners = 1};
  mount(M_DEFAULT, &dflt);
  mount(M_SMALL, &small);
  mount(M_ONE_LISTENER, &one);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  return 0;
}

static mol_a2a_server_stats stats(int m) {
  mol_a2a_server_stats st;
  mol_a2a_server_stats_get(H.a2a[m], &st);
  return st;
}

/* ---- requests ------------------------------------------------------------------------------- */

/* The body of a non-blocking message/send, shaped like what Molecule callers send. */
static void send_body(char *out, size_t cap, int n, const char *text) {
  snprintf(out, cap, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"message/send\",\"params\":{"
           "\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\",\"messageId\":"
           "\"m-%d\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}", n, n, text);
}

/* Sends `count` non-blocking messages, `window` at a time, and stores each task id. */
static void send_many(int m, int count, const char *text, char (*ids)[40]) {
  enum { WINDOW = 32 };
  h_resp r[WINDOW];
  char body[512];
  for (int base = 0; base < count; base += WINDOW) {
    int k = count - base < WINDOW ? count - base : WINDOW;
    for (int i = 0; i < k; i++) {
      send_body(body, sizeof(body), base + i, text);
      h_start("POST", prefix[m], body, NULL, NULL, &r[i]);
    }
    for (int i = 0; i < k; i++) {
      h_wait(&r[i]);
      json_t *v = json_loads(r[i].body, 0, NULL);
      const char *id = json_string_value(json_object_get(json_object_get(v, "result"), "id"));
      if (!id) fail_msg("send %d: %s", base + i, r[i].body);
      snprintf(ids[base + i], sizeof(*ids), "%s", id);
      json_decref(v);
      h_free(&r[i]);
    }
  }
}

/* tasks/get: the task's state name, or "-32001" (any other answer fails the test). */
static const char *task_state(int m, const char *id, char *out, size_t cap) {
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\"}}", id);
  json_t *v = h_rpc(prefix[m], body, NULL);
  json_t *res = json_object_get(v, "result");
  if (res) {
    snprintf(out, cap, "%s", json_string_value(json_object_get(json_object_get(res, "status"), "state")));
  } else {
    json_int_t code = json_integer_value(json_object_get(json_object_get(v, "error"), "code"));
    if (code != -32001) fail_msg("tasks/get %s: unexpected error %lld", id, (long long)code);
    snprintf(out, cap, "-32001");
  }
  json_decref(v);
  return out;
}

/* ---- tests ---------------------------------------------------------------------------------- */

#define MANY 3000 /* the old store kept 1024 tasks */

static void early_task_still_readable_after_many_sends(void **state) {
  (void)state;
  static char ids[MANY][40];
  char st[32];
  send_many(M_DEFAULT, MANY, "Summarise the quarterly report and list the three biggest risks.", ids);
  assert_string_equal(task_state(M_DEFAULT, ids[0], st, sizeof(st)), "completed");
  assert_string_equal(task_state(M_DEFAULT, ids[MANY / 2], st, sizeof(st)), "completed");
  mol_a2a_server_stats s = stats(M_DEFAULT);
  assert_int_equal(s.tasks, MANY);
  assert_int_equal(s.tasks_evicted, 0);
  /* What docs/a2a.md promises: 64 MiB keeps 60,000 such tasks (a minute at 1,000 turns/s),
   * so one may be charged at most 64 MiB / 60,000 bytes. Reading tasks must not grow them. */
  assert_true(s.task_bytes / s.tasks <= MOL_A2A_STORE_DEFAULT_BYTES / 60000);
  size_t before = s.task_bytes;
  for (int i = 0; i < 100; i++) task_state(M_DEFAULT, ids[i], st, sizeof(st));
  assert_int_equal(stats(M_DEFAULT).task_bytes, before);
}

static void small_budget_evicts_oldest_terminal_first(void **state) {
  (void)state;
  char st[32];
  static char live[1][40], ids[64][40];
  send_many(M_SMALL, 1, "hold on", live);               /* a turn still works on this one */
  send_many(M_SMALL, 8, "first", ids);                  /* terminal, in this order */
  assert_int_equal(stats(M_SMALL).tasks_evicted, 0);
  int sent = 8;
  while (stats(M_SMALL).tasks_evicted == 0) {           /* fill the budget */
    assert_true(sent < 64);
    send_many(M_SMALL, 1, "more", ids + sent++);
  }
  mol_a2a_server_stats s = stats(M_SMALL);
  assert_true(s.task_bytes <= SMALL_BUDGET);
  /* Exactly the oldest terminal ones went; the live task, older than all of them, stayed. */
  assert_string_equal(task_state(M_SMALL, live[0], st, sizeof(st)), "working");
  for (int i = 0; i < sent; i++)
    assert_string_equal(task_state(M_SMALL, ids[i], st, sizeof(st)),
                        (unsigned long long)i < s.tasks_evicted ? "-32001" : "completed");
  /* Each further task evicts one more, in order, and the counter follows. */
  for (int k = 1; k <= 3; k++) {
    send_many(M_SMALL, 1, "more", ids + sent++);
    assert_int_equal(stats(M_SMALL).tasks_evicted, s.tasks_evicted + (unsigned long long)k);
    assert_string_equal(task_state(M_SMALL, ids[s.tasks_evicted + k - 1], st, sizeof(st)), "-32001");
    assert_string_equal(task_state(M_SMALL, ids[s.tasks_evicted + k], st, sizeof(st)), "completed");
  }
  assert_string_equal(task_state(M_SMALL, live[0], st, sizeof(st)), "working");
  /* Once its turn ends, the formerly live task is the newest terminal one: evicted last. */
  assert_int_equal(n_held, 1);
  mol_a2a_turn_reply_text(held[0], "let go");
  assert_string_equal(task_state(M_SMALL, live[0], st, sizeof(st)), "completed");
  unsigned long long evicted = stats(M_SMALL).tasks_evicted;
  send_many(M_SMALL, 1, "more", ids + sent++);
  assert_true(stats(M_SMALL).tasks_evicted > evicted); /* its reply made it larger: maybe 2 */
  assert_string_equal(task_state(M_SMALL, live[0], st, sizeof(st)), "completed");
}

/* A blocking message/send is answered by its own turn, not by listening to its task: with the
 * task's one listener taken by a stream, a send that continues the task still gets the Task. */
static void blocking_send_answered_past_the_listener_bound(void **state) {
  (void)state;
  n_held = 0;
  h_resp stream, send;
  char body[640];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/stream\","
           "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"s-1\",\"parts\":"
           "[{\"kind\":\"text\",\"text\":\"hold the stream\"}]}}}");
  h_start("POST", prefix[M_ONE_LISTENER], body, NULL, NULL, &stream);
  while (n_held < 1) uv_run(&H.loop, UV_RUN_ONCE);
  char tid[64];
  snprintf(tid, sizeof(tid), "%s", mol_a2a_turn_task_id(held[0]));
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\","
           "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"s-2\",\"taskId\":\"%s\","
           "\"parts\":[{\"kind\":\"text\",\"text\":\"hold the send\"}]}}}", tid);
  h_start("POST", prefix[M_ONE_LISTENER], body, NULL, NULL, &send);
  while (n_held < 2) uv_run(&H.loop, UV_RUN_ONCE);
  mol_a2a_turn_complete(held[1], "done"); /* the task completes; the stream's turn is canceled */
  h_wait(&send);
  assert_int_equal(send.err, 0);
  json_t *v = json_loads(send.body, 0, NULL);
  json_t *res = json_object_get(v, "result");
  if (!res) fail_msg("message/send: %s", send.body);
  assert_string_equal(json_string_value(json_object_get(res, "kind")), "task");
  assert_string_equal(json_string_value(json_object_get(res, "id")), tid);
  assert_string_equal(json_string_value(json_object_get(json_object_get(res, "status"), "state")),
                      "completed");
  json_decref(v);
  h_wait(&stream); /* the stream ended with the task's final status */
  assert_int_equal(stream.err, 0);
  assert_non_null(strstr(stream.body, "\"final\":true"));
  h_free(&send);
  h_free(&stream);
}

/* Starts a stream whose turn the test holds: it takes the task's one listener. Returns the
 * task id in tid. */
static void hold_a_stream(const char *text, h_resp *stream, char *tid, size_t cap) {
  n_held = 0;
  char body[320];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/stream\","
           "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"h-1\",\"parts\":"
           "[{\"kind\":\"text\",\"text\":\"%s\"}]}}}", text);
  h_start("POST", prefix[M_ONE_LISTENER], body, NULL, NULL, stream);
  while (n_held < 1) uv_run(&H.loop, UV_RUN_ONCE);
  snprintf(tid, cap, "%s", mol_a2a_turn_task_id(held[0]));
}

/* A resubscribe that cannot listen to its task says so at once, as a JSON-RPC error, instead
 * of opening a stream that would never carry an event. */
static void resubscribe_past_the_listener_bound_is_an_error(void **state) {
  (void)state;
  h_resp stream, resub;
  char tid[64], body[256];
  hold_a_stream("hold the stream", &stream, tid, sizeof(tid));
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/resubscribe\","
           "\"params\":{\"id\":\"%s\"}}", tid);
  h_req("POST", prefix[M_ONE_LISTENER], body, NULL, NULL, &resub);
  assert_int_equal(resub.err, 0);
  assert_string_equal(resub.ctype, "application/json");
  json_t *v = json_loads(resub.body, 0, NULL);
  json_t *err = json_object_get(v, "error");
  if (!err) fail_msg("tasks/resubscribe: %s", resub.body);
  assert_int_equal(json_integer_value(json_object_get(err, "code")), -32603);
  assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "listeners"));
  json_decref(v);
  mol_a2a_turn_complete(held[0], "done");
  h_wait(&stream);
  assert_non_null(strstr(stream.body, "\"final\":true"));
  h_free(&resub);
  h_free(&stream);
}

/* A tasks/cancel that cannot listen to its task answers with the task as the cancel left it,
 * at once: no wait that only a timer could end (a timer that would outlive a closing server).
 * The executor here stops later than the cancel asks. */
static void cancel_past_the_listener_bound_answers_at_once(void **state) {
  (void)state;
  h_resp stream, cancel;
  char tid[64], body[256];
  late_cancel = NULL;
  hold_a_stream("hold late", &stream, tid, sizeof(tid));
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/cancel\","
           "\"params\":{\"id\":\"%s\"}}", tid);
  h_req("POST", prefix[M_ONE_LISTENER], body, NULL, NULL, &cancel);
  assert_int_equal(cancel.err, 0);
  json_t *v = json_loads(cancel.body, 0, NULL);
  json_t *res = json_object_get(v, "result");
  if (!res) fail_msg("tasks/cancel: %s", cancel.body);
  assert_string_equal(json_string_value(json_object_get(res, "id")), tid);
  assert_string_equal(json_string_value(json_object_get(json_object_get(res, "status"), "state")),
                      "working"); /* asked to stop, not stopped yet */
  json_decref(v);
  assert_non_null(late_cancel);
  mol_a2a_turn_canceled(late_cancel);
  h_wait(&stream);
  assert_non_null(strstr(stream.body, "\"canceled\""));
  assert_non_null(strstr(stream.body, "\"final\":true"));
  h_free(&cancel);
  h_free(&stream);
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(early_task_still_readable_after_many_sends),
    cmocka_unit_test(small_budget_evicts_oldest_terminal_first),
    cmocka_unit_test(blocking_send_answered_past_the_listener_bound),
    cmocka_unit_test(resubscribe_past_the_listener_bound_is_an_error),
    cmocka_unit_test(cancel_past_the_listener_bound_answers_at_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
