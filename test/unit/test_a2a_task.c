/* test_a2a_task.c - the task state machine, history, artifacts, listeners and cancellation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a/task.h"
#include "a2a_test_util.h"
#include "base/json.h"
#include "molecule.h"

static int64_t fake_now = 1000;
static int64_t fake_clock(void *arg) {
  (void)arg;
  return fake_now;
}

static mol_a2a_store *new_store(void) {
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  return s;
}

static mol_a2a_task *new_task(mol_a2a_store *s) {
  mol_a2a_task *t;
  assert_int_equal(mol_a2a_store_create(s, NULL, &t), 0);
  return t;
}

/* ---- state machine --------------------------------------------------------------------- */

#define S(x) MOL_A2A_STATE_##x
static const mol_a2a_task_state k_states[] = {S(UNKNOWN), S(SUBMITTED), S(WORKING),
                                              S(INPUT_REQUIRED), S(AUTH_REQUIRED), S(COMPLETED),
                                              S(CANCELED), S(FAILED), S(REJECTED)};
#define N_STATES 9

/* legal[from][to], in k_states order. */
static const int k_legal[N_STATES][N_STATES] = {
  /* to:        UNK SUB WRK IR  AR  CMP CAN FAI REJ */
  /* UNKNOWN */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
  /* SUBMIT  */ {0, 0, 1, 1, 1, 1, 1, 1, 1},
  /* WORKING */ {0, 0, 1, 1, 1, 1, 1, 1, 0},
  /* INPUT   */ {0, 0, 1, 0, 0, 1, 1, 1, 0},
  /* AUTH    */ {0, 0, 1, 0, 0, 1, 1, 1, 0},
  /* COMPLET */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
  /* CANCEL  */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
  /* FAILED  */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
  /* REJECT  */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
};

static void transition_table(void **state) {
  (void)state;
  for (int f = 0; f < N_STATES; f++)
    for (int t = 0; t < N_STATES; t++)
      assert_int_equal(mol_a2a_state_can_transition(k_states[f], k_states[t]), k_legal[f][t]);
}

/* Every pair applied to a real task: legal ones succeed, illegal ones fail with the right code
 * and leave the task unchanged. */
static void transitions_on_tasks(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  for (int f = 1; f < N_STATES; f++) {
    for (int t = 0; t < N_STATES; t++) {
      mol_a2a_task *task = new_task(s);
      if (k_states[f] != S(SUBMITTED))
        assert_int_equal(mol_a2a_task_set_status(task, k_states[f], NULL, NULL), 0);
      int rc = mol_a2a_task_set_status(task, k_states[t], NULL, NULL);
      if (k_legal[f][t]) {
        assert_int_equal(rc, 0);
        assert_int_equal(mol_a2a_task_state_get(task), k_states[t]);
      } else {
        assert_int_equal(rc, mol_a2a_state_is_terminal(k_states[f]) ? MOL_A2A_ETERMINAL
                                                                     : MOL_A2A_EILLEGAL);
        assert_int_equal(mol_a2a_task_state_get(task), k_states[f]);
      }
    }
  }
  mol_a2a_store_free(s);
}

static void state_names(void **state) {
  (void)state;
  mol_a2a_task_state st;
  assert_string_equal(mol_a2a_state_name(S(INPUT_REQUIRED), MOL_A2A_V03), "input-required");
  assert_string_equal(mol_a2a_state_name(S(AUTH_REQUIRED), MOL_A2A_V10), "TASK_STATE_AUTH_REQUIRED");
  assert_int_equal(mol_a2a_state_parse("TASK_STATE_CANCELED", &st), 0);
  assert_int_equal(st, S(CANCELED));
  assert_int_equal(mol_a2a_state_parse("rejected", &st), 0);
  assert_int_equal(st, S(REJECTED));
  assert_int_equal(mol_a2a_state_parse("nope", &st), MOL_EINVAL);
  assert_true(mol_a2a_state_is_interrupted(S(INPUT_REQUIRED)));
  assert_false(mol_a2a_state_is_terminal(S(INPUT_REQUIRED)));
  assert_string_equal(mol_a2a_role_name(MOL_A2A_ROLE_AGENT, MOL_A2A_V10), "ROLE_AGENT");
}

/* ---- terminal immutability, history ---------------------------------------------------- */

static void noop_listener(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  (void)t;
  (void)ev;
  (void)arg;
}

static void terminal_is_immutable(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, "done");
  json_t *art = mol_a2a_artifact_new("a", "x", NULL);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), msg, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), MOL_A2A_ETERMINAL);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), NULL, NULL), MOL_A2A_ETERMINAL);
  assert_int_equal(mol_a2a_task_add_artifact(t, art, 0, 1), MOL_A2A_ETERMINAL);
  assert_int_equal(mol_a2a_task_add_history(t, msg), MOL_A2A_ETERMINAL);
  assert_int_equal(mol_a2a_task_subscribe(t, noop_listener, NULL, NULL), MOL_A2A_ETERMINAL);
  assert_int_equal(mol_a2a_task_request_cancel(t), MOL_A2A_ETERMINAL);
  assert_int_equal(json_array_size(mol_a2a_task_artifacts(t)), 0);
  /* The agent's status message got the task's ids. */
  const json_t *sm = mol_a2a_cmsg_json(mol_a2a_task_status_message(t));
  assert_string_equal(mol_a2a_msg_task_id(sm), mol_a2a_task_id(t));
  assert_string_equal(mol_a2a_msg_context_id(sm), mol_a2a_task_context_id(t));
  json_decref(msg);
  json_decref(art);
  mol_a2a_store_free(s);
}

static json_t *numbered_msg(int i) {
  char text[16];
  snprintf(text, sizeof(text), "m%d", i);
  return mol_a2a_message_new(MOL_A2A_ROLE_USER, text);
}

/* Works on both wire shapes: the text of the first part of history[i]. */
static void history_text_at(json_t *task_json, size_t i, const char *want) {
  json_t *msg = json_array_get(json_object_get(task_json, "history"), i);
  json_t *part = json_array_get(json_object_get(msg, "parts"), 0);
  assert_string_equal(json_string_value(json_object_get(part, "text")), want);
}

static void history_trimming(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  for (int i = 0; i < 5; i++) {
    json_t *m = numbered_msg(i);
    assert_int_equal(mol_a2a_task_add_history(t, m), 0);
    json_decref(m);
  }
  json_t *all = mol_a2a_task_to_json(t, MOL_A2A_V03, -1);
  assert_int_equal(json_array_size(json_object_get(all, "history")), 5);
  json_t *none = mol_a2a_task_to_json(t, MOL_A2A_V03, 0);
  assert_null(json_object_get(none, "history"));
  json_t *two = mol_a2a_task_to_json(t, MOL_A2A_V10, 2);
  assert_int_equal(json_array_size(json_object_get(two, "history")), 2);
  history_text_at(two, 0, "m3");
  history_text_at(two, 1, "m4");
  assert_null(json_object_get(two, "kind"));
  json_t *many = mol_a2a_task_to_json(t, MOL_A2A_V03, 50);
  assert_int_equal(json_array_size(json_object_get(many, "history")), 5);
  assert_string_equal(json_string_value(json_object_get(many, "kind")), "task");
  json_decref(all);
  json_decref(none);
  json_decref(two);
  json_decref(many);
  mol_a2a_store_free(s);
}

static void history_bound_and_status_messages(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock, .max_history = 3};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t = new_task(s);
  for (int i = 0; i < 5; i++) {
    json_t *m = numbered_msg(i);
    assert_int_equal(mol_a2a_task_add_history(t, m), 0);
    json_decref(m);
  }
  assert_int_equal(mol_a2a_task_history_len(t), 3);
  json_t *j = mol_a2a_task_to_json(t, MOL_A2A_V03, -1);
  history_text_at(j, 0, "m2");
  json_decref(j);
  /* A replaced status message moves into the history (oldest dropped). */
  json_t *w = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, "thinking");
  json_t *d = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, "done");
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), w, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), d, NULL), 0);
  j = mol_a2a_task_to_json(t, MOL_A2A_V03, -1);
  history_text_at(j, 2, "thinking");
  char *st = mol_a2a_parts_text(mol_json_path(j, "status.message"));
  assert_string_equal(st, "done");
  free(st);
  json_decref(j);
  json_decref(w);
  json_decref(d);
  mol_a2a_store_free(s);
}

/* ---- artifacts ------------------------------------------------------------------------- */

static json_t *chunk(const char *id, const char *text) {
  json_t *parts = json_array();
  json_array_append_new(parts, mol_a2a_part_text(text));
  return mol_a2a_artifact_new(id, "reply", parts);
}

static void add_chunk(mol_a2a_task *t, const char *id, const char *text, int append, int last,
                      int want) {
  json_t *c = chunk(id, text);
  assert_int_equal(mol_a2a_task_add_artifact(t, c, append, last), want);
  json_decref(c);
}

static char *artifact_text(mol_a2a_task *t, size_t i) {
  return mol_a2a_parts_text(json_array_get(mol_a2a_task_artifacts(t), i));
}

static void expect_artifact(mol_a2a_task *t, size_t i, const char *want) {
  char *txt = artifact_text(t, i);
  assert_string_equal(txt, want);
  free(txt);
}

static void artifact_chunks(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  add_chunk(t, "a1", "Hel", 0, 0, 0);
  add_chunk(t, "a1", "lo", 1, 0, 0);
  add_chunk(t, "a1", "!", 1, 1, 0);
  expect_artifact(t, 0, "Hello!");
  assert_int_equal(json_array_size(json_object_get(json_array_get(mol_a2a_task_artifacts(t), 0), "parts")), 3);
  add_chunk(t, "a1", "late", 1, 0, MOL_EINVAL); /* closed by lastChunk */
  expect_artifact(t, 0, "Hello!");
  add_chunk(t, "a1", "new", 0, 0, 0); /* a replacement reopens it */
  expect_artifact(t, 0, "new");
  add_chunk(t, "a1", "er", 1, 0, 0);
  expect_artifact(t, 0, "newer");
  add_chunk(t, "a2", "solo", 1, 1, 0); /* append with nothing to append to: added */
  expect_artifact(t, 1, "solo");
  assert_int_equal(json_array_size(mol_a2a_task_artifacts(t)), 2);
  json_t *bad = json_pack("{s:[]}", "parts");
  assert_int_equal(mol_a2a_task_add_artifact(t, bad, 0, 0), MOL_EINVAL);
  json_decref(bad);
  mol_a2a_store_free(s);
}

/* ---- listeners ------------------------------------------------------------------------- */

typedef struct rec {
  char log[1024];
  int finals;
  mol_a2a_listener *self;
  mol_a2a_listener *victim; /* unsubscribed on the first event */
  mol_a2a_task_state raise_on; /* raise an artifact event from inside the callback */
  int subscribe_late;        /* subscribe `late` on the first event */
  struct rec *late;
} rec;

static void rec_fn(mol_a2a_task *t, const mol_a2a_event *ev, void *arg);

static void rec_note(rec *r, const mol_a2a_event *ev) {
  char item[96];
  if (ev->kind == MOL_A2A_EV_STATUS)
    snprintf(item, sizeof(item), "%s%s;", mol_a2a_state_name(ev->state, MOL_A2A_V03),
             ev->final ? "!" : "");
  else if (ev->kind == MOL_A2A_EV_ARTIFACT)
    snprintf(item, sizeof(item), "art:%s%s;",
             json_string_value(json_object_get(ev->artifact, "artifactId")),
             ev->last_chunk ? "." : "");
  else
    snprintf(item, sizeof(item), "closed!;");
  strncat(r->log, item, sizeof(r->log) - strlen(r->log) - 1);
  if (ev->final) r->finals++;
}

static void rec_fn(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  rec *r = arg;
  rec_note(r, ev);
  if (r->victim) {
    mol_a2a_task_unsubscribe(t, r->victim);
    r->victim = NULL;
  }
  if (r->subscribe_late) {
    r->subscribe_late = 0;
    assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, r->late, NULL), 0);
  }
  if (ev->kind == MOL_A2A_EV_STATUS && ev->state == r->raise_on) {
    r->raise_on = MOL_A2A_STATE_UNKNOWN;
    add_chunk(t, "n", "nested", 0, 1, 0);
  }
}

static void listeners_same_order(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  rec a = {0}, b = {0};
  a.raise_on = S(WORKING); /* A raises an event while B has not yet seen "working" */
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &a, NULL), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &b, NULL), 0);
  assert_int_equal(mol_a2a_task_listener_count(t), 2);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  add_chunk(t, "a1", "x", 0, 1, 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), NULL, NULL), 0);
  assert_string_equal(a.log, "working;art:n.;art:a1.;completed!;");
  assert_string_equal(b.log, a.log);
  assert_int_equal(a.finals, 1);
  assert_int_equal(b.finals, 1);
  assert_int_equal(mol_a2a_task_listener_count(t), 0); /* dropped after the final event */
  mol_a2a_store_free(s);
}

static void unsubscribe_during_dispatch(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  rec a = {0}, b = {0}, c = {0}, late = {0};
  mol_a2a_listener *lb, *lc;
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &a, NULL), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &b, &lb), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &c, &lc), 0);
  a.victim = lc;      /* A removes C before C sees the first event */
  b.victim = lb;      /* B removes itself */
  a.subscribe_late = 1;
  a.late = &late;
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(INPUT_REQUIRED), NULL, NULL), 0);
  assert_string_equal(a.log, "working;input-required!;");
  assert_string_equal(b.log, "working;");
  assert_string_equal(c.log, "");
  assert_string_equal(late.log, "input-required!;"); /* started with the next event */
  assert_int_equal(mol_a2a_task_listener_count(t), 0);
  /* An interrupted task takes new listeners (the client continues it). */
  rec d = {0};
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &d, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  assert_string_equal(d.log, "working;");
  /* Store shutdown: one final CLOSED event for the live task's listener. */
  mol_a2a_store_free(s);
  assert_string_equal(d.log, "working;closed!;");
  assert_int_equal(d.finals, 1);
}

static void listener_bound(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock, .max_listeners = 2};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *t = new_task(s);
  mol_a2a_listener *l;
  assert_int_equal(mol_a2a_task_subscribe(t, noop_listener, NULL, &l), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, noop_listener, NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, noop_listener, NULL, NULL), MOL_ELIMIT);
  mol_a2a_task_unsubscribe(t, l);
  assert_int_equal(mol_a2a_task_subscribe(t, noop_listener, NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, NULL, NULL, NULL), MOL_EINVAL);
  mol_a2a_store_free(s);
}

/* ---- cancellation ---------------------------------------------------------------------- */

typedef struct {
  int calls;
  int finish_inside;
} hook_ctx;

static void cancel_hook(mol_a2a_task *t, void *arg) {
  hook_ctx *h = arg;
  h->calls++;
  assert_true(mol_a2a_task_cancel_requested(t));
  assert_int_equal(mol_a2a_task_request_cancel(t), 0); /* re-entry: no second call */
  if (h->finish_inside) assert_int_equal(mol_a2a_task_finish_canceled(t, NULL), 0);
}

static void cancel_hook_once(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  /* The executor finishes later. */
  mol_a2a_task *t = new_task(s);
  hook_ctx h = {0};
  rec r = {0};
  mol_a2a_hold hold;
  mol_a2a_task_hold(t, &hold, cancel_hook, &h);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &r, NULL), 0);
  assert_int_equal(mol_a2a_task_request_cancel(t), 0);
  assert_int_equal(mol_a2a_task_request_cancel(t), 0);
  assert_int_equal(h.calls, 1);
  assert_int_equal(mol_a2a_task_state_get(t), S(WORKING));
  assert_int_equal(mol_a2a_task_finish_canceled(t, NULL), 0);
  assert_int_equal(mol_a2a_task_state_get(t), S(CANCELED));
  assert_string_equal(r.log, "canceled!;");
  assert_int_equal(mol_a2a_task_request_cancel(t), MOL_A2A_ETERMINAL); /* -> -32002 */
  assert_int_equal(h.calls, 1);
  mol_a2a_task_release(&hold);
  /* The executor finishes from inside the hook. */
  mol_a2a_task *t2 = new_task(s);
  hook_ctx h2 = {.finish_inside = 1};
  mol_a2a_hold hold2;
  mol_a2a_task_hold(t2, &hold2, cancel_hook, &h2);
  assert_int_equal(mol_a2a_task_request_cancel(t2), 0);
  assert_int_equal(h2.calls, 1);
  assert_int_equal(mol_a2a_task_state_get(t2), S(CANCELED));
  mol_a2a_task_release(&hold2);
  mol_a2a_task_release(&hold2); /* twice is harmless */
  /* No executor hook: canceled at once. */
  mol_a2a_task *t3 = new_task(s);
  assert_int_equal(mol_a2a_task_set_status(t3, S(INPUT_REQUIRED), NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_request_cancel(t3), 0);
  assert_int_equal(mol_a2a_task_state_get(t3), S(CANCELED));
  mol_a2a_store_free(s);
}

/* Two turns on one task: cancel reaches both, once each, however they end; a turn that ends
 * the task asks the other to stop; a disarmed hold is never called. */
typedef struct {
  mol_a2a_hold hold;
  int calls, end_inside;
} turn_ctx;

static void turn_cancel(mol_a2a_task *t, void *arg) {
  turn_ctx *c = arg;
  c->calls++;
  if (c->end_inside) {
    mol_a2a_task_disarm(&c->hold);
    mol_a2a_task_finish_canceled(t, NULL); /* the first ends the task; the second gets ETERMINAL */
    mol_a2a_task_release(&c->hold);
  }
}

static void cancel_reaches_every_turn(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  turn_ctx a = {.end_inside = 1}, b = {.end_inside = 1}, quiet = {0};
  mol_a2a_task_hold(t, &a.hold, turn_cancel, &a);
  mol_a2a_task_hold(t, &b.hold, turn_cancel, &b);
  mol_a2a_task_hold(t, &quiet.hold, turn_cancel, &quiet);
  mol_a2a_task_disarm(&quiet.hold);
  assert_int_equal(mol_a2a_task_holds(t), 3);
  assert_int_equal(mol_a2a_task_request_cancel(t), 0);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(quiet.calls, 0);
  assert_int_equal(mol_a2a_task_state_get(t), S(CANCELED));
  assert_int_equal(mol_a2a_task_holds(t), 1); /* quiet still holds it */
  assert_int_equal(mol_a2a_store_remove(s, t), MOL_EBUSY);
  mol_a2a_task_release(&quiet.hold);
  assert_int_equal(mol_a2a_store_remove(s, t), 0);

  /* One turn completes the task: the other is asked to stop, once; the ender is not. */
  t = new_task(s);
  turn_ctx ender = {0}, other = {0};
  mol_a2a_task_hold(t, &ender.hold, turn_cancel, &ender);
  mol_a2a_task_hold(t, &other.hold, turn_cancel, &other);
  mol_a2a_task_disarm(&ender.hold);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), NULL, NULL), 0);
  mol_a2a_task_release(&ender.hold);
  assert_int_equal(ender.calls, 0);
  assert_int_equal(other.calls, 1);
  assert_int_equal(mol_a2a_task_request_cancel(t), MOL_A2A_ETERMINAL);
  assert_int_equal(other.calls, 1);
  mol_a2a_task_release(&other.hold);

  /* An interrupted state is not an ending: the other turn runs on. */
  t = new_task(s);
  turn_ctx asker = {0}, runner = {0};
  mol_a2a_task_hold(t, &asker.hold, turn_cancel, &asker);
  mol_a2a_task_hold(t, &runner.hold, turn_cancel, &runner);
  mol_a2a_task_disarm(&asker.hold);
  assert_int_equal(mol_a2a_task_set_status(t, S(INPUT_REQUIRED), NULL, NULL), 0);
  mol_a2a_task_release(&asker.hold);
  assert_int_equal(runner.calls, 0);
  mol_a2a_task_release(&runner.hold);
  mol_a2a_store_free(s);
}

static void event_json_metadata(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  json_t *meta = json_pack("{s:i}", "k", 1);
  assert_int_equal(mol_a2a_task_set_metadata(t, meta), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, meta), 0);
  json_t *j = mol_a2a_task_to_json(t, MOL_A2A_V10, -1);
  assert_true(json_equal(json_object_get(j, "metadata"), meta));
  assert_string_equal(mol_json_str(j, "status.state"), "TASK_STATE_WORKING");
  json_decref(j);
  assert_int_equal(mol_a2a_task_set_metadata(t, NULL), 0);
  j = mol_a2a_task_to_json(t, MOL_A2A_V03, -1);
  assert_null(json_object_get(j, "metadata"));
  json_decref(j);
  json_decref(meta);
  mol_a2a_store_free(s);
}

/* The store formats a timestamp once per millisecond and rewrites only the milliseconds within
 * a second: every status still carries its own clock reading, whichever way the clock moves. */
static void status_timestamps_follow_the_clock(void **state) {
  (void)state;
  static const struct {
    int64_t ms;
    const char *want;
  } steps[] = {
      {1999, "1970-01-01T00:00:01.999Z"},           /* same second as the task's creation */
      {1999, "1970-01-01T00:00:01.999Z"},           /* same millisecond */
      {2000, "1970-01-01T00:00:02.000Z"},           /* next second */
      {1500, "1970-01-01T00:00:01.500Z"},           /* back into an earlier second */
      {86461001, "1970-01-02T00:01:01.001Z"},       /* another day */
      {86461099, "1970-01-02T00:01:01.099Z"},
      {-1, "1969-12-31T23:59:59.999Z"},             /* before the epoch: ms / 1000 is 0 too */
      {0, "1970-01-01T00:00:00.000Z"},
      {1765000000123, "2025-12-06T05:46:40.123Z"},
      {1765000000007, "2025-12-06T05:46:40.007Z"},
  };
  mol_a2a_store *s = new_store();
  fake_now = 1000;
  mol_a2a_task *t = new_task(s);
  assert_string_equal(mol_a2a_task_timestamp(t), "1970-01-01T00:00:01.000Z");
  for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
    fake_now = steps[i].ms;
    mol_a2a_task_state to = i % 2 ? S(INPUT_REQUIRED) : S(WORKING);
    assert_int_equal(mol_a2a_task_set_status(t, to, NULL, NULL), 0);
    assert_string_equal(mol_a2a_task_timestamp(t), steps[i].want);
    assert_int_equal(mol_a2a_task_status_ms(t), steps[i].ms);
  }
  mol_a2a_task *u = new_task(s); /* a new task in the same millisecond */
  assert_string_equal(mol_a2a_task_timestamp(u), "2025-12-06T05:46:40.007Z");
  fake_now = 1000;
  mol_a2a_store_free(s);
}

/* A status change nobody listens to raises no event; a listener that comes later hears every
 * change from then on, in order, with the final one last. */
static void unheard_changes_then_a_listener(void **state) {
  (void)state;
  mol_a2a_store *s = new_store();
  mol_a2a_task *t = new_task(s);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(INPUT_REQUIRED), NULL, NULL), 0);
  rec a = {0};
  assert_int_equal(mol_a2a_task_subscribe(t, rec_fn, &a, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(WORKING), NULL, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, S(COMPLETED), NULL, NULL), 0);
  assert_string_equal(a.log, "working;completed!;");
  assert_int_equal(a.finals, 1);
  mol_a2a_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(transition_table),
    cmocka_unit_test(transitions_on_tasks),
    cmocka_unit_test(state_names),
    cmocka_unit_test(terminal_is_immutable),
    cmocka_unit_test(history_trimming),
    cmocka_unit_test(history_bound_and_status_messages),
    cmocka_unit_test(artifact_chunks),
    cmocka_unit_test(listeners_same_order),
    cmocka_unit_test(unsubscribe_during_dispatch),
    cmocka_unit_test(listener_bound),
    cmocka_unit_test(cancel_hook_once),
    cmocka_unit_test(cancel_reaches_every_turn),
    cmocka_unit_test(event_json_metadata),
    cmocka_unit_test(status_timestamps_follow_the_clock),
    cmocka_unit_test(unheard_changes_then_a_listener),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
