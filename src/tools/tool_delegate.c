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

json_t *mol_tools__ledger_rows(const mol_platform_result *res) {
  json_t *v = res && res->body ? json_loads(res->body, 0, NULL) : NULL;
  if (json_is_array(v)) return v;
  json_decref(v);
  return NULL;
}

int mol_tools__terminal(const char *status) {
  return status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
                    !strcmp(status, "stuck"));
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

static void delegated(mol_tools__op *op, int err, const mol_platform_result *res) {
  const char *target = mol_tools__arg(op, "workspace_id", "");
  if (err) {
    mol_tools__done_json(op, json_pack("{s:b,s:s+}", "success", 0, "error",
                                       "Delegation failed: ", mol_tools__err_text(err, res)));
    return;
  }
  /* Written as text (what json_pack and mol_json_dump gave): every delegation answers one. */
  const char *id = res->delegation_id ? res->delegation_id : "";
  char msg[512];
  int n = snprintf(msg, sizeof msg,
                   "Task delegated to %s. Use check_delegation_status('%s') to get the result "
                   "when ready.", target, id);
  size_t msg_len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
  mol_buf b = MOL_BUF_INIT;
  int bad = mol_buf_append_str(&b, "{\"success\":true,\"task_id\":");
  bad |= mol_json_write_string(&b, id, strlen(id));
  bad |= mol_buf_append_str(&b, ",\"status\":\"delegated\",\"message\":");
  bad |= mol_json_write_string(&b, msg, msg_len);
  bad |= mol_buf_append(&b, "}", 1);
  if (bad) mol_tools__fail(op, "Error: out of memory");
  else mol_tools__done(op, b.data);
  mol_buf_free(&b);
}

static int delegate_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  const char *target = mol_tools__arg(op, "workspace_id", ""),
             *task = mol_tools__arg(op, "task", "");
  if (!*target || !*task) {
    mol_tools__done_json(
        op, json_pack("{s:b,s:s}", "success", 0, "error", "workspace_id and task are required"));
    return 0;
  }
  /* A fresh key: each call is a new delegation, as upstream's uuid task ids. */
  char key[MOL_UUID_LEN + 1];
  mol_uuid4(key);
  mol_platform_delegate_opts o = {.idempotency_key = key, .timeout_ms = 30000};
  op->step = delegated;
  int rc =
      mol_platform_delegate(op->pc, target, task, &o, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc == MOL_EINVAL)
    mol_tools__done_json(op, json_pack("{s:b,s:s}", "success", 0, "error",
                                       "workspace_id must be a workspace ID (a UUID)"));
  else if (rc)
    mol_tools__done_json(op, json_pack("{s:b,s:s}", "success", 0, "error", mol_strerror(rc)));
  return 0;
}

/* ---- check_delegation_status ------------------------------------------------------------------- */

static const char status_desc[] =
    "Check a delegation made with delegate_to_workspace, or list them all (empty task_id).\n"
    "- pending / dispatched: the peer is working; check again later.\n"
    "- queued: the peer was busy; the task WILL be delivered and the reply recorded. Do not "
    "send it again and do not do the work yourself.\n"
    "- completed: the reply is in result.\n"
    "- failed: the reason is in error; only then try another peer or do it yourself.\n"
    "- stuck: the peer stopped sending heartbeats while it had the task (reason in error); "
    "treat it as failed.\n\nArgs:\n"
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
  if (o && status && (!strcmp(status, "failed") || !strcmp(status, "stuck")) && error)
    json_object_set_new(o, "error", json_string(error));
  if (o && full && status && !strcmp(status, "queued"))
    json_object_set_new(o, "note", json_string("The peer is busy; the task will be delivered "
                                               "and its reply recorded. Do not send it again."));
  return o;
}

static void status_read(mol_tools__op *op, int err, const mol_platform_result *res) {
  json_t *rows = err ? NULL : mol_tools__ledger_rows(res);
  if (!rows) {
    mol_tools__done_json(op, json_pack("{s:s+}", "error", "Cannot read the delegations: ",
                                       err ? mol_tools__err_text(err, res) : "unexpected answer"));
    return;
  }
  json_t *list = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(list, row_view(row, 0));
  mol_tools__done_json(
      op, json_pack("{s:o,s:I}", "delegations", list, "count", (json_int_t)json_array_size(rows)));
  json_decref(rows);
}

/* One delegation, read by its id (not limited to the newest rows of the list). */
static void status_one(mol_tools__op *op, int err, const mol_platform_result *res) {
  json_t *row = err ? NULL : json_loads(res->item ? res->item : "", 0, NULL);
  if (row) {
    mol_tools__done_json(op, row_view(row, 1));
  } else if (err == MOL_ENOENT) {
    char msg[256];
    snprintf(msg, sizeof msg, "No delegation found with task_id %s",
             mol_tools__arg(op, "task_id", ""));
    mol_tools__done_json(op, json_pack("{s:s}", "error", msg));
  } else {
    mol_tools__done_json(op, json_pack("{s:s+}", "error", "Cannot read the delegation: ",
                                       err ? mol_tools__err_text(err, res) : "unexpected answer"));
  }
  json_decref(row);
}

static int status_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  const char *id = mol_tools__arg(op, "task_id", "");
  op->step = *id ? status_one : status_read;
  int rc =
      *id ? mol_platform_delegation_status(op->pc, id, NULL, mol_tools__platform_cb, op, &op->req)
          : mol_platform_delegations(op->pc, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) mol_tools__done_json(op, json_pack("{s:s}", "error", mol_strerror(rc)));
  return 0;
}

int mol_tools__add_delegation_core(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add(reg, b, "delegate_to_workspace", delegate_desc, delegate_schema,
                          delegate_start);
  if (!rc)
    rc =
        mol_tools__add(reg, b, "check_delegation_status", status_desc, status_schema, status_start);
  return rc;
}
