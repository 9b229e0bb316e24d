/* auth.c - workspace tokens and the three auth postures (docs/devplatform.md "Security model"):
 * the registry's grandfather rule, the strict WorkspaceAuth, and AdminAuth; and the browser
 * guard that every
 * request passes first (Host, Origin, Content-Type), because a web page can reach a platform
 * listening on loopback as easily as an agent can.
 *
 * Tokens are looked up by sha256 (the only form stored). Live tokens found in the database are
 * cached in memory (hash -> workspace id) so that a heartbeat costs one hash and one hash-table
 * probe; any revocation clears the whole cache, which is rare (delete) and always correct.
 * The cache holds up to token_cache_max tokens; past that the oldest entry goes, not the whole
 * cache: cleared whole at a fixed 100,000, a host of 100,000 agents (plus one) emptied it once
 * per heartbeat round, and from then on every heartbeat and state poll missed (a token query
 * and a last_used_at write each) while the cache filled again.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "http/server.h"
#include "http/url.h"
#include "molecule.h"

void mol_dp__token_cache_clear(mol_devplatform *dp) {
  mol_dp__tokcache *e, *tmp;
  HASH_ITER(hh, dp->tokcache, e, tmp) {
    HASH_DEL(dp->tokcache, e);
    free(e);
  }
  dp->tokcache_n = 0;
}

static void cache_put(mol_devplatform *dp, const char *hex, const char *ws) {
  if (dp->tokcache && dp->tokcache_n >= dp->tokcache_max) { /* the head is the oldest */
    mol_dp__tokcache *old = dp->tokcache;
    HASH_DEL(dp->tokcache, old);
    free(old);
    dp->tokcache_n--;
  }
  mol_dp__tokcache *e = calloc(1, sizeof *e);
  if (!e) return;
  memcpy(e->hash, hex, sizeof e->hash);
  strncpy(e->ws, ws, MOL_DP__ID_MAX);
  HASH_ADD_STR(dp->tokcache, hash, e);
  dp->tokcache_n++;
}

int mol_dp__token_owner(mol_devplatform *dp, const char *tok, char ws_out[MOL_DP__ID_MAX + 1]) {
  if (!tok || !*tok) return 0;
  uint8_t h[MOL_SHA256_LEN];
  char hex[MOL_SHA256_HEX_LEN + 1];
  mol_dp__token_hash(tok, h);
  mol_hex(h, sizeof h, hex);
  mol_dp__tokcache *e = NULL;
  HASH_FIND_STR(dp->tokcache, hex, e);
  if (e) {
    memcpy(ws_out, e->ws, MOL_DP__ID_MAX + 1);
    return 1;
  }
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_TOK_LOOKUP);
  if (!st) return 0;
  sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
  int found = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *ws = mol_dp__col_text(st, 0);
    if (ws && strlen(ws) <= MOL_DP__ID_MAX) {
      strcpy(ws_out, ws);
      found = 1;
    }
  }
  sqlite3_reset(st);
  if (!found) return 0;
  cache_put(dp, hex, ws_out);
  /* last_used_at is recorded when a token enters the cache (best effort, like upstream), not
   * on every cached hit: that would put a write on every heartbeat for no reader. */
  if (mol_dp__store_write_begin(&dp->store) == 0) {
    st = mol_dp__stmt(&dp->store, MOL_DP__ST_TOK_TOUCH);
    if (st) {
      sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, mol_unix_ms());
      mol_dp__exec_stmt(&dp->store, st);
    }
  }
  return 1;
}

int mol_dp__token_valid_for(mol_devplatform *dp, const char *tok, const char *ws) {
  char owner[MOL_DP__ID_MAX + 1];
  return mol_dp__token_owner(dp, tok, owner) && strcmp(owner, ws) == 0;
}

int mol_dp__ws_has_live_token(mol_devplatform *dp, const char *ws) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_TOK_HAS_LIVE);
  if (!st) return 0; /* fail open, as upstream does on the registry routes */
  mol_dp__bind_text(st, 1, ws);
  int live = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_reset(st);
  return live;
}

int mol_dp__token_mint(mol_devplatform *dp, const char *ws, char out[MOL_DP__TOKEN_LEN + 1]) {
  char id[MOL_UUID_LEN + 1];
  uint8_t h[MOL_SHA256_LEN];
  if (mol_dp__token_new(out) || mol_uuid4(id)) return MOL_EIO;
  mol_dp__token_hash(out, h);
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_TOK_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, ws);
  sqlite3_bind_blob(st, 3, h, sizeof h, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, out, 8, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

int mol_dp__auth_grandfather(const mol_dp__call *c, const char *ws, mol_dp__reply *r,
                             const char *missing, const char *invalid) {
  /* Valid bearer first: it implies a live token, so the common case skips the second query.
   * Otherwise the outcome is upstream's: no live token -> pass; live token -> 401. */
  if (c->bearer[0] && mol_dp__token_valid_for(c->dp, c->bearer, ws)) return 1;
  if (!mol_dp__ws_has_live_token(c->dp, ws)) return 1;
  mol_dp__reply_err(r, 401, c->bearer[0] ? invalid : missing);
  return 0;
}

int mol_dp__is_admin(const mol_dp__call *c) {
  return c->bearer[0] && mol_ct_streq(c->bearer, c->dp->admin_token);
}

int mol_dp__auth_workspace(const mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (mol_dp__is_admin(c)) return 1;
  if (!c->bearer[0]) {
    mol_dp__reply_err(r, 401, "missing workspace auth token");
    return 0;
  }
  if (mol_dp__token_valid_for(c->dp, c->bearer, ws)) return 1;
  mol_dp__reply_err(r, 401, "invalid workspace auth token");
  return 0;
}

/* Any Authorization header presents credentials, a bearer or not, empty or not: only a request
 * with none at all can use the --dev loopback convenience. */
static int presents_credentials(const mol_dp__call *c) {
  return c->bearer[0] || (c->req && mol_http_req_header(c->req, "Authorization"));
}

int mol_dp__auth_operator(const mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!presents_credentials(c) && c->dp->admin_open) return 1;
  return mol_dp__auth_workspace(c, ws, r);
}

int mol_dp__auth_admin(const mol_dp__call *c, mol_dp__reply *r) {
  if (mol_dp__is_admin(c)) return 1;
  int presented = presents_credentials(c);
  if (!presented && c->dp->admin_open) return 1;
  mol_dp__reply_err(r, 401, presented ? "invalid admin token" : "admin token required");
  return 0;
}

/* ---- the browser guard ----------------------------------------------------------------------- */

int mol_dp__guard_init(mol_devplatform *dp, const char *public_hosts) {
  if (!public_hosts || !*public_hosts) return 0;
  size_t n = strlen(public_hosts);
  char *out = malloc(n + 1), *o = out;
  if (!out) return MOL_ENOMEM;
  for (const char *p = public_hosts; *p;) {
    while (*p == ' ' || *p == ',') p++;
    const char *start = p;
    while (*p && *p != ',' && *p != ' ') p++;
    if (p == start) break;
    for (const char *q = start; q < p; q++) {
      if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-') {
        mol_loge("devplatform", "public host '%.*s': a host name, without scheme or port",
                 (int)(p - start), start);
        free(out);
        return MOL_EINVAL;
      }
    }
    if (o != out) *o++ = ',';
    for (const char *q = start; q < p; q++) *o++ = (char)tolower((unsigned char)*q);
  }
  *o = '\0';
  dp->public_hosts = out;
  return 0;
}

/* host (lower case, as mol_url stores it) is one of the configured public names. */
static int is_public_host(const mol_devplatform *dp, const char *host) {
  size_t n = strlen(host);
  for (const char *p = dp->public_hosts; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && memcmp(p, host, n) == 0) return 1;
    p += len + (end ? 1 : 0);
  }
  return 0;
}

/* A Host header as an authority (host[:port]) in u; 0 when it is anything else. */
static int parse_host_header(const char *value, mol_url *u) {
  char buf[MOL_URL_HOST_MAX + 16];
  if (!*value || strpbrk(value, "/?#@\\") || strlen(value) + 8 > sizeof buf) return 0;
  snprintf(buf, sizeof buf, "http://%s", value);
  return mol_url_parse(buf, u) == 0;
}

/* DNS rebinding puts an attacker's name in Host; an IP address or "localhost" cannot be
 * rebound, and the public names are the operator's own. */
static int host_is_ours(const mol_devplatform *dp, const mol_url *u) {
  unsigned char a[16];
  if (inet_pton(u->ipv6 ? AF_INET6 : AF_INET, u->host, a) == 1) return 1;
  return strcmp(u->host, "localhost") == 0 || is_public_host(dp, u->host);
}

/* A browser's Origin is same-origin when it names the authority the request was sent to (its
 * Host), or one of the public names (a TLS front end that rewrites Host). Only host and port
 * are compared: the Python SDK sends its platform URL, path included, as Origin. */
static int origin_is_ours(const mol_devplatform *dp, const char *origin, const mol_url *host) {
  mol_url o;
  if (mol_url_parse(origin, &o) != 0) return 0; /* "null", opaque origins, garbage */
  if (is_public_host(dp, o.host)) return 1;
  if (!host || o.ipv6 != host->ipv6 || strcmp(o.host, host->host) != 0) return 0;
  unsigned host_port = host->port_explicit ? host->port : (o.https ? 443u : 80u);
  return o.port == host_port;
}

/* media type application/json, any parameters, any case */
static int is_json_type(const char *ct) {
  if (!ct) return 0;
  while (*ct == ' ' || *ct == '\t') ct++;
  if (strncasecmp(ct, "application/json", 16) != 0) return 0;
  ct += 16;
  while (*ct == ' ' || *ct == '\t') ct++;
  return *ct == '\0' || *ct == ';';
}

static int changes_state(const char *m) {
  return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
         strcmp(m, "DELETE") == 0;
}

static int upload_with_bearer(struct mol_http_req *req, const char *ct) {
  const char *path = mol_http_req_path(req);
  size_t n = strlen(path), tail = strlen("/chat/uploads");
  return ct && !strncasecmp(ct, "multipart/form-data", 19) &&
         mol_http_req_header(req, "Authorization") && n > tail &&
         !strcmp(path + n - tail, "/chat/uploads");
}

int mol_dp__guard_request(mol_devplatform *dp, struct mol_http_req *req, mol_dp__reply *r) {
  const char *host_hdr = mol_http_req_header(req, "Host");
  mol_url host;
  int have_host = host_hdr != NULL; /* HTTP/1.0 may omit it; a browser never does */
  if (have_host && (!parse_host_header(host_hdr, &host) || !host_is_ours(dp, &host))) {
    mol_dp__reply_err(r, 403, "Host is not a name of this platform (loopback, an IP address, or "
                              "--public-host)");
    return 0;
  }
  const char *origin = mol_http_req_header(req, "Origin");
  if (origin && !origin_is_ours(dp, origin, have_host ? &host : NULL)) {
    mol_dp__reply_err(r, 403, "cross-origin request refused");
    return 0;
  }
  size_t body_len = 0;
  mol_http_req_body(req, &body_len);
  const char *ct = mol_http_req_header(req, "Content-Type");
  /* A form POST (text/plain, urlencoded, multipart) is what a page can send without CORS. The
   * one multipart route needs a bearer, which such a form cannot carry. */
  if (changes_state(mol_http_req_method(req)) && (body_len || ct) && !is_json_type(ct) &&
      !upload_with_bearer(req, ct)) {
    mol_dp__reply_err(r, 415, "Content-Type must be application/json");
    return 0;
  }
  return 1;
}
