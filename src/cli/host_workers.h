/* host_workers.h - `molecule host --workers N`, N > 1 (host_workers.c). */
#ifndef MOL_CLI_HOST_WORKERS_H
#define MOL_CLI_HOST_WORKERS_H

#include "runtime/host.h"

/* The host file, for the workers after the first, which load it again. */
typedef struct {
  const char *path;
  char listen_host[128];
} mol_cli__host_file;

/* Runs the host file's agents on n worker loops (at most one per agent) until a stop signal.
 * cfg (loaded from path, with --listen applied) is the first worker's, taken (zeroed); the
 * others load path again (a host owns its config) and listen where the first does. SIGHUP is
 * logged and ignored. Returns the exit status: 0 after a signal-driven stop, 1 when a worker
 * could not start. */
int mol_cli__host_workers(mol_host_config *cfg, const char *path, unsigned n);

#endif
