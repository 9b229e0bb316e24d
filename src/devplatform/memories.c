/* memories.c - scoped agent memories (WorkspaceAuth):
 * POST /workspaces/:id/memories, GET /workspaces/:id/memories?scope=&q=&namespace=&limit=,
 * DELETE /workspaces/:id/memories/:mid.
 *
 * Scopes: LOCAL is seen by its writer only; TEAM by every workspace the writer may talk to
 * (the same rule as the A2A proxy's access check); GLOBAL by everyone, and only a root
 * workspace (no parent) may write it, since it reaches the whole organisation. Secrets in the
 * content are redacted before the row is written: memories are read back into prompts, and a
 * token pasted into one would otherwise leak to every reader. `q` of two or more characters is
 * a full-text search (SQLite FTS5; every word must occur, each taken literally); a shorter `q`
 * is a case-insensitive substring match. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/redact.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define MEM_NAMESPACE_MAX 50
#define MEM_CONTENT_MAX (64 * 1024)
#define MEM_Q_MAX 512

static int mem_gate(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return 0;
  }
  return mol_dp__auth_workspace(c, ws, r);
}

static int valid_scope(const char *s) {
  return s && (!strcmp(s, "LOCAL") || !strcmp(s, "TEAM") || !strcmp(s, "GLOBAL"));
}

/* 1 root, 0 has a parent or is unknown; <0 on a store error. */
static int is_root(mol_devplatform *dp, const char *ws) {
  mol_dp__ws w;
  int found = mol_dp__ws_load(dp, ws, &w);
  if (found != 1) return found;
  int root = w.parent_id[0] == '\0';
  mol_dp__ws_free(&w);
  return root;
}

static int mem_insert(mol_devplatform *dp, const char *id, const char *ws, const char *content,
                      const char *scope, const char *ns) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_MEM_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, ws);
  mol_dp__bind_text(st, 3, content);
  mol_dp__bind_text(st, 4, scope);
  mol_dp__bind_text(st, 5, ns);
  sqlite3_bind_int64(st, 6, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

/* Checks the body; returns the 400 message, or NULL when usable. */
static const char *commit_check(json_t *b, const char **content, const char **scope,
                                const char **ns) {
  if (!json_is_object(b)) return "invalid request body";
  *content = mol_json_str(b, "content");
  *scope = mol_json_str(b, "scope");
  json_t *nsv = json_object_get(b, "namespace");
  *ns = json_is_string(nsv) && *json_string_value(nsv) ? json_string_value(nsv) : "general";
  if (!*content || !**content) return "content is required";
  if (strlen(*content) > MEM_CONTENT_MAX) return "content exceeds 64 KiB";
  if (!valid_scope(*scope)) return "scope must be LOCAL, TEAM or GLOBAL";
  if (nsv && !json_is_null(nsv) && !json_is_string(nsv)) return "namespace must be a string";
  if (strlen(*ns) > MEM_NAMESPACE_MAX) return "namespace exceeds 50 characters";
  return NULL;
}

void mol_dp__h_memories_commit(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mem_gate(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  const char *content = NULL, *scope = NULL, *ns = NULL;
  const char *bad = commit_check(b, &content, &scope, &ns);
  int root = bad || strcmp(scope, "GLOBAL") ? 1 : is_root(c->dp, ws);
  mol_buf clean = MOL_BUF_INIT;
  char id[MOL_UUID_LEN + 1];
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
  } else if (root < 0) {
    mol_dp__reply_err(r, 500, "query failed");
  } else if (!root) {
    mol_dp__reply_err(r, 403, "only root workspaces can write GLOBAL memories");
  } else if (mol_redact(content, strlen(content), NULL, 0, &clean) || mol_uuid4(id)) {
    mol_dp__reply_err(r, 500, "failed to save memory");
  } else if (mem_insert(c->dp, id, ws, clean.data, scope, ns)) {
    mol_dp__reply_err(r, 500, "failed to save memory");
  } else {
    mol_dp__reply_set(r, 201, json_pack("{s:s,s:s,s:s}", "id", id, "scope", scope, "namespace", ns));
  }
  mol_buf_free(&clean);
  json_decref(b);
}

/* q as an FTS5 query that takes every word literally: each whitespace-separated word becomes a
 * quoted string ("" inside doubled), and the words are ANDed. NULL when q has no word. */
static char *fts_query(const char *q) {
  mol_buf b = MOL_BUF_INIT;
  int words = 0, err = 0;
  for (const char *p = q; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (!*p) break;
    err |= mol_buf_append_str(&b, words++ ? " \"" : "\"");
    for (; *p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'; p++)
      err |= *p == '"' ? mol_buf_append_str(&b, "\"\"") : mol_buf_append(&b, p, 1);
    err |= mol_buf_append_str(&b, "\"");
  }
  if (err || !words) {
    mol_buf_free(&b);
    return NULL;
  }
  return (char *)b.data;
}

typedef struct {
  char scope[16], ns[MEM_NAMESPACE_MAX + 1], q[MEM_Q_MAX + 1];
  int has_scope, has_ns, has_q;
  long limit;
} mem_filter;

static const char *search_args(const mol_dp__call *c, mem_filter *f) {
  char lim[16];
  int rs = mol_dp__query_get(c, "scope", f->scope, sizeof f->scope);
  int rn = mol_dp__query_get(c, "namespace", f->ns, sizeof f->ns);
  int rq = mol_dp__query_get(c, "q", f->q, sizeof f->q);
  int rl = mol_dp__query_get(c, "limit", lim, sizeof lim);
  f->has_scope = rs > 0 && f->scope[0];
  f->has_ns = rn > 0 && f->ns[0];
  f->has_q = rq > 0 && f->q[0];
  f->limit = 10;
  if (rs < 0 || (f->has_scope && !valid_scope(f->scope)))
    return "scope must be LOCAL, TEAM or GLOBAL";
  if (rn < 0) return "namespace exceeds 50 characters";
  if (rq < 0) return "q is too long";
  if (rl < 0) return "limit must be between 1 and 50";
  if (rl > 0 && lim[0]) {
    char *end;
    f->limit = strtol(lim, &end, 10);
    if (*end || f->limit < 1 || f->limit > 50) return "limit must be between 1 and 50";
  }
  return NULL;
}

static json_t *mem_row(sqlite3_stmt *st) {
  const char *id = mol_dp__col_text(st, 0), *from = mol_dp__col_text(st, 1);
  const char *content = mol_dp__col_text(st, 2), *scope = mol_dp__col_text(st, 3);
  char created[32];
  mol_dp__rfc3339(sqlite3_column_int64(st, 5), created);
  mol_buf wrapped = MOL_BUF_INIT;
  /* GLOBAL content is marked as such, so a prompt cannot mistake it for the reader's own. */
  if (!strcmp(scope, "GLOBAL") &&
      !mol_buf_printf(&wrapped, "[MEMORY id=%s scope=GLOBAL from=%s]: %s", id, from, content))
    content = (const char *)wrapped.data;
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "workspace_id", from, "content",
                        content, "scope", scope, "namespace", mol_dp__col_text(st, 4), "created_at",
                        created);
  mol_buf_free(&wrapped);
  return o;
}

void mol_dp__h_memories_search(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mem_gate(c, ws, r)) return;
  mem_filter f;
  const char *bad = search_args(c, &f);
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
    return;
  }
  int fts = f.has_q && strlen(f.q) >= 2;
  char *match = fts ? fts_query(f.q) : NULL;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_MEM_SEARCH);
  if (!st) {
    free(match);
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, f.has_scope ? f.scope : NULL);
  mol_dp__bind_text(st, 3, f.has_ns ? f.ns : NULL);
  if (fts && !match) mol_dp__bind_text(st, 4, "\"\""); /* q of only blanks: matches nothing */
  else mol_dp__bind_text(st, 4, match);
  mol_dp__bind_text(st, 5, f.has_q && !fts ? f.q : NULL);
  json_t *arr = json_array();
  int rc;
  while (json_array_size(arr) < (size_t)f.limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *from = mol_dp__col_text(st, 1);
    /* TEAM rows of others are shown only to workspaces their writer may talk to. */
    if (!strcmp(mol_dp__col_text(st, 3), "TEAM") && strcmp(from, ws) &&
        !mol_dp__can_communicate(c->dp, ws, from))
      continue;
    json_array_append_new(arr, mem_row(st));
  }
  sqlite3_reset(st);
  free(match);
  mol_dp__reply_set(r, 200, arr);
}

void mol_dp__h_memories_delete(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r) {
  if (!mem_gate(c, ws, r)) return;
  mol_devplatform *dp = c->dp;
  sqlite3_stmt *st = mol_dp__store_write_begin(&dp->store) ? NULL : mol_dp__stmt(&dp->store, MOL_DP__ST_MEM_DEL);
  if (st) {
    mol_dp__bind_text(st, 1, id);
    mol_dp__bind_text(st, 2, ws);
  }
  if (!st || mol_dp__exec_stmt(&dp->store, st)) mol_dp__reply_err(r, 500, "failed to delete memory");
  else if (sqlite3_changes(dp->store.db) == 0)
    mol_dp__reply_err(r, 404, "memory not found or not owned by this workspace");
  else mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "deleted"));
}
