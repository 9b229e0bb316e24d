/* fuzz_retry_after.c - libFuzzer target for Retry-After and HTTP-date parsing (base/backoff.h).
 * An accepted HTTP-date is a real calendar time, and when it is in the IMF-fixdate form its
 * own formatting parses back to the same second; an accepted Retry-After never means a delay
 * beyond the date it names (or the seconds it gives), so a hostile header cannot underflow the
 * wait into "retry at once" through arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"

#define NOW 1796256000 /* 2026-12-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *in = malloc(len + 1);
  if (!in) return 0;
  memcpy(in, data, len);
  in[len] = '\0';
  int64_t t;
  if (mol_http_date_parse(in, NOW, &t) == 0) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) abort();
    static const char *const day[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char again[96]; /* IMF-fixdate; the year always four digits (strftime's %Y is not) */
    snprintf(again, sizeof(again), "%s, %02d %s %04d %02d:%02d:%02d GMT", day[tm.tm_wday],
             tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    int64_t t2;
    if (mol_http_date_parse(again, NOW, &t2) != 0 || t2 != t) abort();
  }
  uint64_t delay;
  if (mol_retry_after_parse(in, NOW, &delay) == 0) {
    int64_t when;
    if (mol_http_date_parse(in, NOW, &when) == 0) {
      uint64_t max = when > NOW ? (uint64_t)(when - NOW) * 1000u : 0;
      if (delay > max) abort();
    }
  }
  free(in);
  return 0;
}
