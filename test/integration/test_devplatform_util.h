/* Helpers for the dev platform integration tests: a platform on a real SQLite file in a
 * mkdtemp directory, listening on loopback; a synchronous-looking HTTP call helper built on
 * our HTTP client (it runs the loop until the answer arrives); and a small A2A responder on
 * our HTTP server that echoes, fails, or hangs on demand. */
#ifndef TEST_DEVPLATFORM_UTIL_H
#define TEST_DEVPLATFORM_UTIL_H

/* Each test uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/clock.h"
#include "devplatform/devplatform.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"

/* ---- the platform -------------------------------------------------------------------------- */

typedef struct {
  uv_loop_t loop;
  char dir[128];
  char db[192];
  mol_devplatform_opts opts;
  mol_devplatform *dp;
  mol_http_client *client;
  int port;
  int closed;
} env;

static void env_closed_cb(void *arg) { *(int *)arg = 1; }

static void run_until(env *e, int *flag, unsigned timeout_ms) {
  uint64_t end = mol_mono_ms() + timeout_ms;
  while (!*flag && mol_mono_ms() < end) uv_run(&e->loop, UV_RUN_ONCE);
}

/* Runs the loop for about ms milliseconds (a timer keeps it awake). */
static void on_sleep_timer(uv_timer_t *t) { *(int *)t->data = 1; }
static inline void run_for(env *e, unsigned ms) {
  uv_timer_t t;
  int done = 0;
  uv_timer_init(&e->loop, &t);
  t.data = &done;
  uv_timer_start(&t, on_sleep_timer, ms, 0);
  while (!done) uv_run(&e->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void env_open(env *e) {
  assert_int_equal(mol_devplatform_new(&e->loop, &e->opts, &e->dp), 0);
  assert_int_equal(mol_devplatform_listen(e->dp, "127.0.0.1", 0), 0);
  e->port = mol_devplatform_port(e->dp);
  assert_true(e->port > 0);
}

static void env_start(env *e, int dev) {
  memset(e, 0, sizeof *e);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  snprintf(e->dir, sizeof e->dir, "/tmp/moldevp-XXXXXX");
  assert_non_null(mkdtemp(e->dir));
  snprintf(e->db, sizeof e->db, "%s/platform.db", e->dir);
  e->opts.db_path = e->db;
  e->opts.dev = dev;
  assert_int_equal(mol_http_client_new(&e->loop, NULL, &e->client), 0);
}

static void env_close_platform(env *e) {
  int done = 0;
  mol_devplatform_close(e->dp, env_closed_cb, &done);
  run_until(e, &done, 10000);
  assert_true(done);
  e->dp = NULL;
}

static void env_stop(env *e) {
  if (e->dp) env_close_platform(e);
  int done = 0;
  mol_http_client_close(e->client, env_closed_cb, &done);
  run_until(e, &done, 5000);
  uv_run(&e->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
  assert_int_equal(system(cmd), 0);
}

/* ---- HTTP calls ------------------------------------------------------------------------------ */

typedef struct {
  int done, err, status;
  char *body;
  size_t body_len;
  char retry_after[32], rl_limit[32], rl_remaining[32], rl_reset[32];
  char plugin_name[64], content_type[64];
  uint64_t finished_ms;
} call_res;

static void copy_hdr(const mol_http_response *resp, const char *name, char *out, size_t cap) {
  const char *v = mol_http_headers_get(resp->headers, name);
  snprintf(out, cap, "%s", v ? v : "");
}

static void on_call_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  call_res *c = arg;
  c->err = err;
  if (resp) {
    c->status = resp->status;
    c->body = malloc(resp->body_len + 1);
    memcpy(c->body, resp->body ? resp->body : "", resp->body_len);
    c->body[resp->body_len] = '\0';
    c->body_len = resp->body_len;
    copy_hdr(resp, "X-Plugin-Name", c->plugin_name, sizeof c->plugin_name);
    copy_hdr(resp, "Content-Type", c->content_type, sizeof c->content_type);
    copy_hdr(resp, "Retry-After", c->retry_after, sizeof c->retry_after);
    copy_hdr(resp, "X-RateLimit-Limit", c->rl_limit, sizeof c->rl_limit);
    copy_hdr(resp, "X-RateLimit-Remaining", c->rl_remaining, sizeof c->rl_remaining);
    copy_hdr(resp, "X-RateLimit-Reset", c->rl_reset, sizeof c->rl_reset);
  }
  c->finished_ms = mol_mono_ms();
  c->done = 1;
}

/* Starts a call; headers: bearer (NULL = none), caller (X-Workspace-ID), extra "Name: value". */
static void call_start(env *e, call_res *res, const char *method, const char *path,
                       const char *bearer, const char *caller, const char *body,
                       const char *extra_name, const char *extra_value) {
  memset(res, 0, sizeof *res);
  char url[512], auth[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", e->port, path);
  mol_http_header h[4];
  size_t n = 0;
  h[n++] = (mol_http_header){"Content-Type", "application/json"};
  if (bearer) {
    snprintf(auth, sizeof auth, "Bearer %s", bearer);
    h[n++] = (mol_http_header){"Authorization", auth};
  }
  if (caller) h[n++] = (mol_http_header){"X-Workspace-ID", caller};
  if (extra_name) h[n++] = (mol_http_header){extra_name, extra_value};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = n,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .idle_timeout_ms = 60000};
  assert_int_equal(mol_http_request_send(e->client, &o, on_call_done, res, NULL), 0);
}

static void call_wait(env *e, call_res *res) {
  run_until(e, &res->done, 30000);
  assert_true(res->done);
}

static void call_free(call_res *r) {
  free(r->body);
  r->body = NULL;
}

/* A call whose JSON answer is returned (caller decrefs); status goes to *status. */
static json_t *callj(env *e, const char *method, const char *path, const char *bearer,
                     const char *caller, const char *body, int *status) {
  call_res r;
  call_start(e, &r, method, path, bearer, caller, body, NULL, NULL);
  call_wait(e, &r);
  assert_int_equal(r.err, 0);
  *status = r.status;
  json_t *j = json_loads(r.body, JSON_DECODE_ANY, NULL);
  if (!j) j = json_string(r.body);
  call_free(&r);
  return j;
}

/* The same, asserting the status. */
static json_t *expect(env *e, int want, const char *method, const char *path, const char *bearer,
                      const char *caller, const char *body) {
  int st = 0;
  json_t *j = callj(e, method, path, bearer, caller, body, &st);
  if (st != want) {
    char *d = json_dumps(j, JSON_ENCODE_ANY);
    print_error("%s %s: want %d, got %d: %s\n", method, path, want, st, d);
    free(d);
  }
  assert_int_equal(st, want);
  return j;
}

static void expect_drop(env *e, int want, const char *method, const char *path, const char *bearer,
                        const char *caller, const char *body) {
  json_decref(expect(e, want, method, path, bearer, caller, body));
}

/* Operator: creates a workspace and returns its id (static buffer rotates over 8 slots). */
static const char *create_ws(env *e, const char *admin, const char *name, const char *parent) {
  static char ids[8][64];
  static int slot;
  char body[256];
  if (parent)
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"parent_id\":\"%s\"}", name, parent);
  else
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *j = expect(e, 201, "POST", "/workspaces", admin, NULL, body);
  char *id = ids[slot++ % 8];
  snprintf(id, 64, "%s", json_string_value(json_object_get(j, "id")));
  json_decref(j);
  return id;
}

/* Registers ws at url; returns the minted token (static rotating buffers) or "" when none. */
static const char *register_ws(env *e, const char *ws, const char *url, const char *bearer) {
  static char toks[8][64];
  static int slot;
  char body[512], path[] = "/registry/register";
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"%s\",\"agent_card\":{\"name\":\"n-%s\"}}",
           ws, url, ws);
  json_t *j = expect(e, 200, "POST", path, bearer, NULL, body);
  char *t = toks[slot++ % 8];
  const char *tok = json_string_value(json_object_get(j, "auth_token"));
  snprintf(t, 64, "%s", tok ? tok : "");
  json_decref(j);
  return t;
}

static inline void heartbeat(env *e, const char *ws, const char *tok, const char *extra) {
  char body[512];
  snprintf(body, sizeof body, "{\"workspace_id\":\"%s\",\"active_tasks\":0%s%s}", ws,
           extra ? "," : "", extra ? extra : "");
  expect_drop(e, 200, "POST", "/registry/heartbeat", tok, NULL, body);
}

__attribute__((unused)) static const char *MSG_BODY =
    "{\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\","
    "\"parts\":[{\"kind\":\"text\",\"text\":\"hello\"}]}}}";

/* ---- the A2A responder ------------------------------------------------------------------------ */

enum { R_ECHO, R_HANG, R_ERR500, R_ERRSTR };

#define R_MAX_HUNG 16

typedef struct {
  mol_http_server *srv;
  int port;
  int mode;
  int received;
  char *last_body;
  int last_had_auth;
  mol_http_req *hung[R_MAX_HUNG];
  int nhung;
  char url[64];
} responder;

static void responder_answer(mol_http_req *req, int status, const char *body) {
  mol_http_respond(req, status, "application/json", body, strlen(body));
}

static void responder_drop_hung(responder *r, mol_http_req *req) {
  for (int i = 0; i < r->nhung; i++)
    if (r->hung[i] == req) {
      r->hung[i] = r->hung[--r->nhung];
      return;
    }
}

static void on_hung_abort(mol_http_req *req, void *arg) {
  responder *r = arg;
  responder_drop_hung(r, req);
  responder_answer(req, 200, "{}"); /* releases it (the client is gone) */
}

static void responder_handler(mol_http_req *req, void *arg) {
  responder *r = arg;
  size_t len;
  const char *body = mol_http_req_body(req, &len);
  r->received++;
  free(r->last_body);
  r->last_body = strndup(body ? body : "", len);
  r->last_had_auth = mol_http_req_header(req, "Authorization") != NULL;
  switch (r->mode) {
  case R_HANG:
    if (r->nhung < R_MAX_HUNG) {
      r->hung[r->nhung++] = req;
      mol_http_req_on_abort(req, on_hung_abort, r);
      return;
    }
    responder_answer(req, 503, "{\"error\":\"too many\"}");
    return;
  case R_ERR500:
    responder_answer(req, 500, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,"
                               "\"message\":\"boom\"}}");
    return;
  case R_ERRSTR:
    responder_answer(req, 503, "{\"error\":\"agent says no\"}");
    return;
  default:
    responder_answer(req, 200, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"kind\":\"message\","
                               "\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"pong\"}]}}");
  }
}

static void responder_start(env *e, responder *r, int mode) {
  memset(r, 0, sizeof *r);
  r->mode = mode;
  assert_int_equal(mol_http_server_new(&e->loop, NULL, &r->srv), 0);
  assert_int_equal(mol_http_server_route(r->srv, "POST", "/", 1, responder_handler, r), 0);
  assert_int_equal(mol_http_server_listen(r->srv, "127.0.0.1", 0), 0);
  r->port = mol_http_server_port(r->srv);
  snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/a2a", r->port);
}

/* Answers every hung request with the echo reply. */
static void responder_release(responder *r) {
  while (r->nhung > 0) {
    mol_http_req *req = r->hung[--r->nhung];
    mol_http_req_on_abort(req, NULL, NULL);
    responder_answer(req, 200, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"released\":true}}");
  }
}

static void responder_stop(env *e, responder *r) {
  responder_release(r);
  int done = 0;
  mol_http_server_close(r->srv, 0, env_closed_cb, &done);
  run_until(e, &done, 5000);
  free(r->last_body);
}

#endif
