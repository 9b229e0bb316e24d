/* test_platform_delegations.c - the delegation ledger through the platform client against the
 * real embedded dev platform over loopback: record (idempotent per id, owned by its source),
 * update, the status of one, the list, and all of it after a platform restart. */
#include "platform_dp_fixture.h"

static capture cap;

#define DEL_ID "7d3f0c2e-9b1a-4c5d-8e6f-0a1b2c3d4e5f"

static void ledger(void **st) {
  (void)st;
  char a_id[64], b_id[64];
  mol_platform_client *a = dpf_agent("coord", NULL, a_id, NULL);
  mol_platform_client *b = dpf_agent("worker", NULL, b_id, NULL);
  CALL(mol_platform_delegation_status(a, DEL_ID, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, MOL_ENOENT);
  CALL(mol_platform_delegation_record(a, b_id, "summarise the logs", DEL_ID, NULL, on_capture,
                                      &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.status, 202);
  assert_string_equal(cap.id, DEL_ID);
  assert_string_equal(cap.state, "recorded");
  /* recorded again (a retry after a lost answer): still one row */
  CALL(mol_platform_delegation_record(a, b_id, "summarise the logs", DEL_ID, NULL, on_capture,
                                      &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  CALL(mol_platform_delegations(a, NULL, on_capture, &cap, NULL), cap);
  json_t *v = cap_json(&cap);
  assert_int_equal(json_array_size(v), 1);
  json_decref(v);
  /* another workspace cannot take the id over, nor update it */
  CALL(mol_platform_delegation_record(b, a_id, "hijack", DEL_ID, NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.status, 409);
  CALL(mol_platform_delegation_update(b, DEL_ID, "failed", "nope", NULL, NULL, on_capture, &cap,
                                      NULL), cap);
  assert_int_equal(cap.status, 404);
  CALL(mol_platform_delegation_status(a, DEL_ID, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "pending");
  CALL(mol_platform_delegation_update(a, DEL_ID, "completed", NULL, "3 errors, all timeouts",
                                      NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  dpf_restart();
  CALL(mol_platform_delegation_status(a, DEL_ID, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "completed");
  v = mol_json_parse(cap.item, strlen(cap.item), NULL, 0);
  assert_non_null(v);
  assert_string_equal(mol_json_str(v, "response_preview"), "3 errors, all timeouts");
  assert_string_equal(mol_json_str(v, "target_id"), b_id);
  assert_string_equal(mol_json_str(v, "summary"), "summarise the logs");
  json_decref(v);
  /* bad input */
  CALL(mol_platform_delegation_update(a, DEL_ID, "done", NULL, NULL, NULL, on_capture, &cap,
                                      NULL), cap);
  assert_int_equal(cap.status, 400);
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/delegations/record", a_id);
  op_result r = op("POST", path, "{\"target_id\":\"x\",\"task\":\"t\",\"delegation_id\":\"d\"}");
  assert_int_equal(r.status, 400);
  r = op_as("", "GET", path, NULL);
  assert_int_equal(r.status, 404); /* GET on a POST route */
  snprintf(path, sizeof path, "/workspaces/%s/delegations", a_id);
  r = op_as("", "GET", path, NULL);
  assert_int_equal(r.status, 401);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ledger, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
