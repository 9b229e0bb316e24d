/* workspaces.c - operator calls (docs/devplatform.md "Endpoints"): create, list, get, pause,
 * resume, delete. The dev platform has no provisioner, so a workspace waits for its agent
 * ("awaiting_agent") until the agent's register makes it online. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define MAX_TREE 4096

typedef struct {
  char (*ids)[MOL_DP__ID_MAX + 1];
  size_t n;
} id_list;

/* root and all its non-removed descendants, breadth first (bounded). */
static int collect_tree(mol_devplatform *dp, const char *root, id_list *out) {
  out->ids = malloc(MAX_TREE * sizeof *out->ids);
  if (!out->ids) return MOL_ENOMEM;
  strncpy(out->ids[0], root, MOL_DP__ID_MAX);
  out->ids[0][MOL_DP__ID_MAX] = '\0';
  out->n = 1;
  for (size_t i = 0; i < out->n; i++) {
    sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_CHILDREN);
    if (!st) return MOL_EIO;
    mol_dp__bind_text(st, 1, out->ids[i]);
    while (sqlite3_step(st) == SQLITE_ROW && out->n < MAX_TREE) {
      strncpy(out->ids[out->n], mol_dp__col_text(st, 0), MOL_DP__ID_MAX);
      out->ids[out->n++][MOL_DP__ID_MAX] = '\0';
    }
    sqlite3_reset(st);
  }
  return 0;
}

/* Runs a one-id status statement over a list; returns how many rows changed, or < 0. */
static long apply_each(mol_devplatform *dp, mol_dp__stmt_id id, const id_list *l) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  long changed = 0;
  for (size_t i = 0; i < l->n; i++) {
    sqlite3_stmt *st = mol_dp__stmt(&dp->store, id);
    if (!st) return MOL_EIO;
    mol_dp__bind_text(st, 1, l->ids[i]);
    sqlite3_bind_int64(st, 2, mol_unix_ms());
    if (mol_dp__exec_stmt(&dp->store, st)) return MOL_EIO;
    changed += sqlite3_changes(dp->store.db);
  }
  return changed;
}

static int put_secrets(mol_devplatform *dp, const char *ws, json_t *secrets) {
  const char *k;
  json_t *v;
  json_object_foreach(secrets, k, v) {
    if (!json_is_string(v)) continue;
    sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_SEC_PUT);
    if (!st) return MOL_EIO;
    mol_dp__bind_text(st, 1, ws);
    mol_dp__bind_text(st, 2, k);
    mol_dp__bind_text(st, 3, json_string_value(v));
    sqlite3_bind_int64(st, 4, mol_unix_ms());
    if (mol_dp__exec_stmt(&dp->store, st)) return MOL_EIO;
  }
  return 0;
}

static json_t *connection_json(const mol_dp__call *c, const char *id, const char *tok) {
  char base[300];
  snprintf(base, sizeof base, "http://%s", c->host ? c->host : "127.0.0.1");
  char reg[340], hb[340];
  snprintf(reg, sizeof reg, "%s/registry/register", base);
  snprintf(hb, sizeof hb, "%s/registry/heartbeat", base);
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "workspace_id", id, "platform_url", base,
                   "auth_token", tok, "registry_endpoint", reg, "heartbeat_endpoint", hb);
}

/* Validates the create payload; returns NULL when fine, else the 400 message. */
static const char *create_check(mol_devplatform *dp, json_t *b, const char **parent,
                                const char **url) {
  const char *name = mol_json_str(b, "name");
  if (!name || !*name || strlen(name) > 200) return "name is required (up to 200 bytes)";
  json_t *role = json_object_get(b, "role");
  if (role && !json_is_null(role) && (!json_is_string(role) || strlen(json_string_value(role)) > 200))
    return "role must be a string";
  *parent = mol_json_str(b, "parent_id");
  if (*parent && **parent) {
    mol_dp__ws p;
    int found = mol_dp__ws_load(dp, *parent, &p);
    int ok = found == 1 && strcmp(p.status, "removed") != 0;
    if (found == 1) mol_dp__ws_free(&p);
    if (!ok) return "parent workspace not found";
  }
  *url = mol_json_str(b, "url");
  if (*url && **url && !mol_dp__ssrf_register_ok(*url, dp->dev)) return "invalid url";
  json_t *secrets = json_object_get(b, "secrets");
  if (secrets && !json_is_null(secrets) && !json_is_object(secrets))
    return "secrets must be an object";
  return NULL;
}

static json_t *create_do(mol_dp__call *c, json_t *b, const char *parent, const char *url,
                         mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  char id[MOL_UUID_LEN + 1], tok[MOL_DP__TOKEN_LEN + 1];
  int external = json_is_true(json_object_get(b, "external")) ||
                 (mol_json_str(b, "runtime") && strcmp(mol_json_str(b, "runtime"), "external") == 0);
  const char *runtime = mol_json_str(b, "runtime");
  int has_url = url && *url;
  int tier = (int)mol_json_int(b, "tier", 3);
  int max_conc = (int)mol_json_int(b, "max_concurrent_tasks", 1);
  if (max_conc < 1) max_conc = 1;
  if (mol_uuid4(id) ||
      mol_dp__ws_create(dp, id, mol_json_str(b, "name"), mol_json_str(b, "role"), tier, parent,
                        has_url ? "online" : "awaiting_agent", has_url ? url : "",
                        external || !runtime ? "external" : runtime, max_conc,
                        mol_json_int(b, "budget_limit", -1)) ||
      put_secrets(dp, id, json_object_get(b, "secrets"))) {
    mol_dp__reply_err(r, 500, "failed to create workspace");
    return NULL;
  }
  json_t *o = json_pack("{s:s,s:s,s:b}", "id", id, "status", has_url ? "online" : "awaiting_agent",
                        "external", external);
  /* As upstream: an external workspace without a URL gets its token now, once, and its agent
   * must present it on the first register. */
  if (external && !has_url) {
    if (mol_dp__token_mint(dp, id, tok)) {
      json_decref(o);
      mol_dp__reply_err(r, 500, "failed to issue token");
      return NULL;
    }
    json_object_set_new(o, "connection", connection_json(c, id, tok));
  }
  mol_logi("devplatform", "created workspace %s (%s)", id, mol_json_str(b, "name"));
  return o;
}

void mol_dp__h_ws_create(mol_dp__call *c, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  if (!json_is_object(b)) {
    mol_dp__reply_err(r, 400, "invalid request body");
    json_decref(b);
    return;
  }
  const char *parent = NULL, *url = NULL;
  const char *bad = create_check(c->dp, b, &parent, &url);
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
  } else {
    json_t *o = create_do(c, b, parent, url, r);
    if (o) mol_dp__reply_set(r, 201, o);
  }
  json_decref(b);
}

void mol_dp__h_ws_list(mol_dp__call *c, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_WS_LIST);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, mol_dp__ws_peer_json(st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

/* The open view strips current_task, as upstream does; the operator (admin bearer) sees it,
 * in place of the canvas's live TASK_UPDATED events the dev platform does not have. */
static json_t *ws_view(const mol_dp__call *c, const mol_dp__ws *w) {
  json_t *o = mol_dp__ws_json(w);
  if (o && mol_dp__is_admin(c))
    json_object_set_new(o, "current_task", json_string(w->current_task ? w->current_task : ""));
  return o;
}

void mol_dp__h_ws_get(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  mol_dp__ws w;
  int found = mol_dp__ws_load(c->dp, ws, &w);
  if (found != 1) {
    mol_dp__reply_err(r, found < 0 ? 500 : 404, found < 0 ? "query failed" : "workspace not found");
    return;
  }
  if (strcmp(w.status, "removed") == 0)
    mol_dp__reply_set(r, 404, json_pack("{s:s,s:s,s:b}", "error", "workspace not found", "status",
                                        "removed", "deleted", 1));
  else
    mol_dp__reply_set(r, 200, ws_view(c, &w));
  mol_dp__ws_free(&w);
}

void mol_dp__h_ws_pause(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_operator(c, ws, r)) return;
  id_list l = {0};
  long n = collect_tree(c->dp, ws, &l) ? -1 : apply_each(c->dp, MOL_DP__ST_WS_PAUSE_ONE, &l);
  if (n < 0)
    mol_dp__reply_err(r, 500, "failed to pause");
  else if (n == 0)
    mol_dp__reply_err(r, 404, "workspace not found or already paused");
  else
    mol_dp__reply_set(r, 200,
                      json_pack("{s:s,s:I}", "status", "paused", "paused_count", (json_int_t)n));
  free(l.ids);
}

static int parent_paused(mol_devplatform *dp, const char *ws) {
  mol_dp__ws w, p;
  int paused = 0;
  if (mol_dp__ws_load(dp, ws, &w) != 1) return 0;
  if (w.parent_id[0] && mol_dp__ws_load(dp, w.parent_id, &p) == 1) {
    paused = strcmp(p.status, "paused") == 0;
    mol_dp__ws_free(&p);
  }
  mol_dp__ws_free(&w);
  return paused;
}

void mol_dp__h_ws_resume(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_operator(c, ws, r)) return;
  if (parent_paused(c->dp, ws)) {
    mol_dp__reply_err(r, 409, "parent workspace is paused");
    return;
  }
  id_list l = {0};
  long n = collect_tree(c->dp, ws, &l) ? -1 : apply_each(c->dp, MOL_DP__ST_WS_RESUME_ONE, &l);
  if (n < 0)
    mol_dp__reply_err(r, 500, "failed to resume");
  else if (n == 0)
    mol_dp__reply_err(r, 404, "workspace not found or not paused");
  else /* no provisioner: offline until the agent heartbeats or registers again */
    mol_dp__reply_set(r, 200,
                      json_pack("{s:s,s:I}", "status", "offline", "resumed_count", (json_int_t)n));
  free(l.ids);
}

static json_t *children_json(mol_devplatform *dp, const char *ws) {
  json_t *arr = json_array();
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_CHILDREN);
  if (!st) return arr;
  mol_dp__bind_text(st, 1, ws);
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(arr, json_pack("{s:s,s:s}", "id", mol_dp__col_text(st, 0), "name",
                                         mol_dp__col_text(st, 1)));
  sqlite3_reset(st);
  return arr;
}

static void delete_tree(mol_devplatform *dp, const char *ws, mol_dp__reply *r) {
  id_list l = {0};
  long n = collect_tree(dp, ws, &l) ? -1 : apply_each(dp, MOL_DP__ST_WS_REMOVE_ONE, &l);
  for (size_t i = 0; n >= 0 && i < l.n; i++) {
    sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_TOK_REVOKE_WS);
    if (!st) break;
    mol_dp__bind_text(st, 1, l.ids[i]);
    sqlite3_bind_int64(st, 2, mol_unix_ms());
    mol_dp__exec_stmt(&dp->store, st);
  }
  mol_dp__token_cache_clear(dp); /* revocation must take effect on the very next request */
  free(l.ids);
  if (n < 0) {
    mol_dp__reply_err(r, 500, "failed to delete");
    return;
  }
  mol_logi("devplatform", "removed workspace %s (%ld with descendants)", ws, n);
  mol_dp__reply_set(r, 200,
                    json_pack("{s:s,s:I}", "status", "removed", "cascade_deleted", (json_int_t)n));
}

void mol_dp__h_ws_delete(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  mol_dp__ws w;
  int found = mol_dp__ws_load(c->dp, ws, &w);
  int live = found == 1 && strcmp(w.status, "removed") != 0;
  if (found == 1) mol_dp__ws_free(&w);
  if (!live) {
    mol_dp__reply_err(r, 404, "workspace not found");
    return;
  }
  char confirm[16];
  int confirmed = mol_dp__query_get(c, "confirm", confirm, sizeof confirm) > 0 &&
                  strcmp(confirm, "true") == 0;
  json_t *children = children_json(c->dp, ws);
  if (json_array_size(children) > 0 && !confirmed) {
    size_t n = json_array_size(children);
    mol_dp__reply_set(r, 409, json_pack("{s:s,s:s,s:o,s:I}", "status", "confirmation_required",
                                        "message", "workspace has children; pass ?confirm=true to "
                                                   "delete it and all its descendants",
                                        "children", children, "children_count", (json_int_t)n));
    return;
  }
  json_decref(children);
  delete_tree(c->dp, ws, r);
}

/* GET /workspaces/:id/state. Deviation (docs/devplatform.md "Deliberate deviations from
 * upstream"): a removed or unknown workspace is answered 404 {deleted:true} before the token
 * check, because its tokens are revoked and an agent holding one would otherwise get 401 forever
 * and never learn it was deleted. */
void mol_dp__h_state(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  mol_dp__ws w;
  int found = mol_dp__ws_load(c->dp, ws, &w);
  if (found < 0) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  if (!found || strcmp(w.status, "removed") == 0) {
    if (found) mol_dp__ws_free(&w);
    mol_dp__reply_set(r, 404, json_pack("{s:s,s:s,s:b}", "workspace_id", ws, "status", "removed",
                                        "deleted", 1));
    return;
  }
  if (mol_dp__auth_workspace(c, ws, r))
    mol_dp__reply_set(r, 200, json_pack("{s:s,s:s,s:b,s:b}", "workspace_id", ws, "status", w.status,
                                        "paused", strcmp(w.status, "paused") == 0, "deleted", 0));
  mol_dp__ws_free(&w);
}
