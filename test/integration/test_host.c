/* test_host.c - agents and the host over real sockets, against the in-process dev platform
 * (temporary SQLite database, dev mode): three agents behind one listener, reachable directly
 * and through the platform's A2A proxy; heartbeats carry runtime_metadata; an operator pause
 * ends one agent PAUSED and a delete another DELETED while the rest serve; /metrics is valid
 * Prometheus text; and a snapshot written at stop reaches the restore hook of the next start
 * and is then deleted. */
#include "platform_testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <sys/socket.h>

#include "base/json.h"
#include "devplatform/devplatform.h"
#include "devplatform/dp_int.h" /* the platform's runtime overrides, set by heartbeats */
#include "http/client.h"
#include "runtime/agent.h"
#include "runtime/host.h"

typedef struct {
  uv_loop_t loop;
  mol_devplatform *dp;
  mol_http_client *http;
  char *dir;
  char base[128];
  mol_host *host;
  int host_ended, dp_closed, http_closed;
  char ended_name[8][32];
  mol_agent_end ended_why[8];
  int n_ended;
} fx;

static fx *F;

/* ---- HTTP helpers ---- */

typedef struct {
  int done, status;
  char body[16384];
} op_result;

static void op_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  op_result *o = arg;
  o->done = 1;
  o->status = err ? err : resp->status;
  if (!err && resp->body) snprintf(o->body, sizeof(o->body), "%s", resp->body);
}

static void req(const char *method, const char *url, const char *body, const mol_http_header *h,
                size_t nh, op_result *out) {
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = nh,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = 8000};
  memset(out, 0, sizeof(*out));
  assert_int_equal(mol_http_request_send(F->http, &o, op_done, out, NULL), 0);
  assert_true(run_until(g_loop, &out->done, 9000));
}

static op_result *op(const char *method, const char *path, const char *body) {
  static op_result r;
  char url[512];
  snprintf(url, sizeof(url), "%s%s", F->base, path);
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  req(method, url, body, h, 1, &r);
  return &r;
}

static void create_ws(const char *name, char id[64]) {
  char body[128];
  snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
  op_result *r = op("POST", "/workspaces", body);
  assert_int_equal(r->status, 201);
  json_t *v = mol_json_parse(r->body, strlen(r->body), NULL, 0);
  snprintf(id, 64, "%s", mol_json_str(v, "id"));
  json_decref(v);
}

static const char *send_body(const char *text) {
  static char b[512];
  snprintf(b, sizeof(b),
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"m-%s\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}",
           text, text);
  return b;
}

static void call_direct(const char *agent, const char *text, op_result *out) {
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/%s/", mol_host_port(F->host), agent);
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  req("POST", url, send_body(text), h, 1, out);
}

/* ---- fixture ---- */

static void on_dp_closed(void *arg) { (void)arg; F->dp_closed = 1; }
static void on_http_closed(void *arg) { (void)arg; F->http_closed = 1; }

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  F->dir = make_tmpdir();
  mol_devplatform_opts o = {.db_path = path_in(F->dir, "dev.db"), .dev = 1};
  assert_int_equal(mol_devplatform_new(g_loop, &o, &F->dp), 0);
  assert_int_equal(mol_devplatform_listen(F->dp, "127.0.0.1", 0), 0);
  snprintf(F->base, sizeof(F->base), "http://127.0.0.1:%d", mol_devplatform_port(F->dp));
  assert_int_equal(mol_http_client_new(g_loop, NULL, &F->http), 0);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  mol_devplatform_close(F->dp, on_dp_closed, NULL);
  mol_http_client_close(F->http, on_http_closed, NULL);
  assert_true(run_until(g_loop, &F->dp_closed, 10000));
  assert_true(run_until(g_loop, &F->http_closed, 10000));
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  rm_tree(F->dir);
  free(F);
  return 0;
}

static void on_agent_end(mol_host *h, const char *name, mol_agent_end why, int err, void *arg) {
  (void)h;
  (void)err;
  (void)arg;
  snprintf(F->ended_name[F->n_ended], 32, "%s", name);
  F->ended_why[F->n_ended++] = why;
}

static void on_host_end(mol_host *h, void *arg) {
  (void)h;
  (void)arg;
  F->host_ended = 1;
}

/* ---- the host file, built as a parsed document ---- */

static void host_config(mol_host_config *cfg, char ids[3][64]) {
  char tokdir[3][256];
  for (int i = 0; i < 3; i++) snprintf(tokdir[i], sizeof(tokdir[i]), "%s/tok%d", F->dir, i);
  json_t *doc = json_pack(
    "{s:s, s:s, s:[{s:s, s:s, s:s, s:{s:b}, s:i}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
    "listen", "127.0.0.1:0", "platform_url", F->base, "agents",
    "name", "a", "workspace_id", ids[0], "token_dir", tokdir[0], "capabilities", "session", 1,
    "idle_timeout_seconds", 900,
    "name", "b", "workspace_id", ids[1], "token_dir", tokdir[1],
    "name", "c", "workspace_id", ids[2], "token_dir", tokdir[2]);
  char err[256] = "";
  int rc = mol_host_config_from_json(doc, F->dir, cfg, err, sizeof(err));
  if (rc) fprintf(stderr, "config: %s\n", err);
  assert_int_equal(rc, 0);
  json_decref(doc);
  for (size_t i = 0; i < cfg->n_agents; i++) { /* seconds are too slow for a test */
    cfg->agents[i].opts.heartbeat_ms = 100;
    cfg->agents[i].opts.state_poll_ms = 100;
  }
}

static int all_heartbeating(void) {
  const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    mol_agent *a = mol_host_agent(F->host, names[i]);
    mol_agent_stats s;
    if (!a) return 0;
    mol_agent_stats_get(a, &s);
    if (s.heartbeats < 2 || strcmp(s.platform_status, "online") != 0) return 0;
  }
  return 1;
}

static void wait_for(int (*cond)(void), unsigned ms) {
  uint64_t end = uv_now(g_loop) + ms;
  while (!cond() && uv_now(g_loop) < end) run_for(g_loop, 20);
  assert_true(cond());
}

/* ---- checks ---- */

static void through_proxy(const char *from_id, int from_idx, const char *to_id, const char *text) {
  char url[256], tokpath[256], auth[256];
  snprintf(url, sizeof(url), "%s/workspaces/%s/a2a", F->base, to_id);
  snprintf(tokpath, sizeof(tokpath), "%s/tok%d/.auth_token", F->dir, from_idx);
  const char *tok = read_file(tokpath); /* a static buffer */
  assert_non_null(tok);
  snprintf(auth, sizeof(auth), "Bearer %.200s", tok);
  mol_http_header h[] = {{"Content-Type", "application/json"}, {"Authorization", auth},
                         {"X-Workspace-ID", from_id}};
  static op_result r;
  req("POST", url, send_body(text), h, 3, &r);
  assert_int_equal(r.status, 200);
  char want[128];
  snprintf(want, sizeof(want), "echo: %s", text);
  assert_non_null(strstr(r.body, want));
}

/* GET /agents/a/transcript: fail closed without the workspace's own token, 400 on bad
 * numbers, and the turns as transcript lines with a cursor. */
static void check_transcript(void) {
  char url[256], tokpath[256], auth[256];
  static op_result r;
  snprintf(tokpath, sizeof(tokpath), "%s/tok0/.auth_token", F->dir);
  const char *tok = read_file(tokpath);
  assert_non_null(tok);
  snprintf(auth, sizeof(auth), "Bearer %.200s", tok);
  mol_http_header good[] = {{"Authorization", auth}};
  mol_http_header wrong[] = {{"Authorization", "Bearer not-the-token"}};
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/a/transcript", mol_host_port(F->host));
  req("GET", url, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 401);
  req("GET", url, NULL, wrong, 1, &r);
  assert_int_equal(r.status, 401);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/a/transcript?since=x", mol_host_port(F->host));
  req("GET", url, NULL, good, 1, &r);
  assert_int_equal(r.status, 400);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/a/transcript?since=0&limit=50", mol_host_port(F->host));
  req("GET", url, NULL, good, 1, &r);
  assert_int_equal(r.status, 200);
  json_t *v = json_loads(r.body, 0, NULL);
  assert_non_null(v);
  assert_true(json_is_true(json_object_get(v, "supported")));
  assert_true(json_array_size(json_object_get(v, "lines")) >= 2); /* "direct", "via-proxy" */
  assert_non_null(strstr(r.body, "via-proxy"));
  assert_true(json_integer_value(json_object_get(v, "cursor")) >= 2);
  json_decref(v);
}

static void check_metrics(void) {
  static op_result r;
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", mol_host_port(F->host));
  req("GET", url, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  regex_t line;
  assert_int_equal(regcomp(&line, "^(# (HELP|TYPE) [a-z_][a-z0-9_]* .+|"
                                  "[a-z_][a-z0-9_]*(\\{[a-z_]+=\"[^\"]*\""
                                  "(,[a-z_]+=\"[^\"]*\")*\\})? -?[0-9.e+-]+)$", REG_EXTENDED), 0);
  char *save = NULL;
  for (char *l = strtok_r(r.body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (regexec(&line, l, 0, NULL, 0) != 0) fail_msg("not Prometheus text: '%s'", l);
  }
  regfree(&line);
  req("GET", url, NULL, NULL, 0, &r); /* strtok_r cut the first copy */
  const char *want[] = {
    "molecule_agent_turns_total{agent=\"a\"} 2\n",
    "molecule_agent_turn_duration_seconds_count{agent=\"a\"} 2\n",
    "molecule_agent_turn_duration_seconds_bucket{agent=\"a\",le=\"+Inf\"} 2\n",
    "molecule_agent_live_turns{agent=\"b\"} 0\n",
    "molecule_agent_pending_replies{agent=\"c\"} 0\n",
    "molecule_agent_errors_total{agent=\"a\"} 0\n",
    "# TYPE molecule_a2a_tasks_evicted_total counter\n",
    "molecule_a2a_tasks_evicted_total{agent=\"a\"} 0\n",
    "# TYPE molecule_a2a_task_store_bytes gauge\n",
    "# TYPE molecule_a2a_push_sent_total counter\n",
    "# TYPE molecule_a2a_push_failed_total counter\n",
    "# TYPE molecule_a2a_push_retries_total counter\n",
    "molecule_a2a_push_configs{agent=\"a\"} 0\n",
    "molecule_a2a_push_pending{agent=\"a\"} 0\n",
    "# TYPE molecule_agent_heartbeats_total counter\n",
    "# TYPE molecule_agent_heartbeat_failures_total counter\n",
    "molecule_agent_up{agent=\"a\"} 1\n",
    "molecule_host_agents 3\n"};
  for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
    if (!strstr(r.body, want[i])) fail_msg("missing '%s' in:\n%s", want[i], r.body);
}

static int ended_n;
static int enough_ended(void) { return F->n_ended >= ended_n; }

static void pause_and_delete(char ids[3][64]) {
  char path[128];
  snprintf(path, sizeof(path), "/workspaces/%s/pause", ids[1]);
  assert_int_equal(op("POST", path, "{}")->status, 200);
  ended_n = 1;
  wait_for(enough_ended, 5000);
  assert_string_equal(F->ended_name[0], "b");
  assert_int_equal(F->ended_why[0], MOL_AGENT_PAUSED);
  assert_null(mol_host_agent(F->host, "b"));
  static op_result r;
  call_direct("a", "still-here", &r); /* the others keep serving */
  assert_non_null(strstr(r.body, "echo: still-here"));
  snprintf(path, sizeof(path), "/workspaces/%s?confirm=true", ids[2]);
  assert_int_equal(op("DELETE", path, NULL)->status, 200);
  ended_n = 2;
  wait_for(enough_ended, 5000);
  assert_string_equal(F->ended_name[1], "c");
  assert_int_equal(F->ended_why[1], MOL_AGENT_DELETED);
  call_direct("b", "gone", &r);
  assert_int_equal(r.status, 404);
}

static void three_agents(void **st) {
  (void)st;
  char ids[3][64];
  create_ws("A", ids[0]);
  create_ws("B", ids[1]);
  create_ws("C", ids[2]);
  mol_host_config cfg;
  host_config(&cfg, ids);
  mol_host_callbacks cbs = {.on_agent_end = on_agent_end, .on_end = on_host_end};
  assert_int_equal(mol_host_start_config(g_loop, &cfg, &cbs, &F->host), 0);
  mol_host_config_free(&cfg);
  wait_for(all_heartbeating, 8000);
  /* runtime_metadata arrived: the platform holds a's capability map and idle override */
  assert_true(mol_dp__rt_cap(F->dp, ids[0], "session"));
  assert_int_equal(mol_dp__rt_get(F->dp, ids[0], 0)->idle_override_s, 900);
  assert_false(mol_dp__rt_cap(F->dp, ids[1], "session"));
  static op_result r;
  call_direct("a", "direct", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "echo: direct"));
  through_proxy(ids[1], 1, ids[0], "via-proxy");     /* b -> a */
  through_proxy(ids[0], 0, ids[2], "to-c");          /* a -> c */
  through_proxy(ids[2], 2, ids[1], "to-b");          /* c -> b */
  check_transcript();
  check_metrics();
  pause_and_delete(ids);
  mol_host_stop(F->host);
  assert_true(run_until(g_loop, &F->host_ended, 15000));
  assert_int_equal(F->n_ended, 3);
  assert_int_equal(F->ended_why[2], MOL_AGENT_STOPPED);
}

/* ---- snapshot and restore (standalone agent) ---- */

typedef struct {
  int ended, restored;
  mol_agent_end why;
  char first_line[128];
} agent_obs;

static void on_end_obs(mol_agent *a, mol_agent_end why, int err, void *arg) {
  (void)a;
  (void)err;
  agent_obs *o = arg;
  o->ended = 1;
  o->why = why;
}

static void on_restore(const json_t *state, void *arg) {
  agent_obs *o = arg;
  o->restored++;
  json_t *lines = json_object_get(state, "transcript_lines");
  snprintf(o->first_line, sizeof(o->first_line), "%s",
           json_string_value(json_array_get(lines, 0)) ?: "");
}

static void snapshot_restore(void **st) {
  (void)st;
  mol_http_server *http;
  assert_int_equal(mol_http_server_new(g_loop, NULL, &http), 0);
  assert_int_equal(mol_http_server_listen(http, "127.0.0.1", 0), 0);
  char *snap = strdup(path_in(F->dir, "snap.json"));
  agent_obs o1 = {0}, o2 = {0};
  mol_agent_opts ao = {.name = "keeper", .snapshot_path = snap, .restore = on_restore,
                       .restore_arg = &o1};
  mol_agent *a;
  assert_int_equal(mol_agent_start(g_loop, http, F->http, &ao, on_end_obs, &o1, &a), 0);
  assert_int_equal(o1.restored, 0); /* nothing to restore yet */
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/keeper/", mol_http_server_port(http));
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  static op_result r;
  req("POST", url, send_body("remember-me"), h, 1, &r);
  assert_non_null(strstr(r.body, "echo: remember-me"));
  mol_agent_stop(a);
  assert_true(run_until(g_loop, &o1.ended, 5000));
  assert_int_equal(o1.why, MOL_AGENT_STOPPED);
  const char *text = read_file(snap);
  assert_non_null(text);
  assert_non_null(strstr(text, "user: remember-me"));
  /* restart: the hook gets the state inside mol_agent_start, before the executor exists */
  ao.restore_arg = &o2;
  assert_int_equal(mol_agent_start(g_loop, http, F->http, &ao, on_end_obs, &o2, &a), 0);
  assert_int_equal(o2.restored, 1);
  assert_string_equal(o2.first_line, "user: remember-me");
  assert_int_equal(access(snap, F_OK), -1); /* deleted after the restore */
  mol_agent_stop(a);
  assert_true(run_until(g_loop, &o2.ended, 5000));
  static int closed;
  mol_http_server_close(http, 100, on_closed, &closed);
  run_for(g_loop, 200);
  unlink(snap);
  free(snap);
}

/* A turn's start and end reach the platform at once (current_task, active_tasks), not at the
 * next periodic heartbeat: the interval here is a minute, so only the pushes can explain what
 * the platform sees. */
static mol_agent *g_pusher;
static char g_push_ws[64];
static int pusher_online(void) {
  mol_agent_stats s;
  mol_agent_stats_get(g_pusher, &s);
  return s.heartbeats >= 1 && strcmp(s.platform_status, "online") == 0;
}

/* active_tasks as GET /workspaces/:id shows it; current_task from the platform's store (the
 * route leaves it out, as upstream's does). */
static int platform_sees(long long active, const char *task) {
  char path[128];
  snprintf(path, sizeof(path), "/workspaces/%s", g_push_ws);
  op_result *r = op("GET", path, NULL);
  json_t *v = mol_json_parse(r->body, strlen(r->body), NULL, 0);
  int ok = r->status == 200 && mol_json_int(v, "active_tasks", -1) == active;
  json_decref(v);
  mol_dp__ws w;
  assert_int_equal(mol_dp__ws_load(F->dp, g_push_ws, &w), 1);
  ok = ok && strcmp(w.current_task ? w.current_task : "", task) == 0;
  mol_dp__ws_free(&w);
  return ok;
}

static int sees_busy(void) { return platform_sees(1, "push-me"); }
static int sees_idle(void) { return platform_sees(0, ""); }

static void turn_pushes_heartbeat(void **st) {
  (void)st;
  create_ws("pusher", g_push_ws);
  mol_http_server *http;
  assert_int_equal(mol_http_server_new(g_loop, NULL, &http), 0);
  assert_int_equal(mol_http_server_listen(http, "127.0.0.1", 0), 0);
  agent_obs o = {0};
  mol_agent_opts ao = {.name = "pusher", .platform_url = F->base, .workspace_id = g_push_ws,
                       .token_dir = path_in(F->dir, "tokp"), .heartbeat_ms = 60000,
                       .state_poll_ms = 60000, .echo = {.delay_ms = 1500}};
  assert_int_equal(mol_agent_start(g_loop, http, F->http, &ao, on_end_obs, &o, &g_pusher), 0);
  wait_for(pusher_online, 5000);
  assert_true(sees_idle());
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/pusher/", mol_http_server_port(http));
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts ro = {.method = "POST", .url = url, .headers = h, .nheaders = 1,
                              .body = send_body("push-me"), .body_len = strlen(send_body("push-me")),
                              .total_timeout_ms = 8000};
  static op_result turn;
  memset(&turn, 0, sizeof(turn));
  assert_int_equal(mol_http_request_send(F->http, &ro, op_done, &turn, NULL), 0);
  wait_for(sees_busy, 1000); /* while the turn still runs (1.5 s) */
  assert_false(turn.done);
  assert_true(run_until(g_loop, &turn.done, 5000));
  assert_non_null(strstr(turn.body, "echo: push-me"));
  wait_for(sees_idle, 1000);
  mol_agent_stats s;
  mol_agent_stats_get(g_pusher, &s);
  assert_true(s.heartbeat_pushes >= 2);
  assert_int_equal(s.heartbeats, 1 + s.heartbeat_pushes); /* one periodic, at start */
  mol_agent_stop(g_pusher);
  assert_true(run_until(g_loop, &o.ended, 5000));
  static int closed;
  mol_http_server_close(http, 100, on_closed, &closed);
  run_for(g_loop, 200);
}

/* Stop while the platform is unreachable (register retrying) and with a turn that outlives
 * the grace period: the turn is canceled, the failures are counted, on_end reports STOPPED. */
static mol_agent *g_agent;
static int register_failed_twice(void) {
  mol_agent_stats s;
  mol_agent_stats_get(g_agent, &s);
  return s.heartbeat_failures >= 2;
}

static void stop_paths(void **st) {
  (void)st;
  mol_http_server *http;
  assert_int_equal(mol_http_server_new(g_loop, NULL, &http), 0);
  assert_int_equal(mol_http_server_listen(http, "127.0.0.1", 0), 0);
  agent_obs o = {0};
  mol_agent_opts ao = {.name = "lonely", .platform_url = "http://127.0.0.1:1",
                       .workspace_id = WS_ID, .token_dir = path_in(F->dir, "tok"),
                       .echo = {.delay_ms = 5000}, .grace_ms = 150};
  assert_int_equal(mol_agent_start(g_loop, http, F->http, &ao, on_end_obs, &o, &g_agent), 0);
  wait_for(register_failed_twice, 5000);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/lonely/", mol_http_server_port(http));
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts ro = {.method = "POST", .url = url, .headers = h, .nheaders = 1,
                              .body = send_body("slow"), .body_len = strlen(send_body("slow")),
                              .total_timeout_ms = 8000};
  static op_result r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(mol_http_request_send(F->http, &ro, op_done, &r, NULL), 0);
  run_for(g_loop, 100);
  mol_agent_stats s;
  mol_agent_stats_get(g_agent, &s);
  assert_int_equal(s.live_turns, 1);
  mol_agent_stop(g_agent);
  mol_agent_stop(g_agent); /* idempotent */
  assert_true(run_until(g_loop, &o.ended, 3000));
  assert_int_equal(o.why, MOL_AGENT_STOPPED);
  assert_true(run_until(g_loop, &r.done, 3000));
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"canceled\""));
  static int closed;
  mol_http_server_close(http, 100, on_closed, &closed);
  run_for(g_loop, 200);
}

/* A hermes agent whose plugin takes the turn and never answers: the pending reply shows in
 * /metrics, and the host's stop cancels it after the grace period. */
static void plugin_accepts(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f;
  (void)r;
  (void)arg;
  out->status = 200;
  out->body = "{\"ok\":true}";
}

static int one_pending(void) {
  mol_agent_stats s;
  mol_agent_stats_get(mol_host_agent(F->host, "h"), &s);
  return s.pending_replies == 1;
}

static void hermes_pending(void **st) {
  (void)st;
  static fake plugin;
  fake_init(&plugin, g_loop, plugin_accepts, NULL);
  assert_int_equal(fake_listen(&plugin, 0), 0);
  json_t *doc = json_pack("{s:s, s:i, s:[{s:s, s:s, s:i}]}", "listen", "127.0.0.1:0",
                          "grace_seconds", 0, "agents", "name", "h", "executor", "hermes",
                          "hermes_plugin_port", plugin.port);
  mol_host_config cfg;
  char err[256] = "";
  assert_int_equal(mol_host_config_from_json(doc, F->dir, &cfg, err, sizeof(err)), 0);
  json_decref(doc);
  cfg.agents[0].opts.hermes_reply_port = -1; /* ephemeral */
  mol_host_callbacks cbs = {.on_agent_end = on_agent_end, .on_end = on_host_end};
  assert_int_equal(mol_host_start_config(g_loop, &cfg, &cbs, &F->host), 0);
  mol_host_config_free(&cfg);
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/agents/h/", mol_host_port(F->host));
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts ro = {.method = "POST", .url = url, .headers = h, .nheaders = 1,
                              .body = send_body("wait"), .body_len = strlen(send_body("wait")),
                              .total_timeout_ms = 8000};
  static op_result r, m;
  memset(&r, 0, sizeof(r));
  assert_int_equal(mol_http_request_send(F->http, &ro, op_done, &r, NULL), 0);
  wait_for(one_pending, 5000);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", mol_host_port(F->host));
  req("GET", url, NULL, NULL, 0, &m);
  assert_non_null(strstr(m.body, "molecule_agent_pending_replies{agent=\"h\"} 1\n"));
  assert_non_null(strstr(m.body, "molecule_agent_live_turns{agent=\"h\"} 1\n"));
  mol_host_stop(F->host);
  assert_true(run_until(g_loop, &F->host_ended, 5000));
  assert_true(run_until(g_loop, &r.done, 3000));
  assert_non_null(strstr(r.body, "\"canceled\""));
  fake_stop(&plugin);
  loop_drain(g_loop);
  fake_free_log(&plugin);
}

/* The hermes executor binds its reply port when it is created: a restore hook that can still
 * bind that port ran before the executor existed. */
static int g_reply_port, g_port_free_in_hook;

static int bind_probe(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 1) == 0;
  if (!port && ok) {
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    ok = ntohs(sa.sin_port);
  }
  close(fd);
  return ok;
}

static void on_restore_probe(const json_t *state, void *arg) {
  (void)state;
  (void)arg;
  g_port_free_in_hook = bind_probe(g_reply_port);
}

static void restore_before_executor(void **st) {
  (void)st;
  mol_http_server *http;
  assert_int_equal(mol_http_server_new(g_loop, NULL, &http), 0);
  assert_int_equal(mol_http_server_listen(http, "127.0.0.1", 0), 0);
  char *snap = strdup(path_in(F->dir, "h.json"));
  write_file(snap, "{\"schema_version\":1,\"adapter\":{\"session_id\":\"s-1\"}}");
  g_reply_port = bind_probe(0);
  assert_true(g_reply_port > 0);
  agent_obs o = {0};
  mol_agent_opts ao = {.name = "h", .exec = MOL_AGENT_EXEC_HERMES, .snapshot_path = snap,
                       .hermes_reply_port = g_reply_port, .restore = on_restore_probe};
  mol_agent *a;
  assert_int_equal(mol_agent_start(g_loop, http, F->http, &ao, on_end_obs, &o, &a), 0);
  assert_true(g_port_free_in_hook);   /* the hook ran before the reply server existed */
  assert_false(bind_probe(g_reply_port)); /* and the executor holds the port now */
  assert_int_equal(access(snap, F_OK), -1);
  mol_agent_stop(a);
  assert_true(run_until(g_loop, &o.ended, 5000));
  static int closed;
  mol_http_server_close(http, 100, on_closed, &closed);
  run_for(g_loop, 200);
  unlink(snap);
  free(snap);
}

/* config_dir: the workspace's config.yaml gives the name (as a route-safe slug), the
 * description and runtime_config.model; inline config.yaml fields are accepted. */
static void config_dir_entry(void **st) {
  (void)st;
  unsetenv("PLATFORM_URL"); /* the default of platform_url */
  char *ws = strdup(path_in(F->dir, "ws"));
  assert_int_equal(mkdir(ws, 0700), 0);
  write_file(path_in(ws, "config.yaml"),
             "name: My Agent\ndescription: does things\nruntime_config:\n  model: m-1\n");
  write_file(path_in(F->dir, "host.yaml"),
             "listen: 127.0.0.1:0\nagents:\n  - config_dir: ws\n    executor: chat\n"
             "  - name: inline\n    role: helper\n    tier: 2\n    capabilities: {status_mgmt: true}\n");
  mol_host_config cfg;
  char err[512] = "";
  int rc = mol_host_config_load(path_in(F->dir, "host.yaml"), &cfg, err, sizeof(err));
  if (rc) fail_msg("%s", err);
  assert_int_equal(cfg.n_agents, 2);
  assert_string_equal(cfg.agents[0].opts.name, "my-agent");
  assert_string_equal(cfg.agents[0].opts.description, "does things");
  assert_string_equal(cfg.agents[0].opts.chat_model, "m-1");
  assert_int_equal(cfg.agents[0].opts.exec, MOL_AGENT_EXEC_CHAT);
  assert_int_equal(cfg.agents[0].opts.heartbeat_ms, 30000);
  assert_string_equal(cfg.agents[1].opts.name, "inline");
  assert_true(cfg.agents[1].opts.caps.status_mgmt);
  assert_null(cfg.agents[1].opts.platform_url);
  mol_host_config_free(&cfg);
  free(ws);
}

/* A bad document fails with the field's path and frees everything. */
static void config_errors(void **st) {
  (void)st;
  struct { const char *yaml, *want; } cases[] = {
    {"agents:\n  - name: a\n    executor: magic\n", "agents[0].executor: unknown executor 'magic'"},
    {"agents:\n  - name: a\n    delay_ms: soon\n", "agents[0].delay_ms: must be an integer"},
    {"agents:\n  - name: a\n    capabilities: {sesion: true}\n", "unknown field 'sesion'"},
    {"agents:\n  - name: 'a b'\n", "agents[0].name"},
    {"agents:\n  - {name: a}\n  - {name: a}\n", "already used"},
    {"listen: nowhere\nagents: [{name: a}]\n", "listen: 'nowhere' is not HOST:PORT"},
    {"agents: []\n", "at least one agent"},
    {"agents:\n  - name: a\n   bad: indent\n", "line"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char *p = path_in(F->dir, "host.yaml");
    write_file(p, cases[i].yaml);
    mol_host_config cfg;
    char err[512] = "";
    assert_int_not_equal(mol_host_config_load(p, &cfg, err, sizeof(err)), 0);
    if (!strstr(err, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(three_agents, setup, teardown),
    cmocka_unit_test_setup_teardown(snapshot_restore, setup, teardown),
    cmocka_unit_test_setup_teardown(restore_before_executor, setup, teardown),
    cmocka_unit_test_setup_teardown(config_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(config_dir_entry, setup, teardown),
    cmocka_unit_test_setup_teardown(stop_paths, setup, teardown),
    cmocka_unit_test_setup_teardown(turn_pushes_heartbeat, setup, teardown),
    cmocka_unit_test_setup_teardown(hermes_pending, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
