/* taskdb.c - the durable A2A task store's rows in SQLite (taskdb.h): the schema, reading them
 * back, and the all-or-nothing commit the store runs on a thread-pool thread.
 *
 * One row per task, written whole each time it changes: Molecule tasks are small (a question,
 * an answer), and a row that is always complete needs no replay to read back.
 *
 * Durability: journal_mode=WAL. With synchronous=FULL every COMMIT fsyncs the WAL before it
 * returns, so what a reply reported survives a power loss; with NORMAL the COMMIT has only
 * write(2)n the frames, which survives the death of the process (kill -9, a crash) but not of
 * the machine (the database then rolls back to an earlier commit, consistent).
 *
 * Threads: the connection is opened SQLITE_OPEN_NOMUTEX and used by one thread at a time (the
 * loop, or the one thread-pool thread running its commit), which is what the backend interface
 * promises; each handle is its own connection. */
#include <stdio.h>
#include <stdlib.h>

#include "base/file.h"
#include "devplatform/sqlite_dl.h"
#include "devplatform/taskdb.h"
#include "molecule.h"

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *upsert, *del;
} taskdb;

/* Keyed by a sequence number, not by the task id: ids are random UUIDs, and an index on them
 * would touch a random page per new task (a 4 KiB WAL frame each); rows in creation order
 * append to the end of the table, and the oldest (the ones evicted) leave from its start. */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS tasks ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL, ended_ms INTEGER NOT NULL,"
    " restarted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);"
    "PRAGMA user_version=1;";

static int fail(sqlite3 *db, const char *what, char *err, size_t err_len) {
  snprintf(err, err_len, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
  return MOL_EIO;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t err_len) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, sql, err, err_len);
}

static void taskdb_close(void *handle) {
  taskdb *t = handle;
  if (!t) return;
  sqlite3_finalize(t->upsert);
  sqlite3_finalize(t->del);
  sqlite3_close(t->db);
  free(t);
}

static int prepare(taskdb *t, char *err, size_t err_len) {
  static const char up[] =
      "INSERT OR REPLACE INTO tasks(seq, id, ended_ms, restarted, body) VALUES(?1, ?2, ?3, ?4, ?5)";
  if (sqlite3_prepare_v2(t->db, up, -1, &t->upsert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(t->db, "DELETE FROM tasks WHERE seq=?1", -1, &t->del, NULL) != SQLITE_OK)
    return fail(t->db, "preparing", err, err_len);
  return 0;
}

static int taskdb_open(const char *dir, int sync_full, void **out, char *err, size_t err_len) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/a2a-tasks.db", dir) >= (int)sizeof path) {
    snprintf(err, err_len, "the data directory's path is too long");
    return MOL_EINVAL;
  }
  if (mol_mkdir_p(dir, 0700) != 0) {
    snprintf(err, err_len, "cannot create the data directory %s", dir);
    return MOL_EIO;
  }
  taskdb *t = calloc(1, sizeof(*t));
  if (!t) return MOL_ENOMEM;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &t->db, flags, NULL) == SQLITE_OK
               ? 0 : fail(t->db, path, err, err_len);
  if (!rc) rc = exec(t->db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                     err, err_len);
  /* Another process on the same data directory would write under us: refuse it. */
  if (!rc) rc = exec(t->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;", err, err_len);
  if (!rc) rc = exec(t->db, "PRAGMA cache_size=-8192;", err, err_len); /* a bound, like the rest */
  /* The WAL's bound: a checkpoint once it holds 1000 pages, after the commit that crossed the
   * mark (the store caps a commit, so that one adds at most about 1 MiB of rows); and a WAL
   * that a larger commit (a single task past the cap) made longer is cut back to 4 MiB when it
   * starts over, instead of keeping its largest size for good. */
  if (!rc) rc = exec(t->db, "PRAGMA wal_autocheckpoint=1000; PRAGMA journal_size_limit=4194304;",
                     err, err_len);
  if (!rc) rc = exec(t->db, SCHEMA, err, err_len);
  if (!rc) rc = prepare(t, err, err_len);
  if (rc) {
    taskdb_close(t);
    return rc;
  }
  *out = t;
  return 0;
}

static int taskdb_load(void *handle, mol_a2a_task_row_fn each, void *arg, char *err,
                       size_t err_len) {
  taskdb *t = handle;
  sqlite3_stmt *st;
  /* Live ones first (ended_ms 0), then the terminal ones in the order they ended. */
  if (sqlite3_prepare_v2(t->db,
                         "SELECT seq, id, ended_ms, restarted, body FROM tasks"
                         " ORDER BY ended_ms, seq",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(t->db, "reading the saved tasks", err, err_len);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 1);
    if (!id) continue;
    const char *body = (const char *)sqlite3_column_text(st, 4);
    mol_a2a_task_row row = {.seq = sqlite3_column_int64(st, 0), .id = id,
                            .ended_ms = sqlite3_column_int64(st, 2),
                            .restarted = sqlite3_column_int(st, 3), .body = body,
                            .body_len = body ? (size_t)sqlite3_column_bytes(st, 4) : 0};
    each(&row, arg);
  }
  int bad = rc != SQLITE_DONE;
  if (bad) fail(t->db, "reading the saved tasks", err, err_len);
  sqlite3_finalize(st);
  return bad ? MOL_EIO : 0;
}

static int run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? 0 : MOL_EIO;
}

static int write_row(taskdb *t, const mol_a2a_task_row *r) {
  if (!r->body) {
    sqlite3_bind_int64(t->del, 1, r->seq);
    return run(t->del);
  }
  sqlite3_bind_int64(t->upsert, 1, r->seq);
  sqlite3_bind_text(t->upsert, 2, r->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(t->upsert, 3, r->ended_ms);
  sqlite3_bind_int(t->upsert, 4, r->restarted);
  sqlite3_bind_text(t->upsert, 5, r->body, (int)r->body_len, SQLITE_STATIC);
  return run(t->upsert);
}

static int taskdb_commit(void *handle, const mol_a2a_task_row *rows, size_t n, char *err,
                         size_t err_len) {
  taskdb *t = handle;
  int rc = exec(t->db, "BEGIN", err, err_len);
  for (size_t i = 0; i < n && !rc; i++)
    if (write_row(t, &rows[i])) rc = fail(t->db, rows[i].id, err, err_len);
  if (!rc) rc = exec(t->db, "COMMIT", err, err_len);
  if (rc) sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static const mol_a2a_task_backend sqlite_backend = {
    .open = taskdb_open, .load = taskdb_load, .commit = taskdb_commit, .close = taskdb_close};

const mol_a2a_task_backend *mol_dp_taskdb_backend(void) { return &sqlite_backend; }

/* libmolecule links this layer whole: SQLite is the default storage of every durable task store
 * its options leave unnamed (the public host API's data_dir), registered as the library loads
 * rather than named by the layers above, which may not reach this one. */
__attribute__((constructor)) static void register_default(void) {
  mol_a2a_task_backend_set_default(&sqlite_backend);
}
