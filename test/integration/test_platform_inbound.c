/* test_platform_inbound.c - poll-mode inbound: fetch_inbound (FIN-*, ADD-03/04), the cursor
 * and its file (POLL-07, ADD-11), reply (RPL-*), and the poll loop of
 * mol_platform_run (POLL-01/02/04/05/06/08, LOOP-04/06/07, ADD-25). */
#include "platform_testutil.h"

enum { R_ACT, R_NOTIFY, R_A2A, R_HB, R_STATE, R_OTHER, R_N };

typedef struct {
  uv_loop_t loop;
  fake f;
  script s[R_N];
  char *dir;
  mol_platform_client *c;
  int status_calls;
  mol_platform_status st;
  int dispatched;
  char seen[16][64];
  int reply_mode; /* 0 none, 1 reply with text, 2 record failure for the first */
} fx;

static fx *F;

static int route_of(const char *path) {
  if (strstr(path, "/activity")) return R_ACT;
  if (strstr(path, "/notify")) return R_NOTIFY;
  if (strstr(path, "/a2a")) return R_A2A;
  if (strstr(path, "/heartbeat")) return R_HB;
  if (strstr(path, "/state")) return R_STATE;
  return R_OTHER;
}

static void routed(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  script_handler(f, r, out, &((script *)arg)[route_of(r->path)]);
}

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, routed, F->s);
  for (int i = 0; i < R_N; i++) F->s[i].dflt = (fake_resp){.status = 200, .body = "{}"};
  F->s[R_ACT].dflt.body = "[]";
  F->s[R_STATE].dflt.body = "{\"status\":\"online\",\"paused\":false,\"deleted\":false}";
  assert_int_equal(fake_listen(&F->f, 0), 0);
  F->dir = make_tmpdir();
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-inbound-0123456789";
  o.cursor_file = path_in(F->dir, "state/cursor");
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
static const fake_req *last(int route) { return pt_last(&F->f, route_of, route); }

static capture fetch(const mol_platform_fetch_opts *o) {
  capture cap = {0};
  assert_int_equal(mol_platform_fetch_inbound(F->c, o, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 5000);
  return cap;
}

/* Two rows as the platform sends them without since_id: newest first (the
 * platform's older DESC order). The client hands them over oldest first. */
static const char *ROWS =
    "[{\"id\":\"act-2\",\"source_id\":\"" PEER_ID "\",\"data\":{\"source\":\"peer_agent\","
    "\"text\":\"hi from B\",\"peer_name\":\"B\"}},"
    "{\"id\":\"act-1\",\"type\":\"a2a_receive\",\"source_id\":\"user\",\"ts\":\"2026-01-01T00:00:00Z\","
    "\"data\":{\"source\":\"canvas_user\",\"text\":\"hello\"}}]";

/* FIN-01/05/10: path, default params, no empty filters; rows oldest first (upstream kept the
 * server's newest-first order here and so replayed messages). */
static void fin_01_05_10_basic(void **st) {
  (void)st;
  script_push(&F->s[R_ACT], 200, NULL, ROWS);
  mol_platform_fetch_opts o = {.peer_id = "", .before_ts = ""};
  capture cap = fetch(&o);
  assert_int_equal(cap.err, 0);
  assert_string_equal(req(0)->path, "/workspaces/" WS_ID "/activity?type=a2a_receive&limit=100");
  assert_string_equal(fake_header(req(0), "Authorization"), "Bearer tok-inbound-0123456789");
  assert_int_equal(cap.nmessages, 2);
  assert_string_equal(cap.msg_id[0], "act-1");
  assert_int_equal(cap.msgs[0].source, MOL_PLATFORM_SRC_CANVAS_USER);
  assert_string_equal(cap.msg_text[0], "hello");
  assert_int_equal(cap.msgs[1].source, MOL_PLATFORM_SRC_PEER_AGENT);
  assert_string_equal(cap.msg_sid[1], PEER_ID);
  assert_string_equal(cap.msg_pname[1], "B");
  cap = fetch(NULL);
  assert_int_equal(cap.nmessages, 0);
}

/* FIN-02/03/04: since_id, peer_id, before_ts (URL-encoded); the client's cursor by default. */
static void fin_02_04_filters(void **st) {
  (void)st;
  mol_platform_fetch_opts o = {.since_id = "act-9", .peer_id = PEER_ID,
                               .before_ts = "2026-01-01T00:00:00+01:00", .limit = 5,
                               .type = "a2a_receive"};
  fetch(&o);
  assert_string_equal(req(0)->path,
                      "/workspaces/" WS_ID "/activity?type=a2a_receive&limit=5&since_id=act-9"
                      "&peer_id=" PEER_ID "&before_ts=2026-01-01T00%3A00%3A00%2B01%3A00");
  assert_int_equal(mol_platform_set_cursor(F->c, "act-3"), 0);
  fetch(NULL);
  assert_non_null(strstr(req(1)->path, "&since_id=act-3"));
  mol_platform_fetch_opts ign = {.ignore_cursor = 1};
  fetch(&ign);
  assert_null(strstr(req(2)->path, "since_id"));
}

/* FIN-06 / POLL-06: 410 resets the cursor (memory and file). */
static void fin_06_410_cursor_lost(void **st) {
  (void)st;
  assert_int_equal(mol_platform_set_cursor(F->c, "act-old"), 0);
  script_push(&F->s[R_ACT], 410, NULL, "{\"error\":\"cursor gone\"}");
  capture cap = fetch(NULL);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_true(cap.cursor_lost);
  assert_null(mol_platform_cursor(F->c));
  assert_string_equal(read_file(path_in(F->dir, "state/cursor")), "");
}

/* FIN-07/08/09: items wrapper, malformed rows skipped, 401. */
static void fin_07_09_shapes(void **st) {
  (void)st;
  script_push(&F->s[R_ACT], 200, NULL,
              "{\"items\":[{\"id\":42,\"source_id\":\"user\",\"data\":{\"message\":\"alt\"}},5,\"s\","
              "{\"data\":{}},{\"id\":\"\"},{\"id\":\"a\",\"data\":{\"text\":\"x\"}}]}");
  capture cap = fetch(NULL);
  assert_int_equal(cap.nmessages, 2);
  assert_string_equal(cap.msg_id[0], "a");
  assert_int_equal(cap.msgs[0].source, MOL_PLATFORM_SRC_UNKNOWN);
  assert_string_equal(cap.msg_id[1], "42");
  assert_string_equal(cap.msg_text[1], "alt");
  script_push(&F->s[R_ACT], 200, NULL, "{\"rows\":[]}");
  cap = fetch(NULL);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.nmessages, 0);
  script_push(&F->s[R_ACT], 401, NULL, "{\"error\":\"invalid workspace auth token\"}");
  cap = fetch(NULL);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 401);
}

/* FIN-11 / ADD-03 / ADD-04: the first 429's Retry-After is honoured; a 410 during the retries
 * is still cursor-lost. */
static void fin_11_add_03_04_retries(void **st) {
  (void)st;
  script_push(&F->s[R_ACT], 429, "Retry-After: 1\r\n", "{}");
  script_push(&F->s[R_ACT], 200, NULL, ROWS);
  capture cap = fetch(NULL);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.nmessages, 2);
  assert_int_equal(count(R_ACT), 2);
  uint64_t gap = req(1)->at_ms - req(0)->at_ms;
  assert_true(gap >= 950);
  mol_platform_set_cursor(F->c, "act-7");
  script_push(&F->s[R_ACT], 429, "Retry-After: 0\r\n", "{}");
  script_push(&F->s[R_ACT], 410, NULL, "{}");
  cap = fetch(NULL);
  assert_true(cap.cursor_lost);
  assert_null(mol_platform_cursor(F->c));
}

/* POLL-07 / ADD-11: the cursor file is written atomically, 0600, and read back. */
static void poll_07_add_11_cursor_file(void **st) {
  (void)st;
  assert_int_equal(mol_platform_set_cursor(F->c, "act-77"), 0);
  const char *p = path_in(F->dir, "state/cursor");
  assert_string_equal(read_file(p), "act-77");
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  close_client(F->c);
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.cursor_file = p;
  assert_int_equal(mol_platform_client_new(g_loop, &o, &F->c), 0);
  assert_string_equal(mol_platform_cursor(F->c), "act-77");
}

/* RPL-01..06. */
static void rpl_01_06_reply(void **st) {
  (void)st;
  capture cap = {0};
  mol_platform_message canvas = {.activity_id = "a", .source = MOL_PLATFORM_SRC_CANVAS_USER,
                                 .source_id = "user"};
  assert_int_equal(mol_platform_reply(F->c, &canvas, "hi there", NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  const fake_req *r = last(R_NOTIFY);
  assert_string_equal(r->path, "/workspaces/" WS_ID "/notify");
  assert_string_equal(r->body, "{\"message\":\"hi there\"}");
  assert_string_equal(fake_header(r, "Authorization"), "Bearer tok-inbound-0123456789");
  mol_platform_message peer = {.activity_id = "b", .source = MOL_PLATFORM_SRC_PEER_AGENT,
                               .source_id = PEER_ID};
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_reply(F->c, &peer, "answer", NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  r = last(R_A2A);
  assert_string_equal(r->path, "/workspaces/" PEER_ID "/a2a");
  assert_string_equal(json_field(r->body, "method"), "message/send");
  assert_string_equal(json_field(r->body, "role"), "agent");
  assert_string_equal(fake_header(r, "X-Source-Workspace-Id"), WS_ID);
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  int before = F->f.nlog;
  mol_platform_message unknown = {.activity_id = "c"};
  assert_int_equal(mol_platform_reply(F->c, &unknown, "x", NULL, on_capture, &cap, NULL), MOL_EINVAL);
  assert_int_equal(mol_platform_reply(F->c, &canvas, "", NULL, on_capture, &cap, NULL), MOL_EINVAL);
  assert_int_equal(mol_platform_reply(F->c, &canvas, "   ", NULL, on_capture, &cap, NULL), MOL_EINVAL);
  mol_platform_message nosid = {.activity_id = "d", .source = MOL_PLATFORM_SRC_PEER_AGENT,
                                .source_id = ""};
  assert_int_equal(mol_platform_reply(F->c, &nosid, "x", NULL, on_capture, &cap, NULL), MOL_EINVAL);
  run_for(g_loop, 50);
  assert_int_equal(F->f.nlog, before); /* nothing was sent */
  script_push(&F->s[R_NOTIFY], 500, NULL, "{\"error\":\"x\"}");
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_reply(F->c, &canvas, "hi", NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 500);
}

/* ---- the poll loop ---- */

static void on_status(mol_platform_status st, int err, const char *server_status, void *arg) {
  (void)err;
  (void)server_status;
  (void)arg;
  F->status_calls++;
  F->st = st;
}

static void on_reply_done(int err, const mol_platform_result *res, void *arg) {
  (void)err;
  (void)res;
  (void)arg;
}

static void on_message(mol_platform_client *c, const mol_platform_message *m, void *arg) {
  (void)arg;
  snprintf(F->seen[F->dispatched % 16], 64, "%s", m->activity_id);
  F->dispatched++;
  if (F->reply_mode == 1) mol_platform_reply(c, m, "echo", NULL, on_reply_done, NULL, NULL);
  if (F->reply_mode == 2) mol_platform_record_outcome(c, F->dispatched != 1, "handler failed");
}

static void start_loop(unsigned hb_ms, unsigned state_ms, unsigned inbound_ms) {
  mol_platform_run_opts o = {.heartbeat_interval_ms = hb_ms, .state_poll_interval_ms = state_ms,
                             .inbound_interval_ms = inbound_ms, .on_message = on_message};
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), MOL_EBUSY);
}

static void stop_loop(void) {
  mol_platform_stop(F->c);
  assert_int_equal(F->status_calls, 0); /* never inside stop */
  int one = 1;
  (void)one;
  for (int i = 0; i < 100 && !F->status_calls; i++) uv_run(g_loop, UV_RUN_ONCE);
  assert_int_equal(F->status_calls, 1);
  assert_int_equal(F->st, MOL_PLATFORM_STOPPED);
}

/* POLL-01/04 + LOOP-04: dispatched in order, cursor = last id (saved), replies sent. */
static void poll_01_04_dispatch_and_reply(void **st) {
  (void)st;
  F->reply_mode = 1;
  script_push(&F->s[R_ACT], 200, NULL, ROWS);
  start_loop(10000, 10000, 50);
  run_for(g_loop, 300);
  stop_loop();
  assert_int_equal(F->dispatched, 2);
  assert_string_equal(F->seen[0], "act-1");
  assert_string_equal(F->seen[1], "act-2");
  assert_string_equal(mol_platform_cursor(F->c), "act-2");
  assert_string_equal(read_file(path_in(F->dir, "state/cursor")), "act-2");
  assert_int_equal(count(R_NOTIFY), 1); /* canvas -> notify */
  assert_int_equal(count(R_A2A), 1);    /* peer -> a2a */
  assert_string_equal(last(R_NOTIFY)->body, "{\"message\":\"echo\"}");
  assert_non_null(strstr(last(R_ACT)->path, "since_id=act-2")); /* the next poll */
}

/* POLL-02: a failing handler still advances the cursor, and the loop reports the
 * failure rate and sample in the next heartbeat. POLL-05: no reply -> no POST. */
static void poll_02_05_failure_reported(void **st) {
  (void)st;
  F->reply_mode = 2;
  script_push(&F->s[R_ACT], 200, NULL, ROWS);
  start_loop(150, 150, 30);
  run_for(g_loop, 400);
  stop_loop();
  assert_int_equal(F->dispatched, 2);
  assert_string_equal(mol_platform_cursor(F->c), "act-2");
  assert_int_equal(count(R_NOTIFY) + count(R_A2A), 0);
  int found = 0;
  for (int i = 0; i < F->f.nlog; i++)
    if (route_of(req(i)->path) == R_HB && strstr(req(i)->body, "\"error_rate\":0.5,") &&
        strstr(req(i)->body, "\"sample_error\":\"handler failed\""))
      found = 1;
  assert_true(found);
  /* after a successful report the counters start again */
  assert_non_null(strstr(last(R_HB)->body, "\"error_rate\":0,"));
}

/* POLL-06 in the loop: 410 -> nothing dispatched, the cursor reset, the loop goes on. */
static void poll_06_410_in_loop(void **st) {
  (void)st;
  mol_platform_set_cursor(F->c, "act-gone");
  script_push(&F->s[R_ACT], 410, NULL, "{}");
  start_loop(10000, 10000, 30);
  run_for(g_loop, 200);
  stop_loop();
  assert_int_equal(F->dispatched, 0);
  assert_null(mol_platform_cursor(F->c));
  assert_true(count(R_ACT) >= 2);
  assert_null(strstr(last(R_ACT)->path, "since_id"));
}

/* POLL-08: after stop nothing more is fetched. LOOP-06: a failing poll does not stop the loop. */
static void poll_08_loop_06_stop_and_errors(void **st) {
  (void)st;
  F->s[R_ACT].dflt = (fake_resp){.status = 500, .body = "{\"error\":\"x\"}"};
  start_loop(100, 100, 30);
  run_for(g_loop, 350);
  assert_true(count(R_ACT) >= 3);
  assert_true(count(R_HB) >= 3);
  stop_loop();
  int n = count(R_ACT);
  run_for(g_loop, 200);
  assert_int_equal(count(R_ACT), n);
}

/* LOOP-07 / ADD-25: the heartbeat keeps its own cadence while the inbound poll runs faster. */
static void loop_07_add_25_cadences(void **st) {
  (void)st;
  start_loop(400, 400, 40);
  run_for(g_loop, 1000);
  stop_loop();
  int hb = count(R_HB), polls = count(R_ACT);
  assert_true(hb >= 2 && hb <= 4);
  assert_true(polls >= 15);
}

/* LOOP-03: with inbound polling on, max_heartbeats still bounds the loop (3 beats, >= 3 polls). */
static void loop_03_max_iterations_with_inbound(void **st) {
  (void)st;
  mol_platform_run_opts o = {.heartbeat_interval_ms = 40, .state_poll_interval_ms = 40,
                             .inbound_interval_ms = 40, .on_message = on_message,
                             .max_heartbeats = 3};
  assert_int_equal(mol_platform_run(F->c, &o, on_status, NULL), 0);
  volatile int *flag = &F->status_calls;
  assert_true(run_until(g_loop, flag, 3000));
  assert_int_equal(F->st, MOL_PLATFORM_MAX_ITERATIONS);
  assert_int_equal(count(R_HB), 3);
  assert_int_equal(count(R_STATE), 3);
  assert_true(count(R_ACT) >= 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(fin_01_05_10_basic),           T(fin_02_04_filters),
      T(fin_06_410_cursor_lost),       T(fin_07_09_shapes),
      T(fin_11_add_03_04_retries),     T(poll_07_add_11_cursor_file),
      T(rpl_01_06_reply),              T(poll_01_04_dispatch_and_reply),
      T(poll_02_05_failure_reported),  T(poll_06_410_in_loop),
      T(poll_08_loop_06_stop_and_errors), T(loop_07_add_25_cadences),
      T(loop_03_max_iterations_with_inbound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
