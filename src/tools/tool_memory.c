/* tool_memory.c - the memory tools on the platform's scoped memories (POST and GET
 * /workspaces/<self>/memories): the core set's commit_memory and search_memory (JSON results)
 * and the MCP set's commit_memory and recall_memory (text results).
 *
 * Secrets in the content are redacted by the platform client before the content leaves the
 * process, and again by the platform. A scope that is not LOCAL, TEAM or GLOBAL is refused in
 * both sets (upstream's MCP tool turned it into LOCAL silently), and whether a workspace may
 * write GLOBAL is the platform's decision: its refusal is passed on, not guessed here from a
 * tier. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "tools/builtin_int.h"

#define SEARCH_LIMIT 50

/* scope text -> value: 1 ok, 0 not a scope. "" -> LOCAL when empty_ok is 0, else "any" (-1). */
static int parse_scope(const char *s, int empty_ok, int *out, char name[8]) {
  size_t n = strlen(s);
  if (n == 0) {
    *out = empty_ok ? -1 : MOL_MEMORY_LOCAL;
    snprintf(name, 8, "%s", empty_ok ? "" : "LOCAL");
    return 1;
  }
  if (n > 6) return 0;
  for (size_t i = 0; i <= n; i++) name[i] = (char)toupper((unsigned char)s[i]);
  if (!strcmp(name, "LOCAL")) *out = MOL_MEMORY_LOCAL;
  else if (!strcmp(name, "TEAM")) *out = MOL_MEMORY_TEAM;
  else if (!strcmp(name, "GLOBAL")) *out = MOL_MEMORY_GLOBAL;
  else return 0;
  return 1;
}

typedef struct {
  int mcp;                   /* text results */
  char scope[8];
} mem_state;

static mem_state *mem_state_new(mol_tools__op *op, int mcp) {
  mem_state *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->mcp = mcp;
  op->x = m;
  op->x_free = free;
  return m;
}

/* ---- commit ------------------------------------------------------------------------------------- */

static const char core_commit_desc[] =
    "Save a fact, decision or result to long-term memory so it can be found later with "
    "search_memory (by you, or by your team for TEAM scope).\n\nArgs:\n    content: what to "
    "remember (secrets are redacted)\n    scope: LOCAL (this workspace only, default), TEAM "
    "(your team), or GLOBAL (everyone; root workspaces only)";
static const char core_commit_schema[] =
    "{\"type\":\"object\",\"properties\":{\"content\":{\"type\":\"string\"},\"scope\":{\"type\":"
    "\"string\",\"default\":\"LOCAL\"}},\"required\":[\"content\"]}";
static const char mcp_commit_desc[] =
    "Save important information to persistent memory. LOCAL: only this workspace; TEAM: your "
    "team; GLOBAL: every workspace (root workspaces only). Secrets are redacted.";
static const char mcp_commit_schema[] =
    "{\"type\":\"object\",\"properties\":{\"content\":{\"type\":\"string\",\"description\":"
    "\"The information to remember\"},\"scope\":{\"type\":\"string\",\"enum\":[\"LOCAL\","
    "\"TEAM\",\"GLOBAL\"],\"description\":\"Memory scope (default LOCAL)\"}},\"required\":"
    "[\"content\"]}";

static void committed(mol_tools__op *op, int err, const mol_platform_result *res) {
  mem_state *m = op->x;
  const char *why = err == MOL_EHTTP && res->error ? res->error : mol_tools__err_text(err, res);
  if (err && m->mcp)
    mol_tools__fail(op, "Error: %s", why);
  else if (err)
    mol_tools__done_json(op, json_pack("{s:b,s:s}", "success", 0, "error", why));
  else
    mol_tools__done_json(op, json_pack("{s:b,s:s,s:s}", "success", 1, "id", res->id ? res->id : "",
                                       "scope", m->scope));
}

static int commit_start_as(mol_tool_call *call, json_t *args, int mcp) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  mem_state *m = op ? mem_state_new(op, mcp) : NULL;
  if (!op) return 0;
  if (!m) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  const char *content = mol_tools__arg(op, "content", "");
  int scope;
  if (!*content) {
    if (mcp)
      mol_tools__fail(op, "Error: content is required");
    else
      mol_tools__done_json(op,
                           json_pack("{s:b,s:s}", "success", 0, "error", "content is required"));
    return 0;
  }
  if (!parse_scope(mol_tools__arg(op, "scope", ""), 0, &scope, m->scope)) {
    if (mcp)
      mol_tools__fail(op, "Error: scope must be LOCAL, TEAM, or GLOBAL");
    else
      mol_tools__done_json(op, json_pack("{s:s}", "error", "scope must be LOCAL, TEAM, or GLOBAL"));
    return 0;
  }
  op->step = committed;
  int rc = mol_platform_memory_commit(op->pc, content, (mol_memory_scope)scope, NULL, NULL,
                                      mol_tools__platform_cb, op, &op->req);
  if (rc) committed(op, rc, NULL);
  return 0;
}

static int core_commit_start(mol_tool_call *call, json_t *args) {
  return commit_start_as(call, args, 0);
}
static int mcp_commit_start(mol_tool_call *call, json_t *args) {
  return commit_start_as(call, args, 1);
}

/* ---- search / recall ---------------------------------------------------------------------------- */

static const char search_desc[] =
    "Search long-term memory (yours, your team's and global) for facts saved with "
    "commit_memory.\n\nArgs:\n    query: words to look for (empty: the latest memories)\n    "
    "scope: LOCAL, TEAM, GLOBAL, or empty for all";
static const char search_schema[] =
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"default\":\"\"},"
    "\"scope\":{\"type\":\"string\",\"default\":\"\"}}}";
static const char recall_desc[] =
    "Search persistent memory for previously saved information. An empty query returns the "
    "latest memories.";
static const char recall_schema[] =
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"description\":"
    "\"Search query (empty for all)\"},\"scope\":{\"type\":\"string\",\"enum\":[\"LOCAL\","
    "\"TEAM\",\"GLOBAL\",\"\"],\"description\":\"Filter by scope (empty for all)\"}}}";

static void recall_text(mol_tools__op *op, json_t *rows) {
  if (json_array_size(rows) == 0) {
    mol_tools__done(op, "No memories found.");
    return;
  }
  mol_buf b = MOL_BUF_INIT;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    const char *scope = mol_json_str(row, "scope"), *content = mol_json_str(row, "content");
    mol_buf_printf(&b, "%s[%s] %s", i ? "\n" : "", scope ? scope : "", content ? content : "");
  }
  char *text = mol_buf_steal(&b);
  if (text)
    mol_tools__done(op, text);
  else
    mol_tools__fail(op, "Error: out of memory");
  free(text);
}

static void searched(mol_tools__op *op, int err, const mol_platform_result *res) {
  mem_state *m = op->x;
  json_t *rows = err || !res->body ? NULL : json_loads(res->body, 0, NULL);
  const char *why = err == MOL_EHTTP && res->error ? res->error : mol_tools__err_text(err, res);
  if (!json_is_array(rows)) {
    if (!err) why = "unexpected answer from the platform";
    if (m->mcp)
      mol_tools__fail(op, "Error recalling memory: %s", why);
    else
      mol_tools__done_json(op, json_pack("{s:b,s:s}", "success", 0, "error", why));
  } else if (m->mcp) {
    recall_text(op, rows);
  } else {
    mol_tools__done_json(op, json_pack("{s:b,s:I,s:O}", "success", 1, "count",
                                       (json_int_t)json_array_size(rows), "memories", rows));
  }
  json_decref(rows);
}

static int search_start_as(mol_tool_call *call, json_t *args, int mcp) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  mem_state *m = op ? mem_state_new(op, mcp) : NULL;
  if (!op) return 0;
  if (!m) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  int scope;
  if (!parse_scope(mol_tools__arg(op, "scope", ""), 1, &scope, m->scope)) {
    if (mcp)
      mol_tools__fail(op, "Error: scope must be LOCAL, TEAM, GLOBAL, or empty");
    else
      mol_tools__done_json(
          op, json_pack("{s:s}", "error", "scope must be LOCAL, TEAM, GLOBAL, or empty"));
    return 0;
  }
  mol_platform_memory_search_opts o = {
      .any_scope = scope < 0,
      .scope = scope < 0 ? MOL_MEMORY_LOCAL : (mol_memory_scope)scope,
      .q = mol_tools__arg(op, "query", ""),
      .limit = SEARCH_LIMIT};
  op->step = searched;
  int rc = mol_platform_memory_search(op->pc, &o, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) searched(op, rc, NULL);
  return 0;
}

static int search_start(mol_tool_call *call, json_t *args) {
  return search_start_as(call, args, 0);
}
static int recall_start(mol_tool_call *call, json_t *args) {
  return search_start_as(call, args, 1);
}

int mol_tools__add_memory_core(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add(reg, b, "commit_memory", core_commit_desc, core_commit_schema,
                          core_commit_start);
  if (!rc) rc = mol_tools__add(reg, b, "search_memory", search_desc, search_schema, search_start);
  return rc;
}

int mol_tools__add_memory_mcp(mol_tools *reg, mol_tools_builtin *b) {
  int rc =
      mol_tools__add(reg, b, "commit_memory", mcp_commit_desc, mcp_commit_schema, mcp_commit_start);
  if (!rc) rc = mol_tools__add(reg, b, "recall_memory", recall_desc, recall_schema, recall_start);
  return rc;
}
