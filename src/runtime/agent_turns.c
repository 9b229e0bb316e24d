/* agent_turns.c - what an agent learns from its turns: counts, latency, errors, the current
 * task and the live count for heartbeats, the transcript lines, and an early heartbeat when a
 * turn starts or ends.
 *
 * The A2A server calls the executor; the agent puts a thin "meter" executor in front of the
 * real one. The meter cannot see the inner executor's ending call, so it listens on the turn's
 * task instead: the task engine delivers exactly one final event per listener (the terminal or
 * interrupted status, or CLOSED when the store goes away), which is where a turn is timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "base/clock.h"
#include "base/log.h"
#include "molecule.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"

#define SCOPE "agent"
#define BRIEF_MAX 60 /* upstream brief_task(): the first 60 characters and an ellipsis */

const double mol_agent_latency_bounds[MOL_AGENT_LATENCY_BUCKETS] = {
  0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600};

struct mol_agent__turn {
  mol_agent *a;
  mol_agent__turn *prev, *next;
  uint64_t t0_ns;
  char brief[BRIEF_MAX + 4];
  char *ctx, *user;            /* for the sessions (agent_sessions.c) */
  int via_fallback;            /* went to a->fallback (agent_health.c) */
  char task_id[64];
};

/* ---- current task ----------------------------------------------------------------------- */

/* Copied, not printed: every turn writes one (out holds BRIEF_MAX + 4 bytes). */
static void brief(const char *text, char out[BRIEF_MAX + 4]) {
  size_t n = strnlen(text, BRIEF_MAX + 1);
  if (n <= BRIEF_MAX) {
    memcpy(out, text, n + 1);
    return;
  }
  size_t cut = BRIEF_MAX;
  while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--; /* whole UTF-8 chars */
  memcpy(out, text, cut);
  memcpy(out + cut, "\xE2\x80\xA6", 4); /* the ellipsis and the NUL */
}

const char *mol_agent__current_task(const mol_agent *a) { return a->live ? a->live->brief : ""; }

unsigned mol_agent__live_turns(const mol_agent *a) {
  if (!a->a2a) return 0;
  mol_a2a_server_stats s;
  mol_a2a_server_stats_get(a->a2a, &s);
  return s.live_turns;
}

/* Upstream tells the platform at once when a task starts or ends, so the canvas shows the
 * current task and the platform's A2A proxy sees the workspace busy or free at once rather than
 * up to 30 s later. The platform loop owns every beat: it coalesces these requests (25 ms, one
 * beat in flight) and sends its full payload, error_rate and sample_error included. */
static void push_soon(mol_agent *a) {
  if (a->ending || !a->pc_running) return;
  int rc = mol_platform_beat_soon(a->pc);
  if (rc) mol_logd(SCOPE, "%s: no heartbeat pushed: %s", a->name, mol_strerror(rc));
}

/* ---- turn end ----------------------------------------------------------------------------- */

static void count_latency(mol_agent *a, double s) {
  mol_agent_stats *st = mol_agent__st(a);
  st->turns_ended++;
  st->turn_seconds_sum += s;
  for (int i = 0; i < MOL_AGENT_LATENCY_BUCKETS; i++) {
    if (s <= mol_agent_latency_bounds[i]) {
      st->latency_buckets[i]++;
      return;
    }
  }
}

static void record_outcome(mol_agent *a, const mol_a2a_event *ev, const char *text) {
  int failed = ev->kind == MOL_A2A_EV_STATUS && ev->state == MOL_A2A_STATE_FAILED;
  if (failed) mol_agent__st(a)->errors++;
  if (a->pc && !a->ending && ev->kind == MOL_A2A_EV_STATUS && ev->state != MOL_A2A_STATE_CANCELED)
    mol_platform_record_outcome(a->pc, !failed, failed ? text : NULL);
}

/* One line per turn: debug when it completed, a warning when it failed (with its reason). */
static void log_turn_end(mol_agent *a, const mol_agent__turn *t, const mol_a2a_event *ev,
                         const char *text, uint64_t ms) {
  int failed = ev->kind == MOL_A2A_EV_STATUS && ev->state == MOL_A2A_STATE_FAILED;
  mol_log_level lvl = failed ? MOL_LOG_WARN : MOL_LOG_DEBUG;
  const char *state = ev->kind == MOL_A2A_EV_STATUS ? mol_a2a_state_name(ev->state, MOL_A2A_V03)
                                                     : "completed";
  mol_logx(lvl, SCOPE,
           MOL_FIELDS(MOL_F_STR("agent", a->name), MOL_F_STR("workspace_id", a->workspace_id),
                      MOL_F_STR("task_id", t->task_id), MOL_F_STR("status", state),
                      MOL_F_INT("duration_ms", ms), MOL_F_STR("err", failed ? text : NULL)),
           "%s: turn %s %s in %llu ms", a->name, t->task_id, state, (unsigned long long)ms);
}

static void on_task_event(mol_a2a_task *task, const mol_a2a_event *ev, void *arg) {
  (void)task;
  if (!ev->final) return;
  mol_agent__turn *t = arg;
  mol_agent *a = t->a;
  uint64_t took_ns = mol_mono_ns() - t->t0_ns;
  count_latency(a, (double)took_ns / 1e9);
  char *text = ev->status_message ? mol_a2a_cmsg_text(ev->status_message) : NULL;
  record_outcome(a, ev, text ? text : "");
  log_turn_end(a, t, ev, text, took_ns / 1000000);
  if (text && *text) {
    mol_agent__transcript_add(a, "agent", text);
    mol_agent__sessions_line(a, t->ctx, "agent", text);
  }
  mol_agent__sessions_turn(a, t->ctx, t->user, text);
  free(text);
  free(t->ctx);
  free(t->user);
  if (t->prev) t->prev->next = t->next; else a->live = t->next;
  if (t->next) t->next->prev = t->prev;
  a->live_n--;
  free(t);
  push_soon(a);
}

/* ---- the meter executor ------------------------------------------------------------------- */

static void watch(mol_agent *a, mol_a2a_turn *turn) {
  mol_a2a_task *task = mol_a2a_server_task(a->a2a, mol_a2a_turn_task_id(turn));
  mol_agent__turn *t = task ? calloc(1, sizeof(*t)) : NULL;
  if (!t) return;
  if (mol_a2a_task_subscribe(task, on_task_event, t, NULL) != 0) {
    free(t); /* past the listener bound: the turn runs, unmetered */
    return;
  }
  t->a = a;
  t->t0_ns = mol_mono_ns();
  t->via_fallback = a->use_fallback;
  const char *id = mol_a2a_turn_task_id(turn);
  size_t id_len = strnlen(id, sizeof(t->task_id) - 1);
  memcpy(t->task_id, id, id_len); /* calloc'd: NUL-terminated */
  const char *ctx = mol_a2a_turn_context_id(turn);
  t->ctx = ctx ? strdup(ctx) : NULL;
  t->user = strdup(mol_a2a_turn_text(turn)); /* NULL: the turn stays out of the history */
  brief(mol_a2a_turn_text(turn), t->brief);
  t->next = a->live;
  if (a->live) a->live->prev = t;
  a->live = t;
  a->live_n++;
  push_soon(a);
}

static int meter_execute(void *self, mol_a2a_turn *turn) {
  mol_agent *a = self;
  mol_agent__st(a)->turns++;
  mol_agent__transcript_add(a, "user", mol_a2a_turn_text(turn));
  mol_agent__sessions_line(a, mol_a2a_turn_context_id(turn), "user", mol_a2a_turn_text(turn));
  watch(a, turn);
  const mol_a2a_executor *ex = a->use_fallback ? &a->fallback : &a->inner;
  return ex->execute(ex->self, turn); /* the turn may be over when this returns */
}

/* A turn is canceled by the executor that runs it: the one it went to when it started. */
static const mol_a2a_executor *executor_of(mol_agent *a, mol_a2a_turn *turn) {
  const char *id = mol_a2a_turn_task_id(turn);
  for (mol_agent__turn *t = a->live; t; t = t->next)
    if (strcmp(t->task_id, id) == 0) return t->via_fallback ? &a->fallback : &a->inner;
  return a->use_fallback ? &a->fallback : &a->inner; /* unmetered: past the listener bound */
}

static void meter_cancel(void *self, mol_a2a_turn *turn) {
  mol_agent *a = self;
  const mol_a2a_executor *ex = executor_of(a, turn);
  if (ex->cancel) ex->cancel(ex->self, turn);
  else mol_a2a_turn_canceled(turn);
}

void mol_agent__meter_init(mol_agent *a) {
  a->meter = (mol_a2a_executor){.name = a->inner.name, .execute = meter_execute,
                                .cancel = meter_cancel, .self = a};
}
