/* test_platform_instructions.c - platform instructions through the platform client against the
 * real embedded dev platform over loopback: the operator adds global and per-workspace rules,
 * the agent resolves its own markdown (global first, then its role rules, each by priority),
 * another workspace's rules never show, deleted rows drop out, and all survives a restart. */
#include "platform_dp_fixture.h"

static capture cap;

static char *add_rule(const char *body, char id[64]) {
  op_result r = op("POST", "/instructions", body);
  assert_int_equal(r.status, 201);
  json_t *v = mol_json_parse(r.body, strlen(r.body), NULL, 0);
  snprintf(id, 64, "%s", mol_json_str(v, "id"));
  json_decref(v);
  return id;
}

static void resolve(void **st) {
  (void)st;
  char a_id[64], b_id[64], a_tok[128], body[512], rid[64], path[256];
  mol_platform_client *a = dpf_agent("alpha", NULL, a_id, a_tok);
  dpf_agent("beta", NULL, b_id, NULL);
  CALL(mol_platform_instructions_resolve(a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  json_t *v = cap_json(&cap);
  assert_string_equal(mol_json_str(v, "workspace_id"), a_id);
  assert_string_equal(mol_json_str(v, "instructions"), "");
  json_decref(v);
  add_rule("{\"scope\":\"global\",\"title\":\"Be kind\",\"content\":\"Always.\",\"priority\":1}",
           rid);
  add_rule("{\"scope\":\"global\",\"title\":\"Be brief\",\"content\":\"Short.\",\"priority\":5}",
           rid);
  snprintf(body, sizeof body,
           "{\"scope\":\"workspace\",\"scope_target\":\"%s\",\"title\":\"Alpha\",\"content\":"
           "\"Own the logs.\"}", a_id);
  add_rule(body, rid);
  snprintf(body, sizeof body,
           "{\"scope\":\"workspace\",\"scope_target\":\"%s\",\"title\":\"Beta\",\"content\":"
           "\"Not for alpha.\"}", b_id);
  char beta_rule[64];
  add_rule(body, beta_rule);
  /* bad rules */
  op_result r = op("POST", "/instructions", "{\"scope\":\"team\",\"title\":\"t\",\"content\":\"c\"}");
  assert_int_equal(r.status, 400);
  r = op("POST", "/instructions", "{\"scope\":\"workspace\",\"title\":\"t\",\"content\":\"c\"}");
  assert_int_equal(r.status, 400);
  r = op("POST", "/instructions", "{\"scope\":\"global\",\"title\":\"t\"}");
  assert_int_equal(r.status, 400);
  dpf_restart();
  CALL(mol_platform_instructions_resolve(a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  v = cap_json(&cap);
  assert_string_equal(mol_json_str(v, "instructions"),
                      "\n## Platform-Wide Rules\n\n### Be brief\nShort.\n\n### Be kind\nAlways.\n\n"
                      "\n## Role-Specific Rules\n\n### Alpha\nOwn the logs.\n\n");
  json_decref(v);
  /* a deleted rule drops out; deleting it again is 404 */
  snprintf(path, sizeof path, "/instructions/%s", rid);
  assert_int_equal(op("DELETE", path, NULL).status, 200);
  assert_int_equal(op("DELETE", path, NULL).status, 404);
  CALL(mol_platform_instructions_resolve(a, NULL, on_capture, &cap, NULL), cap);
  assert_null(strstr(cap.body, "Alpha"));
  assert_null(strstr(cap.body, "Not for alpha"));
  /* the agent may not write rules, nor read another workspace's */
  r = op_as(a_tok, "POST", "/instructions",
            "{\"scope\":\"global\",\"title\":\"t\",\"content\":\"c\"}");
  assert_int_equal(r.status, 401);
  snprintf(path, sizeof path, "/workspaces/%s/instructions/resolve", b_id);
  r = op_as(a_tok, "GET", path, NULL);
  assert_int_equal(r.status, 401);
  r = op_as("", "GET", path, NULL);
  assert_int_equal(r.status, 401);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(resolve, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
