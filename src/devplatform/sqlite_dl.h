/* sqlite_dl.h - SQLite, loaded when the first database is opened instead of at start-up.
 * Linked normally, libsqlite3 was the largest library every `molecule` command mapped, and
 * its ~1,600 symbol relocations, resolved by the dynamic loader before main, were half of
 * `molecule --version`'s instructions, though only the dev platform and the durable task store ever
 * open a database. A file that calls SQLite includes this in place of <sqlite3.h>: its calls
 * keep their names and go through a table of pointers filled when sqlite3_open_v2 first runs.
 *
 * A new sqlite3_* call needs its line in MOL_DP_SQLITE_FUNCS and a #define below; without
 * them the build stops at the link (libsqlite3 is not linked), not at run time. */
#ifndef MOL_DEVPLATFORM_SQLITE_DL_H
#define MOL_DEVPLATFORM_SQLITE_DL_H

#include <sqlite3.h>

/* Every SQLite function the dev platform and the task store call. */
#define MOL_DP_SQLITE_FUNCS(X)                                                                \
  X(sqlite3_bind_blob) X(sqlite3_bind_double) X(sqlite3_bind_int) X(sqlite3_bind_int64)       \
  X(sqlite3_bind_null) X(sqlite3_bind_text) X(sqlite3_busy_timeout) X(sqlite3_changes)        \
  X(sqlite3_clear_bindings) X(sqlite3_close) X(sqlite3_column_bytes)                          \
  X(sqlite3_column_double) X(sqlite3_column_int) X(sqlite3_column_int64)                      \
  X(sqlite3_column_text) X(sqlite3_column_type) X(sqlite3_errmsg) X(sqlite3_exec)             \
  X(sqlite3_finalize) X(sqlite3_free) X(sqlite3_get_autocommit) X(sqlite3_open_v2)            \
  X(sqlite3_prepare_v2) X(sqlite3_prepare_v3) X(sqlite3_reset) X(sqlite3_step)                \
  X(sqlite3_update_hook)

typedef struct {
#define MOL_DP_SQLITE_SLOT(f) __typeof__(&f) f;
  MOL_DP_SQLITE_FUNCS(MOL_DP_SQLITE_SLOT)
#undef MOL_DP_SQLITE_SLOT
} mol_dp__sqlite_api;

extern mol_dp__sqlite_api mol_dp__sqlite;

/* sqlite3_open_v2, after loading libsqlite3 the first time (any thread; later calls reuse the
 * first result). When it cannot be loaded: SQLITE_CANTOPEN and, as SQLite gives on a failed
 * open, a handle for the error path only: sqlite3_errmsg on it says why
 * ("cannot load libsqlite3.so.0: ..."), sqlite3_close on it does nothing. */
int mol_dp__sqlite_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs);

#ifndef MOL_DP_SQLITE_DL_IMPL
#define sqlite3_open_v2 mol_dp__sqlite_open_v2
#define sqlite3_bind_blob mol_dp__sqlite.sqlite3_bind_blob
#define sqlite3_bind_double mol_dp__sqlite.sqlite3_bind_double
#define sqlite3_bind_int mol_dp__sqlite.sqlite3_bind_int
#define sqlite3_bind_int64 mol_dp__sqlite.sqlite3_bind_int64
#define sqlite3_bind_null mol_dp__sqlite.sqlite3_bind_null
#define sqlite3_bind_text mol_dp__sqlite.sqlite3_bind_text
#define sqlite3_busy_timeout mol_dp__sqlite.sqlite3_busy_timeout
#define sqlite3_changes mol_dp__sqlite.sqlite3_changes
#define sqlite3_clear_bindings mol_dp__sqlite.sqlite3_clear_bindings
#define sqlite3_close mol_dp__sqlite.sqlite3_close
#define sqlite3_column_bytes mol_dp__sqlite.sqlite3_column_bytes
#define sqlite3_column_double mol_dp__sqlite.sqlite3_column_double
#define sqlite3_column_int mol_dp__sqlite.sqlite3_column_int
#define sqlite3_column_int64 mol_dp__sqlite.sqlite3_column_int64
#define sqlite3_column_text mol_dp__sqlite.sqlite3_column_text
#define sqlite3_column_type mol_dp__sqlite.sqlite3_column_type
#define sqlite3_errmsg mol_dp__sqlite.sqlite3_errmsg
#define sqlite3_exec mol_dp__sqlite.sqlite3_exec
#define sqlite3_finalize mol_dp__sqlite.sqlite3_finalize
#define sqlite3_free mol_dp__sqlite.sqlite3_free
#define sqlite3_get_autocommit mol_dp__sqlite.sqlite3_get_autocommit
#define sqlite3_prepare_v2 mol_dp__sqlite.sqlite3_prepare_v2
#define sqlite3_prepare_v3 mol_dp__sqlite.sqlite3_prepare_v3
#define sqlite3_reset mol_dp__sqlite.sqlite3_reset
#define sqlite3_step mol_dp__sqlite.sqlite3_step
#define sqlite3_update_hook mol_dp__sqlite.sqlite3_update_hook
#endif

#endif
