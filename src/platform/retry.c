/* retry.c - the platform client's retry policy, a pure function of the attempt number, the
 * Retry-After header and an injectable random source (base/backoff.h does the arithmetic).
 *
 * Deliberate differences from the Python SDK:
 *  - Retry-After may be an HTTP-date; negative or garbage values fall back to the computed
 *    back-off instead of raising;
 *  - the jitter is +/-25 % of each step (1 s, 2 s, 4 s), not +/-0.25 s absolute;
 *  - fractional delta-seconds round up as upstream does (2.7 -> 3 s), and every delay, from
 *    the header or computed, is capped (30 s by default). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "platform/platform_int.h"

void mol_platform__retry_defaults(mol_platform_retry_opts *p) {
  if (p->max_retries == 0) p->max_retries = 3;
  if (p->base_ms == 0) p->base_ms = 1000;
  if (p->cap_ms == 0) p->cap_ms = 30000;
  if (p->jitter == 0) p->jitter = 0.25;
  if (p->jitter < 0) p->jitter = 0;
}

/* "2.7" -> 3000 ms. Digits with one optional fraction; anything else is MOL_EINVAL. */
static int parse_fractional(const char *v, uint64_t *ms) {
  const char *dot = strchr(v, '.');
  if (!dot || dot == v || !dot[1]) return MOL_EINVAL;
  for (const char *p = v; *p; p++)
    if (p != dot && !isdigit((unsigned char)*p) && !isspace((unsigned char)*p)) return MOL_EINVAL;
  double s = strtod(v, NULL);
  if (!(s >= 0) || s > 1e9) return MOL_EINVAL;
  *ms = (uint64_t)ceil(s) * 1000;
  return 0;
}

int mol_platform__retry_after_ms(const char *value, int64_t now_unix_s, uint64_t *delay_ms) {
  if (!value) return MOL_EINVAL;
  while (isspace((unsigned char)*value)) value++;
  if (isdigit((unsigned char)*value) && strchr(value, '.')) return parse_fractional(value, delay_ms);
  return mol_retry_after_parse(value, now_unix_s, delay_ms);
}

int mol_platform__retry_delay(const mol_platform_retry_opts *p, unsigned retry,
                              const char *retry_after, int64_t now_unix_s, uint64_t *delay_ms) {
  if (p->max_retries < 0 || retry == 0 || retry > (unsigned)p->max_retries) return 0;
  uint64_t d;
  if (retry_after && !mol_platform__retry_after_ms(retry_after, now_unix_s, &d)) {
    *delay_ms = d > p->cap_ms ? p->cap_ms : d;
    return 1;
  }
  mol_backoff_policy bp = {.base_ms = p->base_ms, .cap_ms = p->cap_ms, .factor = 2.0,
                           .jitter = p->jitter};
  d = mol_backoff_delay_ms(&bp, retry - 1, p->rng, p->rng_arg);
  *delay_ms = d > p->cap_ms ? p->cap_ms : d;
  return 1;
}

uint64_t mol_platform__loop_backoff(const mol_platform_retry_opts *p, unsigned failures,
                                    unsigned cap_ms) {
  mol_backoff_policy bp = {.base_ms = p->base_ms < cap_ms ? p->base_ms : cap_ms,
                           .cap_ms = cap_ms, .factor = 2.0, .jitter = p->jitter};
  uint64_t d = mol_backoff_delay_ms(&bp, failures ? failures - 1 : 0, p->rng, p->rng_arg);
  return d > cap_ms ? cap_ms : d;
}
