/* queue.c - the a2a busy queue: a dispatch that timed out or lost its
 * connection is stored and answered 202; a heartbeat from the target with spare capacity
 * dispatches one stored item. The queue lives in SQLite, so it survives a restart.
 *
 * Deviation: upstream marks a drained item "completed" when the target is still busy and
 * relies on a re-enqueue that its own unique index collapses, so the item can be lost. Here a
 * busy drain goes back to "queued" with attempts+1 (failed after QUEUE_MAX_ATTEMPTS). */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "devplatform/dispatch.h"
#include "molecule.h"

#define QUEUE_MAX_ATTEMPTS 5

static long queue_depth(mol_devplatform *dp, const char *ws) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_DEPTH);
  if (!st) return -1;
  mol_dp__bind_text(st, 1, ws);
  long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  return n;
}

static int find_idem(mol_devplatform *dp, const char *ws, const char *idem,
                     char id_out[MOL_UUID_LEN + 1]) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_FIND_IDEM);
  if (!st) return 0;
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, idem);
  int found = sqlite3_step(st) == SQLITE_ROW;
  if (found) snprintf(id_out, MOL_UUID_LEN + 1, "%s", mol_dp__col_text(st, 0));
  sqlite3_reset(st);
  return found;
}

int mol_dp__queue_enqueue(mol_devplatform *dp, const char *ws, const char *caller, const char *body,
                          const char *method, const char *idem, char id_out[MOL_UUID_LEN + 1],
                          long *depth) {
  /* The same messageId while an item is pending collapses into that item (upstream index). */
  if (idem && *idem && find_idem(dp, ws, idem, id_out)) {
    *depth = queue_depth(dp, ws);
    return 0;
  }
  long n = queue_depth(dp, ws);
  if (n < 0 || n >= (long)dp->queue_max_per_ws) return MOL_ELIMIT;
  if (mol_uuid4(id_out) || mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id_out);
  mol_dp__bind_text(st, 2, ws);
  mol_dp__bind_text(st, 3, caller && *caller ? caller : NULL);
  mol_dp__bind_text(st, 4, body);
  mol_dp__bind_text(st, 5, method);
  mol_dp__bind_text(st, 6, idem && *idem ? idem : NULL);
  sqlite3_bind_int64(st, 7, mol_unix_ms());
  if (mol_dp__exec_stmt(&dp->store, st)) return MOL_EIO;
  dp->queued_total++;
  *depth = n + 1;
  return 0;
}

void mol_dp__queue_busy_reply(mol_devplatform *dp, const mol_dp__dispatch *d, mol_dp__reply *r) {
  if (mol_dp__rt_cap(dp, d->target, "session")) {
    mol_dp__reply_set(r, 503,
                      json_pack("{s:s,s:b,s:i,s:b}", "error",
                                "workspace agent busy — adapter handles retry (native_session)",
                                "busy", 1, "retry_after", 30, "native_session", 1));
    r->retry_after = 30;
    return;
  }
  char id[MOL_UUID_LEN + 1];
  long depth = 0;
  if (mol_dp__queue_enqueue(dp, d->target, d->caller, d->body, d->method, d->msgid, id, &depth)) {
    mol_dp__reply_set(r, 503,
                      json_pack("{s:s,s:b,s:i}", "error",
                                "workspace agent busy — retry after a short backoff", "busy", 1,
                                "retry_after", 30));
    r->retry_after = 30;
    return;
  }
  mol_logi("devplatform", "a2a to %s queued (%s, depth %ld)", d->target, id, depth);
  mol_dp__reply_set(r, 202,
                    json_pack("{s:b,s:s,s:I,s:s}", "queued", 1, "queue_id", id, "queue_depth",
                              (json_int_t)depth, "message",
                              "workspace agent busy — request queued, will dispatch when "
                              "capacity available"));
}

static int queue_attempts(mol_devplatform *dp, const char *id) {
  sqlite3_stmt *st;
  int n = 0;
  if (sqlite3_prepare_v2(dp->store.db, "SELECT attempts FROM a2a_queue WHERE id=?1", -1, &st,
                         NULL) != SQLITE_OK)
    return 0;
  mol_dp__bind_text(st, 1, id);
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n;
}

int mol_dp__queue_drain_done(mol_devplatform *dp, const char *queue_id, int ok, const char *err) {
  if (mol_dp__store_write_begin(&dp->store)) return 0;
  sqlite3_stmt *st;
  if (ok) {
    st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_SET_STATUS);
    if (!st) return 0;
    mol_dp__bind_text(st, 1, queue_id);
    mol_dp__bind_text(st, 2, "completed");
    sqlite3_bind_int64(st, 3, mol_unix_ms());
    mol_dp__exec_stmt(&dp->store, st);
    return 0;
  }
  int requeued = queue_attempts(dp, queue_id) + 1 < QUEUE_MAX_ATTEMPTS; /* failures are rare */
  st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_REQUEUE);
  if (!st) return 0;
  mol_dp__bind_text(st, 1, queue_id);
  sqlite3_bind_int(st, 2, QUEUE_MAX_ATTEMPTS);
  mol_dp__bind_text(st, 3, err);
  sqlite3_bind_int64(st, 4, mol_unix_ms());
  if (mol_dp__exec_stmt(&dp->store, st) == 0 && requeued) dp->queued_total++;
  mol_logi("devplatform", "queued a2a %s: %s (%s)", queue_id, err ? err : "failed",
           requeued ? "requeued" : "given up");
  return !requeued;
}

int mol_dp__queue_load_count(mol_devplatform *dp) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(dp->store.db, "SELECT count(*) FROM a2a_queue WHERE status='queued'", -1,
                         &st, NULL) != SQLITE_OK)
    return MOL_EIO;
  dp->queued_total = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return 0;
}

static int drain_in_flight(mol_devplatform *dp, const char *ws) {
  mol_dp__rt *rt = mol_dp__rt_get(dp, ws, 0);
  for (mol_dp__dispatch *d = rt ? rt->inflight : NULL; d; d = d->next)
    if (d->queue_id[0]) return 1;
  return 0;
}

/* Claims the oldest highest-priority item of ws; 1 when one was claimed. */
static int claim(mol_devplatform *dp, const char *ws, char id[MOL_UUID_LEN + 1], char **caller,
                 char **body, char msgid[128]) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_CLAIM);
  if (!st) return 0;
  mol_dp__bind_text(st, 1, ws);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_reset(st);
    return 0;
  }
  snprintf(id, MOL_UUID_LEN + 1, "%s", mol_dp__col_text(st, 0));
  *caller = strdup(mol_dp__col_text(st, 1) ? mol_dp__col_text(st, 1) : "");
  *body = strdup(mol_dp__col_text(st, 2) ? mol_dp__col_text(st, 2) : "{}");
  /* the messageId it was queued under: a delegation's id, for the ledger */
  snprintf(msgid, 128, "%s", mol_dp__col_text(st, 3) ? mol_dp__col_text(st, 3) : "");
  sqlite3_reset(st);
  if (!*caller || !*body || mol_dp__store_write_begin(&dp->store)) return 0;
  st = mol_dp__stmt(&dp->store, MOL_DP__ST_Q_SET_STATUS);
  if (!st) return 0;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, "dispatched");
  sqlite3_bind_int64(st, 3, mol_unix_ms());
  if (mol_dp__exec_stmt(&dp->store, st)) return 0;
  dp->queued_total--;
  return 1;
}

static void drain_one(mol_devplatform *dp, const char *ws) {
  mol_dp__ws w;
  if (mol_dp__ws_load(dp, ws, &w) != 1) return;
  int usable = w.url[0] && strcmp(w.delivery_mode, "push") == 0 &&
               strcmp(w.status, "paused") && strcmp(w.status, "removed");
  char id[MOL_UUID_LEN + 1], msgid[128], *caller = NULL, *body = NULL;
  if (usable && claim(dp, ws, id, &caller, &body, msgid)) {
    json_t *j = json_loads(body, 0, NULL);
    const char *method = j ? mol_json_str(j, "method") : NULL;
    mol_dp__dispatch_args a = {.target = ws, .caller = caller, .url = w.url, .body = body,
                               .method = method ? method : "", .msgid = msgid, .queue_id = id};
    mol_dp__reply r = {.retry_after = -1};
    if (!mol_dp__dispatch_start(dp, &a, &r)) mol_dp__queue_drain_done(dp, id, 0, "refused");
    mol_dp__reply_free(&r);
    json_decref(j);
  }
  free(caller);
  free(body);
  mol_dp__ws_free(&w);
}

void mol_dp__proxy_on_heartbeat(mol_devplatform *dp, const char *ws, int can_drain) {
  mol_dp__proxy_touch(dp, ws);
  if (!can_drain || dp->queued_total <= 0 || dp->closing || drain_in_flight(dp, ws)) return;
  drain_one(dp, ws);
}
