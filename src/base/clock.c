/* clock.c - monotonic and wall clocks, HTTP dates and ISO-8601 timestamps. */
#include "base/clock.h"

#include "molecule.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

uint64_t mol_mono_ns(void) { return uv_hrtime(); }
uint64_t mol_mono_ms(void) { return uv_hrtime() / 1000000u; }

int64_t mol_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mol_http_date(int64_t unix_s, char *out) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)unix_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  /* Not strftime: its names follow the locale, HTTP's never do. */
  char tmp[96];
  snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  memcpy(out, tmp, 29);
  out[29] = '\0';
}

/* Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted): gmtime_r,
 * strftime and snprintf cost more than the rest of a task's status change. */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = (unsigned)(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *digits(char *p, unsigned v, int n) {
  for (int i = n - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
  return p + n;
}

#define NS_PER_S 1000000000L
#define ISO_FIRST_S (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define ISO_LAST_S 253402300799LL    /* 9999-12-31T23:59:59Z */

size_t mol_iso8601(int64_t secs, long nanos, int frac, const char *zone, char *out, size_t n) {
  size_t zlen = strlen(zone);
  size_t need = 19 + (frac > 0 ? 1 + (size_t)frac : 0) + zlen + 1; /* with the NUL */
  if (frac < 0 || frac > 9 || n < need || need > MOL_ISO8601_MAX) {
    if (n) *out = '\0';
    return 0;
  }
  secs += nanos / NS_PER_S;
  nanos %= NS_PER_S;
  if (nanos < 0) {
    nanos += NS_PER_S;
    secs -= 1;
  }
  if (secs < ISO_FIRST_S) { /* outside ISO-8601's four digits: clamp, as no clock says this */
    secs = ISO_FIRST_S;
    nanos = 0;
  } else if (secs > ISO_LAST_S) {
    secs = ISO_LAST_S;
    nanos = NS_PER_S - 1;
  }
  int64_t days = secs / 86400;
  int sod = (int)(secs % 86400);
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  civil(days, &y, &m, &d);
  char *p = digits(out, (unsigned)y, 4);
  *p++ = '-';
  p = digits(p, m, 2);
  *p++ = '-';
  p = digits(p, d, 2);
  *p++ = 'T';
  p = digits(p, (unsigned)sod / 3600, 2);
  *p++ = ':';
  p = digits(p, (unsigned)sod / 60 % 60, 2);
  *p++ = ':';
  p = digits(p, (unsigned)sod % 60, 2);
  if (frac > 0) {
    unsigned f = (unsigned)nanos;
    for (int i = frac; i < 9; i++) f /= 10;
    *p++ = '.';
    p = digits(p, f, frac);
  }
  memcpy(p, zone, zlen + 1);
  return (size_t)(p - out) + zlen;
}

size_t mol_iso8601_now(int frac, const char *zone, char *out, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return mol_iso8601((int64_t)ts.tv_sec, ts.tv_nsec, frac, zone, out, n);
}

/* ---- parsing RFC 3339 ----------------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at *p into *out; advances p. */
static int read_digits(const char **p, int n, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < n; i++) {
    if ((*p)[i] < '0' || (*p)[i] > '9') return -1;
    v = v * 10 + (unsigned)((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int read_lit(const char **p, const char *any) {
  if (!**p || !strchr(any, **p)) return -1;
  (*p)++;
  return 0;
}

static int leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int mol_rfc3339_parse(const char *s, int64_t *ms) {
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned y, mo, d, h, mi, se, oh = 0, om = 0, frac_ms = 0;
  const char *p = s;
  if (!s || read_digits(&p, 4, &y) || read_lit(&p, "-") || read_digits(&p, 2, &mo) || read_lit(&p, "-") ||
      read_digits(&p, 2, &d) || read_lit(&p, "Tt ") || read_digits(&p, 2, &h) || read_lit(&p, ":") ||
      read_digits(&p, 2, &mi) || read_lit(&p, ":") || read_digits(&p, 2, &se))
    return MOL_EINVAL;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, n++)
      if (n < 3) frac_ms = frac_ms * 10 + (unsigned)(*p - '0');
    if (n == 0) return MOL_EINVAL;
    for (; n < 3; n++) frac_ms *= 10;
  }
  int sign = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p++ == '-' ? -1 : 1;
    if (read_digits(&p, 2, &oh) || read_lit(&p, ":") || read_digits(&p, 2, &om) || oh > 23 || om > 59)
      return MOL_EINVAL;
  } else {
    return MOL_EINVAL;
  }
  if (*p || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60 ||
      d > mdays[mo - 1] + (mo == 2 && leap(y)))
    return MOL_EINVAL;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (se == 60 ? 59 : se);
  secs -= (int64_t)sign * (oh * 3600 + om * 60);
  *ms = secs * 1000 + frac_ms;
  return 0;
}
