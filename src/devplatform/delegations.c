/* delegations.c - the delegation ledger (WorkspaceAuth for the source):
 * GET /workspaces/:id/delegations (newest 50), POST /workspaces/:id/delegations/record and
 * POST /workspaces/:id/delegations/:did/update.
 *
 * A runtime that sends a delegation itself (the delegate_to_workspace tool) mirrors it here, so
 * its status outlives the runtime process and check_delegation_status can read it back after a
 * restart. Recording the same id twice is harmless (a retried record after a lost answer);
 * a delegation belongs to the workspace that recorded it, and only it may update it. */
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define TASK_MAX (256 * 1024)
#define PREVIEW_MAX 4096
#define SUMMARY_MAX 200

static int del_gate(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return 0;
  }
  return mol_dp__auth_workspace(c, ws, r);
}

/* The first SUMMARY_MAX bytes of task, cut at a UTF-8 character boundary. */
static json_t *summary_of(const char *task) {
  size_t n = strlen(task);
  if (n > SUMMARY_MAX) {
    n = SUMMARY_MAX;
    while (n > 0 && ((unsigned char)task[n] & 0xC0) == 0x80) n--;
  }
  return json_stringn(task, n);
}

static json_t *del_row(sqlite3_stmt *st) {
  char created[32];
  mol_dp__rfc3339(sqlite3_column_int64(st, 7), created);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s}", "id", mol_dp__col_text(st, 0), "type",
                        "delegation", "source_id", mol_dp__col_text(st, 1), "target_id",
                        mol_dp__col_text(st, 2), "summary", summary_of(mol_dp__col_text(st, 3)), "status",
                        mol_dp__col_text(st, 4), "created_at", created, "delegation_id",
                        mol_dp__col_text(st, 0));
  if (o && mol_dp__col_text(st, 5)) json_object_set_new(o, "error", json_string(mol_dp__col_text(st, 5)));
  if (o && mol_dp__col_text(st, 6))
    json_object_set_new(o, "response_preview", json_string(mol_dp__col_text(st, 6)));
  return o;
}

/* ?delegation_id=X narrows the list to that one row (an extension: a caller with more than 50
 * delegations in flight can still read the oldest; upstream ignores the parameter). */
void mol_dp__h_delegations_list(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!del_gate(c, ws, r)) return;
  char one[MOL_DP__ID_MAX + 1];
  int by_id = mol_dp__query_get(c, "delegation_id", one, sizeof one);
  if (by_id < 0) {
    mol_dp__reply_set(r, 200, json_array()); /* longer than any id: no such row */
    return;
  }
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, by_id ? MOL_DP__ST_DEL_GET : MOL_DP__ST_DEL_LIST);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  if (by_id) mol_dp__bind_text(st, 2, one);
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, del_row(st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

/* The source of delegation id into out: 1 found, 0 absent, <0 error. */
static int del_source(mol_devplatform *dp, const char *id, char out[MOL_DP__ID_MAX + 1]) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_SOURCE);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *s = mol_dp__col_text(st, 0);
    size_t n = s ? strlen(s) : 0;
    if (n > MOL_DP__ID_MAX) n = MOL_DP__ID_MAX;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : MOL_EIO;
}

static int del_insert(mol_devplatform *dp, const char *id, const char *src, const char *target,
                      const char *task) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_RECORD);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, src);
  mol_dp__bind_text(st, 3, target);
  mol_dp__bind_text(st, 4, task);
  sqlite3_bind_int64(st, 5, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

void mol_dp__h_delegation_record(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!del_gate(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *target = b ? mol_json_str(b, "target_id") : NULL;
  const char *task = b ? mol_json_str(b, "task") : NULL;
  const char *id = b ? mol_json_str(b, "delegation_id") : NULL;
  char owner[MOL_DP__ID_MAX + 1];
  int found;
  if (!target || !task || !id || !*task || !*id || strlen(id) > MOL_DP__ID_MAX)
    mol_dp__reply_err(r, 400, "target_id, task and delegation_id are required");
  else if (!mol_dp__is_uuid(target))
    mol_dp__reply_err(r, 400, "target_id must be a valid UUID");
  else if (strlen(task) > TASK_MAX)
    mol_dp__reply_err(r, 400, "task exceeds 256 KiB");
  else if ((found = del_source(c->dp, id, owner)) < 0)
    mol_dp__reply_err(r, 500, "query failed");
  else if (found && strcmp(owner, ws))
    mol_dp__reply_err(r, 409, "delegation_id belongs to another workspace");
  else if (!found && del_insert(c->dp, id, ws, target, task))
    mol_dp__reply_err(r, 500, "failed to record delegation");
  else
    mol_dp__reply_set(r, 202, json_pack("{s:s,s:s}", "delegation_id", id, "status", "recorded"));
  json_decref(b);
}

static int del_update(mol_devplatform *dp, const char *id, const char *src, const char *status,
                      const char *error, const char *preview) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_UPDATE);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, src);
  mol_dp__bind_text(st, 3, status);
  mol_dp__bind_text(st, 4, error);
  mol_dp__bind_text(st, 5, preview);
  sqlite3_bind_int64(st, 6, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

static int owned_by(mol_devplatform *dp, const char *id, const char *ws) {
  char owner[MOL_DP__ID_MAX + 1];
  return del_source(dp, id, owner) == 1 && strcmp(owner, ws) == 0;
}

void mol_dp__h_delegation_update(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r) {
  if (!del_gate(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *status = b ? mol_json_str(b, "status") : NULL;
  const char *error = b ? mol_json_str(b, "error") : NULL;
  const char *preview = b ? mol_json_str(b, "response_preview") : NULL;
  if (!status || (strcmp(status, "completed") && strcmp(status, "failed") &&
                  strcmp(status, "queued") && strcmp(status, "dispatched")))
    mol_dp__reply_err(r, 400, "status must be completed, failed, queued or dispatched");
  else if ((error && strlen(error) > PREVIEW_MAX) || (preview && strlen(preview) > PREVIEW_MAX))
    mol_dp__reply_err(r, 400, "error and response_preview are limited to 4096 bytes");
  else if (del_update(c->dp, id, ws, status, error, preview))
    mol_dp__reply_err(r, 500, "failed to update delegation");
  else if (sqlite3_changes(c->dp->store.db) == 0 && owned_by(c->dp, id, ws))
    mol_dp__reply_err(r, 409, "a completed or failed delegation cannot become pending again");
  else if (sqlite3_changes(c->dp->store.db) == 0)
    mol_dp__reply_err(r, 404, "delegation not found");
  else
    mol_dp__reply_set(r, 200, json_pack("{s:s,s:s}", "delegation_id", id, "status", status));
  json_decref(b);
}
