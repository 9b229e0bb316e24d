/* durable_int.h - shared by durable.c (the tick, held replies, lifecycle) and durable_db.c
 * (SQLite: schema, load, the commit). */
#ifndef MOL_A2A_UV_DURABLE_INT_H
#define MOL_A2A_UV_DURABLE_INT_H

#include <sqlite3.h>

#include "a2a_uv/durable.h"

typedef struct held_reply {
  mol_a2a_held_kind kind;
  mol_http_req *r;
  const char *event; /* static ("error") or NULL */
  char *body;
  struct held_reply *next;
} held_reply;

struct mol_a2a_durable {
  uv_loop_t *loop;
  mol_a2a_store *store;        /* NULL once closing */
  mol_a2a_release_fn release;
  sqlite3 *db;
  sqlite3_stmt *upsert, *del;
  mol_buf row;                 /* a task's JSON, reused from one write to the next */
  json_t *dirty;               /* task id -> true: changed since the last commit */
  json_t *seq;                 /* task id -> its row's seq (integer primary key) */
  json_t *urgent;              /* dirty task id -> true: a held reply reports it */
  int all_urgent;              /* a held reply reports every task (a list) */
  long long next_seq;
  json_t *restarted;           /* task id -> true: ended by a restart */
  held_reply *held, **held_tail;
  uv_check_t check;            /* commits after the callbacks of an iteration */
  uv_idle_t idle;              /* keeps the poll from blocking while something waits */
  uv_timer_t retry;            /* after a failed commit */
  uv_timer_t lazy;             /* writes the changes no reply has reported yet */
  int ticking, handles_open;
  mol_a2a_durable_stats stats;
};

/* durable_db.c */
int mol_a2a__durable_db_open(mol_a2a_durable *d, const char *dir, mol_a2a_sync sync);
void mol_a2a__durable_db_close(mol_a2a_durable *d);
/* Writes the tasks of `set` (d->dirty or d->urgent; deletes those gone) in one transaction;
 * they are no longer dirty then. 0 or MOL_EIO (rolled back, nothing changed). */
int mol_a2a__durable_db_commit(mol_a2a_durable *d, json_t *set);
/* Reads the saved tasks back into d->store; *live gets the ids (array) of those not terminal. */
int mol_a2a__durable_db_load(mol_a2a_durable *d, json_t *live);

#endif
