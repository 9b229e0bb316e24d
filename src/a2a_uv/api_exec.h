/* api_exec.h - the public executor (molecule/a2a.h: mol_executor, mol_turn) bound to the
 * internal seam (executor.h), for whatever runs it: the public A2A server (api_server.c) and
 * the public agent (runtime/agent_api.c).
 *
 * A binding copies the caller's vtable and offers an internal mol_a2a_executor whose turns
 * carry a mol_turn: the JSON the turn hands out as text is built on first use and kept with
 * it; the caller's cancel runs on a later loop iteration than the request for it; an ending
 * inside execute() is told apart from an error return. */
#ifndef MOL_A2A_UV_API_EXEC_H
#define MOL_A2A_UV_API_EXEC_H

#include "a2a_uv/executor.h"
#include "molecule.h"

typedef struct mol_a2a_api_exec mol_a2a_api_exec;

/* Binds ex (copied; ex->execute required). Returns 0, MOL_EINVAL or MOL_ENOMEM. */
int mol_a2a_api_exec_new(const mol_executor *ex, mol_a2a_api_exec **out);
/* The executor to give the server or agent; valid until mol_a2a_api_exec_free. */
const mol_a2a_executor *mol_a2a_api_exec_inner(const mol_a2a_api_exec *x);
/* Turns running through the binding. */
unsigned mol_a2a_api_exec_live(const mol_a2a_api_exec *x);
/* Once no turn can reach the binding any more: calls the caller's close (call_close 1; 0 for
 * an executor that was never used), then frees the binding. */
void mol_a2a_api_exec_free(mol_a2a_api_exec *x, int call_close);

#endif
