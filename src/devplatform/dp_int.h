/* dp_int.h - internals of the dev platform shared by its files (mol_dp__ prefix). Not installed. */
#ifndef MOL_DEVPLATFORM_DP_INT_H
#define MOL_DEVPLATFORM_DP_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include <uv.h>

#include "base/crypto.h"
#include "base/holds.h"
#include "base/json.h"
#include "devplatform/devplatform.h"
#include "devplatform/sqlite_dl.h"

#define MOL_DP__TOKEN_LEN 43          /* 32 bytes, base64url without padding */
#define MOL_DP__ID_MAX 64             /* workspace ids are uuids; we accept up to this length */
#define MOL_DP__MAX_SEGS 6

/* ---- store.c: schema, prepared statements, the per-iteration write transaction ----------- */

typedef enum {
  MOL_DP__ST_WS_GET,            /* full row by id */
  MOL_DP__ST_WS_INSERT,
  MOL_DP__ST_WS_REGISTER,       /* url, card, mode, status online */
  MOL_DP__ST_WS_HB_READ,        /* status, max_concurrent_tasks: what a heartbeat needs */
  MOL_DP__ST_WS_HEARTBEAT,
  MOL_DP__ST_WS_SET_STATUS,
  MOL_DP__ST_WS_UPDATE_CARD,
  MOL_DP__ST_WS_CHILDREN,
  MOL_DP__ST_WS_PEERS,
  MOL_DP__ST_WS_LIST,
  MOL_DP__ST_WS_PAUSE_ONE,
  MOL_DP__ST_WS_RESUME_ONE,
  MOL_DP__ST_WS_REMOVE_ONE,
  MOL_DP__ST_WS_LIVENESS_SWEEP,
  MOL_DP__ST_TOK_INSERT,
  MOL_DP__ST_TOK_LOOKUP,
  MOL_DP__ST_TOK_HAS_LIVE,
  MOL_DP__ST_TOK_REVOKE_WS,
  MOL_DP__ST_TOK_TOUCH,
  MOL_DP__ST_SEC_PUT,
  MOL_DP__ST_SEC_DEL,
  MOL_DP__ST_SEC_VALUES,
  MOL_DP__ST_SEC_LIST,
  MOL_DP__ST_ACT_INSERT,
  MOL_DP__ST_ACT_CURSOR,
  MOL_DP__ST_ACT_LIST_ASC,
  MOL_DP__ST_ACT_LIST_DESC,
  MOL_DP__ST_ACT_PRUNE_WS,
  MOL_DP__ST_ACT_PRUNE_AGE,
  MOL_DP__ST_Q_FIND_IDEM,
  MOL_DP__ST_Q_INSERT,
  MOL_DP__ST_Q_DEPTH,
  MOL_DP__ST_Q_CLAIM,
  MOL_DP__ST_Q_SET_STATUS,
  MOL_DP__ST_Q_REQUEUE,
  MOL_DP__ST_Q_RESET_DISPATCHED,
  MOL_DP__ST_Q_PRUNE,
  MOL_DP__ST_KV_GET,
  MOL_DP__ST_KV_LIST,
  MOL_DP__ST_KV_PUT,
  MOL_DP__ST_KV_DEL,
  MOL_DP__ST_MEM_INSERT,
  MOL_DP__ST_MEM_DEL,
  MOL_DP__ST_MEM_SEARCH,
  MOL_DP__ST_DEL_RECORD,
  MOL_DP__ST_DEL_SOURCE,
  MOL_DP__ST_DEL_UPDATE,
  MOL_DP__ST_DEL_LIST,
  MOL_DP__ST_DEL_FIND_IDEM,
  MOL_DP__ST_DEL_DROP,
  MOL_DP__ST_DEL_INSERT,
  MOL_DP__ST_DEL_STITCH,
  MOL_DP__ST_DEL_INTERRUPTED,
  MOL_DP__ST_DEL_STUCK,
  MOL_DP__ST_DEL_GET,
  MOL_DP__ST_APPR_INSERT,
  MOL_DP__ST_APPR_LIST,
  MOL_DP__ST_APPR_DECIDE,
  MOL_DP__ST_APPR_PENDING,
  MOL_DP__ST_INSTR_INSERT,
  MOL_DP__ST_INSTR_DELETE,
  MOL_DP__ST_INSTR_RESOLVE,
  MOL_DP__ST_COUNT
} mol_dp__stmt_id;

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *stmts[MOL_DP__ST_COUNT];
  int in_txn;
  uv_check_t commit_check;  /* commits the iteration's transaction after the loop polled */
  uv_timer_t group_timer;   /* bounds how long a deferred commit waits (store.c) */
  int check_inited;
  uv_close_cb close_cb;
  /* Asked in the check phase: 1 keeps the transaction open for more writes to join it (at most
   * MOL_DP__GROUP_WAIT_MS), 0 commits now. Set by the owner (commit.c), arg is on_end_arg. */
  int (*defer)(void *arg);
  /* Called once after every transaction ends: committed = 1 after COMMIT, 0 after a failed
   * COMMIT was rolled back. Set by the owner after mol_dp__store_open (devplatform.c). */
  void (*on_end)(void *arg, int committed);
  void *on_end_arg;
} mol_dp__store;

int mol_dp__store_open(mol_dp__store *s, uv_loop_t *loop, const char *path);
/* Commits any open transaction and closes the database; then closes the check handle with cb
 * and returns 1, or returns 0 when there was no handle to close. */
int mol_dp__store_close(mol_dp__store *s, uv_close_cb cb);
/* Returns the statement reset, bindings cleared. Writes call mol_dp__store_write_begin first. */
sqlite3_stmt *mol_dp__stmt(mol_dp__store *s, mol_dp__stmt_id id);
/* Opens the iteration's transaction if none is open (committed by the loop's check phase), so
 * a burst of heartbeats costs one commit, not one each. Returns 0 or MOL_EIO. */
int mol_dp__store_write_begin(mol_dp__store *s);
#define MOL_DP__GROUP_WAIT_MS 1
/* Commits the open transaction, if any, then calls on_end. Returns 0 (committed, or nothing
 * was open) or MOL_EIO (the COMMIT failed and the transaction was rolled back). */
int mol_dp__store_commit(mol_dp__store *s);
/* sqlite3_step() for a statement with no result rows; returns 0 or MOL_EIO (logged). */
int mol_dp__exec_stmt(mol_dp__store *s, sqlite3_stmt *st);
/* Column text as a C string ("" for NULL is NOT applied: NULL stays NULL). */
const char *mol_dp__col_text(sqlite3_stmt *st, int col);
void mol_dp__bind_text(sqlite3_stmt *st, int idx, const char *s); /* NULL binds SQL NULL */

/* ---- util.c: ids, tokens, times, replies -------------------------------------------------- */

int mol_dp__is_uuid(const char *s);            /* lower-case canonical 8-4-4-4-12 */
int mol_dp__is_id(const char *s);              /* acceptable workspace id (see util.c) */
int mol_dp__token_new(char out[MOL_DP__TOKEN_LEN + 1]);
void mol_dp__token_hash(const char *tok, uint8_t out[MOL_SHA256_LEN]);
void mol_dp__rfc3339(int64_t unix_ms, char out[32]);
int mol_dp__parse_rfc3339(const char *s, int64_t *unix_ms);
/* Extracts the token from "Bearer <tok>" (exact, case-sensitive prefix; rest trimmed) into
 * out. Returns 1 when a non-empty token was found. */
int mol_dp__bearer(const char *header, char *out, size_t cap);

typedef struct {
  int status;
  json_t *body;             /* owned; NULL = empty body */
  int retry_after;          /* < 0: no Retry-After header */
} mol_dp__reply;

void mol_dp__reply_set(mol_dp__reply *r, int status, json_t *body); /* takes the body */
void mol_dp__reply_err(mol_dp__reply *r, int status, const char *msg);
void mol_dp__reply_free(mol_dp__reply *r);

/* ---- respond.c: the reply writers, below every handler ------------------------------------ */

/* Answers a request (possibly later than the handler returned), through mol_dp__send. */
void mol_dp__respond(mol_devplatform *dp, void *req, mol_dp__reply *r);
/* The same with a body passed through verbatim as application/json (the proxy's 2xx). */
void mol_dp__respond_raw(mol_devplatform *dp, void *req, int status, const char *body, size_t len);

/* ---- commit.c: no reply leaves before the transaction it saw is committed ------------------ */

typedef struct {
  void *req;                /* the server request */
  int status;
  char *body;               /* owned; NULL = empty */
  size_t len;
} mol_dp__held;

typedef struct {
  mol_dp__held *v;
  size_t n, cap;
} mol_dp__held_list;

/* Answers req with status and a JSON body (takes body, malloc'd or NULL): at once when no write
 * transaction is open, else held, in order, until that transaction ends. */
void mol_dp__send(mol_devplatform *dp, void *req, int status, char *body, size_t len);
/* The same for a body the caller keeps (copied only when the reply is held). */
void mol_dp__send_copy(mol_devplatform *dp, void *req, int status, const char *body, size_t len);
/* Once the transaction has ended (the owner's mol_dp__store.on_end): releases the held replies
 * (committed) or answers them 503 (rolled back). */
void mol_dp__held_release(mol_devplatform *dp, int committed);
void mol_dp__held_free(mol_devplatform *dp);
/* The store's defer (commit.c): 1 while replies wait and forwarded calls whose answers could
 * join the same commit are still out. */
int mol_dp__group_wait(void *arg);

/* ---- the per-request view the core sees (filled by devplatform.c from the server request) -- */

typedef struct mol_dp__call {
  mol_devplatform *dp;
  void *req;                /* the server request (devplatform.c's business) */
  const char *method;
  const char *query;        /* raw query string or NULL */
  const char *body;
  size_t body_len;
  char bearer[256];         /* "" when absent */
  const char *caller;       /* X-Workspace-ID, NULL when absent */
  const char *x_timeout;
  const char *host;         /* Host header, for URLs we hand back */
  const char *ctype;        /* Content-Type header or NULL */
  int async;                /* set by the proxy when it will answer later */
  const char *seg[MOL_DP__MAX_SEGS];
  size_t nseg;
  char segbuf[1024];
} mol_dp__call;

/* Query parameter (decoded) into out: 1 present, 0 absent, -1 present but malformed or longer
 * than cap (out is then ""). */
int mol_dp__query_get(const mol_dp__call *c, const char *name, char *out, size_t cap);

/* ---- tokens / auth (auth.c) ---------------------------------------------------------------- */

typedef struct mol_dp__tokcache {
  char hash[MOL_SHA256_HEX_LEN + 1];
  char ws[MOL_DP__ID_MAX + 1];
  UT_hash_handle hh;
} mol_dp__tokcache;

/* 1 when tok is a live token of a non-removed workspace; its workspace id goes to ws_out. */
int mol_dp__token_owner(mol_devplatform *dp, const char *tok, char ws_out[MOL_DP__ID_MAX + 1]);
int mol_dp__token_valid_for(mol_devplatform *dp, const char *tok, const char *ws);
int mol_dp__ws_has_live_token(mol_devplatform *dp, const char *ws);
void mol_dp__token_cache_clear(mol_devplatform *dp);
/* ---- regkey.c: a first register whose answer was lost, answered again ---------------------- */

#define MOL_DP__REGKEY_WINDOW_MS (10 * 60 * 1000)
typedef struct mol_dp__regkey mol_dp__regkey;
/* Remembers that the register of ws presenting key (the Idempotency-Key header, may be NULL)
 * minted tok: hashes of both, for MOL_DP__REGKEY_WINDOW_MS. */
void mol_dp__regkey_note(mol_devplatform *dp, const char *ws, const char *key, const char *tok);
/* 1 when key is the one the register that minted ws's token presented, within the window, and
 * that token is live and was never used: its answer was lost, the registrant asks again. */
int mol_dp__regkey_again(mol_devplatform *dp, const char *ws, const char *key);
/* Revokes the token that mol_dp__regkey_again found unread. 0 or MOL_EIO. */
int mol_dp__regkey_revoke_lost(mol_devplatform *dp, const char *ws);
void mol_dp__regkey_free_all(mol_devplatform *dp);

/* Mints and stores a token for ws; out gets the plaintext. 0 or MOL_EIO. */
int mol_dp__token_mint(mol_devplatform *dp, const char *ws, char out[MOL_DP__TOKEN_LEN + 1]);
/* Registry rule: passes when the workspace has no live token (grandfathered) or
 * the bearer is its token. Fills r with the 401 otherwise and returns 0. */
int mol_dp__auth_grandfather(const mol_dp__call *c, const char *ws, mol_dp__reply *r,
                             const char *missing, const char *invalid);
/* WorkspaceAuth: admin token, or the workspace's own token; no grandfathering. */
int mol_dp__auth_workspace(const mol_dp__call *c, const char *ws, mol_dp__reply *r);
/* Operator calls on one workspace (secrets, pause, resume): WorkspaceAuth, or no credentials at
 * all in dev mode on a loopback listener. Credentials that are presented are always checked. */
int mol_dp__auth_operator(const mol_dp__call *c, const char *ws, mol_dp__reply *r);
/* AdminAuth: the admin token, or no credentials at all (no Authorization header) in dev mode on
 * a loopback listener. A workspace token or any other bearer is refused (401). */
int mol_dp__auth_admin(const mol_dp__call *c, mol_dp__reply *r);
int mol_dp__is_admin(const mol_dp__call *c);

/* ---- workspaces rows ------------------------------------------------------------------------ */

typedef struct {
  char id[MOL_DP__ID_MAX + 1];
  char name[256];
  char role[256];
  int has_role;
  int tier;
  char parent_id[MOL_DP__ID_MAX + 1]; /* "" for a root */
  char status[24];
  char *url;                       /* owned */
  char delivery_mode[8];           /* push | poll */
  char runtime[32];
  char *agent_card;                /* owned JSON text or NULL */
  int64_t last_heartbeat_at;
  double last_error_rate;
  int active_tasks;
  int64_t uptime_seconds;
  char *current_task;              /* owned */
  int max_concurrent_tasks;
  int64_t budget_limit;            /* < 0: none */
  int64_t monthly_spend;
  int64_t created_at, updated_at;
} mol_dp__ws;

/* 1 found, 0 missing, MOL_EIO on error. Removed rows are found (status "removed"). */
int mol_dp__ws_load(mol_devplatform *dp, const char *id, mol_dp__ws *w);
void mol_dp__ws_free(mol_dp__ws *w);
/* What the proxy reads of a row (status, url, delivery_mode, budget_limit, monthly_spend; the
 * rest of w is zero), from the copy kept in the workspace's runtime state while no write has
 * touched the workspaces table since it was read (no SELECT per call). Same returns. */
int mol_dp__ws_load_hot(mol_devplatform *dp, const char *id, mol_dp__ws *w);
json_t *mol_dp__ws_json(const mol_dp__ws *w);   /* GET /workspaces/:id shape */
json_t *mol_dp__ws_peer_json(sqlite3_stmt *st); /* a peers element (WS_PEERS, WS_CHILDREN) */
int mol_dp__ws_create(mol_devplatform *dp, const char *id, const char *name, const char *role,
                      int tier, const char *parent, const char *status, const char *url,
                      const char *runtime, int max_concurrent, int64_t budget_limit /* <0 none */);

/* ---- runtime state kept in memory per workspace (overrides, in-flight dispatches) --------- */

typedef struct mol_dp__dispatch mol_dp__dispatch;

typedef struct mol_dp__rt {
  char id[MOL_DP__ID_MAX + 1];
  unsigned idle_override_s;        /* 0 = none */
  json_t *caps;                    /* capability map or NULL */
  mol_dp__dispatch *inflight;      /* doubly linked through mol_dp__dispatch */
  struct mol_dp__ws_hot *hot;      /* the row as the proxy reads it, or NULL (wsrow.c) */
  UT_hash_handle hh;
} mol_dp__rt;

mol_dp__rt *mol_dp__rt_get(mol_devplatform *dp, const char *ws, int create);
void mol_dp__rt_maybe_drop(mol_devplatform *dp, mol_dp__rt *rt);
void mol_dp__rt_free(mol_dp__rt *rt); /* at close: the entry and all it holds */
int mol_dp__rt_cap(mol_devplatform *dp, const char *ws, const char *cap);

/* ---- ssrf.c --------------------------------------------------------------------------------- */

typedef enum {
  MOL_DP__SSRF_OK = 0,
  MOL_DP__SSRF_BLOCKED = 1,
  MOL_DP__SSRF_RESOLVE = 2,
  MOL_DP__SSRF_BADURL = 3
} mol_dp__ssrf;

/* Register-time check (validateAgentURL, relaxed by dev): 1 when acceptable. */
int mol_dp__ssrf_register_ok(const char *url, int dev);
/* Dispatch-time check of an address (isSafeURL): 1 when the address may be called. */
int mol_dp__ssrf_addr_ok(const struct sockaddr *sa, int dev);
/* Dispatch-time check of a URL without I/O: OK/BLOCKED for IP literals and "localhost",
 * RESOLVE when the host name must be looked up (then mol_dp__ssrf_resolve). */
mol_dp__ssrf mol_dp__ssrf_url(const char *url, int dev, char host_out[256]);
/* Resolves host and checks every address; cb fires exactly once, never inside this call. */
typedef void (*mol_dp__ssrf_cb)(int ok, void *arg);
int mol_dp__ssrf_resolve(uv_loop_t *loop, const char *host, int dev, mol_dp__ssrf_cb cb, void *arg);

/* ---- ratelimit.c ---------------------------------------------------------------------------- */

typedef struct mol_dp__rl_bucket mol_dp__rl_bucket;
typedef struct {
  long limit;                      /* < 0: unlimited */
  uint64_t window_ms;
  size_t max_buckets;
  size_t nbuckets;
  mol_dp__rl_bucket *buckets;
} mol_dp__ratelimit;

typedef struct {
  int allowed;
  long limit;                      /* < 0: unlimited */
  long remaining;
  long reset_s;                    /* seconds until the window refills */
} mol_dp__rl_verdict;

void mol_dp__rl_init(mol_dp__ratelimit *rl, long limit, uint64_t window_ms, size_t max_buckets);
void mol_dp__rl_free(mol_dp__ratelimit *rl);
void mol_dp__rl_check(mol_dp__ratelimit *rl, const char *key, uint64_t now_ms,
                      mol_dp__rl_verdict *v);

/* ---- handlers (each file) ------------------------------------------------------------------- */

void mol_dp__h_register(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_heartbeat(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_update_card(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_state(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_secret_values(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_secret_put(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_secret_delete(mol_dp__call *c, const char *ws, const char *key, mol_dp__reply *r);
void mol_dp__h_secret_list(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_global_secret_put(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_peers(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_discover(mol_dp__call *c, const char *target, mol_dp__reply *r);
void mol_dp__h_check_access(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_ws_create(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_ws_list(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_ws_get(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_ws_pause(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_ws_resume(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_ws_delete(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_activity_list(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_activity_report(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_notify(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_plugin_download(mol_dp__call *c, const char *ws, const char *name, mol_dp__reply *r);
void mol_dp__h_plugin_install(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_kv_list(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_kv_get(mol_dp__call *c, const char *ws, const char *key, mol_dp__reply *r);
void mol_dp__h_kv_set(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_kv_delete(mol_dp__call *c, const char *ws, const char *key, mol_dp__reply *r);
void mol_dp__h_memories_commit(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_memories_search(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_memories_delete(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r);
void mol_dp__h_delegations_list(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_delegation_record(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_delegation_update(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r);
void mol_dp__h_delegate(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_chat_upload(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_approvals_list(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_approval_create(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_approval_decide(mol_dp__call *c, const char *ws, const char *id, mol_dp__reply *r);
void mol_dp__h_approval_decide_any(mol_dp__call *c, const char *id, mol_dp__reply *r);
void mol_dp__h_approvals_pending(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_instruction_create(mol_dp__call *c, mol_dp__reply *r);
void mol_dp__h_instruction_delete(mol_dp__call *c, const char *id, mol_dp__reply *r);
void mol_dp__h_instructions_resolve(mol_dp__call *c, const char *ws, mol_dp__reply *r);
void mol_dp__h_shared_context(mol_dp__call *c, const char *ws, mol_dp__reply *r);
/* shared_context.c: the files the workspace named name shares with its children, from its
 * directory under configs_dir ([] without one). Never NULL but out of memory. */
json_t *mol_dp__shared_context(const mol_devplatform *dp, const char *name);
/* The proxy answers asynchronously: returns 1 when it took over the request (it will call
 * mol_dp__respond itself), 0 when r holds the synchronous answer. */
int mol_dp__h_a2a(mol_dp__call *c, const char *target, mol_dp__reply *r);
/* a2a_body.c: 1 when an A2A body needs no normalisation (envelope and messageId present) and
 * is forwarded as it is, with method and params.message.messageId read ("" when absent); 0 when
 * mol_dp__a2a_normalize must decide. */
int mol_dp__a2a_scan(const char *body, size_t len, char method[64], char msgid[128]);
/* The normalised body (caller frees), method and messageId filled; NULL when it is not a JSON
 * object (400 "invalid JSON"). */
char *mol_dp__a2a_normalize(const char *body, size_t len, char method[64], char msgid[128]);

/* hb_body.c: a heartbeat's fields. Strings point into the body's tree (mol_dp__hb_read)
 * or the caller's buffer (mol_dp__hb_scan); NULL when absent or null. */
typedef struct {
  const char *ws, *sample_error, *current_task, *runtime_state;
  double error_rate;
  json_int_t active_tasks, uptime, spend; /* spend clamped to [0, 1e12] */
  json_int_t idle;                        /* runtime_metadata.idle_timeout_seconds, 0 none */
  json_t *caps;          /* mol_dp__hb_read: runtime_metadata.capabilities when a non-empty map */
  const char *caps_text; /* mol_dp__hb_scan: the same map's JSON text in the body */
  size_t caps_len;
} mol_dp__hb;
/* The reference reader (jansson): the body's tree, which the strings and caps point into
 * (caller decrefs), or NULL for a body answered 400 "invalid request body". */
json_t *mol_dp__hb_read(const char *body, size_t len, mol_dp__hb *f);
/* The fast reader: 1 when the body reads exactly as mol_dp__hb_read would read it, with the
 * strings decoded into buf (room for len + 8 bytes); 0 when mol_dp__hb_read must decide. */
int mol_dp__hb_scan(const char *body, size_t len, mol_dp__hb *f, char *buf);
/* 1 when the object text (a capability map from mol_dp__hb_scan) is equal to caps; 0 when it
 * differs or is beyond the comparison (a value that is not a plain scalar): parse it then. */
int mol_dp__hb_caps_same(json_t *caps, const char *text, size_t len);

/* delegate.c: the outcome of a proxied message/send whose messageId is a delegation of src to
 * target, recorded in that ledger row unless it is already completed or failed. REPLY: body is
 * the target's 2xx answer; FAILED: body is the reason; QUEUED: no body. */
typedef enum { MOL_DP__DEL_REPLY, MOL_DP__DEL_QUEUED, MOL_DP__DEL_FAILED } mol_dp__del_outcome;
void mol_dp__delegation_outcome(mol_devplatform *dp, const char *id, const char *src,
                                const char *target, mol_dp__del_outcome kind, const char *body,
                                size_t len);

/* peers.c */
int mol_dp__can_communicate(mol_devplatform *dp, const char *caller, const char *target);

/* activity.c */
typedef struct {
  const char *workspace_id, *activity_type, *source_id, *target_id, *method, *summary;
  const char *request_body, *response_body, *status, *error_detail;  /* JSON text or NULL */
  int64_t duration_ms;
} mol_dp__activity;
/* Inserts a row (and prunes the workspace past its cap); id_out (37 bytes) may be NULL. */
int mol_dp__activity_add(mol_devplatform *dp, const mol_dp__activity *a, char *id_out);
typedef struct mol_dp__actcount mol_dp__actcount;
void mol_dp__activity_counts_free(mol_devplatform *dp);
/* Text of params.message.parts[].text (kind or type "text"), newline-joined; caller frees. */
char *mol_dp__message_text(json_t *request);
/* Stores a call to a poll-mode target as its inbound activity row and fills r with the queued
 * envelope; 1 on success, 0 with r holding the 500. Used by the proxy and by delegations. */
int mol_dp__activity_queue_poll(mol_devplatform *dp, const char *caller, const char *target,
                                const char *body, const char *method, mol_dp__reply *r);

/* queue.c / dispatch.c */
/* A heartbeat from ws: extends the idle timers of dispatches to ws, and (when can_drain)
 * dispatches one queued item to it. */
void mol_dp__proxy_on_heartbeat(mol_devplatform *dp, const char *ws, int can_drain);
/* Any other event from ws (register, card update) extends the idle timers only. */
void mol_dp__proxy_touch(mol_devplatform *dp, const char *ws);
/* Stores a busy call; an item with the same idem key still pending is reused. MOL_ELIMIT when
 * the target's queue is full. */
int mol_dp__queue_enqueue(mol_devplatform *dp, const char *ws, const char *caller, const char *body,
                          const char *method, const char *idem, char id_out[MOL_UUID_LEN + 1],
                          long *depth);

/* routes.c: the catch-all server route. */
struct mol_http_req;
/* auth.c: the browser guard, before any route. Passes (1) unless Host is a name other than
 * localhost or a public host (403, DNS rebinding), Origin is not the platform's own (403), or
 * a state-changing request carries a body or Content-Type other than application/json (415);
 * then r holds the answer and it returns 0. */
int mol_dp__guard_request(mol_devplatform *dp, struct mol_http_req *req, mol_dp__reply *r);
/* auth.c: normalises the comma-separated public host names into dp->public_hosts. 0, or
 * MOL_EINVAL for an entry that is not a bare host name, or MOL_ENOMEM. */
int mol_dp__guard_init(mol_devplatform *dp, const char *public_hosts);
void mol_dp__on_request(struct mol_http_req *req, void *arg);

/* ---- the instance --------------------------------------------------------------------------- */

struct mol_devplatform {
  uv_loop_t *loop;
  mol_dp__store store;
  struct mol_http_server *srv;
  struct mol_http_client *client;
  mol_dp__tokcache *tokcache;
  size_t tokcache_n, tokcache_max;
  mol_dp__regkey *regkeys;          /* registration keys by workspace (regkey.c) */
  mol_dp__rt *rt;
  uint64_t ws_gen;                 /* bumped by every write to the workspaces table and every
                                      rollback: cached rows of an older one are stale (wsrow.c) */
  int ws_watched;                  /* the update hook that bumps it is installed */
  struct mol_dp__actcount *actcounts; /* inserts per workspace since its last prune */
  mol_dp__held_list held;          /* replies waiting for the open transaction (commit.c) */
  mol_dp__held_list held_spare;    /* the previous batch's array, reused */
  unsigned dispatches_sending;     /* forwarded calls waiting for their agent (dispatch.c) */
  mol_dp__ratelimit rl;
  uv_timer_t sweep;                /* also the holds' last handle */
  int sweep_inited;
  int dev;
  int listen_loopback;             /* 1: every listener is loopback, -1: one is not, 0: none */
  int admin_open;                  /* dev and loopback only: credential-less admin calls pass
                                      (set by mol_devplatform_listen, read by auth.c) */
  int closing;
  char admin_token[128];
  char *plugins_dir;               /* --plugins DIR, or NULL */
  char *configs_dir;               /* --configs DIR (shared_context.c), or NULL */
  char *uploads_dir;               /* "<db>.uploads": chat attachments (uploads.c) */
  char *public_hosts;              /* "a,b" lower case (--public-host), or NULL */
  char *admin_token_file;
  unsigned idle_timeout_s, ceiling_s, liveness_ttl_s, heartbeat_interval_ms;
  unsigned activity_max_per_ws, activity_retention_s, queue_max_per_ws, max_body_bytes;
  long queued_total;                /* queued a2a items, all workspaces (exact) */
  mol_holds holds;                 /* its own until close, each dispatch and plugin pack, the
                                      closing client: the server closes once none holds it */
  void (*close_cb)(void *arg);
  void *close_arg;
};

#endif
