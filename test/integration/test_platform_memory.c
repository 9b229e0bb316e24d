/* test_platform_memory.c - the memory calls of the platform client against the real embedded
 * dev platform over loopback: the key/value store (versions, conditional writes and their 409,
 * TTL expiry, delete) and scoped memories (FTS search, namespaces, the GLOBAL-from-root and
 * TEAM-visibility rules, redaction, ownership on delete), all surviving a platform restart;
 * and, against a fake platform that stores what it is sent, the client's own redaction. */
#include "platform_dp_fixture.h"

static capture cap;

static void kv_versions_and_conflicts(void **st) {
  (void)st;
  char id[64];
  mol_platform_client *a = dpf_agent("kv", NULL, id, NULL);
  CALL(mol_platform_memory_get(a, "plan", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 404);
  assert_string_equal(cap.error, "key not found");
  /* create-only succeeds once */
  mol_platform_memory_set_opts create = {.conditional = 1, .if_match_version = 0};
  CALL(mol_platform_memory_set(a, "plan", "{\"step\":1}", &create, NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.version, 1);
  CALL(mol_platform_memory_set(a, "plan", "{\"step\":9}", &create, NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 409);
  assert_int_equal(cap.version, 1); /* the current version */
  assert_string_equal(cap.error, "if_match_version mismatch");
  /* unconditional upsert bumps the version */
  CALL(mol_platform_memory_set(a, "plan", "{\"step\":2}", NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.version, 2);
  /* a stale version loses, the current one wins */
  mol_platform_memory_set_opts stale = {.conditional = 1, .if_match_version = 1};
  CALL(mol_platform_memory_set(a, "plan", "{\"step\":3}", &stale, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 409);
  assert_int_equal(cap.version, 2);
  mol_platform_memory_set_opts fresh = {.conditional = 1, .if_match_version = 2};
  CALL(mol_platform_memory_set(a, "plan", "{\"step\":3}", &fresh, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.version, 3);
  /* keys with characters that need encoding */
  CALL(mol_platform_memory_set(a, "user prefs/a+b", "\"dark\"", NULL, NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.err, 0);
  CALL(mol_platform_memory_get(a, "user prefs/a+b", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  json_t *v = cap_json(&cap);
  assert_string_equal(mol_json_str(v, "value"), "dark");
  json_decref(v);
  /* survives a restart */
  dpf_restart();
  CALL(mol_platform_memory_get(a, "plan", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.version, 3);
  v = cap_json(&cap);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "value"), "step")), 3);
  json_decref(v);
  CALL(mol_platform_memory_list(a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  v = cap_json(&cap);
  assert_int_equal(json_array_size(v), 2);
  json_decref(v);
  CALL(mol_platform_memory_delete(a, "plan", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  CALL(mol_platform_memory_get(a, "plan", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 404);
  CALL(mol_platform_memory_delete(a, "plan", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0); /* deleting an absent key is fine */
}

static void kv_ttl_and_isolation(void **st) {
  (void)st;
  char id[64], other[64];
  mol_platform_client *a = dpf_agent("ttl", NULL, id, NULL);
  dpf_agent("nosy", NULL, other, NULL);
  mol_platform_memory_set_opts ttl = {.ttl_seconds = 1};
  CALL(mol_platform_memory_set(a, "lease", "true", &ttl, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  CALL(mol_platform_memory_get(a, "lease", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_non_null(strstr(cap.body, "\"expires_at\""));
  /* another workspace's token cannot read it */
  op_result r = op_as("not-a-token", "GET", "/workspaces/00000000-0000-4000-8000-000000000000/memory", NULL);
  assert_int_equal(r.status, 401);
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/memory/lease", id);
  mol_platform_client *nosy = F->agents[F->nagents - 1];
  (void)nosy;
  r = op_as("", "GET", path, NULL);
  assert_int_equal(r.status, 401);
  run_for(g_loop, 1100); /* the TTL is the thing under test: time has to pass */
  CALL(mol_platform_memory_get(a, "lease", NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 404);
  CALL(mol_platform_memory_list(a, NULL, on_capture, &cap, NULL), cap);
  assert_string_equal(cap.body, "[]");
  /* an expired key counts as absent: create-only succeeds, at version 1 */
  mol_platform_memory_set_opts create = {.conditional = 1, .if_match_version = 0};
  CALL(mol_platform_memory_set(a, "lease", "false", &create, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.version, 1);
  /* bad input */
  r = op("POST", "/workspaces/00000000-0000-4000-8000-000000000000/memory", "{\"value\":1}");
  assert_int_equal(r.status, 400);
  snprintf(path, sizeof path, "/workspaces/%s/memory", id);
  r = op("POST", path, "{\"key\":\"k\",\"value\":1,\"ttl_seconds\":-3}");
  assert_int_equal(r.status, 400);
  r = op("POST", path, "{\"key\":\"k\",\"value\":1,\"if_match_version\":\"x\"}");
  assert_int_equal(r.status, 400);
  r = op("POST", path, "not json");
  assert_int_equal(r.status, 400);
  assert_int_equal(mol_platform_memory_set(a, "k", "{bad", NULL, NULL, on_capture, &cap, NULL),
                   MOL_EJSON);
}

static int search_count(mol_platform_client *c, const mol_platform_memory_search_opts *o,
                        const char *needle) {
  CALL(mol_platform_memory_search(c, o, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  json_t *v = cap_json(&cap);
  int n = 0;
  size_t i;
  json_t *row;
  json_array_foreach(v, i, row) {
    if (!needle || strstr(mol_json_str(row, "content"), needle)) n++;
  }
  json_decref(v);
  return n;
}

static void scoped_memories(void **st) {
  (void)st;
  char root[64], child[64], sib[64], oroot[64], ochild[64];
  mol_platform_client *r = dpf_agent("root", NULL, root, NULL);
  mol_platform_client *c = dpf_agent("child", root, child, NULL);
  mol_platform_client *s = dpf_agent("sibling", root, sib, NULL);
  dpf_agent("oroot", NULL, oroot, NULL);
  mol_platform_client *oc = dpf_agent("ochild", oroot, ochild, NULL);
  /* GLOBAL: refused for a child, accepted from the root */
  CALL(mol_platform_memory_commit(c, "child global", MOL_MEMORY_GLOBAL, NULL, NULL, on_capture,
                                  &cap, NULL), cap);
  assert_int_equal(cap.status, 403);
  assert_string_equal(cap.error, "only root workspaces can write GLOBAL memories");
  CALL(mol_platform_memory_commit(r, "deploy window is friday", MOL_MEMORY_GLOBAL, "ops", NULL,
                                  on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 201);
  char global_id[64];
  snprintf(global_id, sizeof global_id, "%s", cap.id);
  /* TEAM from the child, LOCAL from the child (with a secret to redact) */
  CALL(mol_platform_memory_commit(c, "the staging database migrates nightly", MOL_MEMORY_TEAM,
                                  NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 201);
  CALL(mol_platform_memory_commit(c, "private note: api_key=sk-live-123456 for staging",
                                  MOL_MEMORY_LOCAL, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 201);
  char local_id[64];
  snprintf(local_id, sizeof local_id, "%s", cap.id);
  /* the same secret posted raw is redacted by the platform too */
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/memories", child);
  op_result o = op("POST", path, "{\"content\":\"Authorization: Bearer abcdefghijkl staging\","
                                 "\"scope\":\"LOCAL\"}");
  assert_int_equal(o.status, 201);
  /* FTS: every word must occur; words are literal (no FTS syntax errors) */
  mol_platform_memory_search_opts q = {.any_scope = 1, .q = "staging"};
  assert_int_equal(search_count(c, &q, NULL), 3);
  assert_int_equal(search_count(c, &q, "sk-live"), 0);
  assert_int_equal(search_count(c, &q, "abcdefghijkl"), 0);
  q.q = "staging nightly";
  assert_int_equal(search_count(c, &q, NULL), 1);
  q.q = "\"unbalanced AND OR NEAR(";
  assert_int_equal(search_count(c, &q, NULL), 0);
  q.q = "f"; /* one character: substring */
  assert_true(search_count(c, &q, "friday") == 1);
  /* TEAM visibility: the parent and a sibling see it, the other tree does not */
  mol_platform_memory_search_opts team = {.scope = MOL_MEMORY_TEAM};
  assert_int_equal(search_count(r, &team, "nightly"), 1);
  assert_int_equal(search_count(s, &team, "nightly"), 1);
  assert_int_equal(search_count(oc, &team, "nightly"), 0);
  /* LOCAL is the writer's only */
  mol_platform_memory_search_opts local = {.scope = MOL_MEMORY_LOCAL};
  assert_int_equal(search_count(s, &local, NULL), 0);
  assert_int_equal(search_count(c, &local, NULL), 2);
  /* GLOBAL reaches everyone, marked as such; namespaces filter */
  mol_platform_memory_search_opts glob = {.scope = MOL_MEMORY_GLOBAL, .ns = "ops"};
  assert_int_equal(search_count(oc, &glob, "[MEMORY id="), 1);
  glob.ns = "general";
  assert_int_equal(search_count(oc, &glob, NULL), 0);
  /* delete: only the owner */
  CALL(mol_platform_memory_forget(c, global_id, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.status, 404);
  dpf_restart();
  assert_int_equal(search_count(c, &local, NULL), 2); /* survived */
  q.q = "staging nightly";
  assert_int_equal(search_count(c, &q, NULL), 1);     /* the index too */
  CALL(mol_platform_memory_forget(c, local_id, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(search_count(c, &local, NULL), 1);
  q.q = "private";
  assert_int_equal(search_count(c, &q, NULL), 0); /* gone from the index */
  /* bad input */
  o = op("POST", path, "{\"content\":\"x\",\"scope\":\"WORLD\"}");
  assert_int_equal(o.status, 400);
  snprintf(path, sizeof path, "/workspaces/%s/memories?limit=51", child);
  o = op("GET", path, NULL);
  assert_int_equal(o.status, 400);
}

/* The client redacts before the commit leaves it: a real platform need not redact, so the
 * dev platform's own redaction above cannot vouch for the client. A fake platform that keeps
 * whatever it is sent shows what went over the wire. */
static void commit_redacts_on_the_wire(void **st) {
  (void)st;
  fake f;
  script s = {.dflt = {.status = 201,
                       .body = "{\"id\":\"m-1\",\"scope\":\"LOCAL\",\"namespace\":\"notes\"}"}};
  fake_init(&f, g_loop, script_handler, &s);
  assert_int_equal(fake_listen(&f, 0), 0);
  mol_platform_opts o = base_opts(f.port, F->dir);
  o.token = "tok-memory-0123456789";
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(g_loop, &o, &c), 0);
  CALL(mol_platform_memory_commit(c, "db: api_key=sk-live-123456 and Authorization: Bearer "
                                     "abcdefghijkl for staging",
                                  MOL_MEMORY_LOCAL, "notes", NULL, on_capture, &cap, NULL),
       cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.id, "m-1");
  assert_int_equal(f.nlog, 1);
  assert_string_equal(f.log[0].method, "POST");
  char want_path[128];
  snprintf(want_path, sizeof want_path, "/workspaces/%s/memories", WS_ID);
  assert_string_equal(f.log[0].path, want_path);
  json_t *sent = mol_json_parse(f.log[0].body, f.log[0].body_len, NULL, 0);
  assert_non_null(sent);
  const char *content = mol_json_str(sent, "content");
  assert_non_null(content);
  assert_null(strstr(content, "sk-live-123456"));
  assert_null(strstr(content, "abcdefghijkl"));
  assert_non_null(strstr(content, "[REDACTED]"));
  assert_non_null(strstr(content, "for staging")); /* the rest is kept */
  assert_string_equal(mol_json_str(sent, "scope"), "LOCAL");
  assert_string_equal(mol_json_str(sent, "namespace"), "notes");
  json_decref(sent);
  close_client(c);
  fake_stop(&f);
  loop_drain(g_loop);
  fake_free_log(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(kv_versions_and_conflicts, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(kv_ttl_and_isolation, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(scoped_memories, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(commit_redacts_on_the_wire, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
