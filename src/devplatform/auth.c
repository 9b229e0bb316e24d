/* auth.c - workspace tokens and the three auth postures of contract §2: the registry's
 * grandfather rule, the strict WorkspaceAuth, and AdminAuth.
 *
 * Tokens are looked up by sha256 (the only form stored). Live tokens found in the database are
 * cached in memory (hash -> workspace id) so that a heartbeat costs one hash and one hash-table
 * probe; any revocation clears the whole cache, which is rare (delete) and always correct.
 */
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define TOKCACHE_MAX 100000

void dp_token_cache_clear(mol_devplatform *dp) {
  dp_tokcache *e, *tmp;
  HASH_ITER(hh, dp->tokcache, e, tmp) {
    HASH_DEL(dp->tokcache, e);
    free(e);
  }
  dp->tokcache_n = 0;
}

static void cache_put(mol_devplatform *dp, const char *hex, const char *ws) {
  if (dp->tokcache_n >= TOKCACHE_MAX) dp_token_cache_clear(dp);
  dp_tokcache *e = calloc(1, sizeof *e);
  if (!e) return;
  memcpy(e->hash, hex, sizeof e->hash);
  strncpy(e->ws, ws, DP_ID_MAX);
  HASH_ADD_STR(dp->tokcache, hash, e);
  dp->tokcache_n++;
}

int dp_token_owner(mol_devplatform *dp, const char *tok, char ws_out[DP_ID_MAX + 1]) {
  if (!tok || !*tok) return 0;
  uint8_t h[MOL_SHA256_LEN];
  char hex[MOL_SHA256_HEX_LEN + 1];
  dp_token_hash(tok, h);
  mol_hex(h, sizeof h, hex);
  dp_tokcache *e = NULL;
  HASH_FIND_STR(dp->tokcache, hex, e);
  if (e) {
    memcpy(ws_out, e->ws, DP_ID_MAX + 1);
    return 1;
  }
  sqlite3_stmt *st = dp_stmt(&dp->store, ST_TOK_LOOKUP);
  if (!st) return 0;
  sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
  int found = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *ws = dp_col_text(st, 0);
    if (ws && strlen(ws) <= DP_ID_MAX) {
      strcpy(ws_out, ws);
      found = 1;
    }
  }
  sqlite3_reset(st);
  if (!found) return 0;
  cache_put(dp, hex, ws_out);
  /* last_used_at is recorded when a token enters the cache (best effort, like upstream), not
   * on every cached hit: that would put a write on every heartbeat for no reader. */
  if (dp_store_write_begin(&dp->store) == 0) {
    st = dp_stmt(&dp->store, ST_TOK_TOUCH);
    if (st) {
      sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, mol_unix_ms());
      dp_exec_stmt(&dp->store, st);
    }
  }
  return 1;
}

int dp_token_valid_for(mol_devplatform *dp, const char *tok, const char *ws) {
  char owner[DP_ID_MAX + 1];
  return dp_token_owner(dp, tok, owner) && strcmp(owner, ws) == 0;
}

int dp_ws_has_live_token(mol_devplatform *dp, const char *ws) {
  sqlite3_stmt *st = dp_stmt(&dp->store, ST_TOK_HAS_LIVE);
  if (!st) return 0; /* fail open, as upstream does on the registry routes */
  dp_bind_text(st, 1, ws);
  int live = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_reset(st);
  return live;
}

int dp_token_mint(mol_devplatform *dp, const char *ws, char out[DP_TOKEN_LEN + 1]) {
  char id[MOL_UUID_LEN + 1];
  uint8_t h[MOL_SHA256_LEN];
  if (dp_token_new(out) || mol_uuid4(id)) return MOL_EIO;
  dp_token_hash(out, h);
  if (dp_store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = dp_stmt(&dp->store, ST_TOK_INSERT);
  if (!st) return MOL_EIO;
  dp_bind_text(st, 1, id);
  dp_bind_text(st, 2, ws);
  sqlite3_bind_blob(st, 3, h, sizeof h, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, out, 8, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, mol_unix_ms());
  return dp_exec_stmt(&dp->store, st);
}

int dp_auth_grandfather(const dp_call *c, const char *ws, dp_reply *r, const char *missing,
                        const char *invalid) {
  /* Valid bearer first: it implies a live token, so the common case skips the second query.
   * Otherwise the outcome is upstream's: no live token -> pass; live token -> 401. */
  if (c->bearer[0] && dp_token_valid_for(c->dp, c->bearer, ws)) return 1;
  if (!dp_ws_has_live_token(c->dp, ws)) return 1;
  dp_reply_err(r, 401, c->bearer[0] ? invalid : missing);
  return 0;
}

int dp_is_admin(const dp_call *c) {
  return c->bearer[0] && mol_ct_streq(c->bearer, c->dp->admin_token);
}

int dp_auth_workspace(const dp_call *c, const char *ws, dp_reply *r) {
  if (dp_is_admin(c)) return 1;
  if (!c->bearer[0]) {
    dp_reply_err(r, 401, "missing workspace auth token");
    return 0;
  }
  if (dp_token_valid_for(c->dp, c->bearer, ws)) return 1;
  dp_reply_err(r, 401, "invalid workspace auth token");
  return 0;
}

int dp_auth_operator(const dp_call *c, const char *ws, dp_reply *r) {
  if (!c->bearer[0] && mol_devplatform_admin_open(c->dp)) return 1;
  return dp_auth_workspace(c, ws, r);
}

int dp_auth_admin(const dp_call *c, dp_reply *r) {
  if (mol_devplatform_admin_open(c->dp) || dp_is_admin(c)) return 1;
  dp_reply_err(r, 401, c->bearer[0] ? "invalid admin token" : "admin token required");
  return 0;
}
