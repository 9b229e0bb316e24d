/* agent_care.h - what an agent does to look after itself, beside its turns (docs/runtime.md,
 * "Agents that look after themselves"):
 *  - agent_health.c: the model backend's health. A probe of the gateway at start (the hermes
 *    plugin's /a2a/health, the chat backend's /models) within a budget, and the executors'
 *    verdicts turn by turn; N consecutive failures, or a probe that never succeeds within the
 *    budget, make the agent "wedged" (the heartbeat's runtime_state, with the reason as
 *    sample_error); the first success clears it.
 *  - agent_prompts.c: initial_prompt, sent once to the agent's own A2A endpoint after it
 *    serves (a marker file stops a restart from sending it again), and idle_prompt on a timer
 *    while no turn runs.
 *  - agent_sessions.c: the transcript on disk, per context, so /transcript, the snapshot and
 *    the chat executor's history survive a restart (agent_sessions_line.c writes its lines).
 * Each part holds the agent while it has something in flight and lets go when the agent ends.
 * All calls on the loop thread. */
#ifndef MOL_RUNTIME_AGENT_CARE_H
#define MOL_RUNTIME_AGENT_CARE_H

#include "base/buf.h"
#include "molecule.h"
#include "runtime/agent.h"

typedef struct mol_agent__health mol_agent__health;
typedef struct mol_agent__prompts mol_agent__prompts;
typedef struct mol_agent__sessions mol_agent__sessions;

/* ---- agent_health.c ---- */
/* Starts watching the backend (chat and hermes executors; nothing for the others). */
int mol_agent__health_start(mol_agent *a);
/* The executors' verdicts (mol_upstream_fn; arg is the agent). */
void mol_agent__health_report(int ok, const char *why, void *arg);
/* Adds runtime_state "wedged" and the reason to a heartbeat while wedged. */
void mol_agent__health_fill(const mol_agent *a, mol_platform_heartbeat_payload *p);
void mol_agent__health_stats(const mol_agent *a, mol_agent_stats *out);
/* The agent ends: the probe in flight is canceled, the timer closes. */
void mol_agent__health_close(mol_agent *a);

/* ---- agent_prompts.c ---- */
int mol_agent__prompts_start(mol_agent *a);
void mol_agent__prompts_close(mol_agent *a);

/* ---- agent_sessions.c ---- */
/* Opens the store under the agent's state dir (none: nothing is kept on disk), loads what it
 * holds into the transcript ring and the per-context history. */
int mol_agent__sessions_open(mol_agent *a);
/* A transcript line of a turn in context ctx ("user" at its start, "agent" at its end). */
void mol_agent__sessions_line(mol_agent *a, const char *ctx, const char *who, const char *text);
/* Appends one line of the sessions file, without its newline, to b (agent_sessions_line.c):
 * {"ctx":ctx or "","who":who,"text":text}, compact, escaped as mol_json_dump escapes. 0, or
 * MOL_EINVAL when a string is not UTF-8 (b unchanged; no line), or MOL_ENOMEM. */
int mol_agent__sessions_format(mol_buf *b, const char *ctx, const char *who, const char *text);
/* A turn ended: its exchange joins the context's history. */
void mol_agent__sessions_turn(mol_agent *a, const char *ctx, const char *user, const char *agent);
/* mol_history_fn for the chat executor (arg is the agent): the context's messages, held by the
 * store until the context next changes (the executor reads them at once). */
const json_t *mol_agent__sessions_history(const char *ctx, void *arg);
/* Writes what is queued, then frees the store (holding the agent until it has). */
void mol_agent__sessions_close(mol_agent *a);

#endif
