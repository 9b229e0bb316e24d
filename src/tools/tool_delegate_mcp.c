/* tool_delegate_mcp.c - the MCP set's delegation tools: delegate_task (waits for the reply),
 * delegate_task_async (the platform runs it) and check_task_status (reads the ledger).
 *
 * delegate_task is one A2A message/send through the platform's proxy, held open on the loop
 * (never blocking it), with the delegation id as messageId and the delegation mirrored in the
 * ledger (record before, the outcome after), so check_task_status and a restarted agent see it.
 * When the target is busy the proxy queues the message: the tool then waits on the ledger,
 * where the platform stitches the drained reply, for up to queued_wait_ms, and otherwise answers
 * that the task is queued - never "failed", and never sends it again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "tools/builtin_int.h"
#include "tools/delegate_int.h"

#define UPDATE_MAX 4000      /* error / response_preview bytes sent to the ledger */
#define FIRST_POLL_MS 100

static const char failed_advice[] =
    "\nYou should either: (1) try a different peer, (2) handle this task yourself, or (3) "
    "inform the user that %s is unavailable and provide your best answer.";

/* ---- delegate_task ---------------------------------------------------------------------------- */

typedef struct {
  char id[MOL_UUID_LEN + 1];
  int recorded;
  uint64_t queued_at;
  unsigned pause;
} sync_state;

static const char sync_desc[] =
    "Delegate a task to a peer workspace and WAIT for its reply, which is returned as the "
    "result. The target must be one of your peers (see list_peers). If the peer is busy the "
    "task is queued: the answer then says so, with a task_id for check_task_status; do not "
    "send it again.";
static const char sync_schema[] =
    "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\",\"description\":"
    "\"Target workspace ID\"},\"task\":{\"type\":\"string\",\"description\":\"Task description "
    "to send\"}," BT_SOURCE_PROP "},\"required\":[\"workspace_id\",\"task\"]}";

static void ignore_result(int err, const mol_platform_result *res, void *arg) {
  (void)err, (void)res, (void)arg;
}

static char *clip(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n > UPDATE_MAX) {
    n = UPDATE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  return strndup(s ? s : "", n);
}

/* The outcome into the ledger. Best effort and not waited for: the reply goes to the model at
 * once; a lost update leaves the row as the platform stitched it. */
static void mirror(mol_tools__op *op, const char *status, const char *error, const char *preview) {
  sync_state *s = op->x;
  if (!s->recorded) return;
  char *e = error ? clip(error) : NULL, *p = preview ? clip(preview) : NULL;
  mol_platform_delegation_update(op->pc, s->id, status, e, p, NULL, ignore_result, NULL, NULL);
  free(e);
  free(p);
}

static void sync_failed(mol_tools__op *op, const char *why) {
  const char *target = mol_tools__arg(op, "workspace_id", "");
  char advice[512];
  snprintf(advice, sizeof advice, failed_advice, target);
  mirror(op, "failed", why, NULL);
  mol_tools__fail(op, "DELEGATION FAILED to %s: [A2A_ERROR] %s%s", target, why, advice);
}

static void queued_answer(mol_tools__op *op) {
  sync_state *s = op->x;
  char text[512];
  snprintf(text, sizeof text,
           "Task queued: %s is busy. The platform will deliver it and record the reply; check "
           "it with check_task_status(task_id=\"%s\"). Do not send it again.",
           mol_tools__arg(op, "workspace_id", ""), s->id);
  mol_tools__done(op, text);
}

static void poll_ledger(mol_tools__op *op, int err, const mol_platform_result *res);

static void ledger_read(mol_tools__op *op, int err, const mol_platform_result *res) {
  sync_state *s = op->x;
  if (!err && mol_tools__terminal(res->status)) {
    json_t *row = json_loads(res->item ? res->item : "", 0, NULL);
    const char *preview = mol_json_str(row, "response_preview"), *e = mol_json_str(row, "error");
    char why[600];
    if (!strcmp(res->status, "completed")) {
      mol_tools__done(op, preview ? preview : "(no response)");
    } else if (!strcmp(res->status, "stuck")) { /* the ledger says so already: no mirror */
      snprintf(why, sizeof why, "stuck: %s", e ? e : "the target stopped sending heartbeats");
      sync_state *s = op->x;
      s->recorded = 0;
      sync_failed(op, why);
    } else {
      sync_failed(op, e ? e : "failed");
    }
    json_decref(row);
    return;
  }
  uint64_t now = uv_now(mol_tool_call_env(op->call)->loop);
  if (now - s->queued_at >= op->b->o.queued_wait_ms) {
    queued_answer(op);
    return;
  }
  s->pause = s->pause * 2 > op->b->o.ledger_poll_ms ? op->b->o.ledger_poll_ms : s->pause * 2;
  uint64_t left = op->b->o.queued_wait_ms - (now - s->queued_at);
  mol_tools__after(op, s->pause < left ? s->pause : left, poll_ledger);
}

static void poll_ledger(mol_tools__op *op, int err, const mol_platform_result *res) {
  (void)err, (void)res;
  sync_state *s = op->x;
  op->step = ledger_read;
  int rc =
      mol_platform_delegation_status(op->pc, s->id, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) queued_answer(op);
}

static void replied(mol_tools__op *op, int err, const mol_platform_result *res) {
  sync_state *s = op->x;
  char why[512];
  if (!err && res->queued) {
    if (!s->recorded) {
      queued_answer(op);
      return;
    }
    s->queued_at = uv_now(mol_tool_call_env(op->call)->loop);
    s->pause = FIRST_POLL_MS;
    mol_tools__after(op, s->pause, poll_ledger);
    return;
  }
  if (!err) {
    const char *text = res->text && *res->text ? res->text : "(no response)";
    mirror(op, "completed", NULL, text);
    mol_tools__done(op, text);
    return;
  }
  if (err == MOL_ERPC)
    snprintf(why, sizeof why, "%s (code=%d)", res->rpc_message ? res->rpc_message : "error",
             res->rpc_code);
  else
    snprintf(why, sizeof why, "%s", mol_tools__err_text(err, res));
  sync_failed(op, why);
}

static void send_task(mol_tools__op *op, int err, const mol_platform_result *res) {
  (void)res;
  sync_state *s = op->x;
  s->recorded = err == 0;
  mol_platform_call_peer_opts o = {.proxy_only = 1, .message_id = s->id,
                                   .timeout_ms = op->b->o.delegation_timeout_ms};
  op->step = replied;
  int rc = mol_platform_call_peer(op->pc, mol_tools__arg(op, "workspace_id", ""),
                                  mol_tools__arg(op, "task", ""), &o, NULL, mol_tools__platform_cb,
                                  op, &op->req);
  if (rc == MOL_EINVAL) {
    mirror(op, "failed", "bad workspace_id", NULL);
    mol_tools__fail(op, "Error: workspace_id must be a workspace ID (a UUID)");
  } else if (rc) {
    sync_failed(op, mol_strerror(rc));
  }
}

void mol_tools__delegate_wait(mol_tools__op *op) {
  if (!*mol_tools__arg(op, "workspace_id", "") || !*mol_tools__arg(op, "task", "")) {
    mol_tools__fail(op, "Error: workspace_id and task are required");
    return;
  }
  sync_state *s = calloc(1, sizeof *s);
  if (!s || mol_uuid4(s->id)) {
    free(s);
    mol_tools__fail(op, "Error: out of memory");
    return;
  }
  op->x = s;
  op->x_free = free;
  op->step = send_task;
  int rc = mol_platform_delegation_record(op->pc, mol_tools__arg(op, "workspace_id", ""),
                                          mol_tools__arg(op, "task", ""), s->id, NULL,
                                          mol_tools__platform_cb, op, &op->req);
  if (rc) send_task(op, rc, NULL); /* not recordable (a bad id): the call says why */
}

static int sync_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (op) mol_tools__delegate_wait(op);
  return 0;
}

/* ---- delegate_task_async ------------------------------------------------------------------------ */

static const char async_desc[] =
    "Delegate a task to a peer workspace and return at once with a delegation_id; the platform "
    "runs it in the background and records the reply. Use check_task_status to read it.";
static const char async_schema[] =
    "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\",\"description\":"
    "\"Target workspace ID\"},\"task\":{\"type\":\"string\",\"description\":\"Task description "
    "to send\"}," BT_SOURCE_PROP "},\"required\":[\"workspace_id\",\"task\"]}";

static void async_sent(mol_tools__op *op, int err, const mol_platform_result *res) {
  if (err == MOL_EHTTP) {
    mol_tools__fail(op, "Error: delegation failed with status %d: %.200s", res->http_status,
                    res->body ? res->body : "");
  } else if (err) {
    mol_tools__fail(op, "Error: delegation failed — %s", mol_strerror(err));
  } else {
    json_t *v = json_pack("{s:s,s:s,s:s,s:s}", "delegation_id",
                          res->delegation_id ? res->delegation_id : "", "workspace_id",
                          mol_tools__arg(op, "workspace_id", ""), "status", "delegated", "note",
                          "Task delegated. The platform runs it in the background. Use "
                          "check_task_status to poll for results.");
    if (v && res->idempotent_hit) {
      json_object_set_new(v, "idempotent_hit", json_true());
      json_object_set_new(v, "note", json_string("The same task went to this workspace within "
                                                 "the last minute: this is that delegation. Use "
                                                 "check_task_status to poll for results."));
    }
    mol_tools__done_json(op, v);
  }
}

static int async_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  const char *target = mol_tools__arg(op, "workspace_id", ""),
             *task = mol_tools__arg(op, "task", "");
  if (!*target || !*task) {
    mol_tools__fail(op, "Error: workspace_id and task are required");
    return 0;
  }
  /* Upstream's key never expires (the same task to the same peer is never asked twice); the
   * minute bounds it to accidental double calls. */
  char *material = malloc(strlen(target) + strlen(task) + 2), key[65];
  if (!material) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  sprintf(material, "%s:%s", target, task);
  mol_platform_idempotency_key(material, mol_unix_ms() / 1000, key);
  free(material);
  key[32] = '\0';
  mol_platform_delegate_opts o = {.idempotency_key = key, .timeout_ms = 30000};
  op->step = async_sent;
  int rc =
      mol_platform_delegate(op->pc, target, task, &o, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc == MOL_EINVAL)
    mol_tools__fail(op, "Error: workspace_id must be a workspace ID (a UUID)");
  else if (rc)
    mol_tools__fail(op, "Error: delegation failed — %s", mol_strerror(rc));
  return 0;
}

/* ---- check_task_status ---------------------------------------------------------------------------- */

static const char check_desc[] =
    "Check a delegation by its task_id (the delegation_id from delegate_task_async, or the "
    "task_id a queued delegate_task gave), or list the latest ones. Statuses: dispatched / "
    "pending (working), queued (the peer was busy; the reply will be recorded, do not resend), "
    "completed (response_preview holds the reply), failed (error says why), stuck (the peer "
    "stopped sending heartbeats while it had the task: a failure, error says so).";
static const char check_schema[] =
    "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\",\"description\":"
    "\"Only delegations to this workspace (optional)\"},\"task_id\":{\"type\":\"string\","
    "\"description\":\"The delegation to check (empty: list the latest)\"}," BT_SOURCE_PROP "}}";

static void checked(mol_tools__op *op, int err, const mol_platform_result *res) {
  json_t *rows = err ? NULL : mol_tools__ledger_rows(res);
  if (!rows) {
    if (err == MOL_EHTTP)
      mol_tools__fail(op, "Error: failed to check delegations (%d)", res->http_status);
    else
      mol_tools__fail(op, "Error checking delegations: %s", err ? mol_strerror(err) : "bad answer");
    return;
  }
  const char *target = mol_tools__arg(op, "workspace_id", "");
  {
    json_t *list = json_array(), *row;
    size_t i, count = 0;
    json_array_foreach(rows, i, row) {
      const char *t = mol_json_str(row, "target_id");
      if (*target && (!t || strcmp(t, target))) continue;
      count++;
      if (json_array_size(list) >= 10) continue;
      json_t *v = json_object();
      static const char *const keys[] = {"delegation_id", "target_id", "status", "summary",
                                         "response_preview", "error"};
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (json_object_get(row, keys[k]))
          json_object_set(v, keys[k], json_object_get(row, keys[k]));
      json_array_append_new(list, v);
    }
    mol_tools__done_json(op,
                         json_pack("{s:o,s:I}", "delegations", list, "count", (json_int_t)count));
  }
  json_decref(rows);
}

/* One delegation, read by its id (not limited to the newest rows of the list). */
static void checked_one(mol_tools__op *op, int err, const mol_platform_result *res) {
  if (err == MOL_ENOENT)
    mol_tools__done_json(op, json_pack("{s:s,s:s}", "status", "not_found", "delegation_id",
                                       mol_tools__arg(op, "task_id", "")));
  else if (err == MOL_EHTTP)
    mol_tools__fail(op, "Error: failed to check delegations (%d)", res->http_status);
  else if (err)
    mol_tools__fail(op, "Error checking delegations: %s", mol_strerror(err));
  else
    mol_tools__done(op, res->item);
}

static int check_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  const char *id = mol_tools__arg(op, "task_id", "");
  op->step = *id ? checked_one : checked;
  int rc =
      *id ? mol_platform_delegation_status(op->pc, id, NULL, mol_tools__platform_cb, op, &op->req)
          : mol_platform_delegations(op->pc, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) mol_tools__fail(op, "Error checking delegations: %s", mol_strerror(rc));
  return 0;
}

int mol_tools__add_delegation_mcp(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add(reg, b, "delegate_task", sync_desc, sync_schema, sync_start);
  if (!rc)
    rc = mol_tools__add(reg, b, "delegate_task_async", async_desc, async_schema, async_start);
  if (!rc) rc = mol_tools__add(reg, b, "check_task_status", check_desc, check_schema, check_start);
  return rc;
}
