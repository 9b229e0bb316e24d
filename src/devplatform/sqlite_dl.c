/* sqlite_dl.c - loads libsqlite3 when the first database is opened (see sqlite_dl.h): dlopen
 * once per process, every function looked up, and a clear error when the library or a symbol
 * is missing. */
#define MOL_DP_SQLITE_DL_IMPL
#include "devplatform/sqlite_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#ifndef MOL_LIBSQLITE3_SONAME
#define MOL_LIBSQLITE3_SONAME "libsqlite3.so.0"
#endif

static char load_error[256]; /* empty once loaded */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* When libsqlite3 cannot be loaded, opening answers as SQLite does when it cannot open a file:
 * an error code and a handle whose sqlite3_errmsg says why and whose sqlite3_close frees
 * nothing. So the callers' usual error path reports the loader's reason, and calls nothing
 * else, which these slots would not survive until the library is loaded. */
static char unloaded_handle;

static const char *errmsg_unloaded(sqlite3 *db) {
  (void)db;
  return load_error;
}

static int close_unloaded(sqlite3 *db) {
  (void)db;
  return SQLITE_OK;
}

static int finalize_unloaded(sqlite3_stmt *st) {
  (void)st;
  return SQLITE_OK;
}

mol_dp__sqlite_api mol_dp__sqlite = {.sqlite3_errmsg = errmsg_unloaded,
                                     .sqlite3_close = close_unloaded,
                                     .sqlite3_finalize = finalize_unloaded};

static void load(void) {
  /* RTLD_LOCAL: its symbols stay out of the global namespace, as with a normal link. Never
   * closed: statements and connections may outlive any point where it could be. */
  void *h = dlopen(MOL_LIBSQLITE3_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(load_error, sizeof(load_error), "cannot load %s: %s", MOL_LIBSQLITE3_SONAME,
             dlerror());
    return;
  }
  mol_dp__sqlite_api api;
#define MOL_DP_SQLITE_RESOLVE(f)                                                              \
  if (!(*(void **)&api.f = dlsym(h, #f))) {                                                   \
    snprintf(load_error, sizeof(load_error), "%s has no %s", MOL_LIBSQLITE3_SONAME, #f);      \
    return;                                                                                   \
  }
  MOL_DP_SQLITE_FUNCS(MOL_DP_SQLITE_RESOLVE)
#undef MOL_DP_SQLITE_RESOLVE
  mol_dp__sqlite = api;
}

int mol_dp__sqlite_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs) {
  pthread_once(&load_once, load);
  if (load_error[0]) {
    *db = (sqlite3 *)&unloaded_handle;
    return SQLITE_CANTOPEN;
  }
  return mol_dp__sqlite.sqlite3_open_v2(path, db, flags, vfs);
}
