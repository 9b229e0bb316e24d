/* sse_parse.h - incremental text/event-stream parser (WHATWG HTML "Server-sent events",
 * §9.2.6 "Interpreting an event stream"). I/O-free: feed it whatever bytes arrive, in chunks
 * of any size, and it calls back once per dispatched event.
 *
 * Rules implemented: a UTF-8 BOM at the very start is skipped; lines end with CRLF, LF or CR
 * (a CRLF split across two chunks counts once); lines starting with ':' are comments; a line
 * without ':' is a field name with an empty value; one space after the colon is dropped;
 * fields event / data / id / retry (others ignored); data lines are joined with '\n'; a blank
 * line dispatches (nothing is dispatched when no data line was seen, but the event name is
 * reset); the last event id persists across events; an id containing NUL is ignored; retry
 * must be ASCII digits. At end of stream an unterminated event is discarded (as the spec says).
 *
 * Bound: max_event caps the bytes of one line plus the event being assembled; past it feeding
 * fails with MOL_ETOOBIG and the parser stays failed. */
#ifndef MOL_A2A_SSE_PARSE_H
#define MOL_A2A_SSE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct {
  const char *event;  /* the event type; "message" when no event field was given */
  const char *data;   /* NUL-terminated; may contain '\n' (and NUL bytes within data_len) */
  size_t data_len;
  const char *id;     /* the last event id ("" when none) */
  int64_t retry_ms;   /* the last valid retry field, -1 when none */
} mol_a2a_sse_event;

/* Returns 0 to continue; any other value stops feeding and is returned by mol_a2a_sse_feed. */
typedef int (*mol_a2a_sse_cb)(const mol_a2a_sse_event *ev, void *arg);

typedef struct {
  mol_a2a_sse_cb cb;
  void *arg;
  size_t max_event;
  mol_buf line;   /* the current, unterminated line */
  mol_buf data;   /* data lines of the event being assembled, each followed by '\n' */
  mol_buf event;  /* the event type buffer */
  mol_buf id;     /* the last event id */
  int64_t retry_ms;
  int bom_state;  /* bytes of the BOM matched so far; 3 = past the start */
  int after_cr;   /* the previous chunk ended with CR: a leading LF belongs to it */
  int failed;     /* sticky error (0 = none) */
} mol_a2a_sse_parser;

/* max_event 0 = 4 MiB (the per-event bound of the a2a-js client). */
void mol_a2a_sse_init(mol_a2a_sse_parser *p, size_t max_event, mol_a2a_sse_cb cb, void *arg);
/* Feeds bytes. Returns 0, MOL_ETOOBIG, MOL_ENOMEM, or the callback's non-zero value. Errors
 * are sticky: every further call returns the same value. */
int mol_a2a_sse_feed(mol_a2a_sse_parser *p, const char *data, size_t len);
/* Releases the buffers (the parser can be re-initialised). */
void mol_a2a_sse_free(mol_a2a_sse_parser *p);

#endif
