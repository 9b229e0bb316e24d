/* tool_route.c - route_task_to_team, the coordinator's tool (an agent whose workspace has
 * children on the platform). Without preferred_member_id it reads the children afresh
 * (GET /registry/<self>/peers, those whose parent_id is this workspace) and answers with the
 * team for the model to choose from; with it, the task goes to that member and the tool waits
 * for the member's reply, as delegate_task does (through the platform's proxy, mirrored in the
 * delegation ledger, a queued member waited for on the ledger).
 *
 * Upstream hands the chosen member to delegate_to_workspace, which returns a task id the
 * model must then poll for; here the answer is the member's reply itself, so one tool call
 * does what the coordinator is for. As upstream, the id is not checked against the children. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "tools/builtin_int.h"
#include "tools/delegate_int.h"

static const char route_desc[] =
    "Route a task to your team (the sub-workspaces you coordinate). Without "
    "preferred_member_id: returns the team members (id, name, status, skills) to choose from. "
    "With preferred_member_id: sends the task to that member and returns its reply.\n\nArgs:\n"
    "    task: what the team should do, with all the context it needs\n"
    "    preferred_member_id: the chosen member's workspace ID (empty: list the members)";
static const char route_schema[] =
    "{\"type\":\"object\",\"properties\":{\"task\":{\"type\":\"string\"},"
    "\"preferred_member_id\":{\"type\":\"string\",\"default\":\"\"}},\"required\":[\"task\"]}";

/* A peer's agent card: an object, or a string holding one (new reference or NULL). */
static json_t *card_of(json_t *peer) {
  json_t *card = json_object_get(peer, "agent_card");
  if (json_is_object(card)) return json_incref(card);
  if (!json_is_string(card)) return NULL;
  json_t *parsed = json_loads(json_string_value(card), 0, NULL);
  if (json_is_object(parsed)) return parsed;
  json_decref(parsed);
  return NULL;
}

static json_t *member_view(json_t *peer) {
  json_t *skills = json_array(), *card = card_of(peer);
  size_t i;
  json_t *sk;
  json_array_foreach(json_object_get(card, "skills"), i, sk) {
    const char *n = mol_json_str(sk, "name");
    if (!n || !*n) n = mol_json_str(sk, "id");
    if (n) json_array_append_new(skills, json_string(n));
  }
  json_decref(card);
  const char *id = mol_json_str(peer, "id"), *name = mol_json_str(peer, "name");
  const char *status = mol_json_str(peer, "status");
  return json_pack("{s:s,s:s,s:s,s:o}", "id", id ? id : "", "name", name ? name : "", "status",
                   status ? status : "unknown", "skills", skills);
}

static void members_read(mol_tools__op *op, int err, const mol_platform_result *res) {
  json_t *peers = err || !res->body ? NULL : json_loads(res->body, 0, NULL);
  if (err || !json_is_array(peers)) {
    json_decref(peers);
    mol_tools__done_json(
        op, json_pack("{s:b,s:s+,s:s,s:[]}", "success", 0, "error", "Cannot read the team: ",
                      err ? mol_tools__err_text(err, res) : "unexpected answer", "task",
                      mol_tools__arg(op, "task", ""), "members"));
    return;
  }
  json_t *members = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(peers, i, p) {
    const char *parent = mol_json_str(p, "parent_id");
    if (parent && op->ws && !strcmp(parent, op->ws)) json_array_append_new(members, member_view(p));
  }
  json_decref(peers);
  size_t n = json_array_size(members);
  if (n == 0) {
    json_decref(members);
    mol_tools__done_json(op, json_pack("{s:b,s:s,s:s,s:[]}", "success", 0, "error",
                                       "No team members available. Handle this task yourself.",
                                       "task", mol_tools__arg(op, "task", ""), "members"));
    return;
  }
  char msg[256];
  snprintf(msg, sizeof msg,
           "You have %zu team members. Choose the best one for this task and call "
           "route_task_to_team again with its ID as preferred_member_id.", n);
  mol_tools__done_json(
      op, json_pack("{s:b,s:s,s:s,s:s,s:o}", "success", 1, "action", "choose_member", "message",
                    msg, "task", mol_tools__arg(op, "task", ""), "members", members));
}

static int route_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  const char *member = mol_tools__arg(op, "preferred_member_id", "");
  if (*member) {
    /* delegate_task's arguments, from this call's. */
    json_t *as =
        json_pack("{s:s,s:s}", "workspace_id", member, "task", mol_tools__arg(op, "task", ""));
    if (!as) {
      mol_tools__fail(op, "Error: out of memory");
      return 0;
    }
    json_decref(op->args);
    op->args = as;
    mol_tools__delegate_wait(op);
    return 0;
  }
  op->step = members_read;
  int rc = mol_platform_get_peers(op->pc, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) members_read(op, rc, NULL);
  return 0;
}

int mol_tools_add_route(mol_tools *reg, mol_tools_builtin *b) {
  return mol_tools__add(reg, b, "route_task_to_team", route_desc, route_schema, route_start);
}
