/* client_stream.c - message/stream and tasks/resubscribe: SSE bytes from the streaming HTTP
 * client go through the I/O-free SSE parser into a queue of events, which is delivered to the
 * consumer while it has not paused. Holding parsed events in the queue (rather than stopping the
 * parser mid-chunk) keeps the parser's state simple: one HTTP chunk is always parsed whole, and
 * pausing the HTTP request bounds the queue to what one chunk held. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a2a_uv/client_int.h"
#include "molecule.h"

enum { DEFAULT_MAX_BODY = 16u << 20 };

static int on_sse_event(const mol_a2a_sse_event *ev, void *arg) {
  mol_a2a_call *call = arg;
  a2a_event *e = malloc(sizeof(*e) + ev->data_len + 1);
  if (!e) return MOL_ENOMEM;
  e->next = NULL;
  e->is_error = strcmp(ev->event, "error") == 0;
  e->len = ev->data_len;
  memcpy(e->data, ev->data, ev->data_len);
  e->data[ev->data_len] = '\0';
  if (call->q_tail) call->q_tail->next = e;
  else call->q_head = e;
  call->q_tail = e;
  return 0;
}

void mol_a2a__client_stream_init(mol_a2a_call *call) {
  mol_a2a_sse_init(&call->sse, call->c->max_event_bytes, on_sse_event, call);
}

void mol_a2a__client_stream_free(mol_a2a_call *call) {
  if (call->kind != CALL_STREAM) return;
  mol_a2a_sse_free(&call->sse);
  while (call->q_head) {
    a2a_event *e = call->q_head;
    call->q_head = e->next;
    free(e);
  }
  call->q_tail = NULL;
  mol_buf_free(&call->body);
}

int mol_a2a__client_stream_on_headers(mol_http_request *r, const mol_http_response *resp,
                                      void *arg) {
  mol_a2a_call *call = arg;
  (void)r;
  call->res.http_status = resp->status;
  const char *ct = mol_http_headers_get(resp->headers, "Content-Type");
  call->is_sse = resp->status >= 200 && resp->status <= 299 && ct &&
                 strncasecmp(ct, "text/event-stream", 17) == 0;
  return 0;
}

/* A peer that answers a stream request with plain JSON (typically a JSON-RPC error, as the
 * a2a-js client also accepts) is read whole, within the unary body bound. */
static void body_append(mol_a2a_call *call, const char *data, size_t len) {
  size_t cap = call->c->max_body_bytes ? call->c->max_body_bytes : DEFAULT_MAX_BODY;
  if (call->body.len + len > cap)
    mol_a2a__client_fail(call, MOL_ETOOBIG, "the answer is over %zu bytes", cap);
  else if (mol_buf_append(&call->body, data, len) != 0)
    mol_a2a__client_fail(call, MOL_ENOMEM, NULL);
}

int mol_a2a__client_stream_on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  mol_a2a_call *call = arg;
  (void)r;
  if (call->abort_err || call->finished) return 0;
  if (!call->is_sse) {
    body_append(call, data, len);
    return 0;
  }
  int rc = mol_a2a_sse_feed(&call->sse, data, len);
  if (rc == MOL_ETOOBIG)
    mol_a2a__client_fail(call, rc, "an SSE event is over the %zu-byte bound", call->sse.max_event);
  else if (rc != 0)
    mol_a2a__client_fail(call, rc, "reading the SSE stream: %s", mol_strerror(rc));
  else
    mol_a2a__client_stream_drain(call);
  return call->paused;
}

/* ---- events ---------------------------------------------------------------------------- */

static int is_final(const mol_a2a_response *r) {
  mol_a2a_task_state s;
  switch (r->kind) {
  case MOL_A2A_RESULT_MESSAGE:
    return 1;
  case MOL_A2A_RESULT_STATUS_UPDATE:
    return json_is_true(json_object_get(r->result, "final"));
  case MOL_A2A_RESULT_TASK:
    /* a2a-js 0.3.14 answers a resubscribe to a finished task with one Task snapshot. */
    if (mol_a2a_state_parse(json_string_value(json_object_get(
                                json_object_get(r->result, "status"), "state")),
                            &s) != 0)
      return 0;
    return mol_a2a_state_is_terminal(s) || mol_a2a_state_is_interrupted(s);
  default:
    return 0;
  }
}

static int is_event_kind(mol_a2a_result_kind k) {
  return k == MOL_A2A_RESULT_MESSAGE || k == MOL_A2A_RESULT_TASK ||
         k == MOL_A2A_RESULT_STATUS_UPDATE || k == MOL_A2A_RESULT_ARTIFACT_UPDATE;
}

/* Checks one parsed event; on a problem the call is failed and non-zero returned. r is moved
 * into call->resp when it is a JSON-RPC error, so res.rpc_message stays valid. */
static int event_check(mol_a2a_call *call, const a2a_event *ev, mol_a2a_response *r, int rc) {
  size_t n = call->res.events + 1;
  if (rc == MOL_EJSON) return mol_a2a__client_fail(call, rc, "stream event %zu is not JSON", n);
  if (rc != 0)
    return mol_a2a__client_fail(call, MOL_EBADRESP, "stream event %zu is not a JSON-RPC response",
                                n);
  if (r->is_error) {
    mol_a2a_response_free(&call->resp);
    call->resp = *r;
    memset(r, 0, sizeof(*r));
    return mol_a2a__client_fail(call, mol_a2a__client_rpc_error(call, &call->resp), NULL);
  }
  if (ev->is_error)
    return mol_a2a__client_fail(call, MOL_EBADRESP, "an error event without a JSON-RPC error");
  if (!json_equal(r->id, call->id))
    return mol_a2a__client_fail(call, MOL_EBADRESP, "stream event %zu is for another request id",
                                n);
  if (!is_event_kind(r->kind))
    return mol_a2a__client_fail(call, MOL_EBADRESP,
                                "stream event %zu is not a task, message or update", n);
  return 0;
}

/* A resubscribe's first event, a snapshot of an interrupted task, ends the stream when the
 * peer closes after it, but the task's next turn may follow. */
static int is_open_snapshot(const mol_a2a_call *call) {
  const json_t *st = json_object_get(call->resp.result, "status");
  mol_a2a_task_state s;
  return call->method == MOL_A2A_M_RESUBSCRIBE && call->res.events == 1 &&
         call->resp.kind == MOL_A2A_RESULT_TASK &&
         mol_a2a_state_parse(json_string_value(json_object_get(st, "state")), &s) == 0 &&
         mol_a2a_state_is_interrupted(s);
}

static void deliver(mol_a2a_call *call, const a2a_event *ev) {
  /* Events after the final one are dropped: the peer should have closed the stream. */
  if (call->final_seen && !call->open_snapshot) return;
  mol_a2a_response r;
  int rc = mol_a2a_response_parse(ev->data, ev->len, call->c->version, &r);
  if (event_check(call, ev, &r, rc) != 0) {
    mol_a2a_response_free(&r);
    return;
  }
  mol_a2a_response_free(&call->resp);
  call->resp = r;
  call->res.events++;
  mol_a2a_result_kind k = r.kind;
  mol_a2a__client_note_result(call, &call->resp,
                              k == MOL_A2A_RESULT_MESSAGE || k == MOL_A2A_RESULT_ARTIFACT_UPDATE);
  call->final_seen = is_final(&call->resp);
  call->open_snapshot = call->final_seen && is_open_snapshot(call);
  if (call->on_event && call->on_event(call, &call->resp, call->arg) != 0)
    mol_a2a_client_pause(call);
}

static void stream_end(mol_a2a_call *call) {
  if (!call->final_seen) {
    int partial = call->sse.line.len > 0 || call->sse.data.len > 0;
    mol_a2a__client_fail(call, MOL_EBADRESP, partial ? "the stream ended in the middle of an event"
                                              : "the stream ended before its final event");
    return;
  }
  /* No message or artifact text: the reply is in the final status (or snapshot). */
  if (call->text.len == 0) mol_a2a__client_note_result(call, &call->resp, 1);
  mol_a2a__client_finish(call, 0);
}

void mol_a2a__client_stream_drain(mol_a2a_call *call) {
  while (call->q_head && !call->paused && !call->abort_err && !call->finished) {
    a2a_event *ev = call->q_head;
    call->q_head = ev->next;
    if (!call->q_head) call->q_tail = NULL;
    deliver(call, ev);
    free(ev);
  }
  if (!call->q_head && call->http_done && !call->paused && !call->abort_err && !call->finished)
    stream_end(call);
}

/* ---- the end of the HTTP response ---------------------------------------------------------- */

static void plain_answer(mol_a2a_call *call, int status) {
  int rc = mol_a2a__client_read_answer(call, status, call->body.data, call->body.len);
  if (rc == 0) {
    call->res.events = 1;
    call->final_seen = 1;
    if (call->on_event) call->on_event(call, &call->resp, call->arg);
  }
  mol_a2a__client_finish(call, rc ? rc : call->abort_err);
}

void mol_a2a__client_stream_http_done(mol_a2a_call *call, int err, const mol_http_response *resp) {
  /* A peer that drops the connection right after the final event has still said everything. */
  if (err == MOL_ECONNRESET && call->final_seen) err = 0;
  if (err != 0) {
    mol_buf_reset(&call->detail);
    mol_buf_printf(&call->detail, "HTTP stream failed after %zu events: %s", call->res.events,
                   mol_strerror(err));
    mol_a2a__client_finish(call, err);
    return;
  }
  if (!call->is_sse) {
    plain_answer(call, resp->status);
    return;
  }
  call->http_done = 1;
  mol_a2a__client_stream_drain(call);
  mol_a2a__client_arm_deadline(call);
}
