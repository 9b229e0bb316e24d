/* config.h - a workspace's config.yaml, read with the Python runtime's defaults and
 * coercions so the same file configures either runtime. Unknown keys are
 * ignored; the whole document stays available in `raw`. */
#ifndef MOL_RUNTIME_CONFIG_H
#define MOL_RUNTIME_CONFIG_H

#include <jansson.h>

typedef struct {
  char *name;                 /* "Workspace" */
  char *description;          /* "" */
  char *role;                 /* "" */
  char *version;              /* "1.0.0" */
  int tier;                   /* 1; only a digit string or integer is taken */
  char *model;                /* "anthropic:claude-opus-4-7"; env MODEL_PROVIDER wins */
  char *runtime;              /* "langgraph" */
  char *initial_prompt;       /* inline, else *_file relative to the config dir; stripped */
  char *idle_prompt;
  int idle_interval_seconds;  /* 600 */
  int a2a_port;               /* 8000 */
  int a2a_streaming;          /* 1 */
  int a2a_push_notifications; /* 1 */
  json_t *skills;             /* array (possibly empty) */
  json_t *prompt_files;       /* array */
  json_t *runtime_config;     /* the upstream keys only: command, args, required_env, timeout,
                                 model, auth_token_env, auth_token_file */
  json_t *raw;                /* the whole parsed document */
} mol_agent_config;

/* Fills out from a parsed document (borrowed; a reference is kept in raw). config_dir
 * resolves *_file prompts (NULL: none are read). Returns 0, or MOL_EINVAL or MOL_ENOMEM with a
 * message. */
int mol_agent_config_from_json(json_t *doc, const char *config_dir, mol_agent_config *out,
                               char *err, size_t errlen);
/* Reads <config_dir>/config.yaml. A missing file is an error, as upstream. */
int mol_agent_config_load(const char *config_dir, mol_agent_config *out, char *err, size_t errlen);
void mol_agent_config_free(mol_agent_config *c);

#endif
