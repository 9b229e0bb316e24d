/* toolset.h - the tools the MCP server exposes, built in one place.
 *
 * mol_mcp_toolset_init() is the one function both bindings (`molecule mcp` and /mcp on every
 * hosted agent) build their registry with: the built-in MCP set (tools/builtin.h:
 * delegate_task, list_peers, commit_memory, recall_memory, the inbox tools ...). With
 * MOLECULE_MCP_TEST_TOOLS=1 in the environment it also adds the diagnostic tools below, which
 * the interop and conformance tests drive through the real binary.
 *
 * A hosted agent opens its registry empty and fills it when its MCP endpoint is first used
 * (mol_mcp_toolset_open, then mol_mcp_toolset_fill): the built-in set is about 25 KB of parsed
 * schemas, names and descriptions per registry, and most of the agents of a large host never
 * see an MCP client. */
#ifndef MOL_MCP_TOOLSET_H
#define MOL_MCP_TOOLSET_H

#include "tools/registry.h"

#include "tools/builtin.h"

typedef struct {
  mol_tools *reg;            /* what the MCP session serves */
  mol_tools_builtin *b;      /* the built-in tools' shared state */
} mol_mcp_toolset;

/* A registry over env (borrowed: it must outlive the registry and every call; its platform
 * client may be set later, and cleared before the client goes). Returns 0 or MOL_ENOMEM. */
int mol_mcp_toolset_init(mol_mcp_toolset *ts, const mol_tool_env *env);
/* The same registry with no tools in it yet (a few hundred bytes). Returns 0 or MOL_ENOMEM. */
int mol_mcp_toolset_open(mol_mcp_toolset *ts, const mol_tool_env *env);
/* Adds what mol_mcp_toolset_init adds, once: later calls return 0 at once. Returns 0 or an
 * error, after which the registry is as it was (empty) and a later call tries again. */
int mol_mcp_toolset_fill(mol_mcp_toolset *ts);
/* Frees a registry from either, filled or not. */
void mol_mcp_toolset_free(mol_mcp_toolset *ts);

/* Adds the diagnostic tools: echo {text}, add {a, b}, slow {ms} (waits; a cancel ends it at
 * once), running (how many slow calls are waiting now, in this process), fail {message}
 * (always a tool error), and the fixtures of the MCP conformance suite: test_simple_text,
 * test_error_handling, json_schema_2020_12_tool. Returns 0 or the registry's error. */
int mol_mcp_test_tools_add(mol_tools *reg);

#endif
