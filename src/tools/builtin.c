/* builtin.c - the built-in tools' shared state and tunables, one call's operation (mol_tools__op: a
 * platform request or a pause in flight, stopped for real by a cancel), the choice of
 * workspace, the two sets, and mol_agent_tools (an agent's registry in one object). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "tools/builtin_int.h"

/* ---- tunables -------------------------------------------------------------------------------- */

static unsigned env_seconds_ms(const char *name, unsigned dflt_ms) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt_ms;
  char *end;
  double s = strtod(v, &end);
  if (*end || s <= 0 || s > 86400) return dflt_ms;
  unsigned ms = (unsigned)(s * 1000);
  return ms ? ms : 1;
}

static int env_true(const char *name) {
  const char *v = getenv(name);
  return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
}

static int env_sandbox(void) {
  const char *v = getenv("SANDBOX_BACKEND");
  if (v && !strcmp(v, "bwrap")) return MOL_TOOLS_SANDBOX_BWRAP;
  if (v && !strcmp(v, "subprocess")) return MOL_TOOLS_SANDBOX_PLAIN;
  return MOL_TOOLS_SANDBOX_AUTO;
}

static void resolve(mol_tools_builtin_opts *o) {
  if (!o->approval_poll_ms) o->approval_poll_ms = env_seconds_ms("APPROVAL_POLL_INTERVAL", 5000);
  if (!o->approval_timeout_ms)
    o->approval_timeout_ms = env_seconds_ms("APPROVAL_TIMEOUT", 300000);
  if (!o->delegation_timeout_ms)
    o->delegation_timeout_ms = env_seconds_ms("DELEGATION_TIMEOUT", 300000);
  if (!o->queued_wait_ms) o->queued_wait_ms = 60000;
  if (!o->ledger_poll_ms) o->ledger_poll_ms = 3000;
  if (!o->run_code_timeout_ms) o->run_code_timeout_ms = env_seconds_ms("SANDBOX_TIMEOUT", 30000);
  if (!o->run_code_max_output) o->run_code_max_output = 10000;
  if (!o->sandbox) o->sandbox = env_sandbox();
  if (!o->inbox_poll_ms) o->inbox_poll_ms = 2000;
  if (!o->no_inbox) o->no_inbox = env_true("MOLECULE_MCP_DISABLE_INBOX");
}

mol_tools_builtin *mol_tools_builtin_new(const mol_tools_builtin_opts *o) {
  mol_tools_builtin *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->refs = 1;
  if (o) b->o = *o;
  resolve(&b->o);
  b->bwrap = -1;
  return b;
}

void mol_tools__hold(mol_tools_builtin *b) {
  b->refs++;
}

void mol_tools__release(mol_tools_builtin *b) {
  if (!b || --b->refs > 0) return;
  mol_tools__inboxes_free(b);
  for (size_t i = 0; i < b->nstrings; i++) free(b->strings[i]);
  free(b->strings);
  free(b->sources);
  free(b);
}

void mol_tools_builtin_release(mol_tools_builtin *b) {
  mol_tools__release(b);
}

/* ---- one call's operation -------------------------------------------------------------------- */

static int source_matches(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

/* The client of the workspace the call acts as; NULL with err filled when there is none. */
static mol_platform_client *choose(const mol_tool_env *env, const char *source, const char **ws,
                                   char *err, size_t cap) {
  if (!source || !*source || source_matches(source, env->workspace_id)) {
    *ws = env->workspace_id;
    if (!env->platform || !env->workspace_id) snprintf(err, cap, "Error: no platform connection");
    return env->platform && env->workspace_id ? env->platform : NULL;
  }
  for (size_t i = 0; i < env->nsources; i++) {
    if (source_matches(source, env->sources[i].workspace_id) && env->sources[i].platform) {
      *ws = env->sources[i].workspace_id;
      return env->sources[i].platform;
    }
  }
  snprintf(err, cap, "Error: source_workspace_id %s is not one of this agent's workspaces",
           source);
  return NULL;
}

mol_tools__op *mol_tools__op_start(mol_tool_call *call, json_t *args, int needs_platform) {
  mol_tools_builtin *b = mol_tool_call_self(call);
  const mol_tool_env *env = mol_tool_call_env(call);
  char err[256] = "";
  const char *ws = NULL;
  mol_platform_client *pc =
      choose(env, mol_json_str(args, "source_workspace_id"), &ws, err, sizeof err);
  if (needs_platform && !pc) {
    mol_tool_call_fail(call, "%s", err);
    return NULL;
  }
  mol_tools__op *op = calloc(1, sizeof *op);
  if (!op) {
    mol_tool_call_fail(call, "Error: out of memory");
    return NULL;
  }
  op->call = call;
  op->b = b;
  op->pc = pc;
  op->ws = ws;
  op->args = json_incref(args);
  mol_tools__hold(b);
  mol_tool_call_set_data(call, op);
  return op;
}

static void op_free(mol_tools__op *op) {
  json_decref(op->args);
  if (op->x_free) op->x_free(op->x);
  mol_tools__release(op->b);
  free(op);
}

static void on_timer_closed(uv_handle_t *h) { op_free(h->data); }

static void op_end(mol_tools__op *op) {
  if (op->timer_inited) {
    uv_timer_stop(&op->timer);
    uv_close((uv_handle_t *)&op->timer, on_timer_closed);
  } else {
    op_free(op);
  }
}

void mol_tools__done(mol_tools__op *op, const char *text) {
  mol_tool_call_done(op->call, text ? text : "", (size_t)-1);
  op_end(op);
}

/* base's writer: the same bytes as json_dumps(JSON_COMPACT) at a fraction of the cost (this
 * was a fifth of a delegate_to_workspace call in the coordinator, bench/tools). */
void mol_tools__done_json(mol_tools__op *op, json_t *v) {
  char *s = v ? mol_json_dump(v) : NULL;
  json_decref(v);
  if (s)
    mol_tools__done(op, s);
  else
    mol_tools__fail(op, "Error: out of memory");
  free(s);
}

/* A text cut short by a buffer may end inside a UTF-8 sequence: drop that partial tail. */
static void trim_partial_utf8(char *s) {
  size_t n = strlen(s), i = n;
  while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
  if (i == 0) return;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (lead >= 0xC0 && n - (i - 1) < want) s[i - 1] = '\0';
}

void mol_tools__fail(mol_tools__op *op, const char *fmt, ...) {
  char text[1024]; /* mol_tool_call_fail's own limit: never cut again there */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  trim_partial_utf8(text);
  mol_tool_call_fail(op->call, "%s", text);
  op_end(op);
}

void mol_tools__platform_cb(int err, const mol_platform_result *res, void *arg) {
  mol_tools__op *op = arg;
  op->req = NULL;
  if (mol_tool_call_stopping(op->call)) { /* the caller has its answer already */
    mol_tools__done(op, "canceled");
    return;
  }
  op->step(op, err, res);
}

static void on_timer(uv_timer_t *t) {
  mol_tools__op *op = t->data;
  op->timer_active = 0;
  op->step(op, 0, NULL);
}

void mol_tools__after(mol_tools__op *op, uint64_t ms, mol_tools__step step) {
  if (!op->timer_inited) {
    uv_timer_init(mol_tool_call_env(op->call)->loop, &op->timer);
    op->timer.data = op;
    op->timer_inited = 1;
  }
  op->step = step;
  op->timer_active = 1;
  uv_timer_start(&op->timer, on_timer, ms, 0);
}

void mol_tools__cancel(mol_tool_call *call) {
  mol_tools__op *op = mol_tool_call_data(call);
  if (!op) return;
  if (op->x_cancel) {
    op->x_cancel(op);
  } else if (op->req) {
    mol_platform_cancel(op->req); /* mol_tools__platform_cb ends the call */
  } else if (op->timer_active) {
    op->timer_active = 0;
    mol_tools__done(op, "canceled");
  }
}

/* ---- helpers --------------------------------------------------------------------------------- */

const char *mol_tools__arg(const mol_tools__op *op, const char *key, const char *dflt) {
  const char *s = mol_json_str(op->args, key);
  return s ? s : dflt;
}

const char *mol_tools__err_text(int err, const mol_platform_result *res) {
  static __thread char text[512];
  if (err == MOL_EHTTP && res)
    snprintf(text, sizeof text, "%d: %s", res->http_status,
             res->error ? res->error : res->body ? res->body : "");
  else
    snprintf(text, sizeof text, "%s", mol_strerror(err));
  trim_partial_utf8(text);
  return text;
}

int mol_tools__add(mol_tools *reg, mol_tools_builtin *b, const char *name, const char *description,
                   const char *schema, int (*start)(mol_tool_call *call, json_t *args)) {
  mol_tool_def d = {.name = name,
                    .description = description,
                    .input_schema = schema,
                    .start = start,
                    .cancel = mol_tools__cancel,
                    .self = b};
  return mol_tools_add(reg, &d);
}

/* ---- the sets -------------------------------------------------------------------------------- */

int mol_tools_add_core(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add_delegation_core(reg, b);
  if (!rc) rc = mol_tools__add_approval(reg, b);
  if (!rc) rc = mol_tools__add_memory_core(reg, b);
  if (!rc) rc = mol_tools__add_run_code(reg, b);
  return rc;
}

int mol_tools_add_mcp_set(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add_delegation_mcp(reg, b);
  if (!rc) rc = mol_tools__add_workspace_mcp(reg, b);
  if (!rc) rc = mol_tools__add_memory_mcp(reg, b);
  if (!rc && !b->o.no_inbox) rc = mol_tools__add_inbox(reg, b);
  return rc;
}

/* ---- mol_agent_tools ------------------------------------------------------------------------- */

struct mol_agent_tools {
  mol_tools *reg;
  mol_tools_builtin *b;
};

static const char *keep(mol_tools_builtin *b, const char *s) {
  if (!s) return NULL;
  char **grown = realloc(b->strings, (b->nstrings + 1) * sizeof *grown);
  if (!grown) return NULL;
  b->strings = grown;
  return b->strings[b->nstrings++] = strdup(s);
}

/* The env lives in b, which every running call holds: a call outlives the registry safely. */
static int copy_env(mol_tools_builtin *b, const mol_agent_tools_opts *o) {
  b->env.loop = o->loop;
  b->env.platform = o->platform;
  if (o->workspace_id && !(b->env.workspace_id = keep(b, o->workspace_id))) return MOL_ENOMEM;
  if (!o->nsources) return 0;
  if (!(b->sources = calloc(o->nsources, sizeof *b->sources))) return MOL_ENOMEM;
  for (size_t i = 0; i < o->nsources; i++) {
    b->sources[i].platform = o->sources[i].platform;
    if (!(b->sources[i].workspace_id = keep(b, o->sources[i].workspace_id))) return MOL_ENOMEM;
  }
  b->env.sources = b->sources;
  b->env.nsources = o->nsources;
  return 0;
}

int mol_agent_tools_new(const mol_agent_tools_opts *o, mol_agent_tools **out) {
  if (!o || !o->loop || !out || (o->platform && !o->workspace_id)) return MOL_EINVAL;
  for (size_t i = 0; i < o->nsources; i++)
    if (!o->sources[i].workspace_id || !o->sources[i].platform) return MOL_EINVAL;
  mol_agent_tools *t = calloc(1, sizeof *t);
  if (!t || !(t->b = mol_tools_builtin_new(&o->builtin))) {
    free(t);
    return MOL_ENOMEM;
  }
  int rc = copy_env(t->b, o);
  if (!rc && !(t->reg = mol_tools_new(&t->b->env))) rc = MOL_ENOMEM;
  if (!rc)
    rc = o->set == MOL_TOOLS_SET_MCP ? mol_tools_add_mcp_set(t->reg, t->b)
                                     : mol_tools_add_core(t->reg, t->b);
  if (rc) {
    mol_agent_tools_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

mol_tools *mol_agent_tools_registry(mol_agent_tools *t) { return t->reg; }

void mol_agent_tools_free(mol_agent_tools *t) {
  if (!t) return;
  mol_tools_free(t->reg);
  mol_tools__release(t->b);
  free(t);
}
