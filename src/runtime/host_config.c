/* host_config.c - the host file (docs/host.md): host-level listen / platform / log settings
 * and one entry per agent, either pointing at a workspace config dir (config.yaml, read as the
 * Python runtime reads it) or carrying the same fields inline.
 *
 * Unknown keys are refused unless they are config.yaml fields (those are accepted and, where
 * they do not apply to this runtime, ignored as the Python runtime ignores them): a typo in a
 * host file should fail loudly rather than silently fall back to a default. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "molecule.h"
#include "runtime/config.h"
#include "runtime/host.h"
#include "runtime/yaml_json.h"

typedef struct {
  const char *base_dir;
  char *err;
  size_t errlen;
} ctx;

static int fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  return MOL_EINVAL;
}
#define FAIL(c, ...) fail((c), __VA_ARGS__)

static const char *const host_keys[] = {"listen", "platform_url", "public_url", "log",
                                        "grace_seconds", "allow_private_webhooks", "agents",
                                        "data_dir", "data_sync", NULL};
static const char *const agent_keys[] = {
  "name", "description", "config_dir", "workspace_id", "executor", "delay_ms", "task_mode",
  "model", "api_base", "system_prompt", "hermes_plugin_port", "hermes_reply_port",
  "capabilities", "idle_timeout_seconds", "snapshot_path", "heartbeat_seconds",
  "state_poll_seconds", "grace_seconds", "public_url", "token_dir", "handler",
  "handler_timeout_seconds", "max_handlers", "max_queued", "max_output_bytes",
  "data_dir", "gateway_ready_budget_seconds", "wedge_after_failures", "hermes_fallback", NULL};
/* config.yaml fields an entry may carry inline. */
static const char *const yaml_keys[] = {
  "role", "version", "tier", "runtime", "runtime_config", "initial_prompt",
  "initial_prompt_file", "idle_prompt", "idle_prompt_file", "idle_interval_seconds", "skills",
  "plugins", "tools", "prompt_files", "shared_context", "sub_workspaces", "a2a", "delegation",
  "sandbox", "rbac", "hitl", "governance", "security_scan", "compliance", "effort",
  "task_budget", NULL};
static const char *const cap_keys[] = {"heartbeat", "scheduler", "session", "status_mgmt",
                                       "retry", "activity_decoration", "channel_dispatch", NULL};

static int in_list(const char *const *list, const char *k) {
  for (; *list; list++)
    if (strcmp(*list, k) == 0) return 1;
  return 0;
}

static int check_keys(ctx *c, json_t *obj, const char *where, const char *const *a,
                      const char *const *b) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (!in_list(a, k) && !(b && in_list(b, k)))
      return FAIL(c, "%s: unknown field '%s'", where, k);
  }
  return 0;
}

/* ---- typed getters: absent -> default, wrong type -> error naming the field ---------------- */

static int get_str(ctx *c, json_t *o, const char *where, const char *k, const char **out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return FAIL(c, "%s.%s: must be a string", where, k);
  *out = json_string_value(v);
  return 0;
}

static int get_uint(ctx *c, json_t *o, const char *where, const char *k, long long max,
                    long long *out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
    return FAIL(c, "%s.%s: must be an integer from 0 to %lld", where, k, max);
  *out = json_integer_value(v);
  return 0;
}

static int get_bool(ctx *c, json_t *o, const char *where, const char *k, int *out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) return FAIL(c, "%s.%s: must be true or false", where, k);
  *out = json_is_true(v);
  return 0;
}

static char *path_rel(ctx *c, const char *p) {
  char *out = NULL;
  if (p[0] == '/' || !c->base_dir) return strdup(p);
  return asprintf(&out, "%s/%s", c->base_dir, p) < 0 ? NULL : out;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* ---- host level ---------------------------------------------------------------------------- */

static int parse_listen(ctx *c, const char *s, mol_host_config *h) {
  const char *colon = strrchr(s, ':');
  char *end;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || *end || colon[1] == '\0' || port < 0 || port > 65535)
    return FAIL(c, "listen: '%s' is not HOST:PORT", s);
  size_t n = (size_t)(colon - s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s++, n -= 2; /* [v6]:port */
  if (n >= sizeof(h->listen_host)) return FAIL(c, "listen: host too long");
  snprintf(h->listen_host, sizeof(h->listen_host), "%.*s", (int)(n ? n : 9),
           n ? s : "127.0.0.1");
  h->listen_port = (int)port;
  return 0;
}

static int log_format(ctx *c, const char *fmt, mol_host_config *h) {
  if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "plain") != 0)
    return FAIL(c, "log.format: '%s' is not plain or json", fmt);
  h->log_json = fmt && strcmp(fmt, "json") == 0;
  return 0;
}

/* log: {format: plain|json, level: info}, or the shorthand log: json. */
static int parse_log(ctx *c, json_t *doc, mol_host_config *h) {
  json_t *log = json_object_get(doc, "log");
  if (!log || json_is_null(log)) return 0;
  if (json_is_string(log)) return log_format(c, json_string_value(log), h);
  if (!json_is_object(log)) return FAIL(c, "log: must be a mapping {format, level}");
  static const char *const keys[] = {"format", "level", NULL};
  const char *fmt = NULL, *level = NULL;
  int rc = check_keys(c, log, "log", keys, NULL);
  if (!rc) rc = get_str(c, log, "log", "format", &fmt);
  if (!rc) rc = get_str(c, log, "log", "level", &level);
  if (!rc) rc = log_format(c, fmt, h);
  if (rc) return rc;
  mol_log_level lv;
  if (level && mol_log_level_parse(level, &lv))
    return FAIL(c, "log.level: '%s' is not trace, debug, info, warn, error or off", level);
  if (level && !(h->log_level = strdup(level))) return MOL_ENOMEM;
  return 0;
}

/* data_dir (relative to the host file) and data_sync: normal | full. */
static int parse_data_dir(ctx *c, json_t *doc, mol_host_config *h) {
  const char *dir = NULL, *sync = NULL;
  int rc = get_str(c, doc, "host file", "data_dir", &dir);
  if (!rc) rc = get_str(c, doc, "host file", "data_sync", &sync);
  if (rc) return rc;
  if (sync && strcmp(sync, "normal") != 0 && strcmp(sync, "full") != 0)
    return FAIL(c, "host file.data_sync: must be normal or full, not '%s'", sync);
  if (sync && !dir) return FAIL(c, "host file.data_sync: needs data_dir");
  h->data_sync_full = sync && strcmp(sync, "full") == 0;
  if (dir && !*dir) return FAIL(c, "host file.data_dir: must not be empty");
  if (dir && !(h->data_dir = path_rel(c, dir))) return MOL_ENOMEM;
  return 0;
}

static int parse_host(ctx *c, json_t *doc, mol_host_config *h) {
  const char *listen = NULL, *purl = NULL, *pub = NULL;
  long long grace = 10;
  int rc = check_keys(c, doc, "host file", host_keys, NULL);
  if (!rc) rc = get_str(c, doc, "host file", "listen", &listen);
  if (!rc) rc = get_str(c, doc, "host file", "platform_url", &purl);
  if (!rc) rc = get_str(c, doc, "host file", "public_url", &pub);
  if (!rc) rc = get_uint(c, doc, "host file", "grace_seconds", 3600, &grace);
  if (!rc)
    rc = get_bool(c, doc, "host file", "allow_private_webhooks", &h->allow_private_webhooks);
  if (!rc) rc = parse_log(c, doc, h);
  if (!rc) rc = parse_data_dir(c, doc, h);
  if (rc) return rc;
  snprintf(h->listen_host, sizeof(h->listen_host), "127.0.0.1");
  h->listen_port = 8000;
  if (listen && (rc = parse_listen(c, listen, h))) return rc;
  if (!purl) purl = getenv("PLATFORM_URL");
  if (purl && *purl && !(h->platform_url = strdup(purl))) return MOL_ENOMEM;
  if (pub && *pub) {
    if (!(h->public_base = strdup(pub))) return MOL_ENOMEM;
    size_t n = strlen(h->public_base);
    while (n > 0 && h->public_base[n - 1] == '/') h->public_base[--n] = '\0';
  }
  h->grace_ms = (unsigned)grace * 1000;
  return 0;
}

/* ---- one agent ----------------------------------------------------------------------------- */

static int parse_executor(ctx *c, const char *where, const char *name, mol_agent_exec_kind *k) {
  if (!name || strcmp(name, "echo") == 0) *k = MOL_AGENT_EXEC_ECHO;
  else if (strcmp(name, "chat") == 0) *k = MOL_AGENT_EXEC_CHAT;
  else if (strcmp(name, "hermes") == 0) *k = MOL_AGENT_EXEC_HERMES;
  else if (strcmp(name, "command") == 0) *k = MOL_AGENT_EXEC_COMMAND;
  else return FAIL(c, "%s.executor: unknown executor '%s' (echo, chat, hermes or command)",
                   where, name);
  return 0;
}

static int parse_caps(ctx *c, json_t *e, const char *where, mol_capabilities *caps) {
  json_t *o = json_object_get(e, "capabilities");
  if (!o || json_is_null(o)) return 0;
  char w[96];
  snprintf(w, sizeof(w), "%s.capabilities", where);
  if (!json_is_object(o)) return FAIL(c, "%s: must be a mapping of flags", w);
  int rc = check_keys(c, o, w, cap_keys, NULL);
  int f[7] = {0};
  for (int i = 0; !rc && cap_keys[i]; i++) rc = get_bool(c, o, w, cap_keys[i], &f[i]);
  *caps = (mol_capabilities){f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
  return rc;
}

static void slug(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 1 < cap && n < 64; in++)
    out[n++] = isalnum((unsigned char)*in) ? (char)tolower((unsigned char)*in) : '-';
  out[n] = '\0';
}

/* config.yaml fields: from config_dir/config.yaml, else from the entry itself. */
static int load_workspace(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                          mol_agent_config *wc) {
  const char *dir = NULL;
  int rc = get_str(c, e, where, "config_dir", &dir);
  if (rc) return rc;
  char msg[256] = "";
  if (dir) {
    if (!(a->config_dir = path_rel(c, dir))) return MOL_ENOMEM;
    rc = mol_agent_config_load(a->config_dir, wc, msg, sizeof(msg));
  } else {
    rc = mol_agent_config_from_json(e, c->base_dir, wc, msg, sizeof(msg));
  }
  if (rc) return FAIL(c, "%s%s: %s", where, dir ? ".config_dir" : "", msg);
  return 0;
}

static int agent_names(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                       const mol_agent_config *wc) {
  const char *name = NULL, *desc = NULL;
  int rc = get_str(c, e, where, "name", &name);
  if (!rc) rc = get_str(c, e, where, "description", &desc);
  if (rc) return rc;
  char s[72];
  if (!name) slug(wc->name, s, sizeof(s));
  a->name = strdup(name ? name : s);
  a->description = strdup(desc ? desc : wc->description);
  if (!a->name || !a->description) return MOL_ENOMEM;
  for (const char *p = a->name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
      return FAIL(c, "%s.name: '%s' may only use letters, digits, '-' and '_'", where, a->name);
  if (!*a->name || strlen(a->name) > 64) return FAIL(c, "%s.name: 1 to 64 characters", where);
  return 0;
}

static int agent_strings(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                         const mol_agent_config *wc) {
  const char *ws = NULL, *snap = NULL, *pub = NULL, *model = NULL, *exec = NULL;
  mol_agent_opts *o = &a->opts;
  int rc = get_str(c, e, where, "workspace_id", &ws);
  if (!rc) rc = get_str(c, e, where, "snapshot_path", &snap);
  if (!rc) rc = get_str(c, e, where, "public_url", &pub);
  if (!rc) rc = get_str(c, e, where, "model", &model);
  if (!rc) rc = get_str(c, e, where, "executor", &exec);
  if (!rc) rc = get_str(c, e, where, "api_base", &o->chat_api_base);
  if (!rc) rc = get_str(c, e, where, "system_prompt", &o->chat_system_prompt);
  if (!rc) rc = get_str(c, e, where, "token_dir", &o->token_dir);
  if (!rc) rc = parse_executor(c, where, exec, &o->exec);
  if (rc) return rc;
  if (pub && (!*pub || pub[strlen(pub) - 1] != '/'))
    return FAIL(c, "%s.public_url: must end in '/' (A2A clients resolve the card from it)", where);
  /* A chat model comes from the entry, else runtime_config.model; never config.yaml's
   * provider-style `model:` default, which a chat-completions gateway would not know. */
  const char *rt_model = json_string_value(json_object_get(wc->runtime_config, "model"));
  if (!model && rt_model && *rt_model) model = rt_model;
  a->workspace_id = dup_or_null(ws);
  a->public_url = dup_or_null(pub);
  a->chat_model = dup_or_null(model);
  a->snapshot_path = snap ? path_rel(c, snap) : NULL;
  if ((ws && !a->workspace_id) || (pub && !a->public_url) || (model && !a->chat_model) ||
      (snap && !a->snapshot_path))
    return MOL_ENOMEM;
  return 0;
}

static int agent_numbers(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                         unsigned grace_ms) {
  long long delay = 0, idle = 0, hb = 30, poll = 0, grace = grace_ms / 1000, pport = 0, rport = 0;
  int task_mode = 0;
  int rc = get_uint(c, e, where, "delay_ms", 3600000, &delay);
  if (!rc) rc = get_bool(c, e, where, "task_mode", &task_mode);
  if (!rc) rc = get_uint(c, e, where, "idle_timeout_seconds", 7 * 86400, &idle);
  if (!rc) rc = get_uint(c, e, where, "heartbeat_seconds", 3600, &hb);
  if (!rc) rc = get_uint(c, e, where, "state_poll_seconds", 3600, &poll);
  if (!rc) rc = get_uint(c, e, where, "grace_seconds", 3600, &grace);
  if (!rc) rc = get_uint(c, e, where, "hermes_plugin_port", 65535, &pport);
  if (!rc) rc = get_uint(c, e, where, "hermes_reply_port", 65535, &rport);
  if (!rc) rc = parse_caps(c, e, where, &a->opts.caps);
  if (rc) return rc;
  if (hb == 0) return FAIL(c, "%s.heartbeat_seconds: must be at least 1", where);
  a->opts.echo.delay_ms = (unsigned)delay;
  a->opts.echo.task_mode = task_mode;
  a->opts.idle_timeout_s = (int)idle;
  a->opts.heartbeat_ms = (unsigned)hb * 1000;
  a->opts.state_poll_ms = (unsigned)poll * 1000;
  a->opts.grace_ms = grace ? (unsigned)grace * 1000 : 1; /* 0 means "cancel at once" here */
  a->opts.hermes_plugin_port = (int)pport;
  a->opts.hermes_reply_port = (int)rport;
  return 0;
}

/* Looking after itself (runtime/agent_care.h): where its state lives, the prompts of
 * config.yaml, the backend's probe budget and wedge threshold. */
static int agent_care(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                      const mol_agent_config *wc) {
  const char *data = NULL, *fallback = NULL;
  long long budget = 0, wedge = 0;
  int rc = get_str(c, e, where, "data_dir", &data);
  if (!rc) rc = get_str(c, e, where, "hermes_fallback", &fallback);
  if (!rc) rc = get_uint(c, e, where, "gateway_ready_budget_seconds", 86400, &budget);
  if (!rc) rc = get_uint(c, e, where, "wedge_after_failures", 1000000, &wedge);
  if (rc) return rc;
  if (fallback && strcmp(fallback, "chat") && strcmp(fallback, "none"))
    return FAIL(c, "%s.hermes_fallback: 'chat' or 'none', not '%s'", where, fallback);
  if (fallback && a->opts.exec != MOL_AGENT_EXEC_HERMES)
    return FAIL(c, "%s.hermes_fallback: only for executor: hermes", where);
  a->opts.hermes_fallback = !fallback ? 0 : strcmp(fallback, "chat") == 0 ? 1 : -1;
  if (wc->idle_prompt && *wc->idle_prompt && wc->idle_interval_seconds <= 0)
    return FAIL(c, "%s.idle_interval_seconds: must be at least 1", where);
  a->data_dir = data ? path_rel(c, data) : NULL;
  a->initial_prompt = wc->initial_prompt && *wc->initial_prompt ? strdup(wc->initial_prompt) : NULL;
  a->idle_prompt = wc->idle_prompt && *wc->idle_prompt ? strdup(wc->idle_prompt) : NULL;
  if ((data && !a->data_dir) || (wc->initial_prompt && *wc->initial_prompt && !a->initial_prompt) ||
      (wc->idle_prompt && *wc->idle_prompt && !a->idle_prompt))
    return MOL_ENOMEM;
  a->opts.idle_interval_s = (unsigned)wc->idle_interval_seconds;
  a->opts.gateway_budget_s = (unsigned)budget;
  a->opts.wedge_after = (unsigned)wedge;
  return 0;
}

/* executor: command needs a handler; the handler keys mean nothing to the other executors, so
 * there they are refused rather than silently ignored. */
static int agent_command(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a) {
  static const char *const keys[] = {"handler", "handler_timeout_seconds", "max_handlers",
                                     "max_queued", "max_output_bytes", NULL};
  mol_command_opts *co = &a->opts.command;
  long long timeout = 0, procs = 0, queued = 0, out = 0;
  int rc = get_str(c, e, where, "handler", &co->handler);
  if (!rc) rc = get_uint(c, e, where, "handler_timeout_seconds", 7 * 86400, &timeout);
  if (!rc) rc = get_uint(c, e, where, "max_handlers", 100000, &procs);
  if (!rc) rc = get_uint(c, e, where, "max_queued", 1000000, &queued);
  if (!rc) rc = get_uint(c, e, where, "max_output_bytes", 1LL << 30, &out);
  if (rc) return rc;
  if (a->opts.exec != MOL_AGENT_EXEC_COMMAND) {
    for (size_t i = 0; keys[i]; i++)
      if (json_object_get(e, keys[i]))
        return FAIL(c, "%s.%s: only for executor: command", where, keys[i]);
    return 0;
  }
  if (!co->handler || !*co->handler)
    return FAIL(c, "%s.handler: required with executor: command", where);
  co->timeout_ms = (unsigned)timeout * 1000;
  co->max_running = (unsigned)procs;
  co->max_queued = (unsigned)queued;
  co->max_output = (size_t)out;
  return 0;
}

/* tools: the core tools a chat agent's model is offered (the entry's list, else its
 * config.yaml's). Other executors offer no tools, so there it is ignored, as upstream does. */
static int agent_tools(ctx *c, json_t *e, const char *where, mol_host_agent_conf *a,
                       const mol_agent_config *wc) {
  json_t *list = json_object_get(e, "tools"), *v;
  if (!list) list = json_object_get(wc->raw, "tools");
  if (!list || json_is_null(list) || a->opts.exec != MOL_AGENT_EXEC_CHAT) return 0;
  const char *in = a->config_dir && !json_object_get(e, "tools") ? " in config.yaml" : "";
  if (!json_is_array(list)) return FAIL(c, "%s.tools: must be a list of tool names%s", where, in);
  static const char *const known[] = MOL_AGENT_CORE_TOOLS;
  size_t i, len = 1;
  json_array_foreach(list, i, v) {
    const char *name = json_string_value(v);
    if (!name) return FAIL(c, "%s.tools: must be a list of tool names%s", where, in);
    if (!in_list(known, name))
      return FAIL(c, "%s.tools: unknown tool '%s'%s (the core tools: delegate_to_workspace, "
                  "check_delegation_status, request_approval, commit_memory, search_memory, "
                  "run_code)", where, name, in);
    len += strlen(name) + 1;
  }
  if (!(a->tools = calloc(1, len))) return MOL_ENOMEM;
  json_array_foreach(list, i, v) {
    if (i) strcat(a->tools, ",");
    strcat(a->tools, json_string_value(v));
  }
  return 0;
}

static int own_str(const char **s, char **copy) {
  if (!*s) return 0;
  if (!(*copy = strdup(*s))) return MOL_ENOMEM;
  *s = *copy;
  return 0;
}

/* The strings opts had borrowed from the entry become copies, and the entry is summed: the
 * parsed entry can go once a host has the config (mol_host_config_drop_entries). */
static int own_entry(mol_host_agent_conf *a, json_t *e) {
  mol_agent_opts *o = &a->opts;
  if (own_str(&o->chat_api_base, &a->api_base) ||
      own_str(&o->chat_system_prompt, &a->system_prompt) ||
      own_str(&o->token_dir, &a->token_dir) || own_str(&o->command.handler, &a->handler))
    return MOL_ENOMEM;
  char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (!text) return MOL_ENOMEM;
  mol_sha256_once(text, strlen(text), a->entry_sum);
  free(text);
  return 0;
}

void mol_host_config_drop_entries(mol_host_config *c) {
  json_t *globals = c->doc ? json_copy(c->doc) : NULL; /* shallow: the values are shared */
  if (!globals) return;
  json_object_del(globals, "agents");
  json_decref(c->doc);
  c->doc = globals;
}

static int parse_agent(ctx *c, json_t *e, size_t i, mol_host_config *h) {
  char where[32];
  snprintf(where, sizeof(where), "agents[%zu]", i);
  if (!json_is_object(e)) return FAIL(c, "%s: must be a mapping", where);
  mol_host_agent_conf *a = &h->agents[i];
  mol_agent_config wc;
  int rc = check_keys(c, e, where, agent_keys, yaml_keys);
  if (!rc) rc = load_workspace(c, e, where, a, &wc);
  if (rc) return rc;
  rc = agent_names(c, e, where, a, &wc);
  if (!rc) rc = agent_strings(c, e, where, a, &wc);
  if (!rc) rc = agent_tools(c, e, where, a, &wc);
  if (!rc) rc = agent_numbers(c, e, where, a, h->grace_ms);
  if (!rc) rc = agent_command(c, e, where, a);
  if (!rc) rc = agent_care(c, e, where, a, &wc);
  mol_agent_config_free(&wc);
  return rc ? rc : own_entry(a, e);
}

/* Environment defaults, and the pointers of opts into the owned strings. */
static int finish_agent(ctx *c, mol_host_config *h, size_t i, const char *env_ws) {
  mol_host_agent_conf *a = &h->agents[i];
  if (!a->workspace_id && h->n_agents == 1 && env_ws && *env_ws &&
      !(a->workspace_id = strdup(env_ws)))
    return MOL_ENOMEM;
  if (h->platform_url && !a->workspace_id)
    return FAIL(c, "agents[%zu].workspace_id: required with a platform_url%s", i,
                h->n_agents == 1 ? " (or set WORKSPACE_ID)" : "");
  a->opts.name = a->name;
  a->opts.state_dir = a->config_dir ? a->config_dir : a->data_dir;
  a->opts.initial_prompt = a->initial_prompt;
  a->opts.idle_prompt = a->idle_prompt;
  a->opts.description = a->description;
  a->opts.platform_url = h->platform_url;
  a->opts.workspace_id = a->workspace_id;
  a->opts.public_url = a->public_url;
  a->opts.snapshot_path = a->snapshot_path;
  a->opts.chat_model = a->chat_model;
  a->opts.chat_tools = a->tools;
  a->opts.config_dir = a->config_dir;
  return 0;
}

/* A name an earlier agent has: one hash lookup per agent (a host of 100,000 agents used to
 * compare every pair, 5 billion comparisons at start). Names are checked ([A-Za-z0-9_-])
 * before this, so they are valid keys. Returns 0, MOL_EEXIST (*first: the earlier agent) or
 * MOL_ENOMEM. */
static int name_taken(json_t *seen, const char *name, size_t i, size_t *first) {
  json_t *at = json_object_get(seen, name);
  if (at) {
    *first = (size_t)json_integer_value(at);
    return MOL_EEXIST;
  }
  return json_object_set_new(seen, name, json_integer((json_int_t)i)) ? MOL_ENOMEM : 0;
}

/* Duplicate names, then each agent's defaults and pointers. */
static int finish_agents(ctx *c, mol_host_config *h) {
  const char *env_ws = getenv("WORKSPACE_ID");
  json_t *seen = json_object();
  int rc = seen ? 0 : MOL_ENOMEM;
  for (size_t i = 0; !rc && i < h->n_agents; i++) {
    size_t first = 0;
    rc = name_taken(seen, h->agents[i].name, i, &first);
    if (rc == MOL_EEXIST)
      rc = FAIL(c, "agents[%zu].name: '%s' is already used by agents[%zu]", i,
                h->agents[i].name, first);
    if (!rc) rc = finish_agent(c, h, i, env_ws);
  }
  json_decref(seen);
  return rc;
}

int mol_host_config_from_json(json_t *doc, const char *base_dir, mol_host_config *out,
                              char *err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  ctx c = {.base_dir = base_dir, .err = err, .errlen = errlen};
  if (!json_is_object(doc)) return FAIL(&c, "host file: must be a mapping");
  out->doc = json_incref(doc);
  int rc = parse_host(&c, doc, out);
  json_t *list = json_object_get(doc, "agents");
  if (!rc && (!json_is_array(list) || json_array_size(list) == 0))
    rc = FAIL(&c, "agents: must be a list with at least one agent");
  if (!rc && !(out->agents = calloc(json_array_size(list), sizeof(*out->agents))))
    rc = MOL_ENOMEM;
  if (!rc) out->n_agents = json_array_size(list);
  for (size_t i = 0; !rc && i < out->n_agents; i++)
    rc = parse_agent(&c, json_array_get(list, i), i, out);
  if (!rc) rc = finish_agents(&c, out);
  if (rc == MOL_ENOMEM) (void)FAIL(&c, "out of memory");
  if (rc) mol_host_config_free(out);
  return rc;
}

int mol_host_config_load(const char *path, mol_host_config *out, char *err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  char yerr[200] = "";
  json_t *doc = mol_yaml_load_file(path, yerr, sizeof(yerr));
  if (!doc) {
    snprintf(err, errlen, "%s: %s", path, yerr);
    return MOL_EINVAL;
  }
  char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = '\0';
  char msg[400] = "";
  int rc = mol_host_config_from_json(doc, slash ? dir : ".", out, msg, sizeof(msg));
  if (rc) snprintf(err, errlen, "%s: %s", path, msg);
  free(dir);
  json_decref(doc);
  return rc;
}

void mol_host_config_free(mol_host_config *c) {
  for (size_t i = 0; c->agents && i < c->n_agents; i++) {
    mol_host_agent_conf *a = &c->agents[i];
    char *strs[] = {a->name, a->description, a->workspace_id, a->snapshot_path, a->public_url,
                    a->chat_model, a->config_dir, a->tools};
    for (size_t k = 0; k < sizeof(strs) / sizeof(*strs); k++) free(strs[k]);
    free(a->data_dir);
    free(a->initial_prompt);
    free(a->idle_prompt);
    free(a->api_base);
    free(a->system_prompt);
    free(a->token_dir);
    free(a->handler);
  }
  free(c->agents);
  free(c->platform_url);
  free(c->public_base);
  free(c->log_level);
  free(c->data_dir);
  json_decref(c->doc);
  memset(c, 0, sizeof(*c));
}
