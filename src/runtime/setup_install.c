/* setup_install.c - the Agentskills install of an agent's plugins into its config dir (see
 * setup.h), as upstream's AgentskillsAdaptor does it, without its defects:
 *  - one memory-file block per rule or fragment file, through the content-hashed block writer
 *    (adapter.h): a changed file replaces its block, an unchanged one writes nothing, so a
 *    restart never appends the same rules again. The system prompt takes the rules from the
 *    plugins themselves and never reads CLAUDE.md, so they reach the model once;
 *  - skills copied to <config_dir>/skills/<id> (never <...>/skills/skills/<id>);
 *  - symbolic links are not followed or copied (a plugin cannot reach outside itself).
 * setup.sh is not run here: `molecule plugin install` runs it once, when the plugin is
 * installed, off the loop. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "molecule.h"
#include "runtime/adapter.h"
#include "runtime/plugins.h"
#include "runtime/setup.h"

#define SCOPE "setup"
#define TEXT_MAX (1u << 20)
#define COPY_MAX (16u << 20)
#define PATH_CAP 4096

/* dir/name into out (PATH_CAP bytes); a path too long to hold is no path: "" and -1. */
static int pjoin(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
  if (n >= 0 && n < PATH_CAP) return 0;
  out[0] = '\0';
  return -1;
}

static int by_name(const struct dirent **x, const struct dirent **y) {
  return strcmp((*x)->d_name, (*y)->d_name);
}

static int is_md(const char *name) {
  size_t n = strlen(name);
  return n > 3 && strcmp(name + n - 3, ".md") == 0;
}

static int not_a_fragment(const char *name) {
  static const char *const skip[] = {"readme.md", "changelog.md", "license.md", "contributing.md"};
  for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
    if (strcasecmp(name, skip[i]) == 0) return 1;
  return 0;
}

static int kind_of(const char *path) { /* 'f' regular file, 'd' directory, 0 other or none */
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  return S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 0;
}

/* ---- memory-file blocks --------------------------------------------------------------------- */

static int put_blocks(const char *memory, const char *plugin, const char *dir, const char *kind,
                      int fragments) {
  struct dirent **ents;
  int k = scandir(dir, &ents, NULL, by_name), problems = 0;
  for (int i = 0; i < k; i++) {
    const char *name = ents[i]->d_name;
    char path[PATH_CAP], label[300];
    pjoin(path, dir, name);
    char *text = is_md(name) && !(fragments && not_a_fragment(name)) && kind_of(path) == 'f'
                     ? mol_text_file_read(path, TEXT_MAX, NULL) : NULL;
    if (text && *text) {
      snprintf(label, sizeof label, "%s: %s", kind, name);
      int rc = mol_memory_put_block(memory, plugin, label, text);
      if (rc < 0) {
        mol_logw(SCOPE, "plugin %s: %s not written to %s: %s", plugin, name, memory, strerror(-rc));
        problems++;
      }
    }
    free(text);
    free(ents[i]);
  }
  if (k >= 0) free(ents);
  return problems;
}

/* ---- copies ---------------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to) {
  struct stat st;
  if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > COPY_MAX) return -EINVAL;
  FILE *f = fopen(from, "rb");
  if (!f) return -errno;
  char *buf = malloc((size_t)st.st_size + 1);
  size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
  fclose(f);
  int rc = !buf ? -ENOMEM : n != (size_t)st.st_size ? -EIO
                          : mol_write_file_atomic(to, buf, n, (int)(st.st_mode & 0777));
  free(buf);
  return rc;
}

/* from (a directory) into to, recursively; only regular files and directories. */
static int copy_tree(const char *from, const char *to) {
  int rc = mol_mkdir_p(to, 0755);
  struct dirent **ents;
  int k = rc ? -1 : scandir(from, &ents, NULL, by_name);
  if (k < 0) return rc ? rc : -errno;
  for (int i = 0; i < k; i++) {
    const char *name = ents[i]->d_name;
    char src[PATH_CAP], dst[PATH_CAP];
    pjoin(src, from, name);
    pjoin(dst, to, name);
    int kind = strcmp(name, ".") && strcmp(name, "..") ? kind_of(src) : 0;
    int r = kind == 'd' ? copy_tree(src, dst) : kind == 'f' ? copy_file(src, dst) : 0;
    if (r && !rc) rc = r;
    free(ents[i]);
  }
  free(ents);
  return rc;
}

/* Each entry of <plugin>/<sub> into <to>/<entry>, unless it exists there (theirs wins). */
static int copy_entries(const char *plugin, const char *pdir, const char *sub, const char *to,
                        int md_only) {
  char from[PATH_CAP];
  pjoin(from, pdir, sub);
  if (kind_of(from) != 'd') return 0;
  struct dirent **ents;
  int k = scandir(from, &ents, NULL, by_name), problems = 0;
  for (int i = 0; i < k; i++) {
    const char *name = ents[i]->d_name;
    char src[PATH_CAP], dst[PATH_CAP];
    pjoin(src, from, name);
    pjoin(dst, to, name);
    int kind = name[0] != '.' ? kind_of(src) : 0;
    if (kind && !(md_only && !is_md(name)) && access(dst, F_OK) != 0) {
      int rc = mol_mkdir_p(to, 0755);
      if (!rc) rc = kind == 'd' ? copy_tree(src, dst) : copy_file(src, dst);
      if (rc) {
        mol_logw(SCOPE, "plugin %s: %s/%s not copied: %s", plugin, sub, name, strerror(-rc));
        problems++;
      }
    }
    free(ents[i]);
  }
  if (k >= 0) free(ents);
  return problems;
}

/* ---- settings.json -------------------------------------------------------------------------- */

/* "${CLAUDE_DIR}" in a hook command becomes the config dir's .claude. */
static void rewrite_commands(json_t *handler, const char *claude_dir) {
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(handler, "hooks"), i, h) {
    const char *cmd = json_string_value(json_object_get(h, "command"));
    const char *at = cmd ? strstr(cmd, "${CLAUDE_DIR}") : NULL;
    if (!at) continue;
    char *out = NULL;
    if (asprintf(&out, "%.*s%s%s", (int)(at - cmd), cmd, claude_dir, at + 13) >= 0) {
      json_object_set_new(h, "command", json_string(out));
      free(out);
    }
  }
}

/* Two handlers are the same when their matcher and the set of their commands are. */
static int same_handler(json_t *x, json_t *y) {
  if (!json_equal(json_object_get(x, "matcher"), json_object_get(y, "matcher"))) return 0;
  json_t *hx = json_object_get(x, "hooks"), *hy = json_object_get(y, "hooks");
  for (int pass = 0; pass < 2; pass++) {
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(pass ? hy : hx, i, a) {
      int found = 0;
      json_array_foreach(pass ? hx : hy, j, b)
        found |= json_equal(json_object_get(a, "command"), json_object_get(b, "command"));
      if (!found) return 0;
    }
  }
  return 1;
}

static void merge_hooks(json_t *settings, json_t *frag_hooks, const char *claude_dir) {
  json_t *hooks = json_object_get(settings, "hooks");
  if (!json_is_object(hooks)) json_object_set_new(settings, "hooks", hooks = json_object());
  const char *event;
  json_t *list;
  json_object_foreach(frag_hooks, event, list) {
    json_t *mine = json_object_get(hooks, event);
    if (!json_is_array(mine)) json_object_set_new(hooks, event, mine = json_array());
    size_t i, j;
    json_t *h, *m;
    json_array_foreach(list, i, h) {
      rewrite_commands(h, claude_dir);
      int dup = 0;
      json_array_foreach(mine, j, m) dup |= same_handler(h, m);
      if (!dup) json_array_append(mine, h);
    }
  }
}

static int merge_settings(const char *plugin, const char *pdir, const char *claude_dir) {
  char frag_path[PATH_CAP], path[PATH_CAP];
  pjoin(frag_path, pdir, "settings-fragment.json");
  if (kind_of(frag_path) != 'f') return 0;
  pjoin(path, claude_dir, "settings.json");
  json_t *frag = json_load_file(frag_path, 0, NULL);
  json_t *settings = kind_of(path) == 'f' ? json_load_file(path, 0, NULL) : json_object();
  int problems = 0;
  if (!json_is_object(frag) || !json_is_object(settings)) {
    mol_logw(SCOPE, "plugin %s: settings not merged: %s is not a JSON object", plugin,
             json_is_object(frag) ? path : frag_path);
    problems = 1;
  } else {
    const char *key;
    json_t *v;
    json_object_foreach(frag, key, v) {
      if (!strcmp(key, "hooks") && json_is_object(v)) merge_hooks(settings, v, claude_dir);
      else if (!strcmp(key, "mcpServers") && json_is_object(v)) {
        json_t *servers = json_object_get(settings, "mcpServers");
        if (!json_is_object(servers)) json_object_set(settings, "mcpServers", v);
        else json_object_update(servers, v);
      } else if (!json_object_get(settings, key)) {
        json_object_set(settings, key, v);
      }
    }
    char *text = json_dumps(settings, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = text ? mol_mkdir_p(claude_dir, 0755) : -ENOMEM;
    if (!rc) rc = mol_write_file_atomic(path, text, strlen(text), 0644);
    if (rc) {
      mol_logw(SCOPE, "plugin %s: %s not written: %s", plugin, path, strerror(-rc));
      problems = 1;
    }
    free(text);
  }
  json_decref(frag);
  json_decref(settings);
  return problems;
}

/* ---- one plugin, every plugin ------------------------------------------------------------- */

static int install_one(const char *config_dir, const char *plugin, const char *pdir) {
  char memory[PATH_CAP], rules[PATH_CAP], skills[PATH_CAP], claude[PATH_CAP], sub[PATH_CAP];
  pjoin(memory, config_dir, "CLAUDE.md");
  pjoin(rules, pdir, "rules");
  pjoin(skills, config_dir, "skills");
  pjoin(claude, config_dir, ".claude");
  int problems = put_blocks(memory, plugin, rules, "rule", 0);
  problems += put_blocks(memory, plugin, pdir, "fragment", 1);
  problems += copy_entries(plugin, pdir, "skills", skills, 0);
  pjoin(sub, claude, "hooks");
  problems += copy_entries(plugin, pdir, "hooks", sub, 0);
  pjoin(sub, claude, "commands");
  problems += copy_entries(plugin, pdir, "commands", sub, 1);
  problems += merge_settings(plugin, pdir, claude);
  return problems;
}

int mol_agent__plugins_install(const char *config_dir, const mol_plugins *p) {
  int problems = 0;
  for (size_t i = 0; i < p->n_names; i++)
    problems += install_one(config_dir, p->names[i], p->dirs[i]);
  return problems;
}
