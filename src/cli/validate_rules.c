/* validate_rules.c - what `molecule validate` checks (see validate.h). The rules are the
 * authoring rules of Molecule plugins and templates: a plugin's plugin.yaml and its skills'
 * SKILL.md front matter (agentskills.io), a workspace's config.yaml, an org's org.yaml and
 * channel files; plus a scan of every string a manifest holds for values that look like
 * secrets, since a manifest is published with the plugin. */
#include "cli/validate.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/plugins.h"
#include "runtime/yaml_json.h"

static void problem(mol_cli__validation *v, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(mol_cli__validation *v, const char *source, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  v->count++;
  v->problem(v->arg, source, msg);
}

static int in_set(const char *s, const char *const *set) {
  for (; *set; set++)
    if (strcmp(s, *set) == 0) return 1;
  return 0;
}

/* ---- secrets ------------------------------------------------------------------------------ */

static const struct {
  const char *re, *what;
  int icase;
} secret_rules[] = {
    {"(^|[^A-Za-z0-9])AKIA[0-9A-Z]{16}([^A-Za-z0-9]|$)", "an AWS access key id", 0},
    {"(^|[^A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}", "a GitHub token", 0},
    {"github_pat_[A-Za-z0-9_]{60,}", "a GitHub fine-grained token", 0},
    {"(^|[^A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}", "an API key (sk-...)", 0},
    {"[\"']Bearer [A-Za-z0-9._~+/=-]{8,}[\"']", "a quoted Bearer token", 0},
    {"Bearer [A-Za-z0-9._~+/=-]{20,}", "a Bearer token", 0},
    {"[0-9a-fA-F]{64,}", "a long hex string (a key)", 0},
    {"(password|api_key|secret)[ \t]*=[ \t]*[^ \t]", "a password, api_key or secret assignment", 1},
};
enum { NSECRET = sizeof secret_rules / sizeof *secret_rules };

const char *mol_cli__secret_pattern(const char *text) {
  static regex_t re[NSECRET];
  static int compiled;
  if (!compiled) {
    for (int i = 0; i < NSECRET; i++)
      if (regcomp(&re[i], secret_rules[i].re,
                  REG_EXTENDED | REG_NOSUB | (secret_rules[i].icase ? REG_ICASE : 0)) != 0)
        return "an unchecked value (the secret patterns did not compile)";
    compiled = 1;
  }
  for (int i = 0; i < NSECRET; i++)
    if (regexec(&re[i], text, 0, NULL, 0) == 0) return secret_rules[i].what;
  return NULL;
}

/* Every string under v, the key "sha256" skipped (a digest is long hex by design). */
static void scan_secrets(json_t *v, const char *where, const char *source, mol_cli__validation *x) {
  if (json_is_string(v)) {
    const char *what = mol_cli__secret_pattern(json_string_value(v));
    if (what)
      problem(x, source, "'%s' looks like %s: keep secrets out of files that are published",
              where, what);
  } else if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m) {
      if (strcmp(k, "sha256") == 0) continue;
      char sub[512];
      snprintf(sub, sizeof sub, "%s%s%s", where, *where ? "." : "", k);
      scan_secrets(m, sub, source, x);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
      char sub[512];
      snprintf(sub, sizeof sub, "%s[%zu]", where, i);
      scan_secrets(m, sub, source, x);
    }
  }
}

/* ---- files -------------------------------------------------------------------------------- */

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <dir>/<name> as a YAML mapping, or NULL with the problem reported against name. */
static json_t *load_mapping(const char *dir, const char *name, mol_cli__validation *v) {
  char path[4200], err[256] = "";
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  if (stat(path, &st) != 0) {
    problem(v, name, "missing");
    return NULL;
  }
  json_t *doc = mol_yaml_load_file(path, err, sizeof err);
  if (!doc) {
    problem(v, name, "not valid YAML: %s", err);
    return NULL;
  }
  if (!json_is_object(doc)) {
    problem(v, name, "must be a mapping at the top level");
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static void want_string(json_t *doc, const char *key, int required, size_t max, const char *src,
                        mol_cli__validation *v) {
  json_t *s = json_object_get(doc, key);
  if (!s) {
    if (required) problem(v, src, "'%s' is required", key);
  } else if (!json_is_string(s) || (required && !*json_string_value(s))) {
    problem(v, src, "'%s' must be a%s string", key, required ? " non-empty" : "");
  } else if (max && strlen(json_string_value(s)) > max) {
    problem(v, src, "'%s' is longer than %zu characters", key, max);
  }
}

static void want_string_list(json_t *doc, const char *key, const char *src, mol_cli__validation *v) {
  json_t *l = json_object_get(doc, key);
  if (!l) return;
  if (!json_is_array(l)) {
    problem(v, src, "'%s' must be a list", key);
    return;
  }
  size_t i;
  json_t *m;
  json_array_foreach(l, i, m) if (!json_is_string(m))
      problem(v, src, "'%s[%zu]' must be a string", key, i);
}

static void want_tier(json_t *doc, const char *src, const char *where, mol_cli__validation *v) {
  json_t *t = json_object_get(doc, "tier");
  if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3))
    problem(v, src, "%s'tier' must be 1, 2 or 3", where);
}

/* ---- plugins and skills ------------------------------------------------------------------- */

static const char *const plugin_runtimes[] = {"claude_code", "deepagents", "langgraph", "crewai",
                                              "autogen", "openclaw", NULL};

static void check_runtimes(json_t *doc, const char *src, mol_cli__validation *v) {
  json_t *l = json_object_get(doc, "runtimes");
  size_t i;
  json_t *m;
  if (!json_is_array(l)) return;
  json_array_foreach(l, i, m) {
    if (!json_is_string(m)) continue;
    char name[64];
    snprintf(name, sizeof name, "%s", json_string_value(m));
    for (char *p = name; *p; p++)
      if (*p == '-') *p = '_';
    if (!in_set(name, plugin_runtimes))
      problem(v, src, "runtime '%s' is not one of claude_code, deepagents, langgraph, crewai, "
                      "autogen, openclaw", json_string_value(m));
  }
}

static void check_sha256(json_t *doc, const char *src, mol_cli__validation *v) {
  json_t *s = json_object_get(doc, "sha256");
  if (!s) return;
  const char *h = json_is_string(s) ? json_string_value(s) : "";
  size_t n = strlen(h);
  int ok = n == 64;
  for (size_t i = 0; ok && i < n; i++) ok = (h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f');
  if (!ok) problem(v, src, "'sha256' must be 64 lower-case hex digits");
}

static void check_manifest(const char *dir, mol_cli__validation *v) {
  json_t *doc = load_mapping(dir, "plugin.yaml", v);
  if (!doc) return;
  const char *src = "plugin.yaml";
  want_string(doc, "name", 1, 0, src, v);
  static const char *const strs[] = {"version", "description", "author", NULL};
  for (const char *const *k = strs; *k; k++) want_string(doc, *k, 0, 0, src, v);
  static const char *const lists[] = {"tags", "skills", "rules", "prompt_fragments", "runtimes", NULL};
  for (const char *const *k = lists; *k; k++) want_string_list(doc, *k, src, v);
  check_runtimes(doc, src, v);
  check_sha256(doc, src, v);
  scan_secrets(doc, "", src, v);
  json_decref(doc);
}

/* The front matter of a SKILL.md text as a mapping, or NULL with the problem reported. */
static json_t *front_matter(char *text, const char *src, mol_cli__validation *v) {
  if (strncmp(text, "---", 3) != 0 || (text[3] != '\n' && text[3] != '\r')) {
    problem(v, src, "must start with a '---' front matter block");
    return NULL;
  }
  char *front = text + 4 + (text[3] == '\r' && text[4] == '\n');
  for (char *line = front; *line;) {
    char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    if (n && line[n - 1] == '\r') n--;
    if (n == 3 && strncmp(line, "---", 3) == 0) {
      char err[256] = "";
      json_t *doc = mol_yaml_parse(front, (size_t)(line - front), err, sizeof err);
      if (!doc) problem(v, src, "front matter is not valid YAML: %s", err);
      else if (!json_is_object(doc)) problem(v, src, "front matter must be a mapping");
      if (doc && json_is_object(doc)) return doc;
      json_decref(doc);
      return NULL;
    }
    line = nl ? nl + 1 : line + n;
  }
  problem(v, src, "the front matter has no closing '---'");
  return NULL;
}

static int skill_name_ok(const char *s) {
  if (!*s || *s == '-') return 0;
  for (const char *p = s; *p; p++) {
    if (*p == '-' && (p[1] == '-' || p[1] == '\0')) return 0;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) return 0;
  }
  return 1;
}

static void check_skill(const char *dir, const char *id, mol_cli__validation *v) {
  char path[4200], src[600];
  snprintf(path, sizeof path, "%s/skills/%s/SKILL.md", dir, id);
  snprintf(src, sizeof src, "skills/%s/SKILL.md", id);
  const char *why = NULL;
  char *text = mol_text_file_read(path, 1 << 20, &why);
  if (!text) {
    problem(v, src, "%s", why ? why : "unreadable");
    return;
  }
  json_t *doc = front_matter(text, src, v);
  free(text);
  if (!doc) return;
  want_string(doc, "name", 1, 64, src, v);
  json_t *name = json_object_get(doc, "name");
  if (json_is_string(name) && *json_string_value(name)) {
    if (!skill_name_ok(json_string_value(name)))
      problem(v, src, "'name' must be lower-case letters and digits in hyphen-separated words");
    else if (strcmp(json_string_value(name), id) != 0)
      problem(v, src, "'name' is '%s' but the directory is '%s'", json_string_value(name), id);
  }
  want_string(doc, "description", 1, 1024, src, v);
  want_string(doc, "compatibility", 0, 500, src, v);
  want_string(doc, "allowed-tools", 0, 0, src, v);
  want_string(doc, "license", 0, 0, src, v);
  json_t *meta = json_object_get(doc, "metadata");
  if (meta && !json_is_object(meta)) problem(v, src, "'metadata' must be a mapping");
  json_decref(doc);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

void mol_cli__validate_plugin(const char *dir, mol_cli__validation *v) {
  check_manifest(dir, v);
  char skills[4200];
  snprintf(skills, sizeof skills, "%s/skills", dir);
  struct dirent **ents = NULL;
  int n = is_dir(skills) ? scandir(skills, &ents, NULL, by_name) : 0;
  for (int i = 0; i < n; i++) {
    char sub[4500];
    snprintf(sub, sizeof sub, "%s/%s", skills, ents[i]->d_name);
    if (ents[i]->d_name[0] != '.' && is_dir(sub)) check_skill(dir, ents[i]->d_name, v);
    free(ents[i]);
  }
  free(ents);
}

/* ---- workspace templates ------------------------------------------------------------------ */

static const char *const workspace_runtimes[] = {"langgraph", "claude-code", "claude_code",
                                                 "openclaw", "deepagents", "crewai", "autogen",
                                                 NULL};

void mol_cli__validate_workspace(const char *dir, mol_cli__validation *v) {
  json_t *doc = load_mapping(dir, "config.yaml", v);
  if (!doc) return;
  const char *src = "config.yaml";
  want_string(doc, "name", 1, 0, src, v);
  want_string(doc, "runtime", 1, 0, src, v);
  json_t *rt = json_object_get(doc, "runtime");
  if (json_is_string(rt) && *json_string_value(rt) && !in_set(json_string_value(rt), workspace_runtimes))
    problem(v, src, "runtime '%s' is not one of langgraph, claude-code, claude_code, openclaw, "
                    "deepagents, crewai, autogen", json_string_value(rt));
  want_tier(doc, src, "", v);
  json_t *x = json_object_get(doc, "runtime_config");
  if (x && !json_is_object(x)) problem(v, src, "'runtime_config' must be a mapping");
  x = json_object_get(doc, "required_env");
  if (x && !json_is_array(x)) problem(v, src, "'required_env' must be a list");
  x = json_object_get(doc, "timeout");
  if (x && !json_is_number(x)) problem(v, src, "'timeout' must be a number");
  json_decref(doc);
}

/* ---- channels ----------------------------------------------------------------------------- */

static void check_channel(json_t *c, const char *src, const char *where, mol_cli__validation *v) {
  if (!json_is_object(c)) {
    problem(v, src, "%sa channel must be a mapping", where);
    return;
  }
  json_t *type = json_object_get(c, "type");
  if (!json_is_string(type)) problem(v, src, "%s'type' is required", where);
  else if (strcmp(json_string_value(type), "telegram") != 0)
    problem(v, src, "%stype '%s' is not a supported channel (telegram)", where, json_string_value(type));
  json_t *cfg = json_object_get(c, "config");
  if (!json_is_object(cfg)) problem(v, src, "%s'config' must be a mapping", where);
  else if (!json_object_get(cfg, "bot_token")) problem(v, src, "%s'config.bot_token' is required", where);
  json_t *en = json_object_get(c, "enabled");
  if (en && !json_is_boolean(en)) problem(v, src, "%s'enabled' must be true or false", where);
}

void mol_cli__validate_channel_file(const char *path, mol_cli__validation *v) {
  char err[256] = "";
  json_t *doc = mol_yaml_load_file(path, err, sizeof err);
  if (!doc) {
    problem(v, "", "not valid YAML: %s", err);
    return;
  }
  if (json_is_array(doc)) {
    size_t i;
    json_t *c;
    json_array_foreach(doc, i, c) {
      char where[40];
      snprintf(where, sizeof where, "channel %zu: ", i);
      check_channel(c, "", where, v);
    }
  } else {
    check_channel(doc, "", "", v);
  }
  json_decref(doc);
}

/* ---- org templates ------------------------------------------------------------------------ */

static void check_node(json_t *n, const char *where, mol_cli__validation *v);

static void check_children(json_t *list, const char *where, const char *key, mol_cli__validation *v) {
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    char sub[400];
    snprintf(sub, sizeof sub, "%s%s[%zu]", where, key, i);
    check_node(c, sub, v);
  }
}

static void check_node_schedules(json_t *n, const char *w, mol_cli__validation *v) {
  json_t *s = json_object_get(n, "schedules");
  if (!s) return;
  if (!json_is_array(s)) {
    problem(v, "org.yaml", "%s: 'schedules' must be a list", w);
    return;
  }
  size_t i;
  json_t *e;
  json_array_foreach(s, i, e) {
    if (!json_is_string(json_object_get(e, "cron_expr")))
      problem(v, "org.yaml", "%s: schedules[%zu] needs 'cron_expr'", w, i);
    if (!json_is_string(json_object_get(e, "prompt")))
      problem(v, "org.yaml", "%s: schedules[%zu] needs 'prompt'", w, i);
  }
}

static void check_node(json_t *n, const char *w, mol_cli__validation *v) {
  const char *src = "org.yaml";
  if (!json_is_object(n)) {
    problem(v, src, "%s: must be a mapping", w);
    return;
  }
  json_t *name = json_object_get(n, "name");
  if (!json_is_string(name) || !*json_string_value(name)) problem(v, src, "%s: 'name' is required", w);
  char where[440];
  snprintf(where, sizeof where, "%s: ", w);
  want_tier(n, src, where, v);
  json_t *rt = json_object_get(n, "runtime");
  if (rt && (!json_is_string(rt) || !in_set(json_string_value(rt), workspace_runtimes)))
    problem(v, src, "%s: 'runtime' is not one of langgraph, claude-code, claude_code, openclaw, "
                    "deepagents, crewai, autogen", w);
  json_t *acc = json_object_get(n, "workspace_access");
  static const char *const access[] = {"none", "read_only", "read_write", NULL};
  if (acc && (!json_is_string(acc) || !in_set(json_string_value(acc), access)))
    problem(v, src, "%s: 'workspace_access' must be none, read_only or read_write", w);
  else if (acc && strcmp(json_string_value(acc), "none") != 0 && !json_object_get(n, "workspace_dir"))
    problem(v, src, "%s: 'workspace_access: %s' needs 'workspace_dir'", w, json_string_value(acc));
  json_t *ch = json_object_get(n, "channels");
  size_t i;
  json_t *c;
  if (ch && !json_is_array(ch)) problem(v, src, "%s: 'channels' must be a list", w);
  else json_array_foreach(ch, i, c) {
      char cw[480];
      snprintf(cw, sizeof cw, "%s: channels[%zu]: ", w, i);
      check_channel(c, src, cw, v);
    }
  check_node_schedules(n, w, v);
  want_string_list(n, "plugins", src, v);
  json_t *ext = json_object_get(n, "external");
  if (json_is_true(ext) && !json_is_string(json_object_get(n, "url")))
    problem(v, src, "%s: 'external: true' needs 'url'", w);
  json_t *kids = json_object_get(n, "children");
  if (kids && !json_is_array(kids)) problem(v, src, "%s: 'children' must be a list", w);
  else if (kids) check_children(kids, w, ".children", v);
}

void mol_cli__validate_org(const char *dir, mol_cli__validation *v) {
  json_t *doc = load_mapping(dir, "org.yaml", v);
  if (!doc) return;
  const char *src = "org.yaml";
  want_string(doc, "name", 1, 0, src, v);
  json_t *d = json_object_get(doc, "defaults");
  if (d && !json_is_object(d)) problem(v, src, "'defaults' must be a mapping");
  json_t *ws = json_object_get(doc, "workspaces");
  if (!json_is_array(ws) || json_array_size(ws) == 0)
    problem(v, src, "'workspaces' must be a non-empty list");
  else
    check_children(ws, "", "workspaces", v);
  scan_secrets(doc, "", src, v);
  json_decref(doc);
}
