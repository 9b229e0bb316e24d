/* store.c - the bounded task store: O(1) lookup by id (uthash), a memory budget (and an
 * optional cap on the number of tasks) and a TTL for terminal ones. Terminal tasks sit on a
 * list in the order they ended, so the oldest one is found in O(1) when room is needed or the
 * TTL sweep runs; a live task, or one still in use, is never evicted (a2a-js's store never
 * evicts and is not a model).
 *
 * Memory is counted per task (mol_a2a__task_size) when it is created, when its first message
 * joins it and whenever a turn on it ends; in between a running turn may add to it (progress,
 * artifacts) uncounted, which is bounded by the turn itself. */
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "a2a/task_int.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "molecule.h"

static int64_t default_clock(void *arg) {
  (void)arg;
  return mol_unix_ms();
}

/* uthash's allocations for by_id. A server answering message/send with Messages empties its
 * store after every request (such a task leaves at once) and uthash frees its table with its
 * last entry: one spare of each of the two sizes uthash first asks for (its table, its first
 * buckets) is kept for the next first entry, instead of two mallocs and two frees a request.
 * Per thread (a store lives on one loop, one loop per thread), so ten thousand idle stores of
 * `molecule host` keep none; the spares go when a store of the thread is freed. */
#undef uthash_malloc
#undef uthash_free
#define uthash_malloc(n) hash_alloc(n)
#define uthash_free(p, n) hash_free(p, n)
#define HASH_SPARE_MAX 1024

static _Thread_local struct {
  void *p;
  size_t n;
} hash_spare[2];

static void *hash_alloc(size_t n) {
  for (int i = 0; i < 2; i++) {
    if (hash_spare[i].p && hash_spare[i].n == n) {
      void *p = hash_spare[i].p;
      hash_spare[i].p = NULL;
      return p;
    }
  }
  return malloc(n);
}

static void hash_free(void *p, size_t n) {
  for (int i = 0; i < 2 && p && n <= HASH_SPARE_MAX; i++) {
    if (!hash_spare[i].p) {
      hash_spare[i].p = p;
      hash_spare[i].n = n;
      return;
    }
  }
  free(p);
}

int mol_a2a_store_new(const mol_a2a_store_opts *opts, mol_a2a_store **out) {
  mol_a2a_store *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  if (opts) s->o = *opts;
  if (!s->o.max_bytes) s->o.max_bytes = MOL_A2A_STORE_DEFAULT_BYTES;
  if (s->o.terminal_ttl_ms <= 0) s->o.terminal_ttl_ms = 60 * 60 * 1000;
  if (!s->o.max_history) s->o.max_history = 256;
  if (!s->o.max_listeners) s->o.max_listeners = 64;
  if (!s->o.max_push_per_task) s->o.max_push_per_task = 8;
  if (!s->o.max_push_configs) s->o.max_push_configs = 10000;
  if (!s->o.clock) s->o.clock = default_clock;
  *out = s;
  return 0;
}

int64_t mol_a2a_store_now(const mol_a2a_store *s) { return s->o.clock(s->o.clock_arg); }

size_t mol_a2a_store_count(const mol_a2a_store *s) { return s->count; }

void mol_a2a_store_stats_get(const mol_a2a_store *s, mol_a2a_store_stats *out) {
  out->tasks = s->count;
  out->bytes = s->bytes;
  out->evicted = s->evicted;
  out->expired = s->expired;
}

mol_a2a_task *mol_a2a_store_get(mol_a2a_store *s, const char *task_id) {
  mol_a2a_task *t = NULL;
  if (task_id) HASH_FIND_STR(s->by_id, task_id, t);
  return t;
}

void mol_a2a__store_note_terminal(mol_a2a_store *s, mol_a2a_task *t) {
  t->ended_ms = mol_a2a_store_now(s);
  DL_APPEND2(s->terminal, t, term_prev, term_next);
}

void mol_a2a__store_recharge(mol_a2a_store *s, mol_a2a_task *t) {
  size_t now = mol_a2a__task_size(t);
  s->bytes = s->bytes - t->charge + now;
  t->charge = now;
}

static void evict(mol_a2a_store *s, mol_a2a_task *t) {
  mol_a2a__journal(t); /* a durable store deletes it too */
  HASH_DEL(s->by_id, t);
  DL_DELETE2(s->terminal, t, term_prev, term_next);
  s->count--;
  s->bytes -= t->charge;
  mol_a2a__task_free(t);
}

int mol_a2a_store_remove(mol_a2a_store *s, mol_a2a_task *t) {
  if (!mol_a2a_state_is_terminal(mol_a2a_task_state_get(t)) || mol_a2a__task_in_use(t))
    return MOL_EBUSY;
  evict(s, t);
  return 0;
}

/* The terminal task that ended first among those not in use (held by a turn still running,
 * listened to, or delivering events). */
static mol_a2a_task *oldest_evictable(mol_a2a_store *s) {
  mol_a2a_task *t;
  DL_FOREACH2(s->terminal, t, term_next) {
    if (!mol_a2a__task_in_use(t)) return t;
  }
  return NULL;
}

size_t mol_a2a_store_sweep(mol_a2a_store *s, int64_t now_ms) {
  size_t n = 0;
  mol_a2a_task *t, *tmp;
  DL_FOREACH_SAFE2(s->terminal, t, tmp, term_next) {
    if (now_ms - t->ended_ms < s->o.terminal_ttl_ms) break; /* the list is in ending order */
    if (mol_a2a__task_in_use(t)) continue;
    evict(s, t);
    n++;
  }
  s->expired += n;
  return n;
}

void mol_a2a_store_free(mol_a2a_store *s) {
  if (!s) return;
  mol_a2a_task *t, *tmp;
  HASH_ITER(hh, s->by_id, t, tmp) {
    if (!mol_a2a_state_is_terminal(t->state)) mol_a2a__task_close_listeners(t);
  }
  HASH_ITER(hh, s->by_id, t, tmp) {
    HASH_DEL(s->by_id, t);
    mol_a2a__task_free(t);
  }
  free(s);
  for (int i = 0; i < 2; i++) {
    free(hash_spare[i].p);
    hash_spare[i].p = NULL;
  }
}

static int full(const mol_a2a_store *s, size_t adding) {
  return s->bytes + adding > s->o.max_bytes || (s->o.max_tasks && s->count >= s->o.max_tasks);
}

/* Room for a task of `adding` bytes: evicts terminal tasks, the one that ended first first. */
static int make_room(mol_a2a_store *s, size_t adding) {
  while (full(s, adding)) {
    mol_a2a_task *victim = oldest_evictable(s);
    if (!victim) return MOL_ELIMIT; /* every task is live or in use: refuse, drop no work */
    evict(s, victim);
    s->evicted++;
  }
  return 0;
}

int mol_a2a_store_create(mol_a2a_store *s, const char *context_id, mol_a2a_task **out) {
  char id[MOL_UUID_LEN + 1], ctx[MOL_UUID_LEN + 1];
  if (mol_uuid4(id) != 0) return MOL_EIO;
  if (s->o.tag_ids) { /* the owner's tag in place of 8 random bits: still a version-4 UUID */
    static const char hex[] = "0123456789abcdef";
    id[0] = hex[s->o.id_tag >> 4];
    id[1] = hex[s->o.id_tag & 15];
  }
  if (!context_id) {
    if (mol_uuid4(ctx) != 0) return MOL_EIO;
    context_id = ctx;
  }
  mol_a2a_task *t = mol_a2a__task_alloc(s, id, context_id);
  if (!t) return MOL_ENOMEM;
  int rc = mol_a2a__store_link(s, t);
  if (rc != 0) {
    mol_a2a__task_free(t);
    return rc;
  }
  mol_a2a__journal(t);
  *out = t;
  return 0;
}

int mol_a2a__store_link(mol_a2a_store *s, mol_a2a_task *t) {
  t->charge = mol_a2a__task_size(t);
  int rc = make_room(s, t->charge);
  if (rc != 0) return rc;
  HASH_ADD_KEYPTR(hh, s->by_id, t->id, strlen(t->id), t);
  if (!MOL_HASH_ADDED(t, hh)) return MOL_ENOMEM;
  s->count++;
  s->bytes += t->charge;
  return 0;
}

/* A task that has ended takes no new message: -32004 UnsupportedOperationError, as the v1.0
 * specification requires and a2a-js 1.3.0 answers on both wire versions. A task being canceled
 * is as good as ended (its turns are being stopped: a new one would run on alone). */
static int begin_continue(mol_a2a_store *s, const mol_a2a_cmsg *msg, mol_a2a_task **out,
                          mol_a2a_error *err) {
  const char *tid = mol_a2a_cmsg_task_id(msg), *cid = mol_a2a_cmsg_context_id(msg);
  mol_a2a_task *t = mol_a2a_store_get(s, tid);
  if (!t) return mol_a2a_error_set(err, MOL_A2A_TASK_NOT_FOUND, "Task not found: %.64s", tid);
  if (mol_a2a_state_is_terminal(t->state))
    return mol_a2a_error_set(err, MOL_A2A_UNSUPPORTED_OPERATION,
                             "Task %.64s is in a terminal state (%s) and cannot be modified",
                             tid, mol_a2a_state_name(t->state, MOL_A2A_V03));
  if (t->cancel_requested)
    return mol_a2a_error_set(err, MOL_A2A_UNSUPPORTED_OPERATION,
                             "Task %.64s is being canceled and cannot be modified", tid);
  if (cid && strcmp(cid, t->context_id) != 0)
    return mol_a2a_error_set(err, MOL_A2A_INVALID_PARAMS,
                             "message.contextId does not match the task's contextId");
  *out = t;
  return 0;
}

static int begin_new(mol_a2a_store *s, const mol_a2a_cmsg *msg, mol_a2a_task **out,
                     mol_a2a_error *err) {
  int rc = mol_a2a_store_create(s, mol_a2a_cmsg_context_id(msg), out);
  if (rc == MOL_ELIMIT)
    return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "Task store is full; retry later");
  if (rc != 0) return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, NULL);
  return 0;
}

int mol_a2a_store_begin(mol_a2a_store *s, mol_a2a_cmsg **msg, mol_a2a_task **out,
                        mol_a2a_error *err) {
  mol_a2a_task *t = NULL;
  int rc = mol_a2a_cmsg_task_id(*msg) ? begin_continue(s, *msg, &t, err)
                                      : begin_new(s, *msg, &t, err);
  if (rc != 0) return rc;
  *msg = mol_a2a_cmsg_fill_ids(*msg, t->id, t->context_id);
  /* The agent's last word (an input-required question) goes into the history before the
   * answer to it, so the history reads in the order things were said. */
  if (!*msg || (t->status_msg && mol_a2a__task_settle_status_msg(t) != 0) ||
      mol_a2a_task_add_history_msg(t, *msg) != 0)
    return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, NULL);
  mol_a2a__store_recharge(s, t);
  *out = t;
  return 0;
}

/* ---- ListTasks ------------------------------------------------------------------------------- */

typedef struct {
  int64_t ms; /* the status time, read once */
  mol_a2a_task *t;
} dated_task;

/* Most recently updated first; the id breaks ties, so the order is total. */
static int newer_first(const void *a, const void *b) {
  const dated_task *x = a, *y = b;
  if (x->ms != y->ms) return x->ms > y->ms ? -1 : 1;
  return -strcmp(x->t->id, y->t->id);
}

static int after_cursor(const dated_task *d, const mol_a2a_task_query *q) {
  if (!q->after_id) return 1;
  if (d->ms != q->after_ms) return d->ms < q->after_ms;
  return strcmp(d->t->id, q->after_id) < 0;
}

static int matches(const mol_a2a_task *t, int64_t ms, const mol_a2a_task_query *q) {
  return (!q->context_id || strcmp(q->context_id, t->context_id) == 0) &&
         (q->state == MOL_A2A_STATE_UNKNOWN || q->state == t->state) && ms >= q->status_after_ms;
}

int mol_a2a_store_query(mol_a2a_store *s, const mol_a2a_task_query *q, mol_a2a_task **page,
                        size_t cap, size_t *n, size_t *total, int *more) {
  dated_task *all = s->count ? malloc(s->count * sizeof(*all)) : NULL;
  mol_a2a_task *t, *tmp;
  size_t m = 0, first = 0;
  *n = *total = 0;
  *more = 0;
  if (s->count && !all) return MOL_ENOMEM;
  HASH_ITER(hh, s->by_id, t, tmp) {
    int64_t ms = mol_a2a_task_status_ms(t);
    if (matches(t, ms, q)) all[m++] = (dated_task){ms, t};
  }
  if (m) qsort(all, m, sizeof(*all), newer_first);
  while (first < m && !after_cursor(&all[first], q)) first++;
  for (size_t i = first; i < m && *n < cap; i++) page[(*n)++] = all[i].t;
  *total = m;
  *more = first + *n < m;
  free(all);
  return 0;
}
