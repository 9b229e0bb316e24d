/* hist.c - the log-bucketed latency histogram (hist.h). */
#include "bench/hist.h"

#include <string.h>

/* Buckets [0, 256) hold their own value. A value v >= 256 with its highest bit at position b
 * (b >= 8) is shifted right by b - 7, which leaves 128..255: that is its sub-bucket, and the
 * shift (1 for 256..511, 2 for 512..1023, ...) picks the group of 128. */
size_t mol_bench_hist_index(uint64_t v) {
  if (v < 2 * MOL_BENCH_HIST_SUB) return (size_t)v;
  unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - 7;
  return (size_t)shift * MOL_BENCH_HIST_SUB + (size_t)(v >> shift);
}

uint64_t mol_bench_hist_bucket_low(size_t i) {
  if (i < 2 * MOL_BENCH_HIST_SUB) return i;
  unsigned shift = (unsigned)(i / MOL_BENCH_HIST_SUB) - 1;
  return (uint64_t)(i % MOL_BENCH_HIST_SUB + MOL_BENCH_HIST_SUB) << shift;
}

uint64_t mol_bench_hist_bucket_high(size_t i) {
  if (i < 2 * MOL_BENCH_HIST_SUB) return i;
  unsigned shift = (unsigned)(i / MOL_BENCH_HIST_SUB) - 1;
  return mol_bench_hist_bucket_low(i) + ((uint64_t)1 << shift) - 1;
}

void mol_bench_hist_init(mol_bench_hist *h) {
  memset(h, 0, sizeof(*h));
  h->min = UINT64_MAX;
}

void mol_bench_hist_record(mol_bench_hist *h, uint64_t v) {
  h->buckets[mol_bench_hist_index(v)]++;
  h->count++;
  h->sum += (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

void mol_bench_hist_merge(mol_bench_hist *dst, const mol_bench_hist *src) {
  if (!src->count) return;
  for (size_t i = 0; i < MOL_BENCH_HIST_BUCKETS; i++) dst->buckets[i] += src->buckets[i];
  dst->count += src->count;
  dst->sum += src->sum;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

uint64_t mol_bench_hist_percentile(const mol_bench_hist *h, double p) {
  if (!h->count) return 0;
  if (p >= 100) return h->max;
  if (p < 0) p = 0;
  /* rank of the sample wanted, 1-based: ceil(p% of count), at least the first */
  double want = p / 100.0 * (double)h->count;
  uint64_t rank = (uint64_t)want;
  if ((double)rank < want) rank++;
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < MOL_BENCH_HIST_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen >= rank) {
      uint64_t hi = mol_bench_hist_bucket_high(i);
      return hi < h->max ? hi : h->max;
    }
  }
  return h->max;
}

double mol_bench_hist_mean(const mol_bench_hist *h) {
  return h->count ? h->sum / (double)h->count : 0;
}
