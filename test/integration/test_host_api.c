/* test_host_api.c - the public host (molecule/host.h) on a mol_loop, over real sockets: a host
 * file with an echo agent answers A2A message/send and /metrics; a turn in flight when
 * mol_host_close is called completes before the host closes (drain), every agent reports
 * STOPPED and the close callback fires once, never inside the call; a host from plain structs
 * (extra_json, capabilities) serves its card; bad files and bad structs are refused with the
 * field named; a host closed unstarted, or after a failed start, still calls back once; and
 * the loop closes clean afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/client.h"
#include "molecule.h"
#include "molecule/uv.h"

typedef struct {
  int done, status;
  char body[16384];
} call;

typedef struct {
  mol_loop *loop;
  mol_http_client *http;
  char dir[64];
  mol_host *host;
  int closed, in_close, closed_inside, http_closed;
  char ended[8][32];
  mol_host_agent_end why[8];
  int n_ended;
} fx;

static fx *F;

/* ---- loop and HTTP helpers ----------------------------------------------------------------- */

static void run_until(int *flag) {
  while (!*flag) mol_loop_run(F->loop, MOL_RUN_ONCE);
}

static void on_response(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  call *c = arg;
  c->status = err ? err : resp->status;
  if (!err && resp->body) snprintf(c->body, sizeof(c->body), "%s", resp->body);
  c->done = 1;
}

static void send_req(const char *method, const char *path, const char *body, call *c) {
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", mol_host_port(F->host), path);
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = 1,
                             .body = body, .body_len = body ? strlen(body) : 0};
  memset(c, 0, sizeof(*c));
  assert_int_equal(mol_http_request_send(F->http, &o, on_response, c, NULL), 0);
}

static void message_send(const char *agent, const char *text, call *c) {
  char path[128], body[512];
  snprintf(path, sizeof(path), "/agents/%s/", agent);
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
           "{\"role\":\"user\",\"messageId\":\"m-%s\",\"parts\":[{\"kind\":\"text\",\"text\":"
           "\"%s\"}]}}}", text, text);
  send_req("POST", path, body, c);
}

static int metrics_have(const char *line) {
  char *m = mol_host_metrics(F->host);
  assert_non_null(m);
  int found = strstr(m, line) != NULL;
  mol_free(m);
  return found;
}

static void write_file(const char *name, const char *text) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", F->dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* ---- host callbacks ----------------------------------------------------------------------- */

static void on_agent_end(mol_host *h, const char *name, mol_host_agent_end why, int err,
                         void *arg) {
  (void)h;
  (void)err;
  assert_ptr_equal(arg, F);
  snprintf(F->ended[F->n_ended], sizeof(F->ended[0]), "%s", name);
  F->why[F->n_ended++] = why;
}

static void on_closed(mol_host *h, void *arg) {
  assert_ptr_equal(h, F->host);
  assert_ptr_equal(arg, F);
  if (F->in_close) F->closed_inside = 1;
  F->closed++;
}

static void close_host(void) {
  F->in_close = 1;
  mol_host_close(F->host, on_closed, F);
  mol_host_close(F->host, on_closed, F); /* again: nothing more */
  F->in_close = 0;
  assert_int_equal(F->closed, 0);
  run_until(&F->closed);
  assert_int_equal(F->closed, 1);
  assert_false(F->closed_inside);
  F->host = NULL;
}

/* ---- fixture ------------------------------------------------------------------------------- */

static void count_live(uv_handle_t *h, void *arg) {
  if (h->type != UV_ASYNC && !uv_is_closing(h)) ++*(int *)arg; /* the async is mol_loop's */
}

static void on_http_closed(void *arg) { ((fx *)arg)->http_closed = 1; }

static int setup(void **state) {
  (void)state;
  F = calloc(1, sizeof(*F));
  unsetenv("PLATFORM_URL"); /* standalone agents: the host file's default would read it */
  unsetenv("WORKSPACE_ID");
  snprintf(F->dir, sizeof(F->dir), "/tmp/molhostapi-XXXXXX");
  assert_non_null(mkdtemp(F->dir));
  assert_int_equal(mol_loop_new(&F->loop), 0);
  assert_int_equal(mol_http_client_new(mol_loop_uv(F->loop), NULL, &F->http), 0);
  return 0;
}

/* Nothing of the hosts is left: mol_loop_close refuses a loop with live handles. */
static int teardown(void **state) {
  (void)state;
  mol_http_client_close(F->http, on_http_closed, F);
  run_until(&F->http_closed);
  int live;
  do {
    live = 0;
    uv_walk(mol_loop_uv(F->loop), count_live, &live);
    if (live) mol_loop_run(F->loop, MOL_RUN_ONCE);
  } while (live);
  assert_int_equal(mol_loop_close(F->loop), 0);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", F->dir);
  assert_int_equal(system(cmd), 0);
  free(F);
  return 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_file_host_answers_and_drains(void **state) {
  (void)state;
  write_file("host.yaml",
             "listen: 127.0.0.1:0\n"
             "grace_seconds: 60\n"
             "agents:\n"
             "  - name: echo\n"
             "    description: answers with what it gets\n"
             "  - name: slow\n"
             "    delay_ms: 1500\n");
  char path[128], err[256] = "";
  snprintf(path, sizeof(path), "%s/host.yaml", F->dir);
  assert_int_equal(mol_host_new_from_file(F->loop, path, &F->host, err, sizeof(err)), 0);
  assert_int_equal(mol_host_port(F->host), 0);
  assert_int_equal(mol_host_start(F->host, on_agent_end, F), 0);
  assert_true(mol_host_port(F->host) > 0);
  assert_int_equal(mol_host_start(F->host, on_agent_end, F), MOL_EBUSY);

  call c;
  message_send("echo", "hello-host", &c);
  run_until(&c.done);
  assert_int_equal(c.status, 200);
  assert_non_null(strstr(c.body, "hello-host"));
  assert_null(strstr(c.body, "\"error\""));
  assert_true(metrics_have("molecule_host_agents 2\n"));
  assert_true(metrics_have("molecule_agent_turns_total{agent=\"echo\"} 1\n"));
  send_req("GET", "/metrics", NULL, &c);
  run_until(&c.done);
  assert_int_equal(c.status, 200);
  assert_non_null(strstr(c.body, "molecule_agent_turns_total{agent=\"echo\"} 1\n"));

  /* A turn in flight when the host is closed: the drain lets it finish. */
  call slow;
  message_send("slow", "slow-turn", &slow);
  while (!metrics_have("molecule_agent_live_turns{agent=\"slow\"} 1\n"))
    mol_loop_run(F->loop, MOL_RUN_ONCE);
  assert_false(slow.done);
  close_host();
  assert_true(slow.done);
  assert_int_equal(slow.status, 200);
  assert_non_null(strstr(slow.body, "slow-turn"));
  assert_null(strstr(slow.body, "\"error\""));
  assert_int_equal(F->n_ended, 2);
  for (int i = 0; i < 2; i++) assert_int_equal(F->why[i], MOL_HOST_AGENT_STOPPED);
}

static void test_struct_host(void **state) {
  (void)state;
  mol_host_agent_spec agents[] = {
      {.name = "a"},
      {.name = "b", .capabilities = MOL_HOST_CAP_SESSION | MOL_HOST_CAP_RETRY,
       .extra_json = "{\"description\": \"from extra\", \"role\": \"helper\"}"},
  };
  mol_host_opts o = {.listen = "127.0.0.1:0", .agents = agents, .n_agents = 2};
  assert_int_equal(mol_host_new(F->loop, &o, &F->host, NULL, 0), 0);
  assert_int_equal(mol_host_start(F->host, NULL, NULL), 0);
  call c;
  send_req("GET", "/agents/b/.well-known/agent-card.json", NULL, &c);
  run_until(&c.done);
  assert_int_equal(c.status, 200);
  assert_non_null(strstr(c.body, "from extra"));
  char url_part[64];
  snprintf(url_part, sizeof(url_part), "127.0.0.1:%d/agents/b/", mol_host_port(F->host));
  assert_non_null(strstr(c.body, url_part));
  message_send("a", "hi-a", &c);
  run_until(&c.done);
  assert_int_equal(c.status, 200);
  assert_non_null(strstr(c.body, "hi-a"));
  close_host();
  assert_int_equal(F->n_ended, 0); /* no on_agent_end was given */
}

static void expect_file_error(const char *yaml, const char *msg) {
  write_file("bad.yaml", yaml);
  char path[128], err[512] = "";
  snprintf(path, sizeof(path), "%s/bad.yaml", F->dir);
  mol_host *h = NULL;
  assert_int_equal(mol_host_new_from_file(F->loop, path, &h, err, sizeof(err)), MOL_EINVAL);
  assert_null(h);
  if (!strstr(err, msg)) fail_msg("'%s' does not say '%s'", err, msg);
}

static void expect_struct_error(const mol_host_opts *o, const char *msg) {
  char err[512] = "";
  mol_host *h = NULL;
  assert_int_equal(mol_host_new(F->loop, o, &h, err, sizeof(err)), MOL_EINVAL);
  assert_null(h);
  if (!strstr(err, msg)) fail_msg("'%s' does not say '%s'", err, msg);
  assert_int_equal(mol_host_new(F->loop, o, &h, NULL, 0), MOL_EINVAL); /* no err buffer */
}

static void test_bad_configs(void **state) {
  (void)state;
  expect_file_error("agents:\n  - name: a\n    executor: magic\n",
                    "agents[0].executor: unknown executor 'magic'");
  expect_file_error("agents: [\n", "bad.yaml");
  expect_file_error("listen: nope\nagents:\n  - name: a\n", "listen: 'nope' is not HOST:PORT");
  char err[256] = "";
  mol_host *h = NULL;
  assert_int_equal(mol_host_new_from_file(F->loop, "/nonexistent/host.yaml", &h, err,
                                          sizeof(err)), MOL_EINVAL);
  assert_non_null(strstr(err, "/nonexistent/host.yaml"));

  mol_host_agent_spec a = {.name = "bad name"};
  mol_host_opts o = {.agents = &a, .n_agents = 1};
  expect_struct_error(&o, "agents[0].name: 'bad name' may only use");
  a = (mol_host_agent_spec){.name = "a", .executor = "echo", .extra_json = "{\"executor\":1}"};
  expect_struct_error(&o, "agents[0].extra_json: 'executor' is also set");
  a.extra_json = "{";
  expect_struct_error(&o, "agents[0].extra_json:");
  a.extra_json = "[1]";
  expect_struct_error(&o, "agents[0].extra_json: must be a JSON object");
  a = (mol_host_agent_spec){.name = "a", .capabilities = 1u << 7};
  expect_struct_error(&o, "agents[0].capabilities: unknown flag");
  a = (mol_host_agent_spec){.name = "a", .executor = "command"};
  expect_struct_error(&o, "agents[0].handler: required with executor: command");
  a = (mol_host_agent_spec){.name = "a", .heartbeat_seconds = 100000};
  expect_struct_error(&o, "agents[0].heartbeat_seconds: must be an integer from 0 to 3600");
  o.n_agents = 0;
  expect_struct_error(&o, "agents: must be a list with at least one agent");
  mol_host_agent_spec two[] = {{.name = "x"}, {.name = "x"}};
  o = (mol_host_opts){.agents = two, .n_agents = 2};
  expect_struct_error(&o, "agents[1].name: 'x' is already used by agents[0]");
  assert_int_equal(mol_host_new(F->loop, NULL, &h, NULL, 0), MOL_EINVAL);
  assert_int_equal(mol_host_new(NULL, &o, &h, NULL, 0), MOL_EINVAL);
}

static void test_close_unstarted(void **state) {
  (void)state;
  mol_host_agent_spec a = {.name = "a"};
  mol_host_opts o = {.listen = "127.0.0.1:0", .agents = &a, .n_agents = 1};
  assert_int_equal(mol_host_new(F->loop, &o, &F->host, NULL, 0), 0);
  char *m = mol_host_metrics(F->host); /* nothing started: no agent serving */
  assert_non_null(strstr(m, "molecule_host_agents 0\n"));
  mol_free(m);
  close_host();
}

static void never_accepts(uv_stream_t *s, int status) {
  (void)s;
  (void)status;
}

/* The port is taken: the start fails, nothing serves, and the host still closes once. */
static void test_start_fails_on_busy_port(void **state) {
  (void)state;
  static uv_tcp_t busy; /* closed by the teardown's loop runs, after this frame */
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(mol_loop_uv(F->loop), &busy);
  assert_int_equal(uv_tcp_bind(&busy, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&busy, 8, never_accepts), 0);
  int len = sizeof(addr);
  uv_tcp_getsockname(&busy, (struct sockaddr *)&addr, &len);
  char listen[32];
  snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(addr.sin_port));

  mol_host_agent_spec a = {.name = "a"};
  mol_host_opts o = {.listen = listen, .agents = &a, .n_agents = 1};
  assert_int_equal(mol_host_new(F->loop, &o, &F->host, NULL, 0), 0);
  assert_int_equal(mol_host_start(F->host, on_agent_end, F), MOL_EADDRINUSE);
  assert_int_equal(mol_host_start(F->host, on_agent_end, F), MOL_EBUSY);
  assert_int_equal(mol_host_port(F->host), 0);
  close_host();
  assert_int_equal(F->n_ended, 0); /* nothing had started */
  uv_close((uv_handle_t *)&busy, NULL);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_file_host_answers_and_drains),
      T(test_struct_host),
      T(test_bad_configs),
      T(test_close_unstarted),
      T(test_start_fails_on_busy_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
