/* test_devplatform_delegate.c - POST /workspaces/:id/delegate over real loopback sockets: the
 * platform sends the task to the target through its proxy and stitches the reply (or the
 * failure, or the queued state and then the drained reply) into the delegation's ledger row;
 * idempotency keys; bad requests; the hierarchy rule as a failed delegation; a delegation a
 * runtime recorded itself and sent through the proxy is stitched the same way; a finished row
 * never goes back to pending; a delegation in flight when the platform stops is failed, not
 * left dispatched (docs/devplatform.md "Delegations run by the platform"). */
#include "test_devplatform_util.h"

typedef struct {
  env e;
  responder agent;
  char A[64], B[64], tokA[64], tokB[64];
  char delegate_a[128], list_a[128];
} fixture;

/* A (poll mode, the source) and B (push mode at the responder), both roots. */
static void fixture_start(fixture *f, int mode, unsigned idle_s) {
  env_start(&f->e, 1);
  f->e.opts.idle_timeout_s = idle_s;
  env_open(&f->e);
  responder_start(&f->e, &f->agent, mode);
  snprintf(f->A, 64, "%s", create_ws(&f->e, NULL, "alpha", NULL));
  snprintf(f->B, 64, "%s", create_ws(&f->e, NULL, "beta", NULL));
  snprintf(f->tokA, 64, "%s", register_ws(&f->e, f->A, "remote://no-inbound", NULL));
  snprintf(f->tokB, 64, "%s", register_ws(&f->e, f->B, f->agent.url, NULL));
  snprintf(f->delegate_a, sizeof f->delegate_a, "/workspaces/%s/delegate", f->A);
  snprintf(f->list_a, sizeof f->list_a, "/workspaces/%s/delegations", f->A);
}

static void fixture_stop(fixture *f) {
  responder_stop(&f->e, &f->agent);
  env_stop(&f->e);
}

static json_t *delegate(fixture *f, int want, const char *target, const char *task,
                        const char *key) {
  json_t *b = json_pack("{s:s,s:s}", "target_id", target, "task", task);
  if (key) json_object_set_new(b, "idempotency_key", json_string(key));
  char *body = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  json_t *j = expect(&f->e, want, "POST", f->delegate_a, f->tokA, NULL, body);
  free(body);
  return j;
}

/* The ledger row of id (a new reference), or NULL. */
static json_t *row_of(fixture *f, const char *id) {
  json_t *list = expect(&f->e, 200, "GET", f->list_a, f->tokA, NULL, NULL), *row, *found = NULL;
  size_t i;
  json_array_foreach(list, i, row) {
    if (!strcmp(json_string_value(json_object_get(row, "delegation_id")), id)) {
      found = json_incref(row);
      break;
    }
  }
  json_decref(list);
  return found;
}

static const char *status_of(json_t *row) {
  return json_string_value(json_object_get(row, "status"));
}

/* Runs the loop until id's row leaves `from` (or about 10 s pass); returns the row. */
static json_t *wait_status_change(fixture *f, const char *id, const char *from) {
  json_t *row = NULL;
  for (int i = 0; i < 500; i++) {
    json_decref(row);
    row = row_of(f, id);
    assert_non_null(row);
    if (strcmp(status_of(row), from)) return row;
    run_for(&f->e, 20);
  }
  return row;
}

static void test_delegate_completes(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  json_t *j = delegate(&f, 202, f.B, "ping the logs", "key-1");
  assert_string_equal(json_string_value(json_object_get(j, "status")), "delegated");
  assert_string_equal(json_string_value(json_object_get(j, "target_id")), f.B);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  json_t *row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "completed");
  assert_string_equal(json_string_value(json_object_get(row, "response_preview")), "pong");
  assert_string_equal(json_string_value(json_object_get(row, "target_id")), f.B);
  assert_string_equal(json_string_value(json_object_get(row, "summary")), "ping the logs");
  json_decref(row);
  /* what the target got: message/send, messageId = the delegation id, metadata */
  json_t *fwd = json_loads(f.agent.last_body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(fwd, "method")), "message/send");
  json_t *msg = json_object_get(json_object_get(fwd, "params"), "message");
  assert_string_equal(json_string_value(json_object_get(msg, "messageId")), id);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(msg, "metadata"), "delegation_id")), id);
  json_decref(fwd);
  /* the same key again: the same delegation, 200 */
  j = delegate(&f, 200, f.B, "ping the logs", "key-1");
  assert_string_equal(json_string_value(json_object_get(j, "delegation_id")), id);
  assert_true(json_is_true(json_object_get(j, "idempotent_hit")));
  json_decref(j);
  /* bad requests */
  json_decref(delegate(&f, 400, f.A, "myself", NULL));
  json_decref(delegate(&f, 400, "not-a-uuid", "x", NULL));
  json_decref(delegate(&f, 400, f.B, "", NULL));
  expect_drop(&f.e, 400, "POST", f.delegate_a, f.tokA, NULL, "{bad json");
  char body[256];
  snprintf(body, sizeof body, "{\"target_id\":\"%s\",\"task\":\"t\"}", f.B);
  expect_drop(&f.e, 401, "POST", f.delegate_a, NULL, NULL, body);
  expect_drop(&f.e, 401, "POST", f.delegate_a, f.tokB, NULL, body); /* not A's token */
  fixture_stop(&f);
}

static void test_delegate_failures(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ERR500, 300);
  json_t *j = delegate(&f, 202, f.B, "fail please", "key-f");
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  json_t *row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "failed");
  assert_non_null(json_string_value(json_object_get(row, "error")));
  json_decref(row);
  /* a failed delegation does not block a retry with the same key */
  f.agent.mode = R_ECHO;
  j = delegate(&f, 202, f.B, "fail please", "key-f");
  char id2[64];
  snprintf(id2, sizeof id2, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  assert_string_not_equal(id, id2);
  row = wait_status_change(&f, id2, "dispatched");
  assert_string_equal(status_of(row), "completed");
  json_decref(row);
  /* the hierarchy: C is B's child, A may not talk to it */
  const char *C = create_ws(&f.e, NULL, "gamma", f.B);
  char c_id[64];
  snprintf(c_id, sizeof c_id, "%s", C);
  int before = f.agent.received;
  j = delegate(&f, 202, c_id, "over the fence", NULL);
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "failed");
  assert_non_null(strstr(json_string_value(json_object_get(row, "error")), "access denied"));
  json_decref(row);
  assert_int_equal(f.agent.received, before);
  /* an unknown target */
  j = delegate(&f, 202, "00000000-0000-4000-8000-000000000000", "nobody", NULL);
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "failed");
  assert_string_equal(json_string_value(json_object_get(row, "error")), "workspace not found");
  json_decref(row);
  fixture_stop(&f);
}

/* A busy target: the delegation is queued, and the queue drain stitches the reply. */
static void test_delegate_queued_then_drained(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 1);
  json_t *j = delegate(&f, 202, f.B, "when you can", NULL);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  json_t *row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "queued");
  json_decref(row);
  f.agent.mode = R_ECHO;
  heartbeat(&f.e, f.B, f.tokB, NULL);
  row = wait_status_change(&f, id, "queued");
  assert_string_equal(status_of(row), "completed");
  assert_string_equal(json_string_value(json_object_get(row, "response_preview")), "pong");
  json_decref(row);
  fixture_stop(&f);
}

/* A runtime records its own delegation and sends it through the proxy with the delegation id
 * as messageId: the platform stitches the reply; a finished row never goes back. */
static void test_recorded_delegation_stitched(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_ECHO, 300);
  const char *id = "5b2f7c1e-0d4a-4e8b-9c3f-112233445566";
  char body[512], path[256];
  snprintf(body, sizeof body, "{\"target_id\":\"%s\",\"task\":\"t\",\"delegation_id\":\"%s\"}",
           f.B, id);
  snprintf(path, sizeof path, "/workspaces/%s/delegations/record", f.A);
  expect_drop(&f.e, 202, "POST", path, f.tokA, NULL, body);
  /* B calling A's delegation id does not touch A's row */
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"%s\",\"parts\":[{\"kind\":\"text\",\"text\":"
           "\"hi\"}]}}}", id);
  snprintf(path, sizeof path, "/workspaces/%s/a2a", f.B);
  expect_drop(&f.e, 200, "POST", path, f.tokA, f.A, body);
  json_t *row = row_of(&f, id);
  assert_string_equal(status_of(row), "completed");
  assert_string_equal(json_string_value(json_object_get(row, "response_preview")), "pong");
  json_decref(row);
  snprintf(path, sizeof path, "/workspaces/%s/delegations/%s/update", f.A, id);
  expect_drop(&f.e, 409, "POST", path, f.tokA, NULL, "{\"status\":\"queued\"}");
  expect_drop(&f.e, 200, "POST", path, f.tokA, NULL,
              "{\"status\":\"completed\",\"response_preview\":\"pong\"}");
  fixture_stop(&f);
}

/* A delegation in flight when the platform stops is failed with a reason, before and after the
 * restart; never left "dispatched" for a caller to wait on forever. */
static void test_inflight_at_stop(void **state) {
  (void)state;
  fixture f;
  fixture_start(&f, R_HANG, 300);
  json_t *j = delegate(&f, 202, f.B, "long job", NULL);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  for (int i = 0; i < 250 && f.agent.nhung == 0; i++) run_for(&f.e, 20);
  assert_int_equal(f.agent.nhung, 1);
  env_close_platform(&f.e);
  env_open(&f.e);
  json_t *row = row_of(&f, id);
  assert_string_equal(status_of(row), "failed");
  assert_non_null(json_string_value(json_object_get(row, "error")));
  json_decref(row);
  fixture_stop(&f);
}

/* A, B and a delegation from A to B, with B's answer held and heartbeats due every 50 ms
 * (stuck after 500 ms of silence); the liveness TTL is an hour, so B stays "online" and only
 * the heartbeat clock can mark the delegation. */
static void stuck_fixture(fixture *f, char id[64]) {
  env_start(&f->e, 1);
  f->e.opts.liveness_ttl_s = 3600;
  f->e.opts.heartbeat_interval_ms = 50;
  env_open(&f->e);
  responder_start(&f->e, &f->agent, R_HANG);
  snprintf(f->A, 64, "%s", create_ws(&f->e, NULL, "alpha", NULL));
  snprintf(f->B, 64, "%s", create_ws(&f->e, NULL, "beta", NULL));
  snprintf(f->tokA, 64, "%s", register_ws(&f->e, f->A, "remote://no-inbound", NULL));
  snprintf(f->tokB, 64, "%s", register_ws(&f->e, f->B, f->agent.url, NULL));
  snprintf(f->delegate_a, sizeof f->delegate_a, "/workspaces/%s/delegate", f->A);
  snprintf(f->list_a, sizeof f->list_a, "/workspaces/%s/delegations", f->A);
  json_t *j = delegate(f, 202, f->B, "are you there", NULL);
  snprintf(id, 64, "%s", json_string_value(json_object_get(j, "delegation_id")));
  json_decref(j);
  for (int i = 0; i < 250 && f->agent.nhung == 0; i++) run_for(&f->e, 20);
  assert_int_equal(f->agent.nhung, 1);
}

/* The target's heartbeat is silent for more than 10 intervals (while the platform still has it
 * online): its delegations end with the terminal status "stuck" and a reason, so the caller
 * moves on; a runtime's own update cannot make it pending again, and a real reply arriving
 * later still replaces it. */
static void test_stuck_when_target_silent(void **state) {
  (void)state;
  fixture f;
  char id[64];
  stuck_fixture(&f, id);
  json_t *row = NULL;
  for (int i = 0; i < 500; i++) { /* A keeps beating; B is silent */
    heartbeat(&f.e, f.A, f.tokA, NULL);
    json_decref(row);
    row = row_of(&f, id);
    if (strcmp(status_of(row), "dispatched")) break;
    run_for(&f.e, 20);
  }
  assert_string_equal(status_of(row), "stuck");
  assert_non_null(strstr(json_string_value(json_object_get(row, "error")),
                         "stopped sending heartbeats while this delegation was dispatched"));
  json_decref(row);
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/delegations/%s/update", f.A, id);
  /* terminal: never pending again */
  expect_drop(&f.e, 409, "POST", path, f.tokA, NULL, "{\"status\":\"queued\"}");
  row = row_of(&f, id);
  assert_string_equal(status_of(row), "stuck");
  json_decref(row);
  responder_release(&f.agent); /* the answer comes after all */
  row = wait_status_change(&f, id, "stuck");
  assert_string_equal(status_of(row), "completed");
  json_decref(row);
  fixture_stop(&f);
}

/* A target that keeps beating while it works is never stuck, however long the work takes:
 * 40 intervals pass with B beating every one, and the delegation is still dispatched. */
static void test_not_stuck_while_target_beats(void **state) {
  (void)state;
  fixture f;
  char id[64];
  stuck_fixture(&f, id);
  for (int i = 0; i < 40; i++) {
    heartbeat(&f.e, f.B, f.tokB, NULL);
    run_for(&f.e, 50);
  }
  json_t *row = row_of(&f, id);
  assert_string_equal(status_of(row), "dispatched");
  json_decref(row);
  responder_release(&f.agent);
  row = wait_status_change(&f, id, "dispatched");
  assert_string_equal(status_of(row), "completed");
  json_decref(row);
  fixture_stop(&f);
}

int main(void) {
  (void)MSG_BODY;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delegate_completes),
      cmocka_unit_test(test_delegate_failures),
      cmocka_unit_test(test_delegate_queued_then_drained),
      cmocka_unit_test(test_recorded_delegation_stitched),
      cmocka_unit_test(test_inflight_at_stop),
      cmocka_unit_test(test_stuck_when_target_silent),
      cmocka_unit_test(test_not_stuck_while_target_beats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
