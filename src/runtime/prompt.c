/* prompt.c - the system prompt's assembly (see prompt.h). The prompt is a list of parts joined
 * with one newline; each section below adds its parts in upstream's order, with upstream's
 * headings and blank lines. */
#include "runtime/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"

#define DEFAULT_DELEGATE_TOOL "delegate_to_workspace"

static const char *const coordination_rules[] = {
    "1. You are a COORDINATOR. Your ONLY job is to delegate and synthesize. NEVER do the work "
    "yourself.",
    "2. For EVERY task, use `%s` to send it to the appropriate team member(s). Do this BEFORE "
    "writing any analysis, code, or research yourself.",
    "3. If a task spans multiple members, delegate to ALL of them in parallel and aggregate "
    "results.",
    "4. If ALL members are offline/paused, tell the caller which members are unavailable. Do NOT "
    "attempt the work yourself \xe2\x80\x94 you lack the specialist context.",
    "5. If a delegation FAILS (error, timeout): try another member first. Only provide your own "
    "brief summary if NO member can respond. Never forward raw errors.",
    "6. Your response should be a SYNTHESIS of your team's work, not your own analysis.",
    "7. Always respond in the same language the caller uses.",
};

static const char failure_block[] =
    "\n## Handling delegation failures\n"
    "If a delegation fails:\n"
    "1. Check if the task is blocking \xe2\x80\x94 if not, continue other work\n"
    "2. Retry transient failures (connection errors) after 30 seconds\n"
    "3. For persistent failures, report to the caller with context\n"
    "4. Never silently drop a failed task\n";

/* ---- parts ---------------------------------------------------------------------------------- */

typedef struct {
  mol_buf out;
  int first;
  int oom;
} parts;

static void part(parts *p, const char *s) {
  if (!p->first && mol_buf_append(&p->out, "\n", 1) < 0) p->oom = 1;
  p->first = 0;
  if (mol_buf_append_str(&p->out, s) < 0) p->oom = 1;
}

/* A stripped copy of s as one part; nothing when it is blank. */
static void stripped_part(parts *p, const char *s) {
  char *t = mol_str_strip_dup(s ? s : "");
  if (!t) {
    p->oom = 1;
    return;
  }
  if (*t) part(p, t);
  free(t);
}

/* ---- peers and the team ---------------------------------------------------------------------- */

/* The peer's agent card as an object: upstream stores it as JSON or as a JSON string. */
static json_t *card_of(const json_t *peer) {
  json_t *card = json_object_get(peer, "agent_card");
  if (json_is_object(card)) return json_incref(card);
  if (json_is_string(card)) {
    json_t *parsed = json_loads(json_string_value(card), 0, NULL);
    if (json_is_object(parsed)) return parsed;
    json_decref(parsed);
  }
  return NULL;
}

static const char *str_or(const json_t *o, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, key));
  return s && *s ? s : dflt;
}

static void peer_lines(mol_buf *b, const json_t *peer, const json_t *card) {
  mol_buf_printf(b, "- **%s** (id: `%s`, status: %s)\n",
                 str_or(card, "name", str_or(peer, "name", "")), str_or(peer, "id", ""),
                 str_or(peer, "status", "unknown"));
  const json_t *skills = json_object_get(card, "skills");
  size_t i, n = 0;
  const json_t *s;
  json_array_foreach(skills, i, s) {
    const char *name = str_or(s, "name", str_or(s, "id", NULL));
    if (!name) continue;
    mol_buf_printf(b, "%s%s", n++ ? ", " : "  Skills: ", name);
  }
  if (n) mol_buf_append(b, "\n", 1);
  mol_buf_append(b, "\n", 1);
}

/* Upstream's shared peer renderer: heading, blank line, each peer with a card, the closing
 * instruction; "" when no peer has a card. Malloc'd. */
static char *render_peers(const json_t *peers, const char *heading, const char *instruction) {
  mol_buf b = {0};
  size_t i, listed = 0;
  const json_t *peer;
  json_array_foreach(peers, i, peer) {
    json_t *card = card_of(peer);
    if (!card) continue;
    if (listed++ == 0) mol_buf_printf(&b, "%s\n\n", heading);
    peer_lines(&b, peer, card);
    json_decref(card);
  }
  if (listed) mol_buf_append_str(&b, instruction);
  mol_buf_append(&b, "", 1); /* the NUL */
  return b.data;
}

char *mol_prompt_team(const json_t *children, const char *tool) {
  if (!tool) tool = DEFAULT_DELEGATE_TOOL;
  mol_buf instruction = {0};
  mol_buf_printf(&instruction, "Use the `%s` tool to send tasks to the chosen member. Only "
                 "delegate to members listed above.", tool);
  mol_buf_append(&instruction, "", 1);
  char *team = instruction.data
                   ? render_peers(children, "## Your Team (sub-workspaces you coordinate)",
                                  instruction.data)
                   : NULL;
  mol_buf_free(&instruction);
  if (!team) return NULL;
  mol_buf b = {0};
  mol_buf_printf(&b, "%s\n\n### Coordination Rules \xe2\x80\x94 MANDATORY", team);
  for (size_t i = 0; i < sizeof(coordination_rules) / sizeof(*coordination_rules); i++) {
    mol_buf_append(&b, "\n", 1);
    if (i == 1) mol_buf_printf(&b, coordination_rules[i], tool);
    else mol_buf_append_str(&b, coordination_rules[i]);
  }
  mol_buf_append(&b, "", 1);
  free(team);
  return b.data;
}

/* ---- the sections ---------------------------------------------------------------------------- */

static void parent_context(parts *p, const json_t *files) {
  if (json_array_size(files) == 0) return;
  part(p, "\n## Parent Context\n");
  part(p, "The following context was shared by your parent workspace:\n");
  size_t i;
  const json_t *f;
  json_array_foreach(files, i, f) {
    const char *content = json_string_value(json_object_get(f, "content"));
    if (mol_str_is_blank(content)) continue;
    mol_buf h = {0};
    mol_buf_printf(&h, "### %s", str_or(f, "path", ""));
    mol_buf_append(&h, "", 1);
    if (h.data) part(p, h.data);
    else p->oom = 1;
    mol_buf_free(&h);
    stripped_part(p, content);
    part(p, "");
  }
}

static void listed(parts *p, const char *heading, const char *const *items, size_t n,
                   const char *extra) {
  if (n == 0 && !extra) return;
  part(p, heading);
  for (size_t i = 0; i < n; i++) {
    part(p, items[i]);
    part(p, "");
  }
  if (extra) {
    part(p, extra);
    part(p, "");
  }
}

static void skills(parts *p, const mol_prompt_skill *s, size_t n) {
  if (n == 0) return;
  part(p, "\n## Your Skills\n");
  for (size_t i = 0; i < n; i++) {
    mol_buf h = {0};
    mol_buf_printf(&h, "### %s", s[i].name);
    mol_buf_append(&h, "", 1);
    if (h.data) part(p, h.data);
    else p->oom = 1;
    mol_buf_free(&h);
    if (s[i].description && *s[i].description) part(p, s[i].description);
    part(p, s[i].body ? s[i].body : "");
    part(p, "");
  }
}

char *mol_prompt_build(const mol_prompt_in *in) {
  const char *tool = in->delegate_tool ? in->delegate_tool : DEFAULT_DELEGATE_TOOL;
  parts p = {.first = 1};
  if (in->instructions && *in->instructions) {
    part(&p, "# Platform Instructions\n");
    part(&p, in->instructions);
  }
  for (size_t i = 0; i < in->n_texts; i++) part(&p, in->texts[i]);
  parent_context(&p, in->parent_context);
  listed(&p, "\n## Platform Rules\n", in->rules, in->n_rules, NULL);
  char *team = json_array_size(in->children) ? mol_prompt_team(in->children, tool) : NULL;
  if (json_array_size(in->children) && !team) p.oom = 1;
  listed(&p, "\n## Platform Guidelines\n", in->fragments, in->n_fragments, team);
  free(team);
  skills(&p, in->skills, in->n_skills);
  mol_buf instruction = {0};
  mol_buf_printf(&instruction, "Use the `%s` tool to send tasks to peers. Only delegate to peers "
                 "listed above.", tool);
  mol_buf_append(&instruction, "", 1);
  char *peers = instruction.data ? render_peers(in->peers, "## Your Peers (workspaces you can "
                                                "delegate to)", instruction.data) : NULL;
  mol_buf_free(&instruction);
  if (!peers) p.oom = 1;
  else if (*peers) part(&p, peers);
  free(peers);
  part(&p, failure_block);
  if (mol_buf_append(&p.out, "", 1) < 0) p.oom = 1;
  if (p.oom) {
    mol_buf_free(&p.out);
    return NULL;
  }
  return p.out.data;
}
