/* approvals.c - the client side of approvals: ask a human (create), read the workspace's list,
 * and poll one request by id. The platform has no single-approval GET, so one is read from the
 * list (newest 50). Deciding is the operator's business, not the agent's: there is no client
 * call for it. The workspace-info, instructions and shared-context reads live here too (one GET
 * each). */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "platform/platform_int.h"

int mol_platform_approval_create(mol_platform_client *c, const char *action, const char *reason,
                                 const char *task_id, const char *context_json,
                                 const mol_platform_call *call, mol_platform_cb cb, void *arg,
                                 mol_platform_req **out) {
  if (!c || !action || !*action) return MOL_EINVAL;
  json_t *ctx = NULL;
  if (context_json) {
    ctx = mol_json_parse(context_json, strlen(context_json), NULL, 0);
    if (!json_is_object(ctx)) {
      json_decref(ctx);
      return MOL_EINVAL;
    }
  }
  json_t *b = json_pack("{s:s}", "action", action);
  if (b && reason) json_object_set_new(b, "reason", json_string(reason));
  if (b && task_id) json_object_set_new(b, "task_id", json_string(task_id));
  if (b && ctx) json_object_set(b, "context", ctx);
  json_decref(ctx);
  char *body = mol_platform__dump(b);
  if (!body) return MOL_ENOMEM;
  return mol_platform__json_call(c, "POST",
                                 mol_platform__url(c, "/workspaces/%s/approvals", c->ws_id), body,
                                 0, NULL, call, cb, arg, out);
}

int mol_platform_approvals(mol_platform_client *c, const mol_platform_call *call,
                           mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  return mol_platform__json_call(c, "GET",
                                 mol_platform__url(c, "/workspaces/%s/approvals", c->ws_id), NULL,
                                 MOL_PLATFORM__RETRY, NULL, call, cb, arg, out);
}

int mol_platform_approval_get(mol_platform_client *c, const char *approval_id,
                              const mol_platform_call *call, mol_platform_cb cb, void *arg,
                              mol_platform_req **out) {
  if (!c || !approval_id || !*approval_id) return MOL_EINVAL;
  return mol_platform__get_one(c, "/workspaces/%s/approvals", approval_id, call, cb, arg, out);
}

/* Kept here, beside the other small tool-facing reads: the workspace's own row. */
int mol_platform_workspace_info(mol_platform_client *c, const mol_platform_call *call,
                                mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  return mol_platform__json_call(c, "GET", mol_platform__url(c, "/workspaces/%s", c->ws_id),
                                 NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg, out);
}

/* The platform instructions for this workspace: res->body {"workspace_id","instructions"}. */
int mol_platform_instructions_resolve(mol_platform_client *c, const mol_platform_call *call,
                                      mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  return mol_platform__json_call(
      c, "GET", mol_platform__url(c, "/workspaces/%s/instructions/resolve", c->ws_id), NULL,
      MOL_PLATFORM__RETRY, NULL, call, cb, arg, out);
}

/* The parent's shared context: res->body [{"path","content"}]. Sent with this workspace's own
 * token and X-Workspace-ID; the platform checks that this workspace is a child of parent_id. */
int mol_platform_shared_context(mol_platform_client *c, const char *parent_id,
                                const mol_platform_call *call, mol_platform_cb cb, void *arg,
                                mol_platform_req **out) {
  if (!c || !mol_platform__valid_id(parent_id)) return MOL_EINVAL;
  char *parent = mol_platform__id_dup(parent_id);
  char *url = parent ? mol_platform__url(c, "/workspaces/%s/shared-context", parent) : NULL;
  free(parent);
  return mol_platform__json_call(c, "GET", url, NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg,
                                 out);
}
