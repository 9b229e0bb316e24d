/* validate.h - the rules of `molecule validate` (validate_rules.c): plugins with their
 * skills, workspace templates, org templates and channel files, as plugin authors check them
 * in CI. Each rule reports a problem as (source, message): source is the file the problem is
 * in, relative to the path given ("plugin.yaml", "skills/x/SKILL.md", "org.yaml"), or "" for
 * the path itself. */
#ifndef MOL_CLI_VALIDATE_H
#define MOL_CLI_VALIDATE_H

#include <stddef.h>

typedef struct {
  void (*problem)(void *arg, const char *source, const char *message);
  void *arg;
  size_t count; /* problems reported so far */
} mol_cli__validation;

/* Each checks one path (a directory for plugin, workspace and org; a file for channel) and
 * reports every problem it finds; nothing is modified. */
void mol_cli__validate_plugin(const char *dir, mol_cli__validation *v);
void mol_cli__validate_workspace(const char *dir, mol_cli__validation *v);
void mol_cli__validate_org(const char *dir, mol_cli__validation *v);
void mol_cli__validate_channel_file(const char *path, mol_cli__validation *v);

/* The first secret-looking run in text, or NULL: a name for the pattern that matched. */
const char *mol_cli__secret_pattern(const char *text);

#endif
