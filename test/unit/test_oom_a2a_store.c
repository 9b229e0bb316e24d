/* test_oom_a2a_store.c - the A2A task store and engine when an allocation fails
 * (failalloc.h): a store, tasks created and begun from a message, a push config, a status
 * with a message, an artifact, history, the task as JSON and as a reply. Each step ends in its documented
 * error (MOL_ENOMEM, or -32603 for a turn) or does all it says; nothing leaks and nothing
 * exits the process (uthash's default on a failed allocation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec.h"
#include "a2a/msg.h"
#include "a2a/push.h"
#include "a2a/task.h"
#include "failalloc.h"
#include "molecule.h"

static const int nomem[] = {MOL_ENOMEM, 0};
static json_t *g_push; /* a push config, as a v0.3 client sends it */

/* A task's life; the first error ends it (the store is freed whatever happened). */
static int task_life(mol_a2a_store *s, json_t *status_msg, json_t *artifact) {
  mol_a2a_task *t;
  int rc = mol_a2a_store_create(s, "ctx-1", &t);
  if (rc) return rc;
  mol_a2a_error err;
  mol_a2a_cmsg *m = mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_USER, "hello");
  if (!m) return MOL_ENOMEM;
  mol_a2a_task *begun;
  rc = mol_a2a_store_begin(s, &m, &begun, &err);
  if (m) mol_a2a_cmsg_unref(m);
  if (rc) {
    assert_int_equal(err.code, MOL_A2A_INTERNAL_ERROR);
    return MOL_ENOMEM;
  }
  assert_int_equal(mol_a2a_task_history_len(begun), 1);
  mol_a2a_push_config cfg;
  const mol_a2a_push_config *stored;
  rc = mol_a2a_push_config_from_wire(g_push, MOL_A2A_V03, &cfg, &err);
  if (!rc) {
    rc = mol_a2a_task_push_put(begun, &cfg, &stored, &err);
    mol_a2a_push_config_clear(&cfg);
  }
  if (rc) {
    assert_int_equal(rc, rc == MOL_ENOMEM ? MOL_ENOMEM : MOL_EINVAL);
    if (rc == MOL_EINVAL) assert_int_equal(err.code, MOL_A2A_INTERNAL_ERROR);
    return MOL_ENOMEM;
  }
  assert_string_equal(mol_a2a_task_push_find(begun, "p1")->url, "https://hook.test/a2a");
  if ((rc = mol_a2a_task_set_status(begun, MOL_A2A_STATE_WORKING, status_msg, NULL))) return rc;
  if ((rc = mol_a2a_task_add_artifact(begun, artifact, 0, 1))) return rc;
  if ((rc = mol_a2a_task_set_status(begun, MOL_A2A_STATE_COMPLETED, status_msg, NULL))) return rc;
  assert_int_equal(mol_a2a_task_history_len(begun), 2); /* the first status message moved in */
  json_t *j = mol_a2a_task_to_json(begun, MOL_A2A_V10, -1);
  if (!j) return MOL_ENOMEM;
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "status"), "state")),
                      "TASK_STATE_COMPLETED");
  assert_int_equal(json_array_size(json_object_get(j, "history")), 2);
  assert_int_equal(json_array_size(json_object_get(j, "artifacts")), 1);
  json_decref(j);
  assert_ptr_equal(mol_a2a_store_get(s, mol_a2a_task_id(t)), t);
  assert_int_equal(mol_a2a_store_count(s), 2);
  return 0;
}

typedef struct {
  json_t *status_msg, *artifact;
} store_case;

static int store_life(void *arg) {
  store_case *c = arg;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.max_tasks = 16};
  int rc = mol_a2a_store_new(&o, &s);
  if (rc) return rc;
  rc = task_life(s, c->status_msg, c->artifact);
  mol_a2a_store_free(s);
  return rc;
}

static void store(void **st) {
  (void)st;
  store_case c;
  c.status_msg = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "kind", "message", "role", "agent",
                           "messageId", "a1", "parts", "kind", "text", "text", "working on it");
  c.artifact = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "artifactId", "x1", "name", "answer",
                         "parts", "kind", "text", "text", "42");
  g_push = json_pack("{s:s,s:s,s:s}", "id", "p1", "url", "https://hook.test/a2a", "token", "tk");
  assert_non_null(g_push);
  assert_non_null(c.status_msg);
  assert_non_null(c.artifact);
  assert_true(failalloc_sweep("task store", store_life, &c, nomem) > 10);
  json_decref(c.status_msg);
  json_decref(c.artifact);
  json_decref(g_push);
}

int main(void) {
  failalloc_init();
  const struct CMUnitTest tests[] = {cmocka_unit_test(store)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
