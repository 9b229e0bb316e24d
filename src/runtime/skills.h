/* skills.h - one skill of an agent: <dir>/<id>/SKILL.md, its YAML front matter (name,
 * description, tags, examples, runtime) and its body, the instructions that go into the system
 * prompt. Blocking (one small file).
 *
 * The front matter is the block between a first line "---" and the next line that is exactly
 * "---" (upstream splits on the first two "---" anywhere, so a value holding one cut it short;
 * here it does not). Bad YAML or a front matter that is not a mapping: no metadata, a warning,
 * the body still loads. A file without front matter is all body. runtime: a string or a list
 * of strings ("*" = any); the skill is skipped when it names neither "*" nor the agent's
 * runtime. */
#ifndef MOL_RUNTIME_SKILLS_H
#define MOL_RUNTIME_SKILLS_H

#include <stddef.h>

typedef struct {
  char *id;
  char *name;                /* front matter name, else id */
  char *description;         /* "" when none */
  char *body;                /* stripped */
} mol_skill_md;

enum { MOL_SKILL_LOADED = 0, MOL_SKILL_SKIPPED = 1 };

/* Loads <dir>/<id>/SKILL.md for an agent whose runtime is `runtime` (NULL: no filter).
 * Returns MOL_SKILL_LOADED (*out filled), MOL_SKILL_SKIPPED (missing file, bad id, or another
 * runtime's skill: warn says why) or MOL_ENOMEM. warn gets a warning even when loaded (bad
 * front matter), else "". */
int mol_skill_md_load(const char *dir, const char *id, const char *runtime, mol_skill_md *out,
                   char *warn, size_t warnlen);
void mol_skill_md_free(mol_skill_md *s);

#endif
