/* run.h - `molecule bench URL`: drive one A2A agent with a workload mix, closed or open loop,
 * on one libuv loop (a loop of its own, run to completion by mol_bench_run).
 *
 * Workloads: send (message/send), stream (message/stream: time to the first and to the final
 * event), task (a non-blocking send, then tasks/get every poll interval until the task is
 * terminal), conversation (turns on one contextId, each turn a request). Every answer is
 * checked (check.h); an op that fails is counted under its error kind and never as a latency.
 *
 * Load: closed loop keeps `concurrency` ops going (a new one as soon as one ends); open loop
 * starts ops at `rate` per second on a fixed schedule and measures each from its intended start
 * (schedule.h), so the queue behind a stalled server shows in the latencies. Ops started during
 * the warm-up are not counted. */
#ifndef MOL_BENCH_RUN_H
#define MOL_BENCH_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/stats.h"
#include "bench/wire.h"
#include "http/http.h"

typedef enum {
  MOL_BENCH_SEND = 0,
  MOL_BENCH_STREAM,
  MOL_BENCH_TASK,
  MOL_BENCH_CONVERSATION,
  MOL_BENCH_NWORK
} mol_bench_workload;

/* "send", "stream", "task", "conversation"; mol_bench_workload_parse returns -1 when unknown. */
const char *mol_bench_workload_name(mol_bench_workload w);
int mol_bench_workload_parse(const char *name);

typedef struct {
  mol_bench_binding binding;
  int no_card;                   /* 1: the URL is the endpoint itself, no card is fetched */
  const mol_http_header *headers;
  size_t nheaders;
  unsigned connections;          /* pooled connections at most; 0 -> concurrency, or 64 */
  unsigned concurrency;          /* closed loop: ops at once; 0 -> connections, or 64 */
  double rate;                   /* > 0: open loop, ops per second */
  double duration_s;             /* measured seconds (when requests is 0); 0 -> 10 */
  double warmup_s;               /* seconds before measuring */
  uint64_t requests;             /* > 0: measure this many ops instead of a duration */
  unsigned timeout_ms;           /* per op; 0 -> 30000 */
  unsigned max_in_flight;        /* open loop: ops outstanding at most; 0 -> 100000 */
  int weights[MOL_BENCH_NWORK];  /* all 0 -> send only */
  unsigned turns;                /* conversation: turns, 0 -> 3 */
  unsigned poll_ms;              /* task: tasks/get interval, 0 -> 10 */
  char *const *prompts;          /* message texts as JSON string literals (mol_bench_json_string) */
  size_t nprompts;
  int progress;                  /* a progress line on stderr, once a second */
  const volatile sig_atomic_t *interrupt; /* optional: once *interrupt is set (a signal handler), no new
                                    op starts, the window ends there, ops in flight finish */
  const char *label;             /* names the target in the progress line */
} mol_bench_opts;

typedef struct {
  char endpoint[512];            /* where the requests went */
  char agent[128];               /* the card's name ("" without a card) */
  double elapsed_s;              /* the measured window */
  uint64_t in_flight_max;        /* the most ops outstanding at once */
  long rss_max_kb;               /* the process's peak resident memory */
  mol_bench_stats work[MOL_BENCH_NWORK];
} mol_bench_result;

/* Runs the benchmark against url (an agent card URL, or a base URL whose card is at
 * /.well-known/agent-card.json; with no_card the JSON-RPC endpoint itself). Returns 0 with *out
 * filled, or a negative error with a message in err. */
int mol_bench_run(const char *url, const mol_bench_opts *o, mol_bench_result *out, char *err,
                  size_t errlen);

/* Adds src's measurements to dst (alternating rounds against one target). */
void mol_bench_result_merge(mol_bench_result *dst, const mol_bench_result *src);

#endif
