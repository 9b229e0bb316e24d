/* dev_agents.h - the built-in executors of `molecule dev`'s demo organisation. Both act
 * through the agent tools a model would call (tools/builtin.h), so the demo shows the tool path
 * working end to end without a model:
 *
 * coordinator: the route_task_to_team tool, as a model in coordinator mode would call it: once
 *   for its team (the children the platform lists for its workspace), then once per member
 *   with it as preferred_member_id, which waits for that member's reply; answers with the
 *   replies combined. Cancel stops its tool calls.
 * worker: commit_memory (what it was asked), then search_memory (what it remembers of it), and
 *   answers as its role with what it recalled.
 * Each tool call is reported through note() for the live view. */
#ifndef MOL_CLI_DEV_AGENTS_H
#define MOL_CLI_DEV_AGENTS_H

#include "a2a_uv/executor.h"
#include "molecule.h"
#include "tools/builtin.h"

#define DEV_MAX_WORKERS 4

typedef void (*dev_note_fn)(void *arg, const char *line);

typedef struct {
  mol_tools *tools;                /* the coordinator's tools, route_task_to_team among them
                                      (borrowed; set before its first turn, else the turn
                                      fails) */
  dev_note_fn note;
  void *note_arg;
  unsigned long long calls, failures;
} dev_coordinator;

int mol_cli__dev_coordinator_executor(dev_coordinator *c, mol_a2a_executor *ex);

typedef struct {
  const char *role;                /* "researcher", "writer", ... */
  mol_tools *tools;                /* the worker's core tools (borrowed; as the coordinator's) */
  dev_note_fn note;
  void *note_arg;
} dev_worker;

int mol_cli__dev_worker_executor(dev_worker *w, mol_a2a_executor *ex);

#endif
