/* session_call.c - tools/call: the request checked, the call started in the registry, its
 * result answered as MCP content (isError for a tool's failure, a timeout or our own
 * shutdown), and notifications/cancelled, which ends a call with no answer at all. Calls run
 * concurrently; each is answered when it ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "mcp/rpc.h"
#include "mcp/session_int.h"
#include "molecule.h"

struct mol_mcp__pending {
  mol_mcp__pending *next, *prev;
  mol_mcp_session *s;
  mol_mcp__sink sink;
  json_t *id;
  mol_tool_call *call;
  int client_canceled;        /* notifications/cancelled: no answer is due */
};

static void unlink_pending(mol_mcp_session *s, mol_mcp__pending *p) {
  if (p->prev) p->prev->next = p->next;
  else s->pending = p->next;
  if (p->next) p->next->prev = p->prev;
  s->n_pending--;
}

static mol_mcp__pending *find_pending(mol_mcp_session *s, const json_t *id) {
  for (mol_mcp__pending *p = s->pending; p; p = p->next)
    if (json_equal(p->id, (json_t *)id)) return p;
  return NULL;
}

static json_t *text_result(const char *text, size_t len, int is_error) {
  json_t *t = json_stringn(text, len);
  if (!t) { /* jansson refuses text that is not UTF-8: say so rather than send nothing */
    t = json_string("the tool's result is not valid UTF-8 text");
    is_error = 1;
  }
  return json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text", "text", t, "isError",
                   is_error);
}

static json_t *call_answer(const mol_mcp__pending *p, const mol_tool_result *r) {
  if (p->client_canceled) return NULL; /* the spec: no response to a canceled request */
  json_t *result;
  if (r->status == MOL_TOOL_CANCELED) {
    char text[160];
    int n = snprintf(text, sizeof text, "%s canceled: the server is closing the session",
                     r->name);
    result = text_result(text, n > 0 && (size_t)n < sizeof text ? (size_t)n : 0, 1);
  } else {
    result = text_result(r->text, r->len, r->status != MOL_TOOL_OK);
  }
  json_t *resp = mol_mcp_rpc_result(p->id, result);
  return resp ? resp
              : mol_mcp_rpc_error(p->id, MCP_INTERNAL_ERROR, "Internal error: out of memory");
}

static void on_call_done(const mol_tool_result *r, void *arg) {
  mol_mcp__pending *p = arg;
  mol_mcp_session *s = p->s;
  unlink_pending(s, p);
  json_t *resp = call_answer(p, r);
  mol_mcp__reply(s, &p->sink, resp);
  json_decref(p->id);
  free(p);
  mol_holds_drop(&s->holds);
}

/* The error to answer instead of starting the call, or NULL. */
static json_t *check_call(mol_mcp_session *s, json_t *id, json_t *params, const char **name,
                          json_t **args, int *refused) {
  *name = json_string_value(json_object_get(params, "name"));
  *args = json_object_get(params, "arguments");
  *refused = 1;
  if (s->n_pending >= s->max_inflight)
    return mol_mcp_rpc_error(id, MCP_SERVER_BUSY,
                             "Server busy: %u tool calls are in flight (the "
                             "limit); retry when one has ended",
                             s->n_pending);
  if (find_pending(s, id))
    return mol_mcp_rpc_error(id, MCP_INVALID_REQUEST,
                             "Invalid Request: a request with this id is still in flight");
  if (!*name)
    return mol_mcp_rpc_error(id, MCP_INVALID_PARAMS,
                             "Invalid params: \"name\" (a string) is "
                             "required");
  if (*args && !json_is_null(*args) && !json_is_object(*args))
    return mol_mcp_rpc_error(id, MCP_INVALID_PARAMS,
                             "Invalid params: \"arguments\" must be an "
                             "object");
  if (!mol_tools_find(s->tools, *name))
    return mol_mcp_rpc_error(id, MCP_INVALID_PARAMS, "Unknown tool: %s", *name);
  *refused = 0;
  return NULL;
}

/* Starts the call; on failure, the error to answer (refused set). */
static json_t *start(mol_mcp_session *s, const mol_mcp__sink *k, json_t *id, const char *name,
                     json_t *args, int *refused) {
  char *args_json = args && json_is_object(args) ? mol_json_dump(args) : strdup("{}");
  mol_mcp__pending *p = args_json ? calloc(1, sizeof *p) : NULL;
  *refused = 1;
  if (!p) {
    free(args_json);
    return mol_mcp_rpc_error(id, MCP_INTERNAL_ERROR, "Internal error: out of memory");
  }
  p->s = s;
  p->sink = *k;
  p->id = json_incref(id);
  mol_tool_call_opts o = {.timeout_ms = s->call_timeout_ms, .cb = on_call_done, .arg = p};
  int rc = mol_tools_call(s->tools, name, args_json, &o, &p->call);
  free(args_json);
  if (rc < 0) {
    json_decref(p->id);
    free(p);
    return mol_mcp_rpc_error(id, MCP_INTERNAL_ERROR, "Internal error: %s", mol_strerror(rc));
  }
  p->next = s->pending;
  if (s->pending) s->pending->prev = p;
  s->pending = p;
  s->n_pending++;
  mol_holds_take(&s->holds);
  *refused = 0;
  return NULL;
}

void mol_mcp__call(mol_mcp_session *s, const mol_mcp__sink *k, json_t *id, json_t *params) {
  const char *name;
  json_t *args;
  int refused;
  json_t *err = check_call(s, id, params, &name, &args, &refused);
  if (!refused) err = start(s, k, id, name, args, &refused);
  if (!refused) return; /* answered when the call ends */
  if (err)
    mol_mcp__reply(s, k, err);
  else
    mol_mcp__reply_oom(s, k);
}

void mol_mcp__cancel(mol_mcp_session *s, json_t *params) {
  mol_mcp__pending *p = find_pending(s, json_object_get(params, "requestId"));
  if (!p || p->client_canceled) return; /* unknown or already ended: ignored, as the spec says */
  p->client_canceled = 1;
  mol_tool_call_cancel(p->call);
}

void mol_mcp__cancel_all(mol_mcp_session *s) {
  for (mol_mcp__pending *p = s->pending; p; p = p->next) {
    if (!p->client_canceled) mol_tool_call_cancel(p->call);
  }
}
