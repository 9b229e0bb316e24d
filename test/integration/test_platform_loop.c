/* test_platform_loop.c - mol_platform_run (HB-02..06, LOOP-05/08/09), beats on
 * request (mol_platform_beat_soon) with each beat's outcome (on_beat), and the faults:
 * a 429 storm with both Retry-After forms, platform down at start then up, the idle-timeout
 * override sent and cleared, persistent 401 / misrouted 404 on /state. The token
 * file's writers in other processes are in test_platform_token_writers.c. */
#include "platform_testutil.h"

#include <time.h>

#include "platform_arms.h"

enum { R_HB, R_STATE, R_OTHER, R_N };
enum { MANY_RUNS = 16 };

typedef struct {
  uv_loop_t loop;
  fake f;
  script s[R_N];
  char *dir;
  mol_platform_client *c;
  int status_calls;
  mol_platform_status st;
  int st_err;
  char server_status[64];
  int supplier_calls;
  uint64_t ended_ms;
} fx;

static fx *F;

static int route_of(const char *path) {
  if (strstr(path, "/heartbeat")) return R_HB;
  if (strstr(path, "/state")) return R_STATE;
  return R_OTHER;
}

static void routed(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  script_handler(f, r, out, &((script *)arg)[route_of(r->path)]);
}

static const char *ONLINE = "{\"status\":\"online\",\"paused\":false,\"deleted\":false}";

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, routed, F->s);
  for (int i = 0; i < R_N; i++) F->s[i].dflt = (fake_resp){.status = 200, .body = "{}"};
  F->s[R_HB].dflt.body = "{\"status\":\"ok\"}";
  F->s[R_STATE].dflt.body = ONLINE;
  assert_int_equal(fake_listen(&F->f, 0), 0);
  F->dir = make_tmpdir();
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-loop-0123456789";
  assert_int_equal(mol_platform_client_new(g_loop, &o, &F->c), 0);
  arms_start(&F->f.nlog);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  arms_stop();
  pt_teardown(g_loop, &F->f, F->c, F->dir);
  free(F);
  return 0;
}

static const fake_req *req(int i) { return &F->f.log[i]; }
static int count(int route) { return pt_count(&F->f, route_of, route); }
static const fake_req *nth(int route, int k) {
  for (int i = 0; i < F->f.nlog; i++)
    if (route_of(req(i)->path) == route && k-- == 0) return req(i);
  return NULL;
}

static void on_status(mol_platform_status st, int err, const char *server_status, void *arg) {
  (void)arg;
  F->status_calls++;
  F->st = st;
  F->st_err = err;
  F->ended_ms = uv_now(g_loop);
  snprintf(F->server_status, sizeof(F->server_status), "%s", server_status ? server_status : "");
}

static void wait_end(unsigned ms) {
  volatile int *flag = &F->status_calls;
  assert_true(run_until(g_loop, flag, ms));
  run_for(g_loop, 20);
  assert_int_equal(F->status_calls, 1);
}

static mol_platform_run_opts opts(unsigned hb, unsigned state) {
  return (mol_platform_run_opts){.heartbeat_interval_ms = hb, .state_poll_interval_ms = state};
}

/* HB-02: three iterations -> 3 heartbeats + 3 state polls, then "max_iterations". */
static void hb_02_max_iterations(void **st) {
  (void)st;
  mol_platform_run_opts o = opts(30, 30);
  o.max_heartbeats = 3;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_MAX_ITERATIONS);
  assert_int_equal(count(R_HB), 3);
  assert_int_equal(count(R_STATE), 3);
  assert_string_equal(req(0)->path, "/registry/heartbeat"); /* the first beat goes out at once */
  assert_string_equal(req(1)->path, "/workspaces/" WS_ID "/state");
}

/* HB-03: online then paused -> "paused" after 2 of each. */
static void hb_03_paused(void **st) {
  (void)st;
  script_push(&F->s[R_STATE], 200, NULL, ONLINE);
  script_push(&F->s[R_STATE], 200, NULL, "{\"status\":\"paused\",\"paused\":true,\"deleted\":false}");
  mol_platform_run_opts o = opts(30, 30);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_PAUSED);
  assert_string_equal(F->server_status, "paused");
  assert_int_equal(count(R_HB), 2);
  assert_int_equal(count(R_STATE), 2);
}

/* HB-04: a deletion 404 -> "removed" after one poll. */
static void hb_04_deleted(void **st) {
  (void)st;
  script_push(&F->s[R_STATE], 404, NULL, "{\"workspace_id\":\"" WS_ID "\",\"status\":\"removed\",\"deleted\":true}");
  mol_platform_run_opts o = opts(30, 30);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_DELETED);
  assert_string_equal(F->server_status, "removed");
  assert_int_equal(count(R_STATE), 1);
}

/* HB-05 / LOOP-05: the first heartbeat fails in transport; the loop goes on. */
static void hb_05_transient_error(void **st) {
  (void)st;
  F->s[R_HB].q[F->s[R_HB].n++] = (fake_resp){.action = FAKE_CLOSE};
  mol_platform_run_opts o = opts(30, 30);
  o.max_heartbeats = 2;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_MAX_ITERATIONS);
  assert_int_equal(count(R_HB), 2);
}

static void supplier(mol_platform_client *c, mol_platform_heartbeat_payload *p, void *arg) {
  (void)c;
  (void)arg;
  F->supplier_calls++;
  if (F->supplier_calls == 1) {
    p->current_task = "task-A";
    p->active_tasks = 3;
    p->idle_timeout_seconds = 900;
    p->capabilities = MOL_PLATFORM_CAP_HEARTBEAT | MOL_PLATFORM_CAP_STATUS_MGMT;
  }
  /* the second call leaves everything at defaults: "" / 0, and no idle override */
}

/* HB-06 / LOOP-08 / LOOP-09 and the idle-timeout override: sent while set, then cleared by a
 * heartbeat that still carries runtime_metadata but no idle_timeout_seconds. */
static void hb_06_supplier_and_idle_override(void **st) {
  (void)st;
  mol_platform_run_opts o = opts(30, 30);
  o.max_heartbeats = 2;
  o.task_supplier = supplier;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  const fake_req *a = nth(R_HB, 0), *b = nth(R_HB, 1);
  assert_string_equal(json_field(a->body, "current_task"), "task-A");
  assert_string_equal(json_field(a->body, "active_tasks"), "3");
  assert_string_equal(json_field(a->body, "idle_timeout_seconds"), "900");
  assert_non_null(strstr(a->body, "\"heartbeat\":true"));
  assert_non_null(strstr(a->body, "\"status_mgmt\":true"));
  assert_string_equal(json_field(b->body, "current_task"), "");
  assert_string_equal(json_field(b->body, "active_tasks"), "0");
  assert_non_null(strstr(b->body, "\"runtime_metadata\":{\"capabilities\":{"));
  assert_null(strstr(b->body, "idle_timeout_seconds"));
}

/* A 429 storm on /state with both Retry-After forms, then paused: both waits are honoured. */
static void storm_429_both_forms(void **st) {
  (void)st;
  static char date[96];
  time_t t = time(NULL) + 2;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(date, sizeof(date), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  script_push(&F->s[R_STATE], 429, "Retry-After: 1\r\n", "{\"error\":\"rate limit exceeded\"}");
  script_push(&F->s[R_STATE], 429, date, "{\"error\":\"rate limit exceeded\"}");
  script_push(&F->s[R_STATE], 200, NULL, "{\"status\":\"paused\",\"paused\":true}");
  mol_platform_run_opts o = opts(60000, 60000);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(8000);
  assert_int_equal(F->st, MOL_PLATFORM_PAUSED);
  arm_rec r[4];
  assert_int_equal(arms_of(MOL_PLATFORM__ARM_RETRY, 0, r, 4), 2);
  assert_int_equal(r[0].delay_ms, 1000);
  /* the date less the second the client read (that of the observer's clock or the one
   * before) */
  int64_t left = (int64_t)t - r[1].unix_s;
  assert_true(r[1].delay_ms == (uint64_t)left * 1000 || r[1].delay_ms == (uint64_t)(left + 1) * 1000);
  for (int i = 0; i < 2; i++) /* no retry went out before its sleep was over */
    assert_true(nth(R_STATE, i + 1)->at_ms >= r[i].at_ms + r[i].delay_ms);
}

/* Each beat's outcome as on_beat reported it, when (loop time), and how many timers the loop
 * had armed by then. */
typedef struct {
  int err, status, pushed;
  uint64_t at_ms;
  int arms;
} beat_outcome;

#define BEATS_MAX 256
static beat_outcome g_beats[BEATS_MAX];
static int g_nbeats, g_in_call;

static void on_beat(mol_platform_client *c, int err, const mol_platform_result *res, int pushed,
                    void *arg) {
  (void)arg;
  assert_ptr_equal(c, F->c);
  assert_false(g_in_call); /* never inside the call that asked for the beat */
  assert_true(g_nbeats < BEATS_MAX);
  g_beats[g_nbeats++] = (beat_outcome){err, res->http_status, pushed, uv_now(g_loop), g_arms.n};
}

static int beat_soon(void) {
  g_in_call = 1;
  int rc = mol_platform_beat_soon(F->c);
  g_in_call = 0;
  return rc;
}

static void wait_outcomes(int n) {
  for (int i = 0; i < 300 && g_nbeats < n; i++) run_for(g_loop, 10);
  assert_int_equal(g_nbeats, n);
}

/* At least n outcomes (more may follow while the loop runs). */
static void wait_beats(int n) {
  for (int i = 0; i < 500 && g_nbeats < n; i++) run_for(g_loop, 10);
  assert_true(g_nbeats >= n);
}

/* The heartbeat schedule the arms show, beat by beat: the loop armed its first beat at once,
 * and after each beat (whose outcome on_beat reported) every wake-up it armed until the next
 * beat aims at that beat's end plus `interval` after a success, or plus the back-off after the
 * k-th failure in a row (base_ms doubled each time, capped at max_backoff). Timers may only
 * fire late, so each beat reached the platform no earlier than that. */
static void assert_heartbeat_schedule(uint64_t interval, uint64_t base, uint64_t max_backoff) {
  assert_true(g_arms.n > 0);
  assert_int_equal(g_arms.a[0].kind, MOL_PLATFORM__ARM_HEARTBEAT);
  assert_int_equal(g_arms.a[0].delay_ms, 0);
  unsigned failures = 0;
  for (int b = 0; b < g_nbeats && g_beats[b].err != MOL_ECANCELED; b++) {
    const beat_outcome *o = &g_beats[b];
    uint64_t step = interval;
    if (o->err) {
      failures++;
      step = base << (failures - 1);
      if (step > max_backoff) step = max_backoff;
    } else {
      failures = 0;
    }
    /* the beat's own rearm runs just before on_beat, in the same callback */
    const arm_rec *first = &g_arms.a[o->arms - 1];
    assert_int_equal(first->kind, MOL_PLATFORM__ARM_HEARTBEAT);
    assert_int_equal(first->at_ms, o->at_ms);
    assert_int_equal(first->delay_ms, step);
    /* a beat canceled by the stop was reported without a rearm */
    int end = b + 1 < g_nbeats && g_beats[b + 1].err != MOL_ECANCELED ? g_beats[b + 1].arms - 1
                                                                       : g_arms.n;
    for (int i = o->arms; i < end; i++) {
      if (g_arms.a[i].kind == MOL_PLATFORM__ARM_RETRY) continue; /* a state poll's sleep */
      assert_int_equal(g_arms.a[i].kind, MOL_PLATFORM__ARM_HEARTBEAT);
      assert_int_equal(g_arms.a[i].at_ms + g_arms.a[i].delay_ms, o->at_ms + step);
    }
  }
}

/* Platform down at start: the heartbeat retries with back-off (20, 40, 80 ms, then capped at
 * max_backoff_ms) and, once the platform is up, is back on its interval. */
static void down_at_start_then_up(void **st) {
  (void)st;
  int port = F->f.port;
  fake_stop(&F->f);
  g_nbeats = 0;
  mol_platform_run_opts o = opts(400, 400);
  o.max_backoff_ms = 100;
  o.on_beat = on_beat;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_beats(5); /* refused: 0, then 20, 40, 80 and 100 ms later */
  for (int i = 0; i < 5; i++) assert_true(g_beats[i].err < 0);
  assert_int_equal(F->f.nlog, 0);
  assert_int_equal(fake_listen(&F->f, port), 0);
  int ok = 0;
  for (int i = 0; i < 600 && ok < 3; i++) {
    run_for(g_loop, 10);
    ok = 0;
    for (int b = 0; b < g_nbeats; b++) ok += g_beats[b].err == 0;
  }
  assert_int_equal(ok, 3);
  mol_platform_stop(F->c);
  wait_end(1000);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
  assert_heartbeat_schedule(400, 20, 100);
  for (int k = 0; k + 1 < count(R_HB); k++) /* after a success, a full interval */
    assert_true(nth(R_HB, k + 1)->at_ms >= nth(R_HB, k)->at_ms + 400);
}

/* A persistent 401 on /state (perhaps a deleted workspace) ends the loop with an error after
 * max_auth_failures. */
static void state_401_persistent_is_error(void **st) {
  (void)st;
  F->s[R_STATE].dflt = (fake_resp){.status = 401, .body = "{\"error\":\"invalid workspace auth token\"}"};
  mol_platform_run_opts o = opts(30, 30);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_ERROR);
  assert_int_equal(F->st_err, MOL_EHTTP);
  assert_int_equal(count(R_STATE), 3);
}

/* ADD-24: an empty 404 never ends the loop as "deleted"; only a body with deleted:true does. */
static void state_misroute_is_error_not_deleted(void **st) {
  (void)st;
  F->s[R_STATE].dflt = (fake_resp){.status = 404, .body = ""};
  mol_platform_run_opts o = opts(30, 30);
  o.max_auth_failures = 2;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_end(3000);
  assert_int_equal(F->st, MOL_PLATFORM_ERROR);
  assert_int_equal(count(R_STATE), 2);
}

/* The state poll runs on its own interval, not the heartbeat's. Each wake-up armed for a state
 * poll aims at 300 ms after a moment the loop armed a timer in (the end of the previous poll),
 * never after the heartbeat's 50 ms; the heartbeat keeps its own 50 ms meanwhile. */
static void separate_state_cadence(void **st) {
  (void)st;
  mol_platform_run_opts o = opts(50, 300);
  g_nbeats = 0;
  o.on_beat = on_beat;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  for (int i = 0; i < 500 && count(R_STATE) < 3; i++) run_for(g_loop, 10);
  assert_true(count(R_STATE) >= 3);
  mol_platform_stop(F->c);
  wait_end(1000);
  int polls = 0;
  for (int k = 0; k < g_arms.n; k++) {
    const arm_rec *a = &g_arms.a[k];
    if (a->kind != MOL_PLATFORM__ARM_STATE) continue;
    polls++;
    int sent = -1; /* the state poll this wake-up follows */
    for (int i = 0; i < a->nlog; i++)
      if (route_of(req(i)->path) == R_STATE) sent = i;
    assert_true(sent >= 0);
    int found = 0; /* a moment after that poll was sent, when its end armed a timer */
    for (int i = 0; i < k; i++)
      found |= g_arms.a[i].nlog > sent && g_arms.a[i].at_ms + 300 == a->at_ms + a->delay_ms;
    assert_true(found);
  }
  assert_true(polls >= 2);
  for (int k = 0; k + 1 < count(R_STATE); k++)
    assert_true(nth(R_STATE, k + 1)->at_ms >= nth(R_STATE, k)->at_ms + 300);
  for (int b = 0; b < g_nbeats && g_beats[b].err != MOL_ECANCELED; b++) {
    assert_int_equal(g_beats[b].err, 0);
    /* the beat's rearm: the next beat 50 ms on, or a state poll due before that */
    const arm_rec *first = &g_arms.a[g_beats[b].arms - 1];
    assert_int_equal(first->at_ms, g_beats[b].at_ms);
    if (first->kind == MOL_PLATFORM__ARM_HEARTBEAT)
      assert_int_equal(first->delay_ms, 50);
    else
      assert_true(first->kind == MOL_PLATFORM__ARM_STATE && first->delay_ms < 50);
  }
}

/* A state poll sleeping on 429s does not hold the heartbeat back, even in lockstep: it sleeps
 * the 30 s asked for while the beats keep their 100 ms. */
static void slow_state_does_not_delay_heartbeat(void **st) {
  (void)st;
  F->s[R_STATE].dflt = (fake_resp){.status = 429, .headers = "Retry-After: 30\r\n", .body = "{}"};
  mol_platform_run_opts o = opts(100, 100);
  g_nbeats = 0;
  o.on_beat = on_beat;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_beats(4);
  assert_int_equal(count(R_STATE), 1); /* still asleep: 30 s against four beats' 300 ms */
  arm_rec r[4];
  assert_int_equal(arms_of(MOL_PLATFORM__ARM_RETRY, 0, r, 4), 1);
  assert_int_equal(r[0].delay_ms, 30000);
  mol_platform_stop(F->c);
  wait_end(1000);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
  assert_heartbeat_schedule(100, 20, 100);
}

/* Closing a running client ends the loop (STOPPED) before the close callback. */
static void close_while_running(void **st) {
  (void)st;
  F->s[R_HB].dflt = (fake_resp){.action = FAKE_HANG};
  mol_platform_run_opts o = opts(30, 30);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  run_for(g_loop, 50);
  close_client(F->c);
  F->c = NULL;
  assert_int_equal(F->status_calls, 1);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
}

/* ---- beats on request (mol_platform_beat_soon) and each beat's outcome (on_beat) ---- */

static mol_platform_run_opts beat_opts(void) {
  g_nbeats = 0;
  mol_platform_run_opts o = opts(60000, 60000);
  o.on_beat = on_beat;
  return o;
}

/* A burst of requests is one early beat with the full payload (the recorded outcomes included,
 * then consumed); it leaves the periodic cadence and the lockstep state poll alone. */
static void beat_soon_coalesces_with_full_payload(void **st) {
  (void)st;
  mol_platform_run_opts o = beat_opts();
  o.task_supplier = supplier;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  assert_int_equal(beat_soon(), 0); /* the periodic beat is due now: it carries the request */
  wait_outcomes(1);
  assert_int_equal(g_beats[0].err, 0);
  assert_int_equal(g_beats[0].pushed, 0);
  assert_int_equal(count(R_HB), 1);
  mol_platform_record_outcome(F->c, 1, NULL);
  mol_platform_record_outcome(F->c, 0, "tool crashed: disk full");
  for (int i = 0; i < 5; i++) assert_int_equal(beat_soon(), 0);
  assert_int_equal(g_nbeats, 1);
  wait_outcomes(2);
  assert_int_equal(g_beats[1].err, 0);
  assert_int_equal(g_beats[1].pushed, 1);
  run_for(g_loop, 100);
  assert_int_equal(count(R_HB), 2); /* five requests, one beat */
  assert_int_equal(count(R_STATE), 1);
  const fake_req *b = nth(R_HB, 1);
  assert_string_equal(json_field(b->body, "error_rate"), "0.5");
  assert_string_equal(json_field(b->body, "sample_error"), "tool crashed: disk full");
  assert_string_equal(json_field(b->body, "workspace_id"), WS_ID);
  assert_non_null(strstr(b->body, "\"runtime_metadata\":{\"capabilities\":{"));
  assert_int_equal(F->supplier_calls, 2);
  assert_int_equal(beat_soon(), 0);
  wait_outcomes(3);
  const fake_req *c = nth(R_HB, 2);
  assert_string_equal(json_field(c->body, "error_rate"), "0"); /* reported once, then consumed */
  assert_string_equal(json_field(c->body, "sample_error"), "");
  mol_platform_stop(F->c);
  wait_end(1000);
  assert_int_equal(g_nbeats, 3);
}

/* One beat in flight: requests made during it get exactly one more beat after it ends. */
static void beat_soon_while_one_is_in_flight(void **st) {
  (void)st;
  F->s[R_HB].q[F->s[R_HB].n++] = (fake_resp){.status = 200, .body = "{}", .delay_ms = 300};
  mol_platform_run_opts o = beat_opts();
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  for (int i = 0; i < 100 && count(R_HB) == 0; i++) run_for(g_loop, 5);
  assert_int_equal(count(R_HB), 1);
  assert_int_equal(beat_soon(), 0);
  assert_int_equal(beat_soon(), 0);
  run_for(g_loop, 100);
  assert_int_equal(count(R_HB), 1); /* still one in flight */
  wait_outcomes(2);
  assert_int_equal(g_beats[0].pushed, 0);
  assert_int_equal(g_beats[1].pushed, 1);
  assert_true(nth(R_HB, 1)->at_ms >= nth(R_HB, 0)->at_ms + 300);
  run_for(g_loop, 200);
  assert_int_equal(count(R_HB), 2);
  mol_platform_stop(F->c);
  wait_end(1000);
}

/* A refused beat is reported with its status; requests made during the back-off wait for the
 * retry, which is the periodic beat (an unreachable platform is not hit per task event). */
static void refused_beat_is_reported_and_backs_off(void **st) {
  (void)st;
  script_push(&F->s[R_HB], 200, NULL, "{\"status\":\"ok\"}");
  script_push(&F->s[R_HB], 500, NULL, "{\"error\":\"db down\"}");
  /* a back-off of a second, not 20 ms: the requests below must come while it runs, and the
   * test's own turns of the loop are not timed */
  close_client(F->c);
  mol_platform_opts co = base_opts(F->f.port, F->dir);
  co.token = "tok-loop-0123456789";
  co.retry.base_ms = 1000;
  assert_int_equal(mol_platform_client_new(g_loop, &co, &F->c), 0);
  mol_platform_run_opts o = beat_opts();
  o.max_backoff_ms = 2000;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_outcomes(1);
  assert_int_equal(beat_soon(), 0);
  wait_outcomes(2);
  assert_int_equal(g_beats[1].err, MOL_EHTTP);
  assert_int_equal(g_beats[1].status, 500);
  assert_int_equal(g_beats[1].pushed, 1);
  assert_int_equal(g_arms.a[g_beats[1].arms - 1].delay_ms, 1000); /* the back-off armed */
  assert_int_equal(beat_soon(), 0);
  assert_int_equal(beat_soon(), 0);
  wait_outcomes(3);
  assert_int_equal(g_beats[2].err, 0);
  assert_int_equal(g_beats[2].pushed, 0); /* the back-off retry answered the requests */
  run_for(g_loop, 100);
  assert_int_equal(count(R_HB), 3);
  mol_platform_stop(F->c);
  wait_end(1000);
}

/* Without a running loop there is nothing to ask; a beat in flight at stop is reported once. */
static void beat_soon_states_and_stop_in_flight(void **st) {
  (void)st;
  assert_int_equal(mol_platform_beat_soon(NULL), MOL_EINVAL);
  assert_int_equal(beat_soon(), MOL_EINVAL);
  F->s[R_HB].dflt = (fake_resp){.action = FAKE_HANG};
  mol_platform_run_opts o = beat_opts();
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  for (int i = 0; i < 100 && count(R_HB) == 0; i++) run_for(g_loop, 5);
  g_in_call = 1;
  mol_platform_stop(F->c);
  g_in_call = 0;
  assert_int_equal(beat_soon(), MOL_ESHUTDOWN);
  wait_end(1000);
  assert_int_equal(g_nbeats, 1);
  assert_int_equal(g_beats[0].err, MOL_ECANCELED);
  assert_int_equal(beat_soon(), MOL_EINVAL);
}

/* ---- many run loops on one loop ---- */

static void count_timer(uv_handle_t *h, void *arg) {
  if (h->type == UV_TIMER && !uv_is_closing(h)) ++*(int *)arg;
}

static int open_timers(void) {
  int n = 0;
  uv_walk(g_loop, count_timer, &n);
  return n;
}

static int g_ended[MANY_RUNS];

static void on_many_status(mol_platform_status st, int err, const char *server_status,
                           void *arg) {
  (void)err;
  (void)server_status;
  g_ended[(int *)arg - g_ended] = st == MOL_PLATFORM_MAX_ITERATIONS ? 1 : -1;
}

/* The run loops of a host's agents share their loop's one timer (a timer each was 152 bytes
 * per agent): starting 16 of them opens no timer, and each still keeps its own cadence to
 * the end (3 beats and 3 state polls each, at different intervals). */
static void many_runs_share_one_timer(void **st) {
  (void)st;
  mol_platform_client *cs[MANY_RUNS];
  cs[0] = F->c;
  mol_platform_opts co = base_opts(F->f.port, F->dir);
  co.token = "tok-loop-0123456789";
  for (int i = 1; i < MANY_RUNS; i++)
    assert_int_equal(mol_platform_client_new(g_loop, &co, &cs[i]), 0);
  int before = open_timers();
  for (int i = 0; i < MANY_RUNS; i++) {
    g_ended[i] = 0;
    mol_platform_run_opts o = opts(20 + 5 * (unsigned)i, 20 + 5 * (unsigned)i);
    o.max_heartbeats = 3;
    assert_int_equal(mol_platform_run(cs[i], &o, on_many_status, &g_ended[i]), 0);
  }
  assert_int_equal(open_timers(), before);
  int done = 0;
  for (int k = 0; k < 600 && done < MANY_RUNS; k++) {
    run_for(g_loop, 10);
    done = 0;
    for (int i = 0; i < MANY_RUNS; i++) done += g_ended[i] != 0;
  }
  for (int i = 0; i < MANY_RUNS; i++) assert_int_equal(g_ended[i], 1);
  assert_int_equal(count(R_HB), 3 * MANY_RUNS);
  assert_int_equal(count(R_STATE), 3 * MANY_RUNS);
  for (int i = 1; i < MANY_RUNS; i++) close_client(cs[i]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(hb_02_max_iterations),          T(hb_03_paused),
      T(hb_04_deleted),                 T(hb_05_transient_error),
      T(hb_06_supplier_and_idle_override), T(storm_429_both_forms),
      T(down_at_start_then_up),         T(state_401_persistent_is_error),
      T(state_misroute_is_error_not_deleted), T(separate_state_cadence),
      T(close_while_running),           T(slow_state_does_not_delay_heartbeat),
      T(beat_soon_coalesces_with_full_payload), T(beat_soon_while_one_is_in_flight),
      T(refused_beat_is_reported_and_backs_off), T(beat_soon_states_and_stop_in_flight),
      T(many_runs_share_one_timer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
