/* devplatform.c - lifecycle of the dev platform: options and environment, the admin token,
 * the server and client, the periodic sweep, and the ordered shutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "devplatform/dispatch.h"
#include "devplatform/dp_int.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"

#define SWEEP_MS 15000
#define STUCK_BEATS 10 /* silent heartbeat intervals after which a delegation is stuck */

static unsigned env_uint(const char *name, unsigned dflt, unsigned scale) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n <= 0 || n > 100000000L / (long)scale) {
    mol_logw("devplatform", "%s=%s is not a positive integer; using %u", name, v, dflt);
    return dflt;
  }
  return (unsigned)n * scale;
}

static void apply_opts(mol_devplatform *dp, const mol_devplatform_opts *o) {
  dp->dev = o->dev;
  dp->idle_timeout_s = o->idle_timeout_s ? o->idle_timeout_s
                                         : env_uint("A2A_IDLE_TIMEOUT_SECONDS", 300, 1);
  dp->ceiling_s = o->ceiling_s ? o->ceiling_s : 1800;
  dp->liveness_ttl_s = o->liveness_ttl_s ? o->liveness_ttl_s : 180;
  dp->heartbeat_interval_ms = o->heartbeat_interval_ms ? o->heartbeat_interval_ms : 30000;
  dp->activity_max_per_ws = o->activity_max_per_ws ? o->activity_max_per_ws : 10000;
  dp->activity_retention_s = o->activity_retention_s
                                 ? o->activity_retention_s
                                 : env_uint("ACTIVITY_RETENTION_DAYS", 7 * 86400, 86400);
  dp->queue_max_per_ws = o->queue_max_per_ws ? o->queue_max_per_ws : 1000;
  dp->tokcache_max = o->token_cache_max ? o->token_cache_max : 262144;
  dp->max_body_bytes = o->max_body_bytes ? o->max_body_bytes : (1u << 20);
  dp->plugins_dir = o->plugins_dir ? strdup(o->plugins_dir) : NULL;
  dp->configs_dir = o->configs_dir ? strdup(o->configs_dir) : NULL;
  size_t n = strlen(o->db_path) + sizeof ".uploads";
  if ((dp->uploads_dir = malloc(n))) snprintf(dp->uploads_dir, n, "%s.uploads", o->db_path);
  long limit = o->rate_limit;
  if (limit == 0) limit = o->dev ? -1 : (long)env_uint("RATE_LIMIT", 600, 1);
  mol_dp__rl_init(&dp->rl, limit, o->rate_window_ms, 0);
}

/* 1 with the token in out, 0 when the file is missing or blank, or a negative error: base's
 * reader (no symlinks, blanks around the token stripped); a token that does not fit is refused
 * rather than cut short. */
static int read_token_file(const char *path, char *out, size_t cap) {
  char *tok = NULL;
  int rc = mol_read_file_stripped(path, &tok);
  if (rc || !tok) return rc;
  size_t n = strlen(tok);
  if (n < cap) {
    memcpy(out, tok, n + 1);
    rc = 1;
  } else {
    mol_loge("devplatform", "the admin token in %s is longer than %zu bytes", path, cap - 1);
    rc = MOL_EINVAL;
  }
  memset(tok, 0, n); /* a secret */
  free(tok);
  return rc;
}

/* Atomic and 0600 from the start (base/file.h); a uniquely named temp file, so two platforms
 * starting on one database cannot tear each other's token file. */
static int write_token_file(const char *path, const char *tok) {
  size_t n = strlen(tok);
  char *line = malloc(n + 2);
  if (!line) return MOL_ENOMEM;
  memcpy(line, tok, n);
  line[n] = '\n';
  int rc = mol_write_file_atomic(path, line, n + 1, 0600) ? MOL_EIO : 0;
  free(line);
  return rc;
}

static int setup_admin_token(mol_devplatform *dp, const mol_devplatform_opts *o) {
  const char *src = o->admin_token;
  if (!src || !*src) src = getenv("MOLECULE_ADMIN_TOKEN");
  if (!src || !*src) src = getenv("ADMIN_TOKEN");
  if (src && *src) {
    if (strlen(src) >= sizeof dp->admin_token) {
      mol_loge("devplatform", "the admin token is longer than %zu bytes",
               sizeof dp->admin_token - 1);
      return MOL_EINVAL;
    }
    snprintf(dp->admin_token, sizeof dp->admin_token, "%s", src);
    mol_log_add_secret(dp->admin_token);
    return 0;
  }
  const char *file = o->admin_token_file;
  char *dflt = NULL;
  if (!file) {
    size_t n = strlen(o->db_path) + 16;
    if (!(dflt = malloc(n))) return MOL_ENOMEM;
    snprintf(dflt, n, "%s.admin_token", o->db_path);
    file = dflt;
  }
  int rc = read_token_file(file, dp->admin_token, sizeof dp->admin_token);
  if (rc == 0) {
    char tok[MOL_DP__TOKEN_LEN + 1];
    rc = mol_dp__token_new(tok);
    if (!rc) rc = write_token_file(file, tok);
    if (!rc) {
      snprintf(dp->admin_token, sizeof dp->admin_token, "%s", tok);
      mol_logi("devplatform", "generated admin token in %s", file);
    }
  } else if (rc == 1) {
    rc = 0;
  }
  if (rc) mol_loge("devplatform", "admin token file %s: %s", file, mol_strerror(rc));
  dp->admin_token_file = dflt ? dflt : strdup(file);
  if (!rc) mol_log_add_secret(dp->admin_token);
  return rc;
}

static void sweep_stmt(mol_devplatform *dp, mol_dp__stmt_id id, int64_t before) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, id);
  if (!st) return;
  sqlite3_bind_int64(st, 1, before);
  if (id == MOL_DP__ST_WS_LIVENESS_SWEEP || id == MOL_DP__ST_DEL_STUCK)
    sqlite3_bind_int64(st, 2, mol_unix_ms());
  mol_dp__exec_stmt(&dp->store, st);
}

/* Liveness: online/degraded -> offline after the TTL without heartbeats, and the
 * delegations to a target silent for more than STUCK_BEATS heartbeat intervals stuck;
 * retention of activity rows and finished queue items. */
static void on_sweep(uv_timer_t *t) {
  mol_devplatform *dp = t->data;
  int64_t now = mol_unix_ms();
  if (mol_dp__store_write_begin(&dp->store)) return;
  sweep_stmt(dp, MOL_DP__ST_WS_LIVENESS_SWEEP, now - (int64_t)dp->liveness_ttl_s * 1000);
  /* Delegations to a target gone silent are stuck: a terminal status with a reason, so the
   * caller moves on (a late real reply still replaces it, delegate.c). Keyed on the target's last beat, not
   * on its offline status: the liveness TTL is shorter than 10 intervals (upstream's rule). */
  sweep_stmt(dp, MOL_DP__ST_DEL_STUCK, now - (int64_t)dp->heartbeat_interval_ms * STUCK_BEATS);
  sweep_stmt(dp, MOL_DP__ST_ACT_PRUNE_AGE, now - (int64_t)dp->activity_retention_s * 1000);
  sweep_stmt(dp, MOL_DP__ST_Q_PRUNE, now - (int64_t)dp->activity_retention_s * 1000);
}

/* What the rolled-back writes may have put in memory: a token minted and then looked up in
 * the same iteration sits in the token cache; the queue count moved with the rows. */
static void forget_rolled_back(mol_devplatform *dp) {
  mol_dp__token_cache_clear(dp);
  dp->ws_gen++; /* rows cached for the proxy (wsrow.c) may show undone writes */
  if (mol_dp__queue_load_count(dp)) mol_logw("devplatform", "cannot recount the a2a queue");
}

/* The store's on_end. The owner forgets what a rollback undid before the replies that waited
 * for the transaction leave (commit.c), so commit.c calls up into no other file. */
static void on_txn_ended(void *arg, int committed) {
  mol_devplatform *dp = arg;
  if (!committed) forget_rolled_back(dp);
  mol_dp__held_release(dp, committed);
}

static int open_parts(mol_devplatform *dp, const mol_devplatform_opts *o) {
  int rc = mol_dp__store_open(&dp->store, dp->loop, o->db_path);
  dp->store.on_end = on_txn_ended; /* replies wait for the commit of what they saw */
  dp->store.on_end_arg = dp;
  dp->store.defer = mol_dp__group_wait; /* the proxy's answers share commits */
  if (!rc) rc = mol_dp__queue_load_count(dp);
  if (!rc) rc = setup_admin_token(dp, o);
  if (!rc) rc = mol_dp__guard_init(dp, o->public_host);
  mol_http_server_opts so = {.max_body_bytes = dp->max_body_bytes};
  if (!rc) rc = mol_http_server_new(dp->loop, &so, &dp->srv);
  if (!rc) rc = mol_http_server_route(dp->srv, NULL, "/", 1, mol_dp__on_request, dp);
  /* Many long A2A calls to one agent must not queue behind each other inside the client. */
  /* Never through a proxy from the environment: dispatch checks the address it connects to
   * against the SSRF policy, and a proxy would make its own connection past that check. */
  static const mol_http_proxy_opts direct = {0};
  mol_http_client_opts co = {.max_conns_per_origin = 256, .max_idle_per_origin = 64,
                             .proxy = &direct};
  if (!rc) rc = mol_http_client_new(dp->loop, &co, &dp->client);
  return rc;
}

static void free_memory(mol_devplatform *dp) {
  mol_dp__token_cache_clear(dp);
  mol_dp__regkey_free_all(dp);
  mol_dp__activity_counts_free(dp);
  mol_dp__held_free(dp);
  mol_dp__rt *rt, *tmp;
  HASH_ITER(hh, dp->rt, rt, tmp) {
    HASH_DEL(dp->rt, rt);
    mol_dp__rt_free(rt);
  }
  mol_dp__rl_free(&dp->rl);
  free(dp->admin_token_file);
  free(dp->plugins_dir);
  free(dp->configs_dir);
  free(dp->uploads_dir);
  free(dp->public_hosts);
  free(dp);
}

/* The last step of the close, once the sweep timer and the store's check handle are closed. */
static void finish_close(mol_devplatform *dp) {
  void (*cb)(void *) = dp->close_cb;
  void *arg = dp->close_arg;
  free_memory(dp);
  if (cb) cb(arg);
}

static void on_store_closed(uv_handle_t *h) { finish_close(h->data); }

static void close_server(void *arg);

int mol_devplatform_new(uv_loop_t *loop, const mol_devplatform_opts *opts, mol_devplatform **out) {
  if (!loop || !opts || !opts->db_path || !out) return MOL_EINVAL;
  mol_devplatform *dp = calloc(1, sizeof *dp);
  if (!dp) return MOL_ENOMEM;
  dp->loop = loop;
  apply_opts(dp, opts);
  int rc = open_parts(dp, opts);
  if (rc) {
    if (dp->client) mol_http_client_close(dp->client, NULL, NULL);
    if (dp->srv) mol_http_server_close(dp->srv, 0, NULL, NULL);
    dp->store.commit_check.data = dp;
    /* The check handle lives in dp: dp is freed when it has closed (on the loop). */
    if (!mol_dp__store_close(&dp->store, on_store_closed)) free_memory(dp);
    return rc;
  }
  uv_timer_init(loop, &dp->sweep);
  dp->sweep.data = dp;
  dp->sweep_inited = 1;
  mol_holds_init(&dp->holds, (uv_handle_t *)&dp->sweep, close_server, dp);
  unsigned every = dp->liveness_ttl_s * 500u < SWEEP_MS ? dp->liveness_ttl_s * 500u : SWEEP_MS;
  if (dp->heartbeat_interval_ms * (STUCK_BEATS / 2) < every)
    every = dp->heartbeat_interval_ms * (STUCK_BEATS / 2);
  uv_timer_start(&dp->sweep, on_sweep, every, every);
  mol_logi("devplatform", "database %s ready%s", opts->db_path, dp->dev ? " (dev mode)" : "");
  *out = dp;
  return 0;
}

static int is_loopback_host(const char *h) {
  return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0;
}

int mol_devplatform_listen(mol_devplatform *dp, const char *host, int port) {
  int rc = mol_http_server_listen(dp->srv, host, port);
  if (rc) return rc;
  /* Admin calls open only while every listener is loopback. */
  dp->listen_loopback = (dp->listen_loopback >= 0) && is_loopback_host(host) ? 1 : -1;
  dp->admin_open = dp->dev && dp->listen_loopback == 1;
  mol_logi("devplatform", "listening on %s:%d", host, mol_http_server_port(dp->srv));
  return 0;
}

int mol_devplatform_port(const mol_devplatform *dp) { return mol_http_server_port(dp->srv); }

mol_http_server *mol_devplatform_http(mol_devplatform *dp) { return dp->srv; }

const char *mol_devplatform_admin_token(const mol_devplatform *dp) { return dp->admin_token; }

int mol_devplatform_admin_open(const mol_devplatform *dp) { return dp->admin_open; }

static void on_server_closed(void *arg) {
  mol_devplatform *dp = arg;
  dp->srv = NULL;
  dp->store.commit_check.data = dp;
  if (!mol_dp__store_close(&dp->store, on_store_closed)) finish_close(dp);
}

/* The holds' finish: nothing holds the platform any more (no dispatch, no plugin pack, and
 * the client is gone), and the sweep timer has closed. */
static void close_server(void *arg) {
  mol_devplatform *dp = arg;
  mol_http_server_close(dp->srv, 2000, on_server_closed, dp);
}

static void on_client_closed(void *arg) {
  mol_devplatform *dp = arg;
  dp->client = NULL;
  mol_holds_drop(&dp->holds);
}

void mol_devplatform_close(mol_devplatform *dp, void (*cb)(void *arg), void *arg) {
  if (dp->closing) return;
  dp->closing = 1;
  dp->close_cb = cb;
  dp->close_arg = arg;
  uv_timer_stop(&dp->sweep);
  /* The client's close holds the platform like any outstanding job. */
  mol_holds_take(&dp->holds);
  /* Outstanding proxy calls fail with MOL_ESHUTDOWN: each answers its caller 503 once. */
  mol_http_client_close(dp->client, on_client_closed, dp);
  mol_holds_drop(&dp->holds); /* the platform's own: the server closes on a later turn */
}
