/* plugins.h - the plugins an agent loads at start, read from its config dir's plugins/ and the
 * shared plugins dir: their rules and prompt fragments for the system prompt and their skill
 * directories. Blocking (small files); the setup pipeline calls it off the loop.
 *
 * Order and precedence are upstream's: the workspace's own plugins dir first, then the shared
 * one; in each, directory entries in byte order; a plugin whose directory name was already
 * seen is skipped whole (the workspace's copy wins). Rules are the .md files of rules/,
 * fragments the root .md files except README, CHANGELOG, LICENSE and CONTRIBUTING (any case);
 * each file stripped, empty ones skipped, in byte order of their names. */
#ifndef MOL_RUNTIME_PLUGINS_H
#define MOL_RUNTIME_PLUGINS_H

#include <stddef.h>

typedef struct {
  char **names;              /* plugin.yaml's name, else the directory name */
  size_t n_names;
  char **dirs;               /* each plugin's directory */
  char **rules;
  size_t n_rules;
  char **fragments;
  size_t n_fragments;
  char **skill_dirs;         /* <plugin>/skills, for plugins that have one */
  size_t n_skill_dirs;
} mol_plugins;

/* Scans the two dirs (either may be NULL or missing). Returns 0 or MOL_ENOMEM; unreadable
 * files are skipped. Free with mol_plugins_free. */
int mol_plugins_scan(const char *workspace_dir, const char *shared_dir, mol_plugins *out);
void mol_plugins_free(mol_plugins *p);

/* A text file's content, stripped, malloc'd (NULL when missing, unreadable or past max bytes,
 * with *why saying which when not NULL). */
char *mol_text_file_read(const char *path, size_t max, const char **why);

#endif
