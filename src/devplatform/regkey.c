/* regkey.c - registration keys: a first register whose answer was lost can be answered again.
 *
 * A register that mints a workspace's first token may carry an `Idempotency-Key` header (our
 * platform client sends a random one, the same on every retry, while it holds no token). When
 * that answer never reaches the agent (its timeout fired while the platform was slow), the
 * token exists and every later register without it would be refused 401 for good: the hijack
 * guard cannot tell the agent that lost its answer from anyone else. The key can: only the
 * registrant that sent it knows it.
 *
 * So, per workspace, the platform keeps sha256(key), sha256(the token that register minted)
 * and when. A later register without a valid bearer that presents the same key, within
 * MOL_DP__REGKEY_WINDOW_MS, while that token is still live and has never been used, is the
 * same registrant asking again: the unread token is revoked and a fresh one is minted and
 * returned (handled by registry.c). Only hashes are kept, so the lost plain token cannot be
 * sent again, and revoking a token nobody ever presented costs nothing. A token that has been
 * used proves its answer arrived; the key opens nothing after that. The records live in
 * memory (a platform restart forgets them; the operator's remedy for a lost token still
 * applies) and each is dropped once its window has passed. */
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"

struct mol_dp__regkey {
  char ws[MOL_DP__ID_MAX + 1];
  uint8_t key_hash[MOL_SHA256_LEN];
  uint8_t token_hash[MOL_SHA256_LEN];
  uint64_t at_ms;
  UT_hash_handle hh;
};

/* Keys are opaque; anything longer than this or with control characters is ignored. */
#define KEY_MAX 128

static int key_usable(const char *key) {
  if (!key) return 0;
  size_t n = strlen(key);
  if (n < 16 || n > KEY_MAX) return 0; /* a short key would be guessable */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f) return 0;
  return 1;
}

/* Records are in insertion order (uthash keeps it): the expired ones are at the front. */
static void sweep(mol_devplatform *dp, uint64_t now) {
  mol_dp__regkey *e, *tmp;
  HASH_ITER(hh, dp->regkeys, e, tmp) {
    if (e->at_ms + MOL_DP__REGKEY_WINDOW_MS > now) break;
    HASH_DEL(dp->regkeys, e);
    free(e);
  }
}

static mol_dp__regkey *find(mol_devplatform *dp, const char *ws) {
  mol_dp__regkey *e = NULL;
  HASH_FIND_STR(dp->regkeys, ws, e);
  return e;
}

void mol_dp__regkey_note(mol_devplatform *dp, const char *ws, const char *key, const char *tok) {
  if (!key_usable(key) || strlen(ws) > MOL_DP__ID_MAX) return;
  uint64_t now = (uint64_t)mol_unix_ms();
  sweep(dp, now);
  mol_dp__regkey *e = find(dp, ws);
  if (e) HASH_DEL(dp->regkeys, e); /* re-added at the end: the order stays by time */
  else if (!(e = calloc(1, sizeof *e))) return; /* best effort: the key just will not help */
  strcpy(e->ws, ws);
  mol_sha256_once(key, strlen(key), e->key_hash);
  mol_dp__token_hash(tok, e->token_hash);
  e->at_ms = now;
  HASH_ADD_STR(dp->regkeys, ws, e);
}

/* 1 when the token minted for the record is live and nobody has presented it yet. */
static int token_unread(mol_devplatform *dp, const mol_dp__regkey *e) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(dp->store.db,
                         "SELECT 1 FROM tokens WHERE hash=?1 AND workspace_id=?2"
                         " AND revoked_at IS NULL AND last_used_at IS NULL",
                         -1, &st, NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_blob(st, 1, e->token_hash, sizeof e->token_hash, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, e->ws, -1, SQLITE_STATIC);
  int unread = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return unread;
}

int mol_dp__regkey_again(mol_devplatform *dp, const char *ws, const char *key) {
  if (!key_usable(key)) return 0;
  sweep(dp, (uint64_t)mol_unix_ms());
  mol_dp__regkey *e = find(dp, ws);
  if (!e) return 0;
  uint8_t h[MOL_SHA256_LEN];
  mol_sha256_once(key, strlen(key), h);
  return mol_ct_equal(h, sizeof h, e->key_hash, sizeof e->key_hash) && token_unread(dp, e);
}

int mol_dp__regkey_revoke_lost(mol_devplatform *dp, const char *ws) {
  mol_dp__regkey *e = find(dp, ws);
  if (!e || mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(dp->store.db, "UPDATE tokens SET revoked_at=?2 WHERE hash=?1", -1, &st,
                         NULL) != SQLITE_OK)
    return MOL_EIO;
  sqlite3_bind_blob(st, 1, e->token_hash, sizeof e->token_hash, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, mol_unix_ms());
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MOL_EIO;
  sqlite3_finalize(st);
  /* Never presented, so never in the token cache (a lookup is what puts it there and stamps
   * last_used_at): nothing to forget there. */
  return rc;
}

void mol_dp__regkey_free_all(mol_devplatform *dp) {
  mol_dp__regkey *e, *tmp;
  HASH_ITER(hh, dp->regkeys, e, tmp) {
    HASH_DEL(dp->regkeys, e);
    free(e);
  }
}
