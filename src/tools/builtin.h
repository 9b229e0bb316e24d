/* builtin.h - the built-in tools an agent's model can call, in two sets, and the one function
 * that gives an agent its registry.
 *
 * The core set goes to the chat executor's tool loop (upstream's six LangChain tools, results
 * as JSON): delegate_to_workspace, check_delegation_status, request_approval, commit_memory,
 * search_memory, run_code.
 * The MCP set goes to the MCP server (upstream's MCP tools, results as text): delegate_task,
 * delegate_task_async, check_task_status, list_peers, get_workspace_info,
 * send_message_to_user, commit_memory, recall_memory, and the inbox tools wait_for_message,
 * inbox_peek, inbox_pop (unless disabled).
 * Both sets name a tool commit_memory, with different results, so a registry holds one set.
 *
 * Every tool runs on the loop of the registry's env, through the env's platform client (or the
 * one source_workspace_id names), and ends its call exactly once; a cancel or a deadline stops
 * its request, timer or process for real. Behaviour, arguments and results: docs/tools.md. */
#ifndef MOL_TOOLS_BUILTIN_H
#define MOL_TOOLS_BUILTIN_H

#include "tools/registry.h"

typedef enum {
  MOL_TOOLS_SANDBOX_AUTO = 0,  /* bubblewrap when it is installed and works, else plain */
  MOL_TOOLS_SANDBOX_BWRAP,     /* bubblewrap or an error */
  MOL_TOOLS_SANDBOX_PLAIN      /* a child process with a clean environment, no namespaces */
} mol_tools_sandbox;

/* Tunables; 0 means "from the environment variable named, else the default". */
typedef struct {
  unsigned approval_poll_ms;     /* APPROVAL_POLL_INTERVAL (seconds), 5000 */
  unsigned approval_timeout_ms;  /* APPROVAL_TIMEOUT (seconds), 300000 */
  unsigned delegation_timeout_ms;/* a synchronous delegation's A2A call: DELEGATION_TIMEOUT
                                    (seconds), 300000 */
  unsigned queued_wait_ms;       /* how long delegate_task waits for a queued delegation's
                                    reply before answering "queued": 60000 */
  unsigned ledger_poll_ms;       /* the longest pause between two reads of the ledger while
                                    waiting: 3000 (the first ones come sooner) */
  unsigned run_code_timeout_ms;  /* SANDBOX_TIMEOUT (seconds), 30000 */
  size_t run_code_max_output;    /* bytes of stdout (and of stderr) kept: 10000 */
  int sandbox;                   /* mol_tools_sandbox; SANDBOX_BACKEND=bwrap|subprocess */
  unsigned inbox_poll_ms;        /* wait_for_message's pause between polls: 2000 */
  int no_inbox;                  /* 1: no inbox tools; MOLECULE_MCP_DISABLE_INBOX=1|true */
} mol_tools_builtin_opts;

/* The state the built-in tools share (tunables, inboxes, the sandbox probe). Reference
 * counted: each running call holds it, so releasing it while calls run is safe. */
typedef struct mol_tools_builtin mol_tools_builtin;

/* o may be NULL. NULL only when out of memory. */
mol_tools_builtin *mol_tools_builtin_new(const mol_tools_builtin_opts *o);
/* Drops the creator's reference; the state goes once no call holds it. */
void mol_tools_builtin_release(mol_tools_builtin *b);

/* Add the sets to a registry (which must outlive nothing of b: the tools hold b). 0, or the
 * first mol_tools_add error (MOL_EEXIST when a name is taken). */
int mol_tools_add_core(mol_tools *reg, mol_tools_builtin *b);
int mol_tools_add_mcp_set(mol_tools *reg, mol_tools_builtin *b);
/* Adds route_task_to_team, the coordinator's tool (an agent whose workspace has children):
 * lists the children, or sends a task to the one chosen and answers with its reply. */
int mol_tools_add_route(mol_tools *reg, mol_tools_builtin *b);

/* ---- an agent's tools in one object ------------------------------------------------------- */

typedef enum { MOL_TOOLS_SET_CORE = 1, MOL_TOOLS_SET_MCP = 2 } mol_tools_set;

typedef struct {
  uv_loop_t *loop;                 /* required */
  mol_platform_client *platform;   /* the agent's client; NULL: platform tools answer errors */
  const char *workspace_id;        /* required with platform */
  const mol_tool_source *sources;  /* further workspaces (copied) */
  size_t nsources;
  mol_tools_set set;               /* 0 -> MOL_TOOLS_SET_CORE */
  mol_tools_builtin_opts builtin;
} mol_agent_tools_opts;

typedef struct mol_agent_tools mol_agent_tools;

/* The registry of an agent's identity filled with one set: what the runtime hands to the chat
 * executor (core) or the MCP server (mcp). Strings are copied; the clients are borrowed and
 * must outlive the calls. Returns 0, MOL_EINVAL or MOL_ENOMEM. */
int mol_agent_tools_new(const mol_agent_tools_opts *o, mol_agent_tools **out);
mol_tools *mol_agent_tools_registry(mol_agent_tools *t);
/* Frees the registry and the env; calls still running end normally (see mol_tools_free). */
void mol_agent_tools_free(mol_agent_tools *t);

#endif
