#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/scrub.h"
#include "runtime/snapshot.h"

static void check(const char *in, const char *want) {
  char *got = mol_scrub_text(in, strlen(in));
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void upstream_rules_and_labels(void **state) {
  (void)state;
  check("OPENAI_API_KEY=sk-abc123", "[REDACTED:API_KEY]");
  check("export github_token = ghp_x next", "export [REDACTED:TOKEN] next");
  check("MY_SECRET=hunter2", "[REDACTED:SECRET]");
  check("Authorization: Bearer abc.def", "Authorization: [REDACTED:BEARER_TOKEN]");
  check("key sk-proj-ABCDEFGHIJKLMNOP1234 used", "key [REDACTED:SK_TOKEN] used");
  check("ghp_ABCDEFGHIJKLMNOPQRST1234", "[REDACTED:GITHUB_PAT]");
  check("ghs_ABCDEFGHIJKLMNOPQRST1234", "[REDACTED:GITHUB_SERVER_TOKEN]");
  check("AKIAABCDEFGHIJKLMNOP.", "[REDACTED:AWS_ACCESS_KEY].");
  check("AKIAABCDEFGHIJKLMNOPQ", "AKIAABCDEFGHIJKLMNOPQ"); /* 17 chars: not a key id */
  check("mol_pk_ABCDEFGHIJKLMNOPQRST", "[REDACTED:MOL_PK]");
  check("ctx7_abc", "[REDACTED:CTX7_TOKEN]");
  check("cfut_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "[REDACTED:CF_TOKEN]");
  check("blob aGVsbG8gd29ybGQgdGhpcyBpcyBhIGJsb2I1MjM0NTY3== end",
        "blob [REDACTED:BASE64_BLOB] end");
}

static void upstream_false_positives_fixed(void **state) {
  (void)state;
  check("task-management-dashboard", "task-management-dashboard");
  check("/workspace/src/components/VeryLongComponentName.tsx",
        "/workspace/src/components/VeryLongComponentName.tsx");
  check("InternationalizationConfigurationProviderFactory",
        "InternationalizationConfigurationProviderFactory");
}

static void false_negatives_closed(void **state) {
  (void)state;
  check("slack xoxb-1234567890-abcdef", "slack [REDACTED:SLACK_TOKEN]");
  check("AIzaSyA1234567890abcdefghijklmnopqrstuv", "[REDACTED:GOOGLE_API_KEY]");
  check("sk_live_ABCDEFGH12345678", "[REDACTED:STRIPE_KEY]");
}

static void json_walk_drops_sandbox(void **state) {
  (void)state;
  json_t *in = json_pack("{s:[s,s,s],s:{s:s}}", "lines", "ok line", "[SANDBOX_OUTPUT] x",
                         "tool=run_code y", "nested", "k", "Bearer zzz");
  json_t *out = mol_scrub_json(in);
  assert_int_equal(json_array_size(json_object_get(out, "lines")), 1);
  assert_string_equal(json_string_value(json_object_get(json_object_get(out, "nested"), "k")),
                      "[REDACTED:BEARER_TOKEN]");
  json_decref(in);
  json_decref(out);
}

static void snapshot_round_trip(void **state) {
  (void)state;
  char dir[] = "/tmp/mol-snap-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/.agent_snapshot.json", dir);
  json_t *lines = json_array();
  for (int i = 0; i < 250; i++) json_array_append_new(lines, json_sprintf("line %d", i));
  json_array_append_new(lines, json_string("API_TOKEN=abc"));
  json_t *adapter = json_pack("{s:s,s:o}", "session_id", "sess-1", "transcript_lines", lines);
  mol_snapshot s = {.workspace_id = "ws-1", .current_task = "t", .active_tasks = 2,
                    .uptime_seconds = 5, .adapter = adapter};
  assert_int_equal(mol_snapshot_write(path, &s), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  json_t *snap = mol_snapshot_read(path);
  assert_non_null(snap);
  assert_int_equal(json_integer_value(json_object_get(snap, "schema_version")), 1);
  assert_null(json_object_get(snap, "session_id")); /* adapter has one */
  json_t *st_adapter = mol_snapshot_adapter_state(snap);
  assert_string_equal(json_string_value(json_object_get(st_adapter, "session_id")), "sess-1");
  json_t *got = json_object_get(st_adapter, "transcript_lines");
  assert_int_equal(json_array_size(got), 200);
  assert_string_equal(json_string_value(json_array_get(got, 199)), "[REDACTED:TOKEN]");
  json_decref(st_adapter);
  json_decref(snap);
  json_decref(adapter);
  assert_int_equal(mol_snapshot_delete(path), 0);
  assert_int_equal(mol_snapshot_delete(path), 0);
  assert_null(mol_snapshot_read(path));
  rmdir(dir);
}

static void legacy_flat_snapshot(void **state) {
  (void)state;
  json_t *flat = json_pack("{s:s,s:[s]}", "session_id", "old", "transcript_lines", "x");
  json_t *a = mol_snapshot_adapter_state(flat);
  assert_string_equal(json_string_value(json_object_get(a, "session_id")), "old");
  json_decref(a);
  json_decref(flat);
  json_t *empty = json_pack("{s:s}", "session_id", "");
  assert_null(mol_snapshot_adapter_state(empty));
  json_decref(empty);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(upstream_rules_and_labels), cmocka_unit_test(upstream_false_positives_fixed),
    cmocka_unit_test(false_negatives_closed),    cmocka_unit_test(json_walk_drops_sandbox),
    cmocka_unit_test(snapshot_round_trip),       cmocka_unit_test(legacy_flat_snapshot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
