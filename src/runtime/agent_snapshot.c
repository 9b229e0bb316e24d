/* agent_snapshot.c - an agent's snapshot (runtime/snapshot.h): read at start, its adapter
 * state handed to the transcript and the restore hook before the executor exists, then
 * deleted; written on a graceful stop, first thing, in the thread pool, so that a short
 * container grace period cannot lose it. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "runtime/agent_int.h"
#include "runtime/snapshot.h"

#define SCOPE "agent"

/* ---- restore ------------------------------------------------------------------------------- */

/* The state reaches the restore hook before the executor exists, and a
 * restored snapshot is deleted so that it is not restored again on every boot. */
void mol_agent__restore(mol_agent *a) {
  if (!a->snapshot_path) return;
  json_t *snap = mol_snapshot_read(a->snapshot_path);
  if (!snap) return;
  json_t *state = mol_snapshot_adapter_state(snap);
  if (state) {
    mol_agent__transcript_restore(a, state);
    if (a->o.restore) a->o.restore(state, a->o.restore_arg);
    mol_logi(SCOPE, "%s: restored from %s", a->name, a->snapshot_path);
  }
  int rc = mol_snapshot_delete(a->snapshot_path);
  if (rc) mol_logw(SCOPE, "%s: could not delete %s: %s", a->name, a->snapshot_path, mol_strerror(rc));
  json_decref(state);
  json_decref(snap);
}

/* ---- write --------------------------------------------------------------------------------- */

typedef struct {
  uv_work_t work;
  mol_agent *a;
  char *path, *workspace_id, *current_task;
  int active_tasks;
  long long uptime_s;
  json_t *adapter;
  int rc;
} snap_job;

/* Thread pool: only this job touches its fields (jansson objects are not shared). */
static void snap_work(uv_work_t *w) {
  snap_job *j = w->data;
  mol_snapshot s = {.workspace_id = j->workspace_id, .current_task = j->current_task,
                    .active_tasks = j->active_tasks, .uptime_seconds = j->uptime_s,
                    .adapter = j->adapter};
  j->rc = mol_snapshot_write(j->path, &s);
}

static void snap_done(uv_work_t *w, int status) {
  snap_job *j = w->data;
  mol_agent *a = j->a;
  if (status || j->rc)
    mol_logw(SCOPE, "%s: snapshot to %s failed: %s", a->name, j->path,
             mol_strerror(status ? status : j->rc));
  else
    mol_logi(SCOPE, "%s: snapshot written to %s", a->name, j->path);
  json_decref(j->adapter);
  free(j->path);
  free(j->workspace_id);
  free(j->current_task);
  free(j);
  mol_holds_drop(&a->holds);
}

/* The owner's keys (mol_agent_set_state) first: the agent's own two overwrite them. */
static json_t *adapter_state(mol_agent *a) {
  json_t *st = a->extra_state ? json_deep_copy(a->extra_state) : json_object();
  json_t *tail = mol_transcript_tail(a->transcript, MOL_SNAPSHOT_MAX_TRANSCRIPT);
  if (st && tail) json_object_set_new(st, "transcript_lines", tail);
  else json_decref(tail);
  if (st) json_object_set_new(st, "executor", json_string(a->inner.name ? a->inner.name : ""));
  return st;
}

int mol_agent__snapshot_start(mol_agent *a) {
  snap_job *j = calloc(1, sizeof(*j));
  if (!j) return MOL_ENOMEM;
  j->a = a;
  j->path = strdup(a->snapshot_path);
  j->workspace_id = a->workspace_id ? strdup(a->workspace_id) : NULL;
  j->current_task = strdup(mol_agent__current_task(a));
  j->active_tasks = (int)a->live_n;
  j->uptime_s = (long long)((uv_now(a->loop) - a->started_ms) / 1000);
  j->adapter = adapter_state(a);
  j->work.data = j;
  int rc = (!j->path || !j->current_task || !j->adapter) ? MOL_ENOMEM : 0;
  if (!rc) rc = uv_queue_work(a->loop, &j->work, snap_work, snap_done);
  if (rc) {
    json_decref(j->adapter);
    free(j->path);
    free(j->workspace_id);
    free(j->current_task);
    free(j);
    return rc;
  }
  mol_holds_take(&a->holds); /* until snap_done */
  return 0;
}
