/* client_parse.h - I/O-free HTTP/1.1 response parser (bytes in, events out), over llhttp.
 *
 * One parser per connection, reset before each response. It knows nothing of sockets: the
 * connection layer feeds it what it reads and acts on the result, and the tests feed it byte
 * by byte. Interim 1xx responses are skipped; trailers are parsed and dropped; the body length
 * comes from Content-Length, chunked coding, or the end of the connection (mol_http__resp_finish).
 */
#ifndef MOL_HTTP_CLIENT_PARSE_H
#define MOL_HTTP_CLIENT_PARSE_H

#include <llhttp.h>
#include <stddef.h>

#include "base/buf.h"
#include "http/http.h"

/* Bounds on the response head, so a hostile peer cannot grow memory without limit. */
enum { MOL_RESP_MAX_HEAD_BYTES = 64 * 1024, MOL_RESP_MAX_HEADERS = 200 };

/* Event sinks. on_head sees the final (non-1xx) status and headers; a non-zero return stops
 * parsing and is returned by mol_http__resp_feed (negative = error). on_body returns 0 to go on,
 * MOL_RESP_PAUSE to stop after this piece (feed then returns MOL_RESP_PAUSE), or a negative
 * error. */
typedef struct {
  int (*on_head)(void *ctx, int status, const mol_http_headers *h);
  int (*on_body)(void *ctx, const char *data, size_t len);
} mol_resp_events;

enum {
  MOL_RESP_MORE = 0,  /* all bytes consumed, the response is not complete yet */
  MOL_RESP_DONE = 1,  /* the response is complete */
  MOL_RESP_PAUSE = 2  /* on_body asked to pause; feed the unconsumed rest later */
};

typedef struct {
  llhttp_t http;
  llhttp_settings_t settings;
  const mol_resp_events *ev;
  void *ctx;
  mol_http_headers *headers; /* where the head goes; owned by the caller */
  mol_buf fields;            /* the head's fields so far, as "name\0value\0" pairs: one
                                buffer reused for every response on the connection */
  size_t nfields;
  size_t head_bytes;
  int status;
  int err;                   /* first error raised inside a callback */
  unsigned in_value : 1;
  unsigned head_done : 1;    /* the final head was delivered; later fields are trailers */
  unsigned done : 1;
  unsigned keep_alive : 1;   /* valid once done */
  unsigned started : 1;      /* at least one byte was fed */
  unsigned head_request : 1;
} mol_resp_parser;

void mol_http__resp_init(mol_resp_parser *p, const mol_resp_events *ev, void *ctx);
/* Prepares for the next response. head: the request was HEAD (the response has no body). */
void mol_http__resp_reset(mol_resp_parser *p, mol_http_headers *headers, int head);
/* Feeds bytes. Returns MOL_RESP_MORE / DONE / PAUSE, or MOL_EBADRESP, MOL_ETOOBIG, MOL_ENOMEM or
 * an error returned by an event. *consumed (always set) counts bytes used; after DONE the
 * rest belongs to no response (the connection must not be reused). */
int mol_http__resp_feed(mol_resp_parser *p, const char *data, size_t len, size_t *consumed);
/* The peer closed the connection: completes a close-delimited body. Returns MOL_RESP_DONE, or
 * MOL_ECONNRESET when the response was cut short (or never started). */
int mol_http__resp_finish(mol_resp_parser *p);
void mol_http__resp_free(mol_resp_parser *p);

#endif
