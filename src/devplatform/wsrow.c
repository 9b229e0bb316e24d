/* wsrow.c - workspace rows (load, create, JSON shapes) and the in-memory runtime state per
 * workspace (heartbeat overrides, in-flight dispatches), which is never persisted: upstream
 * keeps it in a sync.Map, so a restart clears it and platform defaults apply until the next
 * heartbeat. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t cap) {
  const char *s = mol_dp__col_text(st, col);
  if (!s) s = "";
  strncpy(out, s, cap - 1);
  out[cap - 1] = '\0';
}

static char *dup_col(sqlite3_stmt *st, int col) {
  const char *s = mol_dp__col_text(st, col);
  return s ? strdup(s) : NULL;
}

static void fill_ws(sqlite3_stmt *st, mol_dp__ws *w) {
  copy_col(st, 0, w->id, sizeof w->id);
  copy_col(st, 1, w->name, sizeof w->name);
  w->has_role = sqlite3_column_type(st, 2) != SQLITE_NULL;
  copy_col(st, 2, w->role, sizeof w->role);
  w->tier = sqlite3_column_int(st, 3);
  copy_col(st, 4, w->parent_id, sizeof w->parent_id);
  copy_col(st, 5, w->status, sizeof w->status);
  w->url = dup_col(st, 6);
  copy_col(st, 7, w->delivery_mode, sizeof w->delivery_mode);
  copy_col(st, 8, w->runtime, sizeof w->runtime);
  w->agent_card = dup_col(st, 9);
  w->last_heartbeat_at = sqlite3_column_int64(st, 10);
  w->last_error_rate = sqlite3_column_double(st, 11);
  w->active_tasks = sqlite3_column_int(st, 12);
  w->uptime_seconds = sqlite3_column_int64(st, 13);
  w->current_task = dup_col(st, 14);
  w->max_concurrent_tasks = sqlite3_column_int(st, 15);
  w->budget_limit = sqlite3_column_type(st, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 16);
  w->monthly_spend = sqlite3_column_int64(st, 17);
  w->created_at = sqlite3_column_int64(st, 18);
  w->updated_at = sqlite3_column_int64(st, 19);
}

int mol_dp__ws_load(mol_devplatform *dp, const char *id, mol_dp__ws *w) {
  memset(w, 0, sizeof *w);
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_GET);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) fill_ws(st, w);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) {
    if (!w->url) w->url = strdup("");
    return w->url ? 1 : MOL_ENOMEM;
  }
  return rc == SQLITE_DONE ? 0 : MOL_EIO;
}

void mol_dp__ws_free(mol_dp__ws *w) {
  free(w->url);
  free(w->agent_card);
  free(w->current_task);
  w->url = w->agent_card = w->current_task = NULL;
}

/* The stored card is JSON text; a row written by a bad hand shows as null, never a crash. */
static json_t *card_json(const char *text) {
  json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  return v ? v : json_null();
}

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

json_t *mol_dp__ws_json(const mol_dp__ws *w) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(w->id));
  json_object_set_new(o, "name", json_string(w->name));
  json_object_set_new(o, "role", w->has_role ? json_string(w->role) : json_null());
  json_object_set_new(o, "tier", json_integer(w->tier));
  json_object_set_new(o, "status", json_string(w->status));
  json_object_set_new(o, "url", json_string(w->url ? w->url : ""));
  json_object_set_new(o, "parent_id", str_or_null(w->parent_id));
  json_object_set_new(o, "active_tasks", json_integer(w->active_tasks));
  json_object_set_new(o, "max_concurrent_tasks", json_integer(w->max_concurrent_tasks));
  json_object_set_new(o, "last_error_rate", json_real(w->last_error_rate));
  json_object_set_new(o, "uptime_seconds", json_integer(w->uptime_seconds));
  json_object_set_new(o, "runtime", json_string(w->runtime));
  json_object_set_new(o, "delivery_mode", json_string(w->delivery_mode));
  json_object_set_new(o, "agent_card", card_json(w->agent_card));
  char ts[32];
  mol_dp__rfc3339(w->created_at, ts);
  json_object_set_new(o, "created_at", json_string(ts));
  if (w->last_heartbeat_at) {
    mol_dp__rfc3339(w->last_heartbeat_at, ts);
    json_object_set_new(o, "last_heartbeat_at", json_string(ts));
  }
  return o;
}

json_t *mol_dp__ws_peer_json(sqlite3_stmt *st) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(mol_dp__col_text(st, 0)));
  json_object_set_new(o, "name", json_string(mol_dp__col_text(st, 1)));
  const char *role = mol_dp__col_text(st, 2);
  json_object_set_new(o, "role", role ? json_string(role) : json_null());
  json_object_set_new(o, "tier", json_integer(sqlite3_column_int(st, 3)));
  json_object_set_new(o, "status", json_string(mol_dp__col_text(st, 4)));
  json_object_set_new(o, "agent_card", card_json(mol_dp__col_text(st, 5)));
  const char *url = mol_dp__col_text(st, 6);
  json_object_set_new(o, "url", json_string(url ? url : ""));
  json_object_set_new(o, "parent_id", str_or_null(mol_dp__col_text(st, 7)));
  json_object_set_new(o, "active_tasks", json_integer(sqlite3_column_int(st, 8)));
  return o;
}

int mol_dp__ws_create(mol_devplatform *dp, const char *id, const char *name, const char *role,
                      int tier, const char *parent, const char *status, const char *url,
                      const char *runtime, int max_concurrent, int64_t budget_limit) {
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_INSERT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, name);
  mol_dp__bind_text(st, 3, role);
  sqlite3_bind_int(st, 4, tier);
  mol_dp__bind_text(st, 5, parent && *parent ? parent : NULL);
  mol_dp__bind_text(st, 6, status);
  mol_dp__bind_text(st, 7, url ? url : "");
  mol_dp__bind_text(st, 8, "push");
  mol_dp__bind_text(st, 9, runtime);
  sqlite3_bind_int(st, 10, max_concurrent);
  sqlite3_bind_int64(st, 11, mol_unix_ms());
  if (budget_limit >= 0) sqlite3_bind_int64(st, 12, budget_limit);
  return mol_dp__exec_stmt(&dp->store, st);
}

mol_dp__rt *mol_dp__rt_get(mol_devplatform *dp, const char *ws, int create) {
  mol_dp__rt *rt = NULL;
  HASH_FIND_STR(dp->rt, ws, rt);
  if (rt || !create) return rt;
  rt = calloc(1, sizeof *rt);
  if (!rt) return NULL;
  strncpy(rt->id, ws, MOL_DP__ID_MAX);
  HASH_ADD_STR(dp->rt, id, rt);
  return rt;
}

/* Entries are dropped once nothing is left in them, so the table tracks only live state. */
void mol_dp__rt_maybe_drop(mol_devplatform *dp, mol_dp__rt *rt) {
  if (!rt || rt->idle_override_s || rt->caps || rt->inflight) return;
  HASH_DEL(dp->rt, rt);
  free(rt);
}

int mol_dp__rt_cap(mol_devplatform *dp, const char *ws, const char *cap) {
  mol_dp__rt *rt = mol_dp__rt_get(dp, ws, 0);
  return rt && rt->caps && json_is_true(json_object_get(rt->caps, cap));
}
