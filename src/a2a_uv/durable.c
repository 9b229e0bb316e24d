/* durable.c - the durable task store on the loop (durable.h): the dirty set the store's journal
 * fills, the commit once per iteration, the replies held until it, and the restart rule.
 *
 * Group commit. A reply that reports a task whose change is not committed yet is held, and
 * the first one held in an iteration starts a check handle (it runs after the poll callbacks
 * that made the changes) and an idle handle (so that a reply held after the check phase, in a
 * close callback, does not wait for the next poll's events). The check writes the tasks the
 * held replies report, all in one transaction (every dirty task when a reply reports many: a
 * task list), then releases the held replies in the order they were given: a connection's
 * answers and a stream's events keep their order. A change no reply has reported yet (the
 * working and artifact steps of a turn nobody streams) waits up to LAZY_MS and is written
 * with the rest then: on a kill -9 in between the task goes back to its last reported state,
 * which is all a client can have seen. When the COMMIT fails (a full disk) the replies stay
 * held and everything is retried every second: no reply reports a state the database lacks,
 * and the log says why they wait. */
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/durable_int.h"
#include "base/log.h"
#include "molecule.h"

#define RETRY_MS 1000
#define LAZY_MS 100

static const char RESTARTED[] =
    "The agent restarted while this task was in progress, so the task did not finish. "
    "Send the request again.";

/* ---- the tick ------------------------------------------------------------------------------ */

static void release_held(mol_a2a_durable *d) {
  /* Releasing may run code that holds again (nothing is pending then, so it does not): take
   * the list first all the same. */
  held_reply *h = d->held;
  d->held = NULL;
  d->held_tail = &d->held;
  while (h) {
    held_reply *next = h->next;
    d->release(h->kind, h->r, h->event, h->body);
    free(h);
    h = next;
  }
}

static void stop_ticking(mol_a2a_durable *d) {
  if (!d->ticking) return;
  d->ticking = 0;
  uv_check_stop(&d->check);
  uv_idle_stop(&d->idle);
}

static void on_retry(uv_timer_t *t);

/* Writes `set` (d->dirty: everything; d->urgent: what held replies report), then releases the
 * held replies. A failed commit keeps everything as it was and retries every second. */
static void commit(mol_a2a_durable *d, json_t *set) {
  if (json_object_size(set) && mol_a2a__durable_db_commit(d, set) != 0) {
    if (d->stats.commit_errors == 1 || d->stats.commit_errors % 60 == 0)
      mol_loge("a2a", "task store: commit failed (%llu times); replies wait for it",
               d->stats.commit_errors);
    stop_ticking(d);
    if (d->handles_open) uv_timer_start(&d->retry, on_retry, RETRY_MS, 0);
    return;
  }
  d->all_urgent = 0;
  stop_ticking(d);
  if (d->handles_open) {
    uv_timer_stop(&d->retry);
    if (!json_object_size(d->dirty)) uv_timer_stop(&d->lazy);
  }
  release_held(d);
}

static void commit_all(mol_a2a_durable *d) { commit(d, d->dirty); }

static void on_retry(uv_timer_t *t) { commit_all(t->data); }

static void on_lazy(uv_timer_t *t) { commit_all(t->data); }

/* The end of an iteration in which replies were held: only what they report is written now. */
static void on_check(uv_check_t *c) {
  mol_a2a_durable *d = c->data;
  commit(d, d->all_urgent ? d->dirty : d->urgent);
}

static void on_idle(uv_idle_t *i) { (void)i; /* only keeps the poll phase from blocking */ }

static void start_ticking(mol_a2a_durable *d) {
  if (d->ticking || !d->handles_open || uv_is_active((uv_handle_t *)&d->retry)) return;
  d->ticking = 1;
  uv_check_start(&d->check, on_check);
  uv_idle_start(&d->idle, on_idle);
}

/* A change nobody has been told of yet waits up to LAZY_MS, so that the steps of a turn no
 * reply reports (working, an artifact, then completed) cost one write, not one each. */
void mol_a2a__durable_note(const mol_a2a_task *t, void *arg) {
  mol_a2a_durable *d = arg;
  if (!d->store) return;
  if (json_object_set_new(d->dirty, mol_a2a_task_id(t), json_true()) != 0) {
    /* Cannot remember it: write everything now rather than forget a change. */
    mol_a2a__durable_flush(d);
    return;
  }
  if (d->handles_open && !uv_is_active((uv_handle_t *)&d->lazy))
    uv_timer_start(&d->lazy, on_lazy, LAZY_MS, 0);
}

/* Whether the reply waits: when what it reports is not committed yet, and when replies before
 * it wait (a connection's answers and a stream's events keep their order). */
int mol_a2a__durable_hold(mol_a2a_durable *d, mol_a2a_held_kind kind, mol_http_req *r,
                          const char *task_id, const char *event, char *body) {
  int needs = kind != MOL_A2A_HELD_END && (task_id ? json_object_get(d->dirty, task_id) != NULL
                                                   : json_object_size(d->dirty) > 0);
  if (!needs && !d->held) return 0;
  held_reply *h = malloc(sizeof(*h));
  if (!h || (needs && task_id && json_object_set_new(d->urgent, task_id, json_true()) != 0)) {
    free(h);
    mol_a2a__durable_flush(d); /* commit everything now: then the reply may leave */
    if (d->held) mol_loge("a2a", "task store: out of memory with a commit failing: a reply leaves");
    return 0;
  }
  if (needs && !task_id) d->all_urgent = 1;
  /* An answer or a stream's end belongs to no call any more: a client that goes away while
   * it waits must not call back into a call that may be gone. The request itself lives until
   * the release answers it. (A stream's events stay with their call, which ends the stream.) */
  if (kind != MOL_A2A_HELD_EVENT) mol_http_req_on_abort(r, NULL, NULL);
  *h = (held_reply){.kind = kind, .r = r, .event = event, .body = body};
  *d->held_tail = h;
  d->held_tail = &h->next;
  start_ticking(d);
  return 1;
}

void mol_a2a__durable_flush(mol_a2a_durable *d) {
  if (d->db) commit_all(d);
}

int mol_a2a__durable_restarted(const mol_a2a_durable *d, const char *task_id) {
  return json_object_get(d->restarted, task_id) != NULL;
}

void mol_a2a__durable_stats(const mol_a2a_durable *d, mol_a2a_durable_stats *out) {
  *out = d->stats;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void free_durable(mol_a2a_durable *d) {
  mol_a2a__durable_db_close(d);
  json_decref(d->dirty);
  json_decref(d->restarted);
  json_decref(d->seq);
  json_decref(d->urgent);
  free(d);
}

int mol_a2a__durable_new(uv_loop_t *loop, const char *dir, mol_a2a_sync sync,
                         mol_a2a_release_fn release, mol_a2a_durable **out) {
  mol_a2a_durable *d = calloc(1, sizeof(*d));
  if (!d) return MOL_ENOMEM;
  d->loop = loop;
  d->release = release;
  d->held_tail = &d->held;
  d->row = (mol_buf)MOL_BUF_INIT;
  d->dirty = json_object();
  d->restarted = json_object();
  d->seq = json_object();
  d->urgent = json_object();
  int rc = d->dirty && d->restarted && d->seq && d->urgent ? mol_a2a__durable_db_open(d, dir, sync)
                                                           : MOL_ENOMEM;
  if (rc) {
    free_durable(d);
    return rc;
  }
  uv_check_init(loop, &d->check);
  uv_idle_init(loop, &d->idle);
  uv_timer_init(loop, &d->retry);
  uv_timer_init(loop, &d->lazy);
  d->check.data = d->idle.data = d->retry.data = d->lazy.data = d;
  d->handles_open = 4;
  *out = d;
  return 0;
}

/* The tasks that were live when the process died end now, as failed. */
static int fail_live(mol_a2a_durable *d, json_t *live) {
  mol_a2a_cmsg *why = mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_AGENT, RESTARTED);
  if (!why) return MOL_ENOMEM;
  size_t i;
  json_t *id;
  json_array_foreach(live, i, id) {
    mol_a2a_task *t = mol_a2a_store_get(d->store, json_string_value(id));
    json_object_set_new(d->restarted, json_string_value(id), json_true());
    if (t) mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_FAILED, why, NULL);
  }
  mol_a2a_cmsg_unref(why);
  if (json_array_size(live))
    mol_logi("a2a", "task store: %zu task(s) were in progress at the last stop; they ended failed",
             json_array_size(live));
  return 0;
}

int mol_a2a__durable_load(mol_a2a_durable *d, mol_a2a_store *store) {
  d->store = store;
  json_t *live = json_array();
  int rc = live ? mol_a2a__durable_db_load(d, live) : MOL_ENOMEM;
  if (!rc) rc = fail_live(d, live);
  json_decref(live);
  if (!rc) rc = json_object_size(d->dirty) ? mol_a2a__durable_db_commit(d, d->dirty) : 0;
  if (!rc) uv_timer_stop(&d->lazy); /* committed already */
  if (!rc)
    mol_logi("a2a", "task store: %zu task(s) read back", mol_a2a_store_count(store));
  return rc;
}

static void on_handle_closed(uv_handle_t *h) {
  mol_a2a_durable *d = h->data;
  if (--d->handles_open == 0) free_durable(d);
}

void mol_a2a__durable_close(mol_a2a_durable *d) {
  mol_a2a__durable_flush(d);
  if (json_object_size(d->dirty))
    mol_loge("a2a", "task store: %zu change(s) could not be saved at close",
             json_object_size(d->dirty));
  release_held(d); /* the requests are still alive; the server goes after this */
  d->store = NULL;
  uv_close((uv_handle_t *)&d->check, on_handle_closed);
  uv_close((uv_handle_t *)&d->idle, on_handle_closed);
  uv_close((uv_handle_t *)&d->retry, on_handle_closed);
  uv_close((uv_handle_t *)&d->lazy, on_handle_closed);
}
