/* test_a2a_client_interop.c - our A2A client against the REAL @a2a-js/sdk servers
 * (test/interop): 1.3.0 with legacyCompat (v1.0 and v0.3 on one
 * endpoint) and 0.3.14 (pure v0.3), each in Task mode and in Message mode. Then the `molecule
 * call` binary against the same peers. The peers are child processes of this test, stopped by
 * their pid at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_client_util.h"
#include "a2a_peers.h"

enum { P13_TASK, P13_MSG, P03_TASK, P03_MSG, NPEERS };

static a2a_env g;
static a2a_peer peers[NPEERS];

typedef struct {
  int peer;
  mol_a2a_version v;
} target;

/* t = Task mode, m = Message mode; 13 = @a2a-js/sdk 1.3.0, 03 = 0.3.14; then the version. */
static const target t13_v03 = {P13_TASK, MOL_A2A_V03}, t13_v10 = {P13_TASK, MOL_A2A_V10},
                    t03_v03 = {P03_TASK, MOL_A2A_V03}, m13_v03 = {P13_MSG, MOL_A2A_V03},
                    m13_v10 = {P13_MSG, MOL_A2A_V10}, m03_v03 = {P03_MSG, MOL_A2A_V03};

static int group_setup(void **state) {
  (void)state;
  static const struct { const char *dir, *script, *mode; } spec[NPEERS] = {
      {"a2a-js", "server.mjs", NULL}, {"a2a-js", "server.mjs", "message"},
      {"a2a-js-03", "server03.mjs", NULL}, {"a2a-js-03", "server03.mjs", "message"}};
  ae_init_loop(&g);
  for (int i = 0; i < NPEERS; i++)
    if (peer_start(&g.loop, &peers[i], spec[i].dir, spec[i].script, spec[i].mode) != 0)
      return -1;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  for (int i = 0; i < NPEERS; i++) peer_stop(&g.loop, &peers[i]);
  ae_fini_loop(&g);
  return 0;
}

static const target *open_target(void **state) {
  const target *t = *state;
  ae_client(&g, peers[t->peer].url, t->v, NULL);
  return t;
}

static int teardown(void **state) {
  (void)state;
  ae_close_clients(&g);
  return 0;
}

/* ---- card ------------------------------------------------------------------------------ */

static void test_card(void **state) {
  const target *t = open_target(state);
  ares a = {0};
  a.in_call = 1;
  assert_int_equal(mol_a2a_fetch_card(g.c, NULL, ar_done, &a, NULL), 0);
  a.in_call = 0;
  ae_wait(&g, &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.http_status, 200);
  assert_string_equal(a.card_name, t->peer == P03_TASK ? "js-echo-03" : "js-echo");
  assert_string_equal(a.rpc_url, peers[t->peer].url);
  /* The card's URL is usable as the endpoint. */
  assert_int_equal(mol_a2a_client_set_rpc_url(g.c, a.rpc_url), 0);
  ares s = {0};
  ae_send(&g, "after card", &s);
  assert_int_equal(s.err, 0);
  assert_string_equal(s.text, "echo: after card");
}

/* ---- message/send ---------------------------------------------------------------------- */

static void test_send_task(void **state) {
  open_target(state);
  ares a = {0};
  ae_send(&g, "hello", &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.http_status, 200);
  assert_int_equal(a.kind, MOL_A2A_RESULT_TASK);
  assert_string_equal(a.state, "completed"); /* canonical (v0.3) names for both versions */
  assert_string_equal(a.text, "echo: hello");
  assert_true(strlen(a.task_id) > 0);
  assert_string_equal(a.detail, "");
}

static void test_send_message(void **state) {
  open_target(state);
  ares a = {0};
  ae_send(&g, "quick \"quoted\"\nline", &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.kind, MOL_A2A_RESULT_MESSAGE);
  assert_string_equal(a.text, "echo: quick \"quoted\"\nline");
}

/* ---- message/stream -------------------------------------------------------------------- */

static void check_task_stream(const ares *a, const char *text) {
  assert_int_equal(a->err, 0);
  assert_int_equal(a->nev, 4);
  assert_int_equal(a->events, 4);
  assert_int_equal(a->ev_kind[0], MOL_A2A_RESULT_TASK);
  assert_string_equal(a->ev_state[0], "submitted");
  assert_int_equal(a->ev_kind[1], MOL_A2A_RESULT_STATUS_UPDATE);
  assert_string_equal(a->ev_state[1], "working");
  assert_false(a->ev_final[1]);
  assert_int_equal(a->ev_kind[2], MOL_A2A_RESULT_ARTIFACT_UPDATE);
  assert_string_equal(a->ev_text[2], text);
  assert_int_equal(a->ev_kind[3], MOL_A2A_RESULT_STATUS_UPDATE);
  assert_string_equal(a->ev_state[3], "completed");
  assert_true(a->ev_final[3]);
  assert_int_equal(a->kind, MOL_A2A_RESULT_STATUS_UPDATE);
  assert_string_equal(a->text, text);
  assert_true(strlen(a->task_id) > 0);
}

static void test_stream_task(void **state) {
  open_target(state);
  ares a = {0};
  ae_stream(&g, "streamed", &a);
  check_task_stream(&a, "echo: streamed");
}

static void test_stream_message(void **state) {
  open_target(state);
  ares a = {0};
  ae_stream(&g, "one shot", &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.nev, 1);
  assert_int_equal(a.ev_kind[0], MOL_A2A_RESULT_MESSAGE);
  assert_string_equal(a.text, "echo: one shot");
}

/* Back-pressure: every event pauses the stream; a timer resumes it a little later. */
static void resume_soon(uv_timer_t *t) { mol_a2a_client_resume(((ares *)t->data)->call); }

static void test_stream_paused(void **state) {
  open_target(state);
  ares a = {.pause_each = 1};
  json_t *m = ae_msg("slowly");
  assert_int_equal(mol_a2a_stream(g.c, m, NULL, ar_event, ar_done, &a, &a.call), 0);
  json_decref(m);
  uv_timer_t resume;
  uv_timer_init(&g.loop, &resume);
  resume.data = &a;
  uint64_t t0 = uv_now(&g.loop);
  int seen = 0;
  while (a.calls == 0) {
    ae_run_for(&g, 10);
    if (a.nev > seen && a.calls == 0) { /* paused on a new event: hold it 30 ms */
      seen = a.nev;
      uv_timer_start(&resume, resume_soon, 30, 0);
    }
  }
  uv_close((uv_handle_t *)&resume, NULL);
  ae_run_for(&g, 5);
  assert_int_equal(a.calls, 1);
  check_task_stream(&a, "echo: slowly");
  assert_true(uv_now(&g.loop) - t0 >= 3 * 30); /* each of the first three events held */
}

/* ---- tasks/get, tasks/cancel, tasks/resubscribe ---------------------------------------- */

static void sent_task(ares *sent) {
  ae_send(&g, "for later", sent);
  assert_int_equal(sent->err, 0);
  assert_true(strlen(sent->task_id) > 0);
}

static void test_get(void **state) {
  open_target(state);
  ares sent = {0}, a = {0};
  sent_task(&sent);
  mol_a2a_call_opts o = {.has_history_length = 1, .history_length = 1};
  a.in_call = 1;
  assert_int_equal(mol_a2a_get_task(g.c, sent.task_id, &o, ar_done, &a, NULL), 0);
  a.in_call = 0;
  ae_wait(&g, &a);
  assert_int_equal(a.err, 0);
  assert_int_equal(a.kind, MOL_A2A_RESULT_TASK);
  assert_string_equal(a.task_id, sent.task_id);
  assert_string_equal(a.state, "completed");
  assert_string_equal(a.text, "echo: for later");
}

static void test_get_unknown(void **state) {
  open_target(state);
  ares a = {0};
  assert_int_equal(mol_a2a_get_task(g.c, "no-such-task", NULL, ar_done, &a, NULL), 0);
  ae_wait(&g, &a);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, MOL_A2A_TASK_NOT_FOUND);
  assert_int_equal(a.http_status, 200);
}

static void test_cancel_completed(void **state) {
  const target *t = open_target(state);
  ares sent = {0}, a = {0};
  sent_task(&sent);
  assert_int_equal(mol_a2a_cancel_task(g.c, sent.task_id, NULL, ar_done, &a, NULL), 0);
  ae_wait(&g, &a);
  assert_int_equal(a.err, MOL_ERPC);
  assert_int_equal(a.rpc_code, MOL_A2A_TASK_NOT_CANCELABLE);
  assert_non_null(strstr(a.rpc_message, "not cancelable"));
  assert_non_null(strstr(a.detail, "-32002"));
  /* v1.0 errors carry google.rpc.ErrorInfo details. */
  assert_int_equal(a.has_rpc_data, t->v == MOL_A2A_V10);
}

static void test_resubscribe_completed(void **state) {
  const target *t = open_target(state);
  ares sent = {0}, a = {0};
  sent_task(&sent);
  assert_int_equal(mol_a2a_resubscribe(g.c, sent.task_id, NULL, ar_event, ar_done, &a, NULL), 0);
  ae_wait(&g, &a);
  if (t->peer == P03_TASK) { /* 0.3.14: one Task snapshot, terminal */
    assert_int_equal(a.err, 0);
    assert_int_equal(a.nev, 1);
    assert_int_equal(a.ev_kind[0], MOL_A2A_RESULT_TASK);
    assert_string_equal(a.ev_state[0], "completed");
    assert_string_equal(a.text, "echo: for later");
  } else { /* 1.3.0: -32004, as an SSE error event (v0.3) or a JSON body (v1.0) */
    assert_int_equal(a.err, MOL_ERPC);
    assert_int_equal(a.rpc_code, MOL_A2A_UNSUPPORTED_OPERATION);
    assert_int_equal(a.nev, 0);
  }
}

/* Cancelling our own call inside the first event: done once with MOL_ECANCELED. */
static void test_cancel_call_in_event(void **state) {
  open_target(state);
  ares a = {.cancel_at = 1};
  ae_stream(&g, "cut short", &a);
  assert_int_equal(a.err, MOL_ECANCELED);
  assert_int_equal(a.nev, 1);
}

/* ---- molecule call --------------------------------------------------------------------- */

static int cli(char **args, mol_buf *out, mol_buf *err) {
  const char *bin = getenv("MOLECULE_BIN");
  assert_non_null(bin);
  args[0] = (char *)bin;
  return peer_run_program(&g.loop, args, out, err);
}

static void test_cli_call(void **state) {
  (void)state;
  mol_buf out = MOL_BUF_INIT, err = MOL_BUF_INIT;
  char *a1[] = {NULL, "call", peers[P13_TASK].url, "hi there", NULL};
  assert_int_equal(cli(a1, &out, &err), 0);
  assert_string_equal(out.data, "echo: hi there\n");
  mol_buf_reset(&out);
  char *a2[] = {NULL, "call", "--v1", peers[P13_MSG].url, "v1 text", NULL};
  assert_int_equal(cli(a2, &out, &err), 0);
  assert_string_equal(out.data, "echo: v1 text\n");
  mol_buf_reset(&out);
  char *a3[] = {NULL, "call", peers[P03_TASK].url, "streaming", "--stream", NULL};
  assert_int_equal(cli(a3, &out, &err), 0);
  assert_non_null(strstr(out.data, "echo: streaming"));
  mol_buf_free(&out);
  mol_buf_free(&err);
}

static void test_cli_errors(void **state) {
  (void)state;
  mol_buf out = MOL_BUF_INIT, err = MOL_BUF_INIT;
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", peer_free_port());
  char *a1[] = {NULL, "call", url, "nobody home", "--timeout-ms", "5000", NULL};
  assert_int_not_equal(cli(a1, &out, &err), 0);
  assert_non_null(strstr(err.data, "molecule call:"));
  mol_buf_reset(&err);
  char *a2[] = {NULL, "call", "--v1", peers[P03_TASK].url, "v1 to a v0.3-only peer", NULL};
  assert_int_not_equal(cli(a2, &out, &err), 0);
  assert_non_null(strstr(err.data, "-32601")); /* SendMessage is not a v0.3 method */
  mol_buf_reset(&err);
  char *a3[] = {NULL, "call", "--bogus", NULL};
  assert_int_equal(cli(a3, &out, &err), 2);
  mol_buf_free(&out);
  mol_buf_free(&err);
}

/* Each case is named after its peer and version: "test_send_task js-1.3.0 v1.0". */
#define T(fn, tgt) {#fn " " #tgt, fn, NULL, teardown, (void *)&(tgt)}

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_card, t13_v03), T(test_card, t13_v10), T(test_card, t03_v03),
      T(test_send_task, t13_v03), T(test_send_task, t13_v10), T(test_send_task, t03_v03),
      T(test_send_message, m13_v03), T(test_send_message, m13_v10),
      T(test_send_message, m03_v03),
      T(test_stream_task, t13_v03), T(test_stream_task, t13_v10), T(test_stream_task, t03_v03),
      T(test_stream_message, m13_v03), T(test_stream_message, m13_v10),
      T(test_stream_message, m03_v03),
      T(test_stream_paused, t13_v10), T(test_stream_paused, t03_v03),
      T(test_get, t13_v03), T(test_get, t13_v10), T(test_get, t03_v03),
      T(test_get_unknown, t13_v03), T(test_get_unknown, t13_v10), T(test_get_unknown, t03_v03),
      T(test_cancel_completed, t13_v03), T(test_cancel_completed, t13_v10),
      T(test_cancel_completed, t03_v03),
      T(test_resubscribe_completed, t13_v03), T(test_resubscribe_completed, t13_v10),
      T(test_resubscribe_completed, t03_v03),
      T(test_cancel_call_in_event, t13_v03), T(test_cancel_call_in_event, t13_v10),
      cmocka_unit_test(test_cli_call),
      cmocka_unit_test(test_cli_errors),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
