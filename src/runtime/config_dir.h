/* config_dir.h - the texts of an agent's config dir that open its system prompt: the prompt
 * files (config.yaml's prompt_files, else system-prompt.md), then MEMORY.md and USER.md unless
 * already listed; each stripped, empty or missing ones skipped (a missing prompt file is
 * reported in warn). Blocking (small files). */
#ifndef MOL_RUNTIME_CONFIG_DIR_H
#define MOL_RUNTIME_CONFIG_DIR_H

#include <stddef.h>

typedef struct {
  char **texts;
  size_t n;
} mol_config_texts;

/* prompt_files may be NULL (n 0): system-prompt.md. Names with '/' or starting with '.' are
 * refused (warned): prompt files live in the config dir. Returns 0 or MOL_ENOMEM; warn holds
 * the last warning or "". */
int mol_config_texts_read(const char *config_dir, const char *const *prompt_files, size_t n,
                          mol_config_texts *out, char *warn, size_t warnlen);
void mol_config_texts_free(mol_config_texts *t);

#endif
