/* test_platform_shared_context.c - GET /workspaces/<parent>/shared-context through the platform
 * client against the real embedded dev platform over loopback: a child reads its parent's
 * shared context with its own token (upstream needs the parent's, which a child never holds);
 * a root, a sibling's child or a stranger is refused; an unknown parent is 404. This platform
 * has no configs dir, so the list is empty (the files themselves: test_host_pipeline.sh). */
#include "platform_dp_fixture.h"

static capture cap;

static void child_reads_parent(void **st) {
  (void)st;
  char p_id[64], c_id[64], o_id[64], o_tok[128], path[256];
  dpf_agent("parent", NULL, p_id, NULL);
  mol_platform_client *child = dpf_agent("child", p_id, c_id, NULL);
  mol_platform_client *other = dpf_agent("other", NULL, o_id, o_tok);
  CALL(mol_platform_shared_context(child, p_id, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.status, 200);
  assert_string_equal(cap.body, "[]");
  CALL(mol_platform_shared_context(other, p_id, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 403);
  CALL(mol_platform_shared_context(child, o_id, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 403);
  CALL(mol_platform_shared_context(child, "0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e", NULL, on_capture,
                                   &cap, NULL), cap);
  assert_int_equal(cap.status, 404);
  assert_int_equal(mol_platform_shared_context(child, "not-a-uuid/..", NULL, on_capture, &cap,
                                               NULL), MOL_EINVAL);
  snprintf(path, sizeof path, "/workspaces/%s/shared-context", p_id);
  assert_int_equal(op_as("", "GET", path, NULL).status, 401);
  assert_int_equal(op_as(o_tok, "GET", path, NULL).status, 403);
  assert_int_equal(op("GET", path, NULL).status, 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(child_reads_parent, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
