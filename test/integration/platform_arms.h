/* platform_arms.h - a record of every timer the platform client arms (src/platform/timer.h):
 * what for, the exact delay, and when (loop time, wall-clock second, how many requests the
 * fake platform had seen). A schedule is asserted on these delays, not on wall-clock windows;
 * real time only has to respect lower bounds (nothing fired early) and order. */
#ifndef PLATFORM_ARMS_H
#define PLATFORM_ARMS_H

#include <time.h>

#include "platform/timer.h"

typedef struct {
  mol_platform__arm_kind kind;
  uint64_t delay_ms;
  uint64_t at_ms;  /* uv_now when armed: the timer fires at at_ms + delay_ms at the earliest */
  int64_t unix_s;  /* the wall-clock second when armed (Retry-After dates are in seconds) */
  int nlog;        /* requests the fake platform had logged by then */
} arm_rec;

#define ARMS_MAX 256

typedef struct {
  arm_rec a[ARMS_MAX];
  int n;
  const int *nlog; /* the fake's request count, or NULL */
} arms_log;

static arms_log g_arms;

static void arms_observe(mol_platform_client *c, mol_platform__arm_kind kind, uint64_t delay_ms,
                         void *arg) {
  (void)c;
  arms_log *l = arg;
  if (l->n >= ARMS_MAX) return; /* arms_count's caller sees ARMS_MAX and fails */
  l->a[l->n++] = (arm_rec){kind, delay_ms, uv_now(g_loop), (int64_t)time(NULL),
                           l->nlog ? *l->nlog : 0};
}

/* Starts recording (again, from empty). */
static void arms_start(const int *nlog) {
  memset(&g_arms, 0, sizeof(g_arms));
  g_arms.nlog = nlog;
  mol_platform__observe_arms(arms_observe, &g_arms);
}

static void arms_stop(void) { mol_platform__observe_arms(NULL, NULL); }

/* Copies the arms of one kind, from index `from` on, into out; returns how many. */
static int arms_of(mol_platform__arm_kind kind, int from, arm_rec *out, int cap) {
  int k = 0;
  assert_true(g_arms.n < ARMS_MAX);
  for (int i = from; i < g_arms.n && k < cap; i++)
    if (g_arms.a[i].kind == kind) out[k++] = g_arms.a[i];
  return k;
}

#endif
