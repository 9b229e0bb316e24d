/* client.h - asynchronous HTTP/1.1 client on one libuv loop.
 *
 * A mol_http_client owns a keep-alive connection pool, one per origin (scheme + host + port),
 * and is meant to be shared by every user on the loop. Each mol_http_request_send() starts one
 * request; its completion callback fires EXACTLY once - on success, error, timeout, cancel or
 * shutdown - and never from inside the call that started or cancelled it. Every function must
 * be called on the loop thread.
 *
 * Behaviour:
 *  - http and https URLs (see url.h for what is accepted); https goes through the client's TLS
 *    configuration, created on first use with certificate and hostname verification on.
 *  - Redirects are not followed: a 3xx is returned like any other response. A non-2xx status is
 *    not an error (err is 0); look at resp->status.
 *  - Bodies delimited by Content-Length, chunked coding, or the end of the connection.
 *  - Host and Content-Length are added; caller headers are validated (CR/LF, bad names ->
 *    MOL_EINVAL). A caller "Host" replaces ours (a second one is MOL_EINVAL); a caller
 *    "Content-Length" is ignored (ours is computed from body_len) and "Transfer-Encoding" is
 *    refused (bodies are sent whole).
 *    "Connection: close" from either side keeps the connection out of the pool.
 *  - A request that fails on a reused keep-alive connection before any byte of the response
 *    arrived (the server closed it while it sat in the pool) is retried once on a fresh
 *    connection, for idempotent methods only (GET, HEAD, PUT, DELETE, OPTIONS, TRACE).
 *  - Proxies: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY (and the lower-case names) are
 *    read when the client is created, unless opts->proxy is given. An https URL goes through
 *    its proxy in a CONNECT tunnel (TLS end to end, verified as without a proxy); an http URL
 *    is sent to its proxy in absolute form. Credentials in the proxy URL are sent as
 *    Proxy-Authorization: Basic. A proxy that cannot be reached, refuses the tunnel (403, 407,
 *    ...) or is configured with a URL we cannot use fails the request with MOL_EPROXY, and a
 *    log line names the proxy (host:port, never its credentials) and what went wrong.
 *  - Names are resolved with uv_getaddrinfo (IP literals without a lookup); addresses are
 *    tried in order until one connects. A TLS failure is final (the server was reached).
 *
 * Errors reported to the done callback:
 *    MOL_ETIMEDOUT     connect, idle or total timeout
 *    MOL_ECANCELED     mol_http_request_cancel(), or on_headers returned non-zero
 *    MOL_ESHUTDOWN     mol_http_client_close() with the request outstanding
 *    MOL_ECONNREFUSED  (and other negative errno / UV_E* codes) connecting failed
 *    MOL_ECONNRESET    the connection ended or was reset before the response was complete
 *    MOL_EBADRESP      malformed response
 *    MOL_ETOOBIG       body over max_body_bytes (buffered mode), or response head over 64 KiB
 *    MOL_ETLS, MOL_ETLSVERIFY  handshake failed / certificate or host name not trusted
 *    MOL_EPROXY        the proxy could not be reached or refused the tunnel
 */
#ifndef MOL_HTTP_CLIENT_H
#define MOL_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

#include "http/http.h"
#include "http/tls.h"

typedef struct mol_http_client mol_http_client;   /* owns the pool; many users share one */
typedef struct mol_http_request mol_http_request; /* one in-flight request; handle for cancel */

typedef struct {
  const char *http_proxy;          /* for http:// URLs: "[http://][user:password@]host[:port]"
                                      (port 1080 when not given); NULL or "" = direct */
  const char *https_proxy;         /* for https:// URLs, tunnelled with CONNECT */
  const char *no_proxy;            /* comma-separated hosts that go direct: "*", names (with
                                      their subdomains), IPs or CIDR blocks, each maybe :PORT */
} mol_http_proxy_opts;

typedef struct {                   /* zero = defaults */
  unsigned max_conns_per_origin;   /* open or opening connections, 0 -> 16 */
  unsigned max_idle_per_origin;    /* pooled idle connections kept, 0 -> 16 */
  unsigned max_queued;             /* requests waiting for a connection, 0 -> 10000;
                                      past it mol_http_request_send returns MOL_ELIMIT */
  unsigned idle_keepalive_ms;      /* lifetime of a pooled idle connection, 0 -> 30 s */
  const mol_tls_client_opts *tls;  /* NULL = the trust store (SSL_CERT_FILE... or the system
                                      bundle, see tls.h), verification on; copied */
  const mol_http_proxy_opts *proxy; /* NULL = from the environment (see above); copied */
} mol_http_client_opts;

typedef struct {
  int status;                      /* final status (interim 1xx responses are skipped) */
  const mol_http_headers *headers; /* response headers in arrival order */
  const char *body;                /* NUL-terminated for convenience; NULL in streaming mode */
  size_t body_len;
} mol_http_response;

/* err is 0 or a MOL_E* code. resp is NULL when no status line was received, otherwise it
 * holds what arrived (the head, and in buffered mode the body so far). Everything reachable
 * from r and resp is freed when the callback returns; r must not be used after it. */
typedef void (*mol_http_done_cb)(mol_http_request *r, int err, const mol_http_response *resp,
                                 void *arg);

typedef struct {
  const char *method;               /* NULL = GET */
  const char *url;
  const mol_http_header *headers;   /* extra request headers, copied */
  size_t nheaders;
  const void *body;                 /* copied */
  size_t body_len;
  unsigned connect_timeout_ms;      /* 0 -> 10 s: DNS + TCP + TLS of a new connection */
  unsigned total_timeout_ms;        /* 0 -> none: deadline for the whole request */
  unsigned idle_timeout_ms;         /* 0 -> 60 s without a byte from the peer (not counted
                                       while the caller has paused the request) */
  size_t max_body_bytes;            /* buffered mode cap, 0 -> 16 MiB; past it MOL_ETOOBIG */
  int insecure_skip_verify;         /* https without certificate checks (a separate config) */
  /* Optional: called once with the final status and headers (resp->body is NULL). Non-zero
   * aborts the request: the done callback then reports MOL_ECANCELED. */
  int (*on_headers)(mol_http_request *r, const mol_http_response *resp, void *arg);
  /* Streaming mode: when set, body bytes are delivered here (data valid only during the call)
   * and not buffered; max_body_bytes does not apply. Returning non-zero pauses reading
   * (back-pressure reaches the server through TCP) until mol_http_request_resume(). */
  int (*on_body)(mol_http_request *r, const char *data, size_t len, void *arg);
} mol_http_request_opts;

/* Creates a client on loop. Returns 0, MOL_EINVAL or MOL_ENOMEM. */
int mol_http_client_new(uv_loop_t *loop, const mol_http_client_opts *opts,
                        mol_http_client **out);

/* Starts a request. On 0 the callback will fire exactly once (never before this returns) and
 * *out (if out is not NULL) is the handle, valid until the callback returns. On an error the
 * callback never fires: MOL_EURL (bad URL), MOL_EINVAL (bad method or header), MOL_ELIMIT
 * (max_queued reached), MOL_ESHUTDOWN (client closing), MOL_EPROXY (the URL's proxy is
 * configured with a URL that cannot be used), MOL_ENOMEM. */
int mol_http_request_send(mol_http_client *c, const mol_http_request_opts *o,
                          mol_http_done_cb cb, void *arg, mol_http_request **out);

/* Aborts the request: its callback fires with MOL_ECANCELED on a later loop iteration, never
 * inside this call, unless it already fired (or is about to with another outcome). The
 * connection it used, if any, is closed. */
void mol_http_request_cancel(mol_http_request *r);

/* Streaming back-pressure, the same as on_body returning non-zero: pause stops reading from
 * the connection; resume delivers what was held back (on a later loop iteration) and reads
 * again. */
void mol_http_request_pause(mol_http_request *r);
void mol_http_request_resume(mol_http_request *r);

/* Shuts the client down: outstanding requests fail with MOL_ESHUTDOWN (each callback once,
 * on a later loop turn), every connection is closed, and cb(arg) (cb may be NULL) fires once
 * everything is freed - never inside this call. The client must not be used after this
 * call; a second call is ignored. */
void mol_http_client_close(mol_http_client *c, void (*cb)(void *arg), void *arg);

#endif
