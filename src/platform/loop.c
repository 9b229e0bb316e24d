/* loop.c - mol_platform_run: the heartbeat loop, the state-poll loop and the inbound poll loop
 * of one client, driven by a single wake (timer.h: one timer per loop for every run).
 *
 * Differences from the Python SDK's run_heartbeat_loop / run_agent_loop:
 *  - the heartbeat keeps its own cadence (30 s) whatever the inbound poll interval (5 s), and
 *    the state poll has its own interval (the SDK ignores state_poll_interval). When the two
 *    intervals are equal the state poll follows each heartbeat, as the SDK's iteration does,
 *    but a state poll still in flight (say, sleeping on a 429) never delays a heartbeat;
 *  - a failing heartbeat is retried with exponential back-off (1 s, 2 s, ... up to the
 *    interval) rather than waiting a full interval, so a platform that was down at start is
 *    rejoined quickly when it comes up;
 *  - error_rate and sample_error come from mol_platform_record_outcome();
 *  - the loop is the one owner of heartbeats: mol_platform_beat_soon() asks it for an early
 *    beat (a task started or ended) instead of the caller posting its own, so every beat
 *    carries the same full payload, consumes the recorded outcomes the same way, and reports
 *    its result through run_opts.on_beat;
 *  - a persistent 401 or a misrouted 404 on /state ends the loop with MOL_PLATFORM_ERROR
 *    instead of looping forever or reading it as a deletion. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/holds.h"
#include "base/log.h"
#include "platform/platform_int.h"
#include "platform/timer.h"

/* A failed call's structured log fields (base/log.h). */
#define FAILURE_FIELDS(run, res, err)                                   \
  MOL_FIELDS(MOL_F_STR("workspace_id", (run)->c->ws_id),                \
             MOL_F_INT("status", (res)->http_status), MOL_F_ERR(err))

struct mol_platform__run {
  mol_platform_client *c;
  mol_platform__part part;                         /* the client stops the loop when it closes */
  mol_platform__wake wake;                /* its next heartbeat, state or inbound poll */
  mol_holds holds;                        /* its own until it ends; each call in flight
                                             (finishing from the loop's shared queue) */
  mol_platform_run_opts o;
  mol_platform_status_cb cb;
  void *arg;
  uint64_t next_hb, next_state, next_inbound;
  uint64_t soon_at;                       /* 0, or when an early beat was asked for */
  mol_platform_req *hb, *state, *inbound; /* in flight */
  unsigned heartbeats, hb_failures, auth_failures; /* heartbeats: periodic ones */
  unsigned snap_outcomes, snap_failures;  /* outcomes reported by the heartbeat in flight */
  unsigned lockstep : 1;                  /* equal intervals: the state poll follows each beat */
  unsigned hb_pushed : 1;                 /* the beat in flight went early (beat_soon) */
  unsigned soon_again : 1;                /* asked for while a beat was in flight */
  unsigned ending : 1;
  mol_platform_status end_status;
  int end_err;
  char *end_server_status;
};

static void rearm(mol_platform__run *run);

/* ---- ending ------------------------------------------------------------------------------ */

/* The holds' finish: the loop has ended and none of its calls is in flight. */
static void run_finish(void *arg) {
  mol_platform__run *run = arg;
  mol_platform_client *c = run->c;
  c->run = NULL;
  mol_platform__wake_stop(mol_platform__sched_of(c), &run->wake); /* stopped when it ended */
  mol_platform__sched_release(mol_platform__sched_of(c));
  mol_platform__part_remove(c, &run->part);
  run->cb(run->end_status, run->end_err, run->end_server_status, run->arg);
  free(run->end_server_status);
  free(run);
  mol_holds_drop(&c->holds);
}

static void run_end(mol_platform__run *run, mol_platform_status st, int err,
                    const char *server_status) {
  if (run->ending) return;
  run->ending = 1;
  run->end_status = st;
  run->end_err = err;
  run->end_server_status = server_status ? strdup(server_status) : NULL;
  mol_platform__wake_stop(mol_platform__sched_of(run->c), &run->wake);
  mol_platform_cancel(run->hb);
  mol_platform_cancel(run->state);
  mol_platform_cancel(run->inbound);
  mol_holds_drop(&run->holds); /* the loop's own: the calls it canceled end later */
}

void mol_platform_stop(mol_platform_client *c) {
  if (c->run) run_end(c->run, MOL_PLATFORM_STOPPED, 0, NULL);
}

static void run_stop(mol_platform_client *c, mol_platform__part *self) {
  (void)self;
  mol_platform_stop(c);
}

static void check_max(mol_platform__run *run) {
  if (run->o.max_heartbeats && run->heartbeats >= run->o.max_heartbeats && !run->hb &&
      !run->state)
    run_end(run, MOL_PLATFORM_MAX_ITERATIONS, 0, NULL);
}

/* ---- state ------------------------------------------------------------------------------- */

static int state_fatal(int err, const mol_platform_result *res) {
  return err == MOL_EHTTP && (res->http_status == 401 || res->misrouted);
}

static void state_done(mol_platform__run *run, int err, const mol_platform_result *res) {
  run->next_state = uv_now(run->c->loop) + run->o.state_poll_interval_ms;
  if (!err && (res->deleted || res->paused)) {
    mol_logx(MOL_LOG_INFO, MOL_PLATFORM__SCOPE,
             MOL_FIELDS(MOL_F_STR("workspace_id", run->c->ws_id), MOL_F_STR("status", res->status)),
             "platform reports workspace %s %s", run->c->ws_id, res->status);
    run_end(run, res->deleted ? MOL_PLATFORM_DELETED : MOL_PLATFORM_PAUSED, 0, res->status);
    return;
  }
  if (state_fatal(err, res) && ++run->auth_failures >= run->o.max_auth_failures) {
    run_end(run, MOL_PLATFORM_ERROR, err, NULL);
    return;
  }
  if (!err) run->auth_failures = 0;
  if (err)
    mol_logx(MOL_LOG_WARN, MOL_PLATFORM__SCOPE, FAILURE_FIELDS(run, res, err),
             "state poll failed (%s, status %d); continuing",
             mol_strerror(err), res->http_status);
  check_max(run);
  rearm(run);
}

static void on_state(int err, const mol_platform_result *res, void *arg) {
  mol_platform__run *run = arg;
  run->state = NULL;
  if (!run->ending) state_done(run, err, res);
  mol_holds_drop(&run->holds); /* the poll's */
}

static void start_state(mol_platform__run *run) {
  int rc = mol_platform_poll_state(run->c, NULL, on_state, run, &run->state);
  if (!rc) {
    mol_holds_take(&run->holds); /* until on_state */
    return;
  }
  run->state = NULL;
  run->next_state = uv_now(run->c->loop) + run->o.state_poll_interval_ms;
  mol_logw(MOL_PLATFORM__SCOPE, "cannot start a state poll: %s", mol_strerror(rc));
}

/* ---- heartbeat ---------------------------------------------------------------------------
 * One beat at a time. The periodic beat keeps its cadence (interval after a success, back-off
 * after a failure). mol_platform_beat_soon() adds an early beat BEAT_SOON_MS later, so the
 * requests of a burst of task events share one beat; a request made while a beat is in flight
 * gets one more beat BEAT_SOON_MS after that one ends (its payload was taken before the event).
 * A request with the periodic beat due within the window is that beat. While beats fail, the
 * back-off retry answers requests: an unreachable platform is not hit once per task event. */
#define BEAT_SOON_MS 25

static uint64_t hb_due(const mol_platform__run *run) {
  if (run->soon_at && !run->hb_failures && run->soon_at < run->next_hb) return run->soon_at;
  return run->next_hb;
}

static void report_beat(mol_platform__run *run, int err, const mol_platform_result *res,
                        int pushed) {
  static const mol_platform_result none;
  if (run->o.on_beat) run->o.on_beat(run->c, err, res ? res : &none, pushed, run->o.beat_arg);
}

/* Marks an early beat as wanted BEAT_SOON_MS from now, unless one already is or the periodic
 * beat comes first anyway. */
static void want_soon(mol_platform__run *run, uint64_t now) {
  if (!run->soon_at && now + BEAT_SOON_MS < run->next_hb) run->soon_at = now + BEAT_SOON_MS;
}

static void fill_payload(mol_platform__run *run, mol_platform_heartbeat_payload *p) {
  mol_platform_client *c = run->c;
  memset(p, 0, sizeof(*p));
  run->snap_outcomes = c->outcomes;
  run->snap_failures = c->failures;
  if (c->outcomes) p->error_rate = (double)c->failures / (double)c->outcomes;
  p->sample_error = c->failures ? c->sample_error : "";
  if (run->o.task_supplier) run->o.task_supplier(c, p, run->o.supplier_arg);
}

/* The counts the last successful heartbeat reported are consumed; later ones stay. */
static void consume_outcomes(mol_platform__run *run) {
  mol_platform_client *c = run->c;
  c->outcomes -= run->snap_outcomes < c->outcomes ? run->snap_outcomes : c->outcomes;
  c->failures -= run->snap_failures < c->failures ? run->snap_failures : c->failures;
  if (!c->failures) {
    free(c->sample_error);
    c->sample_error = NULL;
  }
}

/* A failed beat, periodic or early, puts the loop in back-off: the retry comes sooner than
 * the interval and carries the latest payload. */
static void beat_failed(mol_platform__run *run, int err, const mol_platform_result *res,
                        uint64_t now) {
  run->hb_failures++;
  uint64_t retry = now + mol_platform__loop_backoff(&run->c->retry, run->hb_failures,
                                                    run->o.max_backoff_ms);
  if (retry < run->next_hb || !run->hb_pushed) run->next_hb = retry;
  mol_logx(MOL_LOG_WARN, MOL_PLATFORM__SCOPE, FAILURE_FIELDS(run, res, err),
           "heartbeat failed (%s, status %d); retrying", mol_strerror(err), res->http_status);
}

static void beat_done(mol_platform__run *run, int err, const mol_platform_result *res,
                      int pushed) {
  uint64_t now = uv_now(run->c->loop);
  if (!pushed) run->heartbeats++;
  if (!err) {
    run->hb_failures = 0;
    consume_outcomes(run);
    if (!pushed) run->next_hb = now + run->o.heartbeat_interval_ms;
  } else {
    beat_failed(run, err, res, now);
  }
  if (run->soon_again) {
    run->soon_again = 0;
    want_soon(run, now);
  }
  /* in lockstep the state poll keeps the periodic cadence */
  if (run->lockstep && !pushed && !run->state) start_state(run);
  check_max(run);
  rearm(run);
  report_beat(run, err, res, pushed);
}

static void on_heartbeat(int err, const mol_platform_result *res, void *arg) {
  mol_platform__run *run = arg;
  int pushed = run->hb_pushed;
  run->hb = NULL;
  if (run->ending) report_beat(run, err, res, pushed);
  else beat_done(run, err, res, pushed);
  mol_holds_drop(&run->holds); /* the beat's */
}

/* Runs from the loop's timer only, so on_beat never fires inside a caller's call. */
static void start_heartbeat(mol_platform__run *run) {
  uint64_t now = uv_now(run->c->loop);
  run->hb_pushed = now + BEAT_SOON_MS < run->next_hb; /* else it is the periodic beat */
  run->soon_at = 0; /* this beat carries what was asked for */
  mol_platform_heartbeat_payload p;
  fill_payload(run, &p);
  int rc = mol_platform_heartbeat(run->c, &p, NULL, on_heartbeat, run, &run->hb);
  if (!rc) {
    mol_holds_take(&run->holds); /* until on_heartbeat */
    return;
  }
  run->hb = NULL;
  if (!run->hb_pushed) run->next_hb = now + run->o.heartbeat_interval_ms;
  mol_logw(MOL_PLATFORM__SCOPE, "cannot start a heartbeat: %s", mol_strerror(rc));
  report_beat(run, rc, NULL, run->hb_pushed);
}

int mol_platform_beat_soon(mol_platform_client *c) {
  if (!c || !c->run) return MOL_EINVAL;
  mol_platform__run *run = c->run;
  if (run->ending) return MOL_ESHUTDOWN;
  if (run->hb) {
    run->soon_again = 1;
    return 0;
  }
  want_soon(run, uv_now(c->loop));
  rearm(run);
  return 0;
}

/* ---- inbound ----------------------------------------------------------------------------- */

static void dispatch(mol_platform__run *run, const mol_platform_result *res) {
  mol_platform_client *c = run->c;
  size_t done = 0;
  for (; done < res->nmessages && !run->ending && !c->closing; done++)
    run->o.on_message(c, &res->messages[done], run->o.message_arg);
  /* The cursor moves past every dispatched message (a failing handler does not block the
   * queue) and is saved once per batch: a crash replays at most this batch. */
  if (done) mol_platform__cursor_store(c, res->messages[done - 1].activity_id);
}

static void inbound_done(mol_platform__run *run, int err, const mol_platform_result *res) {
  run->next_inbound = uv_now(run->c->loop) + run->o.inbound_interval_ms;
  if (!err) dispatch(run, res);
  else if (!res->cursor_lost)
    mol_logx(MOL_LOG_WARN, MOL_PLATFORM__SCOPE, FAILURE_FIELDS(run, res, err),
             "inbound poll failed (%s, status %d); continuing",
             mol_strerror(err), res->http_status);
  rearm(run); /* nothing when a handler ended the loop */
}

static void on_inbound(int err, const mol_platform_result *res, void *arg) {
  mol_platform__run *run = arg;
  run->inbound = NULL;
  if (!run->ending) inbound_done(run, err, res);
  mol_holds_drop(&run->holds); /* the poll's */
}

static void start_inbound(mol_platform__run *run) {
  int rc = mol_platform_fetch_inbound(run->c, NULL, NULL, on_inbound, run, &run->inbound);
  if (!rc) {
    mol_holds_take(&run->holds); /* until on_inbound */
    return;
  }
  run->inbound = NULL;
  run->next_inbound = uv_now(run->c->loop) + run->o.inbound_interval_ms;
}

/* ---- the timer --------------------------------------------------------------------------- */

static void tick(mol_platform__wake *w) {
  mol_platform__run *run = (mol_platform__run *)((char *)w - offsetof(mol_platform__run, wake));
  uint64_t now = uv_now(run->c->loop);
  if (run->ending) return;
  /* a slow state poll (429 back-off) never holds the heartbeat back */
  if (!run->hb && now >= hb_due(run)) start_heartbeat(run);
  if (run->ending) return; /* on_beat stopped the loop */
  if (!run->lockstep && !run->state && now >= run->next_state) start_state(run);
  if (run->o.on_message && !run->inbound && now >= run->next_inbound) start_inbound(run);
  rearm(run);
}

static void rearm(mol_platform__run *run) {
  if (run->ending) return;
  uint64_t next = UINT64_MAX, now = uv_now(run->c->loop);
  mol_platform__arm_kind why = MOL_PLATFORM__ARM_HEARTBEAT;
  if (!run->hb) next = hb_due(run);
  if (!run->lockstep && !run->state && run->next_state < next) {
    next = run->next_state;
    why = MOL_PLATFORM__ARM_STATE;
  }
  if (run->o.on_message && !run->inbound && run->next_inbound < next) {
    next = run->next_inbound;
    why = MOL_PLATFORM__ARM_INBOUND;
  }
  if (next == UINT64_MAX) return; /* everything is in flight; a completion re-arms */
  mol_platform__wake_arm(run->c, mol_platform__sched_of(run->c), why, &run->wake, tick,
                         next > now ? next - now : 0);
}

static void run_defaults(mol_platform_run_opts *o) {
  if (!o->heartbeat_interval_ms) o->heartbeat_interval_ms = 30000;
  if (!o->state_poll_interval_ms) o->state_poll_interval_ms = 30000;
  if (!o->inbound_interval_ms) o->inbound_interval_ms = 5000;
  if (!o->max_backoff_ms) o->max_backoff_ms = o->heartbeat_interval_ms;
  if (!o->max_auth_failures) o->max_auth_failures = 3;
}

int mol_platform_run(mol_platform_client *c, const mol_platform_run_opts *o,
                     mol_platform_status_cb cb, void *arg) {
  if (!c || !cb) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  if (c->run) return MOL_EBUSY;
  mol_platform__run *run = calloc(1, sizeof(*run));
  if (!run) return MOL_ENOMEM;
  if (mol_platform__sched_reserve(mol_platform__sched_of(c))) {
    free(run);
    return MOL_ENOMEM;
  }
  if (o) run->o = *o;
  run_defaults(&run->o);
  run->c = c;
  run->cb = cb;
  run->arg = arg;
  run->lockstep = run->o.heartbeat_interval_ms == run->o.state_poll_interval_ms;
  uint64_t now = uv_now(c->loop);
  run->next_hb = run->next_inbound = now;
  run->next_state = now;
  mol_holds_init_shared(&run->holds, mol_platform__finishing(c), run_finish, run);
  run->part.stop = run_stop;
  mol_platform__part_add(c, &run->part);
  mol_holds_take(&c->holds); /* until the loop is freed */
  c->run = run;
  /* the first heartbeat goes out at once */
  mol_platform__wake_arm(c, mol_platform__sched_of(c), MOL_PLATFORM__ARM_HEARTBEAT, &run->wake,
                         tick, 0);
  return 0;
}
