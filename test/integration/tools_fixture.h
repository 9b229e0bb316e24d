/* tools_fixture.h - the built-in tools against the real embedded dev platform on loopback
 * (platform_dp_fixture.h) and real A2A echo agents (our A2A server with the echo executor on
 * its own loopback port, registered as a push-mode workspace): calling a tool through
 * mol_tools_call and running the loop until its one result, and running a real process (the
 * molecule CLI) on the same loop. */
#ifndef TOOLS_FIXTURE_H
#define TOOLS_FIXTURE_H

#include "platform_dp_fixture.h"

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "http/server.h"
#include "tools/builtin.h"

/* ---- a tool call ------------------------------------------------------------------------------ */

typedef struct {
  int done, calls;
  mol_tool_status status;
  char text[32768];
  json_t *json;              /* text parsed when it is JSON (tool_json) */
} tool_res;

static void on_tool(const mol_tool_result *r, void *arg) {
  tool_res *t = arg;
  t->calls++;
  t->done = 1;
  t->status = r->status;
  snprintf(t->text, sizeof t->text, "%s", r->text);
}

/* out must be zeroed before its first use; its JSON from an earlier call is dropped. */
static mol_tool_call *tool_start(mol_tools *reg, const char *name, const char *args,
                                 unsigned timeout_ms, tool_res *out) {
  json_decref(out->json);
  memset(out, 0, sizeof *out);
  mol_tool_call_opts o = {.timeout_ms = timeout_ms, .cb = on_tool, .arg = out};
  mol_tool_call *call = NULL;
  assert_int_equal(mol_tools_call(reg, name, args, &o, &call), 0);
  assert_int_equal(out->calls, 0); /* never inside the call */
  return call;
}

static void tool_wait(tool_res *t, unsigned ms) {
  assert_true(run_until(g_loop, &t->done, ms));
  assert_int_equal(t->calls, 1);
}

static tool_res g_res;

/* Calls a tool and waits for its result (in g_res, until the next call). */
static tool_res *tool(mol_tools *reg, const char *name, const char *args) {
  tool_start(reg, name, args, 60000, &g_res);
  tool_wait(&g_res, 60000);
  return &g_res;
}

static void tool_res_clear(tool_res *t) {
  json_decref(t->json);
  t->json = NULL;
}

/* The result as JSON (borrowed until the next tool_json on the same result). */
static json_t *tool_json(tool_res *t) {
  json_decref(t->json);
  t->json = json_loads(t->text, 0, NULL);
  if (!t->json) fail_msg("not JSON: %s", t->text);
  return t->json;
}

/* ---- an echo agent ------------------------------------------------------------------------------ */

typedef struct {
  mol_http_server *http;
  mol_a2a_server *a2a;
  mol_a2a_executor ex;
  char url[128];
  int closed;
} echo_agent;

static void echo_start(echo_agent *e, unsigned delay_ms) {
  memset(e, 0, sizeof *e);
  mol_echo_opts eo = {.delay_ms = delay_ms};
  assert_int_equal(mol_echo_new(&eo, &e->ex), 0);
  assert_int_equal(mol_http_server_new(g_loop, NULL, &e->http), 0);
  assert_int_equal(mol_http_server_listen(e->http, "127.0.0.1", 0), 0);
  snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d/", mol_http_server_port(e->http));
  mol_a2a_skill skill = {.id = "echo", .name = "Echo", .description = "echoes text"};
  mol_a2a_card card = {.name = "echo", .description = "test agent", .url = e->url,
                       .skills = &skill, .n_skills = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = &e->ex, .store = {.max_tasks = 256}};
  assert_int_equal(mol_a2a_server_new(g_loop, e->http, &o, &e->a2a), 0);
}

static void echo_http_closed(void *arg) { ((echo_agent *)arg)->closed = 1; }
static void echo_a2a_closed(void *arg) {
  echo_agent *e = arg;
  mol_http_server_close(e->http, 1000, echo_http_closed, e);
}

static void echo_stop(echo_agent *e) {
  mol_a2a_server_close(e->a2a, echo_a2a_closed, e);
  assert_true(run_until(g_loop, &e->closed, 10000));
  mol_echo_free(&e->ex);
}

/* Registers the workspace of client c at url (push mode). */
static void register_at(mol_platform_client *c, const char *url) {
  capture cap;
  mol_platform_register_opts ro = {.reported_url = url,
                                   .agent_card_json = "{\"name\":\"echo-worker\"}"};
  CALL(mol_platform_register(c, &ro, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
}

/* ---- a real process on the loop ------------------------------------------------------------------ */

typedef struct {
  int done;
  int64_t status;
  uv_process_t p;
} child;

static void child_exit(uv_process_t *p, int64_t status, int sig) {
  child *c = p->data;
  c->status = sig ? -sig : status;
  uv_close((uv_handle_t *)p, NULL);
  c->done = 1;
}

/* Runs argv (stdout/stderr inherited) while the loop serves; returns its exit status. */
static int64_t run_process(char **argv) {
  child c = {0};
  uv_stdio_container_t io[3] = {{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2},
                                {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.file = argv[0], .args = argv, .exit_cb = child_exit,
                            .stdio = io, .stdio_count = 3};
  c.p.data = &c;
  assert_int_equal(uv_spawn(g_loop, &c.p, &o), 0);
  assert_true(run_until(g_loop, &c.done, 30000));
  uv_run(g_loop, UV_RUN_NOWAIT);
  return c.status;
}

#endif
