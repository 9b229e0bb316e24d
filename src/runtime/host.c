/* host.c - many agents on one loop behind one listener (see host.h): start, /metrics,
 * the stop that drains every agent before the listener closes, and the public lifecycle of
 * molecule/host.h (a host created before it starts, freed by its close). What happens to an
 * agent after it ended (revived after a pause, restarted by a reload), /health and the reload
 * are host_ops.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/holds.h"
#include "base/log.h"
#include "molecule.h"
#include "runtime/host.h"
#include "runtime/host_int.h"

#define SCOPE "host"
#define LISTENER_GRACE_MS 1000

/* The public enum is the internal one under public names. */
_Static_assert(MOL_HOST_AGENT_STOPPED == (int)MOL_AGENT_STOPPED &&
               MOL_HOST_AGENT_PAUSED == (int)MOL_AGENT_PAUSED &&
               MOL_HOST_AGENT_DELETED == (int)MOL_AGENT_DELETED &&
               MOL_HOST_AGENT_FAILED == (int)MOL_AGENT_FAILED, "mol_host_agent_end values");

/* ---- ending -------------------------------------------------------------------------------- */

static void host_free(mol_host *h) {
  for (size_t i = 0; i < h->n; i++) mol_host__slot_free(h->slots[i]);
  free(h->slots);
  json_decref(h->foreign);
  mol_host__gen_release(h->gen);
  mol_host_config_free(&h->cfg);
  free(h);
}

/* The holds' finish: the listener and the client have closed, and a public host's caller has
 * closed it. */
static void host_finish(void *arg) {
  mol_host *h = arg;
  if (h->stopping && !h->failed_start) {
    mol_logi(SCOPE, "stopped");
    if (h->cbs.on_end) h->cbs.on_end(h, h->cbs.arg);
  }
  if (h->close_cb) h->close_cb(h, h->close_arg);
  host_free(h);
}

static void on_http_closed(void *arg) {
  mol_host *h = arg;
  h->http = NULL;
  mol_holds_drop(&h->holds);
}

static void on_client_closed(void *arg) {
  mol_host *h = arg;
  h->client = NULL;
  mol_holds_drop(&h->holds);
}

/* The listener goes last: agents unroute themselves as they close, and until then in-flight
 * answers still need it. */
static void close_shared(mol_host *h) {
  if (h->http) {
    mol_holds_take(&h->holds);
    mol_http_server_close(h->http, h->listener_grace_ms, on_http_closed, h);
  }
  if (h->client) {
    mol_holds_take(&h->holds);
    mol_http_client_close(h->client, on_client_closed, h);
  }
  mol_holds_drop(&h->holds); /* the running host's: on_end runs later, never inside */
}

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  mol_host__slot *s = arg;
  mol_host *h = s->h;
  if (s->last || (s->last = malloc(sizeof(*s->last))) != NULL) {
    mol_agent_stats_get(a, s->last);
    s->last->name = s->name;
    s->last->workspace_id = "";
    s->last->platform_status = "";
    s->last->url = "";
    s->last->live_turns = 0;
    s->last->pending_replies = 0;
  } else {
    mol_loge(SCOPE, "agent %s: out of memory keeping its counters", s->name);
  }
  s->agent = NULL;
  s->why = why;
  s->err = err;
  s->ended = 1;
  h->live--;
  if (!h->failed_start && h->cbs.on_agent_end) h->cbs.on_agent_end(h, s->name, why, err, h->cbs.arg);
  if (h->stopping && h->live == 0) close_shared(h);
  else if (!h->stopping) mol_host__after_end(h, s);
}

void mol_host_stop(mol_host *h) {
  if (!h || h->stopping) return;
  h->stopping = 1;
  mol_logi(SCOPE, "stopping %zu agents", h->live);
  mol_host__ops_stop(h);
  if (h->live == 0) {
    close_shared(h);
    return;
  }
  /* Every agent stops admitting and snapshots before any of them drains (each stop is
   * immediate; the draining runs concurrently on the loop). */
  for (size_t i = 0; i < h->n; i++)
    if (h->slots[i]->agent) mol_agent_stop(h->slots[i]->agent);
}

/* ---- routes -------------------------------------------------------------------------------- */

static void on_metrics(mol_http_req *r, void *arg) {
  mol_host *h = arg;
  if (h->whole_view) h->whole_view(r, 1, h->workers_arg);
  else mol_host__metrics_serve(r, h);
}

static void on_health(mol_http_req *r, void *arg) {
  mol_host *h = arg;
  if (h->whole_view) h->whole_view(r, 0, h->workers_arg);
  else mol_host__health_serve(r, h);
}

/* /agents/<name>/... of an agent another worker runs: handed to it. */
static void on_foreign(mol_http_req *r, void *arg) {
  mol_host *h = arg;
  const char *name = mol_http_req_path(r) + strlen("/agents/"), *end = strchr(name, '/');
  size_t len = end ? (size_t)(end - name) : strlen(name);
  json_t *owner = json_object_getn(h->foreign, name, len);
  char route[300]; /* counted here as the owner would count it: /agents/{name}/ */
  if (owner && snprintf(route, sizeof(route), "/agents/%.*s/", (int)len, name) < (int)sizeof(route))
    mol_http_req_set_route(r, route);
  if (owner && h->forward(r, (unsigned)json_integer_value(owner), h->workers_arg) == 0) return;
  mol_http_respond(r, 404, "text/plain", "Not Found\n", 10);
}

/* Whether agent i is another worker's (it is then only remembered, for on_foreign). */
static int is_foreign(mol_host *h, const mol_host_config *cfg, size_t i) {
  if (h->workers <= 1 || i % h->workers == h->worker) return 0;
  json_object_set_new(h->foreign, cfg->agents[i].name, json_integer((json_int_t)(i % h->workers)));
  return 1;
}

int mol_host_private_port(const mol_host *h) {
  return h && h->http && h->workers > 1 ? mol_http_server_listener_port(h->http, 1) : 0;
}

/* ---- start --------------------------------------------------------------------------------- */

static char *agent_url(const mol_host_config *cfg, const mol_host_agent_conf *ac, int port) {
  char *url = NULL;
  if (ac->public_url) return strdup(ac->public_url);
  if (cfg->public_base) return asprintf(&url, "%s/agents/%s/", cfg->public_base, ac->name) < 0 ? NULL : url;
  const char *host = cfg->listen_host;
  if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !*host) host = "127.0.0.1";
  const char *fmt = strchr(host, ':') ? "http://[%s]:%d/agents/%s/" : "http://%s:%d/agents/%s/";
  return asprintf(&url, fmt, host, port, ac->name) < 0 ? NULL : url;
}

/* Starts slot s's agent from its conf (of its generation's config). */
int mol_host__slot_start(mol_host *h, mol_host__slot *s) {
  const mol_host_config *cfg = s->gen->cfg;
  const mol_host_agent_conf *ac = s->conf;
  mol_agent_opts o = ac->opts;
  if (!o.grace_ms) o.grace_ms = cfg->grace_ms;
  o.allow_private_webhooks = cfg->allow_private_webhooks;
  char data[4096]; /* each agent its own store: <data_dir>/<name> (names are [A-Za-z0-9_-]) */
  if (cfg->data_dir && snprintf(data, sizeof data, "%s/%s", cfg->data_dir, s->name) < (int)sizeof data)
    o.data_dir = data, o.data_sync_full = cfg->data_sync_full, o.data_backend = cfg->data_backend;
  char *url = agent_url(cfg, ac, mol_http_server_port(h->http));
  if (!url) return MOL_ENOMEM;
  o.public_url = url;
  int rc = mol_agent_start(h->loop, h->http, h->client, &o, on_agent_end, s, &s->agent);
  free(url);
  if (rc) {
    mol_logx(MOL_LOG_ERROR, SCOPE, MOL_FIELDS(MOL_F_STR("agent", s->name), MOL_F_ERR(rc)),
             "agent %s could not start: %s", s->name, mol_strerror(rc));
    s->agent = NULL;
    return rc;
  }
  s->ended = 0;
  h->live++;
  return 0;
}

static int start_agents(mol_host *h, const mol_host_config *cfg) {
  for (size_t i = 0; i < cfg->n_agents; i++) {
    if (is_foreign(h, cfg, i)) continue;
    mol_host__slot *s = mol_host__slot_add(h, &cfg->agents[i], h->gen);
    if (!s) return MOL_ENOMEM;
    int rc = mol_host__slot_start(h, s);
    if (rc) return rc;
  }
  return 0;
}

static int start_shared(mol_host *h, const mol_host_config *cfg) {
  mol_http_server_opts ho = {.reuse_port = h->workers > 1, .count_first_listener = 1};
  int rc = mol_http_server_new(h->loop, &ho, &h->http);
  if (rc) return rc;
  rc = mol_http_server_route(h->http, "GET", "/metrics", 0, on_metrics, h);
  if (!rc) rc = mol_http_server_route(h->http, "GET", "/health", 0, on_health, h);
  if (!rc && h->workers > 1) rc = mol_http_server_route(h->http, NULL, "/agents/", 1, on_foreign, h);
  if (!rc) rc = mol_http_server_listen(h->http, cfg->listen_host, cfg->listen_port);
  if (!rc && h->workers > 1) rc = mol_http_server_listen(h->http, "127.0.0.1", 0);
  if (rc) {
    mol_loge(SCOPE, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
             mol_strerror(rc));
    return rc;
  }
  return mol_http_client_new(h->loop, NULL, &h->client);
}

/* Listens and starts every agent. On an error what started winds down quietly (no
 * callback), and then an internal host is freed and a public one waits for its close. The
 * running host's hold is taken: the wind-down drops it. */
static int host_begin(mol_host *h, const mol_host_config *cfg) {
  int rc = MOL_ENOMEM;
  h->listener_grace_ms = LISTENER_GRACE_MS;
  if (cfg->workers > 1 && cfg->forward && cfg->worker < cfg->workers) {
    /* Requests passed on to another worker end when that worker's agents have drained: its
     * grace, then a little for the answers to come back. */
    h->listener_grace_ms += cfg->grace_ms;
    h->worker = cfg->worker;
    h->workers = cfg->workers;
    h->forward = cfg->forward;
    h->whole_view = cfg->whole_view;
    h->workers_arg = cfg->workers_arg;
    h->foreign = json_object();
  }
  if ((!h->workers || h->foreign) && (h->gen = mol_host__gen_new(cfg, NULL)) != NULL) {
    rc = start_shared(h, cfg);
    if (!rc) rc = start_agents(h, cfg);
  }
  if (!rc) {
    mol_logi(SCOPE, "%zu agents on %s:%d", h->n, cfg->listen_host, mol_http_server_port(h->http));
    return 0;
  }
  h->failed_start = 1;
  mol_host_stop(h); /* with nothing open, it drops the running host's hold at once */
  return rc;
}

/* A host with its holds: the creator's is the first. */
static mol_host *host_alloc(uv_loop_t *loop) {
  mol_host *h = calloc(1, sizeof(*h));
  if (!h) return NULL;
  h->loop = loop;
  uv_timer_init(loop, &h->last);
  mol_holds_init(&h->holds, (uv_handle_t *)&h->last, host_finish, h);
  return h;
}

/* The creator's hold is the running host's: the wind-down drops it. */
int mol_host_start_config(uv_loop_t *loop, mol_host_config *cfg,
                          const mol_host_callbacks *cbs, mol_host **out) {
  if (!loop || !cfg || cfg->n_agents == 0) return MOL_EINVAL;
  mol_host *h = host_alloc(loop);
  if (!h) return MOL_ENOMEM;
  if (cbs) h->cbs = *cbs;
  h->cfg = *cfg; /* the host's from now on: revived and reloaded agents start from it later */
  memset(cfg, 0, sizeof(*cfg));
  mol_host_config_drop_entries(&h->cfg);
  int rc = host_begin(h, &h->cfg);
  if (!rc) *out = h;
  return rc;
}

/* ---- the public lifecycle (molecule/host.h) ------------------------------------------------ */

/* The creator's hold is the caller's: mol_host_close drops it. */
int mol_host_create(uv_loop_t *loop, mol_host_config *cfg, mol_host **out) {
  mol_host *h = host_alloc(loop);
  if (!h) {
    mol_host_config_free(cfg);
    return MOL_ENOMEM;
  }
  h->is_public = 1;
  h->cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  *out = h;
  return 0;
}

static void public_agent_end(mol_host *h, const char *name, mol_agent_end why, int err,
                             void *arg) {
  (void)arg;
  if (h->on_agent_end) h->on_agent_end(h, name, (mol_host_agent_end)why, err, h->agent_end_arg);
}

int mol_host_start(mol_host *h, mol_host_agent_end_cb on_agent_end, void *arg) {
  if (!h || !h->is_public) return MOL_EINVAL;
  if (h->started || h->close_requested) return MOL_EBUSY;
  h->started = 1;
  h->on_agent_end = on_agent_end;
  h->agent_end_arg = arg;
  h->cbs = (mol_host_callbacks){.on_agent_end = public_agent_end};
  mol_holds_take(&h->holds); /* the running host's */
  mol_host_config_drop_entries(&h->cfg);
  return host_begin(h, &h->cfg);
}

void mol_host_close(mol_host *h, mol_host_close_cb cb, void *arg) {
  if (!h || !h->is_public || h->close_requested) return;
  h->close_requested = 1;
  h->close_cb = cb;
  h->close_arg = arg;
  if (h->started) mol_host_stop(h); /* a failed start is already winding down */
  mol_holds_drop(&h->holds); /* the caller's: cb runs from the loop, never from here */
}

int mol_host_port(const mol_host *h) {
  return h && h->http && !h->failed_start ? mol_http_server_port(h->http) : 0;
}

mol_agent *mol_host_agent(const mol_host *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (h->slots[i]->agent && strcmp(h->slots[i]->name, name) == 0) return h->slots[i]->agent;
  return NULL;
}

/* ---- what /metrics reads (host_metrics.c) ------------------------------------------------- */

size_t mol_host__agents(const mol_host *h) { return h->n; }
size_t mol_host__live(const mol_host *h) { return h->live; }
size_t mol_host_serving(const mol_host *h) { return h->live; }
uv_loop_t *mol_host__loop(const mol_host *h) { return h->loop; }
mol_holds *mol_host__holds(mol_host *h) { return &h->holds; }

int mol_host__agent_stats(const mol_host *h, size_t i, mol_agent_stats *out) {
  const mol_host__slot *s = h->slots[i];
  if (s->agent) mol_agent_stats_get(s->agent, out);
  else if (s->last) *out = *s->last;
  else *out = (mol_agent_stats){.workspace_id = "", .platform_status = "", .url = ""};
  out->name = s->name;
  return s->agent != NULL;
}
