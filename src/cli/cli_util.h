/* cli_util.h - small helpers shared by the subcommands. */
#ifndef MOL_CLI_UTIL_H
#define MOL_CLI_UTIL_H

#include <uv.h>

/* Splits "HOST:PORT" or "[v6]:PORT" (or ":PORT" for 127.0.0.1). Returns 0 or -1. */
int mol_cli__parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* Calls on_stop(arg) once on the first SIGINT or SIGTERM; a second signal exits at once.
 * The signal handles are unref'd so they never keep the loop alive. */
void mol_cli__on_stop_signal(uv_loop_t *loop, void (*on_stop)(void *arg), void *arg);
/* Closes the signal handles (before the loop is closed). */
void mol_cli__signals_close(void);

/* Applies --log-level / --log-json style settings from the environment (MOLECULE_LOG_LEVEL,
 * MOLECULE_LOG_FORMAT=json). */
void mol_cli__log_from_env(void);

#endif
