/* delegate_int.h - the delegation ledger as the delegation tools read it (tool_delegate.c),
 * shared with the MCP set's tools (tool_delegate_mcp.c). Not installed. */
#ifndef MOL_TOOLS_DELEGATE_INT_H
#define MOL_TOOLS_DELEGATE_INT_H

#include <jansson.h>

#include "molecule.h"

/* The rows of a GET /delegations answer (new reference), or NULL when it is not an array. */
json_t *bt_ledger_rows(const mol_platform_result *res);
/* 1 for "completed" and "failed". */
int bt_terminal(const char *status);

#endif
