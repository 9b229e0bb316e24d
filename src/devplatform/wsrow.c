/* wsrow.c - workspace rows (load, create, JSON shapes) and the in-memory runtime state per
 * workspace (heartbeat overrides, in-flight dispatches, the row as the proxy reads it), which
 * is never persisted: upstream keeps it in a sync.Map, so a restart clears it and platform
 * defaults apply until the next heartbeat.
 *
 * The proxy's copy of a row spares every A2A call a SELECT. It is trusted only while
 * dp->ws_gen is what it was when the row was read: SQLite's update hook bumps it on every
 * INSERT, UPDATE and DELETE of the workspaces table, whoever makes it, and a rollback bumps
 * it too (devplatform.c). So no writer has to remember to invalidate it. */
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

struct mol_dp__ws_hot {
  uint64_t gen;
  char status[24];
  char delivery_mode[8];
  char *url;
  int64_t budget_limit, monthly_spend;
};

static void on_row_write(void *arg, int op, const char *db, const char *table, sqlite3_int64 row) {
  (void)op, (void)db, (void)row;
  mol_devplatform *dp = arg;
  if (strcmp(table, "workspaces") == 0) dp->ws_gen++;
}

static void hot_free(struct mol_dp__ws_hot *h) {
  if (h) free(h->url);
  free(h);
}

/* w gets the proxy's fields of h and a copy of its url; the rest of w is zero. */
static int hot_copy(const struct mol_dp__ws_hot *h, mol_dp__ws *w) {
  memset(w, 0, sizeof *w);
  memcpy(w->status, h->status, sizeof w->status);
  memcpy(w->delivery_mode, h->delivery_mode, sizeof w->delivery_mode);
  w->budget_limit = h->budget_limit;
  w->monthly_spend = h->monthly_spend;
  return (w->url = strdup(h->url)) ? 1 : MOL_ENOMEM;
}

/* The proxy's fields of a loaded row w (which keeps its url: h borrows it). */
static void hot_fill(struct mol_dp__ws_hot *h, const mol_dp__ws *w, uint64_t gen) {
  h->gen = gen;
  memcpy(h->status, w->status, sizeof h->status);
  memcpy(h->delivery_mode, w->delivery_mode, sizeof h->delivery_mode);
  h->budget_limit = w->budget_limit;
  h->monthly_spend = w->monthly_spend;
  h->url = w->url;
}

/* Keeps the proxy's fields of a freshly read row; nothing is lost if memory is short. */
static void hot_keep(mol_devplatform *dp, const char *id, const struct mol_dp__ws_hot *from) {
  mol_dp__rt *rt = mol_dp__rt_get(dp, id, 1);
  struct mol_dp__ws_hot *h = rt ? malloc(sizeof *h) : NULL;
  if (h) *h = *from;
  if (!h || !(h->url = strdup(from->url))) {
    free(h);
    return;
  }
  hot_free(rt->hot);
  rt->hot = h;
}

int mol_dp__ws_load_hot(mol_devplatform *dp, const char *id, mol_dp__ws *w) {
  if (!dp->ws_watched) {
    sqlite3_update_hook(dp->store.db, on_row_write, dp);
    dp->ws_watched = 1;
    dp->ws_gen++;
  }
  mol_dp__rt *rt = mol_dp__rt_get(dp, id, 0);
  if (rt && rt->hot && rt->hot->gen == dp->ws_gen) return hot_copy(rt->hot, w);
  int found = mol_dp__ws_load(dp, id, w);
  if (found != 1) return found;
  struct mol_dp__ws_hot h;
  hot_fill(&h, w, dp->ws_gen);
  hot_keep(dp, id, &h);
  /* The same fields whether the copy or the row answered (h.url is w's until w is freed). */
  mol_dp__ws trimmed;
  int rc = hot_copy(&h, &trimmed);
  mol_dp__ws_free(w);
  *w = trimmed;
  return rc;
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

/* Entries are dropped once nothing is left in them, so the table tracks only live state; a
 * current row copy counts as something (one entry per workspace the proxy calls). */
void mol_dp__rt_maybe_drop(mol_devplatform *dp, mol_dp__rt *rt) {
  if (!rt || rt->idle_override_s || rt->caps || rt->inflight) return;
  if (rt->hot && rt->hot->gen == dp->ws_gen) return;
  HASH_DEL(dp->rt, rt);
  mol_dp__rt_free(rt);
}

void mol_dp__rt_free(mol_dp__rt *rt) {
  if (rt->caps) json_decref(rt->caps);
  hot_free(rt->hot);
  free(rt);
}

int mol_dp__rt_cap(mol_devplatform *dp, const char *ws, const char *cap) {
  mol_dp__rt *rt = mol_dp__rt_get(dp, ws, 0);
  return rt && rt->caps && json_is_true(json_object_get(rt->caps, cap));
}
