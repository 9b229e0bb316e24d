/* agent_tools.c - a chat agent's core tools (tools/builtin.h): the registry its model is
 * offered, acting as the agent through its own platform client. The registry runs against the
 * agent's tool env, which the MCP endpoint shares: its platform client is set once the agent
 * has one (agent_platform.c) and cleared before that client goes, so a call made before the
 * registration or after the client closed gets an error text, never a freed client. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "runtime/agent_int.h"

#define SCOPE "agent"

/* 1 when name is one of the comma-separated names of list. */
static int listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, name, n) == 0) return 1;
    p += len;
    if (*p) p++;
  }
  return 0;
}

/* Every name of the list must be a core tool: a typo must not silently take a tool away. */
static int check_list(const mol_agent *a, const char *list) {
  static const char *const known[] = MOL_AGENT_CORE_TOOLS;
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ","), k = 0;
    while (known[k] && !(strlen(known[k]) == len && strncmp(known[k], p, len) == 0)) k++;
    if (!known[k]) {
      mol_loge(SCOPE, "%s: unknown tool '%.*s' in its tools list", a->name, (int)len, p);
      return MOL_EINVAL;
    }
    p += len;
    if (*p) p++;
  }
  return 0;
}

/* Keeps only the listed tools (the core set's order stays). */
static int keep_listed(mol_tools *reg, const char *list) {
  for (size_t i = mol_tools_count(reg); i-- > 0;) {
    const char *name = mol_tools_at(reg, i)->name;
    if (!listed(list, name)) {
      int rc = mol_tools_remove(reg, name);
      if (rc) return rc;
    }
  }
  return 0;
}

int mol_agent__core_tools_make(mol_agent *a) {
  const char *list = a->o.chat_tools;
  if (!list && !a->platform_url) return 0; /* standalone: none unless asked for */
  int rc = list ? check_list(a, list) : 0;
  if (rc) return rc;
  a->tool_env.loop = a->loop;
  a->tool_env.workspace_id = a->workspace_id;
  a->tool_env.user = a;
  a->core_tools = mol_tools_new(&a->tool_env);
  a->core_builtin = a->core_tools ? mol_tools_builtin_new(NULL) : NULL;
  rc = a->core_builtin ? mol_tools_add_core(a->core_tools, a->core_builtin) : MOL_ENOMEM;
  if (!rc && list) rc = keep_listed(a->core_tools, list);
  return rc;
}

void mol_agent__core_tools_free(mol_agent *a) {
  mol_tools_free(a->core_tools); /* calls still running keep what they need (they hold it) */
  mol_tools_builtin_release(a->core_builtin);
  a->core_tools = NULL;
  a->core_builtin = NULL;
}
