/* agent.h - one agent: a platform identity, an A2A endpoint mounted on a (shared) HTTP server,
 * an executor, and the heartbeat / state-poll loop that reports it to the platform.
 *
 * Start-up order (the snapshot before the executor, docs/host.md): read the snapshot
 * and hand its adapter state to the restore hook BEFORE the executor is created; create the
 * executor; mount the A2A server at /agents/<name>/; register with the platform (card + URL);
 * run the heartbeat and state-poll loop with runtime_metadata (capabilities and the
 * idle-timeout override) and the live turn count as active_tasks.
 * The agent ends by itself when the platform says paused or deleted (the status callback
 * reports why; live turns are canceled at once), or when asked to stop: stop admitting turns,
 * write the snapshot first (atomically, scrubbed, in the thread pool, so a short container
 * grace period cannot lose it), let live turns finish within a
 * grace period, cancel the rest, close. docs/host.md has the details.
 * Every callback fires exactly once. All calls on the loop thread.
 */
#ifndef MOL_RUNTIME_AGENT_H
#define MOL_RUNTIME_AGENT_H

#include <jansson.h>
#include <uv.h>

#include "a2a/task_backend.h"
#include "a2a_uv/echo.h"
#include "a2a_uv/executor.h"
#include "a2a_uv/pusher.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"
#include "runtime/adapter.h"
#include "runtime/exec_command.h"

typedef struct mol_agent mol_agent;

typedef enum {
  MOL_AGENT_EXEC_ECHO = 0,   /* built in: a2a_uv/echo.h */
  MOL_AGENT_EXEC_CHAT,       /* runtime/exec_chat.h: HERMES_API_BASE-style backend */
  MOL_AGENT_EXEC_HERMES,     /* runtime/exec_hermes.h: the plugin transport */
  MOL_AGENT_EXEC_CUSTOM,     /* the caller's executor (borrowed, must outlive the agent) */
  MOL_AGENT_EXEC_COMMAND     /* runtime/exec_command.h: a handler command per turn */
} mol_agent_exec_kind;

/* Why an agent ended: mol_agent_end (MOL_AGENT_STOPPED, ...) in molecule/agent.h, whose
 * mol_agent is this one. */

typedef struct {
  const char *name;          /* required: [A-Za-z0-9_-]+, the route /agents/<name>/ */
  const char *description;
  /* Platform identity. platform_url NULL = standalone (no registration, no heartbeats). */
  const char *platform_url;
  const char *workspace_id;
  const char *token_dir;     /* NULL: ~/.molecule/<workspace_id> */
  const char *public_url;    /* registered and in the card; NULL:
                                http://127.0.0.1:<http port>/agents/<name>/ (at_root: .../) */
  /* 1: the A2A endpoint at the listener's root instead of /agents/<name>/, for an agent alone
   * on its listener (`molecule connect --listen`). The name is then only the card's: 1 to 256
   * bytes, no control characters. */
  int at_root;
  /* Push-notification webhooks on loopback and private addresses (tests, one machine);
   * otherwise only public ones (http/ssrf.h). */
  int allow_private_webhooks;
  /* A durable task store in this directory (a2a_uv/durable.h): tasks survive a restart, those
   * in progress at a crash end as failed. NULL: in memory only. data_sync_full: fsync each
   * commit (survives a power loss). data_backend: where it saves (NULL: the default one;
   * the `molecule` command gives SQLite's). Read while the agent starts only. */
  const char *data_dir;
  const mol_a2a_task_backend *data_backend;
  int data_sync_full;
  /* More options for the platform client (org id, Origin, timeouts, ...), read while the agent
   * starts; NULL: none. Its platform_url, workspace_id and token_dir are not used: the fields
   * above are. With a config_dir the struct is copied and the strings it points to must stay
   * valid until the agent serves (its config dir read). */
  const mol_platform_opts *platform_opts;
  /* 0: a failed registration is retried with back-off until it succeeds; N > 0: after N failed
   * attempts the agent ends (MOL_AGENT_FAILED, with the last error). */
  unsigned register_attempts;
  /* Optional hooks, called with mol_agent_start's arg. on_registered: the platform accepted
   * the registration (the heartbeats start now). on_heartbeat: before every heartbeat, once
   * the agent has filled the payload, which the hook may change (`molecule connect` reports
   * the task `molecule status` set); strings it sets must stay valid until the next one. */
  void (*on_registered)(mol_agent *a, void *arg);
  void (*on_heartbeat)(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg);
  mol_agent_exec_kind exec;
  mol_echo_opts echo;        /* MOL_AGENT_EXEC_ECHO */
  const char *chat_api_base, *chat_model, *chat_system_prompt; /* MOL_AGENT_EXEC_CHAT */
  /* MOL_AGENT_EXEC_CHAT: the core tools the model is offered, acting as this agent through its
   * platform client (tools/builtin.h). NULL: all of them when the agent has a platform_url,
   * none without; otherwise the names of MOL_AGENT_CORE_TOOLS to offer, comma-separated, in
   * any order ("" offers none); read while the agent starts. A name outside that list fails
   * the start (MOL_EINVAL). */
  const char *chat_tools;
  const mol_a2a_executor *custom;                             /* MOL_AGENT_EXEC_CUSTOM */
  /* MOL_AGENT_EXEC_COMMAND: handler required; the agent fills in its name, platform URL and
   * workspace id for the handler's environment. */
  mol_command_opts command;
  /* MOL_AGENT_EXEC_HERMES: 0 -> env or the defaults of exec_hermes.h (8645 / 8646); several
   * hermes agents in one process need distinct reply ports (-1: ephemeral). */
  int hermes_plugin_port, hermes_reply_port;
  mol_capabilities caps;
  int idle_timeout_s;        /* > 0: sent as runtime_metadata.idle_timeout_seconds */
  const char *snapshot_path; /* NULL: no snapshot */
  /* Restore hook: receives the snapshot's adapter state (borrowed) before the executor is
   * created. May be NULL. */
  void (*restore)(const json_t *adapter_state, void *arg);
  void *restore_arg;
  unsigned heartbeat_ms;     /* 0 -> 30000 */
  unsigned state_poll_ms;    /* 0 -> heartbeat_ms */
  unsigned grace_ms;         /* stop: time live turns get before they are canceled; 0 -> 10000 */
  /* Transcript ring kept for the snapshot (user and agent lines of each turn); 0 -> 1000. */
  size_t transcript_lines;
  /* Looking after itself (docs/runtime.md, "Agents that look after themselves"). */
  const char *state_dir;      /* the config dir, or a data dir: the initial-prompt marker and the
                                 sessions on disk; NULL: sessions stay in memory */
  const char *initial_prompt; /* sent once, after the agent serves; NULL: none */
  const char *idle_prompt;    /* sent every idle_interval_s while no turn runs; NULL: none */
  unsigned idle_interval_s;   /* 0 -> 600 */
  unsigned gateway_budget_s;  /* chat/hermes probe budget; 0 -> $HERMES_GATEWAY_READY_BUDGET_SEC
                                 or 120 */
  unsigned wedge_after;       /* consecutive backend failures that make it wedged; 0 -> 3 */
  /* MOL_AGENT_EXEC_HERMES: 1 -> when the plugin's probe has not succeeded within the budget,
   * new turns go to chat-completions (chat_api_base, else $HERMES_API_BASE); 0 -> the
   * environment's MOLECULE_HERMES_FALLBACK=chat decides; -1 -> never. */
  int hermes_fallback;
  /* 1: the agent owns http (mol_agent_new's own listener) from the call to mol_agent_start on,
   * whatever it returns: it closes it last, after everything else, before on_end. */
  int own_http;
  /* The agent's config dir (upstream's /configs): config.yaml, prompt files, MEMORY.md,
   * USER.md, plugins/, skills/. Its setup pipeline (runtime/setup.h) fills the card's skills
   * and the chat executor's system prompt from it and from the platform. NULL: none. It is
   * read in the thread pool: mol_agent_start returns first, the agent serves once the read is
   * done, and a read that fails ends the agent (on_end, MOL_AGENT_FAILED, its error). */
  const char *config_dir;
} mol_agent_opts;

/* on_end: mol_agent_end_cb of molecule/agent.h. */

/* The core tools' names, in the order the model is offered them. */
#define MOL_AGENT_CORE_TOOLS                                                              \
  {"delegate_to_workspace", "check_delegation_status", "request_approval", "commit_memory", \
   "search_memory", "run_code", NULL}

/* Creates and starts an agent on http (shared; the caller listens and closes it after every
 * agent has ended) using client for every outbound call (required for chat and hermes).
 * Returns 0 or an error (MOL_EINVAL for a bad name, a public_url not ending in '/', a platform
 * URL without a workspace id, a custom kind without an executor); on 0, on_end fires exactly
 * once, never inside this call, after which the agent is freed. On an error whatever was
 * built closes in the background (keep running the loop) and on_end never fires. */
int mol_agent_start(uv_loop_t *loop, mol_http_server *http, mol_http_client *client,
                    const mol_agent_opts *opts, mol_agent_end_cb on_end, void *arg,
                    mol_agent **out);

/* Graceful stop (SIGTERM): see above. on_end then reports MOL_AGENT_STOPPED. Idempotent until
 * on_end has fired (the agent is freed then). */
void mol_agent_stop(mol_agent *a);

/* For status views and /metrics. */
#define MOL_AGENT_LATENCY_BUCKETS 12
typedef struct {
  const char *name;
  const char *workspace_id;
  const char *platform_status;   /* last status the platform reported ("online", ...), or "" */
  /* heartbeats: heartbeats whose outcome is known (periodic and pushed); heartbeat_failures:
   * failed registrations plus heartbeats the platform loop reported failed; heartbeat_pushes:
   * heartbeats pushed early on turn start/end (not merged into a periodic one) and accepted. */
  unsigned long long turns, heartbeats, heartbeat_failures, heartbeat_pushes, errors;
  unsigned live_turns, pending_replies;
  /* The A2A task store: terminal tasks evicted early to stay within its memory budget, and
   * the bytes its tasks hold now. */
  unsigned long long tasks_evicted;
  size_t task_store_bytes;
  /* A2A push notifications: configs stored, and deliveries (pusher.h). */
  size_t push_configs;
  mol_a2a_push_stats push;
  double turn_seconds_sum;       /* for a latency average */
  /* Turn latency: turns_ended counts finished turns; latency_buckets[i] the finished turns that
   * took at most mol_agent_latency_bounds[i] seconds and more than the bound before it (not
   * cumulative); the rest took longer than the last bound. Failed turns count in errors. */
  unsigned long long turns_ended;
  unsigned long long latency_buckets[MOL_AGENT_LATENCY_BUCKETS];
  const char *url;               /* the public URL (ends in '/') */
  /* The backend's health: wedged now (0/1), backend failures reported by the executor, the
   * gateway probes and how many failed; prompts the agent sent itself. */
  int wedged;
  int fallback;                  /* 1: a hermes agent answers through chat-completions */
  unsigned long long upstream_failures, gateway_probes, gateway_probe_failures;
  unsigned long long initial_prompts, idle_prompts;
  /* Registrations and heartbeats failed in a row (0 after one succeeds): the platform is
   * unreachable or refuses the agent while it is not 0. */
  unsigned platform_failing;
} mol_agent_stats;
void mol_agent_stats_get(const mol_agent *a, mol_agent_stats *out);
/* The agent's platform client (its identity and token), for tools acting as the agent; NULL
 * before it is made and once the agent has ended. Borrowed. */
mol_platform_client *mol_agent_platform_client(const mol_agent *a);

/* The histogram's upper bounds in seconds, ascending. */
extern const double mol_agent_latency_bounds[MOL_AGENT_LATENCY_BUCKETS];

#endif
