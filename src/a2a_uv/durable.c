/* durable.c - the durable task store on the loop (durable.h): the dirty set the store's journal
 * fills, the commits (one at a time, on the thread pool), the replies held until theirs has
 * returned, and the restart rule.
 *
 * Group commit. A reply that reports a task whose change is not committed yet is held for the
 * next commit (generation gen_started + 1); one that reports a task the running commit writes
 * is held for that one. The first reply held for a new commit starts a check handle (it runs
 * after the poll callbacks that made the changes) and an idle handle (so that a reply held
 * after the check phase, in a close callback, does not wait for the next poll's events). The
 * check serialises the tasks the held replies report (every dirty task when a reply reports
 * many: a task list) and hands them to a thread-pool thread, so that an fsync never stops the
 * loop; what is held while it runs goes into the next commit, which starts as soon as it has
 * returned. A commit is capped (MOL_A2A_DURABLE_BATCH_ROWS, _BYTES): what a burst leaves over
 * goes into the next one, and a reply held for this commit whose task it does not write waits
 * for the next, with every reply after it. Replies leave in the order they were held: a
 * connection's answers and a stream's events keep their order. A change no reply has reported
 * yet (the working and artifact steps of a turn nobody streams) waits up to LAZY_MS and is
 * written with the next commit once due (never waiting for a moment with no commit running,
 * which a busy store may not have): on a kill -9 in between the task goes back to its last
 * reported state, which is all a client can have seen. When a commit fails (a full disk) the
 * replies waiting for it leave as errors, never reporting what is not saved; its tasks stay
 * dirty and are retried every second. */
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

/* ---- releasing ----------------------------------------------------------------------------- */

/* The replies waiting for commits up to gen leave; saved 0: that commit failed. */
static void release_upto(mol_a2a_durable *d, unsigned long long gen, int saved) {
  while (d->held && d->held->gen <= gen) {
    held_reply *h = d->held;
    d->held = h->next;
    if (!d->held) d->held_tail = &d->held;
    d->release(h->kind, h->r, h->event, h->body, saved || !h->reports);
    free(h->task_id);
    free(h);
  }
}

static void stop_ticking(mol_a2a_durable *d) {
  if (!d->ticking) return;
  d->ticking = 0;
  uv_check_stop(&d->check);
  uv_idle_stop(&d->idle);
}

static void on_retry(uv_timer_t *t);
static void on_lazy(uv_timer_t *t);
static void start_ticking(mol_a2a_durable *d);

/* A commit has returned (or could not be made): its outcome, then the replies waiting for it. */
static void finish_commit(mol_a2a_durable *d, durable_batch *b) {
  if (d->running == b) d->running = NULL;
  if (b) mol_a2a__durable_batch_apply(b);
  int saved = b && b->rc == 0;
  if (!b) {
    d->stats.commit_errors++;
    mol_loge("a2a", "task store: out of memory for a commit; its replies are answered with an error");
  }
  d->gen_done = b ? b->gen : ++d->gen_started;
  if (!saved && d->handles_open && d->store) uv_timer_start(&d->retry, on_retry, RETRY_MS, 0);
  if (saved && d->handles_open && !json_object_size(d->dirty)) uv_timer_stop(&d->lazy);
  release_upto(d, d->gen_done, saved);
}

static void start_commit(mol_a2a_durable *d, int lazy);

/* What waits goes next: the replies held meanwhile and what a capped commit left over (or the
 * lazy changes that came due meanwhile), else the lazy changes a little later. */
static void after_commit(mol_a2a_durable *d) {
  if (!d->store) return; /* closing */
  if (d->held || d->lazy_due) start_commit(d, 0);
  else if (json_object_size(d->dirty) && !uv_is_active((uv_handle_t *)&d->lazy))
    uv_timer_start(&d->lazy, on_lazy, LAZY_MS, 0);
}

static void free_durable(mol_a2a_durable *d);

static void on_commit_done(uv_work_t *w, int status) {
  (void)status; /* never canceled: a close waits for it instead */
  durable_batch *b = w->data;
  mol_a2a_durable *d = b->d;
  if (!b->finished) { /* else a close or a flush took its outcome already */
    finish_commit(d, b);
    after_commit(d);
  }
  mol_a2a__durable_batch_free(b);
  if (--d->handles_open == 0) free_durable(d);
}

/* The replies held for commit gen whose task it does not write (the cap left it dirty) wait
 * for the next commit, and so does every reply held after the first of them, to keep the
 * order; their tasks go first in the next commit. */
static void defer_left_over(mol_a2a_durable *d, unsigned long long gen) {
  if (!json_object_size(d->dirty)) return;
  int defer = 0;
  for (held_reply *h = d->held; h; h = h->next) {
    if (h->gen != gen) continue;
    int left = h->reports && (!h->task_id || json_object_get(d->dirty, h->task_id));
    if (left && !h->task_id) d->all_urgent = 1;
    else if (left && json_object_set_new(d->urgent, h->task_id, json_true()) != 0)
      d->lazy_due = 1; /* no room to mark it: the next commit takes every dirty task */
    defer |= left;
    if (defer) h->gen = gen + 1;
  }
  if (defer) d->held_last_gen = gen + 1;
}

static durable_batch *next_batch(mol_a2a_durable *d) {
  durable_batch *b = mol_a2a__durable_batch_new(d);
  if (b) defer_left_over(d, b->gen);
  return b;
}

/* Starts the next commit on the thread pool (lazy: with every dirty task), unless one runs
 * (then what is due goes next). */
static void start_commit(mol_a2a_durable *d, int lazy) {
  if (lazy) d->lazy_due = 1;
  if (d->running || !d->db) return;
  durable_batch *b = next_batch(d);
  if (b && b->n && mol_a2a__durable_batch_queue(b, on_commit_done) == 0) {
    d->running = b;
    d->handles_open++;
    return;
  }
  if (b && b->n) mol_a2a__durable_batch_run(b); /* the pool refused it: here then */
  finish_commit(d, b); /* nothing to write, or no memory: at once */
  int saved = b && b->rc == 0;
  mol_a2a__durable_batch_free(b);
  if (saved && (d->held || d->lazy_due)) start_ticking(d); /* what the cap left: next, soon */
}

static void commit_all(mol_a2a_durable *d) { start_commit(d, 1); }

static void on_retry(uv_timer_t *t) { commit_all(t->data); }

static void on_lazy(uv_timer_t *t) { commit_all(t->data); }

/* The end of an iteration in which replies were held: only what they report is written now. */
static void on_check(uv_check_t *c) {
  mol_a2a_durable *d = c->data;
  stop_ticking(d);
  start_commit(d, 0);
}

static void on_idle(uv_idle_t *i) { (void)i; /* only keeps the poll phase from blocking */ }

static void start_ticking(mol_a2a_durable *d) {
  if (d->ticking || !d->handles_open) return;
  d->ticking = 1;
  uv_check_start(&d->check, on_check);
  uv_idle_start(&d->idle, on_idle);
}

/* ---- the store's journal and the replies ----------------------------------------------------- */

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

/* Which commit a reply reporting task_id (NULL: any task) waits for: the next one when what
 * it reports is dirty, the running one when that writes it, none (0) when it is saved. */
static unsigned long long needed_gen(mol_a2a_durable *d, const char *task_id) {
  if (task_id ? json_object_get(d->dirty, task_id) != NULL : json_object_size(d->dirty) > 0)
    return d->gen_started + 1;
  if (d->running && (!task_id || json_object_get(d->running->ids, task_id)))
    return d->running->gen;
  return 0;
}

int mol_a2a__durable_hold(mol_a2a_durable *d, mol_a2a_held_kind kind, mol_http_req *r,
                          const char *task_id, const char *event, char *body) {
  unsigned long long gen = kind == MOL_A2A_HELD_END ? 0 : needed_gen(d, task_id);
  int next = gen && gen > d->gen_started;
  if (!gen && !d->held) return 0;
  held_reply *h = malloc(sizeof(*h));
  char *id = task_id ? strdup(task_id) : NULL;
  if (!h || (task_id && !id) ||
      (next && task_id && json_object_set_new(d->urgent, task_id, json_true()) != 0)) {
    free(h);
    free(id);
    mol_a2a__durable_flush(d); /* commit everything now: then the reply may leave */
    if (d->held) mol_loge("a2a", "task store: out of memory with a commit failing: a reply leaves");
    return 0;
  }
  if (next && !task_id) d->all_urgent = 1;
  /* An answer or a stream's end belongs to no call any more: a client that goes away while
   * it waits must not call back into a call that may be gone. The request itself lives until
   * the release answers it. (A stream's events stay with their call, which ends the stream.) */
  if (kind != MOL_A2A_HELD_EVENT) mol_http_req_on_abort(r, NULL, NULL);
  *h = (held_reply){.kind = kind, .r = r, .event = event, .body = body, .task_id = id,
                    .reports = gen != 0,
                    .gen = d->held && d->held_last_gen > gen ? d->held_last_gen : gen};
  d->held_last_gen = h->gen;
  *d->held_tail = h;
  d->held_tail = &h->next;
  if (next) start_ticking(d);
  return 1;
}

/* On the loop thread, now: the running commit's outcome (waited for), then everything dirty,
 * capped commit after capped commit, until one fails. */
void mol_a2a__durable_flush(mol_a2a_durable *d) {
  if (!d->db) return;
  if (d->running) {
    durable_batch *b = d->running;
    mol_a2a__durable_batch_wait(b);
    finish_commit(d, b); /* its thread-pool callback only frees it */
  }
  int saved = 1;
  while (saved && (json_object_size(d->dirty) || d->held)) {
    d->lazy_due = 1;
    durable_batch *b = next_batch(d);
    if (b && b->n) mol_a2a__durable_batch_run(b);
    finish_commit(d, b);
    saved = b && b->rc == 0;
    mol_a2a__durable_batch_free(b);
  }
}

int mol_a2a__durable_restarted(const mol_a2a_durable *d, const char *task_id) {
  return json_object_get(d->restarted, task_id) != NULL;
}

void mol_a2a__durable_stats(const mol_a2a_durable *d, mol_a2a_durable_stats *out) {
  *out = d->stats;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void free_durable(mol_a2a_durable *d) {
  if (d->db) d->backend->close(d->db);
  uv_mutex_destroy(&d->lock);
  uv_cond_destroy(&d->cond);
  json_decref(d->dirty);
  json_decref(d->restarted);
  json_decref(d->seq);
  json_decref(d->urgent);
  free(d);
}

static int open_backend(mol_a2a_durable *d, const char *dir, mol_a2a_sync sync) {
  char err[256] = "";
  int rc = d->backend->open(dir, sync == MOL_A2A_SYNC_FULL, &d->db, err, sizeof err);
  if (rc) {
    d->db = NULL;
    mol_loge("a2a", "task store: %s", *err ? err : mol_strerror(rc));
  }
  return rc;
}

int mol_a2a__durable_new(uv_loop_t *loop, const mol_a2a_task_backend *backend, const char *dir,
                         mol_a2a_sync sync, mol_a2a_release_fn release, mol_a2a_durable **out) {
  if (!backend) backend = mol_a2a_task_backend_default();
  if (!backend) {
    mol_loge("a2a", "task store: a data directory needs a storage backend, and none is linked in");
    return MOL_EINVAL;
  }
  mol_a2a_durable *d = calloc(1, sizeof(*d));
  if (!d) return MOL_ENOMEM;
  if (uv_mutex_init(&d->lock) != 0) {
    free(d);
    return MOL_ENOMEM;
  }
  if (uv_cond_init(&d->cond) != 0) {
    uv_mutex_destroy(&d->lock);
    free(d);
    return MOL_ENOMEM;
  }
  d->loop = loop;
  d->backend = backend;
  d->release = release;
  d->held_tail = &d->held;
  d->dirty = json_object();
  d->restarted = json_object();
  d->seq = json_object();
  d->urgent = json_object();
  int rc = d->dirty && d->restarted && d->seq && d->urgent ? open_backend(d, dir, sync)
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
  int rc = live ? mol_a2a__durable_load_rows(d, live) : MOL_ENOMEM;
  if (!rc) rc = fail_live(d, live);
  json_decref(live);
  if (!rc) {
    unsigned long long errors = d->stats.commit_errors;
    mol_a2a__durable_flush(d); /* the restart's failures, the rows dropped: saved before serving */
    rc = d->stats.commit_errors != errors ? MOL_EIO : 0;
  }
  if (!rc) uv_timer_stop(&d->lazy);
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
  release_upto(d, (unsigned long long)-1, 0); /* the requests are still alive; the server goes after this */
  d->store = NULL;
  if (d->db) d->backend->close(d->db);
  d->db = NULL;
  uv_close((uv_handle_t *)&d->check, on_handle_closed);
  uv_close((uv_handle_t *)&d->idle, on_handle_closed);
  uv_close((uv_handle_t *)&d->retry, on_handle_closed);
  uv_close((uv_handle_t *)&d->lazy, on_handle_closed);
}
