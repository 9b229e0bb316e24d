/* agent_api.c - the public agent (molecule/agent.h): an agent of agent.c on a listener of its
 * own (which the agent closes last: own_http), answering through the caller's executor bound
 * by a2a_uv/api_exec.h, with plain C for what agent.h takes as jansson and bit fields.
 *
 * The internal agent's callback argument is this file's record of the caller's: its hooks,
 * its on_end, the binding, and the state the snapshot restored. On the end the binding goes
 * first (the executor's close), then the caller's on_end; the agent is freed after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/api_exec.h"
#include "base/json.h"
#include "molecule/uv.h"
#include "runtime/agent_int.h"

typedef struct {
  mol_a2a_api_exec *x;
  mol_agent_end_cb on_end;
  void *arg;
  void (*on_registered)(mol_agent *a, void *arg);
  void (*on_heartbeat)(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg);
  char *restored;              /* the snapshot's adapter state, as JSON text */
  int port;                    /* the listener's (closed by the time on_end fires) */
} agent_api;

static void api_free(agent_api *w) {
  free(w->restored);
  free(w);
}

/* ---- the internal agent's callbacks -------------------------------------------------------- */

static void on_internal_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  agent_api *w = arg;
  mol_a2a_api_exec_free(w->x, 1);
  w->x = NULL;
  w->on_end(a, why, err, w->arg);
  a->api = NULL;
  api_free(w);
}

static void on_registered(mol_agent *a, void *arg) {
  agent_api *w = arg;
  if (w->on_registered) w->on_registered(a, w->arg);
}

static void on_heartbeat(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg) {
  agent_api *w = arg;
  if (w->on_heartbeat) w->on_heartbeat(a, p, w->arg);
}

static void on_restore(const json_t *state, void *arg) {
  agent_api *w = arg;
  free(w->restored);
  w->restored = mol_json_dump(state);
}

/* ---- start --------------------------------------------------------------------------------- */

static mol_capabilities caps_of(unsigned bits) {
  return (mol_capabilities){
    .heartbeat = !!(bits & MOL_PLATFORM_CAP_HEARTBEAT),
    .scheduler = !!(bits & MOL_PLATFORM_CAP_SCHEDULER),
    .session = !!(bits & MOL_PLATFORM_CAP_SESSION),
    .status_mgmt = !!(bits & MOL_PLATFORM_CAP_STATUS_MGMT),
    .retry = !!(bits & MOL_PLATFORM_CAP_RETRY),
    .activity_decoration = !!(bits & MOL_PLATFORM_CAP_ACTIVITY_DECORATION),
    .channel_dispatch = !!(bits & MOL_PLATFORM_CAP_CHANNEL_DISPATCH)};
}

static int is_wildcard(const char *host) {
  return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static char *listener_url(const char *host, int port) {
  char *url = NULL;
  int v6 = strchr(host, ':') != NULL;
  if (asprintf(&url, "http://%s%s%s:%d/", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
    return NULL;
  return url;
}

static mol_agent_opts internal_opts(const mol_agent_params *p, agent_api *w, const char *url) {
  return (mol_agent_opts){
    .name = p->name, .description = p->description, .platform_url = p->platform_url,
    .workspace_id = p->workspace_id, .token_dir = p->token_dir, .public_url = url,
    .at_root = 1, .platform_opts = p->platform, .register_attempts = p->register_attempts,
    .on_registered = on_registered, .on_heartbeat = on_heartbeat,
    .exec = MOL_AGENT_EXEC_CUSTOM, .custom = mol_a2a_api_exec_inner(w->x),
    .caps = caps_of(p->capabilities), .idle_timeout_s = p->idle_timeout_s,
    .snapshot_path = p->snapshot_path, .restore = on_restore, .restore_arg = w,
    .heartbeat_ms = p->heartbeat_ms, .state_poll_ms = p->state_poll_ms, .grace_ms = p->grace_ms,
    .transcript_lines = p->transcript_lines, .own_http = 1};
}

static int check(uv_loop_t *loop, const mol_agent_params *p, mol_agent_end_cb on_end) {
  if (!loop || !p || !on_end || !p->executor || !p->executor->execute || p->listen_port < 0 ||
      p->listen_port > 65535)
    return MOL_EINVAL;
  const char *host = p->listen_host ? p->listen_host : "127.0.0.1";
  return is_wildcard(host) && !p->public_url ? MOL_EINVAL : 0;
}

/* A listener of the agent's own; *url its address when the caller gave none. */
static int listen_on(uv_loop_t *loop, const mol_agent_params *p, mol_http_server **http,
                     char **url) {
  const char *host = p->listen_host ? p->listen_host : "127.0.0.1";
  int rc = mol_http_server_new(loop, NULL, http);
  if (!rc) rc = mol_http_server_listen(*http, host, p->listen_port);
  if (!rc && !p->public_url && !(*url = listener_url(host, mol_http_server_port(*http))))
    rc = MOL_ENOMEM;
  if (rc && *http) mol_http_server_close(*http, 0, NULL, NULL);
  return rc;
}

int mol_agent_new(uv_loop_t *loop, const mol_agent_params *p, mol_agent_end_cb on_end,
                  void *arg, mol_agent **out) {
  int rc = check(loop, p, on_end);
  if (rc) return rc;
  agent_api *w = calloc(1, sizeof(*w));
  if (!w) return MOL_ENOMEM;
  *w = (agent_api){.on_end = on_end, .arg = arg, .on_registered = p->on_registered,
                   .on_heartbeat = p->on_heartbeat};
  if ((rc = mol_a2a_api_exec_new(p->executor, &w->x))) {
    api_free(w);
    return rc;
  }
  mol_http_server *http = NULL;
  char *url = NULL;
  if ((rc = listen_on(loop, p, &http, &url))) {
    mol_a2a_api_exec_free(w->x, 0);
    api_free(w);
    return rc;
  }
  w->port = mol_http_server_port(http);
  mol_agent_opts ao = internal_opts(p, w, url ? url : p->public_url);
  mol_agent *a = NULL;
  rc = mol_agent_start(loop, http, NULL, &ao, on_internal_end, w, &a); /* takes http */
  free(url);
  if (rc) { /* no turn ever reached the binding: it goes without the executor's close */
    mol_a2a_api_exec_free(w->x, 0);
    api_free(w);
    return rc;
  }
  a->api = w;
  if (out) *out = a;
  return 0;
}

/* ---- the running agent --------------------------------------------------------------------- */

const char *mol_agent_url(const mol_agent *a) { return a ? a->url : NULL; }

int mol_agent_port(const mol_agent *a) {
  const agent_api *w = a ? a->api : NULL;
  return w ? w->port : MOL_EINVAL;
}

int mol_agent_transcript_add(mol_agent *a, const char *who, const char *text) {
  if (!a || !who || !text) return MOL_EINVAL;
  size_t n = strlen(who) + strlen(text) + 3;
  char *line = malloc(n);
  if (!line) return MOL_ENOMEM;
  snprintf(line, n, "%s: %s", who, text);
  int rc = mol_transcript_append(a->transcript, line);
  free(line);
  return rc;
}

char *mol_agent_transcript_json(const mol_agent *a, unsigned long long since, size_t limit) {
  if (!a) return NULL;
  json_t *lines = mol_transcript_lines(a->transcript, a->name, (uint64_t)since, limit);
  char *s = lines ? mol_json_dump(lines) : NULL;
  json_decref(lines);
  return s;
}

int mol_agent_set_state(mol_agent *a, const char *json_object) {
  if (!a) return MOL_EINVAL;
  json_t *st = NULL;
  if (json_object) {
    st = json_loads(json_object, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(st)) {
      json_decref(st);
      return MOL_EINVAL;
    }
  }
  json_decref(a->extra_state);
  a->extra_state = st;
  return 0;
}

const char *mol_agent_restored_state(const mol_agent *a) {
  const agent_api *w = a ? a->api : NULL;
  return w ? w->restored : NULL;
}
