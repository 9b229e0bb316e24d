/* exec_command.h - the command executor: any program is an agent. Each A2A turn runs the
 * handler command (`/bin/sh -c HANDLER`, in a process group of its own) with the user's text
 * on stdin; what it prints on stdout is the reply.
 *
 * - Exit status 0: the turn completes with stdout (trailing newlines stripped) as the reply.
 *   Non-zero: the task fails with the last non-empty line of stderr as its status message,
 *   or "handler exit status N" when stderr was empty; killed by a signal: "handler killed by
 *   signal N" (with the stderr line, if any).
 * - When the caller streams, every stdout line becomes an artifact chunk (appended) as it
 *   arrives; the reply still ends the turn. Without streaming, stdout is only the reply.
 * - A deadline per turn (timeout_ms), an output cap (max_output) and tasks/cancel stop the
 *   handler's whole process group: SIGTERM, then SIGKILL after kill_grace_ms. A timeout or an
 *   oversized output fails the task saying so; a cancel ends it canceled, once the handler is
 *   gone.
 * - At most max_running handlers run at once; further turns wait in a FIFO of max_queued;
 *   past that a turn fails at once: "busy: ...".
 * - The handler's environment is ours minus the secrets it has no use for
 *   (MOLECULE_A2A_PLATFORM_SHARED_SECRET, API_SERVER_KEY, MOLECULE_ADMIN_TOKEN, ADMIN_TOKEN,
 *   MOLECULE_WORKSPACE_TOKEN), plus MOLECULE_TASK_ID, MOLECULE_CONTEXT_ID,
 *   MOLECULE_MESSAGE_ID, MOLECULE_STREAMING (1 or 0), MOLECULE_MESSAGE_FILE (the A2A message
 *   as JSON, in a 0600 file removed after the turn), and MOLECULE_AGENT_NAME, PLATFORM_URL and
 *   WORKSPACE_ID when set below.
 *
 * Nothing blocks the loop: the message file is written in the thread pool, the handler is
 * spawned and read with libuv (base/proc.h). All calls on the loop thread. */
#ifndef MOL_RUNTIME_EXEC_COMMAND_H
#define MOL_RUNTIME_EXEC_COMMAND_H

#include <stddef.h>
#include <uv.h>

#include "a2a_uv/executor.h"

typedef struct {
  const char *handler;        /* required: the command, run with /bin/sh -c */
  unsigned timeout_ms;        /* per turn; 0 -> 300 s */
  unsigned kill_grace_ms;     /* SIGTERM to SIGKILL; 0 -> 2 s */
  unsigned max_running;       /* handler processes at once; 0 -> 4 x CPUs */
  unsigned max_queued;        /* turns waiting for a free slot; 0 -> 64 */
  size_t max_output;          /* stdout bytes kept per turn; 0 -> 1 MiB; past it the turn fails */
  const char *tmp_dir;        /* for message files; NULL -> $TMPDIR, else /tmp */
  /* Exported to the handler when set (the agent's identity). */
  const char *agent_name, *platform_url, *workspace_id;
} mol_command_opts;

#define MOL_COMMAND_DEFAULT_TIMEOUT_MS 300000u
#define MOL_COMMAND_DEFAULT_MAX_QUEUED 64u
#define MOL_COMMAND_DEFAULT_MAX_OUTPUT (1024u * 1024u)

/* Fills ex with a command executor (strings are copied). Returns 0, MOL_EINVAL (no handler)
 * or MOL_ENOMEM. */
int mol_command_executor_new(uv_loop_t *loop, const mol_command_opts *opts,
                             mol_a2a_executor *ex);

/* Handler processes running and turns waiting, for tests and status views. */
void mol_command_executor_counts(const mol_a2a_executor *ex, unsigned *running,
                                 unsigned *queued);

/* Fails the turns still waiting and kills the handlers still running ("executor shutting
 * down"; normally none are left: the A2A server cancels its turns before the executor
 * closes), then frees the executor and calls cb(arg) once, never inside this call. */
void mol_command_executor_close(mol_a2a_executor *ex, void (*cb)(void *arg), void *arg);

#endif
