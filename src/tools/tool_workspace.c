/* tool_workspace.c - the MCP set's workspace tools: list_peers (GET /registry/<self>/peers, every
 * workspace of the agent when it serves several) and get_workspace_info (GET /workspaces/<self>);
 * send_message_to_user is in tool_message.c.
 *
 * Unlike upstream: a peer whose role is null is listed without "role: None"; every call carries
 * the bearer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "tools/builtin_int.h"

/* ---- list_peers ------------------------------------------------------------------------------- */

static const char peers_desc[] =
    "List the workspaces you can delegate to (siblings, parent, children) with their name, ID, "
    "status and role. Use an ID with delegate_task.";
static const char peers_schema[] =
    "{\"type\":\"object\",\"properties\":{" BT_SOURCE_PROP "}}";

typedef struct {
  mol_buf out;
  size_t next;               /* 0: the chosen workspace; i > 0: env source i-1 (aggregate) */
  int aggregate;             /* every workspace of the agent, lines tagged by source */
} peers_state;

static void peers_state_free(void *x) {
  peers_state *p = x;
  mol_buf_free(&p->out);
  free(p);
}

static void list_next(mol_tools__op *op);

static void peers_read(mol_tools__op *op, int err, const mol_platform_result *res) {
  peers_state *p = op->x;
  if (err && !p->aggregate) { /* upstream shows an empty list; the reason is more useful */
    mol_tools__fail(op, "Error: cannot list peers: %s", mol_tools__err_text(err, res));
    return;
  }
  if (err)
    mol_buf_printf(&p->out, "%s- (the peers of %s cannot be listed: %s)", p->out.len ? "\n" : "",
                   op->ws, mol_tools__err_text(err, res));
  for (size_t i = 0; !err && i < res->npeers; i++) {
    const mol_platform_peer *pe = &res->peers[i];
    mol_buf_printf(&p->out, "%s- %s (ID: %s, status: %s", p->out.len ? "\n" : "",
                   pe->name && *pe->name ? pe->name : pe->id, pe->id, pe->status);
    if (pe->role && *pe->role) mol_buf_printf(&p->out, ", role: %s", pe->role);
    mol_buf_append_str(&p->out, ")");
    if (p->aggregate) mol_buf_printf(&p->out, " [via %s]", op->ws);
  }
  list_next(op);
}

/* Lists the chosen workspace's peers, or in aggregate mode the agent's own then each source's. */
static void list_next(mol_tools__op *op) {
  peers_state *p = op->x;
  const mol_tool_env *env = mol_tool_call_env(op->call);
  size_t total = p->aggregate ? 1 + env->nsources : 1;
  if (p->next == total) {
    char *text = mol_buf_steal(&p->out);
    mol_tools__done(op,
                    text && *text ? text : "No peers available (this workspace may be isolated)");
    free(text);
    return;
  }
  if (p->next > 0) {
    op->pc = env->sources[p->next - 1].platform;
    op->ws = env->sources[p->next - 1].workspace_id;
  }
  p->next++;
  op->step = peers_read;
  int rc = mol_platform_get_peers(op->pc, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) peers_read(op, rc, NULL);
}

static int peers_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  peers_state *p = calloc(1, sizeof *p);
  if (!p) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  op->x = p;
  op->x_free = peers_state_free;
  p->aggregate =
      mol_tool_call_env(call)->nsources > 0 && !*mol_tools__arg(op, "source_workspace_id", "");
  list_next(op);
  return 0;
}

/* ---- get_workspace_info ------------------------------------------------------------------------ */

static const char info_desc[] =
    "Get this workspace's own record: ID, name, role, tier, parent, status.";
static const char info_schema[] =
    "{\"type\":\"object\",\"properties\":{" BT_SOURCE_PROP "}}";

static void info_read(mol_tools__op *op, int err, const mol_platform_result *res) {
  json_t *v = !err && res->body ? json_loads(res->body, 0, NULL) : NULL;
  char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
  if (text)
    mol_tools__done(op, text);
  else if (err == MOL_EHTTP && res->http_status == 404)
    mol_tools__fail(op, "{\n  \"error\": \"not found\"\n}");
  else
    mol_tools__fail(op, "{\n  \"error\": \"%s\"\n}",
                    err ? mol_tools__err_text(err, res) : "unexpected answer");
  free(text);
  json_decref(v);
}

static int info_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  op->step = info_read;
  int rc = mol_platform_workspace_info(op->pc, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) info_read(op, rc, NULL);
  return 0;
}

int mol_tools__add_workspace_mcp(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add(reg, b, "list_peers", peers_desc, peers_schema, peers_start);
  if (!rc) rc = mol_tools__add(reg, b, "get_workspace_info", info_desc, info_schema, info_start);
  if (!rc) rc = mol_tools__add_send_message(reg, b);
  return rc;
}
