/* delegate.c - POST /workspaces/:id/delegate (docs/devplatform.md "Delegations run by the
 * platform"): the platform runs a delegation for its source, and the target's reply is stitched
 * into the delegation's ledger row.
 *
 * The handler records the row (status "dispatched"), answers 202 at once, then sends A2A
 * message/send to the target through the proxy's own dispatch (caller = the source, messageId =
 * the delegation id, metadata.delegation_id), so the hierarchy rules, the idle timer extended by
 * the target's heartbeats, the busy queue and poll-mode delivery all apply as for any proxied
 * call. A rule the proxy enforces with an HTTP error shows up as a failed delegation here.
 *
 * Stitching (mol_dp__delegation_outcome) is keyed by the message id: any proxied message/send
 * from S to T whose messageId is a delegation of S to T records its outcome in that row - the
 * delegations this handler sends, and those a runtime recorded itself (delegations/record) and
 * sent through the proxy with the delegation id as messageId. A queued call is stitched when the
 * queue drains it, so a busy target's answer reaches the ledger too. A terminal row never goes
 * back to a non-terminal status; only a real outcome (completed, failed) replaces the terminal
 * status "stuck" the sweep gives a delegation whose target went silent (devplatform.c).
 *
 * Deviations: the idempotency key dedups while the earlier delegation is not failed, as
 * upstream, and an idempotent hit answers 200 with the existing id; a delegation in flight when
 * the platform dies is marked failed at the next start (store.c), never left "dispatched". */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "devplatform/dispatch.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define TASK_MAX (256 * 1024)
#define KEY_MAX 128
#define PREVIEW_MAX 4096

/* ---- the ledger row ------------------------------------------------------------------------ */

/* An earlier delegation of src with this key: 1 (id and status filled), 0 none, <0 error. A
 * failed one (or a stuck one: it failed too) is deleted so that the retry can proceed
 * (upstream). */
static int find_by_key(mol_devplatform *dp, const char *src, const char *key,
                       char id[MOL_DP__ID_MAX + 1], char status[24]) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_FIND_IDEM);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, src);
  mol_dp__bind_text(st, 2, key);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(id, MOL_DP__ID_MAX + 1, "%s", mol_dp__col_text(st, 0));
    snprintf(status, 24, "%s", mol_dp__col_text(st, 1));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : MOL_EIO;
  if (strcmp(status, "failed") && strcmp(status, "stuck")) return 1;
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_DROP);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  return mol_dp__exec_stmt(&dp->store, st) ? MOL_EIO : 0;
}

static int insert_row(mol_devplatform *dp, const char *id, const char *src, const char *target,
                      const char *task, const char *key) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, src);
  mol_dp__bind_text(st, 3, target);
  mol_dp__bind_text(st, 4, task);
  mol_dp__bind_text(st, 5, key);
  sqlite3_bind_int64(st, 6, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

/* Sets the row's status unless it is already terminal; 0 or MOL_EIO. */
static int stitch(mol_devplatform *dp, const char *id, const char *src, const char *target,
                  const char *status, const char *error, const char *preview) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_DEL_STITCH);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, src);
  mol_dp__bind_text(st, 3, target);
  mol_dp__bind_text(st, 4, status);
  mol_dp__bind_text(st, 5, error);
  mol_dp__bind_text(st, 6, preview);
  sqlite3_bind_int64(st, 7, mol_unix_ms());
  int rc = mol_dp__exec_stmt(&dp->store, st);
  if (!rc && sqlite3_changes(dp->store.db) > 0)
    mol_logi("devplatform", "delegation %s: %s", id, status);
  return rc;
}

/* ---- the target's reply -------------------------------------------------------------------- */

static void append_parts(mol_buf *b, json_t *parts) {
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    const char *kind = mol_json_str(p, "kind");
    if (!kind) kind = mol_json_str(p, "type");
    const char *text = mol_json_str(p, "text");
    if (!text || (kind && strcmp(kind, "text"))) continue;
    if (b->len) mol_buf_append_str(b, "\n");
    mol_buf_append_str(b, text);
  }
}

/* The text of a Message or a Task: its parts, else its artifacts, else its status message. */
static char *result_text(json_t *result) {
  mol_buf b = MOL_BUF_INIT;
  append_parts(&b, json_object_get(result, "parts"));
  size_t i;
  json_t *a;
  if (!b.len) json_array_foreach(json_object_get(result, "artifacts"), i, a)
      append_parts(&b, json_object_get(a, "parts"));
  if (!b.len) append_parts(&b, mol_json_path(result, "status.message.parts"));
  char *s = mol_buf_steal(&b);
  return s ? s : strdup("");
}

/* The first PREVIEW_MAX bytes of s, cut at a UTF-8 character boundary (in place). */
static void clip(char *s) {
  size_t n = strlen(s);
  if (n <= PREVIEW_MAX) return;
  n = PREVIEW_MAX;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  s[n] = '\0';
}

static void stitch_reply(mol_devplatform *dp, const char *id, const char *src,
                         const char *target, const char *body, size_t len) {
  json_t *v = json_loadb(body ? body : "", len, 0, NULL);
  json_t *err = json_object_get(v, "error"), *result = json_object_get(v, "result");
  const char *status_field = mol_json_str(v, "status");
  if (!json_is_object(v)) {
    stitch(dp, id, src, target, "failed", "the agent's reply is not JSON", NULL);
  } else if (err && !json_is_null(err)) {
    const char *m = mol_json_str(err, "message");
    stitch(dp, id, src, target, "failed", m ? m : "the agent answered with an error", NULL);
  } else if (status_field && !strcmp(status_field, "queued")) { /* poll-mode hand-off */
    stitch(dp, id, src, target, "queued", NULL, NULL);
  } else if (!json_is_object(result)) {
    stitch(dp, id, src, target, "failed", "the agent's reply has no result", NULL);
  } else {
    char *text = result_text(result);
    const char *state = mol_json_str(result, "status.state");
    int bad = state && (!strcmp(state, "failed") || !strcmp(state, "rejected") ||
                        !strcmp(state, "canceled"));
    if (text) clip(text);
    if (bad)
      stitch(dp, id, src, target, "failed", text && *text ? text : state, NULL);
    else
      stitch(dp, id, src, target, "completed", NULL, text ? text : "");
    free(text);
  }
  json_decref(v);
}

void mol_dp__delegation_outcome(mol_devplatform *dp, const char *id, const char *src,
                                const char *target, mol_dp__del_outcome kind, const char *body,
                                size_t len) {
  if (!id || !*id || !src || !*src) return;
  switch (kind) {
  case MOL_DP__DEL_REPLY: stitch_reply(dp, id, src, target, body, len); break;
  case MOL_DP__DEL_QUEUED: stitch(dp, id, src, target, "queued", NULL, NULL); break;
  case MOL_DP__DEL_FAILED:
    stitch(dp, id, src, target, "failed", body && *body ? body : "delegation failed", NULL);
    break;
  }
}

/* ---- sending it ------------------------------------------------------------------------------ */

static char *send_body(const char *id, const char *src, const char *task) {
  char rpc_id[MOL_UUID_LEN + 1];
  if (mol_uuid4(rpc_id)) return NULL;
  json_t *v = json_pack("{s:s,s:s,s:s,s:{s:{s:s,s:s,s:[{s:s,s:s}],s:{s:s}},s:{s:s,s:s}}}",
                        "jsonrpc", "2.0", "id", rpc_id, "method", "message/send", "params",
                        "message", "role", "user", "messageId", id, "parts", "kind", "text",
                        "text", task, "metadata", "delegation_id", id, "metadata",
                        "delegation_id", id, "source_workspace_id", src);
  char *s = v ? mol_json_dump(v) : NULL;
  json_decref(v);
  return s;
}

static void fail(mol_devplatform *dp, const char *id, const char *src, const char *target,
                 const char *why) {
  mol_dp__delegation_outcome(dp, id, src, target, MOL_DP__DEL_FAILED, why, strlen(why));
}

/* What the proxy would do with a message/send from src to target, without an inbound request:
 * a refusal becomes the delegation's failure. */
static void dispatch(mol_devplatform *dp, const char *id, const char *src, const char *target,
                     const char *task) {
  mol_dp__ws w;
  int found = mol_dp__ws_load(dp, target, &w);
  if (found != 1 || !strcmp(w.status, "removed")) {
    if (found == 1) mol_dp__ws_free(&w);
    fail(dp, id, src, target, "workspace not found");
    return;
  }
  char *body = send_body(id, src, task);
  mol_dp__reply r = {.status = 500, .retry_after = -1};
  if (!mol_dp__can_communicate(dp, src, target)) {
    fail(dp, id, src, target,
         "access denied: workspaces cannot communicate per hierarchy rules");
  } else if (!body) {
    fail(dp, id, src, target, "out of memory");
  } else if (w.budget_limit >= 0 && w.monthly_spend >= w.budget_limit) {
    fail(dp, id, src, target, "workspace budget limit exceeded");
  } else if (!strcmp(w.status, "paused") || !strcmp(w.status, "hibernated")) {
    fail(dp, id, src, target, "workspace is paused");
  } else if (!strcmp(w.delivery_mode, "poll")) {
    /* Picked up by the target's poll; its answer comes back as a message, not here. */
    if (mol_dp__activity_queue_poll(dp, src, target, body, "message/send", &r))
      stitch(dp, id, src, target, "queued", NULL, NULL);
    else
      fail(dp, id, src, target, "failed to queue message");
  } else if (!w.url || !w.url[0]) {
    fail(dp, id, src, target, "workspace has no URL");
  } else {
    mol_dp__dispatch_args a = {.target = target, .caller = src, .url = w.url, .body = body,
                               .method = "message/send", .msgid = id};
    if (!mol_dp__dispatch_start(dp, &a, &r))
      fail(dp, id, src, target, mol_json_str(r.body, "error") ? mol_json_str(r.body, "error")
                                                              : "dispatch refused");
  }
  mol_dp__reply_free(&r);
  free(body);
  mol_dp__ws_free(&w);
}

/* ---- the handler ------------------------------------------------------------------------------ */

static int valid_body(json_t *b, const char *ws, mol_dp__reply *r) {
  const char *target = mol_json_str(b, "target_id"), *task = mol_json_str(b, "task");
  json_t *key = json_object_get(b, "idempotency_key");
  if (!target || !task || !*task || (key && !json_is_string(key) && !json_is_null(key)))
    mol_dp__reply_err(r, 400, "invalid delegation request");
  else if (!mol_dp__is_uuid(target))
    mol_dp__reply_err(r, 400, "target_id must be a valid UUID");
  else if (!strcmp(target, ws))
    mol_dp__reply_err(r, 400, "self-delegation not permitted");
  else if (strlen(task) > TASK_MAX)
    mol_dp__reply_err(r, 400, "task exceeds 256 KiB");
  else if (json_is_string(key) && strlen(json_string_value(key)) > KEY_MAX)
    mol_dp__reply_err(r, 400, "idempotency_key exceeds 128 characters");
  else
    return 1;
  return 0;
}

void mol_dp__h_delegate(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  if (c->dp->closing) {
    mol_dp__reply_err(r, 503, "platform shutting down");
    return;
  }
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  if (!json_is_object(b)) {
    mol_dp__reply_err(r, 400, "invalid delegation request");
  } else if (valid_body(b, ws, r)) {
    const char *target = mol_json_str(b, "target_id"), *task = mol_json_str(b, "task");
    const char *key = mol_json_str(b, "idempotency_key");
    char id[MOL_DP__ID_MAX + 1], status[24];
    int hit = key && *key ? find_by_key(c->dp, ws, key, id, status) : 0;
    if (hit < 0) {
      mol_dp__reply_err(r, 500, "query failed");
    } else if (hit) {
      mol_dp__reply_set(r, 200, json_pack("{s:s,s:s,s:s,s:b}", "delegation_id", id, "status",
                                          status, "target_id", target, "idempotent_hit", 1));
    } else if (mol_uuid4(id) || insert_row(c->dp, id, ws, target, task, key && *key ? key : id)) {
      mol_dp__reply_err(r, 500, "failed to record delegation");
    } else {
      mol_dp__reply_set(r, 202, json_pack("{s:s,s:s,s:s}", "delegation_id", id, "status",
                                          "delegated", "target_id", target));
      dispatch(c->dp, id, ws, target, task);
    }
  }
  json_decref(b);
}
