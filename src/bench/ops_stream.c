/* ops_stream.c - the stream workload: message/stream read as server-sent events, each event
 * checked, timed to the first event and to the final one (a Message, a final status-update, or
 * a terminal Task). A stream that ends before its final event is an invalid reply. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "a2a/model.h"
#include "bench/run_int.h"
#include "molecule.h"

#define ACCEPT_EVENT                                                                         \
  (MOL_BENCH_ACCEPT(MOL_A2A_RESULT_MESSAGE) | MOL_BENCH_ACCEPT(MOL_A2A_RESULT_TASK) |         \
   MOL_BENCH_ACCEPT(MOL_A2A_RESULT_STATUS_UPDATE) | MOL_BENCH_ACCEPT(MOL_A2A_RESULT_ARTIFACT_UPDATE))
#define MAX_RAW_BYTES (16u << 20) /* a non-SSE answer to a stream, kept whole */

/* The verdict on a final event (or a whole non-SSE answer): a task that ended badly is one. */
static void judge_final(mol_bench_reply *reply) {
  if (reply->outcome == MOL_BENCH_OK && mol_a2a_state_is_terminal(reply->state) &&
      reply->state != MOL_A2A_STATE_COMPLETED)
    mol_bench_reply_fail(reply, MOL_BENCH_E_TASK, (int)reply->state, "the task ended %s",
                         mol_a2a_state_name(reply->state, MOL_A2A_V03));
}

static int on_event(const mol_a2a_sse_event *ev, void *arg) {
  mol_bench_op *op = arg;
  mol_bench_reply reply;
  if (op->got_final) return 0; /* events after the final one are ignored, as clients do */
  uint64_t now = uv_hrtime();
  if (!op->got_first) {
    op->got_first = 1;
    op->first_ns = now;
  }
  if (op->measured) op->r->res->work[op->work].events++;
  mol_bench_check_body(ev->data, ev->data_len, op->r->o->binding, op->rpc_id, ACCEPT_EVENT, &reply);
  if (reply.outcome == MOL_BENCH_OK && !reply.final) return 0;
  judge_final(&reply);
  op->stream_reply = reply;
  op->got_final = 1;
  op->final_ns = now;
  return reply.outcome == MOL_BENCH_OK ? 0 : 1; /* an error ends the stream here */
}

static int on_headers(mol_http_request *req, const mol_http_response *resp, void *arg) {
  mol_bench_op *op = arg;
  (void)req;
  const char *ct = mol_http_headers_get(resp->headers, "Content-Type");
  op->http_status = resp->status;
  op->sse_mode = resp->status >= 200 && resp->status <= 299 && ct &&
                 !strncasecmp(ct, "text/event-stream", 17);
  return 0;
}

static int on_body(mol_http_request *req, const char *data, size_t len, void *arg) {
  mol_bench_op *op = arg;
  if (!op->sse_mode) {
    if (op->raw.len + len > MAX_RAW_BYTES || mol_buf_append(&op->raw, data, len)) {
      mol_http_request_cancel(req);
      return 1;
    }
    return 0;
  }
  if (mol_a2a_sse_feed(&op->sse, data, len) != 0 && !op->got_final) {
    mol_bench_reply_fail(&op->stream_reply, MOL_BENCH_E_INVALID, 0, "an event over 4 MiB");
    op->got_final = 1;
  }
  if (op->got_final && op->stream_reply.outcome != MOL_BENCH_OK) {
    mol_http_request_cancel(req);
    return 1;
  }
  return 0;
}

/* The whole answer was not an event stream: one JSON-RPC response (an error, or a single
 * result), read as the stream's only event. */
static void judge_raw(mol_bench_op *op, mol_bench_reply *reply) {
  mol_bench_check_http(op->http_status, op->raw.data, op->raw.len, op->r->o->binding, op->rpc_id,
                       ACCEPT_EVENT, reply);
  if (reply->outcome == MOL_BENCH_OK && !reply->final)
    mol_bench_reply_fail(reply, MOL_BENCH_E_INVALID, 0, "a stream answered with one non-final result");
  judge_final(reply);
  op->first_ns = op->final_ns = uv_hrtime();
}

static void on_stream_done(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  mol_bench_op *op = arg;
  mol_bench_reply reply;
  (void)req;
  (void)resp;
  op->req = NULL;
  if (op->got_final) reply = op->stream_reply; /* an error reported after it changes nothing */
  else if (err) mol_bench_check_transport(err, &reply);
  else if (!op->sse_mode) judge_raw(op, &reply);
  else mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the stream ended before its final event");
  mol_a2a_sse_free(&op->sse);
  mol_buf_reset(&op->raw);
  if (reply.outcome == MOL_BENCH_OK && op->measured)
    mol_bench_hist_record(&op->r->res->work[op->work].first_event,
                          op->first_ns > op->started_ns ? op->first_ns - op->started_ns : 0);
  mol_bench__op_end(op, &reply, op->final_ns);
}

void mol_bench__stream_start(mol_bench_op *op) {
  mol_bench_runner *r = op->r;
  op->got_first = op->got_final = op->sse_mode = 0;
  op->http_status = 0;
  op->first_ns = op->final_ns = 0;
  memset(&op->stream_reply, 0, sizeof(op->stream_reply));
  mol_a2a_sse_init(&op->sse, 0, on_event, op);
  int rc = mol_bench__op_prepare_send(op, 1, 0);
  if (!rc) {
    mol_http_request_opts ro = {.method = "POST", .url = op->url.data, .headers = r->headers,
                                .nheaders = r->nheaders + 1, /* + Accept: text/event-stream */
                                .body = op->body.data, .body_len = op->body.len,
                                .total_timeout_ms = r->o->timeout_ms,
                                .on_headers = on_headers, .on_body = on_body};
    op->sent_ns = uv_hrtime();
    rc = mol_http_request_send(r->http, &ro, on_stream_done, op, &op->req);
  }
  if (rc) {
    mol_bench_reply reply;
    mol_a2a_sse_free(&op->sse);
    mol_bench_check_transport(rc, &reply);
    mol_bench__op_end(op, &reply, 0);
  }
}
