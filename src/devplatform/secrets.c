/* secrets.c - workspace and global secrets (contract §3.4): GET .../secrets/values (the merged
 * map the agent pulls), and the operator writes. Values are stored in plaintext: this is a
 * development platform on one machine, and the database file is the secret store. */
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define SECRET_KEY_MAX 256
#define SECRET_VALUE_MAX 65536

void dp_h_secret_values(dp_call *c, const char *ws, dp_reply *r) {
  if (!dp_is_uuid(ws)) {
    dp_reply_err(r, 400, "invalid workspace ID");
    return;
  }
  if (!dp_auth_workspace(c, ws, r)) return;
  sqlite3_stmt *st = dp_stmt(&c->dp->store, ST_SEC_VALUES);
  if (!st) {
    dp_reply_err(r, 500, "query failed");
    return;
  }
  dp_bind_text(st, 1, ws);
  json_t *map = json_object();
  /* Globals come first, so a workspace secret with the same key overwrites them. */
  while (sqlite3_step(st) == SQLITE_ROW)
    json_object_set_new(map, dp_col_text(st, 0), json_string(dp_col_text(st, 1)));
  sqlite3_reset(st);
  dp_reply_set(r, 200, map);
}

static int secret_write(mol_devplatform *dp, const char *scope, const char *key,
                        const char *value) {
  if (dp_store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = dp_stmt(&dp->store, ST_SEC_PUT);
  if (!st) return MOL_EIO;
  dp_bind_text(st, 1, scope);
  dp_bind_text(st, 2, key);
  dp_bind_text(st, 3, value);
  sqlite3_bind_int64(st, 4, mol_unix_ms());
  return dp_exec_stmt(&dp->store, st);
}

/* Parses {"key","value"}; fills r with the 400 and returns 0 when the body is unusable. */
static int parse_secret(const dp_call *c, json_t **body, const char **key, const char **value,
                        dp_reply *r) {
  *body = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  *key = *body ? mol_json_str(*body, "key") : NULL;
  *value = *body ? mol_json_str(*body, "value") : NULL;
  if (!*key || !**key || !*value || strlen(*key) > SECRET_KEY_MAX ||
      strlen(*value) > SECRET_VALUE_MAX) {
    dp_reply_err(r, 400, "key and value are required (string key up to 256 bytes, "
                         "string value up to 64 KiB)");
    return 0;
  }
  return 1;
}

static int ws_live(mol_devplatform *dp, const char *ws) {
  dp_ws w;
  if (dp_ws_load(dp, ws, &w) != 1) return 0;
  int live = strcmp(w.status, "removed") != 0;
  dp_ws_free(&w);
  return live;
}

void dp_h_secret_put(dp_call *c, const char *ws, dp_reply *r) {
  if (!dp_auth_operator(c, ws, r)) return;
  json_t *body;
  const char *key, *value;
  if (parse_secret(c, &body, &key, &value, r)) {
    if (!ws_live(c->dp, ws))
      dp_reply_err(r, 404, "workspace not found");
    else if (secret_write(c->dp, ws, key, value))
      dp_reply_err(r, 500, "failed to save secret");
    else
      dp_reply_set(r, 200, json_pack("{s:s,s:s}", "status", "saved", "key", key));
  }
  json_decref(body);
}

void dp_h_global_secret_put(dp_call *c, dp_reply *r) {
  if (!dp_auth_admin(c, r)) return;
  json_t *body;
  const char *key, *value;
  if (parse_secret(c, &body, &key, &value, r)) {
    if (secret_write(c->dp, "", key, value))
      dp_reply_err(r, 500, "failed to save secret");
    else
      dp_reply_set(r, 200, json_pack("{s:s,s:s}", "status", "saved", "key", key));
  }
  json_decref(body);
}

void dp_h_secret_delete(dp_call *c, const char *ws, const char *key, dp_reply *r) {
  mol_devplatform *dp = c->dp;
  if (!dp_auth_operator(c, ws, r)) return;
  sqlite3_stmt *st = dp_store_write_begin(&dp->store) ? NULL : dp_stmt(&dp->store, ST_SEC_DEL);
  if (!st) {
    dp_reply_err(r, 500, "failed to delete secret");
    return;
  }
  dp_bind_text(st, 1, ws);
  dp_bind_text(st, 2, key);
  if (dp_exec_stmt(&dp->store, st)) {
    dp_reply_err(r, 500, "failed to delete secret");
  } else if (sqlite3_changes(dp->store.db) == 0) {
    dp_reply_err(r, 404, "secret not found");
  } else {
    dp_reply_set(r, 200, json_pack("{s:s,s:s}", "status", "deleted", "key", key));
  }
}

void dp_h_secret_list(dp_call *c, const char *ws, dp_reply *r) {
  if (!dp_auth_operator(c, ws, r)) return;
  sqlite3_stmt *st = dp_stmt(&c->dp->store, ST_SEC_LIST);
  if (!st) {
    dp_reply_err(r, 500, "query failed");
    return;
  }
  dp_bind_text(st, 1, ws);
  json_t *arr = json_array();
  char created[32], updated[32];
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *scope = dp_col_text(st, 1);
    dp_rfc3339(sqlite3_column_int64(st, 2), created);
    dp_rfc3339(sqlite3_column_int64(st, 3), updated);
    json_array_append_new(arr, json_pack("{s:s,s:b,s:s,s:s,s:s}", "key", dp_col_text(st, 0),
                                         "has_value", 1, "scope",
                                         scope && *scope ? "workspace" : "global",
                                         "created_at", created, "updated_at", updated));
  }
  sqlite3_reset(st);
  dp_reply_set(r, 200, arr);
}
