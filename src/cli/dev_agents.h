/* dev_agents.h - the built-in executors of `molecule dev`'s demo organisation.
 *
 * coordinator: asks every worker (through the platform's A2A proxy, with its own platform
 *   identity) and answers with their replies combined; cancel cancels the calls in flight.
 * worker: answers as its role after a short pause, so the demo shows turns overlapping. */
#ifndef MOL_CLI_DEV_AGENTS_H
#define MOL_CLI_DEV_AGENTS_H

#include "a2a_uv/executor.h"
#include "molecule.h"

#define DEV_MAX_WORKERS 4

typedef struct {
  mol_platform_client *platform;   /* the coordinator's identity (borrowed) */
  int n_workers;
  char worker_id[DEV_MAX_WORKERS][40];
  char worker_name[DEV_MAX_WORKERS][40];
  unsigned long long calls, failures;
} dev_coordinator;

int mol_cli__dev_coordinator_executor(dev_coordinator *c, mol_a2a_executor *ex);

typedef struct {
  const char *role;     /* "researcher", "writer", ... */
  unsigned delay_ms;
} dev_worker;

int mol_cli__dev_worker_executor(dev_worker *w, mol_a2a_executor *ex);

#endif
