/* durable_int.h - shared by durable.c (the tick, held replies, lifecycle) and durable_batch.c
 * (what a commit writes, running it on the thread pool, reading the saved tasks back). */
#ifndef MOL_A2A_UV_DURABLE_INT_H
#define MOL_A2A_UV_DURABLE_INT_H

#include "a2a_uv/durable.h"
#include "base/buf.h"

typedef struct held_reply {
  mol_a2a_held_kind kind;
  mol_http_req *r;
  const char *event; /* static ("error") or NULL */
  char *body;
  char *task_id;          /* the task it reports (owned), NULL: any (a list) */
  unsigned long long gen; /* leaves once the commit of this generation has returned */
  int reports;            /* it reports what that commit writes (else it only keeps its place) */
  struct held_reply *next;
} held_reply;

/* One commit: the rows, serialised on the loop, written on a thread-pool thread. */
typedef struct durable_batch {
  uv_work_t work;
  struct mol_a2a_durable *d;
  mol_a2a_task_row *rows;
  size_t n;
  mol_buf bodies;              /* the rows' bodies, end to end */
  json_t *ids;                 /* id -> true: the tasks it writes (dirty again when it fails) */
  unsigned long long gen;
  int rc, worker_done, finished;
  char err[256];
} durable_batch;

struct mol_a2a_durable {
  uv_loop_t *loop;
  mol_a2a_store *store;        /* NULL once closing */
  mol_a2a_release_fn release;
  const mol_a2a_task_backend *backend;
  void *db;                    /* the backend's handle, NULL once closed */
  json_t *dirty;               /* task id -> true: changed since the last commit began */
  json_t *seq;                 /* task id -> its row's seq (the row key) */
  json_t *urgent;              /* dirty task id -> true: a held reply reports it */
  int all_urgent;              /* a held reply reports every task (a list) */
  int lazy_due;                /* the dirty tasks no reply reports are due too (lazy, retry) */
  long long next_seq;
  json_t *restarted;           /* task id -> true: ended by a restart */
  held_reply *held, **held_tail;
  unsigned long long held_last_gen; /* the gen of the last reply held */
  durable_batch *running;      /* the commit on the thread pool, or NULL */
  unsigned long long gen_started, gen_done; /* commits begun; commits returned (in order) */
  uv_mutex_t lock;             /* with `cond`: a close waits for the running commit */
  uv_cond_t cond;
  uv_check_t check;            /* starts a commit after the callbacks of an iteration */
  uv_idle_t idle;              /* keeps the poll from blocking while something waits */
  uv_timer_t retry;            /* after a failed commit */
  uv_timer_t lazy;             /* writes the changes no reply has reported yet */
  int ticking, handles_open;   /* handles_open also counts the commits queued */
  mol_a2a_durable_stats stats;
};

/* durable_batch.c */
/* Serialises into a new batch of the next generation the urgent tasks, then (when a list is
 * held or d->lazy_due) the other dirty ones, up to the cap (MOL_A2A_DURABLE_BATCH_ROWS and
 * _BYTES); a task gone from the store is deleted. What it takes is no longer dirty nor urgent;
 * the rest stays both, and all_urgent and lazy_due stay set while anything is dirty. NULL out
 * of memory (nothing changed then). */
durable_batch *mol_a2a__durable_batch_new(mol_a2a_durable *d);
/* Runs b's commit on the thread pool; done on the loop once it returned (work.data is b). 0 or
 * an error from uv_queue_work (nothing queued). */
int mol_a2a__durable_batch_queue(durable_batch *b, uv_after_work_cb done);
/* Runs b's commit here, on the loop thread. */
void mol_a2a__durable_batch_run(durable_batch *b);
/* Waits (blocking the loop thread: for a close) until the running commit has returned. */
void mol_a2a__durable_batch_wait(durable_batch *b);
/* Applies b's outcome to d (the rows' keys; on failure its tasks are dirty again); sets
 * b->finished. */
void mol_a2a__durable_batch_apply(durable_batch *b);
/* Frees b (a queued one once its thread-pool callback has run). */
void mol_a2a__durable_batch_free(durable_batch *b);
/* Reads the saved tasks back into d->store; *live gets the ids (array) of those not terminal. */
int mol_a2a__durable_load_rows(mol_a2a_durable *d, json_t *live);

#endif
