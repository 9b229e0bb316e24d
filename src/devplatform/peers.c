/* peers.c - the hierarchy (CanCommunicate: self, siblings, and any ancestor <-> descendant;
 * never cousins), GET /registry/:id/peers, GET /registry/discover/:target and
 * POST /registry/check-access. */
#include <string.h>

#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define MAX_ANCESTRY 32

/* Parent of id into parent ("" for a root). 1 found (and not removed), 0 otherwise. */
static int parent_of(mol_devplatform *dp, const char *id, char parent[MOL_DP__ID_MAX + 1]) {
  mol_dp__ws w;
  if (mol_dp__ws_load(dp, id, &w) != 1) return 0;
  int ok = strcmp(w.status, "removed") != 0;
  memcpy(parent, w.parent_id, MOL_DP__ID_MAX + 1);
  mol_dp__ws_free(&w);
  return ok;
}

/* 1 when `anc` is a strict ancestor of `id` (walk capped at 32 steps, as upstream). */
static int is_ancestor(mol_devplatform *dp, const char *anc, const char *start_parent) {
  char cur[MOL_DP__ID_MAX + 1];
  memcpy(cur, start_parent, MOL_DP__ID_MAX + 1);
  for (int i = 0; i < MAX_ANCESTRY && cur[0]; i++) {
    if (strcmp(cur, anc) == 0) return 1;
    char next[MOL_DP__ID_MAX + 1];
    if (!parent_of(dp, cur, next)) return 0;
    memcpy(cur, next, sizeof cur);
  }
  return 0;
}

int mol_dp__can_communicate(mol_devplatform *dp, const char *caller, const char *target) {
  char pc[MOL_DP__ID_MAX + 1], pt[MOL_DP__ID_MAX + 1];
  if (!parent_of(dp, caller, pc) || !parent_of(dp, target, pt)) return 0;
  if (strcmp(caller, target) == 0) return 1;
  if (strcmp(pc, pt) == 0) return 1; /* siblings, or both roots */
  return is_ancestor(dp, caller, pt) || is_ancestor(dp, target, pc);
}

void mol_dp__h_peers(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  if (!mol_dp__auth_grandfather(c, ws, r, "missing workspace auth token",
                                "invalid workspace auth token"))
    return;
  char parent[MOL_DP__ID_MAX + 1];
  if (!parent_of(dp, ws, parent)) {
    mol_dp__reply_err(r, 404, "workspace not found");
    return;
  }
  char q[256];
  int has_q = mol_dp__query_get(c, "q", q, sizeof q) > 0 && q[0];
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_PEERS);
  if (!st) {
    mol_dp__reply_err(r, 500, "lookup failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, parent[0] ? parent : NULL);
  mol_dp__bind_text(st, 3, has_q ? q : NULL);
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, mol_dp__ws_peer_json(st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

/* Discovery answers with the registered URL when it is a usable push URL: poll-mode, paused
 * or URL-less workspaces have nothing to call directly (503, as upstream's "not available"). */
static void discover_answer(mol_devplatform *dp, const mol_dp__ws *t, mol_dp__reply *r) {
  int usable = t->url && t->url[0] && strcmp(t->delivery_mode, "push") == 0 &&
               (strcmp(t->status, "online") == 0 || strcmp(t->status, "degraded") == 0 ||
                strcmp(t->status, "offline") == 0);
  if (!usable) {
    mol_dp__reply_set(r, 503, json_pack("{s:s,s:s}", "error", "workspace not available", "status",
                                        t->status));
    return;
  }
  char host[256];
  mol_dp__ssrf v = mol_dp__ssrf_url(t->url, dp->dev, host);
  if (v == MOL_DP__SSRF_BLOCKED || v == MOL_DP__SSRF_BADURL) {
    mol_dp__reply_err(r, 503, "workspace URL failed safety check");
    return;
  }
  mol_dp__reply_set(r, 200,
                    json_pack("{s:s,s:s,s:s}", "id", t->id, "url", t->url, "name", t->name));
}

void mol_dp__h_discover(mol_dp__call *c, const char *target, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  if (!c->caller || !c->caller[0]) {
    mol_dp__reply_err(r, 400, "X-Workspace-ID header is required");
    return;
  }
  if (!mol_dp__auth_grandfather(c, c->caller, r, "missing workspace auth token",
                                "invalid workspace auth token"))
    return;
  /* An unknown target fails the access check first, so it is 403 like upstream. */
  if (!mol_dp__can_communicate(dp, c->caller, target)) {
    mol_dp__reply_err(r, 403, "not authorized to discover this workspace");
    return;
  }
  mol_dp__ws t;
  int found = mol_dp__ws_load(dp, target, &t);
  if (found != 1) {
    mol_dp__reply_err(r, found < 0 ? 500 : 404,
                      found < 0 ? "lookup failed" : "workspace not found");
    return;
  }
  discover_answer(dp, &t, r);
  mol_dp__ws_free(&t);
}

void mol_dp__h_check_access(mol_dp__call *c, mol_dp__reply *r) {
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *caller = b ? mol_json_str(b, "caller_id") : NULL;
  const char *target = b ? mol_json_str(b, "target_id") : NULL;
  if (!caller || !target) {
    mol_dp__reply_err(r, 400, "invalid request body");
  } else {
    int ok = mol_dp__can_communicate(c->dp, caller, target);
    mol_dp__reply_set(r, 200, json_pack("{s:b}", "allowed", ok));
  }
  json_decref(b);
}
