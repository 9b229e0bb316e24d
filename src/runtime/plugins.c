/* plugins.c - scanning the plugins dirs for rules, prompt fragments and skill dirs (see
 * plugins.h). */
#include "runtime/plugins.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/str.h"
#include "molecule.h"
#include "runtime/yaml_json.h"

#define PLUGIN_TEXT_MAX (1u << 20) /* a rule or fragment larger than this is not prose */

char *mol_text_file_read(const char *path, size_t max, const char **why) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (why) *why = errno == ENOENT ? "not found" : strerror(errno);
    return NULL;
  }
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  int err = ferror(f);
  fclose(f);
  if (!buf || err || n > max) {
    if (why) *why = !buf ? "out of memory" : err ? "read error" : "too large";
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return mol_str_strip(buf);
}

static int by_bytes(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int push(char ***list, size_t *n, char *s) {
  if (!s) return MOL_ENOMEM;
  char **grown = realloc(*list, (*n + 1) * sizeof(**list));
  if (!grown) {
    free(s);
    return MOL_ENOMEM;
  }
  *list = grown;
  grown[(*n)++] = s;
  return 0;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s", a, b);
  return s;
}

static int ends_md(const char *name) {
  size_t n = strlen(name);
  return n > 3 && strcmp(name + n - 3, ".md") == 0;
}

static int not_a_fragment(const char *name) {
  static const char *const skip[] = {"readme.md", "changelog.md", "license.md", "contributing.md"};
  for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
    if (strcasecmp(name, skip[i]) == 0) return 1;
  return 0;
}

/* Every *.md regular file of dir in byte order, stripped and non-empty, onto list. */
static int read_md(const char *dir, int fragments, char ***list, size_t *n) {
  struct dirent **ents;
  int k = scandir(dir, &ents, NULL, by_bytes);
  if (k < 0) return 0;
  int rc = 0;
  for (int i = 0; i < k; i++) {
    const char *name = ents[i]->d_name;
    if (!rc && ends_md(name) && !(fragments && not_a_fragment(name))) {
      char *path = join(dir, name);
      struct stat st;
      char *text = path && stat(path, &st) == 0 && S_ISREG(st.st_mode)
                       ? mol_text_file_read(path, PLUGIN_TEXT_MAX, NULL) : NULL;
      if (!path) rc = MOL_ENOMEM;
      else if (text && *text) rc = push(list, n, text);
      else free(text);
      free(path);
    }
    free(ents[i]);
  }
  free(ents);
  return rc;
}

static char *plugin_name(const char *dir, const char *dirname) {
  char *yaml = join(dir, "plugin.yaml");
  char err[128];
  json_t *m = yaml ? mol_yaml_load_file(yaml, err, sizeof(err)) : NULL;
  free(yaml);
  const char *name = json_string_value(json_object_get(m, "name"));
  char *out = strdup(name && *name ? name : dirname);
  json_decref(m);
  return out;
}

static int seen(const mol_plugins *p, const char *dirname) {
  for (size_t i = 0; i < p->n_names; i++) {
    const char *base = strrchr(p->dirs[i], '/');
    if (strcmp(base ? base + 1 : p->dirs[i], dirname) == 0) return 1;
  }
  return 0;
}

static int load_one(mol_plugins *p, const char *root, const char *dirname) {
  char *dir = join(root, dirname);
  if (!dir) return MOL_ENOMEM;
  if (!is_dir(dir) || seen(p, dirname)) {
    free(dir);
    return 0;
  }
  char *name = plugin_name(dir, dirname);
  char **dirs = name ? realloc(p->dirs, (p->n_names + 1) * sizeof(*dirs)) : NULL;
  if (dirs) p->dirs = dirs;
  char **names = dirs ? realloc(p->names, (p->n_names + 1) * sizeof(*names)) : NULL;
  if (!names) {
    free(name);
    free(dir);
    return MOL_ENOMEM;
  }
  p->names = names;
  p->dirs[p->n_names] = dir; /* dirs and names grow together */
  p->names[p->n_names++] = name;
  int rc = 0;
  char *rules = join(dir, "rules");
  if (!rc && !rules) rc = MOL_ENOMEM;
  if (!rc) rc = read_md(rules, 0, &p->rules, &p->n_rules);
  free(rules);
  if (!rc) rc = read_md(dir, 1, &p->fragments, &p->n_fragments);
  char *skills = rc ? NULL : join(dir, "skills");
  if (!rc && !skills) rc = MOL_ENOMEM;
  if (skills && is_dir(skills)) rc = push(&p->skill_dirs, &p->n_skill_dirs, skills);
  else free(skills);
  return rc;
}

static int scan_root(mol_plugins *p, const char *root) {
  struct dirent **ents;
  int k = root ? scandir(root, &ents, NULL, by_bytes) : -1;
  if (k < 0) return 0;
  int rc = 0;
  for (int i = 0; i < k; i++) {
    if (!rc && ents[i]->d_name[0] != '.') rc = load_one(p, root, ents[i]->d_name);
    free(ents[i]);
  }
  free(ents);
  return rc;
}

int mol_plugins_scan(const char *workspace_dir, const char *shared_dir, mol_plugins *out) {
  memset(out, 0, sizeof(*out));
  int rc = scan_root(out, workspace_dir);
  if (!rc) rc = scan_root(out, shared_dir);
  if (rc) mol_plugins_free(out);
  return rc;
}

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

void mol_plugins_free(mol_plugins *p) {
  free_list(p->dirs, p->n_names);
  free_list(p->names, p->n_names);
  free_list(p->rules, p->n_rules);
  free_list(p->fragments, p->n_fragments);
  free_list(p->skill_dirs, p->n_skill_dirs);
  memset(p, 0, sizeof(*p));
}
