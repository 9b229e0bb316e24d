/* activity.c - the activity feed (docs/devplatform.md "Activity"): rows written by the
 * proxy, notify and self-reports; GET .../activity with the SDK's since_id cursor (ASC,
 * strictly after, 410 when the cursor row is gone) and the legacy newest-first listing; a call to
 * a poll-mode target is stored here as the target's inbound row.
 *
 * The feed is bounded two ways: at most activity_max_per_ws rows per workspace (checked every
 * PRUNE_EVERY inserts into that workspace, so the slack is that many rows) and a retention age
 * swept periodically. A pruned cursor then answers 410, which tells the agent to reset. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define PRUNE_EVERY 64

struct mol_dp__actcount {
  char ws[MOL_DP__ID_MAX + 1];
  unsigned n;
  UT_hash_handle hh;
};

void mol_dp__activity_counts_free(mol_devplatform *dp) {
  mol_dp__actcount *e, *tmp;
  HASH_ITER(hh, dp->actcounts, e, tmp) {
    HASH_DEL(dp->actcounts, e);
    free(e);
  }
}

static void maybe_prune(mol_devplatform *dp, const char *ws) {
  mol_dp__actcount *e = NULL;
  HASH_FIND_STR(dp->actcounts, ws, e);
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) return;
    strncpy(e->ws, ws, MOL_DP__ID_MAX);
    HASH_ADD_STR(dp->actcounts, ws, e);
  }
  if (++e->n < PRUNE_EVERY) return;
  e->n = 0;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_ACT_PRUNE_WS);
  if (!st) return;
  mol_dp__bind_text(st, 1, ws);
  sqlite3_bind_int64(st, 2, dp->activity_max_per_ws);
  mol_dp__exec_stmt(&dp->store, st);
}

/* Row ids are time-ordered UUIDs (version 7: 48 bits of unix milliseconds, then random bits).
 * The feed's unique index on id then grows at its end, and pruning trims its start, instead of
 * each row touching a random leaf page: with one row per proxied call that was a page more in
 * the WAL per call. Readers treat ids as opaque (cursors, 410 for a pruned one). */
static int activity_id(char out[MOL_UUID_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  if (mol_uuid4(out)) return -1;
  uint64_t ms = (uint64_t)mol_unix_ms();
  for (int i = 0; i < 8; i++) out[i] = hex[(ms >> (44 - 4 * i)) & 15];
  for (int i = 0; i < 4; i++) out[9 + i] = hex[(ms >> (12 - 4 * i)) & 15];
  out[14] = '7'; /* the version; the variant bits stay as mol_uuid4 set them */
  return 0;
}

int mol_dp__activity_add(mol_devplatform *dp, const mol_dp__activity *a, char *id_out) {
  char id[MOL_UUID_LEN + 1];
  if (activity_id(id) || mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_ACT_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, a->workspace_id);
  mol_dp__bind_text(st, 3, a->activity_type);
  mol_dp__bind_text(st, 4, a->source_id && *a->source_id ? a->source_id : NULL);
  mol_dp__bind_text(st, 5, a->target_id && *a->target_id ? a->target_id : NULL);
  mol_dp__bind_text(st, 6, a->method);
  mol_dp__bind_text(st, 7, a->summary);
  mol_dp__bind_text(st, 8, a->request_body);
  mol_dp__bind_text(st, 9, a->response_body);
  mol_dp__bind_text(st, 10, a->status ? a->status : "ok");
  mol_dp__bind_text(st, 11, a->error_detail);
  sqlite3_bind_int64(st, 12, a->duration_ms);
  sqlite3_bind_int64(st, 13, mol_unix_ms());
  if (mol_dp__exec_stmt(&dp->store, st)) return MOL_EIO;
  if (id_out) memcpy(id_out, id, sizeof id);
  maybe_prune(dp, a->workspace_id);
  return 0;
}

static void append_part_text(mol_buf *b, json_t *part) {
  const char *kind = mol_json_str(part, "kind");
  if (!kind) kind = mol_json_str(part, "type");
  const char *text = mol_json_str(part, "text");
  /* Both discriminators occur ("kind" from SDKs and runtimes, "type" from the docs); a v1.0
   * part carries "text" without either. */
  if (text && (!kind || strcmp(kind, "text") == 0)) mol_buf_append_str(b, text);
}

char *mol_dp__message_text(json_t *request) {
  json_t *parts = mol_json_path(request, "params.message.parts");
  mol_buf b = MOL_BUF_INIT;
  size_t i;
  json_t *p;
  if (json_is_array(parts)) json_array_foreach(parts, i, p) append_part_text(&b, p);
  if (!parts) { /* notify rows store {"message": "..."} */
    const char *m = mol_json_str(request, "message");
    if (m) mol_buf_append_str(&b, m);
  }
  return mol_buf_steal(&b);
}

static json_t *json_col(sqlite3_stmt *st, int col) {
  const char *s = mol_dp__col_text(st, col);
  return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static json_t *text_or_null(sqlite3_stmt *st, int col) {
  const char *s = mol_dp__col_text(st, col);
  return s ? json_string(s) : json_null();
}

/* The SDK envelope (docs/devplatform.md "Activity"): type, ts and data{...} beside the real
 * columns. */
static void add_envelope(const mol_dp__call *c, sqlite3_stmt *st, json_t *row, json_t *req) {
  const char *source_id = mol_dp__col_text(st, 4);
  const char *method = mol_dp__col_text(st, 6);
  json_t *data = json_object();
  json_object_set_new(data, "source", json_string(source_id ? "peer_agent" : "canvas_user"));
  json_object_set_new(data, "kind", json_string(method ? method : mol_dp__col_text(st, 3)));
  char *text = req ? mol_dp__message_text(req) : NULL;
  json_object_set_new(data, "text", json_string(text ? text : ""));
  free(text);
  json_object_set_new(data, "activity_id", json_string(mol_dp__col_text(st, 1)));
  if (source_id) {
    json_object_set_new(data, "peer_id", json_string(source_id));
    if (mol_dp__col_text(st, 14))
      json_object_set_new(data, "peer_name", json_string(mol_dp__col_text(st, 14)));
    if (mol_dp__col_text(st, 15))
      json_object_set_new(data, "peer_role", json_string(mol_dp__col_text(st, 15)));
    char url[512];
    snprintf(url, sizeof url, "http://%s/registry/discover/%s", c->host ? c->host : "127.0.0.1",
             source_id);
    json_object_set_new(data, "agent_card_url", json_string(url));
  }
  json_object_set_new(row, "type", json_string(mol_dp__col_text(st, 3)));
  json_object_set_new(row, "ts", json_incref(json_object_get(row, "created_at")));
  json_object_set_new(row, "data", data);
}

static json_t *row_json(const mol_dp__call *c, sqlite3_stmt *st) {
  json_t *row = json_object();
  static const char *const names[] = {NULL, "id", "workspace_id", "activity_type", "source_id",
                                      "target_id", "method", "summary"};
  for (int i = 1; i <= 7; i++) json_object_set_new(row, names[i], text_or_null(st, i));
  json_t *req = json_col(st, 8), *resp = json_col(st, 9);
  if (req) json_object_set(row, "request_body", req);
  if (resp) json_object_set_new(row, "response_body", resp);
  json_object_set_new(row, "status", text_or_null(st, 10));
  json_object_set_new(row, "error_detail", text_or_null(st, 11));
  json_object_set_new(row, "duration_ms", json_integer(sqlite3_column_int64(st, 12)));
  char ts[32];
  mol_dp__rfc3339(sqlite3_column_int64(st, 13), ts);
  json_object_set_new(row, "created_at", json_string(ts));
  add_envelope(c, st, row, req);
  json_decref(req);
  return row;
}

typedef struct {
  char type[64], source[16], peer[MOL_DP__ID_MAX + 1], since_id[128];
  int has_type, has_source, has_peer, has_since;
  long limit;
  int64_t before_ms, since_ms; /* 0 = unset */
} act_query;

/* One parameter: 1 present, 0 absent; a malformed one sets *bad. */
static int param(const mol_dp__call *c, const char *name, char *out, size_t cap, const char **bad) {
  int rc = mol_dp__query_get(c, name, out, cap);
  if (rc < 0 && !*bad) *bad = "malformed or oversized query parameter";
  return rc > 0 && out[0];
}

static const char *parse_query(const mol_dp__call *c, act_query *q) {
  char buf[64];
  const char *bad = NULL;
  memset(q, 0, sizeof *q);
  q->limit = 100;
  q->has_type = param(c, "type", q->type, sizeof q->type, &bad);
  q->has_source = param(c, "source", q->source, sizeof q->source, &bad);
  if (q->has_source && strcmp(q->source, "canvas") && strcmp(q->source, "agent"))
    return "source must be 'canvas' or 'agent'";
  q->has_peer = param(c, "peer_id", q->peer, sizeof q->peer, &bad);
  q->has_since = param(c, "since_id", q->since_id, sizeof q->since_id, &bad);
  if (param(c, "limit", buf, sizeof buf, &bad)) {
    char *end;
    q->limit = strtol(buf, &end, 10);
    if (*end || q->limit < 1) return "limit must be a positive integer";
    if (q->limit > 500) q->limit = 500;
  }
  if (param(c, "before_ts", buf, sizeof buf, &bad) && mol_dp__parse_rfc3339(buf, &q->before_ms))
    return "before_ts must be an RFC 3339 time";
  if (param(c, "since_secs", buf, sizeof buf, &bad)) {
    char *end;
    long s = strtol(buf, &end, 10);
    if (*end || s < 0) return "since_secs must be a non-negative integer";
    q->since_ms = mol_unix_ms() - (int64_t)s * 1000;
  }
  return bad;
}

/* Resolves the cursor to its sequence number; 0 when it is unknown here (-> 410). */
static int64_t cursor_seq(mol_devplatform *dp, const char *ws, const char *since_id) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_ACT_CURSOR);
  if (!st) return -1;
  mol_dp__bind_text(st, 1, since_id);
  mol_dp__bind_text(st, 2, ws);
  int64_t seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  return seq;
}

void mol_dp__h_activity_list(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  act_query q;
  const char *bad = parse_query(c, &q);
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
    return;
  }
  int64_t after = 0;
  if (q.has_since && (after = cursor_seq(c->dp, ws, q.since_id)) <= 0) {
    mol_dp__reply_set(r, after < 0 ? 500 : 410,
                      json_pack("{s:s}", "error", after < 0 ? "query failed"
                                                       : "since_id cursor not found (pruned or "
                                                         "unknown); reset the cursor"));
    return;
  }
  sqlite3_stmt *st =
      mol_dp__stmt(&c->dp->store, q.has_since ? MOL_DP__ST_ACT_LIST_ASC : MOL_DP__ST_ACT_LIST_DESC);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  sqlite3_bind_int64(st, 2, after);
  mol_dp__bind_text(st, 3, q.has_type ? q.type : NULL);
  mol_dp__bind_text(st, 4, q.has_source ? q.source : NULL);
  mol_dp__bind_text(st, 5, q.has_peer ? q.peer : NULL);
  if (q.before_ms) sqlite3_bind_int64(st, 6, q.before_ms);
  if (q.since_ms) sqlite3_bind_int64(st, 7, q.since_ms);
  sqlite3_bind_int64(st, 8, q.limit);
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, row_json(c, st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

static int ws_exists(mol_devplatform *dp, const char *ws) {
  mol_dp__ws w;
  if (mol_dp__ws_load(dp, ws, &w) != 1) return 0;
  int live = strcmp(w.status, "removed") != 0;
  mol_dp__ws_free(&w);
  return live;
}

static const char *notify_check(json_t *b) {
  if (!json_is_object(b) || !mol_json_str(b, "message") || !*mol_json_str(b, "message"))
    return "message is required";
  json_t *att = json_object_get(b, "attachments"), *a;
  size_t i;
  if (att && !json_is_null(att) && !json_is_array(att)) return "attachments must be an array";
  static char msg[64];
  json_array_foreach(att, i, a) {
    if (!mol_json_str(a, "uri") || !mol_json_str(a, "name")) {
      snprintf(msg, sizeof msg, "attachment[%zu]: uri and name are required", i);
      return msg;
    }
  }
  return NULL;
}

void mol_dp__h_notify(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *bad = notify_check(b);
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
  } else if (!ws_exists(c->dp, ws)) {
    mol_dp__reply_err(r, 404, "workspace not found");
  } else {
    const char *msg = mol_json_str(b, "message");
    char *req = mol_json_dump(b);
    json_t *resp = json_pack("{s:s}", "result", msg);
    char *resp_s = mol_json_dump(resp);
    mol_dp__activity a = {.workspace_id = ws, .activity_type = "a2a_receive", .method = "notify",
                          .request_body = req, .response_body = resp_s, .status = "ok"};
    int rc = req && resp_s ? mol_dp__activity_add(c->dp, &a, NULL) : MOL_ENOMEM;
    mol_logi("devplatform", "notify from %s: %.200s", ws, msg);
    free(req);
    free(resp_s);
    json_decref(resp);
    if (rc)
      mol_dp__reply_err(r, 500, "failed to record message");
    else
      mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "sent"));
  }
  json_decref(b);
}

static const char *const report_types[] = {"a2a_send", "a2a_receive", "task_update", "agent_log",
                                           "skill_promotion", "memory_write", "error", NULL};

static char *dump_field(json_t *b, const char *key) {
  json_t *v = json_object_get(b, key);
  return v && !json_is_null(v) ? mol_json_dump(v) : NULL;
}

/* POST /workspaces/:id/activity: the runtime's self-report (WorkspaceAuth). */
void mol_dp__h_activity_report(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *type = json_is_object(b) ? mol_json_str(b, "activity_type") : NULL;
  int known = 0;
  for (int i = 0; type && report_types[i]; i++) known |= strcmp(type, report_types[i]) == 0;
  const char *source = type ? mol_json_str(b, "source_id") : NULL;
  if (!known) {
    mol_dp__reply_err(r, 400, "invalid activity_type");
  } else if (source && *source && strcmp(source, ws) != 0) {
    mol_dp__reply_err(r, 403, "source_id must match authenticated workspace");
  } else {
    char *req = dump_field(b, "request_body");
    if (!req) req = dump_field(b, "metadata");
    char *resp = dump_field(b, "response_body");
    mol_dp__activity a = {.workspace_id = ws, .activity_type = type, .source_id = source,
                          .target_id = mol_json_str(b, "target_id"),
                          .method = mol_json_str(b, "method"),
                          .summary = mol_json_str(b, "summary"), .request_body = req,
                          .response_body = resp, .status = mol_json_str(b, "status"),
                          .error_detail = mol_json_str(b, "error_detail"),
                          .duration_ms = mol_json_int(b, "duration_ms", 0)};
    if (mol_dp__activity_add(c->dp, &a, NULL))
      mol_dp__reply_err(r, 500, "failed to log activity");
    else
      mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "logged"));
    free(req);
    free(resp);
  }
  json_decref(b);
}

/* Poll-mode targets (post-ref PR #2353): nothing is dispatched; the request becomes an inbound
 * activity row that the target picks up with GET /activity?since_id=. */
int mol_dp__activity_queue_poll(mol_devplatform *dp, const char *caller, const char *target,
                               const char *body, const char *method, mol_dp__reply *r) {
  char id[MOL_UUID_LEN + 1];
  mol_dp__activity a = {.workspace_id = target, .activity_type = "a2a_receive", .source_id = caller,
                        .target_id = target, .method = method, .request_body = body,
                        .status = "ok", .summary = "queued for poll delivery"};
  if (mol_dp__activity_add(dp, &a, id)) {
    mol_dp__reply_err(r, 500, "failed to queue message");
    return 0;
  }
  mol_dp__reply_set(r, 200,
                    json_pack("{s:s,s:s,s:s,s:s}", "status", "queued", "delivery_mode", "poll",
                              "method", method, "activity_id", id));
  return 1;
}
