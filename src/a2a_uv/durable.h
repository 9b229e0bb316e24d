/* durable.h - the A2A server's durable task store: the in-memory store (a2a/task.h) mirrored
 * into a storage backend (a2a/task_backend.h; SQLite from the `molecule` command) under a data
 * directory, with group commit: one commit at a time, on the thread pool.
 *
 * The in-memory store stays the authority while the process runs: it answers every read, and
 * its bounds (memory budget, TTL) decide what is kept. Every change it journals
 * (mol_a2a_store_opts.journal) marks the task dirty; at the end of a loop iteration in which a
 * reply reports a dirty task (the check phase, after the callbacks that made the changes) the
 * tasks the held replies report are serialised and committed in one transaction on a
 * thread-pool thread, so that a slow commit (an fsync) never stops the loop; a task that left
 * the store is deleted. The durability rule: while what a reply reports is uncommitted, the
 * reply (a JSON-RPC answer, an SSE event, a stream's end) is held, in order, and leaves only
 * once the commit has returned; when the commit fails, the reply leaves as an error instead,
 * so no reply reports a state the storage does not have.
 *
 * On open, the saved tasks are put back; the ones that were not terminal when the process
 * died end as `failed` with a status message saying the agent restarted mid-task, and a
 * tasks/resubscribe on one of them streams the task and that final event. */
#ifndef MOL_A2A_UV_DURABLE_H
#define MOL_A2A_UV_DURABLE_H

#include <uv.h>

#include "a2a/task.h"
#include "a2a/task_backend.h"
#include "http/server.h"

typedef struct mol_a2a_durable mol_a2a_durable;

/* How a commit reaches the disk (the backend's open gets sync_full). */
typedef enum {
  MOL_A2A_SYNC_NORMAL = 0, /* survives a process crash, not a power loss (SQLite: NORMAL) */
  MOL_A2A_SYNC_FULL = 1    /* every commit fsynced; survives a power loss (SQLite: FULL) */
} mol_a2a_sync;

/* What a held reply does once released. */
typedef enum { MOL_A2A_HELD_ANSWER, MOL_A2A_HELD_EVENT, MOL_A2A_HELD_END } mol_a2a_held_kind;

/* Sends a released reply (the server's): an answer body, an SSE event, or a stream's end.
 * saved 0: the commit of what it reports failed, so it must not report it: an answer goes out
 * as an error, an event as an error event. */
typedef void (*mol_a2a_release_fn)(mol_a2a_held_kind kind, mol_http_req *r, const char *event,
                                   char *body /* taken */, int saved);

/* Opens (creating) the backend's store in dir and puts its tasks back into store, whose journal must
 * be mol_a2a__durable_note with the durable as argument: the caller sets that through
 * *out_slot before the store exists, so the order is: durable_new, store_new, durable_load.
 * Returns 0, MOL_EIO (with a logged reason) or MOL_ENOMEM. */
int mol_a2a__durable_new(uv_loop_t *loop, const mol_a2a_task_backend *backend, const char *dir,
                         mol_a2a_sync sync, mol_a2a_release_fn release, mol_a2a_durable **out);
int mol_a2a__durable_load(mol_a2a_durable *d, mol_a2a_store *store);
/* The store's journal. */
void mol_a2a__durable_note(const mol_a2a_task *t, void *arg);
/* Holds a reply while the state it reports is uncommitted: the task task_id (NULL: it reports
 * any task, a list), or while replies before it are held. 1 when held (body taken), 0 when
 * the caller sends it now. */
int mol_a2a__durable_hold(mol_a2a_durable *d, mol_a2a_held_kind kind, mol_http_req *r,
                          const char *task_id, const char *event, char *body);
/* 1 when the task was ended by a restart (its resubscribers get its final event). */
int mol_a2a__durable_restarted(const mol_a2a_durable *d, const char *task_id);
/* Commits what is pending and releases the held replies now, on the loop thread (waiting for
 * a commit running on the thread pool first): for a close, or when memory ran out. */
void mol_a2a__durable_flush(mol_a2a_durable *d);
/* Commits, closes the database and frees d once its handles have closed (on the loop). The
 * store must not journal any more: call before mol_a2a_store_free. */
void mol_a2a__durable_close(mol_a2a_durable *d);

/* A commit writes at most MOL_A2A_DURABLE_BATCH_ROWS rows and stops taking tasks once its rows
 * hold MOL_A2A_DURABLE_BATCH_BYTES (a single larger task still goes, alone past the mark): what
 * is left goes into the next commit, which starts as soon as this one has returned, and the
 * replies that report it wait for that one. So a burst never makes one commit hold (in memory
 * and in the WAL) everything written meanwhile. */
#define MOL_A2A_DURABLE_BATCH_ROWS 1024
#define MOL_A2A_DURABLE_BATCH_BYTES (1024 * 1024)

typedef struct {
  unsigned long long commits, rows_written, rows_deleted, commit_errors;
} mol_a2a_durable_stats;
void mol_a2a__durable_stats(const mol_a2a_durable *d, mol_a2a_durable_stats *out);

#endif
