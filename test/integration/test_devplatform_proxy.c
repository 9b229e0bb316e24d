/* Dev platform A2A proxy over real loopback sockets: response mapping, the idle timeout
 * (env default, heartbeat override, extension by heartbeats, clearing), busy -> 202 queue
 * drained on heartbeat, and what survives a restart (docs/devplatform.md). */
#include "test_devplatform_util.h"

typedef struct {
  env e;
  responder agent;
  char A[64], B[64], tokA[64], tokB[64];
  char a2a_b[128];
} fixture;

/* A (poll mode, caller) and B (push mode at the responder), both roots. */
static void fixture_start(fixture *f, int mode, unsigned idle_s) {
  env_start(&f->e, 1);
  f->e.opts.idle_timeout_s = idle_s;
  env_open(&f->e);
  responder_start(&f->e, &f->agent, mode);
  snprintf(f->A, 64, "%s", create_ws(&f->e, NULL, "alpha", NULL));
  snprintf(f->B, 64, "%s", create_ws(&f->e, NULL, "beta", NULL));
  snprintf(f->tokA, 64, "%s", register_ws(&f->e, f->A, "remote://no-inbound", NULL));
  snprintf(f->tokB, 64, "%s", register_ws(&f->e, f->B, f->agent.url, NULL));
  snprintf(f->a2a_b, sizeof f->a2a_b, "/workspaces/%s/a2a", f->B);
}

static void fixture_stop(fixture *f) {
  responder_stop(&f->e, &f->agent);
  env_stop(&f->e);
}

static void test_error_mapping(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ERR500, 300);
  json_t *j = expect(&f.e, 500, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "Internal Server Error");
  json_decref(j);
  f.agent.mode = R_ERRSTR;
  j = expect(&f.e, 503, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "agent says no");
  json_decref(j);
  /* caller rules */
  expect_drop(&f.e, 401, "POST", f.a2a_b, NULL, f.A, MSG_BODY);
  expect_drop(&f.e, 401, "POST", f.a2a_b, "bad", f.A, MSG_BODY);
  expect_drop(&f.e, 403, "POST", f.a2a_b, NULL, "system:cron", MSG_BODY);
  expect_drop(&f.e, 400, "POST", f.a2a_b, f.tokA, f.A, "[1,2]");
  expect_drop(&f.e, 400, "POST", f.a2a_b, f.tokA, f.A, "{bad json");
  expect_drop(&f.e, 404, "POST", "/workspaces/00000000-0000-4000-8000-000000000000/a2a", NULL,
              NULL, MSG_BODY);
  /* unreachable agent: 502 */
  char body[256];
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"http://127.0.0.1:1/\",\"agent_card\":{}}",
           f.B);
  expect_drop(&f.e, 200, "POST", "/registry/register", f.tokB, NULL, body);
  json_t *u = expect(&f.e, 502, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(u, "error")), "failed to reach workspace agent");
  json_decref(u);
  /* paused target: 503 no URL */
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/pause", f.B);
  expect_drop(&f.e, 200, "POST", path, NULL, NULL, NULL);
  j = expect(&f.e, 503, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "paused");
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/resume", f.B);
  expect_drop(&f.e, 200, "POST", path, NULL, NULL, NULL);
  fixture_stop(&f);
}

/* The documented outcome of an idle timeout: the call is queued and answered 202. */
static void assert_queued(call_res *r) {
  assert_int_equal(r->err, 0);
  assert_int_equal(r->status, 202);
  json_t *j = json_loads(r->body, 0, NULL);
  assert_true(json_is_true(json_object_get(j, "queued")));
  assert_non_null(json_object_get(j, "queue_id"));
  assert_true(json_integer_value(json_object_get(j, "queue_depth")) >= 1);
  json_decref(j);
}

static void test_idle_timeout_env(void **state) {
  (void)state;
  setenv("A2A_IDLE_TIMEOUT_SECONDS", "1", 1);
  fixture f;
  fixture_start(&f, R_HANG, 0);
  unsetenv("A2A_IDLE_TIMEOUT_SECONDS");
  call_res r;
  uint64_t t0 = mol_mono_ms();
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  call_wait(&f.e, &r);
  assert_queued(&r); /* at all: without the environment's 1 s, the default is 300 s */
  assert_true(r.finished_ms - t0 >= 900);
  call_free(&r);
  fixture_stop(&f);
}

static void test_idle_override_extend_clear(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 300);
  const char *two = "\"runtime_metadata\":{\"idle_timeout_seconds\":2}";
  const char *one = "\"runtime_metadata\":{\"idle_timeout_seconds\":1}";
  heartbeat(&f.e, f.B, f.tokB, two);
  /* extended: heartbeats from the target every 500 ms keep a 2 s idle call alive past 3 s */
  call_res r;
  uint64_t t0 = mol_mono_ms();
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  for (int i = 0; i < 6; i++) {
    run_for(&f.e, 500);
    assert_false(r.done);
    heartbeat(&f.e, f.B, f.tokB, two);
  }
  call_wait(&f.e, &r);
  assert_queued(&r);
  assert_true(r.finished_ms - t0 >= 4900);
  call_free(&r);
  /* a heartbeat without the field clears the override: back to 300 s */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  run_for(&f.e, 1500);
  assert_false(r.done);
  responder_release(&f.agent);
  call_wait(&f.e, &r);
  assert_int_equal(r.status, 200);
  call_free(&r);
  /* zero or negative also clears */
  heartbeat(&f.e, f.B, f.tokB, one);
  heartbeat(&f.e, f.B, f.tokB, "\"runtime_metadata\":{\"idle_timeout_seconds\":0}");
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  run_for(&f.e, 1500);
  assert_false(r.done);
  responder_release(&f.agent);
  call_wait(&f.e, &r);
  assert_int_equal(r.status, 200);
  call_free(&r);
  fixture_stop(&f);
}

static void test_x_timeout_deadline(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 300);
  call_res r;
  uint64_t t0 = mol_mono_ms();
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, "X-Timeout", "1");
  /* heartbeats extend the idle timer, never the deadline */
  for (int i = 0; i < 3 && !r.done; i++) {
    run_for(&f.e, 400);
    if (!r.done) heartbeat(&f.e, f.B, f.tokB, NULL);
  }
  call_wait(&f.e, &r);
  assert_queued(&r); /* at all: the idle timeout is 300 s, the deadline 1 s */
  assert_true(r.finished_ms - t0 >= 900);
  call_free(&r);
  fixture_stop(&f);
}

/* The ceiling (shortened to 1 s) bounds workspace callers even while the target heartbeats;
 * canvas callers have none. */
static void test_ceiling(void **state) {
  (void)state;
  fixture f;
  env_start(&f.e, 1);
  f.e.opts.ceiling_s = 1;
  f.e.opts.idle_timeout_s = 300;
  env_open(&f.e);
  responder_start(&f.e, &f.agent, R_HANG);
  snprintf(f.A, 64, "%s", create_ws(&f.e, NULL, "alpha", NULL));
  snprintf(f.B, 64, "%s", create_ws(&f.e, NULL, "beta", NULL));
  snprintf(f.tokA, 64, "%s", register_ws(&f.e, f.A, "remote://no-inbound", NULL));
  snprintf(f.tokB, 64, "%s", register_ws(&f.e, f.B, f.agent.url, NULL));
  snprintf(f.a2a_b, sizeof f.a2a_b, "/workspaces/%s/a2a", f.B);
  call_res r, canvas;
  uint64_t t0 = mol_mono_ms();
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  call_start(&f.e, &canvas, "POST", f.a2a_b, NULL, NULL, MSG_BODY, NULL, NULL);
  for (int i = 0; i < 4 && !r.done; i++) {
    run_for(&f.e, 400);
    heartbeat(&f.e, f.B, f.tokB, NULL);
  }
  call_wait(&f.e, &r);
  assert_queued(&r); /* at all: the idle timeout is 300 s, the ceiling 1 s */
  assert_true(r.finished_ms - t0 >= 900);
  call_free(&r);
  run_for(&f.e, 500);
  assert_false(canvas.done);
  responder_release(&f.agent);
  call_wait(&f.e, &canvas);
  assert_int_equal(canvas.status, 200);
  call_free(&canvas);
  fixture_stop(&f);
}

static void test_busy_queue_drain(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 1);
  const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\",\"params\":"
                    "{\"message\":{\"messageId\":\"fixed-1\",\"parts\":[{\"kind\":\"text\","
                    "\"text\":\"later\"}]}}}";
  call_res r;
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, msg, NULL, NULL);
  call_wait(&f.e, &r);
  assert_queued(&r);
  json_t *first = json_loads(r.body, 0, NULL);
  call_free(&r);
  /* the same messageId while pending collapses into the same item */
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, msg, NULL, NULL);
  call_wait(&f.e, &r);
  assert_queued(&r);
  json_t *second = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(first, "queue_id")),
                      json_string_value(json_object_get(second, "queue_id")));
  json_decref(first);
  json_decref(second);
  call_free(&r);
  /* target free again: a heartbeat with spare capacity dispatches the queued item */
  f.agent.mode = R_ECHO;
  int before = f.agent.received;
  char busy[256];
  snprintf(busy, sizeof busy, "{\"workspace_id\":\"%s\",\"active_tasks\":1}", f.B);
  expect_drop(&f.e, 200, "POST", "/registry/heartbeat", f.tokB, NULL, busy);
  run_for(&f.e, 200);
  assert_int_equal(f.agent.received, before); /* no capacity: nothing drained */
  heartbeat(&f.e, f.B, f.tokB, NULL);
  for (int i = 0; i < 50 && f.agent.received == before; i++) run_for(&f.e, 20);
  assert_int_equal(f.agent.received, before + 1);
  json_t *fwd = json_loads(f.agent.last_body, 0, NULL);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(json_object_get(fwd, "params"), "message"),
                                        "messageId")),
      "fixed-1");
  json_decref(fwd);
  /* drained once: further heartbeats find nothing */
  run_for(&f.e, 100);
  heartbeat(&f.e, f.B, f.tokB, NULL);
  run_for(&f.e, 200);
  assert_int_equal(f.agent.received, before + 1);
  fixture_stop(&f);
}

static void test_restart_persistence(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/secrets", f.A);
  expect_drop(&f.e, 200, "POST", path, NULL, NULL, "{\"key\":\"K\",\"value\":\"V\"}");
  heartbeat(&f.e, f.B, f.tokB, "\"runtime_metadata\":{\"idle_timeout_seconds\":1}");
  snprintf(path, sizeof path, "/workspaces/%s/a2a", f.A);
  json_t *j = expect(&f.e, 200, "POST", path, f.tokB, f.B, MSG_BODY);
  char cursor[64];
  snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(j, "activity_id")));
  json_decref(j);
  /* restart on the same file */
  env_close_platform(&f.e);
  env_open(&f.e);
  snprintf(path, sizeof path, "/workspaces/%s/secrets/values", f.A);
  j = expect(&f.e, 200, "GET", path, f.tokA, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "K")), "V");
  json_decref(j);
  char body[256];
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"remote://x\",\"agent_card\":{}}", f.A);
  expect_drop(&f.e, 401, "POST", "/registry/register", NULL, NULL, body);
  snprintf(path, sizeof path, "/workspaces/%s/activity?since_id=%s", f.A, cursor);
  j = expect(&f.e, 200, "GET", path, f.tokA, NULL, NULL);
  assert_int_equal(json_array_size(j), 0);
  json_decref(j);
  snprintf(path, sizeof path, "/registry/%s/peers", f.A);
  j = expect(&f.e, 200, "GET", path, f.tokA, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  json_decref(j);
  /* the idle override did not survive: a hanging call outlives 1 s */
  f.agent.mode = R_HANG;
  call_res r;
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  run_for(&f.e, 1500);
  assert_false(r.done);
  responder_release(&f.agent);
  call_wait(&f.e, &r);
  assert_int_equal(r.status, 200);
  call_free(&r);
  fixture_stop(&f);
}

/* Closing the platform with a call in flight answers it (503) exactly once. */
static void test_close_with_inflight(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 300);
  call_res r;
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  run_for(&f.e, 200);
  assert_false(r.done);
  env_close_platform(&f.e);
  call_wait(&f.e, &r);
  assert_true(r.err != 0 || r.status == 503);
  call_free(&r);
  responder_stop(&f.e, &f.agent);
  env_stop(&f.e);
}

/* A full queue answers 503 + Retry-After; a session-capable target gets 503 native_session;
 * an exhausted budget 402. */
static void test_queue_bounds_and_budget(void **state) {
  (void)state;
  fixture f;
  env_start(&f.e, 1);
  f.e.opts.idle_timeout_s = 1;
  f.e.opts.queue_max_per_ws = 1;
  env_open(&f.e);
  responder_start(&f.e, &f.agent, R_HANG);
  snprintf(f.A, 64, "%s", create_ws(&f.e, NULL, "alpha", NULL));
  snprintf(f.B, 64, "%s", create_ws(&f.e, NULL, "beta", NULL));
  snprintf(f.tokA, 64, "%s", register_ws(&f.e, f.A, "remote://no-inbound", NULL));
  snprintf(f.tokB, 64, "%s", register_ws(&f.e, f.B, f.agent.url, NULL));
  snprintf(f.a2a_b, sizeof f.a2a_b, "/workspaces/%s/a2a", f.B);
  call_res r;
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  call_wait(&f.e, &r);
  assert_queued(&r);
  call_free(&r);
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  call_wait(&f.e, &r);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.retry_after, "30");
  call_free(&r);
  heartbeat(&f.e, f.B, f.tokB, "\"active_tasks\":1,\"runtime_metadata\":{\"capabilities\":{\"session\":true}}");
  call_start(&f.e, &r, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  call_wait(&f.e, &r);
  assert_int_equal(r.status, 503);
  json_t *j = json_loads(r.body, 0, NULL);
  assert_true(json_is_true(json_object_get(j, "native_session")));
  json_decref(j);
  call_free(&r);
  j = expect(&f.e, 201, "POST", "/workspaces", NULL, NULL, "{\"name\":\"poor\",\"budget_limit\":100}");
  char P[64], tokP[64], path[128];
  snprintf(P, 64, "%s", json_string_value(json_object_get(j, "id")));
  json_decref(j);
  snprintf(tokP, 64, "%s", register_ws(&f.e, P, f.agent.url, NULL));
  heartbeat(&f.e, P, tokP, "\"monthly_spend\":150");
  snprintf(path, sizeof path, "/workspaces/%s/a2a", P);
  expect_drop(&f.e, 402, "POST", path, NULL, NULL, MSG_BODY);
  fixture_stop(&f);
}

/* Many calls in flight at once: every one answered once, every one forwarded once. */
static void test_concurrent_calls(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  enum { N = 200 };
  call_res *r = calloc(N, sizeof *r);
  for (int i = 0; i < N; i++)
    call_start(&f.e, &r[i], "POST", f.a2a_b, f.tokA, f.A, MSG_BODY, NULL, NULL);
  for (int i = 0; i < N; i++) {
    call_wait(&f.e, &r[i]);
    assert_int_equal(r[i].status, 200);
    call_free(&r[i]);
  }
  free(r);
  assert_int_equal(f.agent.received, N);
  char path[128];
  snprintf(path, sizeof path, "/workspaces/%s/activity?limit=500", f.B);
  json_t *j = expect(&f.e, 200, "GET", path, f.tokB, NULL, NULL);
  assert_int_equal(json_array_size(j), N);
  json_decref(j);
  fixture_stop(&f);
}

/* A body that needs no normalisation reaches the agent byte for byte (spacing, the number's
 * spelling, escapes); one without a messageId still gets one; the activity rows keep both
 * bodies as JSON, under time-ordered ids. */
static void test_body_forwarded_as_sent(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  static const char body[] =
      "{ \"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"message/send\", \"params\": {\"message\": "
      "{\"role\": \"user\", \"messageId\": \"m-1\", \"parts\": [{\"kind\": \"text\", \"text\": "
      "\"caf\\u00e9\"}]}, \"metadata\": {\"n\": 1.50, \"big\": 1e2}} }";
  expect_drop(&f.e, 200, "POST", f.a2a_b, f.tokA, f.A, body);
  assert_string_equal(f.agent.last_body, body);
  expect_drop(&f.e, 200, "POST", f.a2a_b, f.tokA, f.A,
              "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\","
              "\"params\":{\"message\":{\"role\":\"user\",\"parts\":[]}}}");
  json_t *sent = json_loads(f.agent.last_body, 0, NULL);
  const char *mid = json_string_value(json_object_get(
      json_object_get(json_object_get(sent, "params"), "message"), "messageId"));
  assert_non_null(mid);
  assert_int_equal(strlen(mid), 36);
  json_decref(sent);
  char path[128];
  snprintf(path, sizeof path, "/workspaces/%s/activity", f.B);
  json_t *rows = expect(&f.e, 200, "GET", path, f.tokB, NULL, NULL);
  assert_int_equal(json_array_size(rows), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *row = json_array_get(rows, i);
    assert_true(json_is_object(json_object_get(row, "request_body")));
    /* time-ordered ids (UUID version 7): the id index grows at its end */
    const char *rid = json_string_value(json_object_get(row, "id"));
    assert_int_equal(strlen(rid), 36);
    assert_int_equal(rid[14], '7');
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(row, "response_body"), "jsonrpc")), "2.0");
  }
  json_decref(rows);
  fixture_stop(&f);
}

/* The proxy keeps the target's row in memory between calls; every write to it shows at the
 * next call: a budget spent, a new URL, a pause. */
static void test_row_changes_seen_at_once(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  json_t *j = expect(&f.e, 201, "POST", "/workspaces", NULL, NULL,
                     "{\"name\":\"poor\",\"budget_limit\":100}");
  char P[64], tokP[64], path[128], body[256];
  snprintf(P, 64, "%s", json_string_value(json_object_get(j, "id")));
  json_decref(j);
  snprintf(tokP, 64, "%s", register_ws(&f.e, P, f.agent.url, NULL));
  snprintf(path, sizeof path, "/workspaces/%s/a2a", P);
  expect_drop(&f.e, 200, "POST", path, NULL, NULL, MSG_BODY);
  heartbeat(&f.e, P, tokP, "\"monthly_spend\":150");
  expect_drop(&f.e, 402, "POST", path, NULL, NULL, MSG_BODY);
  expect_drop(&f.e, 200, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"http://127.0.0.1:1/\",\"agent_card\":{}}",
           f.B);
  expect_drop(&f.e, 200, "POST", "/registry/register", f.tokB, NULL, body);
  expect_drop(&f.e, 502, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  snprintf(path, sizeof path, "/workspaces/%s/pause", f.B);
  expect_drop(&f.e, 200, "POST", path, NULL, NULL, NULL);
  expect_drop(&f.e, 503, "POST", f.a2a_b, f.tokA, f.A, MSG_BODY);
  fixture_stop(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_mapping),
      cmocka_unit_test(test_idle_timeout_env),
      cmocka_unit_test(test_idle_override_extend_clear),
      cmocka_unit_test(test_x_timeout_deadline),
      cmocka_unit_test(test_ceiling),
      cmocka_unit_test(test_busy_queue_drain),
      cmocka_unit_test(test_restart_persistence),
      cmocka_unit_test(test_close_with_inflight),
      cmocka_unit_test(test_queue_bounds_and_budget),
      cmocka_unit_test(test_concurrent_calls),
      cmocka_unit_test(test_body_forwarded_as_sent),
      cmocka_unit_test(test_row_changes_seen_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
