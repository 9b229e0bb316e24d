/* test_base_clock.c - the ISO-8601 formatter every timestamp goes through (A2A task statuses,
 * log lines, the snapshot file), against gmtime_r + strftime, and the HTTP date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/clock.h"
#include "molecule.h"

/* What log.c and snapshot.c wrote with strftime before they used mol_iso8601. */
static void reference(int64_t secs, long nanos, int frac, const char *zone, char *out, size_t n) {
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  if (frac == 3) k += (size_t)snprintf(out + k, n - k, ".%03ld", nanos / 1000000);
  if (frac == 6) k += (size_t)snprintf(out + k, n - k, ".%06ld", nanos / 1000);
  snprintf(out + k, n - k, "%s", zone);
}

static void fixed_instants(void **state) {
  (void)state;
  char ts[MOL_ISO8601_MAX];
  assert_int_equal(mol_iso8601(1777636800, 955000000, 3, "Z", ts, sizeof(ts)), 24);
  assert_string_equal(ts, "2026-05-01T12:00:00.955Z");
  mol_iso8601(0, 0, 3, "Z", ts, sizeof(ts));
  assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
  mol_iso8601(0, -1000000, 3, "Z", ts, sizeof(ts)); /* one millisecond before the epoch */
  assert_string_equal(ts, "1969-12-31T23:59:59.999Z");
  mol_iso8601(951782400, 0, 3, "Z", ts, sizeof(ts)); /* a leap day in a century divisible by 400 */
  assert_string_equal(ts, "2000-02-29T00:00:00.000Z");
  assert_int_equal(mol_iso8601(1777636800, 955123456, 6, "+00:00", ts, sizeof(ts)), 32);
  assert_string_equal(ts, "2026-05-01T12:00:00.955123+00:00");
  assert_int_equal(mol_iso8601(1777636800, 2955123456L, 0, "Z", ts, sizeof(ts)), 20);
  assert_string_equal(ts, "2026-05-01T12:00:02Z"); /* nanoseconds past a second carry over */
  mol_iso8601(1777636800, 999999999, 9, "Z", ts, sizeof(ts));
  assert_string_equal(ts, "2026-05-01T12:00:00.999999999Z");
}

static void years_outside_four_digits_clamp(void **state) {
  (void)state;
  char ts[MOL_ISO8601_MAX];
  mol_iso8601(-70000000000LL, 0, 3, "Z", ts, sizeof(ts));
  assert_string_equal(ts, "0000-01-01T00:00:00.000Z");
  mol_iso8601(300000000000LL, 0, 3, "Z", ts, sizeof(ts));
  assert_string_equal(ts, "9999-12-31T23:59:59.999Z");
  mol_iso8601(INT64_MAX, 0, 6, "+00:00", ts, sizeof(ts));
  assert_string_equal(ts, "9999-12-31T23:59:59.999999+00:00");
}

static void too_small_a_buffer_gets_nothing(void **state) {
  (void)state;
  char ts[MOL_ISO8601_MAX];
  memset(ts, 'x', sizeof(ts));
  assert_int_equal(mol_iso8601(0, 0, 3, "Z", ts, 24), 0); /* 24 chars need 25 bytes */
  assert_string_equal(ts, "");
  assert_int_equal(mol_iso8601(0, 0, 3, "Z", ts, 25), 24);
  assert_int_equal(mol_iso8601(0, 0, 10, "Z", ts, sizeof(ts)), 0);
  assert_int_equal(mol_iso8601(0, 0, -1, "Z", ts, sizeof(ts)), 0);
}

/* The hand-rolled calendar agrees with gmtime_r + strftime over four centuries, in the three
 * shapes it writes: A2A statuses and log lines (milliseconds, Z) and the snapshot
 * (microseconds, +00:00, as Python's isoformat). */
static void agrees_with_strftime(void **state) {
  (void)state;
  char ts[MOL_ISO8601_MAX], want[64];
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int64_t secs = (int64_t)(x % 13000000000ull); /* 1970 .. ~2381 */
    long nanos = (long)((x >> 20) % 1000000000u);
    int frac = i % 2 ? 3 : 6;
    const char *zone = frac == 3 ? "Z" : "+00:00";
    reference(secs, nanos, frac, zone, want, sizeof(want));
    mol_iso8601(secs, nanos, frac, zone, ts, sizeof(ts));
    assert_string_equal(ts, want);
  }
}

static void now_is_now(void **state) {
  (void)state;
  char before[64], ts[MOL_ISO8601_MAX], after[64];
  struct timespec a, b;
  clock_gettime(CLOCK_REALTIME, &a);
  mol_iso8601_now(6, "+00:00", ts, sizeof(ts));
  clock_gettime(CLOCK_REALTIME, &b);
  reference(a.tv_sec, a.tv_nsec, 6, "+00:00", before, sizeof(before));
  reference(b.tv_sec, b.tv_nsec, 6, "+00:00", after, sizeof(after));
  /* Same width and shape, so string order is time order. */
  assert_true(strcmp(before, ts) <= 0 && strcmp(ts, after) <= 0);
}

static void http_date(void **state) {
  (void)state;
  char d[30];
  mol_http_date(784111777, d);
  assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
}

/* RFC 3339 back to milliseconds: what mol_iso8601 writes, offsets, and refusals. */
static void rfc3339_parse(void **state) {
  (void)state;
  int64_t ms;
  char ts[MOL_ISO8601_MAX];
  for (int64_t secs = -86400LL * 800; secs < 86400LL * 365 * 300; secs += 86400LL * 97 + 3671) {
    mol_iso8601(secs, 955000000, 3, "Z", ts, sizeof(ts));
    assert_int_equal(mol_rfc3339_parse(ts, &ms), 0);
    assert_int_equal(ms, secs * 1000 + 955);
  }
  assert_int_equal(mol_rfc3339_parse("2026-05-01T12:00:00Z", &ms), 0);
  assert_int_equal(ms, 1777636800000LL);
  assert_int_equal(mol_rfc3339_parse("2026-05-01t14:30:00.5+02:30", &ms), 0);
  assert_int_equal(ms, 1777636800500LL);
  assert_int_equal(mol_rfc3339_parse("2026-05-01 12:00:00.123456789z", &ms), 0);
  assert_int_equal(ms, 1777636800123LL);
  assert_int_equal(mol_rfc3339_parse("2024-02-29T00:00:00Z", &ms), 0);
  const char *bad[] = {"", "yesterday", "2026-05-01", "2026-05-01T12:00:00", "2026-13-01T00:00:00Z",
                       "2025-02-29T00:00:00Z", "2026-05-01T24:00:00Z", "2026-05-01T12:00:00.Z",
                       "2026-05-01T12:00:00+0200", "2026-05-01T12:00:00Zjunk", "26-05-01T12:00:00Z"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    assert_int_equal(mol_rfc3339_parse(bad[i], &ms), MOL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc3339_parse),
      cmocka_unit_test(fixed_instants),
      cmocka_unit_test(years_outside_four_digits_clamp),
      cmocka_unit_test(too_small_a_buffer_gets_nothing),
      cmocka_unit_test(agrees_with_strftime),
      cmocka_unit_test(now_is_now),
      cmocka_unit_test(http_date),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
