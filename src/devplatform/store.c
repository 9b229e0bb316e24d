/* store.c - the dev platform's SQLite store: schema and migrations, cached prepared statements,
 * and the write transaction that spans one loop iteration, or a few (group commit).
 *
 * Why one transaction per iteration: each commit takes the WAL write lock and appends a frame
 * set, so batching every write of an iteration (a burst of heartbeats, say) into one
 * BEGIN ... COMMIT keeps the per-heartbeat cost at one prepared UPDATE. The commit runs in the
 * loop's check phase, right after the callbacks of the poll phase that did the writes, and the
 * replies of that iteration wait for it (commit.c): nothing is acknowledged before it is
 * committed. The owner may keep the transaction open past the iteration (defer) while more
 * writes are about to join it - the A2A proxy's answers, each with its activity row, would
 * otherwise cost one commit each - but never longer than MOL_DP__GROUP_WAIT_MS: a timer
 * commits it then.
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. A COMMIT has written its frames to the
 * WAL file with write(2) before it returns, so a committed transaction survives the death of
 * the process (kill -9, a crash) - the kernel holds the bytes. It is not fsynced: a power loss
 * or kernel crash may take the last transactions since the previous checkpoint (the database
 * stays consistent; it rolls back to an earlier commit). synchronous=FULL would close that gap
 * at the price of one fsync per commit; a development platform on one machine does not need
 * it. docs/devplatform.md says the same to users.
 */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define SCHEMA_VERSION 3

static const char *const schema_v1 =
    "CREATE TABLE IF NOT EXISTS workspaces ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT, tier INTEGER NOT NULL DEFAULT 3,"
    " parent_id TEXT, status TEXT NOT NULL, url TEXT NOT NULL DEFAULT '',"
    " delivery_mode TEXT NOT NULL DEFAULT 'push', runtime TEXT NOT NULL DEFAULT 'external',"
    " agent_card TEXT, last_heartbeat_at INTEGER NOT NULL DEFAULT 0,"
    " last_error_rate REAL NOT NULL DEFAULT 0, last_sample_error TEXT,"
    " active_tasks INTEGER NOT NULL DEFAULT 0, uptime_seconds INTEGER NOT NULL DEFAULT 0,"
    " current_task TEXT, max_concurrent_tasks INTEGER NOT NULL DEFAULT 1,"
    " budget_limit INTEGER, monthly_spend INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS ws_parent ON workspaces(parent_id);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    " id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,"
    " prefix TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER,"
    " revoked_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS tok_ws ON tokens(workspace_id, revoked_at);"
    "CREATE TABLE IF NOT EXISTS secrets ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY(scope, key));"
    "CREATE TABLE IF NOT EXISTS activity ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " workspace_id TEXT NOT NULL, activity_type TEXT NOT NULL, source_id TEXT, target_id TEXT,"
    " method TEXT, summary TEXT, request_body TEXT, response_body TEXT,"
    " status TEXT NOT NULL DEFAULT 'ok', error_detail TEXT, duration_ms INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS act_ws ON activity(workspace_id, seq);"
    "CREATE INDEX IF NOT EXISTS act_time ON activity(created_at);"
    "CREATE TABLE IF NOT EXISTS a2a_queue ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " workspace_id TEXT NOT NULL, caller_id TEXT, body TEXT NOT NULL, method TEXT,"
    " idempotency_key TEXT, priority INTEGER NOT NULL DEFAULT 50, status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, enqueued_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS q_idem ON a2a_queue(workspace_id, idempotency_key)"
    " WHERE status IN ('queued','dispatched') AND idempotency_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS q_ws ON a2a_queue(workspace_id, status, priority, seq);";

/* v2: what the agent tools need - KV memory with versions and TTL, scoped memories with a
 * full-text index (FTS5, kept in step by triggers), delegations, approvals. */
static const char *const schema_v2 =
    "CREATE TABLE IF NOT EXISTS kv_memory ("
    " workspace_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " version INTEGER NOT NULL, expires_at INTEGER, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(workspace_id, key));"
    "CREATE TABLE IF NOT EXISTS memories ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " workspace_id TEXT NOT NULL, content TEXT NOT NULL, scope TEXT NOT NULL,"
    " namespace TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS mem_ws ON memories(workspace_id, scope);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(content,"
    " content='memories', content_rowid='seq');"
    "CREATE TRIGGER IF NOT EXISTS mem_ai AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_fts(rowid, content) VALUES (new.seq, new.content); END;"
    "CREATE TRIGGER IF NOT EXISTS mem_ad AFTER DELETE ON memories BEGIN"
    " INSERT INTO memories_fts(memories_fts, rowid, content)"
    " VALUES ('delete', old.seq, old.content); END;"
    "CREATE TABLE IF NOT EXISTS delegations ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " source_id TEXT NOT NULL, target_id TEXT NOT NULL, task TEXT NOT NULL,"
    " status TEXT NOT NULL, idempotency_key TEXT, error TEXT, response_preview TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS del_idem ON delegations(source_id, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS del_src ON delegations(source_id, seq);"
    "CREATE TABLE IF NOT EXISTS approvals ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " workspace_id TEXT NOT NULL, task_id TEXT NOT NULL DEFAULT '', action TEXT NOT NULL,"
    " reason TEXT, context TEXT, status TEXT NOT NULL, decided_by TEXT, decided_at INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS appr_ws ON approvals(workspace_id, seq);"
    "CREATE INDEX IF NOT EXISTS appr_status ON approvals(status, seq);";

#define WS_COLS                                                                             \
  "id,name,role,tier,parent_id,status,url,delivery_mode,runtime,agent_card,"                \
  "last_heartbeat_at,last_error_rate,active_tasks,uptime_seconds,current_task,"             \
  "max_concurrent_tasks,budget_limit,monthly_spend,created_at,updated_at"
#define PEER_COLS "id,name,role,tier,status,agent_card,url,parent_id,active_tasks"
#define ACT_FILTER                                                                           \
  " WHERE a.workspace_id=?1 AND a.seq>?2"                                                    \
  " AND (?3 IS NULL OR (a.activity_type=?3 AND (?3!='a2a_receive' OR a.method IS NULL"       \
  "      OR a.method!='notify')))"                                                           \
  " AND (?4 IS NULL OR (?4='canvas' AND a.source_id IS NULL)"                                \
  "      OR (?4='agent' AND a.source_id IS NOT NULL))"                                       \
  " AND (?5 IS NULL OR a.source_id=?5) AND (?6 IS NULL OR a.created_at<?6)"                  \
  " AND (?7 IS NULL OR a.created_at>=?7)"
#define ACT_SELECT                                                                           \
  "SELECT a.seq,a.id,a.workspace_id,a.activity_type,a.source_id,a.target_id,a.method,"       \
  "a.summary,a.request_body,a.response_body,a.status,a.error_detail,a.duration_ms,"          \
  "a.created_at,s.name,s.role FROM activity a LEFT JOIN workspaces s ON s.id=a.source_id"

static const char *const sql[MOL_DP__ST_COUNT] = {
    [MOL_DP__ST_WS_GET] = "SELECT " WS_COLS " FROM workspaces WHERE id=?1",
    [MOL_DP__ST_WS_INSERT] = "INSERT INTO workspaces(id,name,role,tier,parent_id,status,url,"
                     "delivery_mode,runtime,max_concurrent_tasks,created_at,updated_at,"
                     "budget_limit) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?11,?12)",
    [MOL_DP__ST_WS_REGISTER] = "UPDATE workspaces SET url=?2, agent_card=?3, delivery_mode=?4,"
                       " status='online', last_heartbeat_at=?5, updated_at=?5"
                       " WHERE id=?1 AND status!='removed'",
    [MOL_DP__ST_WS_HB_READ] = "SELECT status, max_concurrent_tasks FROM workspaces WHERE id=?1",
    [MOL_DP__ST_WS_HEARTBEAT] = "UPDATE workspaces SET last_error_rate=?2, last_sample_error=?3,"
                        " active_tasks=?4, uptime_seconds=?5, current_task=?6,"
                        " monthly_spend=CASE WHEN ?7>0 THEN ?7 ELSE monthly_spend END,"
                        " last_heartbeat_at=?8, updated_at=?8, status=?9"
                        " WHERE id=?1 AND status!='removed'",
    [MOL_DP__ST_WS_SET_STATUS] = "UPDATE workspaces SET status=?2, updated_at=?3 WHERE id=?1",
    [MOL_DP__ST_WS_UPDATE_CARD] = "UPDATE workspaces SET agent_card=?2, updated_at=?3"
                          " WHERE id=?1 AND status!='removed'",
    [MOL_DP__ST_WS_CHILDREN] = "SELECT id,name FROM workspaces WHERE parent_id=?1 AND status!='removed'"
                       " ORDER BY created_at",
    [MOL_DP__ST_WS_PEERS] = "SELECT " PEER_COLS " FROM workspaces WHERE status!='removed' AND id!=?1"
                    " AND (parent_id IS ?2 OR parent_id=?1 OR id=?2)"
                    " AND (?3 IS NULL OR instr(lower(name),lower(?3))>0"
                    "      OR instr(lower(coalesce(role,'')),lower(?3))>0)"
                    " ORDER BY created_at, id",
    [MOL_DP__ST_WS_LIST] = "SELECT " PEER_COLS " FROM workspaces WHERE status!='removed'"
                   " ORDER BY created_at, id",
    [MOL_DP__ST_WS_PAUSE_ONE] = "UPDATE workspaces SET status='paused', url=CASE WHEN"
                        " delivery_mode='poll' THEN url ELSE '' END, updated_at=?2"
                        " WHERE id=?1 AND status NOT IN ('removed','paused')",
    [MOL_DP__ST_WS_RESUME_ONE] = "UPDATE workspaces SET status='offline', updated_at=?2"
                         " WHERE id=?1 AND status='paused'",
    [MOL_DP__ST_WS_REMOVE_ONE] = "UPDATE workspaces SET status='removed', url='', updated_at=?2"
                         " WHERE id=?1 AND status!='removed'",
    [MOL_DP__ST_WS_LIVENESS_SWEEP] = "UPDATE workspaces SET status='offline', updated_at=?2"
                             " WHERE status IN ('online','degraded') AND last_heartbeat_at<?1",
    [MOL_DP__ST_TOK_INSERT] = "INSERT INTO tokens(id,workspace_id,hash,prefix,created_at)"
                      " VALUES(?1,?2,?3,?4,?5)",
    [MOL_DP__ST_TOK_LOOKUP] = "SELECT t.workspace_id FROM tokens t JOIN workspaces w"
                      " ON w.id=t.workspace_id WHERE t.hash=?1 AND t.revoked_at IS NULL"
                      " AND w.status!='removed'",
    [MOL_DP__ST_TOK_HAS_LIVE] = "SELECT 1 FROM tokens WHERE workspace_id=?1 AND revoked_at IS NULL"
                        " LIMIT 1",
    [MOL_DP__ST_TOK_REVOKE_WS] = "UPDATE tokens SET revoked_at=?2 WHERE workspace_id=?1"
                         " AND revoked_at IS NULL",
    [MOL_DP__ST_TOK_TOUCH] = "UPDATE tokens SET last_used_at=?2 WHERE hash=?1",
    [MOL_DP__ST_SEC_PUT] = "INSERT INTO secrets(scope,key,value,created_at,updated_at)"
                   " VALUES(?1,?2,?3,?4,?4) ON CONFLICT(scope,key) DO UPDATE SET"
                   " value=excluded.value, updated_at=excluded.updated_at",
    [MOL_DP__ST_SEC_DEL] = "DELETE FROM secrets WHERE scope=?1 AND key=?2",
    [MOL_DP__ST_SEC_VALUES] = "SELECT key,value FROM secrets WHERE scope='' OR scope=?1"
                      " ORDER BY scope!='', key",
    [MOL_DP__ST_SEC_LIST] = "SELECT key,scope,created_at,updated_at FROM secrets"
                    " WHERE scope='' OR scope=?1 ORDER BY scope, key",
    [MOL_DP__ST_ACT_INSERT] = "INSERT INTO activity(id,workspace_id,activity_type,source_id,target_id,"
                      "method,summary,request_body,response_body,status,error_detail,"
                      "duration_ms,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [MOL_DP__ST_ACT_CURSOR] = "SELECT seq FROM activity WHERE id=?1 AND workspace_id=?2",
    [MOL_DP__ST_ACT_LIST_ASC] = ACT_SELECT ACT_FILTER " ORDER BY a.seq ASC LIMIT ?8",
    [MOL_DP__ST_ACT_LIST_DESC] = ACT_SELECT ACT_FILTER " ORDER BY a.seq DESC LIMIT ?8",
    [MOL_DP__ST_ACT_PRUNE_WS] = "DELETE FROM activity WHERE workspace_id=?1 AND seq<=(SELECT seq FROM"
                        " activity WHERE workspace_id=?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
    [MOL_DP__ST_ACT_PRUNE_AGE] = "DELETE FROM activity WHERE created_at<?1",
    [MOL_DP__ST_Q_FIND_IDEM] = "SELECT id FROM a2a_queue WHERE workspace_id=?1 AND idempotency_key=?2"
                       " AND status IN ('queued','dispatched')",
    [MOL_DP__ST_Q_INSERT] = "INSERT INTO a2a_queue(id,workspace_id,caller_id,body,method,"
                    "idempotency_key,status,enqueued_at,updated_at)"
                    " VALUES(?1,?2,?3,?4,?5,?6,'queued',?7,?7)",
    [MOL_DP__ST_Q_DEPTH] = "SELECT count(*) FROM a2a_queue WHERE workspace_id=?1 AND status='queued'",
    [MOL_DP__ST_Q_CLAIM] = "SELECT id,caller_id,body,idempotency_key FROM a2a_queue WHERE workspace_id=?1"
                   " AND status='queued' ORDER BY priority DESC, seq ASC LIMIT 1",
    [MOL_DP__ST_Q_SET_STATUS] = "UPDATE a2a_queue SET status=?2, updated_at=?3 WHERE id=?1",
    [MOL_DP__ST_Q_REQUEUE] = "UPDATE a2a_queue SET attempts=attempts+1, last_error=?3, updated_at=?4,"
                     " status=CASE WHEN attempts+1>=?2 THEN 'failed' ELSE 'queued' END"
                     " WHERE id=?1",
    [MOL_DP__ST_Q_RESET_DISPATCHED] = "UPDATE a2a_queue SET status='queued' WHERE status='dispatched'",
    [MOL_DP__ST_Q_PRUNE] = "DELETE FROM a2a_queue WHERE status IN ('completed','failed')"
                   " AND updated_at<?1",
    [MOL_DP__ST_KV_GET] = "SELECT key,value,version,expires_at,updated_at FROM kv_memory"
                  " WHERE workspace_id=?1 AND key=?2 AND (expires_at IS NULL OR expires_at>?3)",
    [MOL_DP__ST_KV_LIST] = "SELECT key,value,version,expires_at,updated_at FROM kv_memory"
                   " WHERE workspace_id=?1 AND (expires_at IS NULL OR expires_at>?2) ORDER BY key",
    [MOL_DP__ST_KV_PUT] = "INSERT INTO kv_memory(workspace_id,key,value,version,expires_at,updated_at)"
                  " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(workspace_id,key) DO UPDATE SET"
                  " value=excluded.value, version=excluded.version,"
                  " expires_at=excluded.expires_at, updated_at=excluded.updated_at",
    [MOL_DP__ST_KV_DEL] = "DELETE FROM kv_memory WHERE workspace_id=?1 AND key=?2",
    [MOL_DP__ST_MEM_INSERT] = "INSERT INTO memories(id,workspace_id,content,scope,namespace,created_at)"
                      " VALUES(?1,?2,?3,?4,?5,?6)",
    [MOL_DP__ST_MEM_DEL] = "DELETE FROM memories WHERE id=?1 AND workspace_id=?2",
    [MOL_DP__ST_MEM_SEARCH] = "SELECT m.id,m.workspace_id,m.content,m.scope,m.namespace,m.created_at"
                      " FROM memories m WHERE (m.workspace_id=?1 OR m.scope!='LOCAL')"
                      " AND (?2 IS NULL OR m.scope=?2) AND (?3 IS NULL OR m.namespace=?3)"
                      " AND (?4 IS NULL OR m.seq IN (SELECT rowid FROM memories_fts"
                      "      WHERE memories_fts MATCH ?4))"
                      " AND (?5 IS NULL OR instr(lower(m.content),lower(?5))>0)"
                      " ORDER BY m.seq DESC",
    [MOL_DP__ST_DEL_RECORD] = "INSERT OR IGNORE INTO delegations(id,source_id,target_id,task,status,"
                      "created_at,updated_at) VALUES(?1,?2,?3,?4,'pending',?5,?5)",
    [MOL_DP__ST_DEL_SOURCE] = "SELECT source_id FROM delegations WHERE id=?1",
    [MOL_DP__ST_DEL_UPDATE] = "UPDATE delegations SET status=?3, error=?4, response_preview=?5,"
                      " updated_at=?6 WHERE id=?1 AND source_id=?2 AND NOT (status IN"
                      " ('completed','failed','stuck') AND ?3 NOT IN ('completed','failed'))",
    [MOL_DP__ST_DEL_FIND_IDEM] = "SELECT id,status FROM delegations WHERE source_id=?1"
                         " AND idempotency_key=?2",
    [MOL_DP__ST_DEL_GET] = "SELECT id,source_id,target_id,task,status,error,response_preview,"
                   "created_at FROM delegations WHERE source_id=?1 AND id=?2",
    [MOL_DP__ST_DEL_DROP] = "DELETE FROM delegations WHERE id=?1",
    [MOL_DP__ST_DEL_INSERT] = "INSERT INTO delegations(id,source_id,target_id,task,status,"
                      "idempotency_key,created_at,updated_at)"
                      " VALUES(?1,?2,?3,?4,'dispatched',?5,?6,?6)",
    [MOL_DP__ST_DEL_STITCH] = "UPDATE delegations SET status=?4, error=?5, response_preview=?6,"
                      " updated_at=?7 WHERE id=?1 AND source_id=?2 AND target_id=?3"
                      " AND (status NOT IN ('completed','failed','stuck')"
                      "      OR (status='stuck' AND ?4 IN ('completed','failed')))",
    [MOL_DP__ST_DEL_STUCK] = "UPDATE delegations SET status='stuck', error='the target"
                     " stopped sending heartbeats while this delegation was '||status,"
                     " updated_at=?2 WHERE status IN ('pending','dispatched','queued')"
                     " AND target_id IN (SELECT id FROM workspaces WHERE last_heartbeat_at<?1)",
    [MOL_DP__ST_DEL_INTERRUPTED] = "UPDATE delegations SET status='failed', error='the platform"
                           " stopped while this delegation was in flight; whether the target"
                           " ran it is not known', updated_at=?1"
                           " WHERE status='dispatched' AND idempotency_key IS NOT NULL",
    [MOL_DP__ST_DEL_LIST] = "SELECT id,source_id,target_id,task,status,error,response_preview,created_at"
                    " FROM delegations WHERE source_id=?1 ORDER BY seq DESC LIMIT 50",
    [MOL_DP__ST_APPR_INSERT] = "INSERT INTO approvals(id,workspace_id,task_id,action,reason,context,status,"
                       "created_at) VALUES(?1,?2,?3,?4,?5,?6,'pending',?7)",
    [MOL_DP__ST_APPR_LIST] = "SELECT id,task_id,action,reason,status,decided_by,decided_at,created_at,"
                     "decision_reason FROM approvals WHERE workspace_id=?1 ORDER BY seq DESC LIMIT 50",
    [MOL_DP__ST_APPR_DECIDE] = "UPDATE approvals SET status=?3, decided_by=?4, decided_at=?5,"
                       " decision_reason=?6"
                       " WHERE id=?1 AND (?2 IS NULL OR workspace_id=?2) AND status='pending'",
    [MOL_DP__ST_INSTR_INSERT] = "INSERT INTO platform_instructions(id,scope,scope_target,title,content,"
                        "priority,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [MOL_DP__ST_INSTR_DELETE] = "DELETE FROM platform_instructions WHERE id=?1",
    [MOL_DP__ST_INSTR_RESOLVE] = "SELECT scope,title,content FROM platform_instructions WHERE enabled=1"
                         " AND (scope='global' OR (scope='workspace' AND scope_target=?1))"
                         " ORDER BY scope!='global', priority DESC, seq",
    [MOL_DP__ST_APPR_PENDING] = "SELECT a.id,a.workspace_id,w.name,a.action,a.reason,a.status,a.created_at"
                        " FROM approvals a LEFT JOIN workspaces w ON w.id=a.workspace_id"
                        " WHERE a.status='pending' ORDER BY a.seq DESC LIMIT 50",
};

/* v3: the operator's reason for an approval decision, shown to the agent that asked; platform
 * instructions (rules for the agents' system prompts, global or per workspace). */
static const char *const schema_v3 =
    "ALTER TABLE approvals ADD COLUMN decision_reason TEXT;"
    "CREATE TABLE IF NOT EXISTS platform_instructions ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, scope TEXT NOT NULL,"
    " scope_target TEXT, title TEXT NOT NULL, content TEXT NOT NULL,"
    " priority INTEGER NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL);";

static int exec_sql(sqlite3 *db, const char *q) {
  char *err = NULL;
  if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
    mol_loge("devplatform", "sqlite: %s", err ? err : "error");
    sqlite3_free(err);
    return MOL_EIO;
  }
  return 0;
}

static int migrate(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int version = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return MOL_EIO;
  if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version > SCHEMA_VERSION) {
    mol_loge("devplatform", "database schema %d is newer than this build (%d)", version,
             SCHEMA_VERSION);
    return MOL_EINVAL;
  }
  if (version == SCHEMA_VERSION) return 0;
  char q[64];
  snprintf(q, sizeof q, "PRAGMA user_version=%d", SCHEMA_VERSION);
  /* Each step brings one version to the next; a database of any older version walks up. */
  if (exec_sql(db, "BEGIN") || (version < 1 && exec_sql(db, schema_v1)) ||
      (version < 2 && exec_sql(db, schema_v2)) || (version < 3 && exec_sql(db, schema_v3)) ||
      exec_sql(db, q)) {
    exec_sql(db, "ROLLBACK");
    return MOL_EIO;
  }
  return exec_sql(db, "COMMIT");
}

static int mark_interrupted_delegations(sqlite3 *db) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql[MOL_DP__ST_DEL_INTERRUPTED], -1, &st, NULL) != SQLITE_OK)
    return MOL_EIO;
  sqlite3_bind_int64(st, 1, mol_unix_ms());
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MOL_EIO;
  sqlite3_finalize(st);
  return rc;
}

static void on_group_timer(uv_timer_t *t) { mol_dp__store_commit(t->data); }

static void on_check(uv_check_t *h) {
  mol_dp__store *s = h->data;
  if (s->defer && s->defer(s->on_end_arg)) {
    if (!uv_is_active((uv_handle_t *)&s->group_timer))
      uv_timer_start(&s->group_timer, on_group_timer, MOL_DP__GROUP_WAIT_MS, 0);
    return;
  }
  mol_dp__store_commit(s);
}

int mol_dp__store_open(mol_dp__store *s, uv_loop_t *loop, const char *path) {
  memset(s, 0, sizeof *s);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
    mol_loge("devplatform", "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "oom");
    sqlite3_close(s->db);
    s->db = NULL;
    return MOL_EIO;
  }
  sqlite3_busy_timeout(s->db, 2000);
  /* WAL + NORMAL: durable across a process crash, no fsync per commit (see the top). */
  int rc = exec_sql(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                           " PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;");
  if (!rc) rc = migrate(s->db);
  /* In-flight dispatches died with the previous process: their queue items run again. */
  if (!rc) rc = exec_sql(s->db, sql[MOL_DP__ST_Q_RESET_DISPATCHED]);
  /* The platform's own delegations in flight died with it too; their queued ones did not. */
  if (!rc) rc = mark_interrupted_delegations(s->db);
  if (rc) {
    sqlite3_close(s->db);
    s->db = NULL;
    return rc;
  }
  uv_check_init(loop, &s->commit_check);
  s->commit_check.data = s;
  uv_timer_init(loop, &s->group_timer);
  s->group_timer.data = s;
  s->check_inited = 1;
  return 0;
}

sqlite3_stmt *mol_dp__stmt(mol_dp__store *s, mol_dp__stmt_id id) {
  sqlite3_stmt *st = s->stmts[id];
  if (!st) {
    if (sqlite3_prepare_v3(s->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL) !=
        SQLITE_OK) {
      mol_loge("devplatform", "prepare %d: %s", (int)id, sqlite3_errmsg(s->db));
      return NULL;
    }
    return s->stmts[id];
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

int mol_dp__store_write_begin(mol_dp__store *s) {
  if (s->in_txn) return 0;
  if (exec_sql(s->db, "BEGIN")) return MOL_EIO;
  s->in_txn = 1;
  if (s->check_inited) uv_check_start(&s->commit_check, on_check);
  return 0;
}

int mol_dp__store_commit(mol_dp__store *s) {
  if (s->check_inited) {
    uv_check_stop(&s->commit_check);
    uv_timer_stop(&s->group_timer);
  }
  if (!s->in_txn) return 0;
  s->in_txn = 0;
  /* Reset statements first: an unfinished SELECT would make COMMIT fail with SQLITE_BUSY. */
  for (int i = 0; i < MOL_DP__ST_COUNT; i++)
    if (s->stmts[i]) sqlite3_reset(s->stmts[i]);
  int committed = exec_sql(s->db, "COMMIT") == 0;
  /* A failed statement may have rolled the transaction back already (SQLITE_FULL, IOERR):
   * then the COMMIT fails with "no transaction is active" and there is nothing to undo. */
  if (!committed && !sqlite3_get_autocommit(s->db)) exec_sql(s->db, "ROLLBACK");
  if (!committed) mol_loge("devplatform", "commit failed: this iteration's writes are lost");
  if (s->on_end) s->on_end(s->on_end_arg, committed);
  return committed ? 0 : MOL_EIO;
}

int mol_dp__exec_stmt(mol_dp__store *s, sqlite3_stmt *st) {
  if (!st) return MOL_EIO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    mol_loge("devplatform", "sqlite step: %s", sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return MOL_EIO;
  }
  sqlite3_reset(st);
  return 0;
}

static void on_group_timer_closed(uv_handle_t *h) {
  mol_dp__store *s = h->data;
  uv_close((uv_handle_t *)&s->commit_check, s->close_cb);
}

int mol_dp__store_close(mol_dp__store *s, uv_close_cb cb) {
  if (s->db) {
    mol_dp__store_commit(s);
    for (int i = 0; i < MOL_DP__ST_COUNT; i++) sqlite3_finalize(s->stmts[i]);
    memset(s->stmts, 0, sizeof s->stmts);
    sqlite3_close(s->db);
    s->db = NULL;
  }
  if (!s->check_inited) return 0;
  s->check_inited = 0;
  /* The check handle closes last: its data is the owner's, and cb frees the store. */
  s->close_cb = cb;
  uv_close((uv_handle_t *)&s->group_timer, on_group_timer_closed);
  return 1;
}

const char *mol_dp__col_text(sqlite3_stmt *st, int col) {
  return (const char *)sqlite3_column_text(st, col);
}

void mol_dp__bind_text(sqlite3_stmt *st, int idx, const char *s) {
  if (s)
    sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, idx);
}
