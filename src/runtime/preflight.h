/* preflight.h - the checks `molecule host --check` runs on a loaded host file (preflight.c):
 * upstream's (required env, auth token file, prompt files, skills, A2A port, runtime) and this
 * runtime's (state dir writable, gateway listening). docs/host.md lists them. */
#ifndef MOL_RUNTIME_PREFLIGHT_H
#define MOL_RUNTIME_PREFLIGHT_H

#include <stdio.h>

#include "runtime/host.h"

/* Prints every agent's issues to out ("[FAIL] …" / "[WARN] …", each with a "  Fix:" line);
 * base_dir is the host file's folder (inline entries' *_file paths are relative to it).
 * Returns the number of failures (warnings do not count). Blocks (file checks, a TCP connect
 * per gateway of at most 2 s): for the command line, never on a loop. */
int mol_host_preflight(const mol_host_config *cfg, const char *base_dir, FILE *out);

#endif
