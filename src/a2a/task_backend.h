/* task_backend.h - the storage a durable A2A task store saves through: plain C, no database type.
 *
 * The durable store (src/a2a_uv/durable.c) decides what to write and when; a backend only keeps
 * rows. A row is one task, written whole: its key (seq, in creation order), its id, when it
 * ended (0 while live), whether a restart ended it, and its body (the task as
 * mol_a2a_task_write serialises it). The backend is injected by whoever configures the server
 * (the `molecule` command gives the SQLite one of src/devplatform/taskdb.h; else the default
 * below), so that the A2A binding links no database and the database stays behind its layer.
 *
 * Threads: open, load and close run on the loop thread; commit runs on a thread-pool thread
 * (uv_queue_work), never two at once on one handle, and never at the same time as another call
 * on that handle. A backend must therefore keep no state shared between handles unguarded. */
#ifndef MOL_A2A_TASK_BACKEND_H
#define MOL_A2A_TASK_BACKEND_H

#include <stddef.h>

typedef struct {
  long long seq;        /* the row's key: tasks in the order they were first saved */
  const char *id;       /* the task id */
  long long ended_ms;   /* when the task ended, 0 while live */
  int restarted;        /* a restart ended it */
  const char *body;     /* the task (JSON text), body_len bytes; NULL: delete the row */
  size_t body_len;
} mol_a2a_task_row;

typedef void (*mol_a2a_task_row_fn)(const mol_a2a_task_row *row, void *arg);

typedef struct mol_a2a_task_backend {
  /* Opens (creating) the store kept in directory dir (created too). sync_full: every commit
   * must be on stable storage before it returns (survives a power loss); else a commit must
   * survive the death of the process. 0 and *out, or a negative error with why in err. */
  int (*open)(const char *dir, int sync_full, void **out, char *err, size_t err_len);
  /* Calls each(row) for every saved row: the live ones first, then the ended ones in the
   * order they ended. 0, or a negative error with why in err. */
  int (*load)(void *db, mol_a2a_task_row_fn each, void *arg, char *err, size_t err_len);
  /* Writes rows (deleting those with no body) all or nothing: 0 once they are durable as
   * open's sync_full says, else a negative error with why in err and nothing changed. */
  int (*commit)(void *db, const mol_a2a_task_row *rows, size_t n, char *err, size_t err_len);
  void (*close)(void *db);
} mol_a2a_task_backend;

/* The backend a durable store uses when its options name none: the one the layer that owns the
 * database registers as the library loads (src/devplatform/taskdb.c), so that the public host
 * API (a host file's data_dir) saves without naming a database above that layer. NULL when
 * none is linked in (then a data directory is refused with a clear error). Set once, at load. */
const mol_a2a_task_backend *mol_a2a_task_backend_default(void);
void mol_a2a_task_backend_set_default(const mol_a2a_task_backend *b);

#endif
