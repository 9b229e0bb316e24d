/* server.h - HTTP/1.1 server on one libuv loop.
 *
 * Layering (nghttp2 style): server_conn.c is an I/O-free protocol core fed with bytes that
 * produces response bytes; server.c binds it to listening sockets, mol_stream connections and
 * one timer per connection. Handlers see only complete, valid requests.
 *
 * Lifecycle of a request: the handler registered with mol_http_server_route() is called once
 * the whole request (head and body) has arrived. The handler (or anything later, e.g. a timer)
 * answers it exactly once: with mol_http_respond(), or with mol_http_resp_start() / write /
 * mol_http_resp_end(), or mol_http_sse_start() / send / mol_http_resp_end(). The request
 * pointer and everything read from it stay valid until that final call returns; afterwards the
 * request must not be touched (its memory is reused for the next request).
 * Responses on one connection leave in request order even when handlers answer out of order.
 *
 * If the client goes away first, on_abort (if set) fires once; the handler must still finish
 * the request (respond or end), which then only releases it. A client that half-closes (FIN)
 * while its requests are still with handlers counts as gone, as in nginx. All calls happen on
 * the loop thread.
 *
 * Protocol: HTTP/1.1 keep-alive by default, HTTP/1.0 only with "Connection: keep-alive";
 * "Connection: close" honoured; pipelined requests answered strictly in order; request
 * bodies with Content-Length or chunked (trailers are read and dropped); "Expect:
 * 100-continue" answered (other expectations: 417). Refused with the status and then closed:
 * malformed syntax, smuggling shapes (CL+TE, duplicate CL, obs-fold, bad chunk sizes), an
 * HTTP/1.1 request without Host, and any request with two Host fields or a malformed one 400;
 * HTTP/2.0 request line 505; target over 8 KiB 414; head over max_header_bytes or over 100
 * fields 431; body over max_body_bytes 413; head not complete within header_timeout_ms or
 * request not complete within request_timeout_ms 408. Upgrade requests are answered like any
 * other and the connection closed after them. Every response carries Date; error responses
 * are written after the responses already due on that connection.
 */
#ifndef MOL_HTTP_SERVER_H
#define MOL_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "base/buf.h"
#include "http/stream.h"

typedef struct mol_http_server mol_http_server;
typedef struct mol_http_req mol_http_req;
typedef void (*mol_http_handler)(mol_http_req *req, void *arg);
typedef void (*mol_http_req_cb)(mol_http_req *req, void *arg);

typedef struct {              /* zero-initialised = defaults */
  size_t max_header_bytes;    /* 0 -> 16 KiB: request line + headers; over -> 431 and close */
  size_t max_body_bytes;      /* 0 -> 1 MiB; over -> 413 and close */
  unsigned max_connections;   /* 0 -> 10000; over -> 503 and close */
  unsigned header_timeout_ms; /* 0 -> 10 s for the whole header block -> 408 and close; also
                                 the time a new connection (TLS handshake included) has to
                                 start its first request */
  unsigned body_timeout_ms;   /* 0 -> 30 s between body bytes -> 408 and close */
  unsigned request_timeout_ms; /* 0 -> 60 s for the whole request, head and body, from its
                                  first byte -> 408 and close, however short the gaps (a
                                  body trickled a byte at a time); raise it with
                                  max_body_bytes for slow uploads */
  unsigned idle_timeout_ms;   /* 0 -> 60 s keep-alive idle -> close */
  unsigned send_timeout_ms;   /* 0 -> 60 s: a peer that takes no response byte for that long
                                 while bytes wait for it is dropped, in any phase (on_abort
                                 fires for a pending request); only a lack of progress
                                 counts, so a stream the peer keeps reading is never cut */
  unsigned max_pipelined;     /* 0 -> 16 outstanding requests per connection; then stop reading */
  size_t max_write_queue;     /* 0 -> 8 MiB of unwritten response bytes per request; past it,
                                 resp_write / sse_send fail with MOL_ETOOBIG, and further
                                 pipelined requests wait unread until the peer catches up */
  int reuse_port;             /* non-zero: SO_REUSEPORT, so that one server per loop (thread or
                                 process) can listen on the same port */
  int count_first_listener;   /* non-zero: only requests accepted on the first listener count
                                 in molecule_http_requests_total (the others are a worker's
                                 private hand-over port: counted where they first arrived) */
  mol_tls_config *tls;        /* NULL = plain TCP; passed to mol_stream_accept; must outlive
                                 the server */
} mol_http_server_opts;

/* Creates a server on loop (opts may be NULL). Returns 0 or MOL_ENOMEM. */
int mol_http_server_new(uv_loop_t *loop, const mol_http_server_opts *opts, mol_http_server **out);

/* Registers handler h for method (NULL = any) and path. With prefix != 0 the route matches
 * path itself and everything below it ("/api" matches "/api" and "/api/x", not "/apix"; "/a/"
 * matches "/a/x"). An exact route beats a prefix route, a longer prefix beats a shorter one.
 * No path match -> 404; a path match under other methods only -> 405 with Allow. HEAD falls
 * back to GET routes (the body is then dropped). Strings are copied. Returns 0, MOL_EINVAL
 * (path not starting with '/') or MOL_ENOMEM. */
int mol_http_server_route(mol_http_server *s, const char *method, const char *path, int prefix,
                          mol_http_handler h, void *arg);

/* Removes every route registered with handler argument arg (requests already dispatched are
 * not affected). Lets one component leave a shared server that keeps running. Returns the
 * number of routes removed. */
size_t mol_http_server_unroute(mol_http_server *s, const void *arg);

/* Listens on host ("127.0.0.1", "::1", "0.0.0.0", "::") and port (0 = ephemeral). May be
 * called several times, e.g. for IPv4 and IPv6 on the same port ("::" is bound IPv6-only so
 * that "0.0.0.0" can share the port). Returns 0 or a negative error (MOL_EINVAL for a bad
 * address, MOL_EADDRINUSE, MOL_ELIMIT past 8 listeners, ...). */
int mol_http_server_listen(mol_http_server *s, const char *host, int port);

/* Port of the first listener, or MOL_EINVAL if there is none. */
int mol_http_server_port(const mol_http_server *s);
/* Port of listener i (in the order of mol_http_server_listen), or MOL_EINVAL. */
int mol_http_server_listener_port(const mol_http_server *s, int i);

/* Appends molecule_http_requests_total{route,status} (Prometheus text 0.0.4) for every request
 * this server answered after routing it (see server_count.c for what a route is). Returns 0
 * or MOL_ENOMEM. */
int mol_http_server_requests_write(const mol_http_server *s, mol_buf *out);

/* The address a client on this host reaches the first listener at, as a URL's host part:
 * its bound address ("127.0.0.2", "[::1]"), a wildcard one as the loopback ("0.0.0.0" as
 * "127.0.0.1", "::" as "[::1]"). Returns 0, MOL_EINVAL without a listener, or MOL_ELIMIT when
 * n is too small. */
int mol_http_server_local_host(const mol_http_server *s, char *buf, size_t n);

/* Graceful close: stops accepting, closes idle keep-alive connections at once, lets requests
 * already received finish and their responses flush for up to grace_ms, then aborts what is
 * left (on_abort fires for those requests), frees the server and calls cb exactly once (cb may
 * be NULL). Call it once; the server must not be used afterwards. */
void mol_http_server_close(mol_http_server *s, unsigned grace_ms, void (*cb)(void *arg),
                           void *arg);

/* ---- Request accessors (valid until the response is finished) -------------------------- */

const char *mol_http_req_method(const mol_http_req *r);  /* "GET", "POST", ... */
const char *mol_http_req_path(const mol_http_req *r);    /* raw path, no query or fragment */
const char *mol_http_req_query(const mol_http_req *r);   /* after '?', NULL if none */
/* First value of header name (case-insensitive, trimmed), or NULL. */
const char *mol_http_req_header(const mol_http_req *r, const char *name);
/* Header i in arrival order (0 <= i < count): returns 0 or MOL_ERANGE. */
size_t mol_http_req_header_count(const mol_http_req *r);
int mol_http_req_header_at(const mol_http_req *r, size_t i, const char **name,
                           const char **value);
/* The decoded body (NUL-terminated for convenience; may contain NULs), len may be NULL. */
const char *mol_http_req_body(const mol_http_req *r, size_t *len);
/* Peer address as "ip:port" or "[ip6]:port" ("" when unknown). */
const char *mol_http_req_peer(const mol_http_req *r);
void mol_http_req_set_data(mol_http_req *r, void *data);
/* Counts r under route (copied; e.g. a pattern such as "/workspaces/:/state") instead of the
 * path its route was registered with, in the server's molecule_http_requests_total. Call
 * before responding. */
void mol_http_req_set_route(mol_http_req *r, const char *route);
void *mol_http_req_data(const mol_http_req *r);

/* ---- Responding ------------------------------------------------------------------------- */

/* Adds a response header; call before respond/resp_start/sse_start. Name and value are
 * validated (token name, no CR/LF/NUL in the value): MOL_EINVAL. Date, Content-Length,
 * Transfer-Encoding and Connection belong to the server and are refused (MOL_EINVAL). */
int mol_http_resp_header(mol_http_req *r, const char *name, const char *value);

/* Sends a complete response with Content-Length (content_type may be NULL; no body is sent for
 * HEAD, 204 and 304). status must be 200..999 (interim 1xx statuses are refused). Finishes the
 * request. Returns 0, MOL_EINVAL (bad status, or already answered) or MOL_ENOMEM. */
int mol_http_respond(mol_http_req *r, int status, const char *content_type, const void *body,
                     size_t len);

/* Streaming: starts a response whose body follows in pieces (chunked on HTTP/1.1,
 * close-delimited on HTTP/1.0). */
int mol_http_resp_start(mol_http_req *r, int status, const char *content_type);
/* Queues one piece (len 0 is a no-op). MOL_EPIPE once the client is gone, MOL_ETOOBIG when
 * the request's unwritten bytes would pass max_write_queue (wait for on_drain). */
int mol_http_resp_write(mol_http_req *r, const void *data, size_t len);
/* Ends a streamed response (or an SSE stream) and finishes the request. */
int mol_http_resp_end(mol_http_req *r);

/* Server-sent events: 200, text/event-stream, Cache-Control: no-cache, streamed as above. */
int mol_http_sse_start(mol_http_req *r);
/* Sends one event: optional "event: <name>" then one "data: " line per line of data (CR, LF
 * and CRLF all split lines), then a blank line. event must not contain CR/LF (MOL_EINVAL).
 * Same errors as mol_http_resp_write. */
int mol_http_sse_send(mol_http_req *r, const char *event, const char *data, size_t len);

/* Back-pressure: response bytes of r accepted but not yet written to the socket (for the
 * request currently being written this includes earlier bytes still in the socket queue). */
size_t mol_http_req_queued(const mol_http_req *r);
/* cb fires each time the socket's write queue drains (mol_http_req_queued() was non-zero and
 * is back to 0) while r is the response being written; NULL clears it. */
void mol_http_req_on_drain(mol_http_req *r, mol_http_req_cb cb, void *arg);
/* cb fires once if the client goes away before r was finished. */
void mol_http_req_on_abort(mol_http_req *r, mol_http_req_cb cb, void *arg);

#endif
