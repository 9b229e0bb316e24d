/* server_call.c - one JSON-RPC request of the A2A server while it needs more than one loop
 * turn: a blocking message/send waiting for its turn, an SSE stream, a tasks/cancel waiting for
 * the executor to stop.
 *
 * Who hears how a call ended: a message/send that does not stream answers from its own turn's
 * hooks (the direct Message, else the Task once the turn is over) and never listens to the
 * task; only streams (message/stream, tasks/resubscribe) and tasks/cancel listen to it.
 *
 * A call lives while anything holds it (base/holds.h): its HTTP request until answered or
 * aborted, its task listener, its running turn. Each of those ends through its own callback,
 * in any order; the last one's drop frees the call on a later loop phase. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/push.h"
#include "a2a_uv/server_int.h"
#include "base/log.h"
#include "base/zalloc.h"
#include "molecule.h"

typedef enum { CALL_SEND, CALL_STREAM, CALL_CANCEL } call_kind;

struct a2a_call {
  mol_a2a_server *s;
  a2a_call *prev, *next;    /* in s->running while its turn runs */
  mol_holds holds;          /* the HTTP request, the listener, the turn */
  uv_timer_t timer;         /* the holds' last handle; a tasks/cancel's wait */
  mol_http_req *http;       /* NULL once answered or ended */
  mol_a2a_request req;
  char task_id[64];
  mol_a2a_listener *listener;
  call_kind kind;
  int streaming;            /* http is an SSE stream */
  int hidden_task;          /* created by this request and answered with a Message: no client
                               has its id, so it is dropped when the turn ends */
  int created_task;
};

/* ---- answering ---------------------------------------------------------------------------- */

void mol_a2a__answer_body(mol_http_req *r, char *body) {
  static const char oom[] =
      "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"out of memory\"}}";
  if (mol_a2a__is_rest(r)) {
    mol_a2a__rest_answer(r, body);
    return;
  }
  if (body) mol_http_respond(r, 200, "application/json", body, strlen(body));
  else mol_http_respond(r, 200, "application/json", oom, sizeof(oom) - 1);
  free(body);
}

void mol_a2a__answer_error(mol_http_req *r, mol_a2a_request *req, int code, const char *message) {
  mol_a2a__answer_body(r, mol_a2a_reply_error(req, code, message));
  mol_a2a_request_free(req);
}

/* ---- call lifetime ------------------------------------------------------------------------ */

static void call_free(void *arg) {
  a2a_call *c = arg;
  mol_a2a_request_free(&c->req);
  free(c);
}

/* The call holds its HTTP request from here on (the creator's hold of c->holds). */
static a2a_call *call_new(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req,
                          call_kind kind, const char *task_id) {
  a2a_call *c = mol_zalloc(sizeof(*c));
  if (!c) return NULL;
  c->s = s;
  c->http = r;
  c->req = *req; /* the call owns the request from here on */
  c->kind = kind;
  size_t n = strnlen(task_id, sizeof(c->task_id) - 1);
  memcpy(c->task_id, task_id, n);
  c->task_id[n] = '\0';
  uv_timer_init(s->loop, &c->timer);
  c->timer.data = c;
  mol_holds_init(&c->holds, (uv_handle_t *)&c->timer, call_free, c);
  return c;
}

/* Lets go of the HTTP request: c->http is NULL afterwards. */
static mol_http_req *drop_http(a2a_call *c) {
  mol_http_req *r = c->http;
  c->http = NULL;
  mol_holds_drop(&c->holds);
  return r;
}

void mol_a2a__answer_state(mol_a2a_server *s, mol_http_req *r, const char *task_id, char *body) {
  if (!s->durable ||
      !mol_a2a__durable_hold(s->durable, MOL_A2A_HELD_ANSWER, r, task_id, NULL, body))
    mol_a2a__answer_body(r, body);
}

static void finish_http(a2a_call *c) {
  if (!c->http) return;
  int streaming = c->streaming;
  mol_http_req *r = drop_http(c);
  if (streaming) {
    c->s->open_streams--;
    /* after the events still held for it: the request is gone once ended */
    if (!c->s->durable ||
        !mol_a2a__durable_hold(c->s->durable, MOL_A2A_HELD_END, r, NULL, NULL, NULL))
      mol_http_resp_end(r);
  } else {
    mol_a2a__answer_state(c->s, r, c->task_id, NULL);
  }
}

static void answer(a2a_call *c, char *body) {
  mol_a2a__answer_state(c->s, drop_http(c), c->task_id, body);
}

/* The JSON-RPC error that replaces a reply whose state could not be saved (same id; REST
 * requests turn it into their own shape on the way out). NULL out of memory. */
static char *unsaved_error(const char *body) {
  json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  json_t *id = j ? json_object_get(j, "id") : NULL;
  json_t *e = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                        "error", "code", MOL_A2A_INTERNAL_ERROR, "message",
                        "the task store could not save this state of the task (see the agent's"
                        " log), so it is not reported; ask again with tasks/get");
  char *out = e ? json_dumps(e, JSON_COMPACT) : NULL;
  json_decref(e);
  json_decref(j);
  return out;
}

/* A held reply leaves (durable.c, once what it reports is committed; saved 0: the commit
 * failed, and an error goes out in its place). */
void mol_a2a__release(mol_a2a_held_kind kind, mol_http_req *r, const char *event, char *body,
                      int saved) {
  if (!saved && kind != MOL_A2A_HELD_END) {
    char *err = unsaved_error(body);
    free(body);
    body = err;
    event = "error";
    if (body && kind == MOL_A2A_HELD_EVENT && mol_a2a__is_rest(r)) {
      int is_error;
      char *rest = mol_a2a__rest_event(body, &is_error);
      free(body);
      body = rest;
    }
    if (!body && kind == MOL_A2A_HELD_EVENT) return; /* out of memory: the event is dropped */
  }
  if (kind == MOL_A2A_HELD_ANSWER) {
    mol_a2a__answer_body(r, body);
    return;
  }
  if (kind == MOL_A2A_HELD_END) mol_http_resp_end(r);
  /* A client gone meanwhile: the request stays valid until its end, which follows. */
  else if (mol_http_sse_send(r, event, body, strlen(body)) != 0)
    mol_logd("a2a", "a held stream event could not be sent: the client is gone or slow");
  free(body);
}

/* The engine dropped the listener after its final event, or we unsubscribed it. */
static void forget_listener(a2a_call *c) {
  if (!c->listener) return;
  c->listener = NULL;
  mol_holds_drop(&c->holds);
}

static void stop_listening(a2a_call *c) {
  if (!c->listener) return;
  mol_a2a_task *t = mol_a2a_store_get(c->s->store, c->task_id);
  if (t) mol_a2a_task_unsubscribe(t, c->listener);
  forget_listener(c);
}

static void on_abort(mol_http_req *r, void *arg) {
  (void)r;
  a2a_call *c = arg;
  finish_http(c);      /* releases the request; the task itself goes on */
  stop_listening(c);
  uv_timer_stop(&c->timer);
}

/* The call answers after this loop turn: a client that goes away meanwhile ends it. */
static void answer_later(a2a_call *c) { mol_http_req_on_abort(c->http, on_abort, c); }

/* ---- streaming ---------------------------------------------------------------------------- */

/* Errors after the stream started go out as "event: error" on the 200 stream, as a2a-js does
 * (docs/a2a.md "Methods"). */
static void stream_send_as(a2a_call *c, const char *event, char *body) {
  if (!c->http) {
    free(body);
    return;
  }
  if (body && mol_a2a__is_rest(c->http)) { /* a bare StreamResponse, or {"error":…} */
    int is_error;
    char *rest = mol_a2a__rest_event(body, &is_error);
    free(body);
    body = rest;
    if (is_error) event = "error";
  }
  if (body && c->s->durable &&
      mol_a2a__durable_hold(c->s->durable, MOL_A2A_HELD_EVENT, c->http, c->task_id, event, body))
    return;
  int rc = body ? mol_http_sse_send(c->http, event, body, strlen(body)) : MOL_ENOMEM;
  free(body);
  if (rc) { /* the client is gone or not reading: end the stream, the task goes on */
    finish_http(c);
    stop_listening(c);
  }
}

static void stream_send(a2a_call *c, char *body) { stream_send_as(c, NULL, body); }

static int start_stream(a2a_call *c, const mol_a2a_task *task) {
  int rc = mol_http_sse_start(c->http);
  if (rc) return rc;
  c->streaming = 1;
  c->s->open_streams++;
  stream_send(c, mol_a2a_reply_task(&c->req, task));
  return 0;
}

/* ---- task events -------------------------------------------------------------------------- */

/* Streams pass every event on; a tasks/cancel answers with the task once it is final. */
static void on_event(mol_a2a_task *task, const mol_a2a_event *ev, void *arg) {
  a2a_call *c = arg;
  if (ev->final) forget_listener(c); /* the engine drops a listener after its final event */
  if (c->streaming) {
    if (ev->kind == MOL_A2A_EV_CLOSED)
      stream_send_as(c, "error",
                     mol_a2a_reply_error(&c->req, MOL_A2A_INTERNAL_ERROR, "server shutting down"));
    else
      stream_send(c, mol_a2a_reply_event(&c->req, ev));
    if (ev->final) finish_http(c);
  } else if (ev->final && c->http) {
    answer(c, ev->kind == MOL_A2A_EV_CLOSED
                  ? mol_a2a_reply_error(&c->req, MOL_A2A_INTERNAL_ERROR, "server shutting down")
                  : mol_a2a_reply_task(&c->req, task));
    uv_timer_stop(&c->timer);
  }
}

/* The listener holds the call. Subscribing fails past the task's listener bound (MOL_ELIMIT)
 * or out of memory; a call that cannot listen answers at once rather than wait for events that
 * will never reach it. */
static int subscribe(a2a_call *c, mol_a2a_task *task) {
  int rc = mol_a2a_task_subscribe(task, on_event, c, &c->listener);
  if (rc == 0) mol_holds_take(&c->holds);
  else c->listener = NULL;
  return rc;
}

static char *cannot_listen(a2a_call *c, int rc) {
  return mol_a2a_reply_error(&c->req, MOL_A2A_INTERNAL_ERROR,
                             rc == MOL_ELIMIT ? "too many listeners on this task: try again later"
                                              : mol_strerror(rc));
}

/* A stream listens before its first event goes out, so it misses none; one that cannot listen
 * is refused before it opens. */
static void open_stream(a2a_call *c, mol_a2a_task *task) {
  int rc = subscribe(c, task);
  if (rc == 0 && (rc = start_stream(c, task)) != 0) stop_listening(c);
  if (rc) answer(c, cannot_listen(c, rc));
  else if (c->http) answer_later(c); /* else the client went away at the first event */
}

/* ---- turns -------------------------------------------------------------------------------- */

/* A message/send still waiting answers with the executor's direct Message ... */
static void on_reply(mol_a2a_turn *t, const mol_a2a_cmsg *msg, void *arg) {
  a2a_call *c = arg;
  if (c->kind == CALL_SEND && c->http) {
    answer(c, mol_a2a_reply_message(&c->req, msg));
    /* a task with a push config stays: its webhook was told about it */
    c->hidden_task = c->created_task && (!mol_a2a_store_push_count(c->s->store) ||
                                         !mol_a2a_task_push_count(mol_a2a_turn_task(t)));
  }
}

/* ... or, when the turn is over without one, with the task as the turn left it. */
static void on_turn_end(mol_a2a_turn *t, void *arg) {
  a2a_call *c = arg;
  mol_a2a_server *s = c->s;
  if (c->kind == CALL_SEND && c->http) answer(c, mol_a2a_reply_task(&c->req, mol_a2a_turn_task(t)));
  if (c->hidden_task) /* a Message-only exchange keeps no task, as the spec has it */
    mol_a2a_store_remove(s->store, mol_a2a_turn_task(t));
  if (c->prev) c->prev->next = c->next; else s->running = c->next;
  if (c->next) c->next->prev = c->prev;
  s->live_turns--;
  mol_holds_drop(&c->holds);
  mol_holds_drop(&s->holds);
}

/* Before anything can answer: the turn holds the call from here on. */
static void turn_begins(a2a_call *c) {
  mol_a2a_server *s = c->s;
  mol_holds_take(&c->holds);
  mol_holds_take(&s->holds); /* the server lives while its turns run */
  c->next = s->running;
  if (s->running) s->running->prev = c;
  s->running = c;
  s->live_turns++;
  s->turns++;
}

static void run_turn(a2a_call *c, mol_a2a_task *task) {
  mol_a2a_server *s = c->s;
  mol_a2a_turn_hooks hooks = {.on_reply = on_reply, .on_end = on_turn_end, .arg = c};
  mol_a2a_turn_start(s->loop, task, c->req.message, c->req.metadata, c->kind == CALL_STREAM,
                     s->executor, &hooks, NULL);
}

void mol_a2a__call_send(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  if (!mol_a2a_accepts_output(&req->config, "text/plain")) {
    mol_a2a__answer_error(r, req, MOL_A2A_CONTENT_TYPE_NOT_SUPPORTED, NULL);
    return;
  }
  mol_a2a_task *task;
  mol_a2a_error err = {0};
  mol_a2a_push_config push; /* set (or cleared) by the inline check */
  int creates = mol_a2a_cmsg_task_id(req->message) == NULL;
  int has_push = req->config.push_config != NULL; /* never on the fast path */
  int bad = has_push && mol_a2a__push_inline_check(s, req, &push, &err);
  if (!bad && mol_a2a_store_begin(s->store, &req->message, &task, &err)) {
    if (has_push) mol_a2a_push_config_clear(&push);
    bad = 1;
  }
  if (bad) {
    mol_a2a__answer_error(r, req, err.code, err.message[0] ? err.message : NULL);
    return;
  }
  /* Room was checked: only memory can fail here, and no turn runs for it: the task ends. */
  if (has_push && mol_a2a__push_inline_attach(s, task, &push, &err)) {
    mol_a2a_task_set_status(task, MOL_A2A_STATE_FAILED, NULL, NULL);
    mol_a2a__answer_error(r, req, err.code, err.message[0] ? err.message : NULL);
    return;
  }
  call_kind kind = req->method == MOL_A2A_M_STREAM ? CALL_STREAM : CALL_SEND;
  a2a_call *c = call_new(s, r, req, kind, mol_a2a_task_id(task));
  if (!c) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  c->created_task = creates;
  turn_begins(c);
  if (kind == CALL_STREAM) {
    open_stream(c, task);
  } else if (c->req.config.blocking) {
    answer_later(c); /* from the turn's hooks */
  } else {
    answer(c, mol_a2a_reply_task(&c->req, task));
  }
  run_turn(c, task);
}

/* ---- reads and cancel --------------------------------------------------------------------- */

static mol_a2a_task *find_task(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  mol_a2a_task *t = req->task_id ? mol_a2a_store_get(s->store, req->task_id) : NULL;
  if (!t) mol_a2a__answer_error(r, req, MOL_A2A_TASK_NOT_FOUND, NULL);
  return t;
}

void mol_a2a__call_get(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  mol_a2a_task *t = find_task(s, r, req);
  if (!t) return;
  mol_a2a__answer_state(s, r, mol_a2a_task_id(t), mol_a2a_reply_task(req, t));
  mol_a2a_request_free(req);
}

static void on_cancel_wait(uv_timer_t *timer) {
  a2a_call *c = timer->data;
  mol_a2a_task *t = mol_a2a_store_get(c->s->store, c->task_id);
  stop_listening(c);
  if (c->http) answer(c, t ? mol_a2a_reply_task(&c->req, t)
                           : mol_a2a_reply_error(&c->req, MOL_A2A_TASK_NOT_FOUND, NULL));
}

void mol_a2a__call_cancel(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  mol_a2a_task *t = find_task(s, r, req);
  if (!t) return;
  if (mol_a2a_task_request_cancel(t) == MOL_A2A_ETERMINAL) {
    mol_a2a__answer_error(r, req, MOL_A2A_TASK_NOT_CANCELABLE, NULL);
    return;
  }
  if (mol_a2a_state_is_terminal(mol_a2a_task_state_get(t))) {
    mol_a2a__answer_state(s, r, mol_a2a_task_id(t), mol_a2a_reply_task(req, t));
    mol_a2a_request_free(req);
    return;
  }
  /* The executor stops asynchronously: answer when the task is canceled, or after a while. */
  a2a_call *c = call_new(s, r, req, CALL_CANCEL, mol_a2a_task_id(t));
  if (!c) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  if (subscribe(c, t) == 0) {
    uv_timer_start(&c->timer, on_cancel_wait, s->cancel_wait_ms, 0);
    answer_later(c);
  } else {
    answer(c, mol_a2a_reply_task(&c->req, t)); /* asked to stop; the client reads on with tasks/get */
  }
}

/* A task a restart ended had resubscribers when the process died: one that comes back gets
 * the task and its final event (failed, "the agent restarted"), as if it had stayed. */
static void replay_restart_end(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req,
                               mol_a2a_task *t) {
  a2a_call *c = call_new(s, r, req, CALL_STREAM, mol_a2a_task_id(t));
  if (!c) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  int rc = start_stream(c, t);
  if (rc) {
    answer(c, cannot_listen(c, rc));
    return;
  }
  mol_a2a_event ev = {.kind = MOL_A2A_EV_STATUS, .task_id = mol_a2a_task_id(t),
                      .context_id = mol_a2a_task_context_id(t), .final = 1,
                      .state = mol_a2a_task_state_get(t),
                      .status_message = mol_a2a_task_status_message(t),
                      .timestamp = mol_a2a_task_timestamp(t)};
  stream_send(c, mol_a2a_reply_event(&c->req, &ev));
  finish_http(c);
}

void mol_a2a__call_resubscribe(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  mol_a2a_task *t = find_task(s, r, req);
  if (!t) return;
  /* Any task that has not ended: an interrupted one (input-required) streams its next turn. */
  if (s->durable && mol_a2a__durable_restarted(s->durable, mol_a2a_task_id(t))) {
    replay_restart_end(s, r, req, t);
    return;
  }
  if (mol_a2a_state_is_terminal(mol_a2a_task_state_get(t))) {
    mol_a2a__answer_error(r, req, MOL_A2A_UNSUPPORTED_OPERATION,
                          "task is in a terminal state: read it with tasks/get");
    return;
  }
  a2a_call *c = call_new(s, r, req, CALL_STREAM, mol_a2a_task_id(t));
  if (!c) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  open_stream(c, t);
}

/* A page token is "<status ms>.<task id>" of the last task of the previous page. */
static int read_page_token(const char *token, mol_a2a_task_query *q) {
  if (!token) return 0;
  char *end;
  long long ms = strtoll(token, &end, 10);
  if (end == token || *end != '.' || !end[1] || *token == '-' || *token == '+') return -1;
  q->after_ms = ms;
  q->after_id = end + 1;
  return 0;
}

void mol_a2a__call_list(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  size_t size = req->page_size > 0 ? (size_t)req->page_size : 50, n, total;
  mol_a2a_task_query q = {.context_id = req->context_id, .state = req->state_filter,
                          .status_after_ms = req->status_after_ms};
  if (read_page_token(req->page_token, &q) != 0) {
    mol_a2a__answer_error(r, req, MOL_A2A_INVALID_PARAMS, "pageToken is not one this server gave");
    return;
  }
  mol_a2a_task *tasks[100];
  int more;
  if (mol_a2a_store_query(s->store, &q, tasks, size, &n, &total, &more) != 0) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  char next[160] = "";
  if (more && n)
    snprintf(next, sizeof(next), "%lld.%s", (long long)mol_a2a_task_status_ms(tasks[n - 1]),
             mol_a2a_task_id(tasks[n - 1]));
  mol_a2a__answer_state(s, r, NULL, mol_a2a_reply_task_list(req, tasks, n, total, next));
  mol_a2a_request_free(req);
}

void mol_a2a__calls_cancel_all(mol_a2a_server *s) {
  size_t n = 0;
  for (a2a_call *c = s->running; c; c = c->next) n++;
  char (*ids)[64] = n ? calloc(n, sizeof(*ids)) : NULL;
  size_t k = 0;
  for (a2a_call *c = s->running; c && ids; c = c->next) memcpy(ids[k++], c->task_id, sizeof(*ids));
  for (size_t i = 0; i < k; i++) { /* cancel may end turns (and unlink them) synchronously */
    mol_a2a_task *t = mol_a2a_store_get(s->store, ids[i]);
    if (t) mol_a2a_task_request_cancel(t);
  }
  free(ids);
}
