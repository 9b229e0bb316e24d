/* clock.h - monotonic and wall clocks. */
#ifndef MOL_BASE_CLOCK_H
#define MOL_BASE_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds / nanoseconds from an arbitrary origin (never goes backwards). */
uint64_t mol_mono_ms(void);
uint64_t mol_mono_ns(void);
/* Wall-clock milliseconds since the Unix epoch. */
int64_t mol_unix_ms(void);

/* Formats an IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT", into out
 * (at least 30 bytes). */
void mol_http_date(int64_t unix_s, char *out);

#endif
