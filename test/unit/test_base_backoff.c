#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "molecule.h"

static uint64_t fixed_rng(void *arg) { return *(uint64_t *)arg; }

static void exponential_then_capped(void **state) {
  (void)state;
  mol_backoff_policy p = {.base_ms = 1000, .cap_ms = 30000};
  uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
  for (unsigned i = 0; i < 7; i++) assert_int_equal(mol_backoff_delay_ms(&p, i, NULL, NULL), want[i]);
  assert_int_equal(mol_backoff_delay_ms(&p, 1000000, NULL, NULL), 30000);
}

static void defaults_when_zero(void **state) {
  (void)state;
  mol_backoff_policy p = {0};
  assert_int_equal(mol_backoff_delay_ms(&p, 0, NULL, NULL), 1000);
  assert_int_equal(mol_backoff_delay_ms(NULL, 2, NULL, NULL), 4000);
}

static void jitter_bounds_exact_with_injected_rng(void **state) {
  (void)state;
  mol_backoff_policy p = {.base_ms = 1000, .cap_ms = 30000, .jitter = 0.25};
  uint64_t lo = 0, mid = 1ull << 63, hi = UINT64_MAX;
  assert_int_equal(mol_backoff_delay_ms(&p, 1, fixed_rng, &lo), 1500);  /* 2000 * 0.75 */
  assert_int_equal(mol_backoff_delay_ms(&p, 1, fixed_rng, &mid), 2000);
  uint64_t top = mol_backoff_delay_ms(&p, 1, fixed_rng, &hi);
  assert_true(top >= 2499 && top <= 2500);
  for (int i = 0; i < 1000; i++) {
    uint64_t d = mol_backoff_delay_ms(&p, 2, NULL, NULL); /* real CSPRNG */
    assert_true(d >= 3000 && d <= 5000);
  }
}

static void retry_after_seconds(void **state) {
  (void)state;
  uint64_t d = 1;
  assert_int_equal(mol_retry_after_parse("120", 0, &d), 0);
  assert_int_equal(d, 120000);
  assert_int_equal(mol_retry_after_parse("  0 ", 0, &d), 0);
  assert_int_equal(d, 0);
}

static void retry_after_http_dates(void **state) {
  (void)state;
  const int64_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  int64_t got;
  assert_int_equal(mol_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", t, &got), 0);
  assert_int_equal(got, t);
  assert_int_equal(mol_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", t, &got), 0);
  assert_int_equal(got, t);
  assert_int_equal(mol_http_date_parse("Sun Nov  6 08:49:37 1994", t, &got), 0);
  assert_int_equal(got, t);
  uint64_t d;
  assert_int_equal(mol_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", t - 7, &d), 0);
  assert_int_equal(d, 7000);
  assert_int_equal(mol_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", t + 100, &d), 0);
  assert_int_equal(d, 0); /* in the past: retry now */
  assert_int_equal(mol_http_date_parse("Wed, 29 Feb 2028 23:59:60 GMT", t, &got), 0);
}

/* RFC 9110 §5.6.7: a two-digit RFC 850 year is read in the century that puts it no more than
 * 50 years after "now"; a fixed pivot gets it wrong as the years pass. */
static void retry_after_rfc850_year_follows_now(void **state) {
  (void)state;
  const int64_t now = 1796428800; /* Sat, 05 Dec 2026 00:00:00 GMT */
  uint64_t d;
  assert_int_equal(mol_retry_after_parse("Saturday, 05-Dec-26 00:01:40 GMT", now, &d), 0);
  assert_int_equal(d, 100000); /* 2026, not 1926 */
  assert_int_equal(mol_retry_after_parse("Wednesday, 01-Jan-70 00:00:00 GMT", now, &d), 0);
  assert_int_equal(d, (uint64_t)(3155760000 - now) * 1000); /* 2070: 43 years ahead */
  assert_int_equal(mol_retry_after_parse("Tuesday, 01-Jan-80 00:00:00 GMT", now, &d), 0);
  assert_int_equal(d, 0); /* 2080 would be 53 years ahead: it is 1980, in the past */
}

static void retry_after_garbage_ignored(void **state) {
  (void)state;
  const char *bad[] = {"", "   ", "-5", "+5", "1.5", "soon", "12abc", "99999999999999999999999",
                       "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 32 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
                       "Sun Nov 6 08:49:37 1994"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    uint64_t d = 42;
    assert_int_equal(mol_retry_after_parse(bad[i], 0, &d), MOL_EINVAL);
    assert_int_equal(d, 42);
  }
  uint64_t d;
  assert_int_equal(mol_retry_after_parse(NULL, 0, &d), MOL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(exponential_then_capped), cmocka_unit_test(defaults_when_zero),
    cmocka_unit_test(jitter_bounds_exact_with_injected_rng), cmocka_unit_test(retry_after_seconds),
    cmocka_unit_test(retry_after_http_dates),
    cmocka_unit_test(retry_after_rfc850_year_follows_now), cmocka_unit_test(retry_after_garbage_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
