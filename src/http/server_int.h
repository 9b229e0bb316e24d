/* server_int.h - internals shared by the server files: the I/O-free connection core
 * (server_conn.c), response building (server_resp.c), routing (route.c) and the socket
 * layer (server.c). Not a public interface; the unit tests and the fuzz target use it to drive
 * the core without sockets.
 */
#ifndef MOL_HTTP_SERVER_INT_H
#define MOL_HTTP_SERVER_INT_H

#include <llhttp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "http/server.h"

#define MOL_H1_MAX_HEADERS 100      /* more header lines -> 431 */
#define MOL_H1_MAX_URL (8 * 1024)   /* longer request target -> 414 */
#define MOL_H1_POOL 4               /* spare request objects kept per connection */

typedef struct {
  size_t max_header_bytes;
  size_t max_body_bytes;
  size_t max_write_queue;
  unsigned max_pipelined;
} mol_h1_limits;

/* Fills lim from opts (NULL = all defaults), replacing zeros with the documented defaults. */
void mol_http__h1_limits_init(mol_h1_limits *lim, const mol_http_server_opts *opts);

/* What a connection is waiting for; the socket layer picks the timeout from it. */
enum {
  MOL_H1_IDLE,    /* between requests: idle timeout */
  MOL_H1_HEAD,    /* a request head is arriving: header timeout */
  MOL_H1_BODY,    /* a request body is arriving: body timeout */
  MOL_H1_BUSY,    /* requests are with handlers or being written: no read timeout */
  MOL_H1_CLOSING  /* everything is emitted; close once flushed */
};

typedef struct mol_h1 mol_h1;

typedef struct {
  /* A complete, valid request for the application; it must be finished exactly once. */
  void (*on_request)(mol_http_req *r, void *ctx);
  /* Bytes were added to out (or the core became done) outside mol_http__h1_feed/resume. */
  void (*on_output)(void *ctx);
  /* Bytes already handed to the socket but not written (may be NULL: 0). */
  size_t (*socket_queued)(void *ctx);
  /* The application started r's response with status (may be NULL). */
  void (*on_status)(mol_http_req *r, int status, void *ctx);
} mol_h1_callbacks;

typedef struct {
  uint32_t name, nlen, value, vlen; /* offsets into req->head */
} mol_h1_hdr;

enum { REQ_PARSING, REQ_DISPATCHED, REQ_STREAMING, REQ_DONE };
enum { BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE, BODY_NONE };

struct mol_http_req {
  mol_h1 *conn;           /* NULL once orphaned (connection gone) */
  mol_http_req *next;     /* queue or pool link */
  mol_buf head;           /* target, then NUL-terminated names and values */
  mol_buf body;
  mol_buf out;            /* response bytes held back while earlier responses are pending */
  mol_buf rhdr;           /* response headers set by the application, "Name: value\r\n" */
  mol_h1_hdr *hdrs;
  uint32_t nhdrs, hdr_cap;
  uint32_t path_off;
  int32_t query_off;      /* -1: no query */
  const char *method;
  uint64_t span_end;      /* stream offset just past the last header value byte */
  void *data;
  struct mol_http_route_count *route; /* its counters (server_count.c); NULL: not counted */
  mol_http_req_cb on_drain, on_abort;
  void *drain_arg, *abort_arg;
  uint8_t state, mode, http_minor;
  unsigned keep_alive : 1, is_head : 1, in_field : 1, in_value : 1, headers_done : 1;
  unsigned expect : 1, has_host : 1;
  char peer[64];          /* copied from the connection when orphaned */
};

struct mol_h1 {
  llhttp_t parser;
  const mol_h1_limits *lim;
  const mol_h1_callbacks *cb;
  void *ctx;
  const char *peer;       /* the connection's peer name, "" when unknown */
  mol_buf out;            /* response bytes ready for the socket, in order */
  mol_buf pending;        /* input held back while the pipeline is full */
  mol_http_req *cur;      /* request being parsed */
  mol_http_req *head, *tail; /* dispatched requests whose responses are not fully in out */
  mol_http_req *pool;
  unsigned nqueued, npool, msg_seq;
  uint64_t fed;           /* bytes parsed before the current llhttp_execute segment */
  const char *seg;        /* start of that segment */
  size_t head_bytes;      /* size of the current request head so far */
  int err_status;         /* error response to send once earlier responses are out */
  unsigned in_feed;
  unsigned close_after : 1; /* parse no further requests */
  unsigned done : 1;        /* all responses emitted: close once out is flushed */
  unsigned dead : 1;        /* the connection is gone */
};

void mol_http__h1_init(mol_h1 *c, const mol_h1_limits *lim, const mol_h1_callbacks *cb, void *ctx);
/* Releases everything; calls mol_http__h1_abort first if needed. */
void mol_http__h1_free(mol_h1 *c);
/* Parses input, dispatching each complete request. Input past a full pipeline is held back. */
void mol_http__h1_feed(mol_h1 *c, const char *data, size_t len);
/* Parses held-back input once the pipeline has room again. */
void mol_http__h1_resume(mol_h1 *c);
/* True while the socket should not deliver more input. */
int mol_http__h1_blocked(const mol_h1 *c);
int mol_http__h1_phase(const mol_h1 *c);
/* The peer finished sending. Returns 1 when requests are still with the application (the
 * caller should then abort the connection), else 0 (close once the output is flushed). */
int mol_http__h1_eof(mol_h1 *c);
/* Stops parsing and answers with status (408, 503, ...) after the responses already due. */
void mol_http__h1_fail(mol_h1 *c, int status);
/* Graceful: no further requests; done once the dispatched ones are answered. */
void mol_http__h1_shutdown(mol_h1 *c);
/* The connection is gone: requests still with the application are orphaned and their
 * on_abort fires; the rest are released. Idempotent. */
void mol_http__h1_abort(mol_h1 *c);
/* The socket's write queue drained: tells the request being written. */
void mol_http__h1_drained(mol_h1 *c);

/* Used by server_resp.c. */
mol_buf *mol_http__h1_req_sink(mol_http_req *r);
void mol_http__h1_req_finish(mol_http_req *r);
void mol_http__h1_req_free(mol_http_req *r);
void mol_http__h1_notify(mol_h1 *c);
/* Appends a complete error response with Connection: close (used for 4xx/5xx by the core). */
int mol_http__h1_write_error(mol_buf *b, int status);

/* Requests by route and status (server_count.c). Zero-initialised. */
typedef struct mol_http_route_count mol_http_route_count;
typedef struct {
  mol_http_route_count *by_label;
} mol_http_counts;
/* Notes r's route: the path its route was registered with, or NULL for none matched. */
void mol_http__counts_route(mol_http_counts *c, mol_http_req *r, const char *route_path);
/* Counts r's answer (once; a request without a route is not counted). */
void mol_http__counts_answer(mol_http_counts *c, mol_http_req *r, int status);
int mol_http__counts_write(const mol_http_counts *c, mol_buf *out);
void mol_http__counts_free(mol_http_counts *c);

/* Routing (route.c). */
typedef struct {
  const char *method;     /* NULL = any; a common one is route.c's static string, not a copy */
  char *path;
  unsigned plen;
  int prefix;
  mol_http_handler h;
  void *arg;
} mol_route;

typedef struct {
  mol_route *items;
  size_t len, cap;
} mol_route_list;

typedef struct mol_route_bucket mol_route_bucket;
typedef struct mol_route_owner mol_route_owner;

/* Zero-initialised. Exact routes, and prefix routes that name two segments, sit in a hash on
 * their first two segments; prefix routes above that ("/", "/api/") in the wide list. */
typedef struct {
  mol_route_bucket *by_key;
  mol_route_owner *owners;     /* (handler argument, a bucket it has routes in) pairs: an
                                  open-addressing table of n_owners in cap_owners slots */
  size_t n_owners, cap_owners;
  mol_route_list wide;
} mol_routes;

int mol_http__routes_add(mol_routes *t, const char *method, const char *path, int prefix,
                         mol_http_handler h, void *arg);
/* Best route for method and path, or NULL with *status 404, or 405 and allow filled with the
 * allowed methods ("GET, HEAD, POST"). */
const mol_route *mol_http__routes_match(const mol_routes *t, const char *method, const char *path,
                                        int *status, mol_buf *allow);
/* Removes every route whose handler argument is arg; returns how many. */
size_t mol_http__routes_remove_arg(mol_routes *t, const void *arg);
void mol_http__routes_free(mol_routes *t);
/* How many routes a lookup of path compares it with (the tests' measure of lookup cost). */
size_t mol_http__routes_scanned(const mol_routes *t, const char *path);

/* ---- listeners' addresses (server_addr.c) ------------------------------------------------- */

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} mol_http__sock_addr;

/* HOST (an IPv4 or IPv6 literal) and PORT (0..65535) for bind; 0 or MOL_EINVAL. */
int mol_http__addr_parse(const char *host, int port, mol_http__sock_addr *a);
/* SO_REUSEPORT on t's socket (before bind); 0 or a negative errno. */
int mol_http__addr_reuse_port(uv_tcp_t *t);
/* The port t is bound to, or MOL_EINVAL. */
int mol_http__addr_port(uv_tcp_t *t);
/* A host a local client reaches t's address by ("127.0.0.1", "[::1]" for a wildcard; IPv6 in
 * brackets); 0, MOL_EINVAL or MOL_ELIMIT (n too small). */
int mol_http__addr_local_host(uv_tcp_t *t, char *buf, size_t n);

#endif
