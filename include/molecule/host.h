/* molecule/host.h - many agents in one process on one loop, behind one HTTP listener: what
 * `molecule host -c FILE` runs, as a library. Each agent is a platform workspace with an A2A
 * endpoint at /agents/<name>/ and an executor (echo, chat, hermes or command); the listener
 * also serves GET /metrics (Prometheus text) and GET /health. docs/host.md describes the host
 * file, the agents' lifecycle and the metrics. Included by molecule.h; the conventions (error
 * codes, option structs, callbacks exactly once) are molecule.h's.
 *
 * Lifecycle: mol_host_new() or mol_host_new_from_file() checks the whole configuration and
 * touches nothing; mol_host_start() listens and starts every agent; mol_host_close() drains
 * (every agent stops admitting turns and writes its snapshot, turns in flight get the grace
 * period) and frees the host, then calls back. Every host is closed with mol_host_close(),
 * started or not, whether its start succeeded or not. All calls on the loop thread. */
#ifndef MOLECULE_HOST_H
#define MOLECULE_HOST_H

#include "molecule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mol_host mol_host;

/* Capability flags an agent reports in every heartbeat (mol_host_agent_spec.capabilities). */
#define MOL_HOST_CAP_HEARTBEAT           (1u << 0)
#define MOL_HOST_CAP_SCHEDULER           (1u << 1)
#define MOL_HOST_CAP_SESSION             (1u << 2)
#define MOL_HOST_CAP_STATUS_MGMT         (1u << 3)
#define MOL_HOST_CAP_RETRY               (1u << 4)
#define MOL_HOST_CAP_ACTIVITY_DECORATION (1u << 5)
#define MOL_HOST_CAP_CHANNEL_DISPATCH    (1u << 6)

/* One agent: the fields of a host file's agent entry, under the same names and with the same
 * defaults (docs/host.md, "Agent entry"); zero or NULL leaves a field at its default. */
typedef struct {
  const char *name;           /* the route /agents/<name>/: [A-Za-z0-9_-]{1,64}, unique;
                                 NULL: from the config's name */
  const char *description;    /* in the card */
  const char *config_dir;     /* a workspace config dir (its config.yaml is read) */
  const char *workspace_id;   /* required with a platform */
  const char *token_dir;      /* NULL: ~/.molecule/<workspace_id> */
  const char *public_url;     /* must end in '/'; NULL: <host public_url>/agents/<name>/ */
  const char *executor;       /* "echo" (NULL), "chat", "hermes" or "command" */
  unsigned delay_ms;          /* echo: delay before answering */
  int task_mode;              /* echo: 1 answers with a task */
  const char *model, *api_base, *system_prompt; /* chat */
  int hermes_plugin_port, hermes_reply_port;    /* hermes */
  const char *handler;        /* command: required, run with /bin/sh -c per turn */
  unsigned handler_timeout_seconds, max_handlers, max_queued; /* command */
  size_t max_output_bytes;    /* command */
  unsigned capabilities;      /* MOL_HOST_CAP_* bits */
  unsigned idle_timeout_seconds; /* > 0: sent as runtime_metadata.idle_timeout_seconds */
  const char *snapshot_path;  /* written on stop, restored and deleted on start */
  unsigned heartbeat_seconds, state_poll_seconds;
  unsigned grace_seconds;     /* drain budget of this agent; 0: the host's */
  /* Any other field of a host file's agent entry (config.yaml fields such as "role",
   * "runtime_config", "a2a"; "grace_seconds": 0 to cancel at once), as the text of a JSON
   * object; NULL: none. A key that one of the fields above also sets is an error. */
  const char *extra_json;
} mol_host_agent_spec;

/* A host from plain structs: the host file's top level (docs/host.md, "Host level"). */
typedef struct {
  const char *listen;         /* "HOST:PORT" or "[v6]:PORT"; NULL -> "127.0.0.1:8000"; port 0
                                 picks a free port (see mol_host_port) */
  const char *platform_url;   /* NULL -> env PLATFORM_URL; "" or unset: standalone agents (no
                                 registration, no heartbeats) */
  const char *public_url;     /* base of the URLs in the cards; NULL -> http://<listen> */
  unsigned grace_seconds;     /* every agent's drain budget on close; 0 -> 10 */
  const char *base_dir;       /* relative config_dir and snapshot_path start here; NULL -> the
                                 working directory */
  const mol_host_agent_spec *agents; /* required, at least one */
  size_t n_agents;
} mol_host_opts;

/* Why an agent ended. */
typedef enum {
  MOL_HOST_AGENT_STOPPED = 0, /* mol_host_close() */
  MOL_HOST_AGENT_PAUSED,      /* the platform paused its workspace */
  MOL_HOST_AGENT_DELETED,     /* the platform deleted its workspace */
  MOL_HOST_AGENT_FAILED       /* lost the platform for good (err says why) */
} mol_host_agent_end;

/* An agent ended; name is valid during the call. The others keep serving. */
typedef void (*mol_host_agent_end_cb)(mol_host *h, const char *name, mol_host_agent_end why,
                                      int err, void *arg);
/* The host has closed: every agent ended, the listener closed, the host freed. */
typedef void (*mol_host_close_cb)(mol_host *h, void *arg);

/* Creates a host on loop from plain structs, checking every field as a host file is checked.
 * Nothing listens and nothing starts yet. The strings are copied. Returns 0, MOL_EINVAL (with
 * a message naming the field, e.g. "agents[1].executor: unknown executor 'magic' (echo, chat,
 * hermes or command)", in err when err is not NULL) or MOL_ENOMEM. */
MOL_EXTERN int mol_host_new(mol_loop *loop, const mol_host_opts *opts, mol_host **out,
                            char *err, size_t errlen);

/* The same from a YAML host file (docs/host.md, "Host file"); relative paths in it start at
 * the file's directory. The file's `log:` section is checked but not applied: logging is the
 * application's (mol_log_set_level, mol_log_set_format). Returns 0, MOL_EINVAL (with the YAML
 * line or the field path in err) or MOL_ENOMEM. */
MOL_EXTERN int mol_host_new_from_file(mol_loop *loop, const char *path, mol_host **out,
                                      char *err, size_t errlen);

/* Listens and starts every agent (registering them with the platform when one is set).
 * on_agent_end (may be NULL) is called as agents end, with arg. Returns 0, MOL_EBUSY (started
 * before, or closing), MOL_EADDRINUSE or another listen error, or an agent's start error; on
 * an error nothing keeps serving - what started winds down in the background - and the host
 * still has to be closed. */
MOL_EXTERN int mol_host_start(mol_host *h, mol_host_agent_end_cb on_agent_end, void *arg);

/* Drains and frees the host: every agent stops admitting turns (message/send gets a JSON-RPC
 * error) and writes its snapshot, turns in flight get the grace period and are then
 * canceled, on_agent_end reports each agent MOL_HOST_AGENT_STOPPED, the listener closes. cb
 * (may be NULL) fires exactly once, never inside this call, after all of that; h is invalid
 * once it has fired. Calling it again does nothing. */
MOL_EXTERN void mol_host_close(mol_host *h, mol_host_close_cb cb, void *arg);

/* The port the host listens on; 0 before a successful start and after the listener closed. */
MOL_EXTERN int mol_host_port(const mol_host *h);

/* The GET /metrics body (Prometheus text format 0.0.4; series in docs/host.md), or NULL when
 * out of memory. Free it with mol_free(). */
MOL_EXTERN char *mol_host_metrics(const mol_host *h);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_HOST_H */
