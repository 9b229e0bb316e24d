/* schedule.h - when requests are due (open loop) and which workload each one runs (a mix).
 *
 * Open loop, as wrk2 does it: request k (0-based) is *intended* at start + k / rate, whatever
 * happened to the ones before it. Its latency is measured from that intended time, so a server
 * that stalls cannot hide the queue it built behind the stall (coordinated omission). The
 * schedule is computed from k each time, never accumulated, so it does not drift.
 *
 * A mix gives each workload a weight; smooth weighted round-robin (as nginx balances upstreams)
 * interleaves them as evenly as the weights allow and repeats exactly every sum-of-weights
 * picks. Pure: no clock is read here; callers pass times in. */
#ifndef MOL_BENCH_SCHEDULE_H
#define MOL_BENCH_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t start_ns; /* intended time of request 0 */
  double rate;       /* requests per second, > 0 */
  uint64_t limit;    /* requests in all; 0 = no limit */
} mol_bench_sched;

/* The intended time of request k. */
uint64_t mol_bench_sched_at(const mol_bench_sched *s, uint64_t k);
/* How many requests are due by now_ns (those whose intended time is <= now_ns), never more
 * than the limit. */
uint64_t mol_bench_sched_due(const mol_bench_sched *s, uint64_t now_ns);

#define MOL_BENCH_MIX_MAX 8

typedef struct {
  size_t n;
  int weight[MOL_BENCH_MIX_MAX];
  long long current[MOL_BENCH_MIX_MAX];
  long long total;
} mol_bench_mix;

/* weights[i] >= 0 for n <= MOL_BENCH_MIX_MAX entries, at least one > 0. 0 or MOL_EINVAL. */
int mol_bench_mix_init(mol_bench_mix *m, const int *weights, size_t n);
/* The index of the next workload. */
size_t mol_bench_mix_next(mol_bench_mix *m);

#endif
