/* delegate_int.h - the delegation ledger as the delegation tools read it (tool_delegate.c),
 * shared with the MCP set's tools (tool_delegate_mcp.c). Not installed. */
#ifndef MOL_TOOLS_DELEGATE_INT_H
#define MOL_TOOLS_DELEGATE_INT_H

#include <jansson.h>

#include "molecule.h"

/* The rows of a GET /delegations answer (new reference), or NULL when it is not an array. */
json_t *mol_tools__ledger_rows(const mol_platform_result *res);
/* 1 for the ledger's terminal statuses: "completed", "failed" and "stuck" (the platform's
 * sweeper: the target went silent; a failure). */
int mol_tools__terminal(const char *status);

struct mol_tools__op;
/* delegate_task's body (tool_delegate_mcp.c): sends op's "task" to its "workspace_id" and ends
 * the call with the reply (waiting on the ledger while the peer has it queued). */
void mol_tools__delegate_wait(struct mol_tools__op *op);

#endif
