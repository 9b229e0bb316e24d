/* test_a2a_store_restore.c - the durable store's two halves in the core: the journal hears
 * every change before a listener does, and a task saved as JSON comes back whole
 * (mol_a2a_store_restore), terminal ones keeping their place in the eviction and TTL order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/task.h"
#include "base/buf.h"
#include "molecule.h"

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void *arg) {
  (void)arg;
  return fake_now;
}

static int journaled, heard_after_journal;
static void journal(const mol_a2a_task *t, void *arg) {
  (void)t;
  (void)arg;
  journaled++;
}
static void listener(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  (void)t;
  (void)ev;
  heard_after_journal += *(int *)arg < journaled; /* the journal had this change already */
  *(int *)arg = journaled;
}

static void journal_precedes_listeners_and_eviction(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock, .max_tasks = 1, .journal = journal};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t;
  assert_int_equal(mol_a2a_store_create(s, NULL, &t), 0);
  assert_int_equal(journaled, 1);
  int seen = journaled;
  assert_int_equal(mol_a2a_task_subscribe(t, listener, &seen, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_WORKING, NULL, NULL), 0);
  json_t *art = json_pack("{s:s,s:[{s:s,s:s}]}", "artifactId", "a1", "parts", "kind", "text",
                          "text", "x");
  assert_int_equal(mol_a2a_task_add_artifact(t, art, 0, 1), 0);
  json_decref(art);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
  assert_int_equal(heard_after_journal, 3);
  int before = journaled;
  mol_a2a_task *t2; /* max_tasks 1: the completed task is evicted, and the journal hears it */
  assert_int_equal(mol_a2a_store_create(s, NULL, &t2), 0);
  assert_int_equal(journaled, before + 2);
  mol_a2a_store_free(s);
}

static json_t *saved(mol_a2a_task *t) { return mol_a2a_task_to_json(t, MOL_A2A_V03, -1); }

static void round_trip_and_order(void **state) {
  (void)state;
  mol_a2a_store *a, *b;
  mol_a2a_store_opts o = {.clock = fake_clock, .max_tasks = 2, .terminal_ttl_ms = 1000};
  assert_int_equal(mol_a2a_store_new(&o, &a), 0);
  mol_a2a_task *t1, *t2;
  assert_int_equal(mol_a2a_store_create(a, "ctx", &t1), 0);
  assert_int_equal(mol_a2a_store_create(a, NULL, &t2), 0);
  json_t *m = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:{s:i}}", "kind", "message", "messageId",
                        "u1", "role", "user", "parts", "kind", "text", "text", "q",
                        "metadata", "k", 1);
  assert_int_equal(mol_a2a_task_add_history(t1, m), 0);
  json_decref(m);
  json_t *art = json_pack("{s:s,s:[{s:s,s:{s:i}}]}", "artifactId", "a1", "parts", "kind", "data",
                          "data", "n", 2);
  assert_int_equal(mol_a2a_task_add_artifact(t1, art, 0, 1), 0);
  json_decref(art);
  json_t *done = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "kind", "message", "messageId", "a1",
                           "role", "agent", "parts", "kind", "text", "text", "done");
  assert_int_equal(mol_a2a_task_set_status(t1, MOL_A2A_STATE_COMPLETED, done, NULL), 0);
  json_decref(done);
  fake_now += 10;
  assert_int_equal(mol_a2a_task_set_status(t2, MOL_A2A_STATE_FAILED, NULL, NULL), 0);
  json_t *j1 = saved(t1), *j2 = saved(t2);
  /* what a durable store writes is that same task */
  mol_buf row = MOL_BUF_INIT;
  assert_int_equal(mol_a2a_task_write(&row, t1), 0);
  json_t *w = json_loadb(row.data, row.len, 0, NULL);
  assert_true(json_equal(w, j1));
  json_decref(w);
  mol_buf_free(&row);
  int64_t e1 = mol_a2a_task_ended_ms(t1), e2 = mol_a2a_task_ended_ms(t2);
  assert_true(e1 > 0 && e2 == e1 + 10);

  assert_int_equal(mol_a2a_store_new(&o, &b), 0);
  mol_a2a_task *r1, *r2;
  mol_a2a_error err = {0};
  assert_int_equal(mol_a2a_store_restore(b, j1, e1, &r1, &err), 0);
  assert_int_equal(mol_a2a_store_restore(b, j2, e2, &r2, &err), 0);
  assert_int_equal(mol_a2a_store_restore(b, j2, e2, &r2, &err), MOL_EEXIST);
  json_t *back = saved(r1);
  assert_true(json_equal(back, j1)); /* history, artifact, status message, timestamp: all */
  json_decref(back);
  assert_int_equal(mol_a2a_task_ended_ms(r1), e1);
  /* the one that ended first goes first, for room and for the TTL */
  mol_a2a_task *r3;
  assert_int_equal(mol_a2a_store_create(b, NULL, &r3), 0);
  assert_null(mol_a2a_store_get(b, json_string_value(json_object_get(j1, "id"))));
  assert_non_null(mol_a2a_store_get(b, json_string_value(json_object_get(j2, "id"))));
  fake_now = e2 + 1000;
  assert_int_equal(mol_a2a_store_sweep(b, fake_now), 1);
  /* what is not a saved task is refused with a reason */
  json_t *junk = json_pack("{s:s,s:s,s:{s:s}}", "id", "x", "contextId", "c", "status", "state",
                           "bogus");
  assert_int_equal(mol_a2a_store_restore(b, junk, 0, &r3, &err), MOL_EINVAL);
  assert_true(err.message[0] != '\0');
  json_decref(junk);
  json_decref(j1);
  json_decref(j2);
  mol_a2a_store_free(a);
  mol_a2a_store_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(journal_precedes_listeners_and_eviction),
      cmocka_unit_test(round_trip_and_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
