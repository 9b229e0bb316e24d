/* test_platform_peers.c - peers, discovery and its cache (PEER-*, RTY-15..18), call_peer
 * (CALL-*, ADD-06/07/08) and delegate (DEL-01..06) against a fake platform
 * that also plays the peer's own A2A endpoint. */
#include "platform_testutil.h"

enum { R_PEERS, R_DISCOVER, R_DIRECT, R_PROXY, R_DELEGATE, R_OTHER, R_N };

typedef struct {
  uv_loop_t loop;
  fake f;
  script s[R_N];
  char *dir;
  mol_platform_client *c;
  char direct_url[128];
  char discover_body[256];
} fx;

static fx *F;

static int route_of(const char *path) {
  if (strstr(path, "/peers")) return R_PEERS;
  if (!strncmp(path, "/registry/discover/", 19)) return R_DISCOVER;
  if (!strncmp(path, "/peer", 5)) return R_DIRECT;
  if (strstr(path, "/a2a")) return R_PROXY;
  if (strstr(path, "/delegate")) return R_DELEGATE;
  return R_OTHER;
}

static void routed(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  script *s = &((script *)arg)[route_of(r->path)];
  script_handler(f, r, out, s);
}

static const char *RPC_OK =
    "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{\"kind\":\"message\",\"role\":\"agent\","
    "\"parts\":[{\"kind\":\"text\",\"text\":\"pong\"}]}}";

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, routed, F->s);
  for (int i = 0; i < R_N; i++) F->s[i].dflt = (fake_resp){.status = 200, .body = "{}"};
  F->s[R_DIRECT].dflt.body = RPC_OK;
  F->s[R_PROXY].dflt.body = RPC_OK;
  assert_int_equal(fake_listen(&F->f, 0), 0);
  snprintf(F->direct_url, sizeof(F->direct_url), "http://127.0.0.1:%d/peer", F->f.port);
  snprintf(F->discover_body, sizeof(F->discover_body),
           "{\"id\":\"" PEER_ID "\",\"url\":\"%s\",\"name\":\"B\"}", F->direct_url);
  F->s[R_DISCOVER].dflt.body = F->discover_body;
  F->dir = make_tmpdir();
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-peers-0123456789";
  o.org_id = "org-1";
  assert_int_equal(mol_platform_client_new(g_loop, &o, &F->c), 0);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  pt_teardown(g_loop, &F->f, F->c, F->dir);
  free(F);
  return 0;
}

static void reopen(mol_platform_opts *o) {
  close_client(F->c);
  assert_int_equal(mol_platform_client_new(g_loop, o, &F->c), 0);
}

static const fake_req *req(int i) { return &F->f.log[i]; }
static int count(int route) { return pt_count(&F->f, route_of, route); }
static const fake_req *last(int route) { return pt_last(&F->f, route_of, route); }

static capture discover(const char *id) {
  capture cap = {0};
  assert_int_equal(mol_platform_discover(F->c, id, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 5000);
  return cap;
}

static capture call_peer(int proxy_only) {
  capture cap = {0};
  mol_platform_call_peer_opts o = {.proxy_only = proxy_only};
  assert_int_equal(mol_platform_call_peer(F->c, PEER_ID, "ping", &o, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 5000);
  return cap;
}

static char g_peers_body[1024];

static void seed_peers(void) {
  snprintf(g_peers_body, sizeof(g_peers_body),
           "[{\"id\":\"" PEER_ID "\",\"name\":\"B\",\"role\":null,\"url\":\"%s\","
           "\"status\":\"online\",\"agent_card\":{\"name\":\"B\"}},"
           "{\"id\":\"c0c0c0c0-0000-4000-8000-000000000000\",\"name\":\"C\","
           "\"url\":\"remote://no-inbound\",\"tier\":3},{\"name\":\"no id\"},7]",
           F->direct_url);
  script_push(&F->s[R_PEERS], 200, NULL, g_peers_body);
  capture cap = {0};
  assert_int_equal(mol_platform_get_peers(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.npeers, 2);
  assert_string_equal(cap.peer_id[0], PEER_ID);
  assert_string_equal(cap.peer_role[0], ""); /* null is absent, not "None" */
  assert_int_equal(cap.peer_tier[0], 2);
  assert_string_equal(cap.peer_card[0], "{\"name\":\"B\"}");
  assert_string_equal(cap.peer_status[1], "unknown");
  assert_string_equal(cap.peer_card[1], "{}");
  assert_int_equal(cap.peer_tier[1], 3);
}

/* PEER-01/02/08: rows parsed with defaults; http URLs seed the cache, remote:// does not. */
static void peer_01_02_08_get_peers(void **st) {
  (void)st;
  seed_peers();
  const fake_req *r = last(R_PEERS);
  assert_string_equal(r->path, "/registry/" WS_ID "/peers");
  assert_string_equal(fake_header(r, "Authorization"), "Bearer tok-peers-0123456789");
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  capture cap = discover(PEER_ID);
  assert_string_equal(cap.url, F->direct_url);
  assert_int_equal(count(R_DISCOVER), 0);
  cap = discover("c0c0c0c0-0000-4000-8000-000000000000");
  assert_int_equal(count(R_DISCOVER), 1);
}

/* PEER-03/04/06/07: miss -> GET (cached), hit -> nothing, 404 -> NULL, invalidate. */
static void peer_03_07_discover(void **st) {
  (void)st;
  capture cap = discover(PEER_ID);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.url, F->direct_url);
  const fake_req *r = last(R_DISCOVER);
  assert_string_equal(r->path, "/registry/discover/" PEER_ID);
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  assert_string_equal(fake_header(r, "X-Molecule-Org-Id"), "org-1");
  cap = discover(PEER_ID);
  assert_int_equal(count(R_DISCOVER), 1);
  mol_platform_invalidate_peer(F->c, PEER_ID);
  mol_platform_invalidate_peer(F->c, PEER_ID);
  script_push(&F->s[R_DISCOVER], 404, NULL, "{\"error\":\"workspace not found\"}");
  cap = discover(PEER_ID);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.url, "");
  assert_int_equal(count(R_DISCOVER), 2);
  script_push(&F->s[R_DISCOVER], 200, NULL, "{\"url\":\"ftp://x\"}"); /* not http: not cached */
  cap = discover(PEER_ID);
  assert_string_equal(cap.url, "");
  assert_int_equal(mol_platform_discover(F->c, "../x", NULL, on_capture, &cap, NULL), MOL_EINVAL);
}

/* PEER-05 and the size bound: expired entries are refreshed; the oldest goes when full. */
static void peer_05_ttl_and_bound(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.peer_cache_ttl_ms = 60;
  o.peer_cache_max = 2;
  reopen(&o);
  discover(PEER_ID);
  run_for(g_loop, 100);
  discover(PEER_ID);
  assert_int_equal(count(R_DISCOVER), 2);
  o.peer_cache_ttl_ms = 60000;
  reopen(&o);
  discover("b0000000-0000-4000-8000-000000000001");
  discover("b0000000-0000-4000-8000-000000000002");
  discover("b0000000-0000-4000-8000-000000000003"); /* evicts ...001 */
  int before = count(R_DISCOVER);
  discover("b0000000-0000-4000-8000-000000000003");
  discover("b0000000-0000-4000-8000-000000000002");
  assert_int_equal(count(R_DISCOVER), before);
  discover("b0000000-0000-4000-8000-000000000001");
  assert_int_equal(count(R_DISCOVER), before + 1);
}

/* RTY-15..18: peers and discover retry 429s. */
static void rty_15_18_peers_discover(void **st) {
  (void)st;
  script_push(&F->s[R_PEERS], 429, NULL, "{}");
  script_push(&F->s[R_PEERS], 429, NULL, "{}");
  script_push(&F->s[R_PEERS], 200, NULL, "[]");
  capture cap = {0};
  assert_int_equal(mol_platform_get_peers(F->c, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_int_equal(cap.attempts, 3);
  assert_true(req(1)->at_ms - req(0)->at_ms >= 18 && req(2)->at_ms - req(1)->at_ms >= 38);
  script_push(&F->s[R_DISCOVER], 429, NULL, "{}");
  cap = discover(PEER_ID); /* RTY-16 */
  assert_string_equal(cap.url, F->direct_url);
  mol_platform_invalidate_peer(F->c, PEER_ID);
  script_push(&F->s[R_DISCOVER], 429, NULL, "{}");
  script_push(&F->s[R_DISCOVER], 404, NULL, "{}");
  cap = discover(PEER_ID); /* RTY-17 */
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.url, "");
  assert_int_equal(cap.attempts, 2);
  F->s[R_DISCOVER].dflt = (fake_resp){.status = 429, .body = "{}"};
  cap = discover(PEER_ID); /* RTY-18 */
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.attempts, 4);
}

/* CALL-01/16 and ADD-08: a cache hit posts once, directly, without the platform bearer or
 * tenant headers; the envelope is message/send. */
static void call_01_16_add_08_direct(void **st) {
  (void)st;
  seed_peers();
  capture cap = call_peer(0);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.text, "pong");
  assert_false(cap.via_proxy);
  assert_int_equal(count(R_DIRECT), 1);
  assert_int_equal(count(R_PROXY), 0);
  assert_int_equal(count(R_DISCOVER), 0);
  const fake_req *r = last(R_DIRECT);
  assert_string_equal(r->method, "POST");
  assert_string_equal(r->path, "/peer");
  assert_null(fake_header(r, "Authorization"));
  assert_null(fake_header(r, "X-Molecule-Org-Id"));
  assert_null(fake_header(r, "Origin"));
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  assert_string_equal(fake_header(r, "Content-Type"), "application/json");
  assert_string_equal(json_field(r->body, "jsonrpc"), "2.0");
  assert_string_equal(json_field(r->body, "method"), "message/send");
  assert_string_equal(json_field(r->body, "role"), "user");
  assert_non_null(json_field(r->body, "messageId"));
  assert_non_null(strstr(r->body, "\"parts\":[{\"kind\":\"text\",\"text\":\"ping\"}]"));
}

/* Opt-in: the bearer may be sent to peers when asked. */
static void call_direct_auth_opt_in(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.token = "tok-peers-0123456789";
  o.send_auth_to_peers = 1;
  reopen(&o);
  seed_peers();
  call_peer(0);
  assert_string_equal(fake_header(last(R_DIRECT), "Authorization"), "Bearer tok-peers-0123456789");
}

static char g_dead_url[128], g_dead_body[256];

/* CALL-02/13: a refused direct call falls back to the proxy with a fresh JSON-RPC id (same
 * messageId) and invalidates the cache. */
static void call_02_13_fallback_on_refused(void **st) {
  (void)st;
  static fake dead;
  fake_init(&dead, g_loop, script_handler, NULL);
  assert_int_equal(fake_listen(&dead, 0), 0);
  snprintf(g_dead_url, sizeof(g_dead_url), "http://127.0.0.1:%d/peer", dead.port);
  fake_stop(&dead);
  snprintf(g_dead_body, sizeof(g_dead_body), "{\"url\":\"%s\"}", g_dead_url);
  script_push(&F->s[R_DISCOVER], 200, NULL, g_dead_body);
  capture cap = call_peer(0);
  assert_int_equal(cap.err, 0);
  assert_true(cap.via_proxy);
  assert_string_equal(cap.text, "pong");
  const fake_req *p = last(R_PROXY);
  assert_string_equal(p->path, "/workspaces/" PEER_ID "/a2a");
  assert_string_equal(fake_header(p, "Authorization"), "Bearer tok-peers-0123456789");
  assert_string_equal(fake_header(p, "X-Workspace-ID"), WS_ID); /* CALL-15 */
  assert_string_equal(fake_header(p, "Content-Type"), "application/json");
  discover(PEER_ID); /* invalidated: asks the platform again */
  assert_int_equal(count(R_DISCOVER), 2);
}

/* CALL-13 variant: a 5xx from the peer falls back; the two attempts carry different ids. */
static void call_fallback_on_5xx_fresh_id(void **st) {
  (void)st;
  script_push(&F->s[R_DIRECT], 502, NULL, "{\"error\":\"bad gateway\"}");
  capture cap = call_peer(0);
  assert_int_equal(cap.err, 0);
  assert_true(cap.via_proxy);
  assert_int_equal(count(R_DIRECT), 1);
  assert_int_equal(count(R_PROXY), 1);
  char id1[64], mid1[64];
  snprintf(id1, sizeof(id1), "%s", json_field(last(R_DIRECT)->body, "id"));
  snprintf(mid1, sizeof(mid1), "%s", json_field(last(R_DIRECT)->body, "messageId"));
  assert_string_not_equal(json_field(last(R_PROXY)->body, "id"), id1);
  assert_string_equal(json_field(last(R_PROXY)->body, "messageId"), mid1);
}

/* A 4xx from the peer proves it got the message: surfaced, never resent. */
static void call_direct_4xx_not_resent(void **st) {
  (void)st;
  script_push(&F->s[R_DIRECT], 400, NULL, "{\"error\":\"bad request\"}");
  capture cap = call_peer(0);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 400);
  assert_int_equal(count(R_PROXY), 0);
}

/* CALL-03/14: proxy only: one POST to the proxy, no discovery, even with a cache hit. */
static void call_03_14_proxy_only(void **st) {
  (void)st;
  seed_peers();
  capture cap = call_peer(1);
  assert_int_equal(cap.err, 0);
  assert_true(cap.via_proxy);
  assert_int_equal(count(R_DIRECT), 0);
  assert_int_equal(count(R_DISCOVER), 0);
  assert_int_equal(count(R_PROXY), 1);
  assert_string_equal(cap.body, RPC_OK); /* CALL-12: the body unchanged */
}

/* CALL-04: no cached URL: discover, then direct; the URL is cached. */
static void call_04_discover_then_direct(void **st) {
  (void)st;
  capture cap = call_peer(0);
  assert_int_equal(cap.err, 0);
  assert_false(cap.via_proxy);
  assert_int_equal(count(R_DISCOVER), 1);
  assert_int_equal(count(R_DIRECT), 1);
  call_peer(0);
  assert_int_equal(count(R_DISCOVER), 1);
}

/* ADD-06: discovery failing with 401/403/5xx falls back to the proxy (documented choice). */
static void add_06_discovery_error_falls_back(void **st) {
  (void)st;
  int codes[] = {401, 403, 500, 503};
  for (int i = 0; i < 4; i++) {
    script_push(&F->s[R_DISCOVER], codes[i], NULL, "{\"error\":\"nope\"}");
    capture cap = call_peer(0);
    assert_int_equal(cap.err, 0);
    assert_true(cap.via_proxy);
  }
  assert_int_equal(count(R_DIRECT), 0);
  assert_int_equal(count(R_PROXY), 4);
}

/* CALL-05..11: proxy errors surface with their status / cause. */
static void call_05_11_proxy_errors(void **st) {
  (void)st;
  int codes[] = {502, 503, 500, 401, 403};
  for (int i = 0; i < 5; i++) {
    script_push(&F->s[R_PROXY], codes[i], NULL, "{\"error\":\"upstream\"}");
    capture cap = call_peer(1);
    assert_int_equal(cap.err, MOL_EHTTP);
    assert_int_equal(cap.status, codes[i]);
    assert_string_equal(cap.error, "upstream");
  }
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.peer_timeout_ms = 200;
  reopen(&o);
  F->s[R_PROXY].dflt = (fake_resp){.action = FAKE_HANG};
  capture cap = call_peer(1);
  assert_int_equal(cap.err, MOL_ETIMEDOUT); /* CALL-05 */
  assert_non_null(strstr(mol_strerror(cap.err), "time"));
  fake_stop(&F->f);
  cap = call_peer(1);
  assert_int_equal(cap.err, MOL_ECONNREFUSED); /* CALL-06 */
}

/* ADD-07: a JSON-RPC error inside a 200 is an error; a queued 202 is accepted. */
static void add_07_rpc_error_and_queued(void **st) {
  (void)st;
  script_push(&F->s[R_PROXY], 200, NULL,
              "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"error\":{\"code\":-32601,\"message\":\"nope\"}}");
  capture cap = call_peer(1);
  assert_int_equal(cap.err, MOL_ERPC);
  assert_int_equal(cap.rpc_code, -32601);
  assert_string_equal(cap.rpc_message, "nope");
  /* A queued hand-off is a success, sent once: a retry would deliver the message twice. */
  int before = count(R_PROXY);
  script_push(&F->s[R_PROXY], 202, NULL, "{\"queued\":true,\"queue_id\":\"q1\"}");
  cap = call_peer(1);
  assert_int_equal(cap.err, 0);
  assert_true(cap.queued);
  assert_int_equal(count(R_PROXY), before + 1);
  script_push(&F->s[R_PROXY], 200, NULL,
              "{\"status\":\"queued\",\"delivery_mode\":\"poll\",\"method\":\"message/send\"}");
  cap = call_peer(1);
  assert_int_equal(cap.err, 0);
  assert_true(cap.queued);
  assert_int_equal(count(R_PROXY), before + 2);
}

/* DEL-01..04/06: the platform's real path and body, key, headers, errors, timeout. */
static void del_01_06_delegate(void **st) {
  (void)st;
  script_push(&F->s[R_DELEGATE], 202, NULL,
              "{\"delegation_id\":\"d-1\",\"status\":\"delegated\",\"target_id\":\"" PEER_ID "\"}");
  capture cap = {0};
  assert_int_equal(mol_platform_delegate(F->c, PEER_ID, "write the report", NULL, NULL,
                                         on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, 0);
  assert_string_equal(cap.delegation_id, "d-1");
  const fake_req *r = last(R_DELEGATE);
  assert_string_equal(r->path, "/workspaces/" WS_ID "/delegate");
  assert_string_equal(json_field(r->body, "target_id"), PEER_ID);
  assert_string_equal(json_field(r->body, "task"), "write the report");
  assert_int_equal(strlen(json_field(r->body, "idempotency_key")), 64);
  assert_string_equal(fake_header(r, "Authorization"), "Bearer tok-peers-0123456789");
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  script_push(&F->s[R_DELEGATE], 200, NULL, "{\"delegation_id\":\"d-1\",\"idempotent_hit\":true}");
  mol_platform_delegate_opts o = {.idempotency_key = "my-key-1"};
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_delegate(F->c, PEER_ID, "t", &o, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_true(cap.idempotent_hit);
  assert_string_equal(json_field(last(R_DELEGATE)->body, "idempotency_key"), "my-key-1");
  script_push(&F->s[R_DELEGATE], 500, NULL, "{\"error\":\"x\"}");
  memset(&cap, 0, sizeof(cap));
  assert_int_equal(mol_platform_delegate(F->c, PEER_ID, "t", NULL, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_EHTTP);
  F->s[R_DELEGATE].dflt = (fake_resp){.action = FAKE_HANG};
  o.timeout_ms = 150; /* DEL-06 */
  memset(&cap, 0, sizeof(cap));
  uint64_t t0 = uv_now(g_loop);
  assert_int_equal(mol_platform_delegate(F->c, PEER_ID, "t", &o, NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 30000); /* the default is 300 s: ending at all is the 150 ms */
  assert_int_equal(cap.err, MOL_ETIMEDOUT);
  assert_true(cap.finished_ms - t0 >= 140);
  /* DEL-05: with the default (300 s) it is still waiting after 600 ms */
  memset(&cap, 0, sizeof(cap));
  mol_platform_req *rq;
  assert_int_equal(mol_platform_delegate(F->c, PEER_ID, "t", NULL, NULL, on_capture, &cap, &rq), 0);
  run_for(g_loop, 600);
  assert_int_equal(cap.calls, 0);
  mol_platform_cancel(rq);
  wait_done(&cap, 3000);
  assert_int_equal(cap.err, MOL_ECANCELED);
  assert_int_equal(mol_platform_delegate(F->c, "../x", "t", NULL, NULL, on_capture, &cap, NULL),
                   MOL_EINVAL);
}

static void cancel_cache_hit_before_completion(void **st) {
  (void)st;
  seed_peers();
  capture cap = {0};
  mol_platform_req *r;
  assert_int_equal(mol_platform_discover(F->c, PEER_ID, NULL, on_capture, &cap, &r), 0);
  mol_platform_cancel(r);
  assert_int_equal(cap.calls, 0);
  wait_done(&cap, 1000);
  assert_int_equal(cap.err, MOL_ECANCELED);
}

/* Workspace ids go out lower-cased, in paths, headers and bodies; the cache key too. */
static void ids_lowercased(void **st) {
  (void)st;
  mol_platform_opts o = base_opts(F->f.port, F->dir);
  o.workspace_id = "0F9E8D7C-1111-4222-8333-444455556666";
  reopen(&o);
  discover("A1B2C3D4-AAAA-4BBB-8CCC-DDDDDDDDDDDD");
  const fake_req *r = last(R_DISCOVER);
  assert_string_equal(r->path, "/registry/discover/" PEER_ID);
  assert_string_equal(fake_header(r, "X-Workspace-ID"), WS_ID);
  discover(PEER_ID); /* same entry */
  assert_int_equal(count(R_DISCOVER), 1);
  capture cap = {0};
  assert_int_equal(mol_platform_delegate(F->c, "A1B2C3D4-AAAA-4BBB-8CCC-DDDDDDDDDDDD", "t", NULL,
                                         NULL, on_capture, &cap, NULL), 0);
  wait_done(&cap, 3000);
  assert_string_equal(last(R_DELEGATE)->path, "/workspaces/" WS_ID "/delegate");
  assert_string_equal(json_field(last(R_DELEGATE)->body, "target_id"), PEER_ID);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(peer_01_02_08_get_peers),       T(peer_03_07_discover),
      T(peer_05_ttl_and_bound),         T(rty_15_18_peers_discover),
      T(call_01_16_add_08_direct),      T(call_direct_auth_opt_in),
      T(call_02_13_fallback_on_refused), T(call_fallback_on_5xx_fresh_id),
      T(call_direct_4xx_not_resent),    T(call_03_14_proxy_only),
      T(call_04_discover_then_direct),  T(add_06_discovery_error_falls_back),
      T(call_05_11_proxy_errors),       T(add_07_rpc_error_and_queued),
      T(del_01_06_delegate),            T(cancel_cache_hit_before_completion),
      T(ids_lowercased),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
