/* The public executor, A2A server and client (molecule/a2a.h) over loopback, as an application
 * uses them: this test includes only the public headers and links the shared library.
 *
 * One executor whose behaviour the message text picks ("reply", "stream", "hang", ...) runs
 * behind a mol_server; a mol_client calls it. Checked: what a turn reads (ids, text, parts,
 * metadata as JSON text), streaming of artifact chunks from timers, message/send answered with
 * a Message or a Task, tasks/cancel reaching the executor once and on a later loop iteration,
 * a turn outliving its call (non-blocking send, an aborted stream), the endings' rules (an
 * error return with and without an ending, a second ending, a bad reply message), the
 * client's errors and the callback rules: every done callback once and never inside the call
 * that started it, the executor's close once after the last turn and before the server's
 * close callback. */
#include "api_a2a_fixture.h"

/* ---- setup ------------------------------------------------------------------------------- */

static const char *const tags[] = {"test"};
static const mol_skill skills[] = {{.id = "s1", .name = "Skill one", .tags = tags, .n_tags = 1}};
static const mol_card CARD = {.name = "api-test", .description = "public API test",
                              .skills = skills, .n_skills = 1};

static int closed_cb_calls, closed_inside, server_closed_before_exec_close;
static void on_server_closed(void *arg) {
  (void)arg;
  closed_cb_calls++;
  server_closed_before_exec_close = X.closes == 0;
}

static int client_closed;
static void on_client_closed(void *arg) { (void)arg; client_closed++; }
static void on_flag(void *arg) { (*(int *)arg)++; }

static int setup(void **state) {
  (void)state;
  memset(&X, 0, sizeof(X));
  uv_loop_init(&loop);
  mol_server_opts so = {.card = &CARD, .executor = &EXEC, .cancel_wait_ms = 5000};
  assert_int_equal(mol_server_new(&loop, &so, &server), 0);
  mol_client_opts co = {.url = mol_server_url(server)};
  assert_int_equal(mol_client_new(&loop, &co, &client), 0);
  closed_cb_calls = closed_inside = client_closed = 0;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  X.in_user_call = 1;
  mol_client_close(client, on_client_closed, NULL);
  mol_server_close(server, on_server_closed, NULL);
  closed_inside = closed_cb_calls + client_closed;
  X.in_user_call = 0;
  while (uv_run(&loop, UV_RUN_DEFAULT)) {
  }
  assert_int_equal(closed_inside, 0);
  assert_int_equal(closed_cb_calls, 1);
  assert_int_equal(client_closed, 1);
  assert_int_equal(X.closes, 1);
  assert_true(X.close_after_turns);
  assert_false(server_closed_before_exec_close);
  assert_int_equal(X.cancel_inside_user_call, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_reply_and_what_a_turn_reads(void **state) {
  (void)state;
  call_log l;
  call_send(&l, "reply hello", NULL);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.kind, MOL_RESULT_MESSAGE);
  assert_string_equal(l.text, "echo: hello");

  mol_client_call_opts o = {
    .context_id = "ctx-42", .metadata_json = "{\"history\":[1]}",
    .message_json = "{\"messageId\":\"m-inspect\",\"metadata\":{\"k\":\"v\"},\"parts\":["
                    "{\"kind\":\"text\",\"text\":\"  inspect me  \"},"
                    "{\"kind\":\"data\",\"data\":{\"a\":[1,2]},\"metadata\":{\"p\":1}},"
                    "{\"kind\":\"file\",\"file\":{\"uri\":\"https://x/y.png\",\"mimeType\":\"image/png\"}}]}"};
  call_send(&l, NULL, &o);
  assert_int_equal(l.err, 0);
  assert_string_equal(l.text, "inspected");
  assert_string_equal(X.text, "inspect me");
  assert_string_equal(X.message_id, "m-inspect");
  assert_string_equal(X.context_id, "ctx-42");
  assert_true(strlen(X.task_id) > 0);
  assert_string_equal(X.msg_meta, "{\"k\":\"v\"}");
  assert_string_equal(X.req_meta, "{\"history\":[1]}");
  assert_int_equal(X.nparts, 3);
  assert_int_equal(X.kinds[0], MOL_PART_TEXT);
  assert_int_equal(X.kinds[1], MOL_PART_DATA);
  assert_int_equal(X.kinds[2], MOL_PART_FILE);
  assert_string_equal(X.part_data, "{\"a\":[1,2]}");
  assert_string_equal(X.part_meta, "{\"p\":1}");
  assert_string_equal(X.part_uri, "https://x/y.png");
  assert_int_equal(X.streaming, 0);
}

static void test_stream_artifact_chunks(void **state) {
  (void)state;
  call_log l;
  call_stream(&l, "stream", 0);
  assert_int_equal(l.err, 0);
  assert_int_equal(X.streaming, 1);
  assert_int_equal(l.ev_kinds[0], MOL_RESULT_TASK);
  assert_int_equal(l.working, 1);
  assert_int_equal(l.artifacts, 4);          /* three text chunks and a data chunk */
  assert_int_equal(l.artifact_appends, 2);   /* chunks 1 and 2 append to chunk 0 */
  assert_int_equal(l.last_chunks, 1);
  assert_string_equal(l.ev_text, "chunk 0\nchunk 1\nchunk 2\n");
  assert_int_equal(l.state, MOL_TASK_COMPLETED);
  assert_true(l.ev_final[l.nev - 1]);
  assert_int_equal(l.events, (size_t)l.nev);

  /* A consumer that pauses at the second event gets the rest after it resumes, none before. */
  call_stream(&l, "stream", -2);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.paused_events, 0);
  assert_int_equal(l.artifacts, 4);
  assert_int_equal(l.state, MOL_TASK_COMPLETED);

  /* The same turn through message/send: the Task, its artifacts in the answer. */
  call_send(&l, "stream", NULL);
  assert_int_equal(l.err, 0);
  assert_int_equal(X.streaming, 0);
  assert_int_equal(l.kind, MOL_RESULT_TASK);
  assert_int_equal(l.state, MOL_TASK_COMPLETED);
  assert_non_null(strstr(l.json, "\"text\":\"chunk 2\\n\""));
  assert_non_null(strstr(l.json, "{\"n\":1}"));
  assert_string_equal(l.text, "chunk 0\nchunk 1\nchunk 2\n");
}

static void test_other_endings(void **state) {
  (void)state;
  call_log l;
  call_send(&l, "failing", NULL);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.state, MOL_TASK_FAILED);
  assert_string_equal(l.text, "it did not work");
  call_send(&l, "ask", NULL);
  assert_int_equal(l.state, MOL_TASK_INPUT_REQUIRED);
  /* The caller continues the task: the turn sees the same task id. */
  char task[128];
  copy(task, sizeof(task), l.task_id);
  mol_client_call_opts o = {.task_id = task};
  call_send(&l, "inspect again", &o);
  assert_int_equal(l.err, 0);
  assert_string_equal(X.task_id, task);
  call_send(&l, "badmsg", NULL);
  assert_int_equal(X.bad_reply_rc, MOL_EINVAL); /* and the turn went on */
  assert_int_equal(l.kind, MOL_RESULT_MESSAGE);
  assert_string_equal(l.text, "whole");
  assert_non_null(strstr(l.json, "\"data\":{\"x\":[1,2]}"));
  assert_non_null(strstr(l.json, "\"role\":\"agent\""));
}

static void test_execute_rules(void **state) {
  (void)state;
  call_log l;
  /* An error return without an ending fails the task with the error's text. */
  call_send(&l, "fail-start", NULL);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.state, MOL_TASK_FAILED);
  assert_non_null(strstr(l.text, mol_strerror(MOL_EIO)));
  /* An ending inside execute wins over an error return after it. */
  call_send(&l, "end-then-error", NULL);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.kind, MOL_RESULT_MESSAGE);
  assert_string_equal(l.text, "ended");
  /* A second ending inside execute, and an emit after the ending, are refused. */
  call_send(&l, "double", NULL);
  assert_int_equal(l.state, MOL_TASK_COMPLETED);
  assert_string_equal(l.text, "first");
  assert_int_equal(X.second_end_rc, MOL_EPROTO);
  assert_int_equal(X.emit_after_end_rc, MOL_EPROTO);
  /* The server is still sound: a plain reply works. */
  call_send(&l, "reply still", NULL);
  assert_string_equal(l.text, "echo: still");
}

static void test_cancel_reaches_the_executor_once(void **state) {
  (void)state;
  call_log l, c;
  mol_client_call_opts o = {.return_immediately = 1};
  call_send(&l, "hang", &o);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.kind, MOL_RESULT_TASK);
  char task[128];
  copy(task, sizeof(task), l.task_id);
  assert_int_equal(X.live, 1);
  /* A second caller follows the running task, and sees it end canceled. */
  call_log r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(mol_client_resubscribe(client, task, NULL, on_event, on_done, &r, NULL), 0);
  while (r.nev == 0) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(r.ev_kinds[0], MOL_RESULT_TASK);
  task_call(&c, 1, task);
  assert_int_equal(c.err, 0);
  assert_int_equal(c.state, MOL_TASK_CANCELED);
  run_until(&r.done);
  assert_int_equal(r.err, 0);
  assert_int_equal(r.state, MOL_TASK_CANCELED);
  assert_true(r.ev_final[r.nev - 1]);
  assert_int_equal(X.cancels, 1);
  assert_int_equal(X.live, 0);
  /* Canceling a task that is over is the agent's -32002. */
  task_call(&c, 1, task);
  assert_int_equal(c.err, MOL_ERPC);
  assert_int_equal(c.rpc_code, -32002);
  assert_int_equal(X.cancels, 1);
  task_call(&c, 0, "no-such-task");
  assert_int_equal(c.err, MOL_ERPC);
  assert_int_equal(c.rpc_code, -32001);
}

static void test_turn_outlives_its_call(void **state) {
  (void)state;
  call_log l, g;
  /* A non-blocking send returns at once; the turn ends 50 ms later from its timer. */
  mol_client_call_opts o = {.return_immediately = 1};
  call_send(&l, "late", &o);
  assert_int_equal(l.err, 0);
  assert_true(l.state == MOL_TASK_SUBMITTED || l.state == MOL_TASK_WORKING);
  char task[128];
  copy(task, sizeof(task), l.task_id);
  while (X.live) uv_run(&loop, UV_RUN_ONCE);
  task_call(&g, 0, task);
  assert_int_equal(g.err, 0);
  assert_int_equal(g.state, MOL_TASK_COMPLETED);
  assert_non_null(strstr(g.json, "late result"));

  /* A stream aborted by its caller after the first event: the turn goes on to its end. */
  call_stream(&l, "stream", 1);
  assert_int_equal(l.err, MOL_ECANCELED);
  assert_int_equal(X.live, 1);
  copy(task, sizeof(task), l.task_id);
  while (X.live) uv_run(&loop, UV_RUN_ONCE);
  task_call(&g, 0, task);
  assert_int_equal(g.err, 0);
  assert_int_equal(g.state, MOL_TASK_COMPLETED);
  assert_non_null(strstr(g.json, "chunk 2"));
}

static void test_close_cancels_running_turns(void **state) {
  (void)state;
  call_log l;
  mol_client_call_opts o = {.return_immediately = 1};
  call_send(&l, "hang", &o);
  call_send(&l, "hang", &o);
  assert_int_equal(X.live, 2);
  /* teardown closes the server with both running: each cancel comes on a later iteration
   * (never inside mol_server_close), then the executor's close, then the callback. */
}

static void test_card_and_v1(void **state) {
  (void)state;
  call_log l;
  memset(&l, 0, sizeof(l));
  l.in_start = 1;
  assert_int_equal(mol_client_card(client, NULL, on_done, &l, NULL), 0);
  l.in_start = 0;
  run_until(&l.done);
  assert_int_equal(l.err, 0);
  assert_int_equal(l.fired_inside, 0);
  assert_non_null(strstr(l.json, "\"name\":\"api-test\""));
  assert_non_null(strstr(l.json, "\"id\":\"s1\""));
  assert_non_null(strstr(l.json, "\"streaming\":true"));
  assert_string_equal(l.rpc_url, mol_server_url(server));

  /* The same server answers a client speaking A2A 1.0. */
  mol_client *v1;
  mol_client_opts co = {.url = mol_server_url(server), .a2a_v1 = 1};
  assert_int_equal(mol_client_new(&loop, &co, &v1), 0);
  mol_client *keep = client;
  client = v1;
  call_send(&l, "reply one-oh", NULL);
  assert_int_equal(l.err, 0);
  assert_string_equal(l.text, "echo: one-oh");
  client = keep;
  int closed = 0;
  mol_client_close(v1, on_flag, &closed);
  run_until(&closed);
}

static void test_client_errors(void **state) {
  (void)state;
  call_log l;
  /* Refused at once: the callback never fires. */
  assert_int_equal(mol_client_send(NULL, "x", NULL, on_done, &l, NULL), MOL_EINVAL);
  assert_int_equal(mol_client_send(client, "x", NULL, NULL, &l, NULL), MOL_EINVAL);
  assert_int_equal(mol_client_stream(client, "x", NULL, NULL, on_done, &l, NULL), MOL_EINVAL);
  assert_int_equal(mol_client_get_task(client, NULL, NULL, on_done, &l, NULL), MOL_EINVAL);
  mol_client_call_opts bad = {.metadata_json = "[1]"};
  assert_int_equal(mol_client_send(client, "x", &bad, on_done, &l, NULL), MOL_EINVAL);
  mol_client_call_opts badmsg = {.message_json = "{\"parts\":7}"};
  assert_int_equal(mol_client_send(client, NULL, &badmsg, on_done, &l, NULL), MOL_EINVAL);
  mol_client *c;
  assert_int_equal(mol_client_new(&loop, &(mol_client_opts){0}, &c), MOL_EINVAL);
  mol_header smuggle[] = {{"X-A", "b\r\nX-Injected: 1"}}, badname[] = {{"X A", "b"}};
  mol_client_opts ho = {.url = mol_server_url(server), .headers = smuggle, .n_headers = 1};
  assert_int_equal(mol_client_new(&loop, &ho, &c), MOL_EINVAL);
  ho.headers = badname;
  assert_int_equal(mol_client_new(&loop, &ho, &c), MOL_EINVAL);

  /* Nobody listening: the error comes through the callback, on a later iteration. */
  mol_client *nowhere;
  char url[64];
  mol_server *tmp; /* a port that was ours a moment ago */
  mol_server_opts so = {.card = &CARD, .executor = &(mol_executor){.execute = execute}};
  assert_int_equal(mol_server_new(&loop, &so, &tmp), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", mol_server_port(tmp));
  int tmp_closed = 0;
  mol_server_close(tmp, on_flag, &tmp_closed);
  run_until(&tmp_closed);
  assert_int_equal(mol_client_new(&loop, &(mol_client_opts){.url = url}, &nowhere), 0);
  mol_client *keep = client;
  client = nowhere;
  call_send(&l, "x", NULL);
  assert_int_equal(l.err, MOL_ECONNREFUSED);
  /* A call in flight when the client closes ends with MOL_ESHUTDOWN, once. */
  memset(&l, 0, sizeof(l));
  assert_int_equal(mol_client_send(nowhere, "x", NULL, on_done, &l, NULL), 0);
  int closed = 0;
  mol_client_close(nowhere, on_flag, &closed);
  assert_int_equal(mol_client_send(nowhere, "x", NULL, on_done, &l, NULL), MOL_ESHUTDOWN);
  run_until(&closed);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.err, MOL_ESHUTDOWN);
  client = keep;
}

static void test_server_refuses_bad_options(void **state) {
  (void)state;
  mol_server *s;
  mol_server_opts o = {.card = &CARD};
  assert_int_equal(mol_server_new(&loop, &o, &s), MOL_EINVAL); /* no executor */
  o = (mol_server_opts){.executor = &EXEC};
  assert_int_equal(mol_server_new(&loop, &o, &s), MOL_EINVAL); /* no card */
  o = (mol_server_opts){.card = &CARD, .executor = &EXEC, .host = "0.0.0.0"};
  assert_int_equal(mol_server_new(&loop, &o, &s), MOL_EINVAL); /* wildcard without a URL */
  o = (mol_server_opts){.card = &CARD, .executor = &EXEC, .prefix = "no-slash"};
  assert_int_equal(mol_server_new(&loop, &o, &s), MOL_EINVAL);
  o = (mol_server_opts){.card = &CARD, .executor = &EXEC, .port = mol_server_port(server)};
  assert_int_equal(mol_server_new(&loop, &o, &s), MOL_EADDRINUSE);
  /* What the failed ones built closes in the background. */
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(X.closes, 0); /* an executor never used gets no close */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_reply_and_what_a_turn_reads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stream_artifact_chunks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_other_endings, setup, teardown),
    cmocka_unit_test_setup_teardown(test_execute_rules, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cancel_reaches_the_executor_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_turn_outlives_its_call, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_cancels_running_turns, setup, teardown),
    cmocka_unit_test_setup_teardown(test_card_and_v1, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_server_refuses_bad_options, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
