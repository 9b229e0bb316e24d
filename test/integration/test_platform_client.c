/* test_platform_client.c - the platform client against a scripted fake platform on loopback:
 * token store (TOK-*), register (REG-*), secrets (SEC-*), state (STA-*), heartbeat (HB-01),
 * tenant headers (TEN-*), 429 retry (RTY-*), and the added cases ADD-01/02/05/09/24, plus
 * deadlines, cancellation, 5xx and a reset in the middle of a body. */
#include "platform_testutil.h"

#include <time.h>

#include "platform_arms.h"

typedef struct {
  uv_loop_t loop;
  fake f;
  script s;
  char *dir;
  mol_platform_client *c;
} fx;

static fx *F;

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, script_handler, &F->s);
  F->s.dflt = (fake_resp){.status = 200, .body = "{}"};
  assert_int_equal(fake_listen(&F->f, 0), 0);
  F->dir = make_tmpdir();
  arms_start(&F->f.nlog);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  arms_stop();
  if (F->c) close_client(F->c);
  fake_stop(&F->f);
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  fake_free_log(&F->f);
  rm_tree(F->dir);
  free(F);
  return 0;
}

static mol_platform_client *mk(mol_platform_opts *o) {
  assert_int_equal(mol_platform_client_new(g_loop, o, &F->c), 0);
  return F->c;
}

static mol_platform_client *mk_default(void) {
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  return mk(&o);
}

static mol_platform_client *mk_with_token(const char *tok) {
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = tok;
  return mk(&o);
}

static const fake_req *req(int i) { return &F->f.log[i]; }

/* ---- token store ---- */

static void tok_01_roundtrip_mode_0600(void **st) {
  (void)st;
  mol_platform_client *c = mk_default();
  assert_false(mol_platform_has_token(c));
  assert_int_equal(mol_platform_save_token(c, "  tok-abcdef-0123456789\n"), 0);
  const char *p = path_in(F->dir, ".auth_token");
  assert_string_equal(read_file(p), "tok-abcdef-0123456789");
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(stat(F->dir, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0700);
  close_client(c);
  c = mk_default(); /* a new client reads it back */
  assert_true(mol_platform_has_token(c));
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_string_equal(fake_header(req(0), "Authorization"), "Bearer tok-abcdef-0123456789");
}

static void tok_02_blank_rejected(void **st) {
  (void)st;
  mol_platform_client *c = mk_default();
  assert_int_equal(mol_platform_save_token(c, ""), MOL_EINVAL);
  assert_int_equal(mol_platform_save_token(c, "   \n"), MOL_EINVAL);
  assert_null(read_file(path_in(F->dir, ".auth_token")));
  assert_false(mol_platform_has_token(c));
}

static void tok_03_04_absent_or_empty(void **st) {
  (void)st;
  mol_platform_client *c = mk_default();
  assert_false(mol_platform_has_token(c));
  close_client(c);
  write_file(path_in(F->dir, ".auth_token"), " \n\t\n");
  c = mk_default();
  assert_false(mol_platform_has_token(c));
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_null(fake_header(req(0), "Authorization")); /* no token: header left out */
}

static void tok_05_default_dir_under_home(void **st) {
  (void)st;
  char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", F->dir, 1);
  mol_platform_opts o = base_opts(F->f.port, NULL);
  mol_platform_client *c = mk(&o);
  assert_int_equal(mol_platform_save_token(c, "tok-home-0123456789"), 0);
  char want[1024];
  snprintf(want, sizeof(want), "%s/.molecule/%s/.auth_token", F->dir, WS_ID);
  assert_string_equal(read_file(want), "tok-home-0123456789");
  if (old) setenv("HOME", old, 1);
  free(old);
  /* an id that is not a safe path component is refused */
  o.workspace_id = "../etc";
  mol_platform_client *bad = NULL;
  assert_int_equal(mol_platform_client_new(g_loop, &o, &bad), MOL_EINVAL);
}

/* ADD-09: no truncation before lock, no umask window: the file appears whole, 0600, even with
 * a permissive umask, and the temp files are gone. */
static void add_09_atomic_0600_under_umask(void **st) {
  (void)st;
  mode_t old = umask(0);
  mol_platform_client *c = mk_default();
  assert_int_equal(mol_platform_save_token(c, "tok-first-0123456789"), 0);
  assert_int_equal(mol_platform_save_token(c, "tok-second-0123456789"), 0);
  umask(old);
  struct stat sb;
  assert_int_equal(stat(path_in(F->dir, ".auth_token"), &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_string_equal(read_file(path_in(F->dir, ".auth_token")), "tok-second-0123456789");
  char cmd[1100];
  snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c tmp", F->dir);
  FILE *p = popen(cmd, "r");
  char out[16] = {0};
  fgets(out, sizeof(out), p);
  pclose(p);
  assert_int_equal(atoi(out), 0);
}

/* ---- register ---- */

static void reg_01_saves_issued_token(void **st) {
  (void)st;
  script_push(&F->s, 200, NULL, "{\"status\":\"registered\",\"auth_token\":\"tok-issued-0123456789\"}");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_register(c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_true(cap.token_issued);
  assert_string_equal(req(0)->method, "POST");
  assert_string_equal(req(0)->path, "/registry/register");
  assert_null(fake_header(req(0), "Authorization"));
  assert_string_equal(fake_header(req(0), "Content-Type"), "application/json");
  assert_string_equal(json_field(req(0)->body, "id"), WS_ID);
  assert_string_equal(json_field(req(0)->body, "url"), "remote://no-inbound");
  assert_non_null(strstr(req(0)->body, "\"agent_card\":{\"name\":\"remote-agent-0f9e8d7c\"}"));
  assert_string_equal(read_file(path_in(F->dir, ".auth_token")), "tok-issued-0123456789");
  assert_true(mol_platform_has_token(c));
}

/* REG-02 / TEN-07 / ADD-05: a cached token goes out as the bearer on re-register. */
static void reg_02_bearer_on_reregister(void **st) {
  (void)st;
  script_push(&F->s, 200, NULL, "{\"status\":\"registered\"}");
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.org_id = "org-123";
  write_file(path_in(F->dir, ".auth_token"), "tok-cached-0123456789\n");
  mol_platform_client *c = mk(&o);
  capture cap = {0};
  mol_platform_register_opts ro = {.reported_url = "http://agent.example:9000",
                                   .agent_card_json = "{\"name\":\"x\",\"skills\":[]}"};
  assert_int_equal(mol_platform_register(c, &ro, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_false(cap.token_issued);
  assert_string_equal(fake_header(req(0), "Authorization"), "Bearer tok-cached-0123456789");
  assert_string_equal(fake_header(req(0), "X-Molecule-Org-Id"), "org-123");
  char origin[64];
  snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", F->f.port);
  assert_string_equal(fake_header(req(0), "Origin"), origin);
  assert_string_equal(json_field(req(0)->body, "url"), "http://agent.example:9000");
  assert_non_null(strstr(req(0)->body, "\"agent_card\":{\"name\":\"x\",\"skills\":[]}"));
  assert_string_equal(read_file(path_in(F->dir, ".auth_token")), "tok-cached-0123456789\n");
}

/* agent_card_fn: a registration that waits for a connection (the only one is busy with a
 * state poll) has not built its card yet; once sent, the body carries the card it built. */
static char *card_of(void *arg) {
  int *calls = arg;
  ++*calls;
  return strdup("{\"name\":\"late\",\"skills\":[]}");
}

static void reg_card_built_when_sent(void **st) {
  (void)st;
  script_push(&F->s, 200, NULL, "{\"status\":\"online\"}");
  script_push(&F->s, 200, NULL, "{\"status\":\"registered\"}");
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.pool_max_conns = 1;
  mol_platform_client *c = mk(&o);
  capture poll = {0}, cap = {0};
  int calls = 0;
  assert_int_equal(mol_platform_poll_state(c, NULL, on_capture, &poll, NULL), 0);
  mol_platform_register_opts ro = {.reported_url = "http://agent.example:9000",
                                   .agent_card_fn = card_of, .card_arg = &calls};
  assert_int_equal(mol_platform_register(c, &ro, NULL, on_capture, &cap, NULL), 0);
  assert_int_equal(calls, 0); /* waiting at the gate: nothing built */
  wait_done(&poll, 3000);
  wait_done(&cap, 3000);
  assert_int_equal(poll.err, 0);
  assert_int_equal(cap.err, 0);
  assert_int_equal(calls, 1);
  assert_string_equal(req(1)->path, "/registry/register");
  assert_string_equal(json_field(req(1)->body, "url"), "http://agent.example:9000");
  assert_non_null(strstr(req(1)->body, "\"agent_card\":{\"name\":\"late\",\"skills\":[]}"));
}

static void reg_03_500_is_error(void **st) {
  (void)st;
  script_push(&F->s, 500, NULL, "{\"error\":\"registration failed\"}");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_register(c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 500);
  assert_string_equal(cap.error, "registration failed");
  mol_platform_register_opts bad = {.agent_card_json = "{not json"};
  assert_int_equal(mol_platform_register(c, &bad, NULL, on_capture, &cap, NULL), MOL_EJSON);
}

/* A 401 re-reads the token file and retries once when another process rotated it. */
static void reg_401_rereads_token_once(void **st) {
  (void)st;
  script_push(&F->s, 401, NULL, "{\"error\":\"invalid workspace auth token\"}");
  script_push(&F->s, 200, NULL, "{\"status\":\"registered\"}");
  mol_platform_client *c = mk_with_token("tok-old-0123456789");
  write_file(path_in(F->dir, ".auth_token"), "tok-new-0123456789");
  capture cap = {0};
  assert_int_equal(mol_platform_register(c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_int_equal(F->f.nlog, 2);
  assert_string_equal(fake_header(req(0), "Authorization"), "Bearer tok-old-0123456789");
  assert_string_equal(fake_header(req(1), "Authorization"), "Bearer tok-new-0123456789");
  /* unchanged file: no pointless second attempt */
  script_push(&F->s, 401, NULL, "{\"error\":\"invalid workspace auth token\"}");
  capture c2 = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &c2, NULL), 0);
  wait_done(&c2, 3000);
  assert_int_equal(c2.err, MOL_EHTTP);
  assert_int_equal(c2.status, 401);
  assert_int_equal(F->f.nlog, 3);
}

/* ---- secrets ---- */

static void sec_01_bearer_and_map(void **st) {
  (void)st;
  script_push(&F->s, 200, NULL, "{\"K\":\"V\",\"API_KEY\":\"sk-secret\"}");
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-sec-0123456789";
  o.org_id = "org-6"; /* TEN-06: bearer, org and Origin together on a GET */
  mol_platform_client *c = mk(&o);
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_string_equal(req(0)->method, "GET");
  assert_string_equal(req(0)->path, "/workspaces/" WS_ID "/secrets/values");
  assert_string_equal(fake_header(req(0), "Authorization"), "Bearer tok-sec-0123456789");
  assert_string_equal(fake_header(req(0), "X-Molecule-Org-Id"), "org-6");
  assert_non_null(fake_header(req(0), "Origin"));
  assert_string_equal(cap.body, "{\"K\":\"V\",\"API_KEY\":\"sk-secret\"}");
}

static void sec_02_null_body_is_empty_map(void **st) {
  (void)st;
  script_push(&F->s, 200, NULL, "null");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.body, "{}");
}

static void sec_03_401_is_error(void **st) {
  (void)st;
  script_push(&F->s, 401, NULL, "{\"error\":\"missing workspace auth token\"}");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 401);
  assert_string_equal(cap.error, "missing workspace auth token");
}

/* ---- state ---- */

static void state_case(int status, const char *body, int want_err, const char *want_state,
                       int paused, int deleted) {
  F->s.n = F->s.next = 0;
  script_push(&F->s, status, NULL, body);
  capture cap = {0};
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, want_err);
  if (want_state) assert_string_equal(cap.state, want_state);
  assert_int_equal(cap.paused, paused);
  assert_int_equal(cap.deleted, deleted);
}

/* STA-01..05: online, degraded, paused, 404 deleted, 500. */
static void sta_01_05_states(void **st) {
  (void)st;
  mk_default();
  state_case(200, "{\"workspace_id\":\"" WS_ID "\",\"status\":\"online\",\"paused\":false,\"deleted\":false}",
             0, "online", 0, 0);
  state_case(200, "{\"status\":\"degraded\",\"paused\":false,\"deleted\":false}", 0, "degraded", 0, 0);
  state_case(200, "{\"status\":\"paused\",\"paused\":true,\"deleted\":false}", 0, "paused", 1, 0);
  state_case(404, "{\"workspace_id\":\"" WS_ID "\",\"status\":\"removed\",\"deleted\":true}", 0,
             "removed", 0, 1);
  state_case(404, "{\"deleted\":true}", 0, "removed", 0, 1); /* hard delete: no status */
  state_case(500, "{\"error\":\"query failed\"}", MOL_EHTTP, NULL, 0, 0);
  assert_string_equal(req(0)->path, "/workspaces/" WS_ID "/state");
}

/* ADD-24: an empty 404 (tenant guard, WAF) is not a deletion. */
static void add_24_empty_404_is_misroute(void **st) {
  (void)st;
  mk_default();
  F->s.n = F->s.next = 0;
  script_push(&F->s, 404, NULL, "");
  capture cap = {0};
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_true(cap.misrouted);
  assert_false(cap.deleted);
  state_case(404, "{\"error\":\"workspace not found\"}", MOL_EHTTP, NULL, 0, 0);
}

/* ---- heartbeat ---- */

static void hb_01_full_payload_and_tenant(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-hb-0123456789";
  o.org_id = "org-9";
  mol_platform_client *c = mk(&o);
  mol_platform_heartbeat_payload p = {.current_task = "summarise \"doc\"\n", .active_tasks = 2,
                                      .error_rate = 0.25, .sample_error = "boom",
                                      .capabilities = MOL_PLATFORM_CAP_SESSION,
                                      .idle_timeout_seconds = 900};
  capture cap = {0};
  assert_int_equal(mol_platform_heartbeat(c, &p, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  const fake_req *r = req(0);
  assert_string_equal(r->path, "/registry/heartbeat");
  assert_string_equal(fake_header(r, "Authorization"), "Bearer tok-hb-0123456789");
  assert_string_equal(fake_header(r, "X-Molecule-Org-Id"), "org-9");
  assert_non_null(fake_header(r, "Origin"));
  assert_string_equal(json_field(r->body, "workspace_id"), WS_ID);
  assert_non_null(strstr(r->body, "\"current_task\":\"summarise \\\"doc\\\"\\n\""));
  assert_string_equal(json_field(r->body, "active_tasks"), "2");
  assert_string_equal(json_field(r->body, "error_rate"), "0.25");
  assert_string_equal(json_field(r->body, "sample_error"), "boom");
  assert_string_equal(json_field(r->body, "uptime_seconds"), "0");
  assert_non_null(strstr(r->body, "\"session\":true"));
  assert_string_equal(json_field(r->body, "idle_timeout_seconds"), "900");
}

/* ADD-02: a 429 on a POST is not retried; its Retry-After is surfaced. */
static void add_02_post_429_not_retried(void **st) {
  (void)st;
  script_push(&F->s, 429, "Retry-After: 7\r\n", "{\"error\":\"rate limit exceeded\"}");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_heartbeat(c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 429);
  assert_int_equal(cap.retry_after_ms, 7000);
  run_for(g_loop, 100);
  assert_int_equal(F->f.nlog, 1);
}

/* ---- tenant headers ---- */

static void tenant_case(const char *url_suffix, const char *org, const char *origin,
                        int no_origin, const char *want_origin, const char *want_org) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", F->f.port, url_suffix);
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.platform_url = url;
  o.org_id = org;
  o.origin = origin;
  o.no_origin = no_origin;
  mol_platform_client *c = mk(&o);
  int before = F->f.nlog;
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  const fake_req *r = req(before);
  const char *got = fake_header(r, "Origin");
  if (want_origin) assert_string_equal(got, want_origin);
  else assert_null(got);
  got = fake_header(r, "X-Molecule-Org-Id");
  if (want_org) assert_string_equal(got, want_org);
  else assert_null(got);
  close_client(c);
  F->c = NULL;
}

/* TEN-01..05: derived Origin (reduced to scheme://host:port), explicit, disabled, org id. */
static void ten_01_05_headers(void **st) {
  (void)st;
  char want[64];
  snprintf(want, sizeof(want), "http://127.0.0.1:%d", F->f.port);
  tenant_case("/api/v1/", NULL, NULL, 0, want, NULL);
  tenant_case("", NULL, "https://app.moleculesai.app", 0, "https://app.moleculesai.app", NULL);
  tenant_case("", NULL, NULL, 1, NULL, NULL);
  tenant_case("", "org-7", NULL, 0, want, "org-7");
  tenant_case("", NULL, NULL, 1, NULL, NULL);
  assert_string_equal(req(0)->path, "/api/v1/workspaces/" WS_ID "/secrets/values");
}

/* ---- 429 retry ---- */

static capture get_secrets(void) {
  capture cap = {0};
  assert_int_equal(mol_platform_pull_secrets(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 10000);
  return cap;
}

/* RTY-01/02/03/10: 200 once; headers; 429 then 200; 500 not retried. */
static void rty_01_03_10_basic(void **st) {
  (void)st;
  mk_with_token("tok-rty-0123456789");
  capture cap = get_secrets();
  assert_int_equal(F->f.nlog, 1);
  assert_non_null(fake_header(req(0), "Authorization"));
  script_push(&F->s, 429, NULL, "{}");
  script_push(&F->s, 200, NULL, "{\"A\":\"1\"}");
  cap = get_secrets();
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.attempts, 2);
  assert_int_equal(F->f.nlog, 3);
  script_push(&F->s, 500, NULL, "{}");
  cap = get_secrets();
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.attempts, 1);
}

/* The retry sleeps armed since arm index `from`: exactly `n` of them, with these delays, and
 * each retry reached the platform no earlier than its sleep allowed (first_req: the index of
 * the first request of the call in the fake's log). */
static void assert_retry_sleeps(int from, int first_req, const uint64_t *want, int n) {
  arm_rec r[8];
  assert_int_equal(arms_of(MOL_PLATFORM__ARM_RETRY, from, r, 8), n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(r[i].delay_ms, want[i]);
    assert_int_equal(r[i].nlog, first_req + i + 1); /* armed after attempt i's answer */
    assert_true(req(first_req + i + 1)->at_ms >= r[i].at_ms + r[i].delay_ms);
  }
}

/* RTY-04/05/06 (RTY-14): Retry-After seconds honoured, fractions round up, capped. */
static void rty_04_06_retry_after_seconds(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.retry.cap_ms = 1500;
  mk(&o);
  script_push(&F->s, 429, "Retry-After: 1\r\n", "{}");
  script_push(&F->s, 200, NULL, "{}");
  int from = g_arms.n;
  capture cap = get_secrets();
  assert_retry_sleeps(from, 0, (uint64_t[]){1000}, 1);
  script_push(&F->s, 429, "Retry-After: 0.2\r\n", "{}"); /* rounds up to 1 s */
  script_push(&F->s, 200, NULL, "{}");
  from = g_arms.n;
  cap = get_secrets();
  assert_retry_sleeps(from, 2, (uint64_t[]){1000}, 1);
  script_push(&F->s, 429, "Retry-After: 120\r\n", "{}"); /* capped at cap_ms */
  script_push(&F->s, 200, NULL, "{}");
  from = g_arms.n;
  cap = get_secrets();
  assert_retry_sleeps(from, 4, (uint64_t[]){1500}, 1);
  assert_int_equal(cap.err, 0);
}

/* RTY-07/08/09: computed back-off 1x, 2x, 4x the base; 4 attempts; the final 429 returned. */
static void rty_07_09_exhausted(void **st) {
  (void)st;
  mk_default();
  F->s.dflt = (fake_resp){.status = 429, .body = "{\"error\":\"rate limit exceeded\"}"};
  int from = g_arms.n;
  capture cap = get_secrets();
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 429);
  assert_int_equal(F->f.nlog, 4);
  assert_retry_sleeps(from, 0, (uint64_t[]){20, 40, 80}, 3);
}

/* The back-off is capped by cap_ms: 20, 40, then 50 and 50 (not 80, 160). */
static void rty_backoff_capped(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.retry.cap_ms = 50;
  o.retry.max_retries = 4;
  mk(&o);
  F->s.dflt = (fake_resp){.status = 429, .body = "{}"};
  int from = g_arms.n;
  capture cap = get_secrets();
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.attempts, 5);
  assert_retry_sleeps(from, 0, (uint64_t[]){20, 40, 50, 50}, 4);
}

/* RTY-11/12/13: state poll retry on 429; persistent 429 -> error after 4; 404 not retried. */
static void rty_11_13_state(void **st) {
  (void)st;
  mk_default();
  script_push(&F->s, 429, "Retry-After: 0\r\n", "{}");
  script_push(&F->s, 200, NULL, "{\"status\":\"online\",\"paused\":false,\"deleted\":false}");
  capture cap = {0};
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "online");
  F->s.n = F->s.next = 0;
  for (int i = 0; i < 4; i++) script_push(&F->s, 429, NULL, "{}");
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.attempts, 4);
  F->s.n = F->s.next = 0;
  script_push(&F->s, 404, NULL, "{\"deleted\":true}");
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_true(cap.deleted);
  assert_int_equal(cap.attempts, 1);
}

/* ADD-01: Retry-After as an HTTP-date is honoured to the second; garbage and negatives fall
 * back to the computed back-off. */
static void add_01_retry_after_forms(void **st) {
  (void)st;
  mk_default();
  static char hdr[96];
  time_t t = time(NULL) + 2;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(hdr, sizeof(hdr), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  script_push(&F->s, 429, hdr, "{}");
  script_push(&F->s, 200, NULL, "{}");
  int from = g_arms.n;
  capture cap = get_secrets();
  arm_rec r[4];
  assert_int_equal(arms_of(MOL_PLATFORM__ARM_RETRY, from, r, 4), 1);
  /* the date less the second the client read: the observer read its clock just after, so
   * that second or the one before */
  int64_t left = (int64_t)t - r[0].unix_s;
  assert_true(r[0].delay_ms == (uint64_t)left * 1000 || r[0].delay_ms == (uint64_t)(left + 1) * 1000);
  assert_true(r[0].delay_ms >= 1000);
  assert_true(req(1)->at_ms >= r[0].at_ms + r[0].delay_ms);
  script_push(&F->s, 429, "Retry-After: soon\r\n", "{}");
  script_push(&F->s, 429, "Retry-After: -3\r\n", "{}");
  script_push(&F->s, 200, NULL, "{}");
  from = g_arms.n;
  cap = get_secrets(); /* the computed 20 ms + 40 ms: not an error, not a hang */
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.attempts, 3);
  assert_retry_sleeps(from, 2, (uint64_t[]){20, 40}, 2);
}

/* Optional 5xx/transport retry for GETs (off by default, RTY-10 above). */
static void retry_server_errors_opt_in(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.retry.retry_server_errors = 1;
  mk(&o);
  script_push(&F->s, 503, NULL, "{}");
  F->s.q[F->s.n++] = (fake_resp){.action = FAKE_CLOSE};
  script_push(&F->s, 200, NULL, "{\"K\":\"V\"}");
  capture cap = get_secrets();
  assert_int_equal(cap.err, 0);
  /* the close on a pooled connection is retried inside the HTTP client itself */
  assert_int_equal(F->f.nlog, 3);
  assert_true(cap.attempts >= 2);
}

/* ---- faults, deadlines, cancellation ---- */

static void reset_mid_body_is_an_error(void **st) {
  (void)st;
  mk_default();
  F->s.q[F->s.n++] = (fake_resp){.status = 200, .body = "{\"K\":\"a long value here\"}",
                                 .action = FAKE_RESET_MID_BODY};
  capture cap = get_secrets();
  assert_true(cap.err < 0);
  assert_true(cap.err != MOL_EHTTP);
  script_push(&F->s, 200, NULL, "{}"); /* the pool recovers */
  cap = get_secrets();
  assert_int_equal(cap.err, 0);
}

static void deadline_and_per_attempt_timeout(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.timeout_ms = 600000; /* far off: only the call's deadline can end a hang before the wait */
  mk(&o);
  F->s.dflt = (fake_resp){.action = FAKE_HANG};
  capture cap = {0};
  mol_platform_call call = {.deadline_ms = 200};
  uint64_t t0 = uv_now(g_loop);
  assert_int_equal(mol_platform_pull_secrets(F->c, &call, on_capture, &cap, NULL), 0);
  wait_done(&cap, 30000);
  assert_int_equal(cap.err, MOL_ETIMEDOUT);
  assert_true(cap.finished_ms - t0 >= 190);
  assert_int_equal(cap.attempts, 1);
  /* a deadline shorter than a Retry-After sleep ends with the 429 itself: one attempt, no
   * sleep through the 120 s the server asked for */
  F->s.dflt = (fake_resp){.status = 429, .headers = "Retry-After: 120\r\n", .body = "{}"};
  memset(&cap, 0, sizeof(cap));
  int before = F->f.nlog;
  assert_int_equal(mol_platform_pull_secrets(F->c, &call, on_capture, &cap, NULL), 0);
  wait_done(&cap, 30000);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 429);
  assert_int_equal(cap.attempts, 1);
  assert_int_equal(F->f.nlog - before, 1);
}

static void cancel_in_flight_and_in_backoff(void **st) {
  (void)st;
  mk_default();
  F->s.dflt = (fake_resp){.action = FAKE_HANG};
  capture cap = {0};
  mol_platform_req *r;
  assert_int_equal(mol_platform_pull_secrets(F->c, NULL, on_capture, &cap, &r), 0);
  run_for(g_loop, 50);
  mol_platform_cancel(r);
  assert_int_equal(cap.calls, 0); /* never inside the cancel call */
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_ECANCELED);
  F->s.dflt = (fake_resp){.status = 429, .headers = "Retry-After: 10\r\n", .body = "{}"};
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_poll_state(F->c, NULL, on_capture, &cap, &r), 0);
  run_for(g_loop, 100);
  mol_platform_cancel(r);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_ECANCELED);
  /* a discover cache hit completes later too, and can be cancelled before it does */
}

static void close_completes_pending_with_shutdown(void **st) {
  (void)st;
  mk_default();
  F->s.dflt = (fake_resp){.action = FAKE_HANG};
  capture a = {0}, b = {0};
  assert_int_equal(mol_platform_pull_secrets(F->c, NULL, on_capture, &a, NULL), 0);
  assert_int_equal(mol_platform_heartbeat(F->c, NULL, NULL, on_capture, &b, NULL), 0);
  run_for(g_loop, 30);
  close_client(F->c);
  F->c = NULL;
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.err, MOL_ESHUTDOWN);
  assert_int_equal(b.err, MOL_ESHUTDOWN);
}

static void platform_down_is_transport_error(void **st) {
  (void)st;
  mk_default();
  fake_stop(&F->f);
  capture cap = {0};
  assert_int_equal(mol_platform_heartbeat(F->c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_ECONNREFUSED);
  assert_int_equal(cap.status, 0);
}

/* Secrets never reach the log: the issued token, the bearer and secret values, at DEBUG. */
static char g_log[65536];
static void log_sink(mol_log_level level, const char *line, void *arg) {
  (void)level;
  (void)arg;
  strncat(g_log, line, sizeof(g_log) - strlen(g_log) - 2);
  strcat(g_log, "\n");
}

static void secrets_never_logged(void **st) {
  (void)st;
  g_log[0] = '\0';
  mol_log_set_sink(log_sink, NULL);
  mol_log_set_level(MOL_LOG_TRACE);
  script_push(&F->s, 200, NULL, "{\"status\":\"registered\",\"auth_token\":\"zQ9xLeakCheckTokenValue0123456789abcdefghij\"}");
  script_push(&F->s, 401, NULL, "{\"error\":\"invalid workspace auth token\"}");
  script_push(&F->s, 200, NULL, "{\"DB_PASSWORD\":\"hunter2-very-secret-value\"}");
  mol_platform_client *c = mk_default();
  capture cap = {0};
  assert_int_equal(mol_platform_register(c, NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_true(cap.token_issued);
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_pull_secrets(c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  mol_log_set_sink(NULL, NULL);
  mol_log_set_level(MOL_LOG_INFO);
  assert_true(strlen(g_log) > 0);
  assert_null(strstr(g_log, "zQ9xLeakCheckTokenValue"));
  assert_null(strstr(g_log, "zQ9xLeak"));
  assert_null(strstr(g_log, "hunter2"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(tok_01_roundtrip_mode_0600),       T(tok_02_blank_rejected),
      T(tok_03_04_absent_or_empty),        T(tok_05_default_dir_under_home),
      T(add_09_atomic_0600_under_umask),   T(reg_01_saves_issued_token),
      T(reg_02_bearer_on_reregister),      T(reg_03_500_is_error),
      T(reg_401_rereads_token_once), T(reg_card_built_when_sent),       T(sec_01_bearer_and_map),
      T(sec_02_null_body_is_empty_map),    T(sec_03_401_is_error),
      T(sta_01_05_states),                 T(add_24_empty_404_is_misroute),
      T(hb_01_full_payload_and_tenant),    T(add_02_post_429_not_retried),
      T(ten_01_05_headers),                T(rty_01_03_10_basic),
      T(rty_04_06_retry_after_seconds),    T(rty_07_09_exhausted), T(rty_backoff_capped),
      T(rty_11_13_state),                  T(add_01_retry_after_forms),
      T(retry_server_errors_opt_in),       T(reset_mid_body_is_an_error),
      T(deadline_and_per_attempt_timeout), T(cancel_in_flight_and_in_backoff),
      T(close_completes_pending_with_shutdown), T(platform_down_is_transport_error),
      T(secrets_never_logged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
