/* taskdb.h - the durable A2A task store's SQLite backend (a2a/task_backend.h): the rows in
 * <dir>/a2a-tasks.db, WAL mode. It lives beside the dev platform's store because this layer is
 * the one that owns SQLite; the `molecule` command hands it to the A2A servers it starts with a
 * data directory (serve --data-dir, the host's data_dir). */
#ifndef MOL_DEVPLATFORM_TASKDB_H
#define MOL_DEVPLATFORM_TASKDB_H

#include "a2a/task_backend.h"

/* The backend (a constant table; every opened store is a handle of its own). */
const mol_a2a_task_backend *mol_dp_taskdb_backend(void);

#endif
