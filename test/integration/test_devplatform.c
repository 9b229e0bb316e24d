/* Dev platform over real loopback sockets and a real SQLite file: the agent walk-through,
 * token rules, hierarchy, admin auth, rate limiter and SSRF rules (docs/devplatform.md). */
#include <sys/stat.h>

#include "test_devplatform_util.h"

static json_t *find_by_id(json_t *arr, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
      return v;
  return NULL;
}

static void path_of(char *out, size_t cap, const char *fmt, const char *id) {
  snprintf(out, cap, fmt, id);
}

/* Register, secrets, heartbeat, peers, A2A through the proxy, pause and delete, plus poll mode
 * and notify. */
static void test_lifecycle(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  responder b_agent;
  responder_start(&e, &b_agent, R_ECHO);
  char path[256], body[512];

  /* 1. operator creates A and B (roots) with K=V on A; dev + loopback: no admin token. */
  const char *a = create_ws(&e, NULL, "alpha", NULL);
  char A[64], B[64];
  snprintf(A, sizeof A, "%s", a);
  snprintf(B, sizeof B, "%s", create_ws(&e, NULL, "beta", NULL));
  path_of(path, sizeof path, "/workspaces/%s/secrets", A);
  expect_drop(&e, 200, "POST", path, NULL, NULL, "{\"key\":\"K\",\"value\":\"V\"}");

  /* 2. register without bearer -> token; again without -> 401; with -> 200, no token. */
  char tokA[64];
  snprintf(tokA, sizeof tokA, "%s", register_ws(&e, A, "remote://no-inbound", NULL));
  assert_int_equal(strlen(tokA), 43);
  assert_null(strpbrk(tokA, "+/="));
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"remote://no-inbound\",\"agent_card\":{}}", A);
  json_t *j = expect(&e, 401, "POST", "/registry/register", NULL, NULL, body);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "missing workspace auth token");
  json_decref(j);
  expect_drop(&e, 401, "POST", "/registry/register", "bogus", NULL, body);
  assert_string_equal(register_ws(&e, A, "remote://no-inbound", tokA), "");

  /* 3. secrets */
  path_of(path, sizeof path, "/workspaces/%s/secrets/values", A);
  j = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "K")), "V");
  json_decref(j);
  expect_drop(&e, 401, "GET", path, NULL, NULL, NULL);

  /* 4. heartbeat + state */
  heartbeat(&e, A, tokA, NULL);
  path_of(path, sizeof path, "/workspaces/%s/state", A);
  j = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "online");
  assert_true(json_is_false(json_object_get(j, "paused")));
  assert_true(json_is_false(json_object_get(j, "deleted")));
  json_decref(j);

  /* 5. peers + discover (B is push-mode at the responder) */
  char tokB[64];
  snprintf(tokB, sizeof tokB, "%s", register_ws(&e, B, b_agent.url, NULL));
  path_of(path, sizeof path, "/registry/%s/peers", A);
  j = expect(&e, 200, "GET", path, tokA, A, NULL);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), B);
  json_decref(j);
  path_of(path, sizeof path, "/registry/discover/%s", B);
  j = expect(&e, 200, "GET", path, tokA, A, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "url")), b_agent.url);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "beta");
  json_decref(j);
  expect_drop(&e, 400, "GET", path, tokA, NULL, NULL);

  /* 6. push: forwarded, reply verbatim; the target saw JSON-RPC with a messageId, no bearer */
  path_of(path, sizeof path, "/workspaces/%s/a2a", B);
  j = expect(&e, 200, "POST", path, tokA, A, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
  json_decref(j);
  assert_int_equal(b_agent.received, 1);
  assert_int_equal(b_agent.last_had_auth, 0);
  json_t *fwd = json_loads(b_agent.last_body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(fwd, "jsonrpc")), "2.0");
  assert_non_null(json_object_get(json_object_get(json_object_get(fwd, "params"), "message"),
                                  "messageId"));
  json_decref(fwd);
  path_of(path, sizeof path, "/workspaces/%s/activity?type=a2a_receive", B);
  j = expect(&e, 200, "GET", path, tokB, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  json_t *row = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(row, "source_id")), A);
  assert_string_equal(json_string_value(json_object_get(json_object_get(row, "data"), "text")),
                      "hello");
  json_decref(j);

  /* 6. poll: B -> A is queued into A's feed; since_id is ASC and strictly after; 410. */
  path_of(path, sizeof path, "/workspaces/%s/a2a", A);
  j = expect(&e, 200, "POST", path, tokB, B, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "queued");
  assert_string_equal(json_string_value(json_object_get(j, "delivery_mode")), "poll");
  assert_string_equal(json_string_value(json_object_get(j, "method")), "message/send");
  json_decref(j);
  path_of(path, sizeof path, "/workspaces/%s/activity?type=a2a_receive&limit=100", A);
  j = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  row = json_array_get(j, 0);
  char cursor[64];
  snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(row, "id")));
  json_t *data = json_object_get(row, "data");
  assert_string_equal(json_string_value(json_object_get(data, "source")), "peer_agent");
  assert_string_equal(json_string_value(json_object_get(data, "peer_id")), B);
  assert_string_equal(json_string_value(json_object_get(data, "peer_name")), "beta");
  json_decref(j);
  path_of(path, sizeof path, "/workspaces/%s/a2a", A);
  expect_drop(&e, 200, "POST", path, tokB, B,
              "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/send\",\"params\":{\"message\":"
              "{\"messageId\":\"m2\",\"parts\":[{\"type\":\"text\",\"text\":\"second\"}]}}}");
  /* A's notify to the canvas must not come back in its own a2a_receive feed. */
  path_of(path, sizeof path, "/workspaces/%s/notify", A);
  expect_drop(&e, 200, "POST", path, tokA, NULL, "{\"message\":\"to the user\"}");
  expect_drop(&e, 400, "POST", path, tokA, NULL, "{\"nomessage\":1}");
  snprintf(path, sizeof path, "/workspaces/%s/activity?type=a2a_receive&since_id=%s", A, cursor);
  j = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  row = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(row, "data"), "text")),
                      "second");
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/activity?since_id=%s", A,
           "00000000-0000-4000-8000-000000000000");
  expect_drop(&e, 410, "GET", path, tokA, NULL, NULL);
  /* a cursor of another workspace is unknown here too */
  snprintf(path, sizeof path, "/workspaces/%s/activity?since_id=%s", B, cursor);
  expect_drop(&e, 410, "GET", path, tokB, NULL, NULL);

  /* 7. pause -> state paused:true */
  path_of(path, sizeof path, "/workspaces/%s/pause", A);
  j = expect(&e, 200, "POST", path, NULL, NULL, NULL);
  assert_int_equal(json_integer_value(json_object_get(j, "paused_count")), 1);
  json_decref(j);
  path_of(path, sizeof path, "/workspaces/%s/state", A);
  j = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_true(json_is_true(json_object_get(j, "paused")));
  json_decref(j);

  /* 8. delete -> 404 deleted:true even with the revoked token; other calls 401 */
  snprintf(path, sizeof path, "/workspaces/%s?confirm=true", A);
  j = expect(&e, 200, "DELETE", path, NULL, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "removed");
  json_decref(j);
  path_of(path, sizeof path, "/workspaces/%s/state", A);
  j = expect(&e, 404, "GET", path, tokA, NULL, NULL);
  assert_true(json_is_true(json_object_get(j, "deleted")));
  json_decref(j);
  path_of(path, sizeof path, "/workspaces/%s/secrets/values", A);
  expect_drop(&e, 401, "GET", path, tokA, NULL, NULL);
  path_of(path, sizeof path, "/workspaces/%s/activity", A);
  expect_drop(&e, 401, "GET", path, tokA, NULL, NULL);
  expect_drop(&e, 404, "GET", "/no/such/route", NULL, NULL, NULL);
  expect_drop(&e, 200, "GET", "/health", NULL, NULL, NULL);

  responder_stop(&e, &b_agent);
  env_stop(&e);
}

static void test_token_rules(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  const char *ws = create_ws(&e, NULL, "solo", NULL);
  char W[64], body[256];
  snprintf(W, sizeof W, "%s", ws);
  /* grandfathered: no live token, a heartbeat passes without a bearer */
  heartbeat(&e, W, NULL, NULL);
  char tok[64];
  snprintf(tok, sizeof tok, "%s", register_ws(&e, W, "remote://x", NULL));
  snprintf(body, sizeof body, "{\"workspace_id\":\"%s\"}", W);
  json_t *j = expect(&e, 401, "POST", "/registry/heartbeat", NULL, NULL, body);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "missing workspace auth token");
  json_decref(j);
  j = expect(&e, 401, "POST", "/registry/heartbeat", "nope", NULL, body);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid workspace auth token");
  json_decref(j);
  heartbeat(&e, W, tok, NULL);
  /* a token of another workspace is invalid here */
  char other[64], otok[64];
  snprintf(other, sizeof other, "%s", create_ws(&e, NULL, "other", NULL));
  snprintf(otok, sizeof otok, "%s", register_ws(&e, other, "remote://x", NULL));
  expect_drop(&e, 401, "POST", "/registry/heartbeat", otok, NULL, body);
  /* update-card under the same gate */
  snprintf(body, sizeof body, "{\"workspace_id\":\"%s\",\"agent_card\":{\"name\":\"new\"}}", W);
  expect_drop(&e, 401, "POST", "/registry/update-card", NULL, NULL, body);
  expect_drop(&e, 200, "POST", "/registry/update-card", tok, NULL, body);
  /* bad bodies are 400, never a crash */
  expect_drop(&e, 400, "POST", "/registry/register", NULL, NULL, "not json");
  expect_drop(&e, 400, "POST", "/registry/register", NULL, NULL, "{\"id\":\"x\"}");
  expect_drop(&e, 400, "POST", "/registry/heartbeat", NULL, NULL, "[]");
  expect_drop(&e, 400, "POST", "/registry/heartbeat", tok, NULL,
              "{\"workspace_id\":\"x\",\"active_tasks\":\"many\"}");
  expect_drop(&e, 400, "POST", "/registry/register", NULL, NULL,
              "{\"id\":\"NOT-A-UUID\",\"url\":\"remote://x\",\"agent_card\":{}}");
  /* an external workspace created without url gets its token at creation */
  j = expect(&e, 201, "POST", "/workspaces", NULL, NULL, "{\"name\":\"ext\",\"external\":true}");
  const char *ctok = json_string_value(json_object_get(json_object_get(j, "connection"), "auth_token"));
  const char *cid = json_string_value(json_object_get(j, "id"));
  assert_non_null(ctok);
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"remote://x\",\"agent_card\":{}}", cid);
  expect_drop(&e, 401, "POST", "/registry/register", NULL, NULL, body);
  expect_drop(&e, 200, "POST", "/registry/register", ctok, NULL, body);
  json_decref(j);
  env_stop(&e);
}

/* P{C1{G}, C2}, Q{Q1}: siblings, parent/child and ancestors talk; cousins do not. */
static void test_hierarchy(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  char P[64], C1[64], C2[64], G[64], Q[64], Q1[64];
  snprintf(P, 64, "%s", create_ws(&e, NULL, "p", NULL));
  snprintf(C1, 64, "%s", create_ws(&e, NULL, "c1", P));
  snprintf(C2, 64, "%s", create_ws(&e, NULL, "c2", P));
  snprintf(G, 64, "%s", create_ws(&e, NULL, "g", C1));
  snprintf(Q, 64, "%s", create_ws(&e, NULL, "q", NULL));
  snprintf(Q1, 64, "%s", create_ws(&e, NULL, "q1", Q));
  struct { const char *a, *b; int ok; } cases[] = {
      {C1, C2, 1}, {C1, P, 1}, {P, C1, 1}, {G, P, 1}, {P, G, 1}, {P, Q, 1}, {C1, C1, 1},
      {G, C2, 0},  {C2, G, 0}, {C1, Q1, 0}, {Q1, P, 0}, {G, Q, 0},
  };
  char body[256], path[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(body, sizeof body, "{\"caller_id\":\"%s\",\"target_id\":\"%s\"}", cases[i].a, cases[i].b);
    json_t *j = expect(&e, 200, "POST", "/registry/check-access", NULL, NULL, body);
    assert_int_equal(json_is_true(json_object_get(j, "allowed")), cases[i].ok);
    json_decref(j);
    path_of(path, sizeof path, "/registry/discover/%s", cases[i].b);
    /* grandfathered callers (no tokens yet): the access rule alone decides */
    int st;
    json_t *d = callj(&e, "GET", path, NULL, cases[i].a, NULL, &st);
    assert_int_equal(st == 403, !cases[i].ok);
    json_decref(d);
  }
  /* cousins through the proxy: 403 */
  path_of(path, sizeof path, "/workspaces/%s/a2a", C2);
  json_t *j = expect(&e, 403, "POST", path, NULL, G, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "error")),
                      "access denied: workspaces cannot communicate per hierarchy rules");
  json_decref(j);
  /* peers of C1: parent P, sibling C2, child G (not Q, Q1) */
  path_of(path, sizeof path, "/registry/%s/peers", C1);
  j = expect(&e, 200, "GET", path, NULL, NULL, NULL);
  assert_int_equal(json_array_size(j), 3);
  assert_non_null(find_by_id(j, P));
  assert_non_null(find_by_id(j, C2));
  assert_non_null(find_by_id(j, G));
  json_decref(j);
  path_of(path, sizeof path, "/registry/%s/peers?q=C2", C1);
  j = expect(&e, 200, "GET", path, NULL, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  json_decref(j);
  /* delete with children needs confirm; cascades */
  path_of(path, sizeof path, "/workspaces/%s", P);
  j = expect(&e, 409, "DELETE", path, NULL, NULL, NULL);
  assert_int_equal(json_integer_value(json_object_get(j, "children_count")), 2);
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s?confirm=true", P);
  j = expect(&e, 200, "DELETE", path, NULL, NULL, NULL);
  assert_int_equal(json_integer_value(json_object_get(j, "cascade_deleted")), 4);
  json_decref(j);
  j = expect(&e, 200, "GET", "/workspaces", NULL, NULL, NULL);
  assert_int_equal(json_array_size(j), 2);
  json_decref(j);
  env_stop(&e);
}

static void test_admin_auth(void **state) {
  (void)state;
  env e;
  env_start(&e, 0);
  env_open(&e);
  const char *admin = mol_devplatform_admin_token(e.dp);
  assert_int_equal(strlen(admin), 43);
  char file[256], saved[64];
  snprintf(saved, sizeof saved, "%s", admin);
  snprintf(file, sizeof file, "%s.admin_token", e.db);
  struct stat sb;
  assert_int_equal(stat(file, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  expect_drop(&e, 401, "POST", "/workspaces", NULL, NULL, "{\"name\":\"x\"}");
  expect_drop(&e, 401, "POST", "/workspaces", "wrong", NULL, "{\"name\":\"x\"}");
  expect_drop(&e, 401, "GET", "/workspaces", NULL, NULL, NULL);
  const char *id = create_ws(&e, admin, "x", NULL);
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s?confirm=true", id);
  expect_drop(&e, 401, "DELETE", path, NULL, NULL, NULL);
  expect_drop(&e, 400, "POST", "/workspaces", admin, NULL, "{\"noname\":1}");
  expect_drop(&e, 400, "POST", "/workspaces", admin, NULL,
              "{\"name\":\"y\",\"parent_id\":\"00000000-0000-4000-8000-000000000000\"}");
  expect_drop(&e, 401, "POST", "/settings/secrets", NULL, NULL, "{\"key\":\"G\",\"value\":\"1\"}");
  expect_drop(&e, 200, "POST", "/settings/secrets", admin, NULL, "{\"key\":\"G\",\"value\":\"1\"}");
  /* the token survives a restart (read back from the file) */
  env_close_platform(&e);
  env_open(&e);
  assert_string_equal(mol_devplatform_admin_token(e.dp), saved);
  /* the environment wins over the file */
  env_close_platform(&e);
  setenv("MOLECULE_ADMIN_TOKEN", "from-the-environment-123", 1);
  env_open(&e);
  unsetenv("MOLECULE_ADMIN_TOKEN");
  assert_string_equal(mol_devplatform_admin_token(e.dp), "from-the-environment-123");
  expect_drop(&e, 200, "GET", "/workspaces", "from-the-environment-123", NULL, NULL);
  expect_drop(&e, 401, "GET", "/workspaces", saved, NULL, NULL);
  env_stop(&e);
}

static void put_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* An admin token file as an operator may have written it: the blanks around the token are not
 * part of it; a token longer than the platform keeps (127 bytes) is refused, not cut short;
 * the file is not read through a symlink (as the agents' token files). */
static void test_admin_token_file(void **state) {
  (void)state;
  env e;
  env_start(&e, 0);
  char file[256], link[256], longtok[201];
  snprintf(file, sizeof file, "%s/admin.tok", e.dir);
  e.opts.admin_token_file = file;
  put_file(file, " \t hand-written-token \r\n");
  env_open(&e);
  assert_string_equal(mol_devplatform_admin_token(e.dp), "hand-written-token");
  expect_drop(&e, 200, "GET", "/workspaces", "hand-written-token", NULL, NULL);
  env_close_platform(&e);
  memset(longtok, 'a', sizeof longtok - 1);
  longtok[sizeof longtok - 1] = '\0';
  put_file(file, longtok);
  mol_devplatform *dp = NULL;
  assert_int_equal(mol_devplatform_new(&e.loop, &e.opts, &dp), MOL_EINVAL);
  assert_null(dp);
  put_file(file, "behind-a-symlink\n");
  snprintf(link, sizeof link, "%s/link.tok", e.dir);
  assert_int_equal(symlink(file, link), 0);
  e.opts.admin_token_file = link;
  assert_int_not_equal(mol_devplatform_new(&e.loop, &e.opts, &dp), 0);
  assert_null(dp);
  env_stop(&e);
}

static void test_rate_limit(void **state) {
  (void)state;
  env e;
  env_start(&e, 0);
  e.opts.rate_limit = 3;
  e.opts.rate_window_ms = 1500;
  env_open(&e);
  call_res r;
  for (int i = 0; i < 3; i++) {
    call_start(&e, &r, "GET", "/health", NULL, NULL, NULL, NULL, NULL);
    call_wait(&e, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.rl_limit, "3");
    assert_int_equal(atoi(r.rl_remaining), 2 - i);
    assert_true(atoi(r.rl_reset) >= 1);
    call_free(&r);
  }
  call_start(&e, &r, "GET", "/health", NULL, NULL, NULL, NULL, NULL);
  call_wait(&e, &r);
  assert_int_equal(r.status, 429);
  assert_true(r.retry_after[0] != '\0');
  assert_string_equal(r.rl_remaining, "0");
  json_t *j = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "error")), "rate limit exceeded");
  assert_true(json_is_integer(json_object_get(j, "retry_after")));
  json_decref(j);
  call_free(&r);
  run_for(&e, 1600);
  call_start(&e, &r, "GET", "/health", NULL, NULL, NULL, NULL, NULL);
  call_wait(&e, &r);
  assert_int_equal(r.status, 200);
  call_free(&r);
  env_stop(&e);
  /* dev mode: unlimited */
  env_start(&e, 1);
  env_open(&e);
  call_start(&e, &r, "GET", "/health", NULL, NULL, NULL, NULL, NULL);
  call_wait(&e, &r);
  assert_string_equal(r.rl_limit, "unlimited");
  call_free(&r);
  env_stop(&e);
}

static void register_expect(env *e, const char *ws, const char *url, int want) {
  char body[512];
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"%s\",\"agent_card\":{}}", ws, url);
  expect_drop(e, want, "POST", "/registry/register", NULL, NULL, body);
}

static void test_ssrf(void **state) {
  (void)state;
  env e;
  responder agent;
  char path[256], url[128];
  /* not dev: loopback and private literals refused at register; localhost passes register
   * (upstream) but the proxy refuses to call it. */
  env_start(&e, 0);
  env_open(&e);
  responder_start(&e, &agent, R_ECHO);
  const char *admin = mol_devplatform_admin_token(e.dp);
  char W[64];
  snprintf(W, 64, "%s", create_ws(&e, admin, "w", NULL));
  register_expect(&e, W, agent.url, 400);
  register_expect(&e, W, "http://10.1.2.3:8000", 400);
  register_expect(&e, W, "http://192.168.1.1/", 400);
  register_expect(&e, W, "http://169.254.169.254/latest", 400);
  register_expect(&e, W, "http://[::1]:9/", 400);
  snprintf(url, sizeof url, "http://localhost:%d/a2a", agent.port);
  register_expect(&e, W, url, 200);
  path_of(path, sizeof path, "/workspaces/%s/a2a", W);
  json_t *j = expect(&e, 502, "POST", path, NULL, NULL, MSG_BODY);
  assert_string_equal(json_string_value(json_object_get(j, "error")),
                      "workspace URL is not publicly routable");
  json_decref(j);
  assert_int_equal(agent.received, 0);
  responder_stop(&e, &agent);
  env_stop(&e);
  /* dev: loopback allowed both ways; private and metadata ranges still refused */
  env_start(&e, 1);
  env_open(&e);
  responder_start(&e, &agent, R_ECHO);
  snprintf(W, 64, "%s", create_ws(&e, NULL, "w", NULL));
  register_expect(&e, W, "http://10.1.2.3:8000", 400);
  register_expect(&e, W, "http://169.254.169.254/", 400);
  register_expect(&e, W, "http://[fd00::1]/", 400);
  register_expect(&e, W, agent.url, 200);
  path_of(path, sizeof path, "/workspaces/%s/a2a", W);
  expect_drop(&e, 200, "POST", path, NULL, NULL, MSG_BODY);
  assert_int_equal(agent.received, 1);
  responder_stop(&e, &agent);
  env_stop(&e);
}

static const char *state_status(env *e, const char *ws, const char *tok, char *out) {
  char path[256];
  path_of(path, sizeof path, "/workspaces/%s/state", ws);
  json_t *j = expect(e, 200, "GET", path, tok, NULL, NULL);
  snprintf(out, 32, "%s", json_string_value(json_object_get(j, "status")));
  json_decref(j);
  return out;
}

/* Status transitions on heartbeat and the liveness sweep (TTL shortened to 1 s). */
static void test_status_and_liveness(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  e.opts.liveness_ttl_s = 1;
  env_open(&e);
  char W[64], tok[64], st[32];
  snprintf(W, 64, "%s", create_ws(&e, NULL, "w", NULL));
  assert_string_equal(state_status(&e, W, mol_devplatform_admin_token(e.dp), st), "awaiting_agent");
  snprintf(tok, 64, "%s", register_ws(&e, W, "remote://x", NULL));
  assert_string_equal(state_status(&e, W, tok, st), "online");
  heartbeat(&e, W, tok, "\"runtime_state\":\"wedged\"");
  assert_string_equal(state_status(&e, W, tok, st), "degraded");
  heartbeat(&e, W, tok, "\"error_rate\":0.0");
  assert_string_equal(state_status(&e, W, tok, st), "online");
  heartbeat(&e, W, tok, "\"error_rate\":0.7");
  assert_string_equal(state_status(&e, W, tok, st), "degraded");
  heartbeat(&e, W, tok, "\"error_rate\":0.05");
  assert_string_equal(state_status(&e, W, tok, st), "online");
  /* status_mgmt: the runtime manages its own status, error_rate is ignored (the map declared by
   * one heartbeat applies from the next one on, as upstream: overrides are step 6) */
  const char *mgmt = "\"runtime_metadata\":{\"capabilities\":{\"status_mgmt\":true}}";
  heartbeat(&e, W, tok, mgmt);
  char hb[256];
  snprintf(hb, sizeof hb, "\"error_rate\":0.9,%s", mgmt);
  heartbeat(&e, W, tok, hb);
  assert_string_equal(state_status(&e, W, tok, st), "online");
  /* no heartbeat for > TTL: offline; the next heartbeat brings it back */
  run_for(&e, 1700);
  assert_string_equal(state_status(&e, W, tok, st), "offline");
  heartbeat(&e, W, tok, NULL);
  assert_string_equal(state_status(&e, W, tok, st), "online");
  /* paused is never changed by a heartbeat; register flips it back online */
  char path[256];
  path_of(path, sizeof path, "/workspaces/%s/pause", W);
  expect_drop(&e, 200, "POST", path, tok, NULL, NULL);
  expect_drop(&e, 404, "POST", path, tok, NULL, NULL);
  heartbeat(&e, W, tok, NULL);
  assert_string_equal(state_status(&e, W, tok, st), "paused");
  register_ws(&e, W, "remote://x", tok);
  assert_string_equal(state_status(&e, W, tok, st), "online");
  env_stop(&e);
}

/* Runs one SQL statement on the platform's database from another process (python3's sqlite3:
 * the platform loads SQLite at run time, the test does not link it); prints the first column
 * of the first row, or nothing. */
static long long db_query(env *e, const char *sql) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import sqlite3; c = sqlite3.connect('%s', timeout=10); "
           "r = c.execute(\\\"%s\\\").fetchone(); c.commit(); print(r[0] if r else 0)\"",
           e->db, sql);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  long long v = -1;
  assert_int_equal(fscanf(p, "%lld", &v), 1);
  assert_int_equal(pclose(p), 0);
  return v;
}

/* The token cache past its bound drops its oldest entry, not everything: four slots, five
 * agents heartbeating in turn; after the fifth, the last four still hit (a miss is visible:
 * it queries the token and writes its last_used_at). Cleared whole, the second round missed
 * three of four. */
static void test_token_cache_bounded(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  e.opts.token_cache_max = 4;
  env_open(&e);
  char ws[5][64], tok[5][64];
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    snprintf(ws[i], 64, "%s", create_ws(&e, NULL, name, NULL));
    snprintf(tok[i], 64, "%s", register_ws(&e, ws[i], "remote://x", NULL));
    assert_true(tok[i][0]);
  }
  for (int i = 0; i < 5; i++) heartbeat(&e, ws[i], tok[i], NULL); /* five misses */
  assert_int_equal(db_query(&e, "UPDATE tokens SET last_used_at=NULL"), 0);
  for (int i = 1; i < 5; i++) heartbeat(&e, ws[i], tok[i], NULL);
  assert_int_equal(db_query(&e, "SELECT count(last_used_at) FROM tokens"), 0);
  heartbeat(&e, ws[0], tok[0], NULL); /* the one evicted: a miss, still answered */
  assert_int_equal(db_query(&e, "SELECT count(last_used_at) FROM tokens"), 1);
  env_stop(&e);
}

/* The feed is bounded per workspace; a pruned cursor answers 410. */
static void test_activity_bounds(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  e.opts.activity_max_per_ws = 5;
  env_open(&e);
  char W[64], tok[64], path[256], first[64] = "";
  snprintf(W, 64, "%s", create_ws(&e, NULL, "w", NULL));
  snprintf(tok, 64, "%s", register_ws(&e, W, "remote://x", NULL));
  path_of(path, sizeof path, "/workspaces/%s/a2a", W);
  for (int i = 0; i < 70; i++) {
    json_t *j = expect(&e, 200, "POST", path, NULL, NULL, MSG_BODY); /* canvas caller */
    if (i == 0) snprintf(first, sizeof first, "%s", json_string_value(json_object_get(j, "activity_id")));
    json_decref(j);
  }
  path_of(path, sizeof path, "/workspaces/%s/activity?limit=500", W);
  json_t *j = expect(&e, 200, "GET", path, tok, NULL, NULL);
  assert_true(json_array_size(j) <= 5 + 64);
  assert_true(json_array_size(j) >= 5);
  json_t *row = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(row, "data"), "source")),
                      "canvas_user");
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/activity?since_id=%s", W, first);
  expect_drop(&e, 410, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/activity?source=robot", W);
  expect_drop(&e, 400, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/activity?limit=-3", W);
  expect_drop(&e, 400, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/activity?before_ts=yesterday", W);
  expect_drop(&e, 400, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/activity?before_ts=2000-01-01T00:00:00Z", W);
  j = expect(&e, 200, "GET", path, tok, NULL, NULL);
  assert_int_equal(json_array_size(j), 0);
  json_decref(j);
  /* self-report */
  path_of(path, sizeof path, "/workspaces/%s/activity", W);
  expect_drop(&e, 200, "POST", path, tok, NULL, "{\"activity_type\":\"agent_log\",\"summary\":\"hi\"}");
  expect_drop(&e, 400, "POST", path, tok, NULL, "{\"activity_type\":\"nonsense\"}");
  expect_drop(&e, 403, "POST", path, tok, NULL,
              "{\"activity_type\":\"agent_log\",\"source_id\":\"someone-else\"}");
  env_stop(&e);
}

static void test_plugin_download(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  char plugins[160], cmd[2048];
  snprintf(plugins, sizeof plugins, "%s/plugins", e.dir);
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/demo/skills/x && echo 'name: demo' > %s/demo/plugin.yaml && "
           "echo skill > %s/demo/skills/x/SKILL.md && ln -s /etc/passwd %s/demo/leak",
           plugins, plugins, plugins, plugins);
  assert_int_equal(system(cmd), 0);
  e.opts.plugins_dir = plugins;
  env_open(&e);
  char W[64], tok[64], path[256];
  snprintf(W, 64, "%s", create_ws(&e, NULL, "w", NULL));
  snprintf(tok, 64, "%s", register_ws(&e, W, "remote://x", NULL));
  snprintf(path, sizeof path, "/workspaces/%s/plugins/demo/download", W);
  call_res r;
  call_start(&e, &r, "GET", path, tok, NULL, NULL, NULL, NULL);
  call_wait(&e, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.plugin_name, "demo");
  assert_string_equal(r.content_type, "application/gzip");
  assert_true(r.body_len > 2 && (unsigned char)r.body[0] == 0x1f && (unsigned char)r.body[1] == 0x8b);
  char tgz[300], list[300];
  snprintf(tgz, sizeof tgz, "%s/demo.tgz", e.dir);
  snprintf(list, sizeof list, "%s/list.txt", e.dir);
  FILE *f = fopen(tgz, "wb");
  fwrite(r.body, 1, r.body_len, f);
  fclose(f);
  call_free(&r);
  snprintf(cmd, sizeof cmd, "tar -tzf %s | sort > %s", tgz, list);
  assert_int_equal(system(cmd), 0);
  char got[512] = "";
  f = fopen(list, "r");
  size_t n = fread(got, 1, sizeof got - 1, f);
  fclose(f);
  got[n] = '\0';
  assert_string_equal(got, "plugin.yaml\nskills/\nskills/x/\nskills/x/SKILL.md\n");
  expect_drop(&e, 401, "GET", path, NULL, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/plugins/nope/download", W);
  expect_drop(&e, 404, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/plugins/..x/download", W);
  expect_drop(&e, 400, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/plugins/demo/download?source=github://a/b", W);
  expect_drop(&e, 400, "GET", path, tok, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/plugins", W);
  expect_drop(&e, 503, "POST", path, tok, NULL, "{\"source\":\"local://demo\"}");
  env_stop(&e);
}

/* Every route with hostile bodies and ids: a 4xx (or a 2xx where the input happens to be
 * acceptable), never a 5xx, never a crash. */
static void test_bad_input(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  char W[64], tok[64];
  snprintf(W, 64, "%s", create_ws(&e, NULL, "w", NULL));
  snprintf(tok, 64, "%s", register_ws(&e, W, "remote://x", NULL));
  static const char *const bodies[] = {
      "", "null", "[]", "{}", "\"s\"", "12", "{\"id\":1,\"url\":2,\"agent_card\":3}",
      "{\"workspace_id\":{},\"error_rate\":\"x\"}", "{\"key\":1,\"value\":[]}",
      "{\"name\":123,\"parent_id\":[]}", "{\"message\":[],\"attachments\":{}}",
      "{\"method\":5,\"params\":{\"message\":7}}", "{\"caller_id\":null}",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
      "{\"workspace_id\":\"W\",\"active_tasks\":1e300,\"runtime_metadata\":"
      "{\"idle_timeout_seconds\":-1e300,\"capabilities\":[]}}",
      NULL};
  static const char *const routes[][2] = {
      {"POST", "/registry/register"}, {"POST", "/registry/heartbeat"},
      {"POST", "/registry/update-card"}, {"POST", "/registry/check-access"},
      {"POST", "/workspaces"}, {"POST", "/workspaces/W/secrets"}, {"POST", "/settings/secrets"},
      {"POST", "/workspaces/W/a2a"}, {"POST", "/workspaces/W/notify"},
      {"POST", "/workspaces/W/activity"}, {"GET", "/workspaces/W/activity?limit=abc&since_id="},
      {"GET", "/registry/discover/not-a-uuid"}, {"GET", "/registry/W/peers?q=%zz"},
      {"GET", "/workspaces/not-a-uuid"}, {"DELETE", "/workspaces/not-a-uuid"},
      {"GET", "/workspaces/W/state"}, {"POST", "/workspaces/W/pause"},
      {"GET", "/workspaces/W/secrets/values"}, {"DELETE", "/workspaces/W/secrets/nokey"},
      {"GET", "/a/b/c/d/e/f/g/h"}, {"PATCH", "/workspaces"},
  };
  char path[256], body[512];
  for (size_t r = 0; r < sizeof routes / sizeof routes[0]; r++) {
    for (int b = 0; bodies[b]; b++) {
      /* substitute the workspace id for W */
      const char *src = routes[r][1], *w = strstr(src, "/W");
      if (w) snprintf(path, sizeof path, "%.*s/%s%s", (int)(w - src), src, W, w + 2);
      else snprintf(path, sizeof path, "%s", src);
      const char *bw = strstr(bodies[b], "\"W\"");
      if (bw) snprintf(body, sizeof body, "%.*s\"%s\"%s", (int)(bw - bodies[b]), bodies[b], W, bw + 3);
      else snprintf(body, sizeof body, "%s", bodies[b]);
      int st;
      json_t *j = callj(&e, routes[r][0], path, tok, W, body, &st);
      if (st >= 500) print_error("%s %s [%s] -> %d\n", routes[r][0], path, body, st);
      assert_true(st >= 200 && st < 500);
      json_decref(j);
    }
  }
  expect_drop(&e, 200, "GET", "/health", NULL, NULL, NULL);
  env_stop(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lifecycle),  cmocka_unit_test(test_token_rules),
      cmocka_unit_test(test_hierarchy),  cmocka_unit_test(test_admin_auth),
      cmocka_unit_test(test_admin_token_file),
      cmocka_unit_test(test_rate_limit), cmocka_unit_test(test_ssrf),
      cmocka_unit_test(test_status_and_liveness), cmocka_unit_test(test_activity_bounds),
      cmocka_unit_test(test_token_cache_bounded),
      cmocka_unit_test(test_plugin_download), cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
