/* toolset.h - the tools the MCP server exposes, built in one place.
 *
 * mcp_tools_for() is the one function both bindings (`molecule mcp` and /mcp on every hosted
 * agent) build their registry with, so pointing it at another tool set changes both. With
 * MOLECULE_MCP_TEST_TOOLS=1 in the environment it also adds the diagnostic tools below, which
 * the interop and conformance tests drive through the real binary. */
#ifndef MOL_MCP_TOOLSET_H
#define MOL_MCP_TOOLSET_H

#include "tools/registry.h"

/* A new registry over env (borrowed: it must outlive the registry and every call); the caller
 * frees it with mol_tools_free(). NULL when out of memory. */
mol_tools *mcp_tools_for(const mol_tool_env *env);

/* Adds the diagnostic tools: echo {text}, add {a, b}, slow {ms} (waits; a cancel ends it at
 * once), running (how many slow calls are waiting now, in this process), fail {message}
 * (always a tool error), and the fixtures of the MCP conformance suite: test_simple_text,
 * test_error_handling, json_schema_2020_12_tool. Returns 0 or the registry's error. */
int mcp_test_tools_add(mol_tools *reg);

#endif
