/* connect_handler.h - runs `molecule connect`'s handler command for one message: /bin/sh -c CMD
 * in a process group of its own, the message text on its stdin, its stdout collected as the
 * reply (up to 1 MiB), killed with its group at a timeout. Knows nothing of queues or cursors. */
#ifndef MOL_CLI_CONNECT_HANDLER_H
#define MOL_CLI_CONNECT_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "molecule.h"

typedef struct connect_handler connect_handler;

typedef struct {
  int started;           /* 0: the command could not be started (logged; exit_status 127) */
  int ok;                /* exited with status 0, not by a signal */
  int timed_out;         /* killed at the timeout */
  int64_t exit_status;   /* 127 when the command could not be started */
  int term_signal;
  char *output;          /* its stdout, NUL-terminated, never NULL; the callback may modify it */
  size_t len;
} connect_handler_result;

/* Fires exactly once, never inside mol_cli__connect_handler_start: when the exit status and
 * the whole output are in, or when the command could not be started. The handler releases
 * itself after the callback returns; it must not be used from then on. */
typedef void (*connect_handler_cb)(const connect_handler_result *res, void *arg);

/* Starts cmd for m, whose text goes to its stdin and whose ids go to its environment
 * (MOLECULE_MESSAGE_SOURCE, _SOURCE_ID, _ACTIVITY_ID, _PEER_NAME); m is copied as needed.
 * Returns 0, or MOL_ENOMEM (cb never fires). */
int mol_cli__connect_handler_start(uv_loop_t *loop, const char *cmd, unsigned timeout_ms,
                                   const mol_platform_message *m, connect_handler_cb cb, void *arg,
                                   connect_handler **out);

/* Signals the handler's process group, unless it has already finished. */
void mol_cli__connect_handler_kill(connect_handler *h, int signum);

#endif
