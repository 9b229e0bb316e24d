/* test_platform_loop.c - mol_platform_run (HB-02..06, LOOP-05/08/09, §9.3-9), beats on
 * request (mol_platform_beat_soon) with each beat's outcome (on_beat), and the faults:
 * a 429 storm with both Retry-After forms, platform down at start then up, the idle-timeout
 * override sent and cleared, persistent 401 / misrouted 404 on /state (§12-6/7), and a
 * concurrent token writer in another process (ADD-10). */
#include "platform_testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

enum { R_HB, R_STATE, R_OTHER, R_N };

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
  return 0;
}

static int teardown(void **st) {
  (void)st;
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
  uint64_t g1 = nth(R_STATE, 1)->at_ms - nth(R_STATE, 0)->at_ms;
  uint64_t g2 = nth(R_STATE, 2)->at_ms - nth(R_STATE, 1)->at_ms;
  assert_true(g1 >= 950 && g1 < 1500);
  assert_true(g2 >= 500 && g2 <= 2300);
}

/* Platform down at start: the heartbeat retries with back-off and recovers once it is up. */
static void down_at_start_then_up(void **st) {
  (void)st;
  int port = F->f.port;
  fake_stop(&F->f);
  mol_platform_run_opts o = opts(400, 400);
  o.max_backoff_ms = 100;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  run_for(g_loop, 500); /* several refused attempts at 20, 40, 80, 100 ms */
  assert_int_equal(F->f.nlog, 0);
  assert_int_equal(fake_listen(&F->f, port), 0);
  uint64_t up = uv_now(g_loop);
  for (int i = 0; i < 100 && count(R_HB) == 0; i++) run_for(g_loop, 10);
  assert_true(count(R_HB) >= 1);
  assert_true(nth(R_HB, 0)->at_ms - up <= 150); /* well within one interval */
  run_for(g_loop, 900);
  int hb = count(R_HB);
  assert_true(hb >= 2 && hb <= 4); /* back on the normal cadence */
  assert_int_equal(F->status_calls, 0);
  mol_platform_stop(F->c);
  wait_end(1000);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
}

/* §12-7: a persistent 401 on /state ends the loop with an error after max_auth_failures. */
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

/* §12-6 / ADD-24: an empty 404 never ends the loop as "deleted". */
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

/* §9.3-9: the state poll runs on its own interval. */
static void separate_state_cadence(void **st) {
  (void)st;
  mol_platform_run_opts o = opts(50, 300);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  run_for(g_loop, 1000);
  mol_platform_stop(F->c);
  wait_end(1000);
  int hb = count(R_HB), stc = count(R_STATE);
  assert_true(hb >= 15);
  assert_true(stc >= 3 && stc <= 5);
}

/* A state poll sleeping on 429s does not hold the heartbeat back, even in lockstep. */
static void slow_state_does_not_delay_heartbeat(void **st) {
  (void)st;
  F->s[R_STATE].dflt = (fake_resp){.status = 429, .headers = "Retry-After: 1\r\n", .body = "{}"};
  mol_platform_run_opts o = opts(100, 100);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  run_for(g_loop, 1000);
  assert_true(count(R_HB) >= 8);
  assert_true(count(R_STATE) <= 2);
  mol_platform_stop(F->c);
  wait_end(1000);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
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

typedef struct {
  int err, status, pushed;
} beat_outcome;

static beat_outcome g_beats[32];
static int g_nbeats, g_in_call;

static void on_beat(mol_platform_client *c, int err, const mol_platform_result *res, int pushed,
                    void *arg) {
  (void)arg;
  assert_ptr_equal(c, F->c);
  assert_false(g_in_call); /* never inside the call that asked for the beat */
  assert_true(g_nbeats < 32);
  g_beats[g_nbeats++] = (beat_outcome){err, res->http_status, pushed};
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
  mol_platform_run_opts o = beat_opts();
  o.max_backoff_ms = 300;
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  wait_outcomes(1);
  assert_int_equal(beat_soon(), 0);
  wait_outcomes(2);
  assert_int_equal(g_beats[1].err, MOL_EHTTP);
  assert_int_equal(g_beats[1].status, 500);
  assert_int_equal(g_beats[1].pushed, 1);
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

/* ADD-10: two processes saving tokens concurrently; a reader never sees an empty or partial
 * token, and the file always holds one writer's complete token. */
static void add_10_concurrent_token_writer(void **st) {
  (void)st;
  const char *tokfile = path_in(F->dir, ".auth_token");
  assert_int_equal(mol_platform_save_token(F->c, "tok-parent-00000000000000000000000000000"), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char tok[64];
    for (int i = 0; i < 300; i++) {
      snprintf(tok, sizeof(tok), "tok-child-%030d", i);
      if (mol_platform_save_token(F->c, tok)) _exit(1);
    }
    _exit(0);
  }
  char tok[64];
  int bad = 0;
  for (int i = 0; i < 300; i++) {
    snprintf(tok, sizeof(tok), "tok-parent-%029d", i);
    assert_int_equal(mol_platform_save_token(F->c, tok), 0);
    const char *got = read_file(tokfile);
    if (!got || strlen(got) != 40 || (strncmp(got, "tok-parent-", 11) && strncmp(got, "tok-child-", 10)))
      bad++;
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(bad, 0);
  const char *final = read_file(tokfile);
  assert_int_equal(strlen(final), 40);
  struct stat sb;
  assert_int_equal(stat(tokfile, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
}

/* ADD-23 (token side): a writer killed at an arbitrary point leaves a whole token behind. */
static void add_23_killed_writer_leaves_whole_token(void **st) {
  (void)st;
  const char *tokfile = path_in(F->dir, ".auth_token");
  assert_int_equal(mol_platform_save_token(F->c, "tok-parent-00000000000000000000000000000"), 0);
  for (int round = 0; round < 5; round++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      char tok[64];
      for (int i = 0;; i++) {
        snprintf(tok, sizeof(tok), "tok-child-%030d", i);
        mol_platform_save_token(F->c, tok);
      }
    }
    usleep(20000 + round * 7000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    const char *got = read_file(tokfile);
    assert_non_null(got);
    assert_int_equal(strlen(got), 40);
    struct stat sb;
    assert_int_equal(stat(tokfile, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
  }
  /* the next save sweeps the temporary files the killed writers left */
  assert_int_equal(mol_platform_save_token(F->c, "tok-parent-00000000000000000000000000001"), 0);
  char cmd[1100];
  snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c 'tmp$'", F->dir);
  FILE *p = popen(cmd, "r");
  char out[16] = {0};
  assert_non_null(fgets(out, sizeof(out), p));
  pclose(p);
  assert_int_equal(atoi(out), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(hb_02_max_iterations),          T(hb_03_paused),
      T(hb_04_deleted),                 T(hb_05_transient_error),
      T(hb_06_supplier_and_idle_override), T(storm_429_both_forms),
      T(down_at_start_then_up),         T(state_401_persistent_is_error),
      T(state_misroute_is_error_not_deleted), T(separate_state_cadence),
      T(close_while_running),           T(add_10_concurrent_token_writer),
      T(add_23_killed_writer_leaves_whole_token), T(slow_state_does_not_delay_heartbeat),
      T(beat_soon_coalesces_with_full_payload), T(beat_soon_while_one_is_in_flight),
      T(refused_beat_is_reported_and_backs_off), T(beat_soon_states_and_stop_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
