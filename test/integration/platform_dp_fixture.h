/* platform_dp_fixture.h - the platform client against the real embedded dev platform on
 * loopback (temporary SQLite database): operator calls through a plain HTTP client with the
 * admin token, agent calls through platform clients holding their workspace tokens, and a
 * restart of the platform on the same database. Shared by the tool-endpoint tests. */
#ifndef PLATFORM_DP_FIXTURE_H
#define PLATFORM_DP_FIXTURE_H

#include "platform_testutil.h"

#include "base/json.h"
#include "devplatform/devplatform.h"
#include "http/client.h"

#define DPF_MAX_AGENTS 8

typedef struct {
  uv_loop_t loop;
  mol_devplatform *dp;
  mol_http_client *http;
  char *dir;
  char base[128];
  int port;
  mol_platform_client *agents[DPF_MAX_AGENTS];
  int nagents;
  int dp_closed, http_closed;
} dpf;

static dpf *F;

typedef struct {
  int done, status;
  char body[16384];
} op_result;

static void op_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  op_result *o = arg;
  o->done = 1;
  o->status = err ? err : resp->status;
  if (resp && resp->body) snprintf(o->body, sizeof(o->body), "%s", resp->body);
}

/* An HTTP request to the platform; bearer NULL -> the admin token, "" -> none. */
static op_result op_as(const char *bearer, const char *method, const char *path,
                       const char *body) {
  char url[1024], auth[256];
  snprintf(url, sizeof(url), "%s%s", F->base, path);
  snprintf(auth, sizeof(auth), "Bearer %s", bearer ? bearer : mol_devplatform_admin_token(F->dp));
  mol_http_header h[] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  size_t nh = bearer && !*bearer ? 1 : 2;
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = nh,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = 5000};
  op_result res = {0};
  assert_int_equal(mol_http_request_send(F->http, &o, op_done, &res, NULL), 0);
  assert_true(run_until(g_loop, &res.done, 6000));
  return res;
}

static op_result op(const char *method, const char *path, const char *body) {
  return op_as(NULL, method, path, body);
}

/* The agents' heartbeat interval the platform assumes (0: its default); a test that needs the
 * stuck-delegation sweep soon sets it before dpf_setup. */
static unsigned dpf_heartbeat_ms;

static void dpf_start_platform(void) {
  mol_devplatform_opts o = {.db_path = path_in(F->dir, "dev.db"), .dev = 1,
                            .heartbeat_interval_ms = dpf_heartbeat_ms};
  assert_int_equal(mol_devplatform_new(g_loop, &o, &F->dp), 0);
  assert_int_equal(mol_devplatform_listen(F->dp, "127.0.0.1", F->port), 0);
  F->port = mol_devplatform_port(F->dp);
  snprintf(F->base, sizeof(F->base), "http://127.0.0.1:%d", F->port);
}

static void on_dp_closed(void *arg) { (void)arg; F->dp_closed = 1; }
static void on_http_closed(void *arg) { (void)arg; F->http_closed = 1; }

static void dpf_stop_platform(void) {
  F->dp_closed = 0;
  mol_devplatform_close(F->dp, on_dp_closed, NULL);
  assert_true(run_until(g_loop, &F->dp_closed, 10000));
  F->dp = NULL;
}

/* Closes the platform and opens a new one on the same database and port. */
static void dpf_restart(void) {
  dpf_stop_platform();
  dpf_start_platform();
}

static int dpf_setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  F->dir = make_tmpdir();
  dpf_start_platform();
  assert_int_equal(mol_http_client_new(g_loop, NULL, &F->http), 0);
  return 0;
}

static int dpf_teardown(void **st) {
  (void)st;
  for (int i = 0; i < F->nagents; i++) close_client(F->agents[i]);
  if (F->dp) dpf_stop_platform();
  mol_http_client_close(F->http, on_http_closed, NULL);
  assert_true(run_until(g_loop, &F->http_closed, 10000));
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  rm_tree(F->dir);
  free(F);
  return 0;
}

/* Creates an external workspace (parent may be NULL) and a platform client holding its token.
 * id gets the workspace id, tok (when not NULL) its token. */
static mol_platform_client *dpf_agent(const char *name, const char *parent, char id[64],
                                      char tok[128]) {
  char body[256];
  if (parent)
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"external\":true,\"parent_id\":\"%s\"}", name,
             parent);
  else
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"external\":true}", name);
  op_result r = op("POST", "/workspaces", body);
  assert_int_equal(r.status, 201);
  json_t *v = mol_json_parse(r.body, strlen(r.body), NULL, 0);
  snprintf(id, 64, "%s", mol_json_str(v, "id"));
  char token[128];
  snprintf(token, sizeof token, "%s", mol_json_str(v, "connection.auth_token"));
  json_decref(v);
  if (tok) snprintf(tok, 128, "%s", token);
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/%s", F->dir, name);
  mol_platform_opts o = {.platform_url = F->base, .workspace_id = id, .token_dir = dir};
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(g_loop, &o, &c), 0);
  assert_int_equal(mol_platform_save_token(c, token), 0);
  assert_true(F->nagents < DPF_MAX_AGENTS);
  F->agents[F->nagents++] = c;
  return c;
}

#define CALL(expr, cap)                 \
  do {                                  \
    memset(&(cap), 0, sizeof(cap));     \
    assert_int_equal((expr), 0);        \
    wait_done(&(cap), 10000);           \
  } while (0)

/* The captured body parsed (caller decrefs). */
static json_t *cap_json(const capture *c) {
  json_t *v = mol_json_parse(c->body, strlen(c->body), NULL, 0);
  assert_non_null(v);
  return v;
}

#endif
