/* memory.c - the key/value memory of a workspace (WorkspaceAuth):
 * GET /workspaces/:id/memory, GET|DELETE /workspaces/:id/memory/:key, POST /workspaces/:id/memory.
 *
 * Every write bumps the key's version; `if_match_version` makes a write conditional (0 means
 * create-only) and a mismatch is a 409 that names both versions, so two agents updating one key
 * cannot silently overwrite each other. `ttl_seconds` sets an expiry: an expired key is
 * invisible to reads and counts as absent for conditional writes (its version starts again at
 * 1). The version is read and written within one loop callback, so no other write can come
 * between them. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define KV_KEY_MAX 64 /* a path segment: the router caps captures at 64 bytes */
#define KV_VALUE_MAX (256 * 1024)

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Percent-decodes a path segment ('+' stays '+'). 0 when malformed, too long or it has a NUL. */
static int seg_decode(const char *s, char *out, size_t cap) {
  size_t j = 0;
  for (size_t i = 0; s[i]; i++) {
    char ch = s[i];
    if (ch == '%') {
      int hi = s[i + 1] ? hexval(s[i + 1]) : -1, lo = hi >= 0 && s[i + 2] ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return 0;
      ch = (char)(hi * 16 + lo);
      i += 2;
    }
    if (ch == '\0' || j + 1 >= cap) return 0;
    out[j++] = ch;
  }
  out[j] = '\0';
  return j > 0;
}

/* The common gate: a canonical id and the workspace's own token (or the admin's). */
static int kv_gate(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return 0;
  }
  return mol_dp__auth_workspace(c, ws, r);
}

/* One row of MOL_DP__ST_KV_GET / MOL_DP__ST_KV_LIST as upstream's entry object. */
static json_t *kv_row(sqlite3_stmt *st) {
  const char *text = mol_dp__col_text(st, 1);
  json_t *value = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);
  char updated[32];
  mol_dp__rfc3339(sqlite3_column_int64(st, 4), updated);
  json_t *o = json_pack("{s:s,s:o,s:I}", "key", mol_dp__col_text(st, 0), "value",
                        value ? value : json_null(), "version",
                        (json_int_t)sqlite3_column_int64(st, 2));
  if (o && sqlite3_column_type(st, 3) != SQLITE_NULL) {
    char exp[32];
    mol_dp__rfc3339(sqlite3_column_int64(st, 3), exp);
    json_object_set_new(o, "expires_at", json_string(exp));
  }
  if (o) json_object_set_new(o, "updated_at", json_string(updated));
  return o;
}

void mol_dp__h_kv_list(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!kv_gate(c, ws, r)) return;
  sqlite3_stmt *st = mol_dp__stmt(&c->dp->store, MOL_DP__ST_KV_LIST);
  if (!st) {
    mol_dp__reply_err(r, 500, "query failed");
    return;
  }
  mol_dp__bind_text(st, 1, ws);
  sqlite3_bind_int64(st, 2, mol_unix_ms());
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) json_array_append_new(arr, kv_row(st));
  sqlite3_reset(st);
  mol_dp__reply_set(r, 200, arr);
}

/* The live entry of key: 1 found (*version set, *row when row is not NULL), 0 absent, <0 error. */
static int kv_lookup(mol_devplatform *dp, const char *ws, const char *key, int64_t *version,
                     json_t **row) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_KV_GET);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, key);
  sqlite3_bind_int64(st, 3, mol_unix_ms());
  int rc = sqlite3_step(st);
  int found = rc == SQLITE_ROW;
  if (found) {
    *version = sqlite3_column_int64(st, 2);
    if (row) *row = kv_row(st);
  }
  sqlite3_reset(st);
  return found ? 1 : rc == SQLITE_DONE ? 0 : MOL_EIO;
}

void mol_dp__h_kv_get(mol_dp__call *c, const char *ws, const char *rawkey, mol_dp__reply *r) {
  char key[KV_KEY_MAX + 1];
  if (!kv_gate(c, ws, r)) return;
  if (!seg_decode(rawkey, key, sizeof key)) {
    mol_dp__reply_err(r, 400, "invalid key");
    return;
  }
  int64_t version;
  json_t *row = NULL;
  int found = kv_lookup(c->dp, ws, key, &version, &row);
  if (found < 0) mol_dp__reply_err(r, 500, "query failed");
  else if (!found) mol_dp__reply_err(r, 404, "key not found");
  else mol_dp__reply_set(r, 200, row);
}

typedef struct {
  const char *key;
  char *value;           /* dumped JSON, owned */
  int64_t ttl_s;         /* 0: none */
  int64_t if_match;      /* < 0: unconditional */
} kv_write;

/* Parses the POST body into w; fills r with the 400 and returns 0 when it is unusable. */
static int kv_parse(json_t *b, kv_write *w, mol_dp__reply *r) {
  const char *bad = NULL;
  json_t *ttl = b ? json_object_get(b, "ttl_seconds") : NULL;
  json_t *ifm = b ? json_object_get(b, "if_match_version") : NULL;
  json_t *value = b ? json_object_get(b, "value") : NULL;
  w->key = b ? mol_json_str(b, "key") : NULL;
  w->ttl_s = 0;
  w->if_match = -1;
  if (!json_is_object(b)) bad = "invalid request body";
  else if (!w->key || !*w->key) bad = "key is required";
  else if (strlen(w->key) > KV_KEY_MAX) bad = "key exceeds 64 bytes";
  else if (!value) bad = "value is required";
  else if (ttl && !json_is_null(ttl) && (!json_is_integer(ttl) || json_integer_value(ttl) <= 0))
    bad = "ttl_seconds must be a positive integer";
  else if (ifm && !json_is_null(ifm) && (!json_is_integer(ifm) || json_integer_value(ifm) < 0))
    bad = "if_match_version must be a non-negative integer";
  if (!bad) {
    w->value = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!w->value) bad = "invalid value";
    else if (strlen(w->value) > KV_VALUE_MAX) bad = "value exceeds 256 KiB";
  }
  if (bad) {
    mol_dp__reply_err(r, 400, bad);
    return 0;
  }
  if (json_is_integer(ttl)) w->ttl_s = json_integer_value(ttl);
  if (json_is_integer(ifm)) w->if_match = json_integer_value(ifm);
  return 1;
}

static int kv_store(mol_devplatform *dp, const char *ws, const kv_write *w, int64_t version) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_KV_PUT);
  if (!st) return MOL_EIO;
  int64_t now = mol_unix_ms();
  mol_dp__bind_text(st, 1, ws);
  mol_dp__bind_text(st, 2, w->key);
  mol_dp__bind_text(st, 3, w->value);
  sqlite3_bind_int64(st, 4, version);
  if (w->ttl_s) sqlite3_bind_int64(st, 5, now + w->ttl_s * 1000);
  else sqlite3_bind_null(st, 5);
  sqlite3_bind_int64(st, 6, now);
  return mol_dp__exec_stmt(&dp->store, st);
}

void mol_dp__h_kv_set(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!kv_gate(c, ws, r)) return;
  json_t *b = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  kv_write w = {0};
  if (kv_parse(b, &w, r)) {
    int64_t cur = 0;
    int found = kv_lookup(c->dp, ws, w.key, &cur, NULL);
    if (found < 0) {
      mol_dp__reply_err(r, 500, "query failed");
    } else if (w.if_match >= 0 && w.if_match != (found ? cur : 0)) {
      mol_dp__reply_set(r, 409, json_pack("{s:s,s:I,s:o}", "error", "if_match_version mismatch",
                                     "expected_version", (json_int_t)w.if_match,
                                     "current_version",
                                     found ? json_integer(cur) : json_null()));
    } else if (kv_store(c->dp, ws, &w, (found ? cur : 0) + 1)) {
      mol_dp__reply_err(r, 500, "failed to save memory");
    } else {
      mol_dp__reply_set(r, 200, json_pack("{s:s,s:s,s:I}", "status", "ok", "key", w.key, "version",
                                     (json_int_t)((found ? cur : 0) + 1)));
    }
  }
  free(w.value);
  json_decref(b);
}

void mol_dp__h_kv_delete(mol_dp__call *c, const char *ws, const char *rawkey, mol_dp__reply *r) {
  char key[KV_KEY_MAX + 1];
  if (!kv_gate(c, ws, r)) return;
  if (!seg_decode(rawkey, key, sizeof key)) {
    mol_dp__reply_err(r, 400, "invalid key");
    return;
  }
  mol_devplatform *dp = c->dp;
  sqlite3_stmt *st = mol_dp__store_write_begin(&dp->store) ? NULL : mol_dp__stmt(&dp->store, MOL_DP__ST_KV_DEL);
  if (st) {
    mol_dp__bind_text(st, 1, ws);
    mol_dp__bind_text(st, 2, key);
  }
  if (!st || mol_dp__exec_stmt(&dp->store, st)) mol_dp__reply_err(r, 500, "failed to delete memory");
  else mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "deleted"));
}
