/* test_platform_workspace_info.c - GET /workspaces/<self> through the platform client against
 * the real embedded dev platform over loopback: the agent sees its own row (id, name, role,
 * parent, status) without the operator-only fields, and a deleted workspace answers 404. */
#include "platform_dp_fixture.h"

static capture cap;

static void own_row(void **st) {
  (void)st;
  char p_id[64], c_id[64], path[256];
  dpf_agent("lead", NULL, p_id, NULL);
  mol_platform_client *c = dpf_agent("helper", p_id, c_id, NULL);
  CALL(mol_platform_workspace_info(c, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.status, 200);
  assert_string_equal(cap.id, c_id);
  json_t *v = cap_json(&cap);
  assert_string_equal(mol_json_str(v, "name"), "helper");
  assert_string_equal(mol_json_str(v, "parent_id"), p_id);
  assert_non_null(mol_json_str(v, "status"));
  assert_null(json_object_get(v, "current_task")); /* the operator's view only */
  assert_null(json_object_get(v, "budget_limit"));
  assert_null(json_object_get(v, "monthly_spend"));
  json_decref(v);
  snprintf(path, sizeof path, "/workspaces/%s", c_id);
  op_result r = op("DELETE", path, NULL);
  assert_int_equal(r.status, 200);
  CALL(mol_platform_workspace_info(c, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 404);
  assert_int_not_equal(cap.err, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(own_row, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
