/* approvals.c - approvals: an agent asks a human before acting (WorkspaceAuth for its own
 * workspace), an operator decides with the admin token.
 *
 *   POST /workspaces/:id/approvals                     agent: {action, reason?, task_id?, context?}
 *   GET  /workspaces/:id/approvals                     agent: its newest 50
 *   POST /workspaces/:id/approvals/:aid/decide         operator: {decision, decided_by?, reason?}
 *   POST /approvals/:aid/decide                        operator, when only the id is at hand
 *   GET  /approvals/pending                            operator: pending across workspaces
 *
 * Unlike upstream, deciding needs the admin token: a workspace token could otherwise approve
 * its own request; the operator may give a reason, which the agent sees as decision_reason
 * (stored since schema v3). A decision is final (a second one answers 404, as upstream). Nothing expires
 * on its own: the asking agent bounds its wait with its own deadline. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/crypto.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define ACTION_MAX 4096
#define TEXT_MAX (64 * 1024)

static int appr_gate(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return 0;
  }
  return mol_dp__auth_workspace(c, ws, r);
}

static json_t *text_or_null(sqlite3_stmt *st, int col) {
  const char *s = mol_dp__col_text(st, col);
  return s ? json_string(s) : json_null();
}

static json_t *time_or_null(sqlite3_stmt *st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return json_null();
  char t[32];
  mol_dp__rfc3339(sqlite3_column_int64(st, col), t);
  return json_string(t);
}

/* id, task_id, action, reason, status, decided_by, decided_at, created_at, decision_reason */
static json_t *appr_row(sqlite3_stmt *st) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "id", mol_dp__col_text(st, 0), "task_id",
                   mol_dp__col_text(st, 1) ? mol_dp__col_text(st, 1) : "", "action", mol_dp__col_text(st, 2),
                   "reason", text_or_null(st, 3), "status", mol_dp__col_text(st, 4), "decided_by",
                   text_or_null(st, 5), "decided_at", time_or_null(st, 6), "created_at",
                   time_or_null(st, 7));
  if (o && mol_dp__col_text(st, 8))
    json_object_set_new(o, "decision_reason", json_string(mol_dp__col_text(st, 8)));
  return o;
}

void mol_dp__h_approvals_list(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!appr_gate(c, ws, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_APPR_LIST);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, appr_row(st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

static int appr_insert(mol_devplatform *dp, const char *id, const char *ws, json_t *b) {
  json_t *ctx = json_object_get(b, "context");
  char *ctx_text = json_is_object(ctx) ? mol_json_dump(ctx) : NULL;
  const char *task = mol_json_str(b, "task_id");
  int rc = MOL_EIO;
  sqlite3_stmt *st;
  if (!mol_dp__store_write_begin(&dp->store) && (st = mol_dp__stmt(&dp->store, MOL_DP__ST_APPR_INSERT))) {
    mol_dp__bind_text(st, 1, id);
    mol_dp__bind_text(st, 2, ws);
    mol_dp__bind_text(st, 3, task ? task : "");
    mol_dp__bind_text(st, 4, mol_json_str(b, "action"));
    mol_dp__bind_text(st, 5, mol_json_str(b, "reason"));
    mol_dp__bind_text(st, 6, ctx_text);
    sqlite3_bind_int64(st, 7, mol_unix_ms());
    rc = mol_dp__exec_stmt(&dp->store, st);
  }
  free(ctx_text);
  return rc;
}

static const char *create_body_error(json_t *b) {
  const char *action = b ? mol_json_str(b, "action") : NULL;
  const char *reason = b ? mol_json_str(b, "reason") : NULL;
  const char *task = b ? mol_json_str(b, "task_id") : NULL;
  json_t *ctx = b ? json_object_get(b, "context") : NULL;
  if (!action || !*action) return "invalid request body";
  if (strlen(action) > ACTION_MAX) return "action exceeds 4096 bytes";
  if ((reason && strlen(reason) > TEXT_MAX) || (task && strlen(task) > MOL_DP__ID_MAX * 4))
    return "reason or task_id too long";
  if (ctx && !json_is_object(ctx) && !json_is_null(ctx)) return "context must be an object";
  return NULL;
}

void mol_dp__h_approval_create(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!appr_gate(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *bad = json_is_object(b) ? create_body_error(b) : "invalid request body";
  char id[MOL_UUID_LEN + 1];
  if (bad)
    mol_dp__reply_err(r, 400, bad);
  else if (mol_uuid4(id) || appr_insert(c->dp, id, ws, b))
    mol_dp__reply_err(r, 500, "failed to create approval");
  else
    mol_dp__reply_set(r, 201, json_pack("{s:s,s:s}", "approval_id", id, "status", "pending"));
  json_decref(b);
}

/* ws NULL: any workspace (the operator's short route). */
static void appr_decide(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *decision = b ? mol_json_str(b, "decision") : NULL;
  const char *by = b ? mol_json_str(b, "decided_by") : NULL;
  const char *why = b ? mol_json_str(b, "reason") : NULL;
  sqlite3_stmt *st = NULL;
  if (!json_is_object(b)) {
    mol_dp__reply_err(r, 400, "invalid request body");
  } else if (!decision || (strcmp(decision, "approved") && strcmp(decision, "denied"))) {
    mol_dp__reply_err(r, 400, "decision must be 'approved' or 'denied'");
  } else if ((by && strlen(by) > 256) || (why && strlen(why) > TEXT_MAX)) {
    mol_dp__reply_err(r, 400, "decided_by or reason too long");
  } else if (mol_dp__store_write_begin(&c->dp->store) ||
             !(st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_APPR_DECIDE))) {
    mol_dp__reply_err(r, 500, "failed to update");
  } else {
    mol_dp__bind_text(st, 1, id);
    mol_dp__bind_text(st, 2, ws);
    mol_dp__bind_text(st, 3, decision);
    mol_dp__bind_text(st, 4, by && *by ? by : "human");
    sqlite3_bind_int64(st, 5, mol_unix_ms());
    mol_dp__bind_text(st, 6, why && *why ? why : NULL);
    if (mol_dp__exec_stmt(&c->dp->store, st))
      mol_dp__reply_err(r, 500, "failed to update");
    else if (sqlite3_changes(c->dp->store.db) == 0)
      mol_dp__reply_err(r, 404, "approval not found or already decided");
    else
      mol_dp__reply_set(r, 200, json_pack("{s:s,s:s}", "status", decision, "approval_id", id));
  }
  json_decref(b);
}

void mol_dp__h_approval_decide(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r) {
  appr_decide(c, ws, id, r);
}

void mol_dp__h_approval_decide_any(mol_dp__call *c, const char *id, mol_dp__reply *r) {
  appr_decide(c, NULL, id, r);
}

void mol_dp__h_approvals_pending(mol_dp__call *c, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_APPR_PENDING);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(
        arr, json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:o}", "id", mol_dp__col_text(st, 0),
                       "workspace_id", mol_dp__col_text(st, 1), "workspace_name",
                       text_or_null(st, 2), "action", mol_dp__col_text(st, 3), "reason",
                       text_or_null(st, 4), "status", mol_dp__col_text(st, 5), "created_at",
                       time_or_null(st, 6)));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}
