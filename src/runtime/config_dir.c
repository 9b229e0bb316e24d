/* config_dir.c - reading the prompt and memory files of a config dir (see config_dir.h). */
#include "runtime/config_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"
#include "runtime/plugins.h"

#define PROMPT_FILE_MAX (1u << 20)

static int add(mol_config_texts *t, char *text) {
  char **grown = realloc(t->texts, (t->n + 1) * sizeof(*grown));
  if (!grown) {
    free(text);
    return MOL_ENOMEM;
  }
  t->texts = grown;
  t->texts[t->n++] = text;
  return 0;
}

static int read_one(const char *dir, const char *name, int warn_missing, mol_config_texts *t,
                    char *warn, size_t warnlen) {
  if (!*name || *name == '.' || strchr(name, '/')) {
    snprintf(warn, warnlen, "prompt file '%s' is not a file name in the config dir: skipped",
             name);
    return 0;
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  const char *why = NULL;
  char *text = mol_text_file_read(path, PROMPT_FILE_MAX, &why);
  if (!text) {
    if (warn_missing) snprintf(warn, warnlen, "prompt file %s: %s", path, why ? why : "unreadable");
    return 0;
  }
  if (!*text) {
    free(text);
    return 0;
  }
  return add(t, text);
}

static int listed(const char *const *files, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(files[i], name) == 0) return 1;
  return 0;
}

int mol_config_texts_read(const char *config_dir, const char *const *prompt_files, size_t n,
                          mol_config_texts *out, char *warn, size_t warnlen) {
  static const char *const dflt[] = {"system-prompt.md"};
  memset(out, 0, sizeof(*out));
  warn[0] = '\0';
  if (n == 0) {
    prompt_files = dflt;
    n = 1;
  }
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) rc = read_one(config_dir, prompt_files[i], 1, out, warn, warnlen);
  if (!rc && !listed(prompt_files, n, "MEMORY.md"))
    rc = read_one(config_dir, "MEMORY.md", 0, out, warn, warnlen);
  if (!rc && !listed(prompt_files, n, "USER.md"))
    rc = read_one(config_dir, "USER.md", 0, out, warn, warnlen);
  if (rc) mol_config_texts_free(out);
  return rc;
}

void mol_config_texts_free(mol_config_texts *t) {
  for (size_t i = 0; i < t->n; i++) free(t->texts[i]);
  free(t->texts);
  memset(t, 0, sizeof(*t));
}
