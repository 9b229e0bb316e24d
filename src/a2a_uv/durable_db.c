/* durable_db.c - the durable task store's SQLite side: the schema, reading the saved tasks
 * back, and the one transaction per loop iteration that writes the dirty ones.
 *
 * One row per task: its id, when it ended (0 while live, so eviction and the TTL keep their
 * order across a restart), whether a restart ended it, and the task itself as
 * mol_a2a_task_to_json writes it (v0.3, whole history). A task is written whole each time it
 * changes: Molecule tasks are small (a question, an answer), and a row that is always complete
 * needs no replay to read back. The table mirrors the in-memory store, which bounds it: a task
 * evicted or expired there is deleted here in the same commit.
 *
 * Durability: journal_mode=WAL. With synchronous=FULL every COMMIT fsyncs the WAL before it
 * returns, so what a reply reported survives a power loss; with NORMAL the COMMIT has only
 * write(2)n the frames, which survives the death of the process (kill -9, a crash) but not of
 * the machine (the database then rolls back to an earlier commit, consistent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/durable_int.h"
#include "base/file.h"
#include "base/log.h"
#include "molecule.h"

/* Keyed by a sequence number, not by the task id: ids are random UUIDs, and an index on them
 * would touch a random page per new task (a 4 KiB WAL frame each); rows in creation order
 * append to the end of the table, and the oldest (the ones evicted) leave from its start.
 * The id -> seq map lives in memory (d->seq), as bounded as the store. */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS tasks ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL, ended_ms INTEGER NOT NULL,"
    " restarted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);"
    "PRAGMA user_version=1;";

static int exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
  mol_loge("a2a", "task store: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return MOL_EIO;
}

static int prepare(mol_a2a_durable *d) {
  static const char up[] =
      "INSERT OR REPLACE INTO tasks(seq, id, ended_ms, restarted, body) VALUES(?5, ?1, ?2, ?3, ?4)";
  if (sqlite3_prepare_v2(d->db, up, -1, &d->upsert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(d->db, "DELETE FROM tasks WHERE seq=?1", -1, &d->del, NULL) != SQLITE_OK) {
    mol_loge("a2a", "task store: %s", sqlite3_errmsg(d->db));
    return MOL_EIO;
  }
  return 0;
}

int mol_a2a__durable_db_open(mol_a2a_durable *d, const char *dir, mol_a2a_sync sync) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/a2a-tasks.db", dir) >= (int)sizeof path) return MOL_EINVAL;
  if (mol_mkdir_p(dir, 0700) != 0) {
    mol_loge("a2a", "task store: cannot create the data directory %s", dir);
    return MOL_EIO;
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
    mol_loge("a2a", "task store: cannot open %s: %s", path,
             d->db ? sqlite3_errmsg(d->db) : "out of memory");
    return MOL_EIO;
  }
  /* Another process on the same data directory would write under us: refuse it. */
  int rc = exec(d->db, sync == MOL_A2A_SYNC_FULL ? "PRAGMA synchronous=FULL"
                                                 : "PRAGMA synchronous=NORMAL");
  if (!rc) rc = exec(d->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;");
  /* The id index takes random inserts (UUIDs): keep it in cache. A bound, like the rest. */
  if (!rc) rc = exec(d->db, "PRAGMA cache_size=-8192;");
  if (!rc) rc = exec(d->db, SCHEMA);
  if (!rc) rc = prepare(d);
  return rc;
}

void mol_a2a__durable_db_close(mol_a2a_durable *d) {
  sqlite3_finalize(d->upsert);
  sqlite3_finalize(d->del);
  d->upsert = d->del = NULL;
  if (d->db) sqlite3_close(d->db);
  d->db = NULL;
  mol_buf_free(&d->row);
}

/* ---- the commit ---------------------------------------------------------------------------- */

static int run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? 0 : MOL_EIO;
}

static int write_task(mol_a2a_durable *d, const char *id, const mol_a2a_task *t) {
  json_t *seq = json_object_get(d->seq, id);
  if (!t) { /* gone from the store; never written if it came and went within one commit */
    if (!seq) return 0;
    sqlite3_bind_int64(d->del, 1, json_integer_value(seq));
    d->stats.rows_deleted++;
    int rc = run(d->del);
    if (!rc) json_object_del(d->seq, id);
    return rc;
  }
  if (!seq) {
    if (json_object_set_new(d->seq, id, json_integer(++d->next_seq)) != 0) return MOL_ENOMEM;
    seq = json_object_get(d->seq, id);
  }
  sqlite3_bind_int64(d->upsert, 5, json_integer_value(seq));
  d->row.len = 0;
  if (mol_a2a_task_write(&d->row, t) != 0) return MOL_ENOMEM;
  sqlite3_bind_text(d->upsert, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(d->upsert, 2, mol_a2a_task_ended_ms(t));
  sqlite3_bind_int(d->upsert, 3, json_object_get(d->restarted, id) != NULL);
  sqlite3_bind_text(d->upsert, 4, d->row.data, (int)d->row.len, SQLITE_STATIC);
  d->stats.rows_written++;
  return run(d->upsert);
}

int mol_a2a__durable_db_commit(mol_a2a_durable *d, json_t *set) {
  const char *id;
  json_t *v;
  int rc = exec(d->db, "BEGIN");
  json_object_foreach(set, id, v) {
    if (rc) break;
    rc = write_task(d, id, mol_a2a_store_get(d->store, id));
    if (rc) mol_loge("a2a", "task store: writing task %s: %s", id, sqlite3_errmsg(d->db));
  }
  if (!rc) rc = exec(d->db, "COMMIT");
  if (rc) {
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    d->stats.commit_errors++;
    return MOL_EIO;
  }
  d->stats.commits++;
  if (set != d->dirty) json_object_foreach(set, id, v) json_object_del(d->dirty, id);
  else json_object_clear(d->dirty);
  json_object_clear(d->urgent);
  return 0;
}

/* ---- reading back -------------------------------------------------------------------------- */

/* A row that cannot come back is said so and deleted: the store would not have it either. */
static void drop_row(mol_a2a_durable *d, const char *id, const char *why) {
  mol_logw("a2a", "task store: dropping saved task %s: %s", id, why);
  json_object_set_new(d->dirty, id, json_true());
}

static void load_row(mol_a2a_durable *d, sqlite3_stmt *st, json_t *live) {
  const char *id = (const char *)sqlite3_column_text(st, 0);
  const char *body = (const char *)sqlite3_column_text(st, 3);
  long long seq = sqlite3_column_int64(st, 4);
  if (seq > d->next_seq) d->next_seq = seq;
  if (!id) return;
  json_object_set_new(d->seq, id, json_integer(seq)); /* so a drop deletes the row */
  json_error_t jerr;
  json_t *j = body ? json_loads(body, JSON_ALLOW_NUL, &jerr) : NULL;
  mol_a2a_error err = {0};
  mol_a2a_task *t = NULL;
  int rc = j ? mol_a2a_store_restore(d->store, j, sqlite3_column_int64(st, 1), &t, &err)
             : MOL_EINVAL;
  json_decref(j);
  if (rc) {
    drop_row(d, id, !j ? "not JSON" : err.message[0] ? err.message : mol_strerror(rc));
    return;
  }
  if (sqlite3_column_int(st, 2)) json_object_set_new(d->restarted, id, json_true());
  if (!mol_a2a_state_is_terminal(mol_a2a_task_state_get(t)))
    json_array_append_new(live, json_string(id));
}

int mol_a2a__durable_db_load(mol_a2a_durable *d, json_t *live) {
  sqlite3_stmt *st;
  /* Live ones first (ended_ms 0), then the terminal ones in the order they ended. */
  if (sqlite3_prepare_v2(d->db,
                         "SELECT id, ended_ms, restarted, body, seq FROM tasks"
                         " ORDER BY ended_ms, seq",
                         -1, &st, NULL) != SQLITE_OK) {
    mol_loge("a2a", "task store: %s", sqlite3_errmsg(d->db));
    return MOL_EIO;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) load_row(d, st, live);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    mol_loge("a2a", "task store: reading the saved tasks: %s", sqlite3_errmsg(d->db));
    return MOL_EIO;
  }
  return 0;
}
