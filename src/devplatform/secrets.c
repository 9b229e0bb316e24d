/* secrets.c - workspace and global secrets: GET .../secrets/values (the merged
 * map the agent pulls), and the operator writes. Values are stored in plaintext: this is a
 * development platform on one machine, and the database file is the secret store. */
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define SECRET_KEY_MAX 256
#define SECRET_VALUE_MAX 65536

void mol_dp__h_secret_values(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_SEC_VALUES);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  json_t *map = json_object();
  /* Globals come first, so a workspace secret with the same key overwrites them. */
  while (sqlite3_step(st) == SQLITE_ROW)
    json_object_set_new(map, mol_dp__col_text(st, 0), json_string(mol_dp__col_text(st, 1)));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, map);
}

static int secret_write(mol_devplatform *dp, const char *scope, const char *key,
                        const char *value) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_SEC_PUT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, scope);
  mol_dp__bind_text(st, 2, key);
  mol_dp__bind_text(st, 3, value);
  sqlite3_bind_int64(st, 4, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

/* Parses {"key","value"}; fills r with the 400 and returns 0 when the body is unusable. */
static int parse_secret(const mol_dp__call *c, json_t **body, const char **key, const char **value,
                        mol_dp__reply *r) {
  *body = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  *key = *body ? mol_json_str(*body, "key") : NULL;
  *value = *body ? mol_json_str(*body, "value") : NULL;
  if (!*key || !**key || !*value || strlen(*key) > SECRET_KEY_MAX ||
      strlen(*value) > SECRET_VALUE_MAX) {
    mol_dp__reply_err(r, 400, "key and value are required (string key up to 256 bytes, "
                              "string value up to 64 KiB)");
    return 0;
  }
  return 1;
}

static int ws_live(mol_devplatform *dp, const char *ws) {
  mol_dp__ws w;
  if (mol_dp__ws_load(dp, ws, &w) != 1) return 0;
  int live = strcmp(w.status, "removed") != 0;
  mol_dp__ws_free(&w);
  return live;
}

void mol_dp__h_secret_put(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_operator(c, ws, r)) return;
  json_t *body;
  const char *key, *value;
  if (parse_secret(c, &body, &key, &value, r)) {
    if (!ws_live(c->dp, ws))
      mol_dp__reply_err(r, 404, "workspace not found");
    else if (secret_write(c->dp, ws, key, value))
      mol_dp__reply_err(r, 500, "failed to save secret");
    else
      mol_dp__reply_set(r, 200, json_pack("{s:s,s:s}", "status", "saved", "key", key));
  }
  json_decref(body);
}

void mol_dp__h_global_secret_put(mol_dp__call *c, mol_dp__reply *r) {
  if (!mol_dp__auth_admin(c, r)) return;
  json_t *body;
  const char *key, *value;
  if (parse_secret(c, &body, &key, &value, r)) {
    if (secret_write(c->dp, "", key, value))
      mol_dp__reply_err(r, 500, "failed to save secret");
    else
      mol_dp__reply_set(r, 200, json_pack("{s:s,s:s}", "status", "saved", "key", key));
  }
  json_decref(body);
}

void mol_dp__h_secret_delete(mol_dp__call *c, const char *ws, const char *key, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  if (!mol_dp__auth_operator(c, ws, r)) return;
  sqlite3_stmt *st =
      mol_dp__store_write_begin(&dp->store) ? NULL : mol_dp__stmt(&dp->store, MOL_DP__ST_SEC_DEL);
  if (!st) {
    mol_dp__reply_err(r, 500, "failed to delete secret");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, key);
  if (mol_dp__exec_stmt(&dp->store, st)) {
    mol_dp__reply_err(r, 500, "failed to delete secret");
  } else if (sqlite3_changes(dp->store.db) == 0) {
    mol_dp__reply_err(r, 404, "secret not found");
  } else {
    mol_dp__reply_set(r, 200, json_pack("{s:s,s:s}", "status", "deleted", "key", key));
  }
}

void mol_dp__h_secret_list(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_operator(c, ws, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_SEC_LIST);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  json_t *arr = json_array();
  char created[32], updated[32];
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *scope = mol_dp__col_text(st, 1);
    mol_dp__rfc3339(sqlite3_column_int64(st, 2), created);
    mol_dp__rfc3339(sqlite3_column_int64(st, 3), updated);
    json_array_append_new(arr, json_pack("{s:s,s:b,s:s,s:s,s:s}", "key", mol_dp__col_text(st, 0),
                                         "has_value", 1, "scope",
                                         scope && *scope ? "workspace" : "global",
                                         "created_at", created, "updated_at", updated));
  }
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}
