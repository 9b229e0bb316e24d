/* prompt.h - the agent's system prompt, assembled from what the setup pipeline gathered: the
 * platform's instructions, the prompt files, the memory files, the parent's shared context,
 * plugin rules and fragments, the coordinator's team, skills, peers and the fixed block on
 * delegation failures. A pure function: no I/O; the loaders (plugins.h, skills.h) and the
 * platform calls gather the inputs.
 *
 * The layout is upstream's, byte for byte, so an agent moved from a Python runtime reads the
 * same prompt (docs/runtime.md, "System prompt", shows it). One deliberate difference: the peer
 * and team sections name the delegation tool the agent is actually offered. */
#ifndef MOL_RUNTIME_PROMPT_H
#define MOL_RUNTIME_PROMPT_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
  const char *name;          /* display name (front matter name, else the skill id) */
  const char *description;   /* may be "" */
  const char *body;          /* the instructions, stripped */
} mol_prompt_skill;

typedef struct {
  /* GET /workspaces/:id/instructions/resolve's text, as returned; NULL or "": none. */
  const char *instructions;
  /* The prompt files' contents, then MEMORY.md's and USER.md's, each stripped and non-empty,
   * in order. Joined with one newline (upstream's layout). */
  const char *const *texts;
  size_t n_texts;
  /* The parent's shared context: [{"path","content"}] (NULL: none). Blank contents skipped. */
  const json_t *parent_context;
  const char *const *rules;       /* plugin rules, plugin order then file order */
  size_t n_rules;
  const char *const *fragments;   /* plugin prompt fragments */
  size_t n_fragments;
  const mol_prompt_skill *skills;
  size_t n_skills;
  /* Peers from GET /registry/:id/peers: [{"id","name","status","agent_card"}]; only those
   * with an agent card (an object, or a string holding one) are listed. NULL: none. */
  const json_t *peers;
  /* The children of a coordinator, the same shape. Non-NULL and non-empty: coordinator mode
   * (the team section and its rules join the fragments). */
  const json_t *children;
  const char *delegate_tool;      /* NULL -> "delegate_to_workspace" */
} mol_prompt_in;

/* The system prompt (malloc'd, ends with one newline), or NULL when out of memory. */
char *mol_prompt_build(const mol_prompt_in *in);

/* The coordinator's team section alone (what mol_prompt_build appends to the fragments in
 * coordinator mode), malloc'd. */
char *mol_prompt_team(const json_t *children, const char *delegate_tool);

#endif
