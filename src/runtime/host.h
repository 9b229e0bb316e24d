/* host.h - many agents in one process on one loop: a YAML host file (docs/host.md), one shared
 * HTTP listener with a route per agent (/agents/<name>/), GET /metrics (Prometheus text) and
 * GET /health, and a graceful stop for all of them.
 *
 * Loading a config checks everything it can before anything starts, so a bad file is one
 * clear message (the YAML line, or the field path such as "agents[1].executor") and nothing
 * half-started. All calls on the loop thread. */
#ifndef MOL_RUNTIME_HOST_H
#define MOL_RUNTIME_HOST_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "runtime/agent.h"

typedef struct {
  mol_agent_opts opts;         /* strings point into the config (valid until it is freed) */
  char *name, *description, *workspace_id, *snapshot_path, *public_url, *chat_model;
  char *data_dir, *initial_prompt, *idle_prompt; /* agent_care.h: the state dir and prompts */
  char *config_dir;
  char *tools;                 /* opts.chat_tools: the `tools:` list, comma-separated */
  char *api_base, *system_prompt, *token_dir, *handler; /* opts' copies of the entry's */
  unsigned char entry_sum[32]; /* SHA-256 of the entry (keys sorted): a reload compares it */
} mol_host_agent_conf;

typedef struct {
  char listen_host[128];       /* "127.0.0.1" */
  int listen_port;             /* 8000 */
  char *platform_url;          /* NULL: standalone agents */
  char *public_base;           /* NULL: http://<listen>; agents are at <base>/agents/<name>/ */
  int log_json;                /* log: {format: json} */
  char *log_level;             /* NULL: leave as is */
  unsigned grace_ms;           /* stop: drain budget for every agent; 10 s */
  int allow_private_webhooks;  /* push webhooks on loopback/private addresses (all agents) */
  char *data_dir;              /* data_dir: durable task stores, <data_dir>/<agent name>/; NULL:
                                  tasks in memory only */
  int data_sync_full;          /* data_sync: full (fsync every commit) rather than normal */
  const mol_a2a_task_backend *data_backend; /* where the stores save (not from the file: the
                                  caller sets it; NULL: mol_a2a_task_backend_default()) */
  mol_host_agent_conf *agents;
  size_t n_agents;
  json_t *doc;                 /* the parsed file; its agents: dropped by
                                  mol_host_config_drop_entries once a host has taken it */
  /* Set by `molecule host --workers N`, not by the file: this host is worker `worker` of
   * `workers` (0 or 1 = alone), listening on a port shared with the others (SO_REUSEPORT) and
   * on a private loopback port of its own (mol_host_private_port). It starts only its shard of
   * the agents (agent i when i % workers == worker) and hands a request under /agents/<name>
   * of another worker's agent, untouched, to forward(r, owner, arg) (which answers it and
   * returns 0). GET /metrics and GET /health go to whole_view(r, is_metrics, arg), which
   * answers them for every worker. */
  unsigned worker, workers;
  int (*forward)(mol_http_req *r, unsigned owner, void *arg);
  void (*whole_view)(mol_http_req *r, int is_metrics, void *arg);
  void *workers_arg;
} mol_host_config;

/* Reads and checks a host file. base paths (config_dir, snapshot_path) are relative to the
 * file's directory. Returns 0, or MOL_EINVAL / MOL_ENOENT with a message in err. */
int mol_host_config_load(const char *path, mol_host_config *out, char *err, size_t errlen);
/* The same from a parsed document (borrowed). */
int mol_host_config_from_json(json_t *doc, const char *base_dir, mol_host_config *out,
                              char *err, size_t errlen);
void mol_host_config_free(mol_host_config *c);
/* Frees doc's agents: list (a host keeps every agent's entry as its fields and entry_sum;
 * with 10,000 agents the parsed entries were ~0.5 KB each). Out of memory: kept. */
void mol_host_config_drop_entries(mol_host_config *c);

typedef struct mol_host mol_host; /* also the public handle of molecule/host.h */

typedef struct {
  /* An agent ended on its own (paused, deleted, failed) or on stop. May be NULL. */
  void (*on_agent_end)(mol_host *h, const char *name, mol_agent_end why, int err, void *arg);
  /* The host is done after mol_host_stop(): every agent ended, the listener closed. Fires
   * once, never inside a call; the host is freed after it returns. */
  void (*on_end)(mol_host *h, void *arg);
  void *arg;
} mol_host_callbacks;

/* Listens, then starts every agent (`molecule host`). The host takes *cfg and zeroes it (an
 * agent revived after a pause or restarted by a reload starts from it later), except on a
 * MOL_EINVAL or MOL_ENOMEM before the host exists; either way the caller may free *cfg after
 * (a zeroed config frees nothing). On an error nothing
 * keeps serving: what was started closes in the background (run the loop to let it finish)
 * and no callback fires. The public mol_host_new/mol_host_start/mol_host_close (molecule/host.h) are the same
 * host in two steps; mol_host_port and mol_host_metrics are public too. */
int mol_host_start_config(uv_loop_t *loop, mol_host_config *cfg,
                          const mol_host_callbacks *cbs, mol_host **out);

/* With workers (mol_host_config.workers > 1): the port of this worker's private listener;
 * else 0. */
int mol_host_private_port(const mol_host *h);
/* The host's agents still serving (what /health reports). */
size_t mol_host_serving(const mol_host *h);
/* The body of GET /health (host_ops.c documents it): {"status","agents"[,"problems"][,"paused"]},
 * or NULL without memory. The caller owns it. */
json_t *mol_host_health(const mol_host *h);
/* The whole body of GET /metrics at once (mol_host_metrics, then the process's series and the
 * listener's requests, as the streamed scrape ends), malloc'd; NULL without memory. */
char *mol_host_metrics_whole(const mol_host *h);

/* A host that has not started, for the public API (host_public.c): takes *cfg (which is
 * zeroed) and keeps it until mol_host_start. Returns 0 or MOL_ENOMEM (*cfg is then freed). */
int mol_host_create(uv_loop_t *loop, mol_host_config *cfg, mol_host **out);

/* Graceful stop (SIGTERM): every agent stops admitting turns and writes its snapshot, live
 * turns get the grace period, then the listener closes and on_end fires. Idempotent. */
void mol_host_stop(mol_host *h);

/* Applies a host file loaded anew (SIGHUP): takes *cfg (zeroed; freed on any outcome). Agents
 * the file no longer has stop; new ones start; those whose entry changed (or all of them, when
 * something outside agents:, listen: and log: changed) stop and start again with it; the
 * others run on untouched. listen: cannot change (a warning says so). An agent that cannot
 * start is logged and shows in /health. Returns 0, MOL_ESHUTDOWN (stopping), MOL_ENOTSUP (a
 * host that is one of several workers, which knows only its shard) or MOL_ENOMEM. */
int mol_host_reload(mol_host *h, mol_host_config *cfg);

/* The running agent called name, or NULL (unknown or ended). */
mol_agent *mol_host_agent(const mol_host *h, const char *name);

#endif
