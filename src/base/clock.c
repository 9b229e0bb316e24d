/* clock.c - monotonic and wall clocks. */
#include "base/clock.h"

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
