/* clock.h - monotonic and wall clocks, and the two time formats on the wire. */
#ifndef MOL_BASE_CLOCK_H
#define MOL_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds / nanoseconds from an arbitrary origin (never goes backwards). */
uint64_t mol_mono_ms(void);
uint64_t mol_mono_ns(void);
/* Wall-clock milliseconds since the Unix epoch. */
int64_t mol_unix_ms(void);

/* Formats an IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT", into out
 * (at least 30 bytes). */
void mol_http_date(int64_t unix_s, char *out);

/* The one ISO-8601 (RFC 3339) UTC formatter: "2026-05-01T12:00:00" for the instant secs (since
 * the epoch) + nanos (any sign or size; normalised), then `frac` digits of the second (0..9,
 * truncated: ".955"), then `zone` ("Z", "+00:00"). Years outside 0000..9999 clamp to that range's
 * first or last instant. No gmtime/strftime/snprintf: task status changes call it.
 * Returns the length, or 0 with out "" (when n > 0) if frac is out of range or the text and its
 * NUL need more than n or MOL_ISO8601_MAX bytes. */
#define MOL_ISO8601_MAX 40
size_t mol_iso8601(int64_t secs, long nanos, int frac, const char *zone, char *out, size_t n);
/* The same for the wall clock now. */
size_t mol_iso8601_now(int frac, const char *zone, char *out, size_t n);
/* Parses an RFC 3339 date-time ("2026-05-01T12:00:00Z", "...00.955Z", "...00+05:30"; 't'/'z'
 * and a space for the 'T' accepted) into milliseconds since the epoch (extra fraction digits
 * truncated). Returns 0, or MOL_EINVAL for anything else (out-of-range fields included). */
int mol_rfc3339_parse(const char *s, int64_t *ms);

#endif
