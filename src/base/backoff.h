/* backoff.h - retry policy: exponential back-off with jitter, and Retry-After parsing.
 * Pure functions; the random source is injectable so tests are exact. */
#ifndef MOL_BASE_BACKOFF_H
#define MOL_BASE_BACKOFF_H

#include <stdint.h>

/* Returns a uniformly distributed 64-bit value. */
typedef uint64_t (*mol_rng_fn)(void *arg);

typedef struct {
  uint32_t base_ms;      /* first delay; 0 means 1000 */
  uint32_t cap_ms;       /* largest delay before jitter; 0 means 30000 */
  double factor;         /* growth per attempt; 0 means 2.0 */
  double jitter;         /* +/- fraction applied to each delay; 0 means none, clamped to 1 */
} mol_backoff_policy;

/* Delay before retry number `attempt` (0 for the first retry):
 *   d = min(cap, base * factor^attempt) * (1 + jitter * u),  u uniform in [-1, 1).
 * `rng` may be NULL to use the operating system's CSPRNG. */
uint64_t mol_backoff_delay_ms(const mol_backoff_policy *p, unsigned attempt, mol_rng_fn rng,
                              void *rng_arg);

/* Parses a Retry-After header value (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date in any
 * of the three formats (IMF-fixdate, RFC 850, asctime). `now_unix_s` is the current time for
 * dates; a date in the past yields 0. Returns 0 and sets *delay_ms, or MOL_EINVAL for negative,
 * empty or garbage values (callers then fall back to their own back-off). */
int mol_retry_after_parse(const char *value, int64_t now_unix_s, uint64_t *delay_ms);

/* Parses an HTTP-date into Unix seconds. `now_unix_s` places an RFC 850 two-digit year in its
 * century (no more than 50 years after now). Returns 0 or MOL_EINVAL. */
int mol_http_date_parse(const char *value, int64_t now_unix_s, int64_t *unix_s);

#endif
