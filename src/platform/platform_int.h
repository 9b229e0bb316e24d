/* platform_int.h - internals of the platform client, shared by the files of src/platform.
 *
 * A client is small (strings, options and a few counters): no buffers are kept between calls
 * and every client on a loop shares one mol_http_client. A call is a mol_platform_req that runs
 * one or more HTTP exchanges in sequence; the exchange engine (call.c) adds the headers,
 * retries 429s on GETs, re-reads the token once on a 401, enforces the call's deadline, and
 * then hands the final outcome to the call's `step` function, which either starts another
 * exchange or finishes the call. */
#ifndef MOL_PLATFORM_INT_H
#define MOL_PLATFORM_INT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "base/holds.h"
#include "http/client.h"
#include "molecule.h"
#include "molecule/uv.h"

#define MOL_PLATFORM__SCOPE "platform"
/* Real tokens are 43 characters; anything near this is not a token. */
#define MOL_PLATFORM__TOKEN_MAX 512
#define MOL_PLATFORM__TOKEN_FILE ".auth_token"

/* Headers an exchange carries (the Python SDK's bundles: auth, tenant, X-Workspace-ID, JSON). */
enum {
  MOL_PLATFORM__H_AUTH = 1u << 0,   /* Authorization: Bearer <token>, when a token is known */
  MOL_PLATFORM__H_TENANT = 1u << 1, /* X-Molecule-Org-Id and Origin, when configured */
  MOL_PLATFORM__H_WS = 1u << 2,     /* X-Workspace-ID: <self> */
  MOL_PLATFORM__H_JSON = 1u << 3,   /* Content-Type: application/json */
  MOL_PLATFORM__H_SOURCE = 1u << 4, /* X-Source-Workspace-Id: <self> (reply to a peer) */
  MOL_PLATFORM__RETRY = 1u << 5,    /* idempotent GET: retry 429 (and 5xx when configured) */
  MOL_PLATFORM__REAUTH = 1u << 6,   /* 401: re-read the token file, retry once if it changed */
  MOL_PLATFORM__H_MULTIPART = 1u << 7, /* Content-Type: multipart/form-data (uploads.c) */
  MOL_PLATFORM__H_REGKEY = 1u << 8, /* Idempotency-Key: <registration key>, while no token */
  MOL_PLATFORM__REGISTER = 1u << 9, /* a registration: at most half the connections (gate.c) */
};

/* The boundary of every multipart body we send; uploads.c refuses a file that contains it. */
#define MOL_PLATFORM__BOUNDARY "molecule-upload-7c3f9a2e4b8d1f6a0e5c9b3d7a1f4e8c"

typedef struct mol_platform__peer mol_platform__peer;
typedef struct mol_platform__run mol_platform__run;
typedef struct mol_platform__part mol_platform__part;
typedef struct mol_platform__shared mol_platform__shared;
typedef struct mol_platform__gate mol_platform__gate;
/* Calls whose completion is deferred to a later loop turn (mol_platform__finish_later), one
 * queue and idle handle per loop (in its shared pool) rather than a timer per call. */
typedef struct {
  uv_idle_t idle;
  mol_platform_req *head, *tail;
} mol_platform__later;
typedef void (*mol_platform__step_fn)(mol_platform_req *r, int err, const mol_http_response *resp);
/* Builds a late exchange's url and body (r->url, r->body, r->body_len) when a connection is
 * free for it (mol_platform__exchange_late). Returns 0 or an error, which ends the call. */
typedef int (*mol_platform__build_fn)(mol_platform_req *r);

/* A feature's teardown, registered with its client (mol_platform__part_add) by the feature
 * itself, so the client knows no feature by name. When the client closes, each part's `stop`
 * runs, newest first, and then every live call ends; the client waits until nothing holds it
 * (its holds), then each part's `free` runs and the client is freed. Either may be NULL. */
struct mol_platform__part {
  void (*stop)(mol_platform_client *c, mol_platform__part *self);
  void (*free)(mol_platform_client *c, mol_platform__part *self);
  mol_platform__part *next;
};

struct mol_platform_client {
  uv_loop_t *loop;
  mol_platform__shared *shared;
  mol_http_client *http;
  mol_platform__gate *gate; /* shared with the loop's other clients of this platform */
  mol_platform__later *later; /* the loop's deferred completions (in its shared pool) */
  const char *base_url; /* trailing '/' stripped; the gate's once it has one (own_base_url
                           until then) */
  char *ws_id;         /* lower-cased */
  char *token_path;    /* <token_dir>/.auth_token (the directory is not kept apart) */
  char *token;         /* NULL until known */
  unsigned token_gen;  /* bumped whenever token changes: a 401 retries only for an older one */
  char *org_id;        /* NULL: no X-Molecule-Org-Id */
  char *origin;        /* NULL: no Origin, unless origin_len */
  unsigned origin_len; /* > 0: the Origin is base_url's first origin_len characters (the
                          default, derived from it), and origin is NULL */
  char *cursor_file;   /* NULL: cursor kept in memory only */
  char *cursor;        /* NULL: no cursor */
  char *sample_error;  /* latest failure recorded by mol_platform_record_outcome */
  unsigned outcomes, failures;
  unsigned timeout_ms, inbound_timeout_ms, peer_timeout_ms;
  unsigned cache_ttl_ms, cache_max, cache_len;
  mol_platform_retry_opts retry;
  uint64_t start_ms;   /* uv_now at creation, for uptime_seconds */
  mol_platform__peer *peers;     /* uthash head (peers.c) */
  mol_platform__part cache_part; /* peers.c's teardown, registered with the first entry */
  mol_platform_req *reqs;        /* live calls (call.c) */
  mol_platform__run *run;        /* the heartbeat/state/inbound loop (loop.c) */
  mol_platform__part *parts;     /* registered teardowns, newest first */
  mol_holds holds;               /* its own until close, each call until freed, the loop;
                                    finishes from the loop's shared idle handle (platform.c) */
  void (*close_cb)(void *arg);
  void *close_arg;
  char reg_key[33];    /* the registration key (registry.c), "" until the first register */
  unsigned send_auth_to_peers : 1;
  unsigned closing : 1;
  unsigned own_base_url : 1; /* base_url is this client's copy (before the gate is had) */
  unsigned lockout_logged : 1; /* the register-refused explanation was logged (registry.c) */
};

struct mol_platform_req {
  mol_platform_client *c;
  mol_platform_req *prev, *next;
  mol_http_request *http;  /* in flight */
  uv_timer_t *timer;       /* back-off sleeps and deadlines while waiting for a connection:
                              allocated when first needed (most calls never sleep) */
  mol_platform_req *later_next; /* in the loop's deferred completions, when later_queued */
  uint64_t deadline;       /* uv_now ms; 0 = none */
  mol_platform_cb cb;
  void *arg;
  mol_platform__step_fn step;
  mol_platform__build_fn build; /* a late exchange: url and body made when it is sent */
  /* the current exchange */
  const char *method;
  char *url;
  char *body;
  size_t body_len;
  unsigned flags;
  unsigned attempt_ms;
  unsigned retries;        /* retries done in this exchange */
  int deferred_err;        /* outcome delivered by the timer (cache hits, cancel) */
  unsigned later_queued : 1;
  unsigned canceled : 1;
  unsigned shutdown : 1;
  unsigned reauthed : 1;
  unsigned newest_first : 1; /* activity fetched without since_id: rows come newest first */
  unsigned sent_token_gen;  /* the client's token_gen when this attempt was sent */
  unsigned finished : 1;
  unsigned sleeping : 1;
  unsigned deferred : 1;
  unsigned saving : 1;       /* its token is being written in the thread pool (token.c) */
  unsigned gate_slot : 1;    /* holds one of the platform's connections (gate.c) */
  unsigned gate_waiting : 1; /* waits for one, linked below */
  mol_platform_req *gate_prev, *gate_next;
  uint64_t gate_seq;
  /* per-operation data */
  int stage;
  char *s1, *s2, *s3;      /* operation strings (target id, text, message id ...) */
  json_t *json;            /* parsed body kept for the result's pointers */
  int json_fresh;          /* r->json was parsed from the response being handled */
  void *op;                /* operation-owned block, freed with free() */
  void (*op_free)(mol_platform_req *r);
  mol_platform_result res;
};

/* ---- call.c: calls and the exchange engine ---- */
/* Sets a new call's first exchange (mol_platform__exchange), or arranges its finish
 * (mol_platform__finish_later). ctx is what the operation was called with. Returns 0, or an
 * error and the call is dropped. */
typedef int (*mol_platform__start_fn)(mol_platform_req *r, const void *ctx);
/* Starts a call: a new request (MOL_EINVAL without c or cb, MOL_ESHUTDOWN once the client is
 * closing), then start(r, ctx). On an error nothing was sent and cb never fires; on 0 cb fires
 * exactly once, never inside this call, and *out (when out is not NULL) is the handle. */
int mol_platform__call(mol_platform_client *c, const mol_platform_call *call, mol_platform_cb cb,
                       void *arg, mol_platform__start_fn start, const void *ctx,
                       mol_platform_req **out);
/* Sets the next exchange (url and body are taken over; NULL means out of memory) and starts
 * it. Returns MOL_ENOMEM for a missing url or body, else 0: a failure to send finishes the call
 * on a later iteration. */
int mol_platform__exchange(mol_platform_req *r, const char *method, char *url, char *body,
                           size_t body_len, unsigned flags, unsigned attempt_ms,
                           mol_platform__step_fn step);
/* Like mol_platform__exchange, but the exchange goes to the platform (base_url) and its url
 * and body are made by build(r) only when a connection is free for it: a call waiting at the
 * gate holds what it needs to build them (a few fields), not its wire text. */
int mol_platform__exchange_late(mol_platform_req *r, const char *method,
                                mol_platform__build_fn build, unsigned flags,
                                unsigned attempt_ms, mol_platform__step_fn step);
/* Finishes the call now: the callback fires, then the call is freed. */
void mol_platform__finish(mol_platform_req *r, int err);
/* Finishes the call on a later loop iteration. */
void mol_platform__finish_later(mol_platform_req *r, int err);
/* Common handling of a final response: sets res fields, parses an error body. Returns the
 * callback error (0 for 2xx). */
int mol_platform__response_err(mol_platform_req *r, int err, const mol_http_response *resp);
/* Parses resp's body into r->json (object or array expected). MOL_EJSON when not JSON. */
int mol_platform__parse_body(mol_platform_req *r, const mol_http_response *resp);
/* The client is closing: every live call ends with MOL_ESHUTDOWN. */
void mol_platform__calls_shutdown(mol_platform_client *c);

/* The Origin header's value into buf (cap bytes), or NULL when none is sent. */
const char *mol_platform__origin(const mol_platform_client *c, char *buf, size_t cap);
/* The loop's shared queue of finishing objects (the clients', their run loops'). */
mol_holds_shared *mol_platform__finishing(mol_platform_client *c);

/* The loop's deferred completions: set up with the shared pool; its idle handle is closed
 * (uv_close) with it, once no client is left. */
void mol_platform__later_init(uv_loop_t *loop, mol_platform__later *l);
/* Sends the current attempt at once (gate.c hands it a connection). */
void mol_platform__attempt_go(mol_platform_req *r);

/* ---- gate.c: the platform's connections, shared by the loop's clients ---- */
/* The gate of base_url in list (created with `slots` connections, 0 -> 16, and room for
 * max_waiting attempts in line, 0 -> 100000), referenced. */
int mol_platform__gate_get(mol_platform__gate **list, const char *base_url, unsigned slots,
                           unsigned max_waiting, mol_platform__gate **out);
void mol_platform__gate_put(mol_platform__gate **list, mol_platform__gate *g);
/* The gate's base URL: its clients use it as theirs rather than keep a copy each. */
const char *mol_platform__gate_url(const mol_platform__gate *g);
/* 1: the attempt may be sent now (a connection is its own, or it is not for the platform);
 * 0: it waits in line and mol_platform__attempt_go() sends it when its turn comes;
 * MOL_ELIMIT: the line is full. */
int mol_platform__gate_enter(mol_platform_req *r);
/* Takes a waiting attempt out of line (canceled, or its deadline passed). */
void mol_platform__gate_unqueue(mol_platform_req *r);
/* Gives back the attempt's connection, if it holds one; pump: hand it on to those waiting. */
void mol_platform__gate_leave(mol_platform_req *r, int pump);

/* ---- platform.c: the client and its helpers ---- */
void mol_platform__part_add(mol_platform_client *c, mol_platform__part *p);
void mol_platform__part_remove(mol_platform_client *c, mol_platform__part *p);
/* Returns malloc'd base_url + path (path printf-style). */
char *mol_platform__url(const mol_platform_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "scheme://host[:port]" of url, malloc'd, or NULL (MOL_EURL). */
char *mol_platform__origin_of(const char *url);
int mol_platform__valid_id(const char *id);
/* A lower-cased copy of a valid id (ids go out as lower-case canonical UUIDs, since the
 * platform compares them as strings), or NULL (invalid or no memory). */
char *mol_platform__id_dup(const char *id);

/* ---- retry.c: the pure 429 policy ---- */
/* Delay before retry number `retry` (1-based) after a retryable response. retry_after is the
 * response's Retry-After value or NULL. Returns 1 and sets *delay_ms when another attempt is
 * allowed, else 0. */
int mol_platform__retry_delay(const mol_platform_retry_opts *p, unsigned retry,
                              const char *retry_after, int64_t now_unix_s, uint64_t *delay_ms);
/* Parses Retry-After: delta-seconds (fractions rounded up) or an HTTP-date. 0 or MOL_EINVAL. */
int mol_platform__retry_after_ms(const char *value, int64_t now_unix_s, uint64_t *delay_ms);
/* Heartbeat-loop back-off after `failures` consecutive failures (1-based). */
uint64_t mol_platform__loop_backoff(const mol_platform_retry_opts *p, unsigned failures,
                                    unsigned cap_ms);
void mol_platform__retry_defaults(mol_platform_retry_opts *p);

/* ---- token.c: the token store ---- */
int mol_platform__default_token_dir(const char *ws_id, char **out);
int mol_platform__token_reload(mol_platform_client *c, int *changed);
void mol_platform__token_set(mol_platform_client *c, const char *token);
/* Saves token as mol_platform_save_token does, in the thread pool, so the loop (and the
 * registrations behind this one) never waits on its fsyncs; then, on the loop, sets it and
 * calls done(r, 0 or error). The call is not finished meanwhile (r->saving). */
int mol_platform__token_save_async(mol_platform_req *r, const char *token,
                                   void (*done)(mol_platform_req *r, int err));

/* ---- heartbeat.c ---- */
/* Serializes the heartbeat body into buf. Returns the length, or MOL_ETOOBIG/MOL_ENOMEM. */
int mol_platform__heartbeat_json(const char *ws_id, const mol_platform_heartbeat_payload *p,
                                 long long uptime_s, char **out);

/* ---- peers.c ---- */
const char *mol_platform__cache_get(mol_platform_client *c, const char *id, uint64_t now_ms);
int mol_platform__cache_put(mol_platform_client *c, const char *id, const char *url,
                            uint64_t now_ms);
int mol_platform__is_http_url(const char *url);

/* ---- inbound.c ---- */
/* Parses one activity row; 0 on success, MOL_EINVAL when the row is dropped. Strings point
 * into row (and raw_json is malloc'd into *raw). */
int mol_platform__parse_activity_row(json_t *row, mol_platform_message *m, char **raw);

/* ---- cursor.c: the inbound cursor and its file ---- */
/* Reads cursor_file, if any (an unreadable file is logged and means no cursor). Returns 0. */
int mol_platform__cursor_load(mol_platform_client *c);
/* Sets the cursor (NULL or "" clears it) and writes it to cursor_file, if any. */
int mol_platform__cursor_store(mol_platform_client *c, const char *id);

/* ---- json_call.c: one exchange with a JSON answer ---- */
/* Starts a call of one exchange (bearer, tenant, X-Workspace-ID, token re-read on 401, plus
 * flags; Content-Type JSON when body is not NULL). url and body (malloc'd, may be NULL) are
 * taken over whatever happens. step NULL -> mol_platform__json_done. */
int mol_platform__json_call(mol_platform_client *c, const char *method, char *url, char *body,
                            unsigned flags, mol_platform__step_fn step,
                            const mol_platform_call *call, mol_platform_cb cb, void *arg,
                            mol_platform_req **out);
/* The default step: error handling, then res->id/version/status from an object answer. */
void mol_platform__json_done(mol_platform_req *r, int err, const mol_http_response *resp);
/* Percent-encodes everything but RFC 3986 unreserved characters; malloc'd or NULL. */
char *mol_platform__pct_encode(const char *s);
/* Dumps v compactly and drops the reference; malloc'd or NULL (also for v NULL). */
char *mol_platform__dump(json_t *v);

/* ---- delegate.c ---- */
/* The delegate answer's delegation_id (a new string, NULL when absent or not a string) and
 * idempotent_hit: read with the scanner (0: left to jansson) or with jansson (0: not JSON). */
int mol_platform__delegate_answer_scan(const char *body, size_t len, char **id, int *hit);
int mol_platform__delegate_answer_dom(const char *body, size_t len, char **id, int *hit);

/* ---- delegations.c ---- */
/* GET <path_fmt with the workspace id>, then the row whose "id" is id: res->status, res->item;
 * MOL_ENOENT when the list has no such row. */
int mol_platform__get_one(mol_platform_client *c, const char *path_fmt, const char *id,
                          const mol_platform_call *call, mol_platform_cb cb, void *arg,
                          mol_platform_req **out);

/* ---- call_peer.c ---- */
/* Builds a message/send body; ids are fresh UUIDs unless given. Returns malloc'd JSON. */
char *mol_platform__message_send_body(const char *text, const char *role, const char *message_id);

#endif
