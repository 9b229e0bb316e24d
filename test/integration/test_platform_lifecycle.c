/* test_platform_lifecycle.c - the agent walk-through of docs/platform.md "Tests": our platform
 * client against the real embedded dev platform (in-process, ephemeral port, temporary SQLite
 * database), all on one loop. Operator calls go through a plain HTTP client; agent calls
 * through the platform client. Also: the idle-timeout override, sent by a heartbeat, is
 * honoured by the platform's A2A proxy and cleared by the next heartbeat without it. */
#include "platform_testutil.h"

#include "base/json.h"
#include "devplatform/devplatform.h"
#include "http/client.h"

typedef struct {
  uv_loop_t loop;
  mol_devplatform *dp;
  mol_http_client *http;
  fake peer; /* B's own A2A endpoint */
  int peer_hang;
  char *dir;
  char base[128], peer_url[128];
  mol_platform_client *a, *b, *c;
  int dp_closed, http_closed;
  int status_calls;
  mol_platform_status st;
  char server_status[64];
  int inbound_seen;
  char inbound_text[256];
} fx;

static fx *F;

static void peer_handler(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f;
  (void)r;
  (void)arg;
  if (F->peer_hang) {
    out->action = FAKE_HANG;
    return;
  }
  out->status = 200;
  out->body = "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{\"kind\":\"message\",\"role\":\"agent\","
              "\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"pong from B\"}]}}";
}

/* ---- operator calls ---- */

typedef struct {
  int done, status;
  char body[8192];
} op_result;

static void op_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  op_result *o = arg;
  o->done = 1;
  o->status = err ? err : resp->status;
  if (resp && resp->body) snprintf(o->body, sizeof(o->body), "%s", resp->body);
}

static op_result op(const char *method, const char *path, const char *body) {
  char url[512], auth[256];
  snprintf(url, sizeof(url), "%s%s", F->base, path);
  snprintf(auth, sizeof(auth), "Bearer %s", mol_devplatform_admin_token(F->dp));
  mol_http_header h[] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = 2,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = 5000};
  op_result res = {0};
  assert_int_equal(mol_http_request_send(F->http, &o, op_done, &res, NULL), 0);
  assert_true(run_until(g_loop, &res.done, 6000));
  return res;
}

static void create_ws(const char *body, char id[64]) {
  op_result r = op("POST", "/workspaces", body);
  assert_int_equal(r.status, 201);
  json_t *v = mol_json_parse(r.body, strlen(r.body), NULL, 0);
  snprintf(id, 64, "%s", mol_json_str(v, "id"));
  json_decref(v);
}

static char *connection_token(const char *body, char *out, size_t cap) {
  json_t *v = mol_json_parse(body, strlen(body), NULL, 0);
  snprintf(out, cap, "%s", mol_json_str(v, "connection.auth_token"));
  json_decref(v);
  return out;
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
  fake_init(&F->peer, g_loop, peer_handler, NULL);
  assert_int_equal(fake_listen(&F->peer, 0), 0);
  snprintf(F->peer_url, sizeof(F->peer_url), "http://127.0.0.1:%d/", F->peer.port);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  mol_platform_client *cs[] = {F->a, F->b, F->c};
  for (int i = 0; i < 3; i++)
    if (cs[i]) close_client(cs[i]);
  fake_stop(&F->peer);
  mol_devplatform_close(F->dp, on_dp_closed, NULL);
  mol_http_client_close(F->http, on_http_closed, NULL);
  assert_true(run_until(g_loop, &F->dp_closed, 10000));
  assert_true(run_until(g_loop, &F->http_closed, 10000));
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  fake_free_log(&F->peer);
  rm_tree(F->dir);
  free(F);
  return 0;
}

static mol_platform_client *agent(const char *id, const char *sub) {
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/%s", F->dir, sub);
  mol_platform_opts o = {.platform_url = F->base, .workspace_id = id, .token_dir = dir};
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(g_loop, &o, &c), 0);
  return c;
}

#define CALL(expr, cap)                 \
  do {                                  \
    memset(&(cap), 0, sizeof(cap));     \
    assert_int_equal((expr), 0);        \
    wait_done(&(cap), 10000);           \
  } while (0)

static void on_status(mol_platform_status st, int err, const char *server_status, void *arg) {
  (void)err;
  (void)arg;
  F->status_calls++;
  F->st = st;
  snprintf(F->server_status, sizeof(F->server_status), "%s", server_status ? server_status : "");
}

static void on_inbound(mol_platform_client *c, const mol_platform_message *m, void *arg) {
  (void)c;
  (void)arg;
  F->inbound_seen++;
  snprintf(F->inbound_text, sizeof(F->inbound_text), "%s", m->text);
}

/* Steps 1-3: create, register (mint, then re-register with the bearer), secrets. */
static void register_and_secrets(const char *A) {
  static capture cap;
  F->a = agent(A, "a");
  CALL(mol_platform_register(F->a, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_true(cap.token_issued);
  assert_non_null(read_file(path_in(F->dir, "a/.auth_token")));
  CALL(mol_platform_register(F->a, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0); /* the C18 guard passes: the bearer went out */
  assert_false(cap.token_issued);
  CALL(mol_platform_pull_secrets(F->a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  json_t *v = mol_json_parse(cap.body, strlen(cap.body), NULL, 0);
  assert_string_equal(mol_json_str(v, "K"), "V");
  json_decref(v);
}

/* Step 4: heartbeat and state. */
static void heartbeat_and_state(void) {
  static capture cap;
  mol_platform_heartbeat_payload p = {.current_task = "walking through", .active_tasks = 0};
  CALL(mol_platform_heartbeat(F->a, &p, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  CALL(mol_platform_poll_state(F->a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.state, "online");
  assert_false(cap.paused);
  assert_false(cap.deleted);
}

/* B: created external (its token comes with the creation, injected like the CLI's --token),
 * push mode at the fake peer's URL. */
static void bring_up_b(char *B) {
  static capture cap;
  op_result r = op("POST", "/workspaces", "{\"name\":\"B\",\"external\":true}");
  assert_int_equal(r.status, 201);
  json_t *v = mol_json_parse(r.body, strlen(r.body), NULL, 0);
  snprintf(B, 64, "%s", mol_json_str(v, "id"));
  json_decref(v);
  char tok[128];
  F->b = agent(B, "b");
  assert_int_equal(mol_platform_save_token(F->b, connection_token(r.body, tok, sizeof(tok))), 0);
  mol_platform_register_opts ro = {.reported_url = F->peer_url,
                                   .agent_card_json = "{\"name\":\"B\",\"skills\":[]}"};
  CALL(mol_platform_register(F->b, &ro, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
}

/* Steps 5-6: peers, discover, call_peer direct and through the proxy. */
static void peers_and_calls(const char *B) {
  static capture cap;
  CALL(mol_platform_get_peers(F->a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  int found = 0;
  for (size_t i = 0; i < cap.npeers; i++) found |= !strcmp(cap.peer_id[i], B);
  assert_true(found);
  CALL(mol_platform_discover(F->a, B, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.url, F->peer_url);
  CALL(mol_platform_call_peer(F->a, B, "ping", NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_false(cap.via_proxy);
  assert_string_equal(cap.text, "pong from B");
  assert_null(fake_header(&F->peer.log[F->peer.nlog - 1], "Authorization")); /* no leak */
  mol_platform_call_peer_opts po = {.proxy_only = 1};
  CALL(mol_platform_call_peer(F->a, B, "ping via proxy", &po, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_true(cap.via_proxy);
  assert_string_equal(cap.text, "pong from B");
}

/* Step 6, poll mode: A (poll mode) is called by C; A sees it on its next poll and replies;
 * the reply lands in C's feed. */
static void poll_mode_roundtrip(const char *A) {
  static capture cap;
  char C[64];
  create_ws("{\"name\":\"C\"}", C);
  F->c = agent(C, "c");
  CALL(mol_platform_register(F->c, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  mol_platform_call_peer_opts po = {.proxy_only = 1};
  CALL(mol_platform_call_peer(F->c, A, "hello A", &po, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_true(cap.queued);
  CALL(mol_platform_fetch_inbound(F->a, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_true(cap.nmessages >= 1);
  size_t k = cap.nmessages - 1;
  assert_string_equal(cap.msg_text[k], "hello A");
  assert_int_equal(cap.msgs[k].source, MOL_PLATFORM_SRC_PEER_AGENT);
  assert_string_equal(cap.msg_sid[k], C);
  assert_int_equal(mol_platform_set_cursor(F->a, cap.msg_id[k]), 0);
  mol_platform_message m = cap.msgs[k];
  static capture rep;
  CALL(mol_platform_reply(F->a, &m, "hi C", NULL, on_capture, &rep, NULL), rep);
  assert_int_equal(rep.err, 0);
  CALL(mol_platform_fetch_inbound(F->c, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  int got = 0;
  for (size_t i = 0; i < cap.nmessages; i++) got |= !strcmp(cap.msg_text[i], "hi C");
  assert_true(got);
  /* the cursor moves on: nothing new for A */
  CALL(mol_platform_fetch_inbound(F->a, NULL, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.nmessages, 0);
}

/* Steps 7-8: pause ends A's loop with "paused"; delete ends it with "deleted". */
static void pause_then_delete(const char *A) {
  char path[128];
  mol_platform_run_opts ro = {.heartbeat_interval_ms = 100, .state_poll_interval_ms = 100,
                              .inbound_interval_ms = 50, .on_message = on_inbound};
  assert_int_equal(mol_platform_run(F->a, &ro, on_status, NULL), 0);
  run_for(g_loop, 300);
  assert_int_equal(F->status_calls, 0);
  snprintf(path, sizeof(path), "/workspaces/%s/pause", A);
  assert_int_equal(op("POST", path, "{}").status, 200);
  assert_true(run_until(g_loop, &F->status_calls, 3000));
  assert_int_equal(F->st, MOL_PLATFORM_PAUSED);
  assert_string_equal(F->server_status, "paused");
  snprintf(path, sizeof(path), "/workspaces/%s", A);
  assert_int_equal(op("DELETE", path, NULL).status, 200);
  F->status_calls = 0;
  assert_int_equal(mol_platform_run(F->a, &ro, on_status, NULL), 0);
  assert_true(run_until(g_loop, &F->status_calls, 3000));
  assert_int_equal(F->st, MOL_PLATFORM_DELETED);
  static capture cap; /* the tokens are revoked: anything else is now 401 */
  CALL(mol_platform_pull_secrets(F->a, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 401);
}

static void walkthrough_11_3(void **st) {
  (void)st;
  char A[64], B[64];
  create_ws("{\"name\":\"A\",\"secrets\":{\"K\":\"V\"}}", A);
  register_and_secrets(A);
  heartbeat_and_state();
  bring_up_b(B);
  peers_and_calls(B);
  poll_mode_roundtrip(A);
  pause_then_delete(A);
}

/* The idle-timeout override: B declares 1 s, so a proxied call to B (which never answers) is
 * cut after ~1 s and queued (202); after a heartbeat without the override, the platform's
 * default (300 s) applies again and the same call is still waiting when our deadline ends. */
static void idle_override_honoured_and_cleared(void **st) {
  (void)st;
  static capture cap;
  char A[64], B[64];
  create_ws("{\"name\":\"A\"}", A);
  F->a = agent(A, "a");
  CALL(mol_platform_register(F->a, NULL, NULL, on_capture, &cap, NULL), cap);
  bring_up_b(B);
  mol_platform_heartbeat_payload with = {.idle_timeout_seconds = 1, .active_tasks = 1};
  CALL(mol_platform_heartbeat(F->b, &with, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  F->peer_hang = 1;
  mol_platform_call_peer_opts po = {.proxy_only = 1};
  mol_platform_call deadline = {.deadline_ms = 6000};
  uint64_t t0 = uv_now(g_loop);
  CALL(mol_platform_call_peer(F->a, B, "slow", &po, &deadline, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  assert_true(cap.queued); /* the platform's 1 s, not its 300 s: our 6 s deadline did not end it */
  assert_true(cap.finished_ms - t0 >= 900);
  mol_platform_heartbeat_payload without = {.active_tasks = 1};
  CALL(mol_platform_heartbeat(F->b, &without, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  mol_platform_call shorter = {.deadline_ms = 2500};
  CALL(mol_platform_call_peer(F->a, B, "slow again", &po, &shorter, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, MOL_ETIMEDOUT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(walkthrough_11_3, setup, teardown),
      cmocka_unit_test_setup_teardown(idle_override_honoured_and_cleared, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
