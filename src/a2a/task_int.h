/* task_int.h - private structures of the task engine, shared by task.c, task_json.c and
 * store.c. Nothing outside src/a2a/task*.c and store.c includes this. */
#ifndef MOL_A2A_TASK_INT_H
#define MOL_A2A_TASK_INT_H

#include "a2a/push.h"
#include "a2a/task.h"
#include "base/hash.h"

struct mol_a2a_listener {
  mol_a2a_listener_fn fn;
  void *arg;
  uint64_t start_seq; /* receives only events raised at or after this sequence number */
  int removed;        /* unlinked lazily when removed during a dispatch */
  struct mol_a2a_listener *prev, *next;
};

/* An event waiting for delivery; owns its references. */
typedef struct pending_event {
  mol_a2a_event ev;
  uint64_t seq;
  char timestamp[32];
  mol_a2a_cmsg *hold_msg;
  json_t *hold_artifact, *hold_metadata;
  struct pending_event *next;
} pending_event;

struct mol_a2a_task {
  char *id;
  char *context_id;
  mol_a2a_task_state state;
  char timestamp[32];
  mol_a2a_cmsg *status_msg; /* or NULL */
  mol_a2a_cmsg **history;   /* oldest first */
  size_t history_len, history_cap;
  /* Created on first use: most tasks of a Molecule agent never carry an artifact. */
  json_t *artifacts;  /* array of canonical Artifacts, or NULL */
  json_t *closed;     /* object: artifactId -> true once lastChunk was seen, or NULL */
  json_t *metadata;   /* object or NULL */

  int cancel_requested;
  size_t holds;        /* live turns (mol_a2a_task_hold) */
  mol_a2a_hold *armed; /* the holds whose cancel has not been called yet */

  mol_a2a_listener *listeners;
  size_t n_listeners;
  int dispatching;
  uint64_t next_seq;
  pending_event *queue_head, *queue_tail;

  mol_a2a_store *store;
  size_t charge;                          /* bytes counted against the store's budget */
  int64_t ended_ms;                       /* when it became terminal */
  struct mol_a2a_task *term_prev, *term_next; /* the store's terminal list */
  UT_hash_handle hh;
};

struct mol_a2a_store {
  mol_a2a_store_opts o;
  mol_a2a_task *by_id;    /* uthash, insertion (= creation) order */
  mol_a2a_task *terminal; /* utlist DL, in the order tasks ended: oldest first */
  size_t count;
  size_t bytes;                 /* sum of the tasks' charges */
  size_t push_count;            /* push configs on all tasks */
  /* The tasks that have push configs (push.c), by task id: kept here rather than on every
   * task, which would make each of them bigger for a feature most never use. */
  struct mol_a2a__push_entry *push_by_task;
  unsigned long long evicted, expired;
  /* The last status timestamp formatted and its clock reading: a busy store stamps many
   * tasks within one millisecond (copied) or one second (three digits rewritten). */
  int64_t stamp_ms;
  char stamp[32];
};

/* store.c: called by task.c when a task turns terminal. */
void mol_a2a__store_note_terminal(mol_a2a_store *s, mol_a2a_task *t);
/* store.c: counts the task's memory again (its content changed: a turn ended). */
void mol_a2a__store_recharge(mol_a2a_store *s, mol_a2a_task *t);
/* store.c: tells the journal, if any, that the task changed (or is leaving the store). */
static inline void mol_a2a__journal(mol_a2a_task *t) {
  if (t->store->o.journal) t->store->o.journal(t, t->store->o.journal_arg);
}
/* store.c: makes room for a task of `adding` bytes (evicting terminal ones), then links t in.
 * 0 or MOL_ELIMIT (t is not linked then). */
int mol_a2a__store_link(mol_a2a_store *s, mol_a2a_task *t);
/* task_size.c: what the task holds, in bytes, as charged against the store's budget. */
size_t mol_a2a__task_size(const mol_a2a_task *t);
/* task.c: allocates / frees a task object (not linked into any store). */
mol_a2a_task *mol_a2a__task_alloc(mol_a2a_store *s, const char *id, const char *context_id);
void mol_a2a__task_free(mol_a2a_task *t);
/* task.c: moves the status message, if any, into the history (a new user message follows it).
 * 0 or MOL_ENOMEM. */
int mol_a2a__task_settle_status_msg(mol_a2a_task *t);
/* push.c: frees the task's push configs (the task is going). */
void mol_a2a__task_push_free(mol_a2a_task *t);
/* push.c: 1 when the task has push configs. */
int mol_a2a__task_has_push(const mol_a2a_task *t);
/* push.c: what the task's push configs hold, for task_size.c. */
size_t mol_a2a__task_push_size(const mol_a2a_task *t);
/* task.c: delivers MOL_A2A_EV_CLOSED to the remaining listeners (store shutdown). */
void mol_a2a__task_close_listeners(mol_a2a_task *t);
/* task.c: 1 while the task is held, listened to, or has events being delivered or queued: it
 * must not be freed. */
int mol_a2a__task_in_use(const mol_a2a_task *t);

#endif
