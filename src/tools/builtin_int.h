/* builtin_int.h - what the built-in tools' files share (bt_ prefix): the shared state, one
 * call's operation (a platform request or a timer in flight, stopped for real by a cancel), the
 * choice of workspace by source_workspace_id, and small result builders. Not installed. */
#ifndef MOL_TOOLS_BUILTIN_INT_H
#define MOL_TOOLS_BUILTIN_INT_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "molecule.h"
#include "tools/builtin.h"

typedef struct mol_tools__inbox mol_tools__inbox;

struct mol_tools_builtin {
  int refs;
  mol_tools_builtin_opts o;      /* resolved: no zero left */
  mol_tool_env env;              /* mol_agent_tools' env (copied strings), else unused */
  mol_tool_source *sources;
  char **strings;                /* what env and sources point into */
  size_t nstrings;
  mol_tools__inbox *inboxes;     /* one per platform client (tool_inbox.c) */
  int bwrap;                     /* run_code.c: -1 not probed yet, 0 unusable, 1 usable */
};

void mol_tools__hold(mol_tools_builtin *b);
void mol_tools__release(mol_tools_builtin *b);

/* ---- one call's operation ------------------------------------------------------------------- */

typedef struct mol_tools__op mol_tools__op;
typedef void (*mol_tools__cancel_fn)(mol_tools__op *op);
/* The next step after a platform call (err/res as mol_platform_cb) or a timer (res NULL). */
typedef void (*mol_tools__step)(mol_tools__op *op, int err, const mol_platform_result *res);

struct mol_tools__op {
  mol_tool_call *call;
  mol_tools_builtin *b;
  mol_platform_client *pc;       /* the chosen workspace's client */
  const char *ws;                /* its id */
  json_t *args;                  /* the call's arguments (a reference) */
  mol_platform_req *req;         /* in flight, or NULL */
  uv_timer_t timer;              /* pauses (polls); initialised on first use */
  int timer_inited, timer_active;
  mol_tools__step step;
  void *x;                       /* the tool's own data */
  void (*x_free)(void *x);
  mol_tools__cancel_fn x_cancel; /* what else a cancel stops (a process, a waiter) */
};

/* Starts an operation for call: resolves source_workspace_id (when the tool takes it) to a
 * client; without a usable client the call ends with an error and NULL is returned. The
 * operation is the call's data; the tool's cancel is mol_tools__cancel. */
mol_tools__op *mol_tools__op_start(mol_tool_call *call, json_t *args, int needs_platform);
/* Arms op->step for the platform call started next: pass mol_tools__platform_cb and op as cb/arg,
 * and &op->req as out. */
void mol_tools__platform_cb(int err, const mol_platform_result *res, void *arg);
/* Runs op->step after ms (on the loop; never inside this call). */
void mol_tools__after(mol_tools__op *op, uint64_t ms, mol_tools__step step);
/* Ends the call with text (copied) or an error text, and frees the operation. */
void mol_tools__done(mol_tools__op *op, const char *text);
void mol_tools__done_json(mol_tools__op *op, json_t *v); /* takes v; compact JSON, UTF-8 kept */
void mol_tools__fail(mol_tools__op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The def's cancel for every built-in tool: stops the request or the timer; the call then ends
 * on a later iteration (the platform's ECANCELED, or at once for a timer). A tool with a process
 * or a waiter of its own sets op->x_cancel, which must see that the call ends. */
void mol_tools__cancel(mol_tool_call *call);

/* ---- helpers --------------------------------------------------------------------------------- */

/* The string argument key, or dflt when absent or null. */
const char *mol_tools__arg(const mol_tools__op *op, const char *key, const char *dflt);
/* "<status>: <error or body>" for a failed platform call (static buffer, one per thread). */
const char *mol_tools__err_text(int err, const mol_platform_result *res);
/* The schema fragment of source_workspace_id, for the tools that take it. */
#define BT_SOURCE_PROP                                                                         \
  "\"source_workspace_id\":{\"type\":\"string\",\"description\":\"Which of this agent's "      \
  "workspaces acts (for an agent registered in several); default: its own.\"}"

/* ---- the tool files -------------------------------------------------------------------------- */

int mol_tools__add_delegation_core(mol_tools *reg, mol_tools_builtin *b); /* tool_delegate.c */
int mol_tools__add_delegation_mcp(mol_tools *reg, mol_tools_builtin *b);  /* tool_delegate_mcp.c */
int mol_tools__add_memory_core(mol_tools *reg, mol_tools_builtin *b);     /* tool_memory.c */
int mol_tools__add_memory_mcp(mol_tools *reg, mol_tools_builtin *b);
int mol_tools__add_approval(mol_tools *reg, mol_tools_builtin *b);      /* tool_approval.c */
int mol_tools__add_run_code(mol_tools *reg, mol_tools_builtin *b);      /* run_code.c */
int mol_tools__add_workspace_mcp(mol_tools *reg, mol_tools_builtin *b); /* tool_workspace.c */
int mol_tools__add_inbox(mol_tools *reg, mol_tools_builtin *b);         /* tool_inbox.c */
int mol_tools__add_send_message(mol_tools *reg, mol_tools_builtin *b);  /* tool_message.c */
void mol_tools__inboxes_free(mol_tools_builtin *b);

/* A def with the shared cancel and b as self. */
int mol_tools__add(mol_tools *reg, mol_tools_builtin *b, const char *name, const char *description,
                   const char *schema, int (*start)(mol_tool_call *call, json_t *args));

#endif
