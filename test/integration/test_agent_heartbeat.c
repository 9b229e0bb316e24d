/* test_agent_heartbeat.c - an agent's heartbeats over real sockets, against the scripted fake
 * platform (it records every body exactly as sent). The interval is a minute, so every beat
 * after the first is one the agent pushed on a turn event:
 *  - the beat pushed when a failed turn ends carries the turn's error (error_rate and
 *    sample_error) with the rest of the full payload, like a periodic beat;
 *  - a pushed beat the platform refuses is counted as a heartbeat failure from its reported
 *    outcome (nothing is inferred from timing). */
#include "platform_testutil.h"

#include "http/client.h"
#include "http/server.h"
#include "runtime/agent.h"

enum { R_REG, R_HB, R_STATE, R_OTHER, R_N };

typedef struct {
  uv_loop_t loop;
  fake f;
  script s[R_N];
  char *dir;
  mol_http_server *http;
  mol_http_client *client;
  mol_agent *agent;
  int ended, closed;
  mol_agent_end why;
} fx;

static fx *F;

static int route_of(const char *path) {
  if (strstr(path, "/registry/register")) return R_REG;
  if (strstr(path, "/registry/heartbeat")) return R_HB;
  if (strstr(path, "/state")) return R_STATE;
  return R_OTHER;
}

static void routed(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  script_handler(f, r, out, &((script *)arg)[route_of(r->path)]);
}

/* ---- an executor whose turns take 500 ms and fail when the text starts with "fail" ---- */

#define TURN_MS 500

typedef struct {
  uv_timer_t timer;
  mol_a2a_turn *turn;
} slow_turn;

static void slow_closed(uv_handle_t *h) { free(h->data); }

static void slow_end(slow_turn *st, int canceled) {
  mol_a2a_turn *t = st->turn;
  char text[160];
  uv_timer_stop(&st->timer);
  uv_close((uv_handle_t *)&st->timer, slow_closed);
  if (canceled) {
    mol_a2a_turn_canceled(t);
  } else if (strncmp(mol_a2a_turn_text(t), "fail", 4) == 0) {
    snprintf(text, sizeof(text), "backend exploded: %s", mol_a2a_turn_text(t));
    mol_a2a_turn_fail(t, text);
  } else {
    mol_a2a_turn_reply_text(t, "done");
  }
}

static void slow_fire(uv_timer_t *t) { slow_end(t->data, 0); }

static int slow_execute(void *self, mol_a2a_turn *t) {
  (void)self;
  slow_turn *st = calloc(1, sizeof(*st));
  if (!st) return MOL_ENOMEM;
  st->turn = t;
  uv_timer_init(mol_a2a_turn_loop(t), &st->timer);
  st->timer.data = st;
  uv_timer_start(&st->timer, slow_fire, TURN_MS, 0);
  mol_a2a_turn_set_data(t, st);
  return mol_a2a_turn_working(t, NULL);
}

static void slow_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  slow_end(mol_a2a_turn_data(t), 1);
}

static const mol_a2a_executor slow_exec = {.name = "slow", .execute = slow_execute,
                                           .cancel = slow_cancel};

/* ---- fixture ---- */

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  (void)a;
  (void)err;
  (void)arg;
  F->why = why;
  F->ended = 1;
}

static void count_closed(void *arg) {
  (void)arg;
  F->closed++;
}

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, routed, F->s);
  for (int i = 0; i < R_N; i++) F->s[i].dflt = (fake_resp){.status = 200, .body = "{}"};
  F->s[R_REG].dflt.body = "{\"status\":\"registered\"}";
  F->s[R_HB].dflt.body = "{\"status\":\"ok\"}";
  F->s[R_STATE].dflt.body = "{\"status\":\"online\",\"paused\":false,\"deleted\":false}";
  assert_int_equal(fake_listen(&F->f, 0), 0);
  F->dir = make_tmpdir();
  assert_int_equal(mol_http_server_new(g_loop, NULL, &F->http), 0);
  assert_int_equal(mol_http_server_listen(F->http, "127.0.0.1", 0), 0);
  assert_int_equal(mol_http_client_new(g_loop, NULL, &F->client), 0);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  if (F->agent && !F->ended) {
    mol_agent_stop(F->agent);
    assert_true(run_until(g_loop, &F->ended, 5000));
  }
  mol_http_server_close(F->http, 100, count_closed, NULL);
  mol_http_client_close(F->client, count_closed, NULL);
  volatile int *closed = &F->closed;
  uint64_t end = uv_now(g_loop) + 5000;
  while (*closed < 2 && uv_now(g_loop) < end) run_for(g_loop, 10);
  assert_int_equal(F->closed, 2);
  pt_teardown(g_loop, &F->f, NULL, F->dir);
  free(F);
  return 0;
}

static void start_agent(void) {
  char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", F->f.port);
  mol_agent_opts ao = {.name = "beater", .platform_url = base, .workspace_id = WS_ID,
                       .token_dir = F->dir, .exec = MOL_AGENT_EXEC_CUSTOM, .custom = &slow_exec,
                       .caps = {.session = 1}, .idle_timeout_s = 900,
                       .heartbeat_ms = 60000, .state_poll_ms = 60000};
  assert_int_equal(mol_agent_start(g_loop, F->http, F->client, &ao, on_agent_end, NULL,
                                   &F->agent), 0);
}

static int beats(void) { return pt_count(&F->f, route_of, R_HB); }
static const fake_req *beat(int k) {
  for (int i = 0; i < F->f.nlog; i++)
    if (route_of(F->f.log[i].path) == R_HB && k-- == 0) return &F->f.log[i];
  return NULL;
}

static int wait_beats(int n, unsigned ms) {
  uint64_t end = uv_now(g_loop) + ms;
  while (beats() < n && uv_now(g_loop) < end) run_for(g_loop, 10);
  return beats() >= n;
}

typedef struct {
  int done, status;
  char body[4096];
} turn_result;

static void turn_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  turn_result *t = arg;
  t->status = err ? err : resp->status;
  if (!err && resp->body) snprintf(t->body, sizeof(t->body), "%s", resp->body);
  t->done = 1;
}

static void send_turn(const char *text, turn_result *out) {
  static char url[128], body[512];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/beater/", mol_http_server_port(F->http));
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"m-%s\",\"parts\":[{\"kind\":\"text\",\"text\":"
           "\"%s\"}]}}}", text, text);
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = "POST", .url = url, .headers = h, .nheaders = 1,
                             .body = body, .body_len = strlen(body), .total_timeout_ms = 8000};
  memset(out, 0, sizeof(*out));
  assert_int_equal(mol_http_request_send(F->client, &o, turn_done, out, NULL), 0);
}

static mol_agent_stats stats(void) {
  mol_agent_stats s;
  mol_agent_stats_get(F->agent, &s);
  return s;
}

/* ---- tests ---- */

/* A failed turn: the beat pushed when it ends tells the platform what failed, with the same
 * full payload as a periodic beat. */
static void failed_turn_end_beat_carries_error(void **st) {
  (void)st;
  start_agent();
  assert_true(wait_beats(1, 5000)); /* the periodic beat at start */
  const fake_req *first = beat(0);
  assert_string_equal(json_field(first->body, "error_rate"), "0");
  turn_result t;
  send_turn("fail-fast", &t);
  assert_true(run_until(g_loop, &t.done, 5000));
  assert_int_equal(t.status, 200);
  assert_non_null(strstr(t.body, "\"failed\""));
  /* the beat pushed at turn start, then the one at turn end (a minute before a periodic one) */
  assert_true(wait_beats(3, 2000));
  const fake_req *busy = beat(1), *end = beat(2);
  assert_string_equal(json_field(busy->body, "active_tasks"), "1");
  assert_string_equal(json_field(busy->body, "current_task"), "fail-fast");
  assert_string_equal(json_field(end->body, "active_tasks"), "0");
  assert_string_equal(json_field(end->body, "current_task"), "");
  assert_string_equal(json_field(end->body, "error_rate"), "1");
  assert_string_equal(json_field(end->body, "sample_error"), "backend exploded: fail-fast");
  /* the rest of the full payload, as on a periodic beat */
  assert_string_equal(json_field(end->body, "workspace_id"), WS_ID);
  assert_non_null(json_field(end->body, "uptime_seconds"));
  assert_string_equal(json_field(end->body, "runtime_state"), "");
  assert_string_equal(json_field(end->body, "idle_timeout_seconds"), "900");
  assert_non_null(strstr(end->body, "\"session\":true"));
  run_for(g_loop, 200);
  assert_int_equal(beats(), 3); /* nothing more until the interval */
  mol_agent_stats s = stats();
  assert_int_equal(s.errors, 1);
  assert_int_equal(s.heartbeat_pushes, 2);
  assert_int_equal(s.heartbeats, 3);
  assert_int_equal(s.heartbeat_failures, 0);
  /* the accepted beat consumed the outcome: the next turn, a success, reports a clean slate */
  send_turn("fine", &t);
  assert_true(run_until(g_loop, &t.done, 5000));
  assert_true(wait_beats(5, 2000));
  assert_string_equal(json_field(beat(4)->body, "error_rate"), "0");
  assert_string_equal(json_field(beat(4)->body, "sample_error"), "");
}

/* The platform refuses pushed beats: the agent counts each refusal from the beat's outcome. */
static void refused_push_counts_as_failure(void **st) {
  (void)st;
  script_push(&F->s[R_HB], 200, NULL, "{\"status\":\"ok\"}"); /* the periodic beat at start */
  F->s[R_HB].dflt = (fake_resp){.status = 500, .body = "{\"error\":\"db down\"}"};
  start_agent();
  assert_true(wait_beats(1, 5000));
  run_for(g_loop, 20);
  assert_int_equal(stats().heartbeat_failures, 0);
  turn_result t;
  send_turn("ok-then", &t);
  assert_true(wait_beats(2, 2000)); /* the push at turn start, refused */
  uint64_t end = uv_now(g_loop) + 2000;
  while (stats().heartbeat_failures == 0 && uv_now(g_loop) < end) run_for(g_loop, 10);
  assert_true(stats().heartbeat_failures >= 1);
  assert_true(run_until(g_loop, &t.done, 5000));
  /* once the platform takes beats again the loop's back-off retry gets through */
  F->s[R_HB].dflt = (fake_resp){.status = 200, .body = "{\"status\":\"ok\"}"};
  unsigned long long fails = stats().heartbeat_failures;
  int n = beats();
  assert_true(wait_beats(n + 1, 5000));
  run_for(g_loop, 50);
  assert_int_equal(stats().heartbeat_failures, fails);
  assert_true(strcmp(stats().platform_status, "online") == 0);
}

/* current_task is the text's first 60 bytes and an ellipsis, cut before a character that
 * would not fit whole; a text of 60 bytes goes as it is. */
static void long_task_is_cut_at_a_whole_character(void **st) {
  (void)st;
  start_agent();
  assert_true(wait_beats(1, 5000));
  turn_result t;
  const char *a59 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  char text[128], want[128];
  snprintf(text, sizeof(text), "%s\xC3\xA9 and more", a59); /* é across the 60-byte mark */
  snprintf(want, sizeof(want), "%s\xE2\x80\xA6", a59);
  send_turn(text, &t);
  assert_true(wait_beats(2, 2000)); /* the push at turn start */
  assert_string_equal(json_field(beat(1)->body, "current_task"), want);
  assert_true(run_until(g_loop, &t.done, 5000));
  assert_true(wait_beats(3, 2000));
  snprintf(text, sizeof(text), "%sb", a59); /* exactly 60 */
  send_turn(text, &t);
  assert_true(wait_beats(4, 2000));
  assert_string_equal(json_field(beat(3)->body, "current_task"), text);
  assert_true(run_until(g_loop, &t.done, 5000));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(failed_turn_end_beat_carries_error),
      T(refused_push_counts_as_failure),
      T(long_task_is_cut_at_a_whole_character),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
