/* config.c - config.yaml with upstream's defaults and coercions. */
#include "runtime/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "molecule.h"
#include "runtime/yaml_json.h"

static char *str_or(json_t *doc, const char *key, const char *dflt) {
  json_t *v = json_object_get(doc, key);
  if (json_is_string(v)) return strdup(json_string_value(v));
  if (json_is_integer(v)) {
    char b[32];
    snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return strdup(b);
  }
  return strdup(dflt);
}

static int int_or(json_t *v, int dflt) {
  if (json_is_integer(v)) return (int)json_integer_value(v);
  if (json_is_real(v)) return (int)json_real_value(v);
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end) return (int)n;
  }
  return dflt;
}

/* upstream: int(tier) only if str(tier).isdigit(), else 1 */
static int tier_of(json_t *v) {
  if (json_is_integer(v) && json_integer_value(v) >= 0) return (int)json_integer_value(v);
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (*s && strspn(s, "0123456789") == strlen(s)) return atoi(s);
  }
  return 1;
}

static int bool_or(json_t *v, int dflt) { return json_is_boolean(v) ? json_is_true(v) : dflt; }

static json_t *array_or_empty(json_t *v) {
  return json_is_array(v) ? json_incref(v) : json_array();
}

static char *read_text(const char *dir, const char *rel) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 && n < (1 << 20) ? malloc((size_t)n + 1) : NULL;
  if (buf) buf[fread(buf, 1, (size_t)n, f)] = '\0';
  fclose(f);
  return buf;
}

/* Inline value first; the file only when the inline value is empty (upstream's rule). */
static char *prompt(json_t *doc, const char *key, const char *dir) {
  char *inline_v = mol_str_strip(str_or(doc, key, ""));
  if (!inline_v || *inline_v || !dir) return inline_v;
  char file_key[64];
  snprintf(file_key, sizeof(file_key), "%s_file", key);
  json_t *f = json_object_get(doc, file_key);
  if (!json_is_string(f) || !*json_string_value(f)) return inline_v;
  char *text = read_text(dir, json_string_value(f));
  if (!text) return inline_v;
  free(inline_v);
  return mol_str_strip(text);
}

static json_t *runtime_config(json_t *v) {
  static const char *const keys[] = {"command", "args", "required_env", "timeout",
                                     "model", "auth_token_env", "auth_token_file"};
  json_t *rc = json_pack("{s:s,s:[],s:[],s:i,s:s,s:s,s:s}", "command", "", "args", "required_env",
                         "timeout", 0, "model", "", "auth_token_env", "", "auth_token_file", "");
  for (size_t i = 0; rc && json_is_object(v) && i < sizeof(keys) / sizeof(*keys); i++) {
    json_t *x = json_object_get(v, keys[i]);
    if (x && !json_is_null(x) && json_object_set(rc, keys[i], x)) {
      json_decref(rc); /* never the default in place of the file's value */
      return NULL;
    }
  }
  return rc;
}

/* Whether every member the reader fills was allocated. */
static int complete(const mol_agent_config *c) {
  return c->name && c->description && c->role && c->version && c->model && c->runtime &&
         c->initial_prompt && c->idle_prompt && c->skills && c->prompt_files &&
         c->runtime_config;
}

int mol_agent_config_from_json(json_t *doc, const char *dir, mol_agent_config *c, char *err,
                               size_t errlen) {
  memset(c, 0, sizeof(*c));
  if (!json_is_object(doc)) {
    snprintf(err, errlen, "config must be a mapping");
    return MOL_EINVAL;
  }
  c->raw = json_incref(doc);
  c->name = str_or(doc, "name", "Workspace");
  c->description = str_or(doc, "description", "");
  c->role = str_or(doc, "role", "");
  c->version = str_or(doc, "version", "1.0.0");
  c->tier = tier_of(json_object_get(doc, "tier"));
  const char *env_model = getenv("MODEL_PROVIDER");
  c->model = env_model && *env_model ? strdup(env_model)
                                     : str_or(doc, "model", "anthropic:claude-opus-4-7");
  c->runtime = str_or(doc, "runtime", "langgraph");
  c->initial_prompt = prompt(doc, "initial_prompt", dir);
  c->idle_prompt = prompt(doc, "idle_prompt", dir);
  c->idle_interval_seconds = int_or(json_object_get(doc, "idle_interval_seconds"), 600);
  json_t *a2a = json_object_get(doc, "a2a");
  c->a2a_port = int_or(json_object_get(a2a, "port"), 8000);
  c->a2a_streaming = bool_or(json_object_get(a2a, "streaming"), 1);
  c->a2a_push_notifications = bool_or(json_object_get(a2a, "push_notifications"), 1);
  c->skills = array_or_empty(json_object_get(doc, "skills"));
  c->prompt_files = array_or_empty(json_object_get(doc, "prompt_files"));
  c->runtime_config = runtime_config(json_object_get(doc, "runtime_config"));
  if (!complete(c)) {
    snprintf(err, errlen, "out of memory reading the config");
    mol_agent_config_free(c);
    return MOL_ENOMEM;
  }
  if (c->a2a_port < 0 || c->a2a_port > 65535) {
    snprintf(err, errlen, "a2a.port %d out of range", c->a2a_port);
    mol_agent_config_free(c);
    return MOL_EINVAL;
  }
  return 0;
}

int mol_agent_config_load(const char *dir, mol_agent_config *c, char *err, size_t errlen) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/config.yaml", dir);
  json_t *doc = mol_yaml_load_file(path, err, errlen);
  if (!doc) return MOL_EINVAL;
  int rc = mol_agent_config_from_json(doc, dir, c, err, errlen);
  json_decref(doc);
  return rc;
}

void mol_agent_config_free(mol_agent_config *c) {
  free(c->name);
  free(c->description);
  free(c->role);
  free(c->version);
  free(c->model);
  free(c->runtime);
  free(c->initial_prompt);
  free(c->idle_prompt);
  json_decref(c->skills);
  json_decref(c->prompt_files);
  json_decref(c->runtime_config);
  json_decref(c->raw);
  memset(c, 0, sizeof(*c));
}
