/* host_workers.h - `molecule host --workers N`, N > 1 (host_workers.c). */
#ifndef MOL_CLI_HOST_WORKERS_H
#define MOL_CLI_HOST_WORKERS_H

#include "runtime/host.h"

/* Runs the host file's agents on n worker loops (at most one per agent) until a stop signal.
 * Returns the exit status: 0 after a signal-driven stop, 1 when a worker could not start. */
int mol_cli__host_workers(mol_host_config *cfg, unsigned n);

#endif
