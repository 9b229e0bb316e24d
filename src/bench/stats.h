/* stats.h - what one workload measured: successes, latency histograms, errors by kind.
 * Constant memory (two histograms and a fixed table of error kinds), merged by addition so
 * rounds, targets and workloads can be combined. Pure: no I/O. */
#ifndef MOL_BENCH_STATS_H
#define MOL_BENCH_STATS_H

#include <stdint.h>

#include "bench/check.h"
#include "bench/hist.h"

#define MOL_BENCH_ERR_KINDS 24

typedef struct {
  char key[48];      /* mol_bench_error_key */
  char example[160]; /* the detail of the first one */
  uint64_t count;
} mol_bench_err;

typedef struct {
  uint64_t ok, errors;
  uint64_t polls;             /* task: tasks/get calls made */
  uint64_t events;            /* stream: events received */
  mol_bench_hist latency;     /* successful requests, from (intended) send to the answer */
  mol_bench_hist first_event; /* stream: to the first event */
  mol_bench_err errs[MOL_BENCH_ERR_KINDS];
  uint64_t errs_other;        /* errors of kinds past the table */
} mol_bench_stats;

void mol_bench_stats_init(mol_bench_stats *s);
void mol_bench_stats_ok(mol_bench_stats *s, uint64_t latency_ns);
void mol_bench_stats_error(mol_bench_stats *s, const mol_bench_reply *r);
void mol_bench_stats_merge(mol_bench_stats *dst, const mol_bench_stats *src);

#endif
