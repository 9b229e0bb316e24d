/* The real @a2a-js/sdk clients (1.3.0 with legacy compat, and 0.3.14) against our A2A server:
 * card, send (Message and Task results), stream, get and cancel, each script exiting 0 only
 * when every answer carried the exact reply text, ids and states. The server runs in this process; the clients are child
 * processes, driven while the same loop serves them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "a2a_harness.h"

typedef struct {
  uv_process_t proc;
  int exited;
  int64_t status;
} child;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  child *c = p->data;
  c->exited = 1;
  c->status = sig ? 128 + sig : status;
  uv_close((uv_handle_t *)p, NULL);
}

/* Runs `node <script> <url> <text> <mode>` in test/interop/<dir> and returns its exit status;
 * mode says what the agent at path answers with ("message" or "task"). */
static int run_node_mode(const char *dir, const char *script, const char *path, const char *mode) {
  const char *root = getenv("MOL_SOURCE_ROOT");
  char cwd[1024], url[128], modules[1100];
  snprintf(cwd, sizeof(cwd), "%s/test/interop/%s", root ? root : ".", dir);
  snprintf(modules, sizeof(modules), "%s/node_modules", cwd);
  if (access(modules, F_OK) != 0) fail_msg("%s is missing: run `npm ci` there (tools/test.sh does)", modules);
  /* A trailing slash: the SDK resolves the card path relative to this URL, and without it
   * "/slow" would resolve to the root agent's card. */
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, path);
  char *args[] = {"node", (char *)script, url, "hello from a2a-js", (char *)mode, NULL};
  child c = {0};
  c.proc.data = &c;
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = on_exit_cb, .file = "node", .args = args, .cwd = cwd,
                            .stdio = stdio, .stdio_count = 3};
  int rc = uv_spawn(&H.loop, &c.proc, &o);
  if (rc) fail_msg("cannot run node: %s (install nodejs; tools/setup.sh does)", uv_strerror(rc));
  uint64_t start = uv_now(&H.loop);
  while (!c.exited) {
    uv_run(&H.loop, UV_RUN_ONCE);
    if (uv_now(&H.loop) - start > 60000) fail_msg("node %s did not finish in 60 s", script);
  }
  uv_run(&H.loop, UV_RUN_NOWAIT); /* the process handle's close */
  return (int)c.status;
}

static int run_node(const char *dir, const char *script, const char *path) {
  return run_node_mode(dir, script, path, *path ? "task" : "message");
}

static mol_a2a_executor slow; /* 1 s per step: node's get + cancel land while it runs */

static int setup(void **state) {
  (void)state;
  h_setup();
  mol_echo_opts o = {.delay_ms = 1000, .task_mode = 1};
  mol_echo_new(&o, &slow);
  h_mount("/slow", &slow, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  mol_echo_free(&slow);
  return 0;
}

static void js13_client_message_agent(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js", "client.mjs", ""), 0);
}
static void js13_client_task_agent(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js", "client.mjs", "/task"), 0);
}
static void js13_cancel_running_task(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js", "cancel.mjs", "/slow"), 0);
}
static void js03_client_message_agent(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js-03", "client03.mjs", ""), 0);
}
static void js03_client_task_agent(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js-03", "client03.mjs", "/task"), 0);
}
static void js03_cancel_running_task(void **state) {
  (void)state;
  assert_int_equal(run_node("a2a-js-03", "cancel03.mjs", "/slow"), 0);
}

static void every_turn_ended(void **state) {
  (void)state;
  for (int i = 0; i < H.n_a2a; i++) {
    mol_a2a_server_stats st;
    mol_a2a_server_stats_get(H.a2a[i], &st);
    assert_int_equal(st.live_turns, 0);
    assert_int_equal(st.open_streams, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(js13_client_message_agent), cmocka_unit_test(js13_client_task_agent),
    cmocka_unit_test(js13_cancel_running_task),  cmocka_unit_test(js03_client_message_agent),
    cmocka_unit_test(js03_client_task_agent),    cmocka_unit_test(js03_cancel_running_task),
    cmocka_unit_test(every_turn_ended),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
