/* toolset.c - the registry the MCP server exposes (see toolset.h). */
#include <stdlib.h>
#include <string.h>

#include "mcp/toolset.h"

static int test_tools_wanted(void) {
  const char *v = getenv("MOLECULE_MCP_TEST_TOOLS");
  return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

mol_tools *mcp_tools_for(const mol_tool_env *env) {
  mol_tools *reg = mol_tools_new(env);
  if (reg && test_tools_wanted() && mcp_test_tools_add(reg) < 0) {
    mol_tools_free(reg);
    return NULL;
  }
  return reg;
}
