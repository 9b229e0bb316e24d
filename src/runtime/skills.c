/* skills.c - loading one SKILL.md: front matter, runtime filter, body (see skills.h). */
#include "runtime/skills.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "molecule.h"
#include "runtime/plugins.h"
#include "runtime/yaml_json.h"

#define SKILL_MAX (1u << 20)

static int valid_id(const char *id) {
  return id && *id && *id != '.' && !strchr(id, '/') && strlen(id) <= 128;
}

/* Splits text at a closing "---" line: *front is the YAML (NUL-terminated in place), the
 * return value the body. NULL when text has no front matter. */
static char *split_front(char *text, char **front) {
  if (strncmp(text, "---", 3) != 0 || (text[3] != '\n' && text[3] != '\r')) return NULL;
  char *line = strchr(text, '\n');
  while (line) {
    char *next = line + 1;
    size_t n = strcspn(next, "\r\n");
    if (n == 3 && strncmp(next, "---", 3) == 0) {
      *line = '\0';
      *front = next == text + 4 ? line : text + 4; /* "" when the block is empty */
      char *body = next + 3;
      return *body ? body + 1 : body;
    }
    line = strchr(next, '\n');
  }
  return NULL;
}

/* 1 when the runtime field lets this agent's runtime load the skill. */
static int runtime_fits(const json_t *rt, const char *runtime, char *warn, size_t warnlen) {
  if (!rt || !runtime) return 1;
  if (json_is_string(rt)) return strcmp(json_string_value(rt), "*") == 0 ||
                                 strcmp(json_string_value(rt), runtime) == 0;
  if (!json_is_array(rt)) {
    snprintf(warn, warnlen, "runtime must be a string or a list of strings: loaded for any");
    return 1;
  }
  if (json_array_size(rt) == 0) return 1;
  size_t i;
  const json_t *v;
  json_array_foreach(rt, i, v) {
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "*") == 0 || strcmp(s, runtime) == 0)) return 1;
  }
  return 0;
}

static char *dup_str(const json_t *meta, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(meta, key));
  return strdup(s ? s : dflt);
}

int mol_skill_md_load(const char *dir, const char *id, const char *runtime, mol_skill_md *out,
                   char *warn, size_t warnlen) {
  memset(out, 0, sizeof(*out));
  warn[0] = '\0';
  if (!valid_id(id)) {
    snprintf(warn, warnlen, "skill id '%s' is not a directory name: skipped", id ? id : "");
    return MOL_SKILL_SKIPPED;
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s/SKILL.md", dir, id);
  const char *why = NULL;
  char *text = mol_text_file_read(path, SKILL_MAX, &why);
  if (!text) {
    snprintf(warn, warnlen, "SKILL.md %s for %s, skipping", why ? why : "unreadable", id);
    return MOL_SKILL_SKIPPED;
  }
  char *front = NULL, *body = split_front(text, &front);
  json_t *meta = NULL;
  if (body) {
    char err[160];
    meta = mol_yaml_parse(front, strlen(front), err, sizeof(err));
    if (!json_is_object(meta)) {
      snprintf(warn, warnlen, "%s: front matter %s: no metadata", path,
               meta ? "is not a mapping" : err);
      json_decref(meta);
      meta = NULL;
    }
  } else {
    body = text;
  }
  if (!runtime_fits(json_object_get(meta, "runtime"), runtime, warn, warnlen)) {
    snprintf(warn, warnlen, "skill %s is not for runtime %s, skipping", id, runtime);
    json_decref(meta);
    free(text);
    return MOL_SKILL_SKIPPED;
  }
  out->id = strdup(id);
  out->name = dup_str(meta, "name", id);
  out->description = dup_str(meta, "description", "");
  out->body = mol_str_strip_dup(body);
  json_decref(meta);
  free(text);
  if (!out->id || !out->name || !out->description || !out->body) {
    mol_skill_md_free(out);
    return MOL_ENOMEM;
  }
  return MOL_SKILL_LOADED;
}

void mol_skill_md_free(mol_skill_md *s) {
  free(s->id);
  free(s->name);
  free(s->description);
  free(s->body);
  memset(s, 0, sizeof(*s));
}
