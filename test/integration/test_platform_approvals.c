/* test_platform_approvals.c - approvals through the platform client against the real embedded
 * dev platform over loopback: an agent asks, an operator decides over HTTP with the admin token,
 * the agent's poll sees the decision; a decision is final; another workspace neither sees nor
 * decides it; the agent cannot decide its own request; all of it after a platform restart. */
#include "platform_dp_fixture.h"

static capture cap;

static void decide_path(char *out, size_t n, const char *ws, const char *id) {
  snprintf(out, n, "/workspaces/%s/approvals/%s/decide", ws, id);
}

static void ask_and_decide(void **st) {
  (void)st;
  char a_id[64], b_id[64], a_tok[128], path[256];
  mol_platform_client *a = dpf_agent("asker", NULL, a_id, a_tok);
  mol_platform_client *b = dpf_agent("other", NULL, b_id, NULL);
  CALL(mol_platform_approval_create(a, "drop table users", "migration 42", "task-7", NULL, NULL,
                                    on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.status, 201);
  assert_string_equal(cap.state, "pending");
  char appr[64];
  snprintf(appr, sizeof appr, "%s", cap.id);
  assert_true(strlen(appr) == 36);
  CALL(mol_platform_approval_get(a, appr, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "pending");
  /* another workspace neither sees it nor decides it; the asker cannot approve itself */
  CALL(mol_platform_approval_get(b, appr, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, MOL_ENOENT);
  decide_path(path, sizeof path, a_id, appr);
  op_result r = op_as(a_tok, "POST", path, "{\"decision\":\"approved\"}");
  assert_int_equal(r.status, 401);
  decide_path(path, sizeof path, b_id, appr);
  r = op("POST", path, "{\"decision\":\"approved\"}");
  assert_int_equal(r.status, 404);
  /* bad decisions */
  decide_path(path, sizeof path, a_id, appr);
  r = op("POST", path, "{\"decision\":\"maybe\"}");
  assert_int_equal(r.status, 400);
  r = op("POST", path, "not json");
  assert_int_equal(r.status, 400);
  /* the pending list the operator sees */
  r = op("GET", "/approvals/pending", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, appr));
  assert_non_null(strstr(r.body, "asker"));
  dpf_restart();
  r = op("POST", path, "{\"decision\":\"denied\",\"decided_by\":\"alice\"}");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "denied"));
  /* a decision is final */
  r = op("POST", path, "{\"decision\":\"approved\"}");
  assert_int_equal(r.status, 404);
  CALL(mol_platform_approval_get(a, appr, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "denied");
  json_t *v = mol_json_parse(cap.item, strlen(cap.item), NULL, 0);
  assert_non_null(v);
  assert_string_equal(mol_json_str(v, "decided_by"), "alice");
  assert_string_equal(mol_json_str(v, "action"), "drop table users");
  assert_string_equal(mol_json_str(v, "task_id"), "task-7");
  assert_non_null(mol_json_str(v, "decided_at"));
  json_decref(v);
  dpf_restart();
  CALL(mol_platform_approval_get(a, appr, NULL, on_capture, &cap, NULL), cap);
  assert_string_equal(cap.state, "denied");
  r = op("GET", "/approvals/pending", NULL);
  assert_null(strstr(r.body, appr));
  /* a second request, approved through the operator's short route */
  CALL(mol_platform_approval_create(a, "deploy", NULL, NULL, NULL, NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.err, 0);
  snprintf(appr, sizeof appr, "%s", cap.id);
  snprintf(path, sizeof path, "/approvals/%s/decide", appr);
  r = op("POST", path, "{\"decision\":\"approved\"}");
  assert_int_equal(r.status, 200);
  CALL(mol_platform_approval_get(a, appr, NULL, on_capture, &cap, NULL), cap);
  assert_string_equal(cap.state, "approved");
  CALL(mol_platform_approvals(a, NULL, on_capture, &cap, NULL), cap);
  v = cap_json(&cap);
  assert_int_equal(json_array_size(v), 2);
  assert_string_equal(mol_json_str(json_array_get(v, 0), "id"), appr); /* newest first */
  json_decref(v);
  /* bad input from the agent */
  snprintf(path, sizeof path, "/workspaces/%s/approvals", a_id);
  r = op_as(a_tok, "POST", path, "{\"reason\":\"no action\"}");
  assert_int_equal(r.status, 400);
  r = op_as("", "GET", path, NULL);
  assert_int_equal(r.status, 401);
  r = op_as(a_tok, "GET", "/approvals/pending", NULL);
  assert_int_equal(r.status, 401);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ask_and_decide, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
