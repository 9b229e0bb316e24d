/* test_api_host_durable.c - a host file's data_dir through the public API, as an application
 * uses it (public headers, the shared library): a task answered before the host closed is
 * read back by a new host on the same file. The application names no storage: the library's
 * SQLite backend is the default (src/a2a/task_backend.h). Over loopback with the public
 * client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "molecule.h"
#include "molecule/uv.h"

static mol_loop *loop;
static char dir[64], path[128];

typedef struct {
  int done, err;
  mol_task_state state;
  char task_id[64];
} answer;

static void on_answer(mol_client_req *req, int err, const mol_client_result *res, void *arg) {
  (void)req;
  answer *a = arg;
  a->done = 1;
  a->err = err;
  a->state = res ? res->state : MOL_TASK_UNKNOWN;
  if (res && res->task_id) snprintf(a->task_id, sizeof a->task_id, "%s", res->task_id);
}

static void on_flag(void *arg) { (*(int *)arg)++; }
static void on_host_closed(mol_host *h, void *arg) { (void)h; (*(int *)arg)++; }

static void run_until(int *flag) {
  while (!*flag) mol_loop_run(loop, MOL_RUN_ONCE);
}

/* A host from the file, started; its client on agent a. */
static mol_host *start_host(mol_client **client) {
  char err[256] = "";
  mol_host *h = NULL;
  assert_int_equal(mol_host_new_from_file(loop, path, &h, err, sizeof err), 0);
  assert_int_equal(mol_host_start(h, NULL, NULL), 0);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/agents/a/", mol_host_port(h));
  mol_client_opts co = {.url = url};
  assert_int_equal(mol_client_new(mol_loop_uv(loop), &co, client), 0);
  return h;
}

static void stop_host(mol_host *h, mol_client *client) {
  int closed = 0;
  mol_client_close(client, on_flag, &closed);
  mol_host_close(h, on_host_closed, &closed);
  while (closed < 2) mol_loop_run(loop, MOL_RUN_ONCE);
}

static void task_survives_a_new_host(void **state) {
  (void)state;
  mol_client *client;
  mol_host *h = start_host(&client);
  answer sent = {0};
  assert_int_equal(mol_client_send(client, "keep me", NULL, on_answer, &sent, NULL), 0);
  run_until(&sent.done);
  assert_int_equal(sent.err, 0);
  assert_int_equal(sent.state, MOL_TASK_COMPLETED);
  assert_true(strlen(sent.task_id) > 0);
  stop_host(h, client);

  h = start_host(&client);
  answer got = {0};
  assert_int_equal(mol_client_get_task(client, sent.task_id, NULL, on_answer, &got, NULL), 0);
  run_until(&got.done);
  assert_int_equal(got.err, 0); /* not -32001: the task came back from the data dir */
  assert_int_equal(got.state, MOL_TASK_COMPLETED);
  stop_host(h, client);
}

static int setup(void **state) {
  (void)state;
  unsetenv("PLATFORM_URL"); /* standalone agents */
  unsetenv("WORKSPACE_ID");
  snprintf(dir, sizeof dir, "/tmp/molapihostdur-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/host.yaml", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "listen: 127.0.0.1:0\ndata_dir: data\nagents:\n  - name: a\n    executor: echo\n"
             "    task_mode: true\n");
  fclose(f);
  return mol_loop_new(&loop);
}

static void count_live(uv_handle_t *h, void *arg) {
  if (h->type != UV_ASYNC && !uv_is_closing(h)) ++*(int *)arg; /* the async is mol_loop's */
}

/* Nothing of the hosts is left: mol_loop_close refuses a loop with live handles. */
static int teardown(void **state) {
  (void)state;
  int live;
  do {
    live = 0;
    uv_walk(mol_loop_uv(loop), count_live, &live);
    if (live) mol_loop_run(loop, MOL_RUN_ONCE);
  } while (live);
  assert_int_equal(mol_loop_close(loop), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(task_survives_a_new_host, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
