/* client_int.h - internals shared by client.c (requests), client_conn.c (connections) and
 * pool.c (origins, queues, idle connections). Not a public header. */
#ifndef MOL_HTTP_CLIENT_INT_H
#define MOL_HTTP_CLIENT_INT_H

#include <stdint.h>
#include <uthash.h>

#include "base/buf.h"
#include "base/holds.h"
#include "http/client.h"
#include "http/client_parse.h"
#include "http/proxy.h"
#include "http/stream.h"
#include "http/url.h"

typedef struct mol_origin mol_origin;
typedef struct mol_conn mol_conn;

enum req_state {
  REQ_QUEUED,     /* waiting in its origin's queue for a connection */
  REQ_CONNECTING, /* a new connection is being opened for it */
  REQ_ACTIVE,     /* written on a connection, reading the response */
  REQ_FINISHING,  /* outcome decided, callback deferred to the next loop turn */
  REQ_DONE        /* callback fired (or firing); freed when it returns */
};

enum req_listed { REQ_UNLISTED, REQ_LISTED_DEADLINE, REQ_LISTED_NOW };

struct mol_http_request {
  mol_http_client *c;
  mol_origin *o;                 /* while queued */
  mol_conn *conn;                /* while connecting or active */
  mol_http_request *prev, *next; /* client's list of live requests */
  mol_http_request *qprev, *qnext;
  mol_http_request *dprev, *dnext; /* the client's deadline list or its list of work due now */
  uint64_t due;                  /* loop ms its deadline list place stands for */
  mol_buf wire;                  /* the serialized request, kept for a retry */
  mol_http_headers headers;      /* response headers (the parser writes them here) */
  mol_buf body;                  /* buffered mode */
  mol_http_done_cb cb;
  void *arg;
  int (*on_headers)(mol_http_request *, const mol_http_response *, void *);
  int (*on_body)(mol_http_request *, const char *, size_t, void *);
  uint64_t total_deadline;       /* loop ms, 0 = none */
  uint64_t connect_deadline;
  uint64_t last_activity;
  unsigned connect_ms, idle_ms;
  size_t max_body;
  int status;
  int pending_err;               /* outcome while REQ_FINISHING */
  enum req_state state;
  unsigned is_head : 1;
  unsigned idempotent : 1;
  unsigned insecure : 1;
  unsigned conn_close : 1;       /* the caller sent "Connection: close" */
  unsigned retried : 1;
  unsigned need_fresh : 1;       /* retry: must not take a pooled connection */
  unsigned paused : 1;
  unsigned resume_pending : 1;
  unsigned listed : 2;           /* enum req_listed */
};

struct mol_conn {
  mol_stream s;                  /* s.data = this */
  mol_origin *o;
  mol_http_request *req;         /* NULL while idle (or dead) */
  mol_conn *prev, *next;         /* origin's idle list */
  mol_resp_parser parser;        /* reused for every response on this connection */
  mol_buf held;                  /* bytes read but held back while the caller is paused */
  uv_getaddrinfo_t gai;
  struct addrinfo *ai, *ai_next; /* ai: from getaddrinfo (freed with the connection) */
  struct addrinfo literal_ai;    /* an IP-literal host needs no lookup at all */
  struct sockaddr_storage literal_addr;
  uv_timer_t idle_timer;         /* pooled lifetime (lazy: see pool.c); the holds' last handle */
  uint64_t idle_since;           /* loop ms it went back to the pool */
  mol_holds holds;               /* its own until closed (dead), the lookup's, the stream's */
  int last_err;                  /* last failed address attempt */
  unsigned resolving : 1;        /* gai outstanding */
  unsigned stream_open : 1;      /* s initialised, on_close not yet fired */
  unsigned connected : 1;
  unsigned idle : 1;
  unsigned reused : 1;           /* served a response before */
  unsigned dead : 1;
};

struct mol_origin {
  char *key;
  UT_hash_handle hh;
  mol_http_client *c;
  mol_conn *idle_head;           /* most recently used first */
  mol_http_request *qhead, *qtail;
  mol_url url;                   /* scheme, host and port (no target): where requests go */
  const mol_http_proxy *proxy;   /* the client's proxy connections go through, or NULL */
  unsigned nconns;               /* usable (not dead) connections, opening or open */
  unsigned nidle;
  unsigned nlive;                /* allocated connections; the origin outlives them */
  unsigned pumping : 1;
  unsigned https : 1;
  unsigned insecure : 1;
};

struct mol_http_client {
  uv_loop_t *loop;
  unsigned max_conns, max_idle, max_queued, keepalive_ms;
  mol_tls_client_opts tls_opts;  /* strings copied */
  char *ca_file, *ca_pem;
  mol_tls_config *tls, *tls_insecure;
  mol_http_proxy proxy_http, proxy_https; /* .set = 0: direct */
  char *no_proxy;
  mol_origin *origins;
  mol_http_request *reqs;
  unsigned nqueued;
  mol_holds holds;               /* its own until close, one per request and connection alive */
  /* Every request's deadlines, and callbacks deferred to the loop's next turn, run from this
   * one timer: requests ordered by due time (most share their timeouts, so a new one goes at
   * or near the tail), plus a FIFO of work due at once. The timer is re-armed only when the
   * earliest due time moves earlier; firing early just re-arms it. It is also the holds' last
   * handle, closed once no request or connection is left. */
  uv_timer_t timer;
  uint64_t timer_due;            /* when the timer fires; UINT64_MAX when stopped */
  mol_http_request *dhead, *dtail;
  mol_http_request *nowhead, *nowtail;
  void (*close_cb)(void *);
  void *close_arg;
  unsigned closing : 1;
};

/* client.c */
void mol_http__req_abort(mol_http_request *r, int err);       /* deferred callback */
void mol_http__req_complete(mol_http_request *r, int err);    /* callback now; r must be detached */
void mol_http__req_arm(mol_http_request *r);
int mol_http__client_tls(mol_http_client *c, int insecure, mol_tls_config **out);
/* The proxy for u (NULL: direct), by scheme and NO_PROXY. */
const mol_http_proxy *mol_http__client_proxy(const mol_http_client *c, const mol_url *u);

/* client_conn.c */
int mol_http__conn_open(mol_origin *o, mol_http_request *r);  /* r attached on success */
void mol_http__conn_start(mol_conn *conn, mol_http_request *r);
void mol_http__conn_close(mol_conn *conn);
void mol_http__conn_fail(mol_conn *conn, mol_http_request *r, int err); /* closes conn too */
void mol_http__conn_proxy_failed(mol_conn *conn, int err); /* logs it, fails with MOL_EPROXY */

/* client_tunnel.c: CONNECT through the origin's proxy on a connected plain stream, then TLS;
 * ends in mol_http__conn_start or mol_http__conn_fail. */
void mol_http__tunnel_start(mol_conn *conn);
/* Returns 0 once r left the connection (complete, failed or cancelled; it may be freed). */
int mol_http__conn_resume(mol_conn *conn, mol_http_request *r);

/* pool.c */
mol_origin *mol_http__origin_get(mol_http_client *c, const mol_url *u, int insecure);
int mol_http__origin_would_wait(const mol_origin *o);
void mol_http__origin_enqueue(mol_origin *o, mol_http_request *r, int front);
void mol_http__origin_dequeue(mol_origin *o, mol_http_request *r);
void mol_http__origin_pump(mol_origin *o);
void mol_http__origin_release(mol_origin *o, mol_conn *conn); /* a connection back to the pool */
void mol_http__origin_idle_remove(mol_origin *o, mol_conn *conn);
void mol_http__origin_maybe_free(mol_origin *o);
void mol_http__origin_close_idle(mol_origin *o);
void mol_http__origins_free(mol_http_client *c);

#endif
