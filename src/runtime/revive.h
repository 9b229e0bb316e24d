/* revive.h - waits for a paused workspace to be resumed, so that the agent the pause ended can
 * start again (`molecule host`, `molecule dev`). An agent ends when the platform pauses its
 * workspace; this watcher then polls GET /workspaces/<id>/state with the agent's own token, on
 * the agent's state-poll cadence, until the status is no longer "paused" (resumed: the
 * platform shows it offline until the agent registers again) or the workspace is deleted.
 * A failed poll (the platform down) is retried on the same cadence. All calls on the loop
 * thread. */
#ifndef MOL_RUNTIME_REVIVE_H
#define MOL_RUNTIME_REVIVE_H

#include <uv.h>

#include "molecule.h"

typedef struct mol_revive mol_revive;

/* resumed: 1 the workspace is no longer paused; 0 it was deleted, or the watch was canceled.
 * Fires exactly once, never inside mol_revive_start or mol_revive_cancel, after everything
 * the watcher opened is closed; the watcher is freed when it returns. */
typedef void (*mol_revive_cb)(int resumed, void *arg);

/* po: the agent's platform options (platform_url, workspace_id and token_dir at least; read
 * during the call). interval_ms: time between polls (0 -> 30000). Returns 0 or an error of
 * mol_platform_client_new (then cb never fires). */
int mol_revive_start(uv_loop_t *loop, const mol_platform_opts *po, unsigned interval_ms,
                     mol_revive_cb cb, void *arg, mol_revive **out);

/* The same for the workspace of agent a, which just ended paused: called from its on_end
 * callback, while a is valid, it reads the agent's own platform URL, workspace, token dir and
 * state-poll interval, so the watch uses the token the agent used. more: further client
 * options (org id, Origin), or NULL. */
struct mol_agent;
int mol_revive_agent(struct mol_agent *a, const mol_platform_opts *more, mol_revive_cb cb,
                     void *arg, mol_revive **out);

/* Stops watching: cb fires with 0 (later). Nothing once cb has fired or is under way. */
void mol_revive_cancel(mol_revive *w);

#endif
