/* turn.h - the server binding's side of executor.h: starting a turn on a task and hearing
 * how it ends. */
#ifndef MOL_A2A_UV_TURN_H
#define MOL_A2A_UV_TURN_H

#include "a2a_uv/executor.h"
#include "a2a/task.h"

typedef struct {
  /* The executor answered with a direct Message (borrowed, canonical), just before the task
   * completes with it. message/send (blocking) answers with this. May be NULL. */
  void (*on_reply)(mol_a2a_turn *t, const mol_a2a_cmsg *msg, void *arg);
  /* The turn is over (the task has reached its last state of this turn); called once, after
   * which the turn is freed. May be NULL. */
  void (*on_end)(mol_a2a_turn *t, void *arg);
  void *arg;
} mol_a2a_turn_hooks;

/* The turn's task (held until the turn ends; still valid inside on_end). */
mol_a2a_task *mol_a2a_turn_task(const mol_a2a_turn *t);

/* Starts `ex` on `task` (live, just begun with mol_a2a_store_begin) for `message` (borrowed;
 * the turn takes a reference). req_metadata may be NULL. The task moves to working only when the
 * executor says so. The turn holds the task until it ends (mol_a2a_task_hold), so tasks/cancel
 * reaches it and the task is not freed under it. Returns 0, or an error after which the task
 * has been failed and the hooks' on_end has fired. *out may be NULL; it is valid only until
 * on_end (an executor may end the turn inside this very call). */
int mol_a2a_turn_start(uv_loop_t *loop, mol_a2a_task *task, mol_a2a_cmsg *message,
                       const json_t *req_metadata, int streaming, const mol_a2a_executor *ex,
                       const mol_a2a_turn_hooks *hooks, mol_a2a_turn **out);

#endif
