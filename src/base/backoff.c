/* backoff.c - exponential back-off with jitter; Retry-After and HTTP-date parsing. */
#include "base/backoff.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "molecule.h"

static uint64_t os_rng(void *arg) {
  (void)arg;
  uint64_t v = 0;
  mol_random_bytes(&v, sizeof(v));
  return v;
}

uint64_t mol_backoff_delay_ms(const mol_backoff_policy *p, unsigned attempt, mol_rng_fn rng,
                              void *rng_arg) {
  double base = p && p->base_ms ? p->base_ms : 1000.0;
  double cap = p && p->cap_ms ? p->cap_ms : 30000.0;
  double factor = p && p->factor > 0 ? p->factor : 2.0;
  double jitter = p && p->jitter > 0 ? (p->jitter > 1 ? 1 : p->jitter) : 0;
  double d = base;
  for (unsigned i = 0; i < attempt && d < cap; i++) d *= factor;
  if (d > cap) d = cap;
  if (jitter > 0) {
    uint64_t r = (rng ? rng : os_rng)(rng_arg);
    double u = (double)(r >> 11) / (double)(1ull << 53) * 2.0 - 1.0; /* [-1, 1) */
    d *= 1.0 + jitter * u;
  }
  return d < 0 ? 0 : (uint64_t)(d + 0.5);
}

/* ---- HTTP-date ---------------------------------------------------------------------------- */

static int parse_month(const char *s) {
  static const char *const m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; i++)
    if (strncmp(s, m[i], 3) == 0) return i;
  return -1;
}

/* Reads exactly n digits. */
static int read_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int read_hms(const char **p, int *h, int *mi, int *s) {
  if (read_digits(p, 2, h) || *(*p)++ != ':') return -1;
  if (read_digits(p, 2, mi) || *(*p)++ != ':') return -1;
  return read_digits(p, 2, s);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int finish(int y, int mon, int d, int h, int mi, int s, int64_t *out) {
  if (mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return MOL_EINVAL;
  *out = days_from_civil(y, mon + 1, d) * 86400 + h * 3600 + mi * 60 + s;
  return 0;
}

/* RFC 9110 §5.6.7: a two-digit year that would be more than 50 years after now is the most
 * recent past year with those digits. */
static int rfc850_year(int yy, int64_t now_unix_s) {
  int64_t days = now_unix_s / 86400;
  int now_year = 1970;
  while (days_from_civil(now_year + 1, 1, 1) <= days) now_year++;
  int y = now_year - now_year % 100 + yy;
  if (y > now_year + 50) y -= 100;
  else if (y <= now_year - 50) y += 100;
  return y;
}

int mol_http_date_parse(const char *v, int64_t now_unix_s, int64_t *unix_s) {
  int d, y, h, mi, s, mon;
  const char *comma = strchr(v, ',');
  if (comma && comma - v == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    const char *p = comma + 1;
    if (*p++ != ' ' || read_digits(&p, 2, &d) || *p++ != ' ') return MOL_EINVAL;
    if ((mon = parse_month(p)) < 0) return MOL_EINVAL;
    p += 3;
    if (*p++ != ' ' || read_digits(&p, 4, &y) || *p++ != ' ') return MOL_EINVAL;
    if (read_hms(&p, &h, &mi, &s) || strcmp(p, " GMT") != 0) return MOL_EINVAL;
    return finish(y, mon, d, h, mi, s, unix_s);
  }
  if (comma) { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
    const char *p = comma + 1;
    if (*p++ != ' ' || read_digits(&p, 2, &d) || *p++ != '-') return MOL_EINVAL;
    if ((mon = parse_month(p)) < 0) return MOL_EINVAL;
    p += 3;
    if (*p++ != '-' || read_digits(&p, 2, &y) || *p++ != ' ') return MOL_EINVAL;
    if (read_hms(&p, &h, &mi, &s) || strcmp(p, " GMT") != 0) return MOL_EINVAL;
    return finish(rfc850_year(y, now_unix_s), mon, d, h, mi, s, unix_s);
  }
  /* asctime: Sun Nov  6 08:49:37 1994 */
  const char *p = v;
  if (strlen(p) != 24 || p[3] != ' ') return MOL_EINVAL;
  p += 4;
  if ((mon = parse_month(p)) < 0) return MOL_EINVAL;
  p += 3;
  if (*p++ != ' ') return MOL_EINVAL;
  if (*p == ' ') {
    p++;
    if (read_digits(&p, 1, &d)) return MOL_EINVAL;
  } else if (read_digits(&p, 2, &d)) {
    return MOL_EINVAL;
  }
  if (*p++ != ' ' || read_hms(&p, &h, &mi, &s) || *p++ != ' ') return MOL_EINVAL;
  if (read_digits(&p, 4, &y) || *p) return MOL_EINVAL;
  return finish(y, mon, d, h, mi, s, unix_s);
}

int mol_retry_after_parse(const char *value, int64_t now_unix_s, uint64_t *delay_ms) {
  if (!value) return MOL_EINVAL;
  while (*value == ' ' || *value == '\t') value++;
  size_t n = strlen(value);
  while (n && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
  if (n == 0) return MOL_EINVAL;
  if (isdigit((unsigned char)value[0])) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
      if (!isdigit((unsigned char)value[i])) return MOL_EINVAL;
      if (s > UINT64_MAX / 10000) return MOL_EINVAL; /* absurd: treat as garbage */
      s = s * 10 + (uint64_t)(value[i] - '0');
    }
    *delay_ms = s * 1000;
    return 0;
  }
  char tmp[64];
  if (n >= sizeof(tmp)) return MOL_EINVAL;
  memcpy(tmp, value, n);
  tmp[n] = '\0';
  int64_t t;
  if (mol_http_date_parse(tmp, now_unix_s, &t)) return MOL_EINVAL;
  *delay_ms = t > now_unix_s ? (uint64_t)(t - now_unix_s) * 1000 : 0;
  return 0;
}
