/* schedule.c - the open-loop schedule and the weighted workload mix (schedule.h). */
#include "bench/schedule.h"

#include <math.h>
#include <string.h>

#include "molecule.h"

uint64_t mol_bench_sched_at(const mol_bench_sched *s, uint64_t k) {
  return s->start_ns + (uint64_t)((double)k * 1e9 / s->rate);
}

uint64_t mol_bench_sched_due(const mol_bench_sched *s, uint64_t now_ns) {
  if (now_ns < s->start_ns) return 0;
  /* floor(elapsed * rate) + 1 requests have intended times <= now; the float estimate is
   * corrected against mol_bench_sched_at so that both always agree. */
  uint64_t n = (uint64_t)floor((double)(now_ns - s->start_ns) * s->rate / 1e9) + 1;
  while (n > 0 && mol_bench_sched_at(s, n - 1) > now_ns) n--;
  while (mol_bench_sched_at(s, n) <= now_ns) n++;
  return s->limit && n > s->limit ? s->limit : n;
}

int mol_bench_mix_init(mol_bench_mix *m, const int *weights, size_t n) {
  memset(m, 0, sizeof(*m));
  if (n == 0 || n > MOL_BENCH_MIX_MAX) return MOL_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (weights[i] < 0) return MOL_EINVAL;
    m->weight[i] = weights[i];
    m->total += weights[i];
  }
  m->n = n;
  return m->total > 0 ? 0 : MOL_EINVAL;
}

size_t mol_bench_mix_next(mol_bench_mix *m) {
  size_t best = 0;
  for (size_t i = 0; i < m->n; i++) {
    m->current[i] += m->weight[i];
    if (m->current[i] > m->current[best]) best = i;
  }
  m->current[best] -= m->total;
  return best;
}
