/* ops.c - the unary workloads as small state machines over the HTTP client: send (one
 * message/send), task (a non-blocking send, then tasks/get until the task is terminal) and
 * conversation (turns on one contextId). Every answer goes through check.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "a2a/model.h"
#include "bench/run_int.h"
#include "molecule.h"

#define ACCEPT_REPLY (MOL_BENCH_ACCEPT(MOL_A2A_RESULT_MESSAGE) | MOL_BENCH_ACCEPT(MOL_A2A_RESULT_TASK))

const char *mol_bench__prompt(mol_bench_runner *r) {
  const char *p = r->o->prompts[r->prompt_next++];
  if (r->prompt_next >= r->o->nprompts) r->prompt_next = 0;
  return p;
}

/* Appends the decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n) *p++ = tmp[--n];
  return p;
}

/* "<run tag>-<op>-<n>": unique in the run, built without a format string (a hot path). */
static void make_id(char *out, const char *prefix, const char *tag, uint64_t seq, unsigned n) {
  char *p = out;
  for (const char *s = prefix; *s;) *p++ = *s++;
  for (const char *s = tag; *s;) *p++ = *s++;
  *p++ = '-';
  p = put_u64(p, seq);
  *p++ = '-';
  p = put_u64(p, n);
  *p = '\0';
}

void mol_bench__op_new_id(mol_bench_op *op) {
  make_id(op->rpc_id, "", op->r->run_tag, op->seq, op->requests++);
}

int mol_bench__op_prepare_send(mol_bench_op *op, int stream, int return_immediately) {
  mol_bench_runner *r = op->r;
  char message_id[64];
  mol_bench__op_new_id(op);
  make_id(message_id, "m-", r->run_tag, op->seq, op->turn);
  mol_bench_send s = {.rpc_id = op->rpc_id, .message_id = message_id,
                      .text_json = mol_bench__prompt(r),
                      .context_id = op->context_id[0] ? op->context_id : NULL,
                      .stream = stream, .return_immediately = return_immediately};
  int rc = mol_bench_body_send(&op->body, r->o->binding, &s);
  return rc ? rc : mol_bench_url(&op->url, r->o->binding, r->endpoint, stream, NULL);
}

int mol_bench__op_http(mol_bench_op *op, const char *method,
                       void (*on_done)(mol_http_request *, int, const mol_http_response *, void *)) {
  mol_bench_runner *r = op->r;
  mol_http_request_opts ro = {.method = method, .url = op->url.data, .headers = r->headers,
                              .nheaders = r->nheaders, .body = op->body.data,
                              .body_len = op->body.len, .total_timeout_ms = r->o->timeout_ms};
  op->sent_ns = uv_hrtime();
  return mol_http_request_send(r->http, &ro, on_done, op, &op->req);
}

/* A send the op could not even start (bad URL, the pool's queue full, no memory). */
static void fail_start(mol_bench_op *op, int rc) {
  mol_bench_reply reply;
  mol_bench_check_transport(rc, &reply);
  mol_bench__op_end(op, &reply, 0);
}

/* The answer of a unary request, checked; a Task must have reached a final state unless
 * `pending_ok` (the first answer of the task workload). */
static mol_bench_outcome judge(mol_bench_op *op, int err, const mol_http_response *resp,
                               unsigned accept, int pending_ok, mol_bench_reply *reply) {
  op->req = NULL;
  if (err) return mol_bench_check_transport(err, reply);
  mol_bench_outcome o = mol_bench_check_http(resp->status, resp->body, resp->body_len,
                                             op->r->o->binding, op->rpc_id, accept, reply);
  if (o != MOL_BENCH_OK || reply->kind != MOL_A2A_RESULT_TASK) return o;
  if (mol_a2a_state_is_terminal(reply->state) && reply->state != MOL_A2A_STATE_COMPLETED)
    return mol_bench_reply_fail(reply, MOL_BENCH_E_TASK, (int)reply->state, "the task ended %s",
                                mol_a2a_state_name(reply->state, MOL_A2A_V03));
  if (!reply->final && !pending_ok)
    return mol_bench_reply_fail(reply, MOL_BENCH_E_INVALID, 0,
                                "a blocking send answered with a task still %s",
                                mol_a2a_state_name(reply->state, MOL_A2A_V03));
  return o;
}

/* ---- send ------------------------------------------------------------------------------------ */

static void on_send_done(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  mol_bench_op *op = arg;
  mol_bench_reply reply;
  (void)req;
  judge(op, err, resp, ACCEPT_REPLY, 0, &reply);
  mol_bench__op_end(op, &reply, 0);
}

static void send_start(mol_bench_op *op) {
  int rc = mol_bench__op_prepare_send(op, 0, 0);
  if (!rc) rc = mol_bench__op_http(op, "POST", on_send_done);
  if (rc) fail_start(op, rc);
}

/* ---- task ------------------------------------------------------------------------------------ */

static void on_task_answer(mol_http_request *req, int err, const mol_http_response *resp, void *arg);

static void on_poll_timer(uv_timer_t *t) {
  mol_bench_op *op = t->data;
  mol_bench_runner *r = op->r;
  mol_bench__op_new_id(op);
  int rc = mol_bench_body_get(&op->body, r->o->binding, op->rpc_id, op->task_id);
  if (!rc) rc = mol_bench_url(&op->url, r->o->binding, r->endpoint, 0, op->task_id);
  if (!rc) {
    mol_bench_runner *rr = op->r;
    if (op->measured) rr->res->work[op->work].polls++;
    rc = mol_bench__op_http(op, mol_bench_method(r->o->binding, op->task_id), on_task_answer);
  }
  if (rc) fail_start(op, rc);
}

static void on_task_answer(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  mol_bench_op *op = arg;
  mol_bench_reply reply;
  int first = !op->task_id[0];
  (void)req;
  unsigned accept = first ? ACCEPT_REPLY : MOL_BENCH_ACCEPT(MOL_A2A_RESULT_TASK);
  if (judge(op, err, resp, accept, 1, &reply) != MOL_BENCH_OK || reply.final) {
    mol_bench__op_end(op, &reply, 0);
    return;
  }
  if (!first && strcmp(reply.task_id, op->task_id) != 0) {
    mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "tasks/get answered with another task");
    mol_bench__op_end(op, &reply, 0);
    return;
  }
  snprintf(op->task_id, sizeof(op->task_id), "%s", reply.task_id);
  if (uv_hrtime() - op->started_ns > (uint64_t)op->r->o->timeout_ms * 1000000) {
    mol_bench_reply_fail(&reply, MOL_BENCH_E_TIMEOUT, MOL_ETIMEDOUT, "the task was still %s",
                         mol_a2a_state_name(reply.state, MOL_A2A_V03));
    mol_bench__op_end(op, &reply, 0);
    return;
  }
  uv_timer_start(&op->poll_timer, on_poll_timer, op->r->o->poll_ms, 0);
}

static void task_start(mol_bench_op *op) {
  int rc = mol_bench__op_prepare_send(op, 0, 1);
  if (!rc) rc = mol_bench__op_http(op, "POST", on_task_answer);
  if (rc) fail_start(op, rc);
}

/* ---- conversation ---------------------------------------------------------------------------- */

static void conversation_turn(mol_bench_op *op);

static void on_turn_done(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  mol_bench_op *op = arg;
  mol_bench_reply reply;
  (void)req;
  uint64_t from = op->turn == 0 ? op->started_ns : op->sent_ns;
  if (judge(op, err, resp, ACCEPT_REPLY, 0, &reply) == MOL_BENCH_OK) {
    if (!reply.context_id[0])
      mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the reply names no contextId");
    else if (op->turn > 0 && strcmp(reply.context_id, op->context_id) != 0)
      mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the reply left the conversation's contextId");
    else
      snprintf(op->context_id, sizeof(op->context_id), "%s", reply.context_id);
  }
  mol_bench__op_record(op, &reply, from);
  if (reply.outcome != MOL_BENCH_OK || ++op->turn >= op->r->o->turns) {
    mol_bench__op_end(op, NULL, 0);
    return;
  }
  conversation_turn(op);
}

static void conversation_turn(mol_bench_op *op) {
  int rc = mol_bench__op_prepare_send(op, 0, 0);
  if (!rc) rc = mol_bench__op_http(op, "POST", on_turn_done);
  if (rc) {
    mol_bench_reply reply;
    mol_bench_check_transport(rc, &reply);
    mol_bench__op_record(op, &reply, op->started_ns);
    mol_bench__op_end(op, NULL, 0);
  }
}

void mol_bench__op_start(mol_bench_op *op) {
  switch (op->work) {
    case MOL_BENCH_STREAM: mol_bench__stream_start(op); break;
    case MOL_BENCH_TASK: task_start(op); break;
    case MOL_BENCH_CONVERSATION: conversation_turn(op); break;
    default: send_start(op); break;
  }
}
