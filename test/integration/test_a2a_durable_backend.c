/* test_a2a_durable_backend.c - the durable task store's commits against a backend that can be
 * slowed down or made to fail: SQLite's (src/devplatform/taskdb.h), wrapped.
 *
 * A real disk cannot fail or stall on demand, so the wrapper does it in process, on the
 * thread that runs the commit:
 * - a commit that fails answers the replies that waited for it with a JSON-RPC error (an error
 *   event on a stream), never with the state it did not save; once commits work again the
 *   task is saved (the retry) and readable after a restart;
 * - a commit that takes long (an fsync on a slow disk) does not stop the loop: the agent card
 *   is served while it runs, and the reply that waits for it leaves only once it has returned;
 * - push-notification configs are not saved: after a restart the task is there, its config
 *   is not;
 * - a burst larger than a commit's cap is split over several commits, none past the cap, and
 *   every answer still arrives, only once the row of its task is committed; the WAL stays
 *   within its bound.
 * Over loopback with our HTTP client, on a server mounted by the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "a2a_harness.h"
#include "a2a_uv/durable.h"
#include "devplatform/taskdb.h"

/* ---- the wrapped backend --------------------------------------------------------------------- */

static atomic_int g_fail;      /* commits fail */
static atomic_int g_entered;   /* commits that began */
static atomic_int g_gated;     /* commits wait for the gate */
static atomic_int g_over_cap; /* commits that went past the cap */
static uv_mutex_t g_lock;
static uv_cond_t g_cond;
static int g_gate_open, g_gate_timed_out;
static json_t *g_committed;    /* task id -> true: a row of it is committed (under g_lock) */

static int w_open(const char *dir, int sync_full, void **out, char *err, size_t len) {
  return mol_dp_taskdb_backend()->open(dir, sync_full, out, err, len);
}

static int w_load(void *db, mol_a2a_task_row_fn each, void *arg, char *err, size_t len) {
  return mol_dp_taskdb_backend()->load(db, each, arg, err, len);
}

/* Waits for the test to open the gate; gives up after 10 s (then the loop was blocked: the
 * gate is opened from the loop) and says so, so that a broken build fails instead of hanging. */
static void wait_gate(void) {
  uv_mutex_lock(&g_lock);
  uint64_t until = uv_hrtime() + 10ull * 1000 * 1000 * 1000;
  while (!g_gate_open && !g_gate_timed_out) {
    if (uv_cond_timedwait(&g_cond, &g_lock, 100 * 1000 * 1000) != 0 && uv_hrtime() > until)
      g_gate_timed_out = 1;
  }
  uv_mutex_unlock(&g_lock);
}

/* The cap: at most so many rows, and no row taken once the rows before it hold the bytes. */
static int past_cap(const mol_a2a_task_row *rows, size_t n) {
  size_t bytes = 0;
  for (size_t i = 0; i + 1 < n; i++) bytes += strlen(rows[i].id) + 1 + rows[i].body_len;
  return n > MOL_A2A_DURABLE_BATCH_ROWS || bytes >= MOL_A2A_DURABLE_BATCH_BYTES;
}

static int w_commit(void *db, const mol_a2a_task_row *rows, size_t n, char *err, size_t len) {
  atomic_fetch_add(&g_entered, 1);
  if (past_cap(rows, n)) atomic_fetch_add(&g_over_cap, 1);
  if (atomic_load(&g_gated)) wait_gate();
  if (atomic_load(&g_fail)) {
    snprintf(err, len, "injected: the disk is full");
    return MOL_EIO;
  }
  int rc = mol_dp_taskdb_backend()->commit(db, rows, n, err, len);
  uv_mutex_lock(&g_lock);
  for (size_t i = 0; i < n && rc == 0; i++)
    if (rows[i].body) json_object_set_new(g_committed, rows[i].id, json_true());
  uv_mutex_unlock(&g_lock);
  return rc;
}

static int committed(const char *id) {
  uv_mutex_lock(&g_lock);
  int yes = json_object_get(g_committed, id) != NULL;
  uv_mutex_unlock(&g_lock);
  return yes;
}

static void w_close(void *db) { mol_dp_taskdb_backend()->close(db); }

static const mol_a2a_task_backend wrapped = {w_open, w_load, w_commit, w_close};

static void open_gate(void) {
  uv_mutex_lock(&g_lock);
  g_gate_open = 1;
  uv_cond_broadcast(&g_cond);
  uv_mutex_unlock(&g_lock);
}

/* ---- the server ------------------------------------------------------------------------------ */

static char g_dir[64];

static void mount_durable(int sync_full) {
  int i = H.n_a2a++;
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/task/", H.port);
  mol_a2a_skill skill = {.id = "echo", .name = "Echo", .description = "echoes text"};
  mol_a2a_card card = {.name = "echo", .description = "test agent", .url = url,
                       .streaming = 1, .skills = &skill, .n_skills = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = &H.ex_task, .prefix = "/task",
                           .data_dir = g_dir, .data_backend = &wrapped, .sync_full = sync_full,
                           .push = {.http = H.client, .allow_private = 1}};
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[i]), 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/mol-durable-backend-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  uv_mutex_init(&g_lock);
  uv_cond_init(&g_cond);
  atomic_store(&g_fail, 0);
  atomic_store(&g_gated, 0);
  atomic_store(&g_entered, 0);
  atomic_store(&g_over_cap, 0);
  g_committed = json_object();
  g_gate_open = g_gate_timed_out = 0;
  h_setup_base();
  mol_echo_opts instant = {0}, task = {.delay_ms = 50, .task_mode = 1};
  mol_echo_new(&instant, &H.ex_instant);
  mol_echo_new(&task, &H.ex_task);
  H.echo_made = 1;
  mount_durable(1);
  return 0;
}

static mol_http_client *g_client; /* a second client, with room for a burst */
static void count_closed(void *arg);

static int teardown(void **state) {
  (void)state;
  open_gate();
  if (g_client) { /* closed here, so that a failed assertion does not leave it open */
    int closed = 0;
    mol_http_client_close(g_client, count_closed, &closed);
    while (!closed) uv_run(&H.loop, UV_RUN_ONCE);
    g_client = NULL;
  }
  h_teardown();
  uv_cond_destroy(&g_cond);
  uv_mutex_destroy(&g_lock);
  json_decref(g_committed);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static const char SEND[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\",\"params\":{\"message\":"
    "{\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}],\"messageId\":\"m-%d\"},"
    "\"configuration\":{\"blocking\":%s}}}";

static json_t *send_message(int n, const char *blocking) {
  char body[512];
  snprintf(body, sizeof body, SEND, n, blocking);
  return h_rpc("/task", body, NULL);
}

static json_t *get_task(const char *id) {
  char body[256];
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\"}}", id);
  return h_rpc("/task", body, NULL);
}

static void count_closed(void *arg) { (*(int *)arg)++; }

/* The agent restarts in process: its server closes (committing what is left) and a new one
 * reads the same data directory back. */
static void restart(void) {
  int closed = 0;
  mol_a2a_server_close(H.a2a[0], count_closed, &closed);
  while (!closed) uv_run(&H.loop, UV_RUN_ONCE);
  H.n_a2a = 0;
  mount_durable(1);
}

static void assert_unsaved_error(json_t *r, int id) {
  assert_non_null(r);
  assert_null(json_object_get(r, "result"));
  assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
  json_t *e = json_object_get(r, "error");
  assert_int_equal(json_integer_value(json_object_get(e, "code")), -32603);
  assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "could not save"));
}

/* A commit that fails: the send is answered with an error, a stream gets error events and no
 * task state; once the disk works again the tasks are saved and come back after a restart. */
static void failed_commit_answers_error(void **state) {
  (void)state;
  atomic_store(&g_fail, 1);
  json_t *r = send_message(1, "false");
  assert_unsaved_error(r, 7);
  json_decref(r);
  r = send_message(2, "true"); /* a blocking send: the final task is not saved either */
  assert_unsaved_error(r, 7);
  json_decref(r);

  static const char stream[] =
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/stream\",\"params\":{\"message\":"
      "{\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}],\"messageId\":\"m-3\"}}}";
  h_resp o;
  h_req("POST", "/task", stream, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  char *data[16];
  int is_error[16];
  int n = h_sse_events(o.body, data, is_error, 16);
  assert_true(n >= 1);
  for (int i = 0; i < n; i++) {
    assert_true(is_error[i]);
    json_t *ev = json_loads(data[i], 0, NULL);
    assert_unsaved_error(ev, 7);
    json_decref(ev);
  }
  h_free(&o);

  /* The disk works again: a task list waits for the retry, which saves everything. */
  atomic_store(&g_fail, 0);
  json_t *list = h_rpc("/task", "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ListTasks\",\"params\":{}}",
                       "1.0");
  assert_non_null(list);
  json_t *tasks = json_object_get(json_object_get(list, "result"), "tasks");
  assert_int_equal(json_array_size(tasks), 3);
  restart();
  size_t i;
  json_t *t;
  json_array_foreach(tasks, i, t) {
    json_t *g = get_task(json_string_value(json_object_get(t, "id")));
    assert_non_null(json_object_get(g, "result"));
    json_decref(g);
  }
  json_decref(list);
}

/* A commit that takes long runs off the loop: the card is served meanwhile, and the reply that
 * waits for the commit leaves once it has returned. */
static void slow_commit_keeps_serving(void **state) {
  (void)state;
  atomic_store(&g_gated, 1);
  h_resp sent, card;
  char body[512];
  snprintf(body, sizeof body, SEND, 1, "false");
  h_start("POST", "/task", body, NULL, NULL, &sent);
  while (!atomic_load(&g_entered)) uv_run(&H.loop, UV_RUN_ONCE);
  h_req("GET", "/task/.well-known/agent-card.json", NULL, NULL, NULL, &card);
  assert_int_equal(card.status, 200);
  assert_false(g_gate_timed_out); /* the commit was still waiting when the card came */
  assert_int_equal(sent.done, 0); /* the durability rule: not before its commit */
  open_gate();
  h_wait(&sent);
  assert_int_equal(sent.status, 200);
  json_t *r = json_loads(sent.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "kind")),
                      "task");
  json_decref(r);
  h_free(&sent);
  h_free(&card);
}

static int g_hooks;

static void on_hook(mol_http_req *r, void *arg) {
  (void)arg;
  g_hooks++;
  mol_http_respond(r, 200, "text/plain", "", 0);
}

static int error_code(json_t *r) {
  return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* Push configs stay in memory (they hold the webhook's credentials, kept out of files): a
 * restart keeps the task and forgets its config. */
static void push_config_not_saved(void **state) {
  (void)state;
  json_t *r = send_message(1, "true");
  char id[64];
  snprintf(id, sizeof id, "%s",
           json_string_value(json_object_get(json_object_get(r, "result"), "id")));
  json_decref(r);
  g_hooks = 0;
  assert_int_equal(mol_http_server_route(H.http, "POST", "/hook", 0, on_hook, NULL), 0);
  char body[512];
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/pushNotificationConfig/set\","
           "\"params\":{\"taskId\":\"%s\",\"pushNotificationConfig\":{\"url\":"
           "\"http://127.0.0.1:%d/hook\",\"token\":\"tok\"}}}", id, H.port);
  r = h_rpc("/task", body, NULL);
  assert_non_null(json_object_get(r, "result"));
  json_decref(r);
  while (!g_hooks) uv_run(&H.loop, UV_RUN_ONCE); /* set sends the task as it is at once */
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/pushNotificationConfig/get\","
           "\"params\":{\"id\":\"%s\"}}", id);
  r = h_rpc("/task", body, NULL);
  assert_non_null(json_object_get(r, "result"));
  json_decref(r);
  restart();
  r = get_task(id);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r,
                      "result"), "status"), "state")), "completed");
  json_decref(r);
  r = h_rpc("/task", body, NULL);
  assert_int_equal(error_code(r), -32001);
  json_decref(r);
}

/* BURST sends of TEXT_KB each, all held behind a commit that waits: together far more than
 * one commit may carry. */
enum { BURST = 64, TEXT_KB = 150 };

/* Past the cap, a commit would hold the whole burst (64 x 150 KB). Capped, the WAL holds at
 * most 1000 pages (the checkpoint's mark) plus the capped commit that crossed it. */
#define WAL_BOUND (1000 * 4096 + 3 * MOL_A2A_DURABLE_BATCH_BYTES)

static void start_send(mol_http_client *c, const char *body, h_resp *o) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/task", H.port);
  memset(o, 0, sizeof(*o));
  mol_http_header hdr = {"Content-Type", "application/json"};
  mol_http_request_opts opts = {.method = "POST", .url = url, .headers = &hdr, .nheaders = 1,
                                .body = body, .body_len = strlen(body),
                                .total_timeout_ms = 60000};
  assert_int_equal(mol_http_request_send(c, &opts, h_done, o, NULL), 0);
}

/* The answer to send i has arrived: it is the task, and the task's row was committed first. */
static void check_answer(h_resp *o) {
  assert_int_equal(o->err, 0);
  assert_int_equal(o->status, 200);
  json_t *r = json_loads(o->body, 0, NULL);
  json_t *task = json_object_get(r, "result");
  assert_string_equal(json_string_value(json_object_get(task, "kind")), "task");
  const char *id = json_string_value(json_object_get(task, "id"));
  assert_non_null(id);
  assert_true(committed(id)); /* the durability rule, through the cap */
  json_decref(r);
}

static void burst_beyond_the_cap(void **state) {
  (void)state;
  mol_http_client_opts co = {.max_conns_per_origin = BURST, .max_idle_per_origin = BURST};
  assert_int_equal(mol_http_client_new(&H.loop, &co, &g_client), 0);
  char *text = malloc(TEXT_KB * 1024 + 1), *body = malloc(TEXT_KB * 1024 + 512);
  memset(text, 'x', TEXT_KB * 1024);
  text[TEXT_KB * 1024] = '\0';
  static h_resp out[BURST];
  atomic_store(&g_gated, 1);
  for (int i = 0; i < BURST; i++) {
    sprintf(body,
            "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"message/send\",\"params\":{\"message\":"
            "{\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}],"
            "\"messageId\":\"b-%d\"},\"configuration\":{\"blocking\":false}}}", i, text, i);
    start_send(g_client, body, &out[i]); /* the body is copied */
  }
  free(text);
  free(body);
  /* Every task exists, the first commit waits at the gate, and every answer is held. */
  mol_a2a_server_stats st = {0};
  while (st.tasks < BURST || !atomic_load(&g_entered)) {
    uv_run(&H.loop, UV_RUN_ONCE);
    mol_a2a_server_stats_get(H.a2a[0], &st);
  }
  for (int i = 0; i < BURST; i++) assert_int_equal(out[i].done, 0);
  open_gate();
  int checked[BURST] = {0}, left = BURST;
  while (left) {
    uv_run(&H.loop, UV_RUN_ONCE);
    for (int i = 0; i < BURST; i++)
      if (out[i].done && !checked[i]) {
        check_answer(&out[i]);
        checked[i] = 1;
        left--;
        h_free(&out[i]);
      }
  }
  assert_int_equal(atomic_load(&g_over_cap), 0);
  assert_true(atomic_load(&g_entered) >= 3); /* the burst did not fit one commit */

  /* Everything saved (a list waits for every dirty task; one task of it, without history, is
   * enough), then the WAL's size. */
  json_t *list = h_rpc("/task", "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ListTasks\","
                       "\"params\":{\"pageSize\":1,\"historyLength\":0}}", "1.0");
  assert_non_null(json_object_get(list, "result"));
  json_decref(list);
  assert_int_equal(atomic_load(&g_over_cap), 0);
  char wal[128];
  snprintf(wal, sizeof wal, "%s/a2a-tasks.db-wal", g_dir);
  struct stat sb;
  assert_int_equal(stat(wal, &sb), 0);
  fprintf(stderr, "WAL after the burst: %lld bytes (bound %d)\n", (long long)sb.st_size, WAL_BOUND);
  assert_true(sb.st_size <= WAL_BOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(failed_commit_answers_error, setup, teardown),
      cmocka_unit_test_setup_teardown(slow_commit_keeps_serving, setup, teardown),
      cmocka_unit_test_setup_teardown(push_config_not_saved, setup, teardown),
      cmocka_unit_test_setup_teardown(burst_beyond_the_cap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
