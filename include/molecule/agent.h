/* molecule/agent.h - an agent: your executor behind an A2A endpoint, registered with a Molecule
 * platform and kept alive there by heartbeats.
 *
 * Included by molecule.h. Create one with mol_agent_new() (molecule/uv.h) on your loop. It
 * listens on its own address with the A2A endpoint at the root (card, JSON-RPC, health) and
 * GET /transcript for the platform; with a platform URL it registers its card and URL (retried
 * with back-off), then heartbeats with the live turn count, the current task, the error rate
 * of its turns, its capabilities and its idle-timeout override, and polls the workspace state.
 *
 * It ends exactly once, reported to on_end: when you stop it (mol_agent_stop: no new turns,
 * the snapshot is written, running turns get grace_ms to finish, the rest are canceled), when
 * the platform pauses or deletes the workspace (running turns are canceled at once), or when it
 * cannot go on (registration refused past register_attempts, the platform lost for good). By
 * then the listener is closed and the executor's close has been called; the agent is freed
 * when on_end returns. Everything on the loop thread.
 */
/* Before the guard: molecule.h includes this header itself, at its end. */
#include "../molecule.h"

#ifndef MOLECULE_AGENT_H
#define MOLECULE_AGENT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mol_agent mol_agent;

/* Why an agent ended. */
typedef enum {
  MOL_AGENT_STOPPED = 0,     /* mol_agent_stop() */
  MOL_AGENT_PAUSED,          /* the platform paused the workspace */
  MOL_AGENT_DELETED,         /* the platform deleted the workspace */
  MOL_AGENT_FAILED           /* could not start or lost the platform for good (err says why) */
} mol_agent_end;

/* Fires once; a is valid during the call and freed after it. */
typedef void (*mol_agent_end_cb)(mol_agent *a, mol_agent_end why, int err, void *arg);

typedef struct {
  const char *name;          /* required: the card's name, 1 to 256 bytes, no control chars */
  const char *description;   /* NULL: "" */
  const mol_executor *executor; /* required; the vtable is copied */
  /* Where it listens, and the URL the card names and the platform is told. */
  const char *listen_host;   /* NULL: "127.0.0.1" */
  int listen_port;           /* 0: chosen by the system (see mol_agent_port) */
  const char *public_url;    /* NULL: http://<listen_host>:<port>/; required with a wildcard
                                listen_host ("0.0.0.0", "::"); must end in '/' */
  /* The platform. platform_url NULL: standalone (no registration, no heartbeats). */
  const char *platform_url;
  const char *workspace_id;  /* required with platform_url */
  const char *token_dir;     /* NULL: ~/.molecule/<workspace_id> (the token in .auth_token) */
  const mol_platform_opts *platform; /* more client options (org id, token, timeouts), or
                                NULL; its platform_url, workspace_id, token_dir are not used */
  unsigned register_attempts;/* 0: retry a failed registration until it succeeds; N: end
                                (MOL_AGENT_FAILED) after N failed attempts */
  /* What every heartbeat reports besides the turns. */
  unsigned capabilities;     /* MOL_PLATFORM_CAP_* bits */
  int idle_timeout_s;        /* > 0: the platform's idle timeout for calls to this agent */
  unsigned heartbeat_ms;     /* 0 -> 30000 */
  unsigned state_poll_ms;    /* 0 -> heartbeat_ms */
  unsigned grace_ms;         /* mol_agent_stop: time running turns get, 0 -> 10000 */
  /* Called with mol_agent_new's arg, from the loop. on_registered: the platform accepted the
   * registration (heartbeats start now). on_heartbeat: before each heartbeat, with the payload
   * filled in, which it may change (strings must stay valid until the next call). */
  void (*on_registered)(mol_agent *a, void *arg);
  void (*on_heartbeat)(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg);
  /* Snapshot file: read (then deleted) when the agent starts, written atomically (mode 0600,
   * secrets scrubbed) when it is stopped. It keeps the transcript's last lines and the state
   * of mol_agent_set_state(). NULL: no snapshot. */
  const char *snapshot_path;
  size_t transcript_lines;   /* lines the transcript ring keeps, 0 -> 1000 */
} mol_agent_params;

/* Stops the agent gracefully (see above); on_end then reports MOL_AGENT_STOPPED. Idempotent
 * until on_end has fired. */
MOL_EXTERN void mol_agent_stop(mol_agent *a);

/* The URL the card names and the platform was given (ends in '/'). */
MOL_EXTERN const char *mol_agent_url(const mol_agent *a);
/* The port the agent listens on. */
MOL_EXTERN int mol_agent_port(const mol_agent *a);

/* The transcript: every turn adds "user: <text>" and, when it ends with a text, "agent:
 * <text>", in a ring of transcript_lines lines. The platform reads it at GET /transcript with
 * the workspace's token. Adds a line "<who>: <text>" of your own. Returns 0, MOL_EINVAL or
 * MOL_ENOMEM. */
MOL_EXTERN int mol_agent_transcript_add(mol_agent *a, const char *who, const char *text);
/* Lines from line number since on, at most limit (0 -> 100, at most 1000), as JSON:
 * {"lines":[...],"cursor":N,"more":bool,...}. Free it with mol_free(); NULL when out of
 * memory. */
MOL_EXTERN char *mol_agent_transcript_json(const mol_agent *a, unsigned long long since,
                                           size_t limit);

/* State of yours that the snapshot keeps: a JSON object whose keys are written beside the
 * transcript (the keys "transcript_lines" and "executor" are the agent's). Replaces what was
 * set before; NULL clears it. Returns 0, MOL_EINVAL (not a JSON object) or MOL_ENOMEM. */
MOL_EXTERN int mol_agent_set_state(mol_agent *a, const char *json_object);
/* What the snapshot read at start held (a JSON object: your keys, "transcript_lines", ...),
 * or NULL when there was none. Valid until the agent ends. */
MOL_EXTERN const char *mol_agent_restored_state(const mol_agent *a);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_AGENT_H */
