/* instructions.c - what an agent folds into its prompt: platform instructions (rules the
 * operator writes for every agent, or for one workspace) and its parent's shared context.
 *
 *   POST   /instructions                          admin: {scope, scope_target?, title, content, priority?}
 *   DELETE /instructions/:id                      admin
 *   GET    /workspaces/:id/instructions/resolve   WorkspaceAuth: {workspace_id, instructions}
 *   GET    /workspaces/:id/shared-context         the parent, its children, the admin
 *
 * The markdown is upstream's: global rules first, then the workspace's, each by priority
 * (highest first; ties in the order written), under "## Platform-Wide Rules" and
 * "## Role-Specific Rules", each rule "### <title>\n<content>\n\n". */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define TITLE_MAX 200
#define CONTENT_MAX 8192

static const char *rule_error(json_t *b) {
  const char *scope = mol_json_str(b, "scope"), *title = mol_json_str(b, "title");
  const char *content = mol_json_str(b, "content"), *target = mol_json_str(b, "scope_target");
  json_t *prio = json_object_get(b, "priority");
  if (!scope || !title || !content || !*scope || !*title || !*content)
    return "scope, title, and content are required";
  if (strcmp(scope, "global") && strcmp(scope, "workspace"))
    return "scope must be global or workspace (team scope not yet supported)";
  if (!strcmp(scope, "workspace") && (!target || !mol_dp__is_uuid(target)))
    return "scope_target required for workspace scope";
  if (strlen(content) > CONTENT_MAX) return "content exceeds 8192 chars";
  if (strlen(title) > TITLE_MAX) return "title exceeds 200 chars";
  if (prio && !json_is_integer(prio)) return "priority must be an integer";
  return NULL;
}

static int rule_insert(mol_devplatform *dp, const char *id, json_t *b) {
  sqlite3_stmt *st;
  if (mol_dp__store_write_begin(&dp->store) || !(st = mol_dp__stmt(&dp->store, MOL_DP__ST_INSTR_INSERT)))
    return MOL_EIO;
  const char *scope = mol_json_str(b, "scope");
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, scope);
  mol_dp__bind_text(st, 3, strcmp(scope, "global") ? mol_json_str(b, "scope_target") : NULL);
  mol_dp__bind_text(st, 4, mol_json_str(b, "title"));
  mol_dp__bind_text(st, 5, mol_json_str(b, "content"));
  sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(b, "priority")));
  sqlite3_bind_int64(st, 7, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

void mol_dp__h_instruction_create(mol_dp__call *c, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *bad = json_is_object(b) ? rule_error(b) : "invalid request body";
  char id[MOL_UUID_LEN + 1];
  if (bad)
    mol_dp__reply_err(r, 400, bad);
  else if (mol_uuid4(id) || rule_insert(c->dp, id, b))
    mol_dp__reply_err(r, 500, "failed to create instruction");
  else
    mol_dp__reply_set(r, 201, json_pack("{s:s}", "id", id));
  json_decref(b);
}

void mol_dp__h_instruction_delete(mol_dp__call *c, const char *id, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  sqlite3_stmt *st;
  if (mol_dp__store_write_begin(&c->dp->store) || !(st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_INSTR_DELETE))) {
    mol_dp__reply_err(r, 500, "failed to delete");
    return;
  }
  mol_dp__bind_text(st, 1, id);
  if (mol_dp__exec_stmt(&c->dp->store, st))
    mol_dp__reply_err(r, 500, "failed to delete");
  else if (sqlite3_changes(c->dp->store.db) == 0)
    mol_dp__reply_err(r, 404, "instruction not found");
  else
    mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "deleted"));
}

void mol_dp__h_instructions_resolve(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_INSTR_RESOLVE);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  mol_buf md = MOL_BUF_INIT;
  const char *last = "";
  int rc, oom = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *scope = mol_dp__col_text(st, 0);
    if (strcmp(scope, last))
      oom |= mol_buf_append_str(&md, strcmp(scope, "global") ? "\n## Role-Specific Rules\n\n"
                                                              : "\n## Platform-Wide Rules\n\n");
    last = strcmp(scope, "global") ? "workspace" : "global";
    oom |= mol_buf_printf(&md, "### %s\n%s\n\n", mol_dp__col_text(st, 1), mol_dp__col_text(st, 2));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE || oom)
    mol_dp__reply_err(r, 500, "query failed");
  else
    mol_dp__reply_set(r, 200, json_pack("{s:s,s:s#}", "workspace_id", ws, "instructions",
                                   md.data ? md.data : "", md.len));
  mol_buf_free(&md);
}

/* GET /workspaces/:id/shared-context, :id being the parent. Upstream wants the parent's own
 * token, which a child never holds; here the caller's own token decides: the admin, the parent
 * itself, or a workspace whose parent is :id. The files are the parent's shared_context list
 * (shared_context.c). */
void mol_dp__h_shared_context(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  char caller[MOL_DP__ID_MAX + 1] = "";
  mol_dp__ws w;
  int found = mol_dp__ws_load(c->dp, ws, &w);
  char name[sizeof w.name] = "";
  if (found == 1) {
    memcpy(name, w.name, sizeof name);
    mol_dp__ws_free(&w);
  }
  if (!mol_dp__is_admin(c)) {
    if (!c->bearer[0]) {
      mol_dp__reply_err(r, 401, "missing workspace auth token");
      return;
    }
    if (mol_dp__token_owner(c->dp, c->bearer, caller) != 1) {
      mol_dp__reply_err(r, 401, "invalid workspace auth token");
      return;
    }
  }
  if (found != 1) {
    mol_dp__reply_err(r, found < 0 ? 500 : 404, found < 0 ? "query failed" : "workspace not found");
    return;
  }
  if (caller[0] && strcmp(caller, ws)) {
    mol_dp__ws child;
    int loaded = mol_dp__ws_load(c->dp, caller, &child) == 1;
    int is_child = loaded && !strcmp(child.parent_id, ws);
    if (loaded) mol_dp__ws_free(&child);
    if (!is_child) {
      mol_dp__reply_err(r, 403, "not a child of this workspace");
      return;
    }
  }
  json_t *files = mol_dp__shared_context(c->dp, name);
  if (files) mol_dp__reply_set(r, 200, files);
  else mol_dp__reply_err(r, 500, "out of memory");
}
