/* molecule.h - public API of libmolecule.
 *
 * Conventions (the same as libuv's):
 *  - Functions that can fail return 0 or a negative error code (MOL_E*); mol_strerror() names it.
 *  - Handles are opaque; option structs are zero-initialised by the caller and then filled in,
 *    so a zero field always means "the documented default".
 *  - Every callback fires exactly once: on success, error, timeout, cancellation or shutdown.
 *  - Strings passed in are copied; the caller keeps ownership of what it passes.
 *  - All calls happen on the loop thread unless a function says it is thread-safe.
 *
 * This header includes no third-party header. To run on your own libuv loop, include
 * <molecule/uv.h> as well.
 */
#ifndef MOLECULE_H
#define MOLECULE_H

#include <stddef.h>
#include <stdint.h>

#include "molecule/version.h" /* MOL_VERSION_MAJOR/MINOR/PATCH/STRING/HEX */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define MOL_EXTERN __attribute__((visibility("default")))
#else
#define MOL_EXTERN
#endif

/* ---- Errors ----------------------------------------------------------------------------- */

/* System errors are negated errno values, as in libuv (and libuv's own codes pass through
 * unchanged, so a UV_E* value is also a valid molecule error). Protocol-level errors live in
 * the -30000 range. */
#define MOL_OK            0
#define MOL_ENOENT        (-2)
#define MOL_EIO           (-5)
#define MOL_EAGAIN        (-11)
#define MOL_ENOMEM        (-12)
#define MOL_EBUSY         (-16)
#define MOL_EEXIST        (-17)
#define MOL_EINVAL        (-22)
#define MOL_EPIPE         (-32)
#define MOL_ERANGE        (-34)
#define MOL_EPROTO        (-71)
#define MOL_EMSGSIZE      (-90)
#define MOL_ENOTSUP       (-95)
#define MOL_EADDRINUSE    (-98)
#define MOL_ECONNRESET    (-104)
#define MOL_ESHUTDOWN     (-108)
#define MOL_ETIMEDOUT     (-110)
#define MOL_ECONNREFUSED  (-111)
#define MOL_ECANCELED     (-125)
#define MOL_EOF           (-4095) /* same value as UV_EOF */

#define MOL_EHTTP         (-30001) /* the peer answered with an HTTP error status */
#define MOL_ETLS          (-30002) /* TLS handshake or record failure */
#define MOL_ETLSVERIFY    (-30003) /* peer certificate not trusted or wrong hostname */
#define MOL_EJSON         (-30004) /* malformed JSON */
#define MOL_ERPC          (-30005) /* the peer answered with a JSON-RPC error */
#define MOL_ETOOBIG       (-30006) /* a configured size bound was exceeded */
#define MOL_ELIMIT        (-30007) /* a configured count bound was exceeded */
#define MOL_EURL          (-30008) /* malformed or unsupported URL */
#define MOL_EBADRESP      (-30009) /* malformed HTTP response */
#define MOL_EPROXY        (-30010) /* the proxy could not be reached or refused the tunnel */

/* Returns a static, human-readable message for an error code (never NULL). */
MOL_EXTERN const char *mol_strerror(int err);

/* Returns the symbolic name of an error code, e.g. "MOL_ETIMEDOUT" (never NULL). */
MOL_EXTERN const char *mol_err_name(int err);

/* ---- Version and memory ----------------------------------------------------------------- *
 * The MOL_VERSION_* macros (molecule/version.h) are the headers' version; these calls give the
 * version of the library actually loaded, which may be newer (docs/api.md, "Versioning"). */

/* Returns the library version as "MAJOR.MINOR.PATCH" (static, never NULL). */
MOL_EXTERN const char *mol_version(void);
/* Returns the library version as (MAJOR << 16) | (MINOR << 8) | PATCH, the form of
 * MOL_VERSION_HEX: `mol_version_number() >= MOL_VERSION_HEX` holds when the loaded library is
 * at least as new as the headers. */
MOL_EXTERN unsigned mol_version_number(void);

/* Frees memory the library hands to the caller with "free with mol_free()" in its
 * documentation (e.g. mol_host_metrics). NULL is ignored. */
MOL_EXTERN void mol_free(void *p);

/* ---- Logging ---------------------------------------------------------------------------- */

typedef enum {
  MOL_LOG_TRACE = 0,
  MOL_LOG_DEBUG,
  MOL_LOG_INFO,
  MOL_LOG_WARN,
  MOL_LOG_ERROR,
  MOL_LOG_OFF
} mol_log_level;

typedef enum {
  MOL_LOG_PLAIN = 0, /* "2026-01-01T00:00:00.000Z WARN  http: message" */
  MOL_LOG_JSON       /* {"ts":"...","level":"warn","scope":"http","msg":"..."} */
} mol_log_format;

/* Receives every emitted line, already formatted and redacted, without a trailing newline. */
typedef void (*mol_log_sink)(mol_log_level level, const char *line, void *arg);

/* Sets the minimum level that is emitted (default MOL_LOG_INFO). */
MOL_EXTERN void mol_log_set_level(mol_log_level level);
/* Sets the line format (default MOL_LOG_PLAIN). */
MOL_EXTERN void mol_log_set_format(mol_log_format format);
/* Sends lines to `sink` instead of stderr; NULL restores stderr. Lines of work done in libuv's
 * thread pool (an agent's config dir, a plugin install) reach it from that thread: a sink
 * must be safe to call from any thread. */
MOL_EXTERN void mol_log_set_sink(mol_log_sink sink, void *arg);
/* Parses "trace", "debug", "info", "warn", "error" or "off". Returns 0 or MOL_EINVAL. */
MOL_EXTERN int mol_log_level_parse(const char *name, mol_log_level *out);

/* Registers a secret value (token, key) that must never appear in a log line: every occurrence
 * is replaced by "[REDACTED]". Values shorter than 6 bytes are ignored (too likely to collide
 * with ordinary text). Bearer tokens and well-known secret keys ("token", "secret", "password",
 * "api_key", "authorization", ...) are redacted without registration. Returns 0, MOL_EINVAL or
 * MOL_ELIMIT (at most 64 registered values). */
MOL_EXTERN int mol_log_add_secret(const char *value);
/* Forgets all registered secret values. */
MOL_EXTERN void mol_log_clear_secrets(void);

/* ---- Event loop ------------------------------------------------------------------------- */

/* A mol_loop is the one event loop everything of molecule runs on. Create your own with
 * mol_loop_new(), wrap a libuv loop you already run with mol_loop_from_uv() (molecule/uv.h),
 * or drive it from any other event loop with the backend fd + timeout pair: watch
 * mol_loop_backend_fd() for readability, wake up after mol_loop_backend_timeout() ms, and
 * call mol_loop_run(loop, MOL_RUN_NOWAIT) each time (the same contract as uv_backend_fd). */
typedef struct mol_loop mol_loop;

typedef enum {
  MOL_RUN_DEFAULT = 0, /* until nothing is left to do or mol_loop_stop() */
  MOL_RUN_ONCE,        /* one iteration, blocking for I/O if needed */
  MOL_RUN_NOWAIT       /* one iteration, never blocking */
} mol_run_mode;

/* Creates a loop that molecule owns. Returns 0 or a negative error. */
MOL_EXTERN int mol_loop_new(mol_loop **out);
/* Runs the loop. Returns non-zero if there is still work (uv_run's contract). */
MOL_EXTERN int mol_loop_run(mol_loop *loop, mol_run_mode mode);
/* Makes mol_loop_run(MOL_RUN_DEFAULT) return soon. Loop thread only. */
MOL_EXTERN void mol_loop_stop(mol_loop *loop);
/* A file descriptor that becomes readable when the loop has work (Linux: an epoll fd). */
MOL_EXTERN int mol_loop_backend_fd(const mol_loop *loop);
/* Milliseconds until the loop's next timer is due; -1 when none, 0 when work is pending. */
MOL_EXTERN int mol_loop_backend_timeout(const mol_loop *loop);

/* Receives work posted with mol_loop_post(). status is 0 when it runs normally, or
 * MOL_ESHUTDOWN when the loop closed first; it is called exactly once either way. */
typedef void (*mol_post_fn)(void *arg, int status);

/* THREAD-SAFE: the one call that may be made from any thread. Queues fn(arg, 0) to run on the
 * loop thread, in posting order. Returns 0, MOL_ENOMEM, or MOL_ESHUTDOWN once the loop is
 * closing (fn is then not called). */
MOL_EXTERN int mol_loop_post(mol_loop *loop, mol_post_fn fn, void *arg);

/* Closes the loop: posted work not yet run is called with MOL_ESHUTDOWN, molecule's own
 * handles are closed, and (for a loop from mol_loop_new) the libuv loop is run until they are
 * gone and freed. Everything created on the loop must have been closed first; returns
 * MOL_EBUSY otherwise (the loop stays usable). */
MOL_EXTERN int mol_loop_close(mol_loop *loop);

/* ---- Platform client -------------------------------------------------------------------- *
 * (section owned by src/platform; see docs/platform.md)
 *
 * The remote-agent side of the Molecule platform API: register and the token store, secrets,
 * state, heartbeat (and a heartbeat + state-poll loop), peers and discovery with a bounded TTL
 * cache, A2A calls to peers (direct, falling back to the platform proxy), poll-mode inbound
 * with a persisted cursor, reply/notify, and delegation. Everything is asynchronous on one
 * libuv loop; every client on a loop shares one HTTP connection pool.
 *
 * Calls: each asynchronous call returns 0 and later fires its callback exactly once, never from
 * inside the call itself; on a negative return (bad argument, no memory, client closing) the
 * callback never fires and nothing was sent. Later failures, including a request the shared
 * pool cannot queue (MOL_ELIMIT), arrive through the callback.
 * `*out` (optional) receives a handle for mol_platform_cancel(), valid until the callback
 * returns. `call` (optional, NULL = defaults) carries a deadline for the whole operation,
 * retries and back-off sleeps included.
 *
 * Callback errors: 0; MOL_EHTTP (the platform or peer answered with an error status: see
 * res->http_status and res->error); MOL_ERPC (a JSON-RPC error: res->rpc_code/rpc_message);
 * MOL_EJSON (a 2xx whose body is not the JSON expected); MOL_ETIMEDOUT (an attempt's timeout or
 * the call's deadline); MOL_ECANCELED (mol_platform_cancel); MOL_ESHUTDOWN (client closed);
 * MOL_ELIMIT (pool queue full); or a transport error (MOL_ECONNREFUSED, MOL_ECONNRESET,
 * MOL_EOF, ...).
 * Everything reachable from `res` is freed when the callback returns. */

typedef struct mol_platform_client mol_platform_client;
typedef struct mol_platform_req mol_platform_req;

/* 429 retry policy for idempotent GETs (pull_secrets, poll_state, get_peers, discover,
 * fetch_inbound). POSTs are never retried automatically. Retry-After (delta-seconds, rounded
 * up, or an HTTP-date) wins over the computed delay; both are capped at cap_ms. */
typedef struct {
  int max_retries;        /* 0 -> 3 (4 attempts); negative -> no retries */
  unsigned base_ms;       /* first back-off, 0 -> 1000; then doubled: 1 s, 2 s, 4 s */
  unsigned cap_ms;        /* 0 -> 30000 */
  double jitter;          /* +/- fraction of each delay; 0 -> 0.25; negative -> none */
  int retry_server_errors;/* 1: also retry 5xx and transport errors (GETs only); default off */
  uint64_t (*rng)(void *arg); /* uniform 64-bit source for the jitter; NULL -> CSPRNG (tests) */
  void *rng_arg;
} mol_platform_retry_opts;

typedef struct {
  const char *platform_url;  /* required: "http(s)://host[:port][/prefix]"; trailing '/' dropped */
  const char *workspace_id;  /* required; sent lower-cased; must be a safe path component */
  const char *token_dir;     /* NULL -> $HOME/.molecule/<workspace_id> (token in .auth_token) */
  const char *token;         /* optional token to use (kept in memory, not written) */
  const char *org_id;        /* SaaS: X-Molecule-Org-Id on every request; NULL/"" -> none */
  const char *origin;        /* NULL -> platform_url reduced to scheme://host[:port];
                                "" -> no Origin; anything else is sent as given */
  int no_origin;             /* 1: send no Origin header at all */
  const char *cursor_file;   /* poll-mode cursor file (written atomically, 0600); NULL -> none */
  unsigned timeout_ms;       /* per attempt: register, heartbeat, GETs; 0 -> 10000 */
  unsigned inbound_timeout_ms;   /* fetch_inbound and reply/notify attempts; 0 -> 15000 */
  unsigned peer_timeout_ms;  /* each call_peer POST (direct and proxy); 0 -> 30000 */
  unsigned peer_cache_ttl_ms;/* discovered peer URLs; 0 -> 300000 */
  unsigned peer_cache_max;   /* entries per client; 0 -> 64 (oldest evicted first) */
  int send_auth_to_peers;    /* 1: also send the bearer and tenant headers to direct peer URLs
                                (off: a peer URL is a third party and must not get them) */
  unsigned pool_max_conns;   /* connections per origin of the loop's shared pool, 0 -> 16;
                                only the first client created on a loop sets it (as the next) */
  unsigned pool_max_queued;  /* requests waiting for a pooled connection, 0 -> 100000, never
                                below four per client sharing the loop's pool (so a host's
                                starting registrations cannot crowd out the heartbeats of
                                agents already registered); past it a call completes with
                                MOL_ELIMIT */
  mol_platform_retry_opts retry;
} mol_platform_opts;

/* Fills *o from the environment the Python SDK reads: PLATFORM_URL (or MOLECULE_PLATFORM_URL),
 * WORKSPACE_ID (or MOLECULE_WORKSPACE_ID), MOLECULE_WORKSPACE_TOKEN, MOLECULE_ORG_ID,
 * MOLECULE_ORIGIN, MOLECULE_TOKEN_DIR, MOLECULE_CURSOR_FILE. Only fields that are NULL are set;
 * the strings point into the environment. Returns 0, or MOL_EINVAL when the URL or id is still
 * missing afterwards. */
MOL_EXTERN int mol_platform_opts_from_env(mol_platform_opts *o);

/* Creating a client needs a libuv loop: see mol_platform_client_new() in <molecule/uv.h>. */

/* Closes the client: every pending call completes with MOL_ESHUTDOWN, a running loop (below)
 * reports MOL_PLATFORM_STOPPED, then cb(arg) fires (never inside this call; cb may be NULL). */
MOL_EXTERN void mol_platform_client_close(mol_platform_client *c, void (*cb)(void *arg),
                                          void *arg);

/* Saves a token to the token store (the CLI's --token): stripped, refused when blank
 * (MOL_EINVAL); the directory is created 0700 and the file written to a temporary 0600 file,
 * fsync'ed and renamed over .auth_token, so a concurrent writer never sees it truncated. The
 * client uses it from now on. Blocking (a tiny file); returns 0 or a negative errno. */
MOL_EXTERN int mol_platform_save_token(mol_platform_client *c, const char *token);
/* 1 when the client has a token (in memory, or read from the token file), else 0. */
MOL_EXTERN int mol_platform_has_token(const mol_platform_client *c);
/* 1 when an Authorization header value is exactly "Bearer <this workspace's token>", compared
 * in constant time; 0 otherwise, and always 0 while no token is known (fail closed). For
 * routes an agent serves to its own platform (e.g. /transcript). */
MOL_EXTERN int mol_platform_check_bearer(const mol_platform_client *c, const char *authorization);

/* Aborts a call: its callback fires with MOL_ECANCELED on a later loop iteration (unless it
 * already fired). */
MOL_EXTERN void mol_platform_cancel(mol_platform_req *r);

typedef struct {
  unsigned deadline_ms;      /* whole operation, retries included; 0 -> only per-attempt
                                timeouts (the retry count keeps the total bounded) */
} mol_platform_call;

typedef enum {
  MOL_PLATFORM_SRC_UNKNOWN = 0,
  MOL_PLATFORM_SRC_CANVAS_USER,
  MOL_PLATFORM_SRC_PEER_AGENT
} mol_platform_source;

typedef struct {             /* one inbound activity row (poll mode) */
  const char *activity_id;   /* the cursor value */
  mol_platform_source source;
  const char *source_id;     /* "" when absent */
  const char *text;          /* data.text or data.message; may be "" */
  const char *peer_name, *peer_role, *agent_card_url; /* "" when absent */
  const char *raw_json;      /* the whole row, serialized */
} mol_platform_message;

typedef struct {             /* one row of get_peers */
  const char *id, *name, *url;
  const char *role;          /* "" when absent or JSON null */
  int tier;                  /* 2 when absent, null or 0 */
  const char *status;        /* "unknown" when absent */
  const char *agent_card_json; /* "{}" when absent */
} mol_platform_peer;

typedef struct {
  int http_status;           /* final HTTP status; 0 when no response arrived */
  const char *body;          /* final response body (NUL-terminated) or NULL */
  size_t body_len;
  const char *error;         /* the body's "error" string on an error status, else NULL */
  unsigned attempts;         /* HTTP requests sent by this call */
  uint64_t retry_after_ms;   /* Retry-After of the final response when present, else 0 */
  /* JSON-RPC (call_peer): */
  int rpc_code;              /* 0 when none */
  const char *rpc_message;
  const char *text;          /* call_peer: the reply text (parts, artifacts, status message) */
  int via_proxy;             /* call_peer: answered through the platform proxy */
  int queued;                /* call_peer: the proxy queued it (202/poll mode); no reply here */
  /* register: */
  int token_issued;          /* a new auth_token came back and was saved */
  /* poll_state: */
  const char *status;        /* server status string ("online", "paused", "removed", ...) */
  int paused, deleted;
  int misrouted;             /* 404 without deleted:true: tenant guard / WAF, not a deletion */
  /* discover: */
  const char *url;           /* http(s) URL of the peer, or NULL (404 or not http) */
  /* get_peers: */
  const mol_platform_peer *peers;
  size_t npeers;
  /* fetch_inbound: */
  const mol_platform_message *messages;
  size_t nmessages;
  int cursor_lost;           /* 410: the client's cursor was reset */
  /* delegate: */
  const char *delegation_id;
  int idempotent_hit;
  /* memory, memories, delegations, approvals: */
  const char *id;            /* memory_commit: the memory id; request_approval: approval_id */
  long long version;         /* memory_get/memory_set: the key's version; on a 409 from
                                memory_set: the current version (0 when the key is absent) */
  const char *item;          /* delegation_status/approval_get: the row as JSON text */
} mol_platform_result;

typedef void (*mol_platform_cb)(int err, const mol_platform_result *res, void *arg);

/* POST /registry/register {id, url, agent_card}, with the bearer whenever a token is known (so a
 * re-register passes the platform's hijack guard). A returned auth_token is saved to the token
 * store before the callback. On 401 the token file is re-read and, if it changed, the call is
 * retried once. */
typedef struct {
  const char *reported_url;  /* NULL/"" -> "remote://no-inbound" (poll mode) */
  const char *agent_card_json; /* NULL -> {"name":"remote-agent-<first 8 chars of id>"} */
  /* Instead of agent_card_json (which wins when both are set): called with card_arg each time
   * the registration is sent - when a connection to the platform is free for it, so a
   * registration waiting for one holds no card text - and returns the card JSON, malloc'd
   * (the client frees it), or NULL for out of memory. Not JSON: the call ends with MOL_EJSON.
   * card_arg must stay valid until the call's callback has run. */
  char *(*agent_card_fn)(void *card_arg);
  void *card_arg;
} mol_platform_register_opts;
MOL_EXTERN int mol_platform_register(mol_platform_client *c, const mol_platform_register_opts *o,
                                     const mol_platform_call *call, mol_platform_cb cb,
                                     void *arg, mol_platform_req **out);

/* GET /workspaces/<id>/secrets/values. res->body is the JSON object of name -> value ("{}" for a
 * null body). Secret values are never logged. */
MOL_EXTERN int mol_platform_pull_secrets(mol_platform_client *c, const mol_platform_call *call,
                                         mol_platform_cb cb, void *arg, mol_platform_req **out);

/* GET /workspaces/<id>/state: res->status/paused/deleted. A 404 whose body has deleted:true is
 * a deletion (err 0, deleted 1); any other 404 is MOL_EHTTP with res->misrouted set. */
MOL_EXTERN int mol_platform_poll_state(mol_platform_client *c, const mol_platform_call *call,
                                       mol_platform_cb cb, void *arg, mol_platform_req **out);

/* Capability flags reported in runtime_metadata.capabilities. */
#define MOL_PLATFORM_CAP_HEARTBEAT           (1u << 0)
#define MOL_PLATFORM_CAP_SCHEDULER           (1u << 1)
#define MOL_PLATFORM_CAP_SESSION             (1u << 2)
#define MOL_PLATFORM_CAP_STATUS_MGMT         (1u << 3)
#define MOL_PLATFORM_CAP_RETRY               (1u << 4)
#define MOL_PLATFORM_CAP_ACTIVITY_DECORATION (1u << 5)
#define MOL_PLATFORM_CAP_CHANNEL_DISPATCH    (1u << 6)

/* The full heartbeat payload, sent every time: the platform clears its idle-timeout override
 * and capability map on a heartbeat without runtime_metadata, so it is always included. */
typedef struct {
  const char *current_task;  /* NULL -> "" */
  int active_tasks;
  double error_rate;         /* 0..1 */
  const char *sample_error;  /* NULL -> "" */
  long long monthly_spend;   /* cents; sent only when > 0 */
  const char *runtime_state; /* NULL -> "" (healthy); "wedged" */
  unsigned capabilities;     /* MOL_PLATFORM_CAP_* */
  int idle_timeout_seconds;  /* > 0: sent (sets the override); 0: omitted (clears it) */
} mol_platform_heartbeat_payload;

/* POST /registry/heartbeat with the payload plus workspace_id and uptime_seconds (since the
 * client was created). p may be NULL (all defaults). */
MOL_EXTERN int mol_platform_heartbeat(mol_platform_client *c,
                                      const mol_platform_heartbeat_payload *p,
                                      const mol_platform_call *call, mol_platform_cb cb,
                                      void *arg, mol_platform_req **out);

/* GET /registry/<id>/peers: res->peers. Peers with http(s) URLs seed the discovery cache. */
MOL_EXTERN int mol_platform_get_peers(mol_platform_client *c, const mol_platform_call *call,
                                      mol_platform_cb cb, void *arg, mol_platform_req **out);

/* The peer's URL: from the cache while fresh (no request), else GET /registry/discover/<t>.
 * res->url is NULL on 404 or a non-http URL (err 0). */
MOL_EXTERN int mol_platform_discover(mol_platform_client *c, const char *target_id,
                                     const mol_platform_call *call, mol_platform_cb cb,
                                     void *arg, mol_platform_req **out);
/* Drops a cached URL (idempotent). */
MOL_EXTERN void mol_platform_invalidate_peer(mol_platform_client *c, const char *target_id);

/* Sends text to a peer as A2A message/send. With prefer_direct the peer's own URL is tried
 * first (without the platform bearer unless send_auth_to_peers); a transport error, a 5xx, an
 * unparsable reply or a failed discovery falls back to POST /workspaces/<t>/a2a through the
 * platform with a fresh JSON-RPC id. A 4xx from the peer is surfaced (the peer got the
 * message; resending could duplicate it). res->text is the reply text; a JSON-RPC error is
 * MOL_ERPC. */
typedef struct {
  int proxy_only;            /* 1: skip discovery and the direct attempt */
  const char *message_id;    /* NULL -> a fresh uuid; e.g. a delegation id, which the platform
                                uses to stitch the reply into that delegation's record */
  unsigned timeout_ms;       /* each attempt; 0 -> the client's peer_timeout_ms */
} mol_platform_call_peer_opts;
MOL_EXTERN int mol_platform_call_peer(mol_platform_client *c, const char *target_id,
                                      const char *text, const mol_platform_call_peer_opts *o,
                                      const mol_platform_call *call, mol_platform_cb cb,
                                      void *arg, mol_platform_req **out);

/* Extracts the reply text from a JSON-RPC reply body (pure; no client needed). Looks at
 * result.parts, then result.artifacts[].parts, then result.status.message.parts (text parts
 * tagged "kind" or "type"); a reply with none yields the raw body. Returns 0 with *text
 * (malloc'd, caller frees), MOL_ERPC with *rpc_code and *rpc_message (malloc'd, may be NULL),
 * or MOL_EJSON. */
MOL_EXTERN int mol_platform_reply_text(const char *body, size_t len, char **text, int *rpc_code,
                                       char **rpc_message);

/* GET /workspaces/<id>/activity?type=&limit=[&since_id=&peer_id=&before_ts=]. since_id
 * defaults to the client's cursor. A 410 (cursor gone, also after 429 retries) resets the
 * cursor (and its file) and completes with MOL_EHTTP and res->cursor_lost. */
typedef struct {
  const char *type;          /* NULL -> "a2a_receive" */
  unsigned limit;            /* 0 -> 100 */
  const char *since_id;      /* NULL -> the client's cursor */
  int ignore_cursor;         /* 1: do not send the client's cursor */
  const char *peer_id;       /* optional filter */
  const char *before_ts;     /* optional RFC 3339 */
} mol_platform_fetch_opts;
MOL_EXTERN int mol_platform_fetch_inbound(mol_platform_client *c,
                                          const mol_platform_fetch_opts *o,
                                          const mol_platform_call *call, mol_platform_cb cb,
                                          void *arg, mol_platform_req **out);
/* The client's cursor (NULL when none) and a setter that also persists it atomically. */
MOL_EXTERN const char *mol_platform_cursor(const mol_platform_client *c);
MOL_EXTERN int mol_platform_set_cursor(mol_platform_client *c, const char *activity_id);

/* Replies to an inbound message: a canvas user -> POST /workspaces/<self>/notify; a peer ->
 * POST /workspaces/<source_id>/a2a (message/send, role "agent", X-Source-Workspace-Id).
 * Returns MOL_EINVAL at once for blank text, an unknown source or a peer without source_id. */
MOL_EXTERN int mol_platform_reply(mol_platform_client *c, const mol_platform_message *m,
                                  const char *text, const mol_platform_call *call,
                                  mol_platform_cb cb, void *arg, mol_platform_req **out);
/* POST /workspaces/<self>/notify {"message": text}. */
MOL_EXTERN int mol_platform_notify(mol_platform_client *c, const char *text,
                                   const mol_platform_call *call, mol_platform_cb cb, void *arg,
                                   mol_platform_req **out);

/* POST /workspaces/<self>/delegate {target_id, task, idempotency_key}: the platform's real
 * path and body. res->delegation_id, res->idempotent_hit. */
typedef struct {
  const char *idempotency_key; /* NULL -> mol_platform_idempotency_key(task, now) */
  unsigned timeout_ms;       /* the attempt's timeout; 0 -> 300000 */
} mol_platform_delegate_opts;
MOL_EXTERN int mol_platform_delegate(mol_platform_client *c, const char *target_id,
                                     const char *task, const mol_platform_delegate_opts *o,
                                     const mol_platform_call *call, mol_platform_cb cb,
                                     void *arg, mol_platform_req **out);

/* sha256_hex("<task>:<unix_s rounded down to the minute>"), as the Python SDK: 64 lower-case
 * hex chars + NUL into out. */
MOL_EXTERN void mol_platform_idempotency_key(const char *task, int64_t unix_s, char out[65]);

/* Terminal status of mol_platform_run. */
typedef enum {
  MOL_PLATFORM_PAUSED = 1,   /* state poll: paused */
  MOL_PLATFORM_DELETED,      /* state poll: deleted */
  MOL_PLATFORM_STOPPED,      /* mol_platform_stop() or client close */
  MOL_PLATFORM_ERROR,        /* persistent 401 or misrouted 404 on /state: see err */
  MOL_PLATFORM_MAX_ITERATIONS /* run_opts.max_heartbeats reached */
} mol_platform_status;

/* Called exactly once when the loop ends; server_status is the platform's status string (or
 * NULL). */
typedef void (*mol_platform_status_cb)(mol_platform_status st, int err,
                                       const char *server_status, void *arg);
/* Inbound message of the poll loop. Called in order; the cursor advances past the message
 * whatever the handler does (at-least-once delivery: a crash before the cursor is saved
 * redelivers). The handler may call mol_platform_reply(). */
typedef void (*mol_platform_message_cb)(mol_platform_client *c, const mol_platform_message *m,
                                        void *arg);

/* The outcome of one heartbeat the loop sent: err 0 when the platform accepted it, else the
 * error (MOL_EHTTP with res->http_status, a transport error, or MOL_ECANCELED / MOL_ESHUTDOWN
 * when the loop ended with it in flight). pushed is 1 for a beat sent early on request
 * (mol_platform_beat_soon), 0 for a periodic one, including one a request was merged into.
 * Called exactly once per heartbeat, after it ends, from the loop: never inside
 * mol_platform_run() or mol_platform_beat_soon(). res is valid during the call only. */
typedef void (*mol_platform_beat_cb)(mol_platform_client *c, int err,
                                     const mol_platform_result *res, int pushed, void *arg);

typedef struct {
  unsigned heartbeat_interval_ms;   /* 0 -> 30000 */
  unsigned state_poll_interval_ms;  /* 0 -> 30000; its own cadence (when equal to the
                                       heartbeat's, each poll follows a heartbeat) */
  unsigned inbound_interval_ms;     /* 0 -> 5000; used when on_message is set */
  unsigned max_backoff_ms;          /* failing heartbeats retry at 1 s, 2 s, 4 s ... up to this;
                                       0 -> heartbeat_interval_ms */
  unsigned max_heartbeats;          /* 0 -> unlimited; else MOL_PLATFORM_MAX_ITERATIONS */
  unsigned max_auth_failures;       /* consecutive 401 / misrouted 404 on /state before
                                       MOL_PLATFORM_ERROR; 0 -> 3 */
  /* Fills the payload before each heartbeat (strings must stay valid until the next call);
   * error_rate and sample_error are pre-filled from the loop's own failure count. */
  void (*task_supplier)(mol_platform_client *c, mol_platform_heartbeat_payload *p, void *arg);
  void *supplier_arg;
  mol_platform_message_cb on_message; /* NULL: no inbound polling */
  void *message_arg;
  mol_platform_beat_cb on_beat;     /* NULL: heartbeat outcomes are not reported */
  void *beat_arg;
} mol_platform_run_opts;

/* Starts the heartbeat loop (first heartbeat at once), the state-poll loop and, with
 * on_message, the inbound poll loop. Returns 0, MOL_EBUSY (already running) or MOL_EINVAL. */
MOL_EXTERN int mol_platform_run(mol_platform_client *c, const mol_platform_run_opts *o,
                                mol_platform_status_cb cb, void *arg);
/* Ends the loop with MOL_PLATFORM_STOPPED (the callback fires on a later iteration). */
MOL_EXTERN void mol_platform_stop(mol_platform_client *c);

/* Asks the running loop for a heartbeat soon (say, a task started or ended), so the platform
 * sees current_task, active_tasks, error_rate and sample_error change without waiting for the
 * interval. It is the loop's own beat: the same full payload as a periodic one (task_supplier
 * plus the recorded outcomes, which it consumes when accepted), reported through on_beat.
 * Requests within 25 ms share one beat, and merge into the periodic beat when that is due
 * within the window; at most one heartbeat is in flight, and requests made during one get one
 * more beat 25 ms after it ends. An early beat leaves the periodic cadence alone. While
 * heartbeats fail, requests wait for the back-off retry (which carries the latest payload).
 * Returns 0, MOL_EINVAL (no loop running on c) or MOL_ESHUTDOWN (the loop is ending). */
MOL_EXTERN int mol_platform_beat_soon(mol_platform_client *c);

/* Records the outcome of one unit of the agent's own work (a handled task or message). The
 * loop reports error_rate = failures / outcomes since the last successful heartbeat, and the
 * latest failure's message as sample_error (copied; NULL -> ""). */
MOL_EXTERN void mol_platform_record_outcome(mol_platform_client *c, int ok,
                                            const char *sample_error);

/* ---- end of Platform client ---- */

#include "molecule/platform_tools.h" /* memory, delegations, approvals, workspace info */
#include "molecule/a2a.h"            /* executor and turn, A2A server and client */
#include "molecule/agent.h"          /* an agent registered with a platform */
#include "molecule/plugin.h"         /* mol_plugin_install */
#include "molecule/host.h"           /* many agents behind one listener */

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_H */
