/* preflight.c - `molecule host --check`: upstream's preflight checks (preflight.py) for every
 * agent of a host file, plus the ones this runtime adds (its state dir, its gateway). Each
 * issue is printed as "[FAIL] <title>: <detail>" or "[WARN] <title>: <detail>", then
 * "  Fix: <fix>", failures before warnings, under "Preflight checks (agent <name>):", and only
 * when there is an issue. */
#include "runtime/preflight.h"

#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include "http/url.h"
#include "molecule.h"
#include "runtime/config.h"

#define CONNECT_TIMEOUT_MS 2000

typedef struct {
  int fail;
  char text[1200];
} issue;

typedef struct {
  issue items[64];
  size_t n;
} issues;

static void add(issues *is, int fail, const char *title, const char *fix, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));
static void add(issues *is, int fail, const char *title, const char *fix, const char *fmt, ...) {
  if (is->n >= sizeof(is->items) / sizeof(*is->items)) return;
  issue *i = &is->items[is->n++];
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  i->fail = fail;
  snprintf(i->text, sizeof(i->text), "[%s] %s: %s\n  Fix: %s\n", fail ? "FAIL" : "WARN", title,
           detail, fix);
}

static int env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

/* ---- upstream's checks ------------------------------------------------------------------- */

static void check_runtime(issues *is, const mol_host_agent_conf *a, const mol_agent_config *wc) {
  if (a->opts.exec != MOL_AGENT_EXEC_ECHO || !json_object_get(wc->raw, "runtime")) return;
  add(is, 0, "Runtime", "Set executor (chat, hermes or command) in the host file, or remove "
      "runtime from config.yaml.",
      "config.yaml says runtime '%s' but this agent runs the echo executor", wc->runtime);
}

static int exists_in(const char *dir, const char *rel);

static void check_env(issues *is, const char *dir, const mol_agent_config *wc) {
  if (wc->a2a_port < 1 || wc->a2a_port > 65535)
    add(is, 1, "A2A port", "Set a2a.port to a value between 1 and 65535.", "Invalid A2A port: %d",
        wc->a2a_port);
  json_t *req = json_object_get(wc->runtime_config, "required_env");
  size_t i;
  json_t *v;
  int all_set = 1;
  json_array_foreach(req, i, v) {
    const char *name = json_string_value(v);
    if (!name || env_set(name)) continue;
    all_set = 0;
    char fix[200];
    snprintf(fix, sizeof(fix), "Set %s via the secrets API (global or workspace-level).", name);
    add(is, 1, "Required env", fix, "Missing required environment variable: %s", name);
  }
  const char *file = json_string_value(json_object_get(wc->runtime_config, "auth_token_file"));
  const char *env = json_string_value(json_object_get(wc->runtime_config, "auth_token_env"));
  if (!file || !*file || (env && *env && env_set(env)) || (json_array_size(req) && all_set)) return;
  if (file[0] == '/' || !dir ? access(file, F_OK) != 0 : !exists_in(dir, file))
    add(is, 1, "Auth token", "Remove auth_token_file and use required_env + secrets API instead.",
        "Missing auth token file: %s", file);
}

static int exists_in(const char *dir, const char *rel) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  return access(path, F_OK) == 0;
}

static void check_files(issues *is, const char *dir, const mol_agent_config *wc) {
  if (!dir) return; /* an inline entry has no files to look for */
  size_t i;
  json_t *v;
  if (!json_array_size(wc->prompt_files) && !exists_in(dir, "system-prompt.md"))
    add(is, 0, "Prompt file", "Add the file or remove it from prompt_files.",
        "Missing prompt file: system-prompt.md");
  json_array_foreach(wc->prompt_files, i, v) {
    const char *f = json_string_value(v);
    if (f && !exists_in(dir, f))
      add(is, 0, "Prompt file", "Add the file or remove it from prompt_files.",
          "Missing prompt file: %s", f);
  }
  json_array_foreach(wc->skills, i, v) {
    const char *s = json_string_value(v);
    char rel[600];
    snprintf(rel, sizeof(rel), "skills/%s/SKILL.md", s ? s : "");
    if (s && !exists_in(dir, rel))
      add(is, 0, "Skill", "Restore the skill folder or remove it from config.yaml.",
          "Missing skill package: %s", s);
  }
}

/* ---- this runtime's ---------------------------------------------------------------------- */

static void check_state_dir(issues *is, const mol_host_agent_conf *a) {
  const char *dir = a->opts.state_dir;
  if (!dir) return;
  struct stat st;
  if (stat(dir, &st) != 0 && a->data_dir && !a->config_dir) return; /* a data dir is made */
  if (access(dir, W_OK) != 0)
    add(is, 0, "State dir", "Make it writable, or point data_dir at a writable directory.",
        "%s is not writable: sessions are not kept and initial_prompt may be sent again after a "
        "restart", dir);
}

/* 0 when something accepts a TCP connection at host:port within CONNECT_TIMEOUT_MS. */
static int tcp_reachable(const char *host, unsigned short port) {
  char service[8];
  snprintf(service, sizeof(service), "%u", port);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(host, service, &hints, &res) != 0) return -1;
  int ok = -1;
  for (struct addrinfo *r = res; r && ok; r = r->ai_next) {
    int fd = socket(r->ai_family, r->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, r->ai_addr, r->ai_addrlen) == 0) {
      ok = 0;
    } else if (errno == EINPROGRESS) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int e = 0;
      socklen_t len = sizeof(e);
      if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && !e)
        ok = 0;
    }
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

static void check_gateway(issues *is, const mol_host_agent_conf *a) {
  char url[600];
  if (a->opts.exec == MOL_AGENT_EXEC_CHAT) {
    const char *base = a->opts.chat_api_base;
    if (!base) base = env_set("HERMES_API_BASE") ? getenv("HERMES_API_BASE") : "http://127.0.0.1:8642/v1";
    snprintf(url, sizeof(url), "%s", base);
  } else if (a->opts.exec == MOL_AGENT_EXEC_HERMES) {
    const char *host = env_set("MOLECULE_A2A_PLATFORM_HOST") ? getenv("MOLECULE_A2A_PLATFORM_HOST") : "127.0.0.1";
    int port = a->opts.hermes_plugin_port ? a->opts.hermes_plugin_port
               : env_set("MOLECULE_A2A_PLATFORM_PORT") ? atoi(getenv("MOLECULE_A2A_PLATFORM_PORT")) : 8645;
    snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%d/a2a/health" : "http://%s:%d/a2a/health", host, port);
  } else {
    return;
  }
  mol_url u;
  if (mol_url_parse(url, &u) != 0) {
    add(is, 1, "Gateway", "Correct api_base (or HERMES_API_BASE).", "not a usable URL: %s", url);
    return;
  }
  if (tcp_reachable(u.host, u.port) != 0)
    add(is, 0, "Gateway", "Start the gateway, or point api_base / HERMES_API_BASE (hermes: "
        "MOLECULE_A2A_PLATFORM_PORT) at it; until it answers the agent reports itself wedged.",
        "nothing accepts connections at %s", url);
}

/* ---- the report -------------------------------------------------------------------------- */

static int report(FILE *out, const char *name, const issues *is) {
  int fails = 0;
  if (!is->n) return 0;
  fprintf(out, "Preflight checks (agent %s):\n", name);
  for (int pass = 1; pass >= 0; pass--)
    for (size_t i = 0; i < is->n; i++)
      if (is->items[i].fail == pass) {
        fputs(is->items[i].text, out);
        fails += pass;
      }
  return fails;
}

int mol_host_preflight(const mol_host_config *cfg, const char *base_dir, FILE *out) {
  int fails = 0;
  json_t *entries = json_object_get(cfg->doc, "agents");
  for (size_t i = 0; i < cfg->n_agents; i++) {
    const mol_host_agent_conf *a = &cfg->agents[i];
    mol_agent_config wc;
    char err[256];
    int rc = a->config_dir ? mol_agent_config_load(a->config_dir, &wc, err, sizeof(err))
                           : mol_agent_config_from_json(json_array_get(entries, i), base_dir,
                                                        &wc, err, sizeof(err));
    issues *is = calloc(1, sizeof(*is));
    if (!is) return fails + 1;
    if (rc) {
      add(is, 1, "Config", "Correct config.yaml.", "%s", err);
    } else {
      check_runtime(is, a, &wc);
      check_env(is, a->config_dir, &wc);
      check_files(is, a->config_dir, &wc);
      check_state_dir(is, a);
      check_gateway(is, a);
      mol_agent_config_free(&wc);
    }
    fails += report(out, a->name, is);
    free(is);
  }
  return fails;
}
