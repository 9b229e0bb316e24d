/* test_devplatform_queue.c - the dev platform's busy queue end to end over loopback: a queued
 * call whose drain fails (the target still busy, or an error answer) goes back to the queue and
 * is sent again, the same body, at the next heartbeat with spare capacity; after five failed
 * attempts the queue gives up on it; a drain that succeeds completes it. And a call whose
 * answer is cut after its status line is a 502 that says the call was delivered
 * (delivery_confirmed), never a retry of it.
 *
 * The queue's state is read from the platform's SQLite file by a second connection: a drain
 * ends (and its outcome is committed) in the same loop iteration, so the row is the readiness
 * signal and the assertion at once. */
#include <sqlite3.h>

#include "http_fake_server.h"
#include "test_devplatform_util.h"

typedef struct {
  char status[16];
  int attempts;
  char last_error[128];
} qrow;

/* The queue row of the call with messageId msgid; status "" when there is none. */
static qrow queue_row(env *e, const char *msgid) {
  qrow q = {.attempts = -1};
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(e->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT status, attempts, last_error FROM a2a_queue"
                                      " WHERE idempotency_key = ?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, msgid, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) {
    snprintf(q.status, sizeof q.status, "%s", (const char *)sqlite3_column_text(st, 0));
    q.attempts = sqlite3_column_int(st, 1);
    const unsigned char *err = sqlite3_column_text(st, 2);
    snprintf(q.last_error, sizeof q.last_error, "%s", err ? (const char *)err : "");
  }
  assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* one row per pending messageId */
  sqlite3_finalize(st);
  sqlite3_close(db);
  return q;
}

static int queue_count(env *e) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(e->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM a2a_queue", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void on_tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until the row of msgid has this status and attempt count. */
static qrow wait_row(env *e, const char *msgid, const char *status, int attempts) {
  uv_timer_t tick; /* wakes the loop so that a row that never changes fails the wait */
  uv_timer_init(&e->loop, &tick);
  uv_timer_start(&tick, on_tick, 50, 50);
  uint64_t give_up = mol_mono_ms() + 30000;
  qrow q = queue_row(e, msgid);
  while ((strcmp(q.status, status) || q.attempts != attempts) && mol_mono_ms() < give_up) {
    uv_run(&e->loop, UV_RUN_ONCE);
    q = queue_row(e, msgid);
  }
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&e->loop, UV_RUN_NOWAIT);
  if (strcmp(q.status, status) || q.attempts != attempts)
    print_error("queue row of %s: %s after %d attempt(s), waited for %s after %d\n", msgid,
                q.status, q.attempts, status, attempts);
  assert_string_equal(q.status, status);
  assert_int_equal(q.attempts, attempts);
  return q;
}

typedef struct {
  env e;
  responder agent;
  char A[64], B[64], tokA[64], tokB[64];
  char a2a_b[128];
} fixture;

/* A (poll mode, the caller) and B (push mode at url, or at the responder when url is NULL). */
static void fixture_start(fixture *f, int mode, const char *url) {
  env_start(&f->e, 1);
  f->e.opts.idle_timeout_s = 1; /* a hung answer makes the call busy after 1 s */
  env_open(&f->e);
  responder_start(&f->e, &f->agent, mode);
  snprintf(f->A, 64, "%s", create_ws(&f->e, NULL, "alpha", NULL));
  snprintf(f->B, 64, "%s", create_ws(&f->e, NULL, "beta", NULL));
  snprintf(f->tokA, 64, "%s", register_ws(&f->e, f->A, "remote://no-inbound", NULL));
  snprintf(f->tokB, 64, "%s", register_ws(&f->e, f->B, url ? url : f->agent.url, NULL));
  snprintf(f->a2a_b, sizeof f->a2a_b, "/workspaces/%s/a2a", f->B);
}

static void fixture_stop(fixture *f) {
  responder_stop(&f->e, &f->agent);
  env_stop(&f->e);
}

static void message_body(char *out, size_t cap, const char *msgid) {
  snprintf(out, cap,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"messageId\":\"%s\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\","
           "\"text\":\"later\"}]}}}",
           msgid);
}

/* B hangs: the call is queued (202) under its messageId. */
static void queue_one(fixture *f, const char *msgid) {
  char body[512];
  message_body(body, sizeof body, msgid);
  json_t *j = expect(&f->e, 202, "POST", f->a2a_b, f->tokA, f->A, body);
  assert_true(json_is_true(json_object_get(j, "queued")));
  json_decref(j);
  qrow q = queue_row(&f->e, msgid);
  assert_string_equal(q.status, "queued");
  assert_int_equal(q.attempts, 0);
}

/* What B was last sent carries msgid: the queued call itself, not another. */
static void assert_last_forwarded(fixture *f, const char *msgid) {
  json_t *fwd = json_loads(f->agent.last_body, 0, NULL);
  assert_non_null(fwd);
  json_t *m = json_object_get(json_object_get(fwd, "params"), "message");
  assert_string_equal(json_string_value(json_object_get(m, "messageId")), msgid);
  assert_string_equal(json_string_value(json_object_get(fwd, "method")), "message/send");
  json_decref(fwd);
}

static void test_requeue_then_give_up(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, NULL);
  queue_one(&f, "q-give-up");
  int sent = f.agent.received;
  /* attempt 1: B still busy (its answer hangs past the idle timeout): back to the queue */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  qrow q = wait_row(&f.e, "q-give-up", "queued", 1);
  assert_string_equal(q.last_error, "agent busy");
  assert_int_equal(f.agent.received, sent + 1);
  assert_last_forwarded(&f, "q-give-up");
  /* attempts 2-4: B answers 500: back to the queue each time, sent again each time */
  f.agent.mode = R_ERR500;
  for (int attempt = 2; attempt <= 4; attempt++) {
    heartbeat(&f.e, f.B, f.tokB, NULL);
    q = wait_row(&f.e, "q-give-up", "queued", attempt);
    assert_string_equal(q.last_error, "Internal Server Error");
    assert_int_equal(f.agent.received, sent + attempt);
    assert_last_forwarded(&f, "q-give-up");
  }
  /* attempt 5 fails too: the queue gives up */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  wait_row(&f.e, "q-give-up", "failed", 5);
  assert_int_equal(f.agent.received, sent + 5);
  /* B is free now, but a given-up call is never sent again: the heartbeat's answer leaves
   * after its transaction, in which a drain would have claimed the row */
  f.agent.mode = R_ECHO;
  heartbeat(&f.e, f.B, f.tokB, NULL);
  q = queue_row(&f.e, "q-give-up");
  assert_string_equal(q.status, "failed");
  assert_int_equal(q.attempts, 5);
  assert_int_equal(f.agent.received, sent + 5);
  fixture_stop(&f);
}

static void test_requeue_then_complete(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, NULL);
  queue_one(&f, "q-complete");
  int sent = f.agent.received;
  /* a heartbeat at full capacity drains nothing */
  char busy[256];
  snprintf(busy, sizeof busy, "{\"workspace_id\":\"%s\",\"active_tasks\":1}", f.B);
  expect_drop(&f.e, 200, "POST", "/registry/heartbeat", f.tokB, NULL, busy);
  assert_string_equal(queue_row(&f.e, "q-complete").status, "queued");
  f.agent.mode = R_ERRSTR;
  heartbeat(&f.e, f.B, f.tokB, NULL);
  qrow q = wait_row(&f.e, "q-complete", "queued", 1);
  assert_string_equal(q.last_error, "agent says no");
  f.agent.mode = R_ECHO;
  heartbeat(&f.e, f.B, f.tokB, NULL);
  wait_row(&f.e, "q-complete", "completed", 1);
  assert_int_equal(f.agent.received, sent + 2);
  assert_last_forwarded(&f, "q-complete");
  /* completed once: the next heartbeat finds nothing to send */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  assert_string_equal(queue_row(&f.e, "q-complete").status, "completed");
  assert_int_equal(f.agent.received, sent + 2);
  fixture_stop(&f);
}

/* An agent whose answer stops after the status line and part of the body. */
static const char CUT_ANSWER[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"res";

static void test_cut_answer_is_502_delivery_confirmed(void **state) {
  (void)state;
  fixture f;
  fake_server cut;
  env_start(&f.e, 1);
  assert_int_equal(fs_start(&cut, &f.e.loop, fs_canned, "127.0.0.1"), 0);
  cut.canned = CUT_ANSWER;
  cut.close_after = 1;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/a2a", cut.port);
  f.e.opts.idle_timeout_s = 300;
  env_open(&f.e);
  responder_start(&f.e, &f.agent, R_ECHO);
  snprintf(f.A, 64, "%s", create_ws(&f.e, NULL, "alpha", NULL));
  snprintf(f.B, 64, "%s", create_ws(&f.e, NULL, "beta", NULL));
  snprintf(f.tokA, 64, "%s", register_ws(&f.e, f.A, "remote://no-inbound", NULL));
  snprintf(f.tokB, 64, "%s", register_ws(&f.e, f.B, url, NULL));
  snprintf(f.a2a_b, sizeof f.a2a_b, "/workspaces/%s/a2a", f.B);
  json_t *j = expect(&f.e, 502, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "error")),
                      "failed to read agent response");
  assert_true(json_is_true(json_object_get(j, "delivery_confirmed")));
  json_decref(j);
  assert_int_equal(cut.nrequests, 1);
  assert_non_null(strstr(cut.last_req, "\"text\":\"hello\""));
  /* delivered: not queued for a second delivery */
  assert_int_equal(queue_count(&f.e), 0);
  /* B's activity records the call as an error with the reason */
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/activity", f.B);
  j = expect(&f.e, 200, "GET", path, f.tokB, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  json_t *row = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(row, "activity_type")), "a2a_receive");
  assert_string_equal(json_string_value(json_object_get(row, "status")), "error");
  assert_string_equal(json_string_value(json_object_get(row, "error_detail")),
                      "failed to read agent response");
  json_decref(j);
  fs_stop(&cut);
  fixture_stop(&f);
}

/* A queued call drained into an answer cut after its status line was delivered, but its reply
 * is lost: it stays in the queue (at least once) with the reason, like any failed drain. */
static void test_cut_answer_to_a_drain_requeues(void **state) {
  (void)state;
  fixture f;
  fake_server cut;
  fixture_start(&f, R_HANG, NULL);
  queue_one(&f, "q-cut");
  assert_int_equal(fs_start(&cut, &f.e.loop, fs_canned, "127.0.0.1"), 0);
  cut.canned = CUT_ANSWER;
  cut.close_after = 1;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/a2a", cut.port);
  assert_string_equal(register_ws(&f.e, f.B, url, f.tokB), ""); /* B moves to the cut agent */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  qrow q = wait_row(&f.e, "q-cut", "queued", 1);
  assert_string_equal(q.last_error, "failed to read agent response");
  assert_int_equal(cut.nrequests, 1);
  assert_non_null(strstr(cut.last_req, "\"messageId\":\"q-cut\""));
  fs_stop(&cut);
  fixture_stop(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_requeue_then_give_up),
      cmocka_unit_test(test_requeue_then_complete),
      cmocka_unit_test(test_cut_answer_is_502_delivery_confirmed),
      cmocka_unit_test(test_cut_answer_to_a_drain_requeues),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
