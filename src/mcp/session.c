/* session.c - the MCP protocol core (see session.h): messages in, answers out; the lifecycle
 * (initialize and version negotiation, ping), batches, tools/list with its cursor, and the
 * session's own life. tools/call lives in session_call.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "mcp/rpc.h"
#include "mcp/session_int.h"
#include "molecule.h"

#define DEFAULT_PAGE_SIZE 100
#define DEFAULT_MAX_INFLIGHT 1024
/* The first revision without JSON-RPC batches. */
#define FIRST_WITHOUT_BATCHES "2025-06-18"

const char *const mol_mcp_versions[] = {MCP_LATEST_VERSION, "2025-06-18", "2025-03-26",
                                        "2024-11-05", NULL};

int mol_mcp_version_supported(const char *v) {
  for (size_t i = 0; v && mol_mcp_versions[i]; i++)
    if (strcmp(v, mol_mcp_versions[i]) == 0) return 1;
  return 0;
}

/* ---- answers ------------------------------------------------------------------------------ */

static const char no_memory[] =
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Internal error: "
    "out of memory\"}}";

/* Sends one answer (a response or a batch's array) to the binding; NULL: nothing is due. */
static void send_answer(mol_mcp_session *s, void *ctx, json_t *msg) {
  if (!msg) {
    s->answer(ctx, NULL, 0, s->arg);
    return;
  }
  char *text = mol_json_dump(msg);
  if (text) s->answer(ctx, text, strlen(text), s->arg);
  else s->answer(ctx, no_memory, sizeof no_memory - 1, s->arg);
  free(text);
}

static void batch_settle(mol_mcp_session *s, mol_mcp__batch *b) {
  if (--b->due > 0) return;
  send_answer(s, b->ctx, json_array_size(b->answers) ? b->answers : NULL);
  json_decref(b->answers);
  free(b);
}

void mol_mcp__reply(mol_mcp_session *s, const mol_mcp__sink *k, json_t *resp) {
  mol_mcp__batch *b = k->batch;
  if (!b) {
    send_answer(s, k->ctx, resp);
  } else if (resp && json_array_append(b->answers, resp) < 0) {
    json_t *oom = mol_mcp_rpc_error(json_object_get(resp, "id"), MCP_INTERNAL_ERROR,
                                    "Internal error: out of memory");
    if (oom) json_array_append_new(b->answers, oom);
  }
  json_decref(resp);
  if (b) batch_settle(s, b);
}

void mol_mcp__reply_oom(mol_mcp_session *s, const mol_mcp__sink *k) {
  if (k->batch) batch_settle(s, k->batch);
  else s->answer(k->ctx, no_memory, sizeof no_memory - 1, s->arg);
}

static void reply_error(mol_mcp_session *s, const mol_mcp__sink *k, json_t *id, int code,
                        const char *why) {
  json_t *e = mol_mcp_rpc_error(id, code, "%s", why);
  if (e)
    mol_mcp__reply(s, k, e);
  else
    mol_mcp__reply_oom(s, k);
}

/* ---- requests ----------------------------------------------------------------------------- */

static json_t *server_info(const mol_mcp_session *s) {
  json_t *info = json_pack("{s:s, s:s}", "name", s->name, "version", mol_version());
  if (info && s->title) json_object_set_new(info, "title", json_string(s->title));
  return info;
}

static json_t *initialize(mol_mcp_session *s, const mol_mcp__sink *k, json_t *id, json_t *params) {
  if (k->batch)
    return mol_mcp_rpc_error(id, MCP_INVALID_REQUEST,
                             "Invalid Request: initialize must not be part of a batch");
  if (s->version[0])
    return mol_mcp_rpc_error(id, MCP_INVALID_REQUEST,
                             "Invalid Request: the session is already initialized");
  const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
  if (!asked)
    return mol_mcp_rpc_error(id, MCP_INVALID_PARAMS,
                             "Invalid params: \"protocolVersion\" (a string) is required");
  const char *v = mol_mcp_version_supported(asked) ? asked : MCP_LATEST_VERSION;
  json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:o}", "protocolVersion", v, "capabilities",
                             "tools", "listChanged", 0, "serverInfo", server_info(s));
  if (result && s->instructions &&
      json_object_set_new(result, "instructions", json_string(s->instructions))) {
    json_decref(result);
    result = NULL;
  }
  if (result) strcpy(s->version, v);
  return mol_mcp_rpc_result(id, result);
}

/* The cursor is the index of the page's first tool, in decimal: opaque to the client. */
static json_t *tools_list(mol_mcp_session *s, json_t *id, json_t *params) {
  json_t *cursor = json_object_get(params, "cursor");
  size_t count = mol_tools_count(s->tools), from = 0;
  if (cursor && !json_is_null(cursor)) {
    const char *c = json_string_value(cursor);
    char *end = NULL;
    errno = 0;
    unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;
    if (!c || !end || *end || errno || v > count)
      return mol_mcp_rpc_error(id, MCP_INVALID_PARAMS, "Invalid params: unknown cursor");
    from = (size_t)v;
  }
  json_t *all = mol_tools_mcp(s->tools), *page = all ? json_array() : NULL;
  size_t to = from + s->page_size < count ? from + s->page_size : count;
  for (size_t i = from; page && i < to; i++)
    if (json_array_append(page, json_array_get(all, i))) { /* never a shorter page */
      json_decref(page);
      page = NULL;
    }
  json_decref(all);
  json_t *result = page ? json_pack("{s:o}", "tools", page) : NULL;
  if (result && to < count) {
    char next[32];
    snprintf(next, sizeof next, "%zu", to);
    if (json_object_set_new(result, "nextCursor", json_string(next))) {
      json_decref(result); /* a page without its cursor would end the listing early */
      result = NULL;
    }
  }
  return mol_mcp_rpc_result(id, result);
}

static void request(mol_mcp_session *s, const mol_mcp__sink *k, const mol_mcp_msg *m) {
  json_t *resp;
  if (strcmp(m->method, "ping") == 0) {
    resp = mol_mcp_rpc_result(m->id, json_object());
  } else if (strcmp(m->method, "initialize") == 0) {
    resp = initialize(s, k, m->id, m->params);
  } else if (!s->version[0]) {
    resp = mol_mcp_rpc_error(m->id, MCP_INVALID_REQUEST,
                             "Invalid Request: the session is not initialized (send initialize "
                             "first)");
  } else if (strcmp(m->method, "tools/list") == 0) {
    resp = tools_list(s, m->id, m->params);
  } else if (strcmp(m->method, "tools/call") == 0) {
    mol_mcp__call(s, k, m->id, m->params);
    return;
  } else {
    resp = mol_mcp_rpc_error(m->id, MCP_METHOD_NOT_FOUND, "Method not found: %s", m->method);
  }
  if (resp)
    mol_mcp__reply(s, k, resp);
  else
    mol_mcp__reply_oom(s, k);
}

static void notification(mol_mcp_session *s, const mol_mcp_msg *m) {
  if (strcmp(m->method, "notifications/cancelled") == 0) mol_mcp__cancel(s, m->params);
  /* notifications/initialized and anything unknown: nothing to do, and never an answer. */
}

/* One message (or batch member). Returns 1 when it will be answered. */
static int one(mol_mcp_session *s, const mol_mcp__sink *k, json_t *msg, int *malformed) {
  mol_mcp_msg m;
  mol_mcp_rpc_classify(msg, &m);
  switch (m.kind) {
    case MCP_MSG_REQUEST: request(s, k, &m); return 1;
    case MCP_MSG_NOTIFICATION: notification(s, &m); return 0;
    case MCP_MSG_RESPONSE: return 0; /* we send no requests: nothing waits for it */
    case MCP_MSG_INVALID: break;
  }
  if (malformed) *malformed = 1;
  reply_error(s, k, m.id, m.code, m.why);
  return 1;
}

static int batch(mol_mcp_session *s, json_t *arr, void *ctx, mol_mcp_feed_info *info) {
  mol_mcp__sink direct = {ctx, NULL};
  const char *why = NULL;
  if (!s->version[0]) why = "Invalid Request: a batch needs an initialized session";
  else if (strcmp(s->version, FIRST_WITHOUT_BATCHES) >= 0)
    why = "Invalid Request: JSON-RPC batches are not part of the negotiated protocol revision";
  else if (json_array_size(arr) == 0) why = "Invalid Request: empty batch";
  if (why) {
    info->answer = info->malformed = 1;
    reply_error(s, &direct, NULL, MCP_INVALID_REQUEST, why);
    return 0;
  }
  mol_mcp__batch *b = calloc(1, sizeof *b);
  if (!b || !(b->answers = json_array())) {
    free(b);
    return MOL_ENOMEM;
  }
  b->ctx = ctx;
  b->due = 1;
  mol_mcp__sink k = {ctx, b};
  size_t i;
  json_t *msg;
  json_array_foreach(arr, i, msg) {
    b->due++;
    if (one(s, &k, msg, NULL)) info->answer = 1;
    else b->due--;
  }
  if (!info->answer) { /* notifications only: nothing is ever sent for this batch */
    json_decref(b->answers);
    free(b);
    return 0;
  }
  batch_settle(s, b);
  return 0;
}

int mol_mcp_session_feed_json(mol_mcp_session *s, json_t *msg, void *ctx, mol_mcp_feed_info *info) {
  mol_mcp_feed_info dummy;
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  if (s->closed) return MOL_ESHUTDOWN;
  if (json_is_array(msg)) return batch(s, msg, ctx, info);
  mol_mcp__sink k = {ctx, NULL};
  info->answer = one(s, &k, msg, &info->malformed);
  return 0;
}

int mol_mcp_session_feed(mol_mcp_session *s, const char *text, size_t len, void *ctx,
                         mol_mcp_feed_info *info) {
  mol_mcp_feed_info dummy;
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  if (s->closed) return MOL_ESHUTDOWN;
  json_error_t err;
  json_t *msg = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  if (!msg) {
    mol_mcp__sink k = {ctx, NULL};
    json_t *e = mol_mcp_rpc_error(NULL, MCP_PARSE_ERROR, "Parse error: %s", err.text);
    info->answer = info->malformed = 1;
    if (e)
      mol_mcp__reply(s, &k, e);
    else
      mol_mcp__reply_oom(s, &k);
    return 0;
  }
  int rc = mol_mcp_session_feed_json(s, msg, ctx, info);
  json_decref(msg);
  return rc;
}

/* ---- the session's life ------------------------------------------------------------------- */

const char *mol_mcp_session_version(const mol_mcp_session *s) {
  return s->version[0] ? s->version : NULL;
}
unsigned mol_mcp_session_inflight(const mol_mcp_session *s) {
  return s->n_pending;
}

static void session_free(void *data) {
  mol_mcp_session *s = data;
  void (*cb)(void *) = s->on_closed;
  void *arg = s->closed_arg;
  free(s->name);
  free(s->title);
  free(s->instructions);
  free(s);
  if (cb) cb(arg);
}

static char *dup_or_null(const char *v, int *bad) {
  char *d = v ? strdup(v) : NULL;
  if (v && !d) *bad = 1;
  return d;
}

int mol_mcp_session_new(const mol_mcp_session_opts *o, mol_mcp_answer_cb answer, void *arg,
                        mol_mcp_session **out) {
  const mol_tool_env *env = o && o->tools ? mol_tools_env(o->tools) : NULL;
  if (!env || !env->loop || !answer || !out) return MOL_EINVAL;
  mol_mcp_session *s = calloc(1, sizeof *s);
  if (!s) return MOL_ENOMEM;
  int bad = 0;
  s->name = dup_or_null(o->name ? o->name : "molecule", &bad);
  s->title = dup_or_null(o->title, &bad);
  s->instructions = dup_or_null(o->instructions, &bad);
  if (bad) {
    s->on_closed = NULL;
    session_free(s);
    return MOL_ENOMEM;
  }
  s->tools = o->tools;
  s->call_timeout_ms = o->call_timeout_ms;
  s->page_size = o->page_size ? o->page_size : DEFAULT_PAGE_SIZE;
  s->max_inflight = o->max_inflight ? o->max_inflight : DEFAULT_MAX_INFLIGHT;
  s->answer = answer;
  s->arg = arg;
  uv_timer_init(env->loop, &s->last);
  mol_holds_init(&s->holds, (uv_handle_t *)&s->last, session_free, s);
  *out = s;
  return 0;
}

void mol_mcp_session_close(mol_mcp_session *s, int cancel, void (*on_closed)(void *arg),
                           void *arg) {
  if (s->closed) return;
  s->closed = 1;
  s->on_closed = on_closed;
  s->closed_arg = arg;
  if (cancel) mol_mcp__cancel_all(s);
  mol_holds_drop(&s->holds); /* the owner's */
}
