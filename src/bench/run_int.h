/* run_int.h - the load generator's insides, shared by run.c (the loop, schedule and
 * bookkeeping), ops.c (send, task and conversation ops) and ops_stream.c (stream ops). */
#ifndef MOL_BENCH_RUN_INT_H
#define MOL_BENCH_RUN_INT_H

#include <uv.h>

#include "a2a/sse_parse.h"
#include "bench/run.h"
#include "bench/schedule.h"
#include "http/client.h"

typedef struct mol_bench_runner mol_bench_runner;

/* One op: a send, a stream, a task (send + polls) or a whole conversation. Ops are pooled:
 * an op ends, goes to the free list, and is reused with its buffers and timer. */
typedef struct mol_bench_op {
  mol_bench_runner *r;
  struct mol_bench_op *next_free;
  mol_bench_workload work;
  uint64_t seq;            /* the op's number, for its ids */
  uint64_t started_ns;     /* latency origin: the intended start (open loop) or the start */
  uint64_t sent_ns;        /* when the current request went out */
  int measured;            /* started inside the measured window */
  unsigned turn, requests; /* conversation turn (0-based); requests sent by this op */
  mol_http_request *req;   /* the request in flight, or NULL */
  uv_timer_t poll_timer;   /* task: the wait before the next tasks/get */
  char rpc_id[48];          /* "<tag>-<op>-<n>": 8 + 1 + 20 + 1 + 10 + NUL */
  char task_id[128];
  char context_id[128];
  mol_buf body, url;
  /* stream */
  mol_a2a_sse_parser sse;
  int sse_mode;            /* the answer is text/event-stream */
  int got_final, got_first;
  uint64_t first_ns, final_ns;
  mol_bench_reply stream_reply; /* the first error of the stream, or its final event */
  mol_buf raw;             /* a non-SSE answer to a stream, kept whole */
  int http_status;
} mol_bench_op;

struct mol_bench_runner {
  uv_loop_t loop;
  mol_http_client *http;
  const mol_bench_opts *o;
  mol_bench_result *res;
  char endpoint[512];
  mol_http_header *headers; /* Content-Type, A2A-Version, the user's */
  size_t nheaders;
  mol_bench_mix mix;
  mol_bench_sched sched;
  uint64_t issued;          /* open loop: schedule slots used */
  uint64_t measured_started, measured_target;
  uint64_t t0_ns, measure_from_ns, measure_to_ns, last_done_ns;
  int stopping;             /* no new ops */
  int starting;             /* inside start_op: an op ending now must not start another */
  int refill_due;           /* closed loop: ops to start on the next tick */
  uint64_t in_flight;
  uint64_t next_seq;
  mol_bench_op *free_ops;
  mol_bench_op **all_ops;   /* every op ever made, for closing */
  size_t nops, cap_ops;
  uv_timer_t tick, progress;
  uint64_t progress_done, progress_last;
  unsigned prompt_next;
  char run_tag[16];         /* distinguishes this run's message ids */
};

/* ops.c */
void mol_bench__op_start(mol_bench_op *op);
/* Builds the send (or stream) body of the op's current turn into op->body and op->url, with a
 * fresh request id. 0 or MOL_ENOMEM. */
int mol_bench__op_prepare_send(mol_bench_op *op, int stream, int return_immediately);
/* Sends op->body to op->url; on_done gets the answer. Returns 0 or a MOL_E* error (the op
 * must then be ended by the caller). */
int mol_bench__op_http(mol_bench_op *op, const char *method,
                       void (*on_done)(mol_http_request *, int, const mol_http_response *, void *));
/* The next prompt, as a JSON string literal. */
const char *mol_bench__prompt(mol_bench_runner *r);
/* A fresh JSON-RPC id into op->rpc_id. */
void mol_bench__op_new_id(mol_bench_op *op);

/* ops_stream.c */
void mol_bench__stream_start(mol_bench_op *op);

/* run.c: the op is over. A successful one records (now - op->started_ns), or latency_end_ns
 * when not 0 (a stream's final event); a failed one counts reply's error kind. */
void mol_bench__op_end(mol_bench_op *op, const mol_bench_reply *reply, uint64_t latency_end_ns);
/* One request of a multi-request op (a conversation turn) is answered: recorded like an op. */
void mol_bench__op_record(mol_bench_op *op, const mol_bench_reply *reply, uint64_t from_ns);

#endif
