/* test_a2a_store.c - the bounded task store: lookup, cap eviction (oldest terminal first, never
 * a live task), TTL sweep, turns (store_begin) and listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a/task.h"
#include "a2a_test_util.h"
#include "molecule.h"

static int64_t fake_now = 0;
static int64_t fake_clock(void *arg) {
  (void)arg;
  return fake_now;
}

static mol_a2a_store *store_with(size_t max_tasks, int64_t ttl) {
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.clock = fake_clock, .max_tasks = max_tasks, .terminal_ttl_ms = ttl};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  return s;
}

/* Creates a task and returns a copy of its id (tasks may be evicted later). */
static char *create(mol_a2a_store *s, mol_a2a_task **out) {
  mol_a2a_task *t;
  assert_int_equal(mol_a2a_store_create(s, NULL, &t), 0);
  if (out) *out = t;
  return strdup(mol_a2a_task_id(t));
}

static void finish(mol_a2a_store *s, const char *id) {
  mol_a2a_task *t = mol_a2a_store_get(s, id);
  assert_non_null(t);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
}

static void lookup_and_ids(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(0, 0);
  mol_a2a_task *t1, *t2, *t3;
  char *a = create(s, &t1), *b = create(s, &t2);
  assert_int_equal(mol_a2a_store_create(s, "ctx-1", &t3), 0);
  assert_string_equal(mol_a2a_task_context_id(t3), "ctx-1");
  assert_string_not_equal(a, b);
  assert_string_not_equal(mol_a2a_task_context_id(t1), mol_a2a_task_context_id(t2));
  assert_ptr_equal(mol_a2a_store_get(s, a), t1);
  assert_ptr_equal(mol_a2a_store_get(s, b), t2);
  assert_null(mol_a2a_store_get(s, "nope"));
  assert_null(mol_a2a_store_get(s, NULL));
  assert_int_equal(mol_a2a_store_count(s), 3);
  assert_int_equal(mol_a2a_task_state_get(t1), MOL_A2A_STATE_SUBMITTED);
  free(a);
  free(b);
  mol_a2a_store_free(s);
}

/* The cap evicts the task that ended first, whatever its creation order; live tasks stay. */
static void cap_evicts_oldest_terminal(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(3, 0);
  char *a = create(s, NULL), *b = create(s, NULL), *c = create(s, NULL);
  finish(s, b);
  finish(s, a);
  char *d = create(s, NULL); /* evicts b, which ended first */
  assert_null(mol_a2a_store_get(s, b));
  assert_non_null(mol_a2a_store_get(s, a));
  assert_int_equal(mol_a2a_store_count(s), 3);
  char *e = create(s, NULL); /* evicts a */
  assert_null(mol_a2a_store_get(s, a));
  /* c, d, e are live: nothing to evict. */
  mol_a2a_task *t;
  assert_int_equal(mol_a2a_store_create(s, NULL, &t), MOL_ELIMIT);
  assert_non_null(mol_a2a_store_get(s, c));
  assert_non_null(mol_a2a_store_get(s, d));
  assert_non_null(mol_a2a_store_get(s, e));
  assert_int_equal(mol_a2a_store_count(s), 3);
  finish(s, d);
  char *f = create(s, NULL);
  assert_null(mol_a2a_store_get(s, d));
  char *all[] = {a, b, c, d, e, f};
  for (size_t i = 0; i < 6; i++) free(all[i]);
  mol_a2a_store_free(s);
}

static void ttl_sweep(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(0, 1000);
  fake_now = 10000;
  char *live = create(s, NULL), *a = create(s, NULL), *b = create(s, NULL);
  finish(s, a);
  fake_now = 10500;
  finish(s, b);
  assert_int_equal(mol_a2a_store_sweep(s, 10999), 0);
  assert_int_equal(mol_a2a_store_sweep(s, 11000), 1);
  assert_null(mol_a2a_store_get(s, a));
  assert_non_null(mol_a2a_store_get(s, b));
  assert_int_equal(mol_a2a_store_sweep(s, 11499), 0);
  assert_int_equal(mol_a2a_store_sweep(s, 99999999), 1);
  assert_null(mol_a2a_store_get(s, b));
  assert_non_null(mol_a2a_store_get(s, live)); /* live tasks never expire */
  assert_int_equal(mol_a2a_store_count(s), 1);
  free(live);
  free(a);
  free(b);
  mol_a2a_store_free(s);
}

/* A task whose final event is being delivered is not evictable, even though it is terminal. */
typedef struct {
  mol_a2a_store *s;
  int create_rc;
  const char *seen_id;
} busy_ctx;

static void create_on_final(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  busy_ctx *c = arg;
  mol_a2a_task *n;
  if (!ev->final) return;
  c->create_rc = mol_a2a_store_create(c->s, NULL, &n);
  c->seen_id = mol_a2a_task_id(t); /* still valid: not evicted under us */
}

static void busy_task_not_evicted(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(1, 0);
  mol_a2a_task *t;
  char *a = create(s, &t);
  busy_ctx c = {.s = s, .create_rc = 1};
  assert_int_equal(mol_a2a_task_subscribe(t, create_on_final, &c, NULL), 0);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_FAILED, NULL, NULL), 0);
  assert_int_equal(c.create_rc, MOL_ELIMIT);
  assert_string_equal(c.seen_id, a);
  assert_int_equal(mol_a2a_store_sweep(s, INT64_MAX), 1); /* idle now */
  free(a);
  mol_a2a_store_free(s);
}

/* A terminal task that a turn still holds (another turn ended it) is neither evicted to make
 * room nor swept, until the hold goes. */
static void held_task_not_evicted(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(1, 1000);
  mol_a2a_task *t, *n;
  char *a = create(s, &t);
  mol_a2a_hold hold;
  mol_a2a_task_hold(t, &hold, NULL, NULL);
  finish(s, a);
  assert_int_equal(mol_a2a_store_create(s, NULL, &n), MOL_ELIMIT);
  assert_int_equal(mol_a2a_store_sweep(s, INT64_MAX), 0);
  assert_int_equal(mol_a2a_store_remove(s, t), MOL_EBUSY);
  assert_ptr_equal(mol_a2a_store_get(s, a), t);
  mol_a2a_task_release(&hold);
  assert_int_equal(mol_a2a_store_create(s, NULL, &n), 0);
  assert_null(mol_a2a_store_get(s, a));
  free(a);
  mol_a2a_store_free(s);
}

/* A turn as the server runs it for a Molecule-shaped message/send: the request's compact
 * message begins the task, the agent's compact reply completes it. */
static mol_a2a_task *typical_turn(mol_a2a_store *s) {
  static const char text[] = "Summarise the quarterly report and list the three biggest risks.";
  mol_a2a_text_span in = {text, sizeof(text) - 1};
  mol_a2a_cmsg *m = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_USER, "0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
                                          NULL, NULL, &in, 1);
  mol_a2a_task *t;
  mol_a2a_error err = {0};
  if (mol_a2a_store_begin(s, &m, &t, &err) != 0) {
    mol_a2a_cmsg_unref(m);
    return NULL;
  }
  mol_a2a_cmsg_unref(m);
  char reply[sizeof(text) + 6];
  snprintf(reply, sizeof(reply), "echo: %s", text);
  mol_a2a_text_span out = {reply, strlen(reply)};
  mol_a2a_cmsg *r = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_AGENT, NULL, mol_a2a_task_context_id(t),
                                          mol_a2a_task_id(t), &out, 1);
  assert_int_equal(mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_COMPLETED, r, NULL), 0);
  mol_a2a_cmsg_unref(r);
  return t;
}

/* The default budget's promise (docs/a2a.md): at 1,000 turns/s a finished task is still there
 * a minute later. */
static void default_budget_keeps_a_minute_at_1000_per_s(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(0, 0);
  fake_now = 0;
  mol_a2a_task *first = typical_turn(s);
  char *id = strdup(mol_a2a_task_id(first));
  for (int i = 1; i <= 60000; i++) {
    fake_now = i; /* one finished turn per millisecond */
    assert_non_null(typical_turn(s));
  }
  mol_a2a_store_stats st;
  mol_a2a_store_stats_get(s, &st);
  assert_int_equal(st.evicted, 0);
  assert_int_equal(st.tasks, 60001);
  assert_true(st.bytes <= MOL_A2A_STORE_DEFAULT_BYTES);
  assert_non_null(mol_a2a_store_get(s, id));
  assert_int_equal(mol_a2a_store_sweep(s, fake_now), 0);
  free(id);
  mol_a2a_store_free(s);
}

/* Past the budget the task that ended first goes first, never a live or held one; the count
 * of evictions follows; with nothing evictable a new task is refused. */
static void budget_evicts_oldest_terminal_first(void **state) {
  (void)state;
  mol_a2a_store *probe = store_with(0, 0);
  assert_non_null(typical_turn(probe));
  mol_a2a_store_stats one;
  mol_a2a_store_stats_get(probe, &one);
  mol_a2a_store_free(probe);
  mol_a2a_store_opts o = {.clock = fake_clock, .max_bytes = one.bytes * 4};
  mol_a2a_store *s;
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *live;
  char *lid = create(s, &live);
  char *ids[6];
  for (int i = 0; i < 3; i++) ids[i] = strdup(mol_a2a_task_id(typical_turn(s)));
  mol_a2a_store_stats st;
  mol_a2a_store_stats_get(s, &st);
  assert_int_equal(st.evicted, 0);
  for (int i = 3; i < 6; i++) ids[i] = strdup(mol_a2a_task_id(typical_turn(s)));
  mol_a2a_store_stats_get(s, &st);
  assert_true(st.evicted >= 1 && st.evicted < 6);
  for (int i = 0; i < 6; i++)
    assert_true((mol_a2a_store_get(s, ids[i]) == NULL) == ((unsigned long long)i < st.evicted));
  assert_ptr_equal(mol_a2a_store_get(s, lid), live);
  assert_true(st.bytes <= o.max_bytes + one.bytes); /* counted when created, grown by its turn */
  /* Nothing evictable: refused, nothing dropped. */
  mol_a2a_hold holds[6];
  int n = 0;
  for (int i = 0; i < 6; i++) {
    mol_a2a_task *t = mol_a2a_store_get(s, ids[i]);
    if (t) mol_a2a_task_hold(t, &holds[n++], NULL, NULL);
  }
  mol_a2a_task *t;
  while (mol_a2a_store_create(s, NULL, &t) == 0) {}
  assert_int_equal(mol_a2a_store_create(s, NULL, &t), MOL_ELIMIT);
  for (int i = 0; i < n; i++) mol_a2a_task_release(&holds[i]);
  for (int i = 0; i < 6; i++) free(ids[i]);
  free(lid);
  mol_a2a_store_free(s);
}

static mol_a2a_cmsg *user_msg(const char *task_id, const char *context_id) {
  json_t *m = mol_a2a_message_new(MOL_A2A_ROLE_USER, "hello");
  if (task_id) json_object_set_new(m, "taskId", json_string(task_id));
  if (context_id) json_object_set_new(m, "contextId", json_string(context_id));
  return mol_a2a_cmsg_wrap(m);
}

static void ignore_cancel(mol_a2a_task *t, void *arg) {
  (void)t;
  (void)arg; /* a turn that takes its time to stop */
}

static void begin_turns(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(2, 0);
  mol_a2a_error err = {0};
  mol_a2a_task *t, *again;
  mol_a2a_cmsg *m1 = user_msg(NULL, "ctx");
  mol_a2a_cmsg *held = mol_a2a_cmsg_ref(m1); /* shared: begin completes a copy */
  assert_int_equal(mol_a2a_store_begin(s, &m1, &t, &err), 0);
  assert_ptr_not_equal(m1, held);
  assert_null(mol_a2a_cmsg_task_id(held));
  mol_a2a_cmsg_unref(held);
  assert_string_equal(mol_a2a_task_context_id(t), "ctx");
  assert_string_equal(mol_a2a_cmsg_task_id(m1), mol_a2a_task_id(t));
  assert_int_equal(mol_a2a_task_history_len(t), 1);
  assert_ptr_equal(mol_a2a_task_history_at(t, 0), m1);
  /* continuation by taskId only, held compactly: gets the task's context, in place */
  mol_a2a_text_span hello = {"hello", 5};
  mol_a2a_cmsg *m2 = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_USER, NULL, NULL, mol_a2a_task_id(t),
                                           &hello, 1);
  mol_a2a_cmsg *before = m2;
  assert_int_equal(mol_a2a_store_begin(s, &m2, &again, &err), 0);
  assert_ptr_equal(again, t);
  assert_ptr_equal(m2, before);
  assert_string_equal(mol_a2a_cmsg_context_id(m2), "ctx");
  assert_string_equal(json_string_value(json_object_get(mol_a2a_cmsg_json(m2), "contextId")), "ctx");
  assert_int_equal(mol_a2a_task_history_len(t), 2);
  /* errors */
  mol_a2a_cmsg *m3 = user_msg("nope", NULL);
  assert_int_equal(mol_a2a_store_begin(s, &m3, &again, &err), MOL_EINVAL);
  assert_int_equal(err.code, MOL_A2A_TASK_NOT_FOUND);
  mol_a2a_cmsg *m4 = user_msg(mol_a2a_task_id(t), "other");
  assert_int_equal(mol_a2a_store_begin(s, &m4, &again, &err), MOL_EINVAL);
  assert_int_equal(err.code, MOL_A2A_INVALID_PARAMS);
  /* a task being canceled takes no new turn: its running turns are on their way out */
  mol_a2a_hold hold;
  mol_a2a_task_hold(t, &hold, ignore_cancel, NULL);
  assert_int_equal(mol_a2a_task_request_cancel(t), 0);
  mol_a2a_cmsg *m4b = user_msg(mol_a2a_task_id(t), NULL);
  assert_int_equal(mol_a2a_store_begin(s, &m4b, &again, &err), MOL_EINVAL);
  assert_int_equal(err.code, MOL_A2A_UNSUPPORTED_OPERATION);
  assert_non_null(strstr(err.message, "being canceled"));
  mol_a2a_cmsg_unref(m4b);
  mol_a2a_task_release(&hold);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
  mol_a2a_cmsg *m5 = user_msg(mol_a2a_task_id(t), NULL);
  assert_int_equal(mol_a2a_store_begin(s, &m5, &again, &err), MOL_EINVAL);
  assert_int_equal(err.code, MOL_A2A_UNSUPPORTED_OPERATION); /* terminal: -32004, as v1.0 says */
  /* store full of live tasks -> -32603 */
  mol_a2a_cmsg *m6 = user_msg(NULL, NULL), *m7 = user_msg(NULL, NULL), *m8 = user_msg(NULL, NULL);
  assert_int_equal(mol_a2a_store_begin(s, &m6, &again, &err), 0); /* evicts the completed one */
  assert_int_equal(mol_a2a_store_begin(s, &m7, &again, &err), 0);
  assert_int_equal(mol_a2a_store_begin(s, &m8, &again, &err), MOL_EINVAL);
  assert_int_equal(err.code, MOL_A2A_INTERNAL_ERROR);
  mol_a2a_cmsg *all[] = {m1, m2, m3, m4, m5, m6, m7, m8};
  for (size_t i = 0; i < 8; i++) mol_a2a_cmsg_unref(all[i]);
  mol_a2a_store_free(s);
}

static size_t query(mol_a2a_store *s, const mol_a2a_task_query *q, mol_a2a_task **out,
                    size_t cap, size_t *n, int *more) {
  size_t total;
  assert_int_equal(mol_a2a_store_query(s, q, out, cap, n, &total, more), 0);
  return total;
}

/* ListTasks: most recently updated first, filters, a (time, id) cursor. */
static void list_filter_and_pages(void **state) {
  (void)state;
  mol_a2a_store *s = store_with(0, 0);
  mol_a2a_task *t[5];
  for (int i = 0; i < 5; i++) {
    fake_now = 1000 + i;
    assert_int_equal(mol_a2a_store_create(s, i % 2 ? "odd" : "even", &t[i]), 0);
  }
  fake_now = 2000;
  assert_int_equal(mol_a2a_task_set_status(t[2], MOL_A2A_STATE_WORKING, NULL, NULL), 0);
  mol_a2a_task *out[5];
  size_t n;
  int more;
  mol_a2a_task_query all = {.status_after_ms = INT64_MIN};
  assert_int_equal(query(s, &all, out, 5, &n, &more), 5);
  assert_int_equal(n, 5);
  assert_false(more);
  assert_ptr_equal(out[0], t[2]); /* updated last */
  assert_ptr_equal(out[1], t[4]);
  assert_ptr_equal(out[4], t[0]);
  mol_a2a_task_query even = {.context_id = "even", .status_after_ms = INT64_MIN};
  assert_int_equal(query(s, &even, out, 1, &n, &more), 3);
  assert_ptr_equal(out[0], t[2]);
  assert_true(more);
  even.after_ms = mol_a2a_task_status_ms(t[2]);
  even.after_id = mol_a2a_task_id(t[2]);
  assert_int_equal(query(s, &even, out, 5, &n, &more), 3); /* the total is before paging */
  assert_int_equal(n, 2);
  assert_ptr_equal(out[0], t[4]);
  assert_ptr_equal(out[1], t[0]);
  mol_a2a_task_query working = {.state = MOL_A2A_STATE_WORKING, .status_after_ms = INT64_MIN};
  assert_int_equal(query(s, &working, out, 5, &n, &more), 1);
  assert_ptr_equal(out[0], t[2]);
  mol_a2a_task_query recent = {.status_after_ms = 1003};
  assert_int_equal(query(s, &recent, out, 5, &n, &more), 3); /* t[2], t[4], t[3]: at or after */
  mol_a2a_task_query none = {.context_id = "none", .status_after_ms = INT64_MIN};
  assert_int_equal(query(s, &none, out, 5, &n, &more), 0);
  mol_a2a_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(lookup_and_ids),
    cmocka_unit_test(cap_evicts_oldest_terminal),
    cmocka_unit_test(ttl_sweep),
    cmocka_unit_test(busy_task_not_evicted),
    cmocka_unit_test(held_task_not_evicted),
    cmocka_unit_test(default_budget_keeps_a_minute_at_1000_per_s),
    cmocka_unit_test(budget_evicts_oldest_terminal_first),
    cmocka_unit_test(begin_turns),
    cmocka_unit_test(list_filter_and_pages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
