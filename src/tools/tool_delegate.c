/* tool_delegate.c - the core set's delegation tools: delegate_to_workspace (non-blocking: the
 * platform runs the delegation, POST /workspaces/<self>/delegate, and stitches the reply into
 * the ledger) and check_delegation_status (reads the ledger, GET /workspaces/<self>/delegations).
 *
 * Unlike upstream, nothing of the delegation lives in the runtime process: the platform holds
 * it, so it survives a restart of the agent, and the status comes from the one record both
 * sides see. A queued delegation is reported as queued, never as failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/json.h"
#include "tools/builtin_int.h"
#include "tools/delegate_int.h"

#define PREVIEW_CHARS 200

/* ---- the ledger, shared with the MCP tools ------------------------------------------------- */

json_t *bt_ledger_rows(const mol_platform_result *res) {
  json_t *v = res && res->body ? json_loads(res->body, 0, NULL) : NULL;
  if (json_is_array(v)) return v;
  json_decref(v);
  return NULL;
}

int bt_terminal(const char *status) {
  return status && (!strcmp(status, "completed") || !strcmp(status, "failed"));
}

/* s cut to at most n bytes at a UTF-8 boundary (new reference). */
static json_t *clipped(const char *s, size_t n) {
  size_t len = strlen(s);
  if (len > n) {
    len = n;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
  }
  return json_stringn(s, len);
}

/* ---- delegate_to_workspace --------------------------------------------------------------------- */

static const char delegate_desc[] =
    "Delegate a task to a peer workspace (another agent) without waiting. Returns a task_id at "
    "once; the platform sends the task and records the reply. Poll check_delegation_status with "
    "the task_id to get the result.\n\nArgs:\n    workspace_id: the peer's workspace ID (from "
    "your peers list)\n    task: what the peer should do, with all the context it needs";
static const char delegate_schema[] =
    "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\"},\"task\":"
    "{\"type\":\"string\"}},\"required\":[\"workspace_id\",\"task\"]}";

static void delegated(bt_op *op, int err, const mol_platform_result *res) {
  const char *target = bt_arg(op, "workspace_id", "");
  if (err) {
    bt_done_json(op, json_pack("{s:b,s:s+}", "success", 0, "error", "Delegation failed: ",
                               bt_err_text(err, res)));
    return;
  }
  char msg[512];
  snprintf(msg, sizeof msg,
           "Task delegated to %s. Use check_delegation_status('%s') to get the result when "
           "ready.", target, res->delegation_id ? res->delegation_id : "");
  bt_done_json(op, json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "task_id",
                             res->delegation_id ? res->delegation_id : "", "status", "delegated",
                             "message", msg));
}

static int delegate_start(mol_tool_call *call, json_t *args) {
  bt_op *op = bt_op_start(call, args, 1);
  if (!op) return 0;
  const char *target = bt_arg(op, "workspace_id", ""), *task = bt_arg(op, "task", "");
  if (!*target || !*task) {
    bt_done_json(op, json_pack("{s:b,s:s}", "success", 0, "error",
                               "workspace_id and task are required"));
    return 0;
  }
  /* A fresh key: each call is a new delegation, as upstream's uuid task ids. */
  char key[MOL_UUID_LEN + 1];
  mol_uuid4(key);
  mol_platform_delegate_opts o = {.idempotency_key = key, .timeout_ms = 30000};
  op->step = delegated;
  int rc = mol_platform_delegate(op->pc, target, task, &o, NULL, bt_platform_cb, op, &op->req);
  if (rc == MOL_EINVAL)
    bt_done_json(op, json_pack("{s:b,s:s}", "success", 0, "error",
                               "workspace_id must be a workspace ID (a UUID)"));
  else if (rc)
    bt_done_json(op, json_pack("{s:b,s:s}", "success", 0, "error", mol_strerror(rc)));
  return 0;
}

/* ---- check_delegation_status ------------------------------------------------------------------- */

static const char status_desc[] =
    "Check a delegation made with delegate_to_workspace, or list them all (empty task_id).\n"
    "- pending / dispatched: the peer is working; check again later.\n"
    "- queued: the peer was busy; the task WILL be delivered and the reply recorded. Do not "
    "send it again and do not do the work yourself.\n"
    "- completed: the reply is in result.\n"
    "- failed: the reason is in error; only then try another peer or do it yourself.\n\nArgs:\n"
    "    task_id: the task_id delegate_to_workspace returned (empty: list all)";
static const char status_schema[] =
    "{\"type\":\"object\",\"properties\":{\"task_id\":{\"type\":\"string\",\"default\":\"\"}}}";

static json_t *row_view(json_t *row, int full) {
  const char *status = mol_json_str(row, "status");
  const char *id = mol_json_str(row, "delegation_id");
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "task_id", id ? id : "", "workspace_id",
                        mol_json_str(row, "target_id") ? mol_json_str(row, "target_id") : "",
                        "status", status ? status : "", "task",
                        mol_json_str(row, "summary") ? mol_json_str(row, "summary") : "");
  const char *preview = mol_json_str(row, "response_preview"), *error = mol_json_str(row, "error");
  if (o && status && !strcmp(status, "completed"))
    json_object_set_new(o, full ? "result" : "result_preview",
                        clipped(preview ? preview : "", full ? (size_t)-1 : PREVIEW_CHARS));
  if (o && status && !strcmp(status, "failed") && error)
    json_object_set_new(o, "error", json_string(error));
  if (o && full && status && !strcmp(status, "queued"))
    json_object_set_new(o, "note", json_string("The peer is busy; the task will be delivered "
                                               "and its reply recorded. Do not send it again."));
  return o;
}

static void status_read(bt_op *op, int err, const mol_platform_result *res) {
  json_t *rows = err ? NULL : bt_ledger_rows(res);
  if (!rows) {
    bt_done_json(op, json_pack("{s:s+}", "error", "Cannot read the delegations: ",
                               err ? bt_err_text(err, res) : "unexpected answer"));
    return;
  }
  json_t *list = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(list, row_view(row, 0));
  bt_done_json(op, json_pack("{s:o,s:I}", "delegations", list, "count",
                             (json_int_t)json_array_size(rows)));
  json_decref(rows);
}

/* One delegation, read by its id (not limited to the newest rows of the list). */
static void status_one(bt_op *op, int err, const mol_platform_result *res) {
  json_t *row = err ? NULL : json_loads(res->item ? res->item : "", 0, NULL);
  if (row) {
    bt_done_json(op, row_view(row, 1));
  } else if (err == MOL_ENOENT) {
    char msg[256];
    snprintf(msg, sizeof msg, "No delegation found with task_id %s", bt_arg(op, "task_id", ""));
    bt_done_json(op, json_pack("{s:s}", "error", msg));
  } else {
    bt_done_json(op, json_pack("{s:s+}", "error", "Cannot read the delegation: ",
                               err ? bt_err_text(err, res) : "unexpected answer"));
  }
  json_decref(row);
}

static int status_start(mol_tool_call *call, json_t *args) {
  bt_op *op = bt_op_start(call, args, 1);
  if (!op) return 0;
  const char *id = bt_arg(op, "task_id", "");
  op->step = *id ? status_one : status_read;
  int rc = *id ? mol_platform_delegation_status(op->pc, id, NULL, bt_platform_cb, op, &op->req)
               : mol_platform_delegations(op->pc, NULL, bt_platform_cb, op, &op->req);
  if (rc) bt_done_json(op, json_pack("{s:s}", "error", mol_strerror(rc)));
  return 0;
}

int bt_add_delegation_core(mol_tools *reg, mol_tools_builtin *b) {
  int rc = bt_add(reg, b, "delegate_to_workspace", delegate_desc, delegate_schema,
                  delegate_start);
  if (!rc) rc = bt_add(reg, b, "check_delegation_status", status_desc, status_schema,
                       status_start);
  return rc;
}
