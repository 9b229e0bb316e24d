/* agent_turns.c - what an agent learns from its turns: counts, latency, errors, the current
 * task for heartbeats, the transcript ring, and the snapshot built from them.
 *
 * The A2A server calls the executor; the agent puts a thin "meter" executor in front of the
 * real one. The meter cannot see the inner executor's ending call, so it listens on the turn's
 * task instead: the task engine delivers exactly one final event per listener (the terminal or
 * interrupted status, or CLOSED when the store goes away), which is where a turn is timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "a2a_uv/server_int.h" /* the server's task store: the meter listens on the turn's task */
#include "base/clock.h"
#include "base/log.h"
#include "molecule.h"
#include "runtime/agent_int.h"
#include "runtime/snapshot.h"

#define SCOPE "agent"
#define BRIEF_MAX 60 /* upstream brief_task(): the first 60 characters and an ellipsis */

const double mol_agent_latency_bounds[MOL_AGENT_LATENCY_BUCKETS] = {
  0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600};

struct agent_turn {
  mol_agent *a;
  agent_turn *prev, *next;
  uint64_t t0_ns;
  char brief[BRIEF_MAX + 4];
};

/* ---- current task ----------------------------------------------------------------------- */

static void brief(const char *text, char *out, size_t cap) {
  size_t n = strlen(text);
  if (n <= BRIEF_MAX) {
    snprintf(out, cap, "%s", text);
    return;
  }
  size_t cut = BRIEF_MAX;
  while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--; /* whole UTF-8 chars */
  snprintf(out, cap, "%.*s\xE2\x80\xA6", (int)cut, text);
}

const char *agent_current_task(const mol_agent *a) { return a->live ? a->live->brief : ""; }

static void transcript_add(mol_agent *a, const char *who, const char *text) {
  size_t n = strlen(who) + strlen(text) + 3;
  char *line = malloc(n);
  if (!line) return;
  snprintf(line, n, "%s: %s", who, text);
  mol_transcript_append(a->transcript, line);
  free(line);
}

/* ---- turn end ----------------------------------------------------------------------------- */

static void count_latency(mol_agent *a, double s) {
  a->st.turns_ended++;
  a->st.turn_seconds_sum += s;
  for (int i = 0; i < MOL_AGENT_LATENCY_BUCKETS; i++) {
    if (s <= mol_agent_latency_bounds[i]) {
      a->st.latency_buckets[i]++;
      return;
    }
  }
}

static void record_outcome(mol_agent *a, const mol_a2a_event *ev, const char *text) {
  int failed = ev->kind == MOL_A2A_EV_STATUS && ev->state == MOL_A2A_STATE_FAILED;
  if (failed) a->st.errors++;
  if (a->pc && !a->ending && ev->kind == MOL_A2A_EV_STATUS && ev->state != MOL_A2A_STATE_CANCELED)
    mol_platform_record_outcome(a->pc, !failed, failed ? text : NULL);
}

static void on_task_event(mol_a2a_task *task, const mol_a2a_event *ev, void *arg) {
  (void)task;
  if (!ev->final) return;
  agent_turn *t = arg;
  mol_agent *a = t->a;
  count_latency(a, (double)(mol_mono_ns() - t->t0_ns) / 1e9);
  char *text = ev->status_message ? mol_a2a_cmsg_text(ev->status_message) : NULL;
  record_outcome(a, ev, text ? text : "");
  if (text && *text) transcript_add(a, "agent", text);
  free(text);
  if (t->prev) t->prev->next = t->next; else a->live = t->next;
  if (t->next) t->next->prev = t->prev;
  a->live_n--;
  free(t);
  agent_push_soon(a);
}

/* ---- the meter executor ------------------------------------------------------------------- */

static void watch(mol_agent *a, mol_a2a_turn *turn) {
  mol_a2a_task *task = mol_a2a_store_get(a->a2a->store, mol_a2a_turn_task_id(turn));
  agent_turn *t = task ? calloc(1, sizeof(*t)) : NULL;
  if (!t) return;
  if (mol_a2a_task_subscribe(task, on_task_event, t, NULL) != 0) {
    free(t); /* past the listener bound: the turn runs, unmetered */
    return;
  }
  t->a = a;
  t->t0_ns = mol_mono_ns();
  brief(mol_a2a_turn_text(turn), t->brief, sizeof(t->brief));
  t->next = a->live;
  if (a->live) a->live->prev = t;
  a->live = t;
  a->live_n++;
  agent_push_soon(a);
}

static int meter_execute(void *self, mol_a2a_turn *turn) {
  mol_agent *a = self;
  a->st.turns++;
  transcript_add(a, "user", mol_a2a_turn_text(turn));
  watch(a, turn);
  return a->inner.execute(a->inner.self, turn); /* the turn may be over when this returns */
}

static void meter_cancel(void *self, mol_a2a_turn *turn) {
  mol_agent *a = self;
  if (a->inner.cancel) a->inner.cancel(a->inner.self, turn);
  else mol_a2a_turn_canceled(turn);
}

void agent_meter_init(mol_agent *a) {
  a->meter = (mol_a2a_executor){.name = a->inner.name, .execute = meter_execute,
                                .cancel = meter_cancel, .self = a};
}

/* ---- transcript restore ------------------------------------------------------------------- */

void agent_transcript_restore(mol_agent *a, const json_t *state) {
  json_t *lines = json_object_get(state, "transcript_lines");
  size_t i;
  json_t *v;
  json_array_foreach(lines, i, v) {
    if (json_is_string(v)) mol_transcript_append(a->transcript, json_string_value(v));
  }
}

/* ---- snapshot ----------------------------------------------------------------------------- */

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
  a->snap_busy = 0;
  agent_maybe_finish(a);
}

static json_t *adapter_state(mol_agent *a) {
  json_t *st = json_object();
  json_t *tail = mol_transcript_tail(a->transcript, MOL_SNAPSHOT_MAX_TRANSCRIPT);
  if (st && tail) json_object_set_new(st, "transcript_lines", tail);
  else json_decref(tail);
  if (st) json_object_set_new(st, "executor", json_string(a->inner.name ? a->inner.name : ""));
  return st;
}

int agent_snapshot_start(mol_agent *a) {
  snap_job *j = calloc(1, sizeof(*j));
  if (!j) return MOL_ENOMEM;
  j->a = a;
  j->path = strdup(a->snapshot_path);
  j->workspace_id = a->workspace_id ? strdup(a->workspace_id) : NULL;
  j->current_task = strdup(agent_current_task(a));
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
  a->snap_busy = 1;
  return 0;
}
