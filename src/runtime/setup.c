/* setup.c - an agent's setup pipeline (see setup.h): the config dir at start, then the
 * platform's part once registered, the system prompt built from both and rebuilt when the
 * peers change, and coordinator mode. */
#include "runtime/setup.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "molecule/platform_tools.h"
#include "runtime/agent_int.h"
#include "runtime/config.h"
#include "runtime/config_dir.h"
#include "runtime/exec_chat.h"
#include "runtime/prompt.h"
#include "runtime/skills.h"
#include "tools/builtin.h"

#define SCOPE "setup"

typedef struct mol_agent__setup {
  char *runtime;               /* config.yaml's, for the skills' runtime filter */
  mol_config_texts texts;      /* prompt files, MEMORY.md, USER.md */
  mol_plugins plugins;
  mol_skill_md *skills;
  size_t n_skills;
  mol_a2a_skill *card;         /* views of skills for the card */
  /* From the platform. */
  char *instructions;
  json_t *parent_context;      /* [{"path","content"}] or NULL */
  json_t *peers;               /* the rows of GET /registry/<self>/peers, or NULL */
  json_t *children;            /* those whose parent_id is this workspace */
  char *parent_id;
  mol_platform_req *req;       /* the platform read in flight, or NULL */
  int registered;              /* the first platform round has been asked for */
  int round_done;              /* ... and has ended (the peers are read on the beat since) */
  uint64_t peers_read_at;      /* loop time of the last peers read */
  /* Coordinator mode: route_task_to_team joins the chat executor's registry (its own one,
   * or, when it has none, `own`, made here). */
  mol_tools_builtin *b;
  mol_tools *tools, *own;
  int coordinator;
} setup;

static setup *setup_of(const mol_agent *a) { return a->setup; }

/* ---- the config dir ------------------------------------------------------------------------ */

static int has_skill(const setup *s, const char *id) {
  for (size_t i = 0; i < s->n_skills; i++)
    if (strcmp(s->skills[i].id, id) == 0) return 1;
  return 0;
}

/* <dir>/<id>/SKILL.md, unless a skill of that id is loaded already (the first wins). */
static int load_skill(const char *name, setup *s, const char *dir, const char *id) {
  if (has_skill(s, id)) return 0;
  mol_skill_md sk;
  char warn[256] = "";
  int rc = mol_skill_md_load(dir, id, s->runtime, &sk, warn, sizeof warn);
  if (warn[0]) mol_logw(SCOPE, "%s: skill %s: %s", name, id, warn);
  if (rc != MOL_SKILL_LOADED) return rc == MOL_SKILL_SKIPPED ? 0 : rc;
  mol_skill_md *grown = realloc(s->skills, (s->n_skills + 1) * sizeof(*grown));
  if (!grown) {
    mol_skill_md_free(&sk);
    return MOL_ENOMEM;
  }
  s->skills = grown;
  s->skills[s->n_skills++] = sk;
  return 0;
}

static int by_name(const struct dirent **x, const struct dirent **y) {
  return strcmp((*x)->d_name, (*y)->d_name);
}

/* Every skill a plugin ships: the subdirectories of <plugin>/skills, in byte order. */
static int load_plugin_skills(const char *name, setup *s, const char *dir) {
  struct dirent **ents;
  int k = scandir(dir, &ents, NULL, by_name);
  if (k < 0) return 0;
  int rc = 0;
  for (int i = 0; i < k; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
    if (!rc && ents[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      rc = load_skill(name, s, dir, ents[i]->d_name);
    free(ents[i]);
  }
  free(ents);
  return rc;
}

static int load_skills(const char *name, setup *s, const json_t *names,
                       const char *config_dir) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/skills", config_dir);
  size_t i;
  json_t *v;
  int rc = 0;
  json_array_foreach(names, i, v) {
    if (!rc && json_is_string(v)) rc = load_skill(name, s, dir, json_string_value(v));
  }
  for (size_t k = 0; !rc && k < s->plugins.n_skill_dirs; k++)
    rc = load_plugin_skills(name, s, s->plugins.skill_dirs[k]);
  if (rc || !s->n_skills) return rc;
  if (!(s->card = calloc(s->n_skills, sizeof(*s->card)))) return MOL_ENOMEM;
  for (size_t k = 0; k < s->n_skills; k++)
    s->card[k] = (mol_a2a_skill){.id = s->skills[k].id, .name = s->skills[k].name,
                                 .description = s->skills[k].description};
  return 0;
}

static int prompt_texts(const char *name, setup *s, const json_t *files,
                        const char *config_dir) {
  size_t n = json_array_size(files), k = 0;
  const char **names = n ? calloc(n, sizeof(*names)) : NULL;
  if (n && !names) return MOL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *f = json_string_value(json_array_get(files, i));
    if (f) names[k++] = f;
  }
  char warn[512] = "";
  int rc = mol_config_texts_read(config_dir, names, k, &s->texts, warn, sizeof warn);
  if (warn[0]) mol_logw(SCOPE, "%s: %s", name, warn);
  free(names);
  return rc;
}

/* The whole read, in the thread pool: it touches nothing but s and its own strings (name is
 * for the log lines only). */
static int load_dir(const char *name, setup *s, const char *dir, const char *shared) {
  mol_agent_config wc;
  char err[256] = "";
  int rc = mol_agent_config_load(dir, &wc, err, sizeof err);
  if (rc) {
    mol_loge(SCOPE, "%s: %s", name, err);
    return rc;
  }
  char plugins[4096];
  snprintf(plugins, sizeof plugins, "%s/plugins", dir);
  if (!(s->runtime = strdup(wc.runtime))) rc = MOL_ENOMEM;
  if (!rc) rc = mol_plugins_scan(plugins, shared, &s->plugins);
  if (!rc) mol_agent__plugins_install(dir, &s->plugins);
  if (!rc) rc = load_skills(name, s, wc.skills, dir);
  if (!rc) rc = prompt_texts(name, s, wc.prompt_files, dir);
  mol_agent_config_free(&wc);
  if (!rc)
    mol_logi(SCOPE, "%s: config dir %s: %zu plugins, %zu rules, %zu skills, %zu prompt texts",
             name, dir, s->plugins.n_names, s->plugins.n_rules, s->n_skills, s->texts.n);
  return rc;
}

static void setup_state_free(setup *s);

typedef struct {
  uv_work_t work;
  mol_agent *a;
  setup *s;                    /* what the work fills; the agent's once it has succeeded */
  char *name, *dir, *shared;   /* copies: the worker reads nothing of the agent's */
  mol_agent__setup_loaded_cb loaded;
  int rc;
} load_job;

static void load_work(uv_work_t *w) {
  load_job *j = w->data;
  j->rc = load_dir(j->name, j->s, j->dir, j->shared);
}

static void load_job_free(load_job *j) {
  setup_state_free(j->s);
  free(j->name);
  free(j->dir);
  free(j->shared);
  free(j);
}

/* Back on the loop: an agent still starting takes the state, and is told either way. */
static void load_done(uv_work_t *w, int status) {
  load_job *j = w->data;
  mol_agent *a = j->a;
  int rc = status ? status : j->rc;
  if (!rc && !a->ending) {
    a->setup = j->s;
    j->s = NULL;
  }
  mol_agent__setup_loaded_cb loaded = j->loaded;
  load_job_free(j);
  loaded(a, rc);
  mol_holds_drop(&a->holds); /* taken by mol_agent__setup_start */
}

int mol_agent__setup_start(mol_agent *a, const char *dir, mol_agent__setup_loaded_cb loaded) {
  const char *shared = getenv("PLUGINS_DIR");
  load_job *j = calloc(1, sizeof(*j));
  if (!j) return MOL_ENOMEM;
  j->a = a;
  j->loaded = loaded;
  j->work.data = j;
  j->s = calloc(1, sizeof(*j->s));
  j->name = strdup(a->name);
  j->dir = strdup(dir);
  j->shared = strdup(shared && *shared ? shared : "/plugins");
  int rc = j->s && j->name && j->dir && j->shared ? 0 : MOL_ENOMEM;
  if (!rc) rc = uv_queue_work(a->loop, &j->work, load_work, load_done);
  if (rc) {
    load_job_free(j);
    return rc;
  }
  mol_holds_take(&a->holds); /* until load_done */
  return 0;
}

const mol_a2a_skill *mol_agent__setup_card_skills(const mol_agent *a, size_t *n) {
  const setup *s = setup_of(a);
  *n = s ? s->n_skills : 0;
  return s ? s->card : NULL;
}

/* ---- the prompt ---------------------------------------------------------------------------- */

/* The delegation tool the prompt tells the model to use: the one it is offered. */
static const char *delegate_tool(const mol_agent *a, const setup *s) {
  (void)a;
  if (s->tools && mol_tools_find(s->tools, "delegate_to_workspace")) return NULL;
  return s->coordinator ? "route_task_to_team" : NULL;
}

static void rebuild(mol_agent *a, const char *why) {
  setup *s = setup_of(a);
  int to_inner = a->o.exec == MOL_AGENT_EXEC_CHAT && a->inner_live;
  if (!to_inner && !a->fallback_live) return;
  mol_prompt_skill *ps = s->n_skills ? calloc(s->n_skills, sizeof(*ps)) : NULL;
  for (size_t i = 0; ps && i < s->n_skills; i++)
    ps[i] = (mol_prompt_skill){s->skills[i].name, s->skills[i].description, s->skills[i].body};
  mol_prompt_in in = {
    .instructions = s->instructions,
    .texts = (const char *const *)s->texts.texts, .n_texts = s->texts.n,
    .parent_context = s->parent_context,
    .rules = (const char *const *)s->plugins.rules, .n_rules = s->plugins.n_rules,
    .fragments = (const char *const *)s->plugins.fragments,
    .n_fragments = s->plugins.n_fragments,
    .skills = ps, .n_skills = ps ? s->n_skills : 0,
    .peers = s->peers,
    .children = s->coordinator ? s->children : NULL,
    .delegate_tool = delegate_tool(a, s),
  };
  char *prompt = mol_prompt_build(&in);
  free(ps);
  /* The host file's system_prompt, when there is one, opens the assembled prompt. */
  char *full = NULL;
  if (prompt && a->chat_system_prompt && *a->chat_system_prompt &&
      asprintf(&full, "%s\n%s", a->chat_system_prompt, prompt) < 0)
    full = NULL;
  const char *text = full ? full : prompt;
  int rc = !text ? MOL_ENOMEM : 0;
  if (!rc && to_inner) rc = mol_chat_executor_set_system_prompt(&a->inner, text);
  /* A hermes agent's fallback answers as a chat agent would: with the same prompt. */
  if (!rc && a->fallback_live) rc = mol_chat_executor_set_system_prompt(&a->fallback, text);
  if (rc) mol_logw(SCOPE, "%s: system prompt not rebuilt: %s", a->name, mol_strerror(rc));
  else mol_logi(SCOPE, "%s: system prompt built (%s): %zu bytes, %zu peers, %zu children",
                a->name, why, strlen(text), json_array_size(s->peers),
                json_array_size(s->children));
  free(full);
  free(prompt);
}

/* Coordinator mode from the first child on: route_task_to_team joins the tools the agent's
 * /mcp endpoint serves (whatever its executor) and, for a chat agent, its model's tools. */
static void coordinator_mode(mol_agent *a, setup *s) {
  if (s->coordinator || !json_array_size(s->children)) return;
  s->coordinator = 1;
  mol_logi(SCOPE, "%s: coordinator of %zu children", a->name, json_array_size(s->children));
  /* The /mcp registry is filled on its first use (agent_endpoint.c); a coordinator's is filled
   * now, so that the route tool comes after the built-in set, as it always did. */
  int rc = a->tools.reg ? mol_mcp_toolset_fill(&a->tools) : 0;
  if (!rc && a->tools.reg) rc = mol_tools_add_route(a->tools.reg, a->tools.b);
  if (rc) mol_logw(SCOPE, "%s: route_task_to_team not offered on /mcp: %s", a->name,
                   mol_strerror(rc));
  if (a->o.exec != MOL_AGENT_EXEC_CHAT || !s->tools || !s->b) return;
  rc = mol_tools_add_route(s->tools, s->b);
  if (rc) mol_logw(SCOPE, "%s: route_task_to_team not offered to the model: %s", a->name,
                   mol_strerror(rc));
}

void mol_agent__setup_executor(mol_agent *a) {
  setup *s = setup_of(a);
  if (!s || a->o.exec != MOL_AGENT_EXEC_CHAT) return;
  /* The tools setup adds (coordinator mode) join the executor's registry; without one, a
   * registry of this agent's identity, empty until then. */
  s->b = mol_tools_builtin_new(NULL);
  s->tools = mol_chat_executor_tools(&a->inner);
  if (!s->tools && s->b && (s->own = mol_tools_new(&a->tool_env))) {
    s->tools = s->own;
    mol_chat_executor_set_tools(&a->inner, s->own);
  }
  rebuild(a, "config dir");
}

void mol_agent__setup_fallback(mol_agent *a) {
  if (setup_of(a)) rebuild(a, "fallback");
}

/* ---- the platform's part ------------------------------------------------------------------- */

static void read_peers(mol_agent *a);

/* The peers' rows, and among them the children; 1 when they differ from the last ones. */
static int take_peers(setup *s, const char *self, const char *body) {
  json_t *rows = body ? json_loads(body, 0, NULL) : NULL;
  if (!json_is_array(rows)) {
    json_decref(rows);
    return 0;
  }
  int changed = !s->peers || !json_equal(rows, s->peers);
  json_t *children = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(rows, i, p) {
    const char *parent = json_string_value(json_object_get(p, "parent_id"));
    if (parent && self && !strcmp(parent, self)) json_array_append(children, p);
  }
  json_decref(s->peers);
  json_decref(s->children);
  s->peers = rows;
  s->children = children;
  return changed;
}

static void on_peers(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  setup *s = setup_of(a);
  s->req = NULL;
  if (a->ending) return;
  int first = !s->round_done;
  s->round_done = 1;
  if (err) mol_logw(SCOPE, "%s: peers not read: %s", a->name, mol_strerror(err));
  int changed = !err && take_peers(s, a->workspace_id, res->body);
  coordinator_mode(a, s);
  if (first) rebuild(a, "platform");
  else if (changed) rebuild(a, "peers changed");
}

static void read_peers(mol_agent *a) {
  setup *s = setup_of(a);
  if (!a->pc || s->req) return;
  s->peers_read_at = uv_now(a->loop);
  int rc = mol_platform_get_peers(a->pc, NULL, on_peers, a, &s->req);
  if (rc) mol_logw(SCOPE, "%s: peers not read: %s", a->name, mol_strerror(rc));
}

static void on_parent_context(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  setup *s = setup_of(a);
  s->req = NULL;
  if (a->ending) return;
  json_t *v = err || !res->body ? NULL : json_loads(res->body, 0, NULL);
  if (json_is_array(v)) s->parent_context = json_incref(v);
  else mol_logw(SCOPE, "%s: parent context not read: %s", a->name,
                err ? mol_strerror(err) : "not a list");
  json_decref(v);
  read_peers(a);
}

static void on_workspace(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  setup *s = setup_of(a);
  s->req = NULL;
  if (a->ending) return;
  json_t *v = err || !res->body ? NULL : json_loads(res->body, 0, NULL);
  const char *parent = json_string_value(json_object_get(v, "parent_id"));
  if (parent && *parent) s->parent_id = strdup(parent);
  json_decref(v);
  if (err) mol_logw(SCOPE, "%s: workspace not read: %s", a->name, mol_strerror(err));
  int rc = s->parent_id ? mol_platform_shared_context(a->pc, s->parent_id, NULL,
                                                      on_parent_context, a, &s->req)
                        : 0;
  if (rc) mol_logw(SCOPE, "%s: parent context not read: %s", a->name, mol_strerror(rc));
  if (!s->req) read_peers(a);
}

static void on_instructions(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  setup *s = setup_of(a);
  s->req = NULL;
  if (a->ending) return;
  json_t *v = err || !res->body ? NULL : json_loads(res->body, 0, NULL);
  const char *text = json_string_value(json_object_get(v, "instructions"));
  if (text && *text) s->instructions = strdup(text);
  else if (err) mol_logw(SCOPE, "%s: platform instructions not read: %s", a->name,
                         mol_strerror(err));
  json_decref(v);
  int rc = mol_platform_workspace_info(a->pc, NULL, on_workspace, a, &s->req);
  if (rc) on_workspace(rc, NULL, a);
}

void mol_agent__setup_registered(mol_agent *a) {
  setup *s = setup_of(a);
  if (!s || s->registered || !a->pc) return;
  s->registered = 1;
  int rc = mol_platform_instructions_resolve(a->pc, NULL, on_instructions, a, &s->req);
  if (rc) on_instructions(rc, NULL, a);
}

void mol_agent__setup_beat(mol_agent *a) {
  setup *s = setup_of(a);
  /* Beats are pushed early on turn starts and ends too: the peers are read at most about once
   * per heartbeat interval (half of it, so a periodic beat a little early is not skipped).
   * The first round reads them itself. */
  if (s && s->round_done && uv_now(a->loop) - s->peers_read_at >= a->o.heartbeat_ms / 2)
    read_peers(a);
}

static void setup_state_free(setup *s) {
  if (!s) return;
  if (s->own) mol_tools_free(s->own);
  if (s->b) mol_tools_builtin_release(s->b);
  for (size_t i = 0; i < s->n_skills; i++) mol_skill_md_free(&s->skills[i]);
  free(s->skills);
  free(s->card);
  mol_config_texts_free(&s->texts);
  mol_plugins_free(&s->plugins);
  free(s->runtime);
  free(s->instructions);
  free(s->parent_id);
  json_decref(s->parent_context);
  json_decref(s->peers);
  json_decref(s->children);
  free(s);
}

void mol_agent__setup_free(mol_agent *a) {
  setup_state_free(setup_of(a));
  a->setup = NULL;
}
