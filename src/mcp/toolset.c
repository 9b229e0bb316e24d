/* toolset.c - the registry the MCP server exposes (see toolset.h). */
#include <stdlib.h>
#include <string.h>

#include "mcp/toolset.h"

static int test_tools_wanted(void) {
  const char *v = getenv("MOLECULE_MCP_TEST_TOOLS");
  return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

int mol_mcp_toolset_open(mol_mcp_toolset *ts, const mol_tool_env *env) {
  ts->b = NULL;
  ts->reg = mol_tools_new(env);
  return ts->reg ? 0 : MOL_ENOMEM;
}

/* Takes out whatever a failed fill added, so the registry is empty again. */
static void unfill(mol_mcp_toolset *ts) {
  while (mol_tools_count(ts->reg)) mol_tools_remove(ts->reg, mol_tools_at(ts->reg, 0)->name);
  mol_tools_builtin_release(ts->b);
  ts->b = NULL;
}

int mol_mcp_toolset_fill(mol_mcp_toolset *ts) {
  if (ts->b) return 0;
  ts->b = mol_tools_builtin_new(NULL);
  int rc = ts->b ? mol_tools_add_mcp_set(ts->reg, ts->b) : MOL_ENOMEM;
  if (!rc && test_tools_wanted()) rc = mol_mcp_test_tools_add(ts->reg);
  if (rc) unfill(ts);
  return rc;
}

int mol_mcp_toolset_init(mol_mcp_toolset *ts, const mol_tool_env *env) {
  int rc = mol_mcp_toolset_open(ts, env);
  if (!rc) rc = mol_mcp_toolset_fill(ts);
  if (rc) mol_mcp_toolset_free(ts);
  return rc;
}

void mol_mcp_toolset_free(mol_mcp_toolset *ts) {
  mol_tools_free(ts->reg); /* calls still running keep what they need (they hold b) */
  mol_tools_builtin_release(ts->b);
  ts->reg = NULL;
  ts->b = NULL;
}
