/* verbs_env.h - what `molecule connect` hands its handler so that the platform verbs
 * (`molecule peers|delegate|notify|secrets|status`) work inside it with no configuration. */
#ifndef MOL_CLI_VERBS_ENV_H
#define MOL_CLI_VERBS_ENV_H

#include "molecule.h"

/* Exports the workspace identity connect runs with, flags included, to its environment (and so
 * to every handler): PLATFORM_URL and MOLECULE_PLATFORM_URL, WORKSPACE_ID and
 * MOLECULE_WORKSPACE_ID, MOLECULE_TOKEN_DIR (resolved), MOLECULE_ORG_ID when set, and
 * MOLECULE_MESSAGE_FILE (<token-dir>/.inbound_message.json). Call it once, before the loop
 * runs: setenv must not race the thread pool's reads of the environment. */
void mol_cli__connect_export_env(const mol_platform_opts *po);

/* Writes the message's raw JSON (the platform's activity row) to MOLECULE_MESSAGE_FILE, 0600,
 * atomically, before its handler starts. On failure the file is removed (never a stale
 * message) and the reason printed. */
void mol_cli__connect_message_file(const mol_platform_message *m);

/* A task_supplier for connect's run loop: the current task `molecule status` left in
 * <token-dir>/.current_task ("" when none), so connect's heartbeats keep it. */
void mol_cli__connect_status_supplier(mol_platform_client *c, mol_platform_heartbeat_payload *p,
                                      void *arg);

#endif
