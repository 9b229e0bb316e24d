/* api_a2a_fixture.h - for test_api_a2a.c: the loop, the server and client under test, an
 * executor whose behaviour the message text picks, and the client calls run to completion
 * with their callback rules checked. Public headers only. */
#ifndef API_A2A_FIXTURE_H
#define API_A2A_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <molecule.h>
#include <molecule/uv.h>

static uv_loop_t loop;
static mol_server *server;
static mol_client *client;

/* ---- the executor ------------------------------------------------------------------------ */

typedef struct {
  int executes, cancels, closes, close_after_turns, live;
  int in_user_call;            /* set around the test's own calls into molecule */
  int cancel_inside_user_call; /* a cancel arrived while it was set */
  int second_end_rc, bad_reply_rc, emit_after_end_rc;
  char text[256], message_id[128], context_id[128], task_id[128], msg_meta[256], req_meta[256];
  char part_data[256], part_uri[256], part_meta[256];
  int nparts, streaming, kinds[4];
} exec_log;
static exec_log X;

typedef struct {
  uv_timer_t timer;
  mol_turn *turn;              /* NULL once it ended */
  int step, steps;
} job;

static void job_closed(uv_handle_t *h) { free(h->data); }

static void job_done(job *j) {
  j->turn = NULL;
  X.live--;
  uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void on_stream_tick(uv_timer_t *t) {
  job *j = t->data;
  char text[32];
  if (j->step < j->steps) {
    snprintf(text, sizeof(text), "chunk %d\n", j->step);
    mol_artifact_chunk c = {.name = "out", .text = text, .append = j->step > 0};
    assert_int_equal(mol_turn_artifact(j->turn, &c), 0);
    j->step++;
    return;
  }
  mol_artifact_chunk d = {.artifact_id = "data-1", .data_json = "{\"n\":1}", .last_chunk = 1};
  assert_int_equal(mol_turn_artifact(j->turn, &d), 0);
  mol_turn *turn = j->turn;
  job_done(j);
  assert_int_equal(mol_turn_complete(turn, "streamed"), 0);
}

static void on_late(uv_timer_t *t) { /* the call that started the turn is over by now */
  job *j = t->data;
  mol_turn *turn = j->turn;
  mol_artifact_chunk c = {.text = "late result", .last_chunk = 1};
  assert_int_equal(mol_turn_artifact(turn, &c), 0);
  job_done(j);
  assert_int_equal(mol_turn_complete(turn, NULL), 0);
}

static job *start_job(mol_turn *t, uv_timer_cb cb, unsigned every, int steps) {
  job *j = calloc(1, sizeof(*j));
  j->turn = t;
  j->steps = steps;
  uv_timer_init(mol_turn_loop(t), &j->timer);
  j->timer.data = j;
  if (cb) uv_timer_start(&j->timer, cb, every, every);
  mol_turn_set_data(t, j);
  X.live++;
  return j;
}

static void copy(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : "(null)"); }

static void inspect(mol_turn *t) {
  copy(X.text, sizeof(X.text), mol_turn_text(t));
  copy(X.message_id, sizeof(X.message_id), mol_turn_message_id(t));
  copy(X.context_id, sizeof(X.context_id), mol_turn_context_id(t));
  copy(X.task_id, sizeof(X.task_id), mol_turn_task_id(t));
  copy(X.msg_meta, sizeof(X.msg_meta), mol_turn_message_metadata(t));
  copy(X.req_meta, sizeof(X.req_meta), mol_turn_request_metadata(t));
  X.streaming = mol_turn_streaming(t);
  X.nparts = (int)mol_turn_part_count(t);
  for (int i = 0; i < X.nparts && i < 4; i++) {
    const mol_part *p = mol_turn_part(t, (size_t)i);
    X.kinds[i] = p->kind;
    if (p->kind == MOL_PART_DATA) copy(X.part_data, sizeof(X.part_data), p->data_json);
    if (p->kind == MOL_PART_FILE) copy(X.part_uri, sizeof(X.part_uri), p->file_uri);
    if (p->metadata_json) copy(X.part_meta, sizeof(X.part_meta), p->metadata_json);
  }
  assert_null(mol_turn_part(t, (size_t)X.nparts));
  assert_non_null(strstr(mol_turn_message_json(t), "\"messageId\""));
}

static int execute(mol_turn *t, void *arg) {
  assert_ptr_equal(arg, &X);
  X.executes++;
  const char *in = mol_turn_text(t);
  if (strncmp(in, "inspect", 7) == 0) {
    inspect(t);
    return mol_turn_reply_text(t, "inspected");
  }
  if (strncmp(in, "reply ", 6) == 0) {
    char out[300];
    snprintf(out, sizeof(out), "echo: %s", in + 6);
    return mol_turn_reply_text(t, out);
  }
  if (strcmp(in, "stream") == 0) {
    X.streaming = mol_turn_streaming(t);
    assert_int_equal(mol_turn_working(t, "on it"), 0);
    start_job(t, on_stream_tick, 2, 3);
    return 0;
  }
  if (strcmp(in, "late") == 0) {
    start_job(t, on_late, 50, 0);
    return 0;
  }
  if (strcmp(in, "hang") == 0) {
    start_job(t, NULL, 0, 0);
    return 0;
  }
  if (strcmp(in, "fail-start") == 0) return MOL_EIO;
  if (strcmp(in, "end-then-error") == 0) {
    mol_turn_reply_text(t, "ended");
    return MOL_EIO;
  }
  if (strcmp(in, "double") == 0) {
    assert_int_equal(mol_turn_complete(t, "first"), 0);
    X.second_end_rc = mol_turn_complete(t, "second");
    X.emit_after_end_rc = mol_turn_working(t, NULL);
    return 0;
  }
  if (strcmp(in, "badmsg") == 0) {
    X.bad_reply_rc = mol_turn_reply_message(t, "{\"parts\":42}");
    return mol_turn_reply_message(
        t, "{\"parts\":[{\"kind\":\"text\",\"text\":\"whole\"},{\"kind\":\"data\",\"data\":{\"x\":[1,2]}}]}");
  }
  if (strcmp(in, "failing") == 0) return mol_turn_fail(t, "it did not work");
  if (strcmp(in, "ask") == 0) return mol_turn_input_required(t, "which one?");
  return mol_turn_reply_text(t, "?");
}

static void cancel(mol_turn *t, void *arg) {
  (void)arg;
  X.cancels++;
  if (X.in_user_call) X.cancel_inside_user_call++;
  job *j = mol_turn_data(t);
  job_done(j);
  assert_int_equal(mol_turn_canceled(t), 0);
}

static void exec_close(void *arg) {
  assert_ptr_equal(arg, &X);
  X.closes++;
  X.close_after_turns = X.live == 0;
}

static const mol_executor EXEC = {.execute = execute, .cancel = cancel, .close = exec_close,
                                  .arg = &X, .name = "test"};

/* ---- loop helpers ------------------------------------------------------------------------ */

static void run_until(const int *flag) {
  while (!*flag)
    if (uv_run(&loop, UV_RUN_ONCE) == 0 && !*flag) fail_msg("the loop ran dry");
}

typedef struct {
  int done, calls, err, in_start, fired_inside;
  int kind, state, http_status, rpc_code;
  size_t events;
  char text[512], task_id[128], json[4096], detail[256], rpc_url[256];
  /* events */
  int nev, ev_kinds[32], ev_final[32], artifacts, artifact_appends, last_chunks, working;
  char ev_text[512];
  int abort_after;             /* > 0: abort the stream after that many events */
  int pause_at;                /* > 0: pause the stream at that event (a timer resumes it) */
  int paused_events;           /* events delivered while paused (must stay 0) */
  int is_paused;
  uv_timer_t resume;
  mol_client_req *req;
} call_log;

static void on_done(mol_client_req *req, int err, const mol_client_result *res, void *arg) {
  (void)req;
  call_log *l = arg;
  l->calls++;
  if (l->in_start) l->fired_inside++;
  l->done = 1;
  l->err = err;
  l->kind = res->kind;
  l->state = res->state;
  l->http_status = res->http_status;
  l->rpc_code = res->rpc_code;
  l->events = res->events;
  copy(l->text, sizeof(l->text), res->text);
  copy(l->task_id, sizeof(l->task_id), res->task_id);
  copy(l->json, sizeof(l->json), res->json ? res->json : res->card_json);
  copy(l->detail, sizeof(l->detail), res->detail);
  copy(l->rpc_url, sizeof(l->rpc_url), res->rpc_url);
}

static void on_resume(uv_timer_t *t) {
  call_log *l = t->data;
  l->is_paused = 0;
  mol_client_resume(l->req);
  uv_close((uv_handle_t *)t, NULL);
}

static int on_event(mol_client_req *req, const mol_client_event *ev, void *arg) {
  call_log *l = arg;
  l->paused_events += l->is_paused;
  if (l->nev < 32) {
    l->ev_kinds[l->nev] = ev->kind;
    l->ev_final[l->nev] = ev->final;
  }
  l->nev++;
  if (ev->kind == MOL_RESULT_ARTIFACT_UPDATE) {
    l->artifacts++;
    l->artifact_appends += ev->append;
    l->last_chunks += ev->last_chunk;
    strncat(l->ev_text, ev->text, sizeof(l->ev_text) - strlen(l->ev_text) - 1);
  }
  if (ev->kind == MOL_RESULT_STATUS_UPDATE && ev->state == MOL_TASK_WORKING) l->working++;
  if (ev->kind == MOL_RESULT_TASK && !l->task_id[0]) copy(l->task_id, sizeof(l->task_id), ev->task_id);
  if (l->abort_after && l->nev == l->abort_after) mol_client_abort(req);
  if (l->pause_at && l->nev == l->pause_at) {
    l->is_paused = 1;
    uv_timer_init(&loop, &l->resume);
    l->resume.data = l;
    uv_timer_start(&l->resume, on_resume, 30, 0);
    return 1;
  }
  return 0;
}

static void call_send(call_log *l, const char *text, const mol_client_call_opts *o) {
  memset(l, 0, sizeof(*l));
  l->in_start = 1;
  assert_int_equal(mol_client_send(client, text, o, on_done, l, &l->req), 0);
  l->in_start = 0;
  run_until(&l->done);
  assert_int_equal(l->calls, 1);
  assert_int_equal(l->fired_inside, 0);
}

static void call_stream(call_log *l, const char *text, int abort_after) {
  memset(l, 0, sizeof(*l));
  l->abort_after = abort_after;
  l->pause_at = abort_after < 0 ? -abort_after : 0;
  if (abort_after < 0) l->abort_after = 0;
  l->in_start = 1;
  assert_int_equal(mol_client_stream(client, text, NULL, on_event, on_done, l, &l->req), 0);
  l->in_start = 0;
  run_until(&l->done);
  assert_int_equal(l->calls, 1);
  assert_int_equal(l->fired_inside, 0);
}

static void task_call(call_log *l, int cancel_it, const char *task_id) {
  memset(l, 0, sizeof(*l));
  l->in_start = 1;
  int rc = cancel_it ? mol_client_cancel_task(client, task_id, NULL, on_done, l, NULL)
                     : mol_client_get_task(client, task_id, NULL, on_done, l, NULL);
  assert_int_equal(rc, 0);
  l->in_start = 0;
  run_until(&l->done);
  assert_int_equal(l->fired_inside, 0);
}

#endif
