/* host_ops.c - operating a running host (docs/host.md, "Operating a host"):
 *  - an agent the platform paused comes back when its workspace is resumed (revive.h);
 *  - mol_host_reload applies a new host file: agents added start, agents removed stop, agents
 *    whose entry changed stop and start again with it, the others run on untouched;
 *  - GET /health says whether every agent serves and reaches its platform.
 * The configs agents run from are kept in generations, each freed once no slot refers to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "molecule.h"
#include "runtime/host_int.h"
#include "runtime/revive.h"

#define SCOPE "host"

/* ---- generations and slots ---------------------------------------------------------------- */

mol_host__gen *mol_host__gen_new(const mol_host_config *cfg, mol_host_config *owned) {
  mol_host__gen *g = calloc(1, sizeof(*g));
  if (!g) return NULL;
  g->cfg = cfg;
  g->owned = owned;
  g->refs = 1; /* the host's, while it is the current one */
  return g;
}

void mol_host__gen_release(mol_host__gen *g) {
  if (!g || --g->refs) return;
  if (g->owned) {
    mol_host_config_free(g->owned);
    free(g->owned);
  }
  free(g);
}

static void slot_set_conf(mol_host__slot *s, const mol_host_agent_conf *conf, mol_host__gen *gen) {
  if (gen) gen->refs++;
  mol_host__gen_release(s->gen);
  s->conf = conf;
  s->gen = gen;
}

static mol_host__slot *find_slot(const mol_host *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->slots[i]->name, name)) return h->slots[i];
  return NULL;
}

/* The name is new: the host file's names are unique (checked with a hash when it is read) and a
 * reload looks a name up among the slots before it adds one, reviving a retired slot itself.
 * No lookup here: a scan of every slot per agent made a 100,000-agent start quadratic. */
mol_host__slot *mol_host__slot_add(mol_host *h, const mol_host_agent_conf *conf, mol_host__gen *gen) {
  mol_host__slot *s;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 8;
    mol_host__slot **p = realloc(h->slots, cap * sizeof(*p));
    if (!p) return NULL;
    h->slots = p;
    h->cap = cap;
  }
  if (!(s = calloc(1, sizeof(*s))) || !(s->name = strdup(conf->name))) {
    free(s);
    return NULL;
  }
  s->h = h;
  slot_set_conf(s, conf, gen);
  h->slots[h->n++] = s;
  return s;
}

void mol_host__slot_free(mol_host__slot *s) {
  mol_host__gen_release(s->gen);
  mol_host__gen_release(s->next_gen);
  free(s->name);
  free(s->last);
  free(s);
}

/* ---- revive after a pause ----------------------------------------------------------------- */

static void on_revive(int resumed, void *arg) {
  mol_host__slot *s = arg;
  mol_host *h = s->h;
  s->revive = NULL;
  if (resumed && !h->stopping && !s->retired && !s->agent) {
    mol_logx(MOL_LOG_INFO, SCOPE, MOL_FIELDS(MOL_F_STR("agent", s->name), MOL_F_STR("status", "resumed")),
             "agent %s: its workspace was resumed, starting it again", s->name);
    if (mol_host__slot_start(h, s)) s->why = MOL_AGENT_FAILED;
  }
  mol_holds_drop(&h->holds); /* the watcher's */
}

static void watch_paused(mol_host *h, mol_host__slot *s) {
  const mol_agent_opts *o = &s->conf->opts;
  if (!o->platform_url || !o->workspace_id) return;
  mol_platform_opts po = o->platform_opts ? *o->platform_opts : (mol_platform_opts){0};
  po.platform_url = o->platform_url;
  po.workspace_id = o->workspace_id;
  po.token_dir = o->token_dir;
  unsigned every = o->state_poll_ms ? o->state_poll_ms : o->heartbeat_ms;
  int rc = mol_revive_start(h->loop, &po, every, on_revive, s, &s->revive);
  if (rc) {
    mol_logx(MOL_LOG_ERROR, SCOPE, MOL_FIELDS(MOL_F_STR("agent", s->name), MOL_F_ERR(rc)),
             "agent %s: cannot watch its paused workspace: %s", s->name, mol_strerror(rc));
    return;
  }
  mol_holds_take(&h->holds); /* until the watcher has closed */
}

void mol_host__after_end(mol_host *h, mol_host__slot *s) {
  if (s->next_conf) { /* a reload changed it: the new entry starts now */
    slot_set_conf(s, s->next_conf, s->next_gen);
    mol_host__gen_release(s->next_gen); /* slot_set_conf took its own ref */
    s->next_conf = NULL;
    s->next_gen = NULL;
    if (mol_host__slot_start(h, s)) s->why = MOL_AGENT_FAILED;
    return;
  }
  if (s->retired) {
    slot_set_conf(s, NULL, NULL); /* its generation may go */
    return;
  }
  if (s->why == MOL_AGENT_PAUSED) watch_paused(h, s);
}

void mol_host__ops_stop(mol_host *h) {
  for (size_t i = 0; i < h->n; i++) {
    mol_host__slot *s = h->slots[i];
    if (s->revive) mol_revive_cancel(s->revive); /* on_revive drops its hold later */
    if (s->next_gen) {
      mol_host__gen_release(s->next_gen);
      s->next_gen = NULL;
      s->next_conf = NULL;
    }
  }
}

/* ---- reload ------------------------------------------------------------------------------- */

/* Whether two host files agree on everything but their agents, listen and log sections (which
 * a reload applies by itself, or cannot apply). */
static int globals_equal(json_t *a, json_t *b) {
  json_t *x = json_copy(a), *y = json_copy(b);
  int eq = 0;
  if (x && y) {
    static const char *const own[] = {"agents", "listen", "log"};
    for (size_t i = 0; i < 3; i++) {
      json_object_del(x, own[i]);
      json_object_del(y, own[i]);
    }
    eq = json_equal(x, y);
  }
  json_decref(x);
  json_decref(y);
  return eq;
}

static const mol_host_agent_conf *conf_named(const mol_host_config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->n_agents; i++)
    if (!strcmp(cfg->agents[i].name, name)) return &cfg->agents[i];
  return NULL;
}

typedef struct {
  size_t added, removed, changed, kept;
} reload_counts;

/* s runs (or ran) a name the new file has: unchanged, or stopped now and started again with
 * the new entry once it has ended. */
static void reload_slot(mol_host *h, mol_host__slot *s, const mol_host_agent_conf *nc,
                        mol_host__gen *ng, int globals_same, reload_counts *n) {
  const mol_host_agent_conf *cur = s->next_conf ? s->next_conf : s->conf;
  if (globals_same && memcmp(cur->entry_sum, nc->entry_sum, sizeof(nc->entry_sum)) == 0) {
    n->kept++;
    return;
  }
  n->changed++;
  if (s->agent) { /* restarted from the new entry once it has ended (mol_host__after_end) */
    ng->refs++;
    mol_host__gen_release(s->next_gen);
    s->next_conf = nc;
    s->next_gen = ng;
    mol_agent_stop(s->agent);
    return;
  }
  slot_set_conf(s, nc, ng);
  if (s->revive) return; /* still paused: it starts with the new entry when resumed */
  if (mol_host__slot_start(h, s)) s->why = MOL_AGENT_FAILED;
}

static void retire(mol_host__slot *s, reload_counts *n) {
  if (s->retired) return;
  s->retired = 1;
  n->removed++;
  mol_host__gen_release(s->next_gen);
  s->next_gen = NULL;
  s->next_conf = NULL;
  if (s->revive) mol_revive_cancel(s->revive);
  if (s->agent) mol_agent_stop(s->agent); /* mol_host__after_end lets its generation go */
  else slot_set_conf(s, NULL, NULL);
}

/* A name an earlier reload removed is back: it starts with its new entry now, or once its
 * agent has finished stopping. */
static void revive_retired(mol_host *h, mol_host__slot *s, const mol_host_agent_conf *nc,
                           mol_host__gen *ng, reload_counts *n) {
  s->retired = 0;
  n->added++;
  if (s->agent) {
    ng->refs++;
    s->next_conf = nc;
    s->next_gen = ng;
    return;
  }
  slot_set_conf(s, nc, ng);
  if (mol_host__slot_start(h, s)) s->why = MOL_AGENT_FAILED;
}

int mol_host_reload(mol_host *h, mol_host_config *cfg) {
  if (h->stopping || h->failed_start) {
    mol_host_config_free(cfg);
    return MOL_ESHUTDOWN;
  }
  if (h->workers > 1) { /* a worker knows only its shard: `molecule host --workers` refuses */
    mol_host_config_free(cfg);
    return MOL_ENOTSUP;
  }
  mol_host_config *own = malloc(sizeof(*own));
  if (own) {
    *own = *cfg;
    memset(cfg, 0, sizeof(*cfg));
  }
  mol_host__gen *ng = own ? mol_host__gen_new(own, own) : NULL;
  if (!ng) {
    mol_host_config_free(own ? own : cfg);
    free(own);
    return MOL_ENOMEM;
  }
  const mol_host_config *old = h->gen->cfg;
  if (strcmp(old->listen_host, own->listen_host) || old->listen_port != own->listen_port)
    mol_logw(SCOPE, "reload: listen: changes only with a restart; still on %s:%d",
             old->listen_host, mol_http_server_port(h->http));
  int globals_same = globals_equal(old->doc, own->doc);
  mol_host_config_drop_entries(own);
  reload_counts n = {0};
  size_t before = h->n;
  for (size_t i = 0; i < before; i++) {
    mol_host__slot *s = h->slots[i];
    const mol_host_agent_conf *nc = conf_named(own, s->name);
    if (!nc) retire(s, &n);
    else if (s->retired) revive_retired(h, s, nc, ng, &n);
    else reload_slot(h, s, nc, ng, globals_same, &n);
  }
  int rc = 0;
  for (size_t i = 0; i < own->n_agents && !rc; i++) {
    if (find_slot(h, own->agents[i].name)) continue;
    mol_host__slot *s = mol_host__slot_add(h, &own->agents[i], ng);
    if (!s) rc = MOL_ENOMEM;
    else if (mol_host__slot_start(h, s)) s->why = MOL_AGENT_FAILED, s->ended = 1;
    n.added++;
  }
  mol_host__gen_release(h->gen);
  h->gen = ng;
  mol_logx(MOL_LOG_INFO, SCOPE, MOL_FIELDS(MOL_F_INT("added", n.added), MOL_F_INT("removed", n.removed),
                                           MOL_F_INT("changed", n.changed), MOL_F_INT("kept", n.kept)),
           "reloaded: %zu added, %zu removed, %zu changed, %zu unchanged", n.added, n.removed,
           n.changed, n.kept);
  return rc;
}

/* ---- /health ------------------------------------------------------------------------------ */

/* Why an agent counts against the host's health, or NULL. An agent paused or deleted on the
 * platform, or removed by a reload, is where its operator wanted it. */
static const char *trouble(const mol_host__slot *s, mol_agent_stats *st) {
  if (s->retired) return NULL;
  if (!s->agent) {
    if (s->next_conf) return NULL; /* restarting with a reloaded entry */
    if (s->ended && (s->why == MOL_AGENT_PAUSED || s->why == MOL_AGENT_DELETED)) return NULL;
    return s->why == MOL_AGENT_FAILED ? "failed" : "stopped";
  }
  mol_agent_stats_get(s->agent, st);
  if (st->platform_failing) return "platform unreachable";
  if (st->wedged) return "wedged";
  return NULL;
}

/* 200 {"status":"ok","agents":N} while every agent serves (N: how many); 503 with
 * "degraded" and "problems":[{"agent":..,"problem":..}] when one failed, cannot reach its
 * platform or is wedged, and "paused":[names] for those waiting to be resumed; 503
 * "stopping" during the stop. */
json_t *mol_host_health(const mol_host *h) {
  json_t *problems = json_array(), *paused = json_array();
  for (size_t i = 0; i < h->n && problems && paused; i++) {
    const mol_host__slot *s = h->slots[i];
    mol_agent_stats st;
    const char *why = trouble(s, &st);
    if (why) json_array_append_new(problems, json_pack("{s:s,s:s}", "agent", s->name, "problem", why));
    if (!s->retired && s->revive) json_array_append_new(paused, json_string(s->name));
  }
  const char *status = h->stopping ? "stopping" : json_array_size(problems) ? "degraded" : "ok";
  json_t *o = problems && paused ? json_pack("{s:s,s:I}", "status", status, "agents", (json_int_t)h->live) : NULL;
  if (o && json_array_size(problems)) json_object_set(o, "problems", problems);
  if (o && json_array_size(paused)) json_object_set(o, "paused", paused);
  json_decref(problems);
  json_decref(paused);
  return o;
}

void mol_host__health_serve(mol_http_req *r, mol_host *h) {
  json_t *o = mol_host_health(h);
  const char *status = o ? json_string_value(json_object_get(o, "status")) : NULL;
  char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (body) mol_http_respond(r, strcmp(status, "ok") ? 503 : 200, "application/json", body, strlen(body));
  else mol_http_respond(r, 500, "text/plain", "out of memory\n", 14);
  free(body);
  json_decref(o);
}
