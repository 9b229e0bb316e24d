/* echo.h - the echo executor that ships with the library: the test agent of the conformance
 * suite and of `molecule serve --executor echo`.
 *
 * Message mode (default): replies "echo: <text>" with a Message, after delay_ms if set
 * (reporting working first).
 * Task mode: walks the task lifecycle with delay_ms between steps: working, an artifact
 * "echo: <text>", completed. A text starting with "input-required" ends in input-required
 * instead, so a client can continue the task with message.taskId.
 * Until-done mode (a task mode): every turn ends in input-required, asking for more, until the
 * user's text is "done" (any case, surrounding blanks ignored), which completes the task; so a
 * client can walk a multi-turn conversation (history growing turn by turn) and cancel a task
 * that is still live.
 * Cancel stops the pending timer and ends the turn canceled at once. */
#ifndef MOL_A2A_UV_ECHO_H
#define MOL_A2A_UV_ECHO_H

#include "a2a_uv/executor.h"

typedef struct {
  unsigned delay_ms;
  int task_mode;
  int until_done; /* implies task_mode */
} mol_echo_opts;

/* Fills ex with an echo executor. The state is allocated; free it with mol_echo_free once no
 * turn is running. Returns 0 or MOL_ENOMEM. */
int mol_echo_new(const mol_echo_opts *opts, mol_a2a_executor *ex);
void mol_echo_free(mol_a2a_executor *ex);

#endif
