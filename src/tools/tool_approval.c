/* tool_approval.c - request_approval: asks a human through the platform (POST
 * /workspaces/<self>/approvals) and waits, on a timer of the loop, for the decision an operator
 * makes (`molecule platform approve|deny ID`, or the decide route), reading the approval back
 * every approval_poll_ms for at most approval_timeout_ms.
 *
 * Unlike upstream: every call carries the bearer (upstream's 401 in a tokened workspace), and
 * one deadline bounds the whole wait (upstream waited on a WebSocket event that never matched,
 * then polled for a second full timeout). A transient error while polling does not end the
 * wait; the deadline does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "tools/builtin_int.h"

static const char approval_desc[] =
    "Ask a human to approve an action before you take it: anything destructive, expensive, "
    "irreversible or outside your authority. Waits for the decision and returns it.\n\nArgs:\n"
    "    action: what you want to do, precisely\n    reason: why it is needed";
static const char approval_schema[] =
    "{\"type\":\"object\",\"properties\":{\"action\":{\"type\":\"string\"},\"reason\":{\"type\":"
    "\"string\"}},\"required\":[\"action\",\"reason\"]}";

typedef struct {
  char id[64];
  uint64_t deadline;         /* uv_now ms */
} approval_state;

static uint64_t now_ms(mol_tools__op *op) {
  return uv_now(mol_tool_call_env(op->call)->loop);
}

static void timed_out(mol_tools__op *op) {
  approval_state *a = op->x;
  char msg[128];
  snprintf(msg, sizeof msg, "Timed out after %.1fs waiting for human decision",
           op->b->o.approval_timeout_ms / 1000.0);
  mol_tools__done_json(
      op, json_pack("{s:b,s:s,s:s}", "approved", 0, "approval_id", a->id, "error", msg));
}

static void poll_now(mol_tools__op *op, int err, const mol_platform_result *res);

static void wait_more(mol_tools__op *op) {
  approval_state *a = op->x;
  uint64_t now = now_ms(op);
  if (now >= a->deadline) {
    timed_out(op);
    return;
  }
  uint64_t left = a->deadline - now, pause = op->b->o.approval_poll_ms;
  mol_tools__after(op, pause < left ? pause : left, poll_now);
}

static void decided(mol_tools__op *op, json_t *row, const char *status) {
  approval_state *a = op->x;
  const char *by = mol_json_str(row, "decided_by");
  json_t *v = json_pack("{s:b,s:s,s:s}", "approved", !strcmp(status, "approved"), "approval_id",
                        a->id, "decided_by", by ? by : "");
  if (v && strcmp(status, "approved")) {
    json_object_set_new(v, "message", json_string("Denied by human"));
    const char *why = mol_json_str(row, "decision_reason");
    if (why) json_object_set_new(v, "reason", json_string(why));
  }
  mol_tools__done_json(op, v);
}

static void polled(mol_tools__op *op, int err, const mol_platform_result *res) {
  if (!err && res->status && strcmp(res->status, "pending")) {
    json_t *row = json_loads(res->item ? res->item : "{}", 0, NULL);
    decided(op, row, res->status);
    json_decref(row);
    return;
  }
  wait_more(op); /* pending, or a transient failure: the deadline decides */
}

static void poll_now(mol_tools__op *op, int err, const mol_platform_result *res) {
  (void)err, (void)res;
  approval_state *a = op->x;
  op->step = polled;
  if (mol_platform_approval_get(op->pc, a->id, NULL, mol_tools__platform_cb, op, &op->req))
    wait_more(op);
}

static void created(mol_tools__op *op, int err, const mol_platform_result *res) {
  approval_state *a = op->x;
  if (err || !res->id || !*res->id) {
    char msg[600];
    if (err == MOL_EHTTP) snprintf(msg, sizeof msg, "Failed to create request: %d", res->http_status);
    else if (err) snprintf(msg, sizeof msg, "Failed to request approval: %s", mol_strerror(err));
    else snprintf(msg, sizeof msg, "Platform returned invalid JSON (status %d)", res->http_status);
    mol_tools__done_json(op, json_pack("{s:b,s:s}", "approved", 0, "error", msg));
    return;
  }
  snprintf(a->id, sizeof a->id, "%s", res->id);
  a->deadline = now_ms(op) + op->b->o.approval_timeout_ms;
  wait_more(op);
}

static int approval_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  approval_state *a = calloc(1, sizeof *a);
  if (!a) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  op->x = a;
  op->x_free = free;
  const char *action = mol_tools__arg(op, "action", "");
  if (!*action) {
    mol_tools__done_json(op, json_pack("{s:b,s:s}", "approved", 0, "error", "action is required"));
    return 0;
  }
  op->step = created;
  int rc = mol_platform_approval_create(op->pc, action, mol_tools__arg(op, "reason", ""), NULL,
                                        NULL, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) created(op, rc, NULL);
  return 0;
}

int mol_tools__add_approval(mol_tools *reg, mol_tools_builtin *b) {
  return mol_tools__add(reg, b, "request_approval", approval_desc, approval_schema, approval_start);
}
