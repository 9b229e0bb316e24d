/* hist.h - an HDR-style latency histogram: log-bucketed, constant memory, exact counts.
 *
 * Values are nanoseconds (any uint64_t). Below 256 every value has its own bucket; above, each
 * power of two is split into 128 equal buckets, so a bucket is never wider than 1/128 (0.8 %)
 * of the values it holds. That is 7,424 counters (58 KiB) whatever the number of samples: a
 * histogram never grows, records in O(1) and merges by addition. Pure: no I/O. */
#ifndef MOL_BENCH_HIST_H
#define MOL_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define MOL_BENCH_HIST_SUB 128
#define MOL_BENCH_HIST_BUCKETS (58 * MOL_BENCH_HIST_SUB) /* index of 2^64 - 1, plus one */

typedef struct {
  uint64_t count;
  uint64_t min, max; /* exact; min is UINT64_MAX while empty */
  double sum;        /* for the mean */
  uint64_t buckets[MOL_BENCH_HIST_BUCKETS];
} mol_bench_hist;

void mol_bench_hist_init(mol_bench_hist *h);
void mol_bench_hist_record(mol_bench_hist *h, uint64_t value);
/* Adds every sample of src to dst. */
void mol_bench_hist_merge(mol_bench_hist *dst, const mol_bench_hist *src);
/* The value at percentile p (0..100): the highest value of the bucket holding the sample of
 * rank ceil(p/100 * count), never above the exact max (and p = 100 is the max). 0 when empty.
 * It never under-states: the true sample is <= the result and within 0.8 % of it. */
uint64_t mol_bench_hist_percentile(const mol_bench_hist *h, double p);
double mol_bench_hist_mean(const mol_bench_hist *h);

/* Bucket arithmetic, exposed for the tests. */
size_t mol_bench_hist_index(uint64_t value);
uint64_t mol_bench_hist_bucket_low(size_t index);
uint64_t mol_bench_hist_bucket_high(size_t index);

#endif
