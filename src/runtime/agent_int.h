/* agent_int.h - the agent's state and the calls between its files: agent.c (lifecycle) starts
 * and ends the agent through agent_snapshot.c, agent_endpoint.c and agent_platform.c; those
 * use agent_turns.c (what the turns tell) and agent_transcript.c (their lines). Only the
 * platform's verdict calls back into agent.c. */
#ifndef MOL_RUNTIME_AGENT_INT_H
#define MOL_RUNTIME_AGENT_INT_H

#include "a2a_uv/server.h"
#include "base/holds.h"
#include "mcp/http_transport.h"
#include "runtime/agent.h"
#include "mcp/toolset.h"
#include "tools/registry.h"

typedef struct mol_agent__turn mol_agent__turn;

struct mol_agent {
  uv_loop_t *loop;
  mol_http_server *http;
  mol_http_client *client;
  mol_agent_opts o;            /* strings below are owned copies */
  char *name, *description, *platform_url, *workspace_id, *token_dir, *url, *snapshot_path;
  char *chat_api_base, *chat_model, *chat_system_prompt;
  mol_a2a_executor inner;      /* what answers turns */
  mol_a2a_executor meter;      /* wraps inner: counts and times turns */
  int inner_live;              /* inner must be freed / closed */
  mol_a2a_server *a2a;
  mol_tool_env tool_env;       /* what the agent's tools run against (platform set once made) */
  mol_mcp_toolset tools;       /* the tools its MCP endpoint exposes */
  mol_tools *core_tools;       /* the chat executor's core tools (NULL: none); same env */
  mol_tools_builtin *core_builtin;
  mol_mcp_http *mcp; /* <prefix>/mcp; NULL once closed */
  mol_platform_client *pc;
  int pc_running;              /* mol_platform_run's status callback is still due */
  uv_timer_t timer;            /* register retries, then the stop drain; the holds' last handle */
  mol_holds holds;             /* its own until its end is past the drain; the A2A server, the
                                  executor, the MCP endpoint, the platform client and a
                                  snapshot write while each lives: the agent ends once none
                                  holds it (and, own_http, its listener has closed) */
  mol_transcript *transcript;
  json_t *extra_state;         /* the snapshot's keys of the agent's owner (NULL: none) */
  mol_agent__turn *live;            /* turns in flight, newest first */
  unsigned live_n;
  char platform_status[32];
  uint64_t started_ms, drain_until;
  unsigned reg_failures;
  /* The counters. The platform's are kept here (every registered agent heartbeats); the
   * rest, with the task store's last values once it closed, in a block made by the first event
   * that counts one (mol_agent__st): most agents of a large host never run a turn, and the
   * block is 328 bytes. NULL: all zero. String fields are filled by mol_agent_stats_get. */
  unsigned long long heartbeats, heartbeat_failures, heartbeat_pushes;
  unsigned platform_failing;
  mol_agent_stats *st;
  int ending, silent;          /* silent: a failed start tears down without on_end */
  mol_agent_end why;
  int err;
  mol_agent_end_cb on_end;
  void *arg;
  struct mol_agent__health *health;     /* agent_care.h; NULL: none */
  struct mol_agent__prompts *prompts;
  struct mol_agent__sessions *sessions;
  mol_a2a_executor fallback;   /* chat-completions in place of a hermes plugin that never
                                  answered its probe (agent_health.c) */
  int fallback_live;           /* fallback must be freed */
  int use_fallback;            /* new turns go to fallback */
  void *api;                   /* agent_api.c's record, for an agent made by mol_agent_new */
  struct mol_agent__setup *setup; /* setup.c's state; NULL without a config dir */
  mol_platform_opts *start_po; /* a copy of the caller's while the config dir is read */
};

/* ---- agent.c: lifecycle ---- */
/* Ends the agent (idempotent): see agent.c for the one path every reason takes. */
void mol_agent__end(mol_agent *a, mol_agent_end why, int err);

/* The agent's counters other than the platform's, made on first use. Out of memory, what is
 * counted then goes to a scratch block of the thread and is lost (the agent goes on). */
mol_agent_stats *mol_agent__st(mol_agent *a);

/* ---- agent_snapshot.c ---- */
/* Start-up: reads the snapshot, if any, into the transcript and the restore hook, deletes it. */
void mol_agent__restore(mol_agent *a);
/* Writes the snapshot in the thread pool, holding the agent until it is done. Returns 0
 * (started) or an error (nothing is pending). */
int mol_agent__snapshot_start(mol_agent *a);

/* ---- agent_endpoint.c ---- */
/* Mounts the A2A server (card, metering executor), the transcript route and the MCP
 * endpoint. */
int mol_agent__mount(mol_agent *a);
/* Closes the MCP endpoint (its calls canceled, each still answered); it holds the agent until
 * it has closed. */
void mol_agent__mcp_close(mol_agent *a);

/* ---- agent_tools.c ---- */
/* The chat executor's core tools over the agent's tool env, as opts.chat_tools says (none for
 * a standalone agent that names none). Returns 0, MOL_EINVAL (a name that is no core tool) or
 * MOL_ENOMEM; what it built is freed by mol_agent__core_tools_free either way. */
int mol_agent__core_tools_make(mol_agent *a);
/* After the executor has gone. */
void mol_agent__core_tools_free(mol_agent *a);

/* ---- agent_platform.c ---- */
/* Creates the platform client (more options from po, which may be NULL) and registers; the
 * platform loop runs once registered. */
int mol_agent__platform_start(mol_agent *a, const mol_platform_opts *po);

/* ---- agent_turns.c ---- */
void mol_agent__meter_init(mol_agent *a);
/* The newest live turn's text, shortened ("" when idle); valid until the next turn event. */
const char *mol_agent__current_task(const mol_agent *a);
/* Turns the A2A server is running (0 before it exists and after it closed). */
unsigned mol_agent__live_turns(const mol_agent *a);

/* ---- agent_transcript.c ---- */
/* Appends "<who>: <text>" to the transcript ring. */
void mol_agent__transcript_add(mol_agent *a, const char *who, const char *text);
/* Restores the transcript from an adapter state ({"transcript_lines":[...]}). */
void mol_agent__transcript_restore(mol_agent *a, const json_t *state);
/* GET /agents/<name>/transcript (arg is the agent). */
void mol_agent__transcript_serve(mol_http_req *r, void *arg);

#endif
