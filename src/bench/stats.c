/* stats.c - per-workload counters, histograms and the error table (stats.h). */
#include "bench/stats.h"

#include <stdio.h>
#include <string.h>

void mol_bench_stats_init(mol_bench_stats *s) {
  memset(s, 0, sizeof(*s));
  mol_bench_hist_init(&s->latency);
  mol_bench_hist_init(&s->first_event);
}

void mol_bench_stats_ok(mol_bench_stats *s, uint64_t latency_ns) {
  s->ok++;
  mol_bench_hist_record(&s->latency, latency_ns);
}

static void count_error(mol_bench_stats *s, const char *key, const char *example, uint64_t n) {
  for (size_t i = 0; i < MOL_BENCH_ERR_KINDS; i++) {
    mol_bench_err *e = &s->errs[i];
    if (e->count && strcmp(e->key, key) != 0) continue;
    if (!e->count) {
      snprintf(e->key, sizeof(e->key), "%s", key);
      snprintf(e->example, sizeof(e->example), "%s", example);
    }
    e->count += n;
    return;
  }
  s->errs_other += n;
}

void mol_bench_stats_error(mol_bench_stats *s, const mol_bench_reply *r) {
  char key[48];
  mol_bench_error_key(r, key, sizeof(key));
  s->errors++;
  count_error(s, key, r->detail, 1);
}

void mol_bench_stats_merge(mol_bench_stats *dst, const mol_bench_stats *src) {
  dst->ok += src->ok;
  dst->errors += src->errors;
  dst->polls += src->polls;
  dst->events += src->events;
  dst->errs_other += src->errs_other;
  mol_bench_hist_merge(&dst->latency, &src->latency);
  mol_bench_hist_merge(&dst->first_event, &src->first_event);
  for (size_t i = 0; i < MOL_BENCH_ERR_KINDS && src->errs[i].count; i++)
    count_error(dst, src->errs[i].key, src->errs[i].example, src->errs[i].count);
}
