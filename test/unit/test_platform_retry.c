/* test_platform_retry.c - the platform client's retry policy (docs/platform.md
 * "Retry and back-off"; vectors RTY-04..09, ADD-01) and the heartbeat-loop back-off, with an
 * injected random source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "platform/platform_int.h"

static uint64_t fixed_rng(void *arg) { return *(uint64_t *)arg; }
static uint64_t MID = 1ull << 63; /* u = 0: no jitter */
static uint64_t LO = 0;           /* u = -1 */
static uint64_t HI = UINT64_MAX;  /* u ~ +1 */

static mol_platform_retry_opts policy(uint64_t *rng_value) {
  mol_platform_retry_opts p = {.rng = fixed_rng, .rng_arg = rng_value};
  mol_platform__retry_defaults(&p);
  return p;
}

static uint64_t delay(const mol_platform_retry_opts *p, unsigned retry, const char *ra) {
  uint64_t d = 0;
  assert_int_equal(mol_platform__retry_delay(p, retry, ra, 1700000000, &d), 1);
  return d;
}

static void defaults_match_the_sdk(void **st) {
  (void)st;
  mol_platform_retry_opts p = {0};
  mol_platform__retry_defaults(&p);
  assert_int_equal(p.max_retries, 3);
  assert_int_equal(p.base_ms, 1000);
  assert_int_equal(p.cap_ms, 30000);
  assert_true(p.jitter == 0.25);
  mol_platform_retry_opts off = {.jitter = -1, .max_retries = -1};
  mol_platform__retry_defaults(&off);
  assert_true(off.jitter == 0);
  uint64_t d;
  assert_int_equal(mol_platform__retry_delay(&off, 1, NULL, 0, &d), 0); /* no retries at all */
}

/* RTY-07/08/09: 1 s, 2 s, 4 s with jitter pinned to zero; a fourth retry is refused. */
static void rty_07_09_schedule(void **st) {
  (void)st;
  mol_platform_retry_opts p = policy(&MID);
  assert_int_equal(delay(&p, 1, NULL), 1000);
  assert_int_equal(delay(&p, 2, NULL), 2000);
  assert_int_equal(delay(&p, 3, NULL), 4000);
  uint64_t d;
  assert_int_equal(mol_platform__retry_delay(&p, 4, NULL, 0, &d), 0);
  assert_int_equal(mol_platform__retry_delay(&p, 0, NULL, 0, &d), 0);
}

/* The jitter is +/-25 % of each step, not +/-0.25 s absolute. */
static void jitter_is_proportional(void **st) {
  (void)st;
  mol_platform_retry_opts lo = policy(&LO), hi = policy(&HI);
  assert_int_equal(delay(&lo, 1, NULL), 750);
  assert_int_equal(delay(&lo, 2, NULL), 1500);
  assert_int_equal(delay(&lo, 3, NULL), 3000);
  uint64_t top = delay(&hi, 3, NULL);
  assert_true(top >= 4999 && top <= 5000);
  mol_platform_retry_opts real = {0};
  mol_platform__retry_defaults(&real);
  for (int i = 0; i < 500; i++) {
    uint64_t d = delay(&real, 2, NULL);
    assert_true(d >= 1500 && d <= 2500);
  }
}

/* RTY-04/05/06: Retry-After seconds exact, fractions rounded up, capped at 30 s; "0" = now. */
static void rty_04_06_retry_after_seconds(void **st) {
  (void)st;
  mol_platform_retry_opts p = policy(&HI); /* the header wins over any jitter */
  assert_int_equal(delay(&p, 1, "5"), 5000);
  assert_int_equal(delay(&p, 1, "2.7"), 3000);
  assert_int_equal(delay(&p, 1, " 0.1 "), 1000);
  assert_int_equal(delay(&p, 1, "120"), 30000);
  assert_int_equal(delay(&p, 1, "0"), 0);
  p.cap_ms = 1500;
  assert_int_equal(delay(&p, 2, "120"), 1500);
}

/* ADD-01: HTTP-dates (all three forms) honoured; past dates are 0; negative and
 * garbage values fall back to the computed back-off instead of failing. */
static void add_01_dates_and_garbage(void **st) {
  (void)st;
  mol_platform_retry_opts p = policy(&MID);
  int64_t now = 784111770; /* Sun, 06 Nov 1994 08:49:30 GMT */
  uint64_t d;
  assert_int_equal(mol_platform__retry_delay(&p, 1, "Sun, 06 Nov 1994 08:49:37 GMT", now, &d), 1);
  assert_int_equal(d, 7000);
  assert_int_equal(mol_platform__retry_delay(&p, 1, "Sunday, 06-Nov-94 08:49:40 GMT", now, &d), 1);
  assert_int_equal(d, 10000);
  assert_int_equal(mol_platform__retry_delay(&p, 1, "Sun Nov  6 08:49:35 1994", now, &d), 1);
  assert_int_equal(d, 5000);
  assert_int_equal(mol_platform__retry_delay(&p, 1, "Sun, 06 Nov 1994 08:00:00 GMT", now, &d), 1);
  assert_int_equal(d, 0);
  assert_int_equal(mol_platform__retry_delay(&p, 1, "Sun, 06 Nov 1994 09:49:30 GMT", now, &d), 1);
  assert_int_equal(d, 30000); /* an hour away is capped */
  const char *bad[] = {"-3", "soon", "", "1.2.3", "NaN", "-0.5", "1e3"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(mol_platform__retry_delay(&p, 2, bad[i], now, &d), 1);
    assert_int_equal(d, 2000);
  }
  uint64_t ms;
  assert_int_equal(mol_platform__retry_after_ms("-3", now, &ms), MOL_EINVAL);
  assert_int_equal(mol_platform__retry_after_ms(NULL, now, &ms), MOL_EINVAL);
}

/* The heartbeat loop's back-off: base, doubling, capped by the loop's cap. */
static void loop_backoff(void **st) {
  (void)st;
  mol_platform_retry_opts p = policy(&MID);
  assert_int_equal(mol_platform__loop_backoff(&p, 1, 30000), 1000);
  assert_int_equal(mol_platform__loop_backoff(&p, 2, 30000), 2000);
  assert_int_equal(mol_platform__loop_backoff(&p, 6, 30000), 30000);
  assert_int_equal(mol_platform__loop_backoff(&p, 100, 30000), 30000);
  assert_int_equal(mol_platform__loop_backoff(&p, 1, 200), 200); /* base never above the cap */
  mol_platform_retry_opts hi = policy(&HI);
  assert_true(mol_platform__loop_backoff(&hi, 10, 5000) <= 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_match_the_sdk), cmocka_unit_test(rty_07_09_schedule),
      cmocka_unit_test(jitter_is_proportional), cmocka_unit_test(rty_04_06_retry_after_seconds),
      cmocka_unit_test(add_01_dates_and_garbage), cmocka_unit_test(loop_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
