/* host_workers.c - `molecule host --workers N` (N > 1): one mol_host per worker loop, each
 * running its shard of the agents (agent i on worker i % N: its platform client, heartbeat,
 * executor and task store all on that loop), all listening on the one port (SO_REUSEPORT).
 * A request for an agent of another worker is passed on to that worker's private listener
 * (worker_forward.c); /metrics and /health are gathered from every worker into one view.
 * Each worker's host owns a config of its own (a host takes the config it starts with), loaded
 * from the file for it. SIGHUP does not reload here: a worker knows only its shard, and a
 * reload spread over the workers is not done; the signal is logged and changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/sdnotify.h"
#include "cli/cli_util.h"
#include "cli/host_workers.h"
#include "cli/metrics_merge.h"
#include "cli/workers.h"
#include "devplatform/taskdb.h"
#include "molecule.h"
#include "runtime/host.h"

typedef struct {
  mol_cli__worker *w;
  mol_host *h;               /* NULL once ended (or when it never started) */
  mol_http_client *forward;  /* NULL once closed */
  int stopping;
} host_worker;

/* SIGHUP with several workers: logged, ignored (see above). Worker 0's loop; never keeps it
 * alive. */
static uv_signal_t hup;
static int hup_on;

static void on_sighup(uv_signal_t *sig, int signum) {
  (void)sig;
  (void)signum;
  mol_logw("host", "SIGHUP: reload is not supported with --workers > 1; nothing changed "
                   "(restart the host to apply the file)");
}

static void on_forward_closed(void *arg) {
  host_worker *x = arg;
  if (x->w->index == 0) {
    mol_cli__signals_close();
    if (hup_on) uv_close((uv_handle_t *)&hup, NULL);
    hup_on = 0;
  }
  mol_cli__mailbox_close(x->w); /* this worker's loop can end */
}

static void worker_done(host_worker *x) {
  x->h = NULL;
  if (x->forward) mol_http_client_close(x->forward, on_forward_closed, x);
  else on_forward_closed(x);
  x->forward = NULL;
}

static void on_host_end(mol_host *h, void *arg) {
  (void)h;
  worker_done(arg);
}

static void on_agent_end(mol_host *h, const char *name, mol_agent_end why, int err, void *arg) {
  (void)h;
  (void)arg;
  if (why == MOL_AGENT_FAILED)
    mol_logx(MOL_LOG_ERROR, "host", MOL_FIELDS(MOL_F_STR("agent", name), MOL_F_ERR(err)),
             "agent %s failed: %s", name, mol_strerror(err));
}

static int forward_to_owner(mol_http_req *r, unsigned owner, void *arg) {
  host_worker *x = arg;
  return mol_cli__forward(x->forward, r, x->w->pool->w[owner].private_port);
}

/* ---- one view of /metrics and /health ------------------------------------------------------ */

typedef struct {
  char *text;    /* the worker's metrics text (malloc'd), or NULL */
  json_t *health; /* its /health body, or NULL */
  int running;
} worker_view;

static void read_view(mol_cli__worker *w, void *slot, int is_metrics) {
  host_worker *x = w->app;
  worker_view *v = slot;
  if (!x->h) return;
  v->running = 1;
  if (is_metrics) v->text = mol_host_metrics_whole(x->h);
  else v->health = mol_host_health(x->h);
}
static void read_metrics(mol_cli__worker *w, void *slot) { read_view(w, slot, 1); }
static void read_health(mol_cli__worker *w, void *slot) { read_view(w, slot, 0); }

/* One text: the process's series once, every agent's once, the workers' counters summed. */
static void on_metrics_gathered(mol_cli__worker *home, const void *slots, unsigned n, void *arg) {
  (void)home;
  const worker_view *v = slots;
  const char **texts = calloc(n, sizeof(*texts));
  unsigned k = 0;
  for (unsigned i = 0; texts && i < n; i++)
    if (v[i].text) texts[k++] = v[i].text;
  mol_buf b = MOL_BUF_INIT;
  if (!texts) mol_http_respond(arg, 500, "text/plain", "out of memory\n", 14);
  else if (!k) mol_http_respond(arg, 503, "text/plain", "stopping\n", 9);
  else if (mol_cli__metrics_merge(texts, k, &b)) mol_http_respond(arg, 500, "text/plain", "out of memory\n", 14);
  else mol_http_respond(arg, 200, "text/plain; version=0.0.4", b.data, b.len);
  mol_buf_free(&b);
  free(texts);
  for (unsigned i = 0; i < n; i++) free(v[i].text);
}

/* Appends every element of the array src[key] to the array dst[key]. */
static void concat(json_t *dst, json_t *src, const char *key) {
  json_t *from = json_object_get(src, key);
  if (!json_array_size(from)) return;
  json_t *to = json_object_get(dst, key);
  if (!to) json_object_set_new(dst, key, to = json_array());
  json_array_extend(to, from);
}

/* One body as a one-worker host's: "agents" summed, "problems" and "paused" joined; the status
 * is "stopping" while any worker stops (or has ended), else "degraded" with any problem. */
static void on_health_gathered(mol_cli__worker *home, const void *slots, unsigned n, void *arg) {
  (void)home;
  const worker_view *v = slots;
  json_int_t live = 0;
  int stopping = 0, ok = 1;
  json_t *extra = json_object();
  for (unsigned i = 0; i < n; i++) {
    if (!v[i].running || !v[i].health) {
      stopping |= !v[i].running;
      ok &= v[i].running == 0; /* a running worker without a body: no memory */
      continue;
    }
    const char *st = json_string_value(json_object_get(v[i].health, "status"));
    stopping |= st && !strcmp(st, "stopping");
    live += json_integer_value(json_object_get(v[i].health, "agents"));
    if (extra) concat(extra, v[i].health, "problems"), concat(extra, v[i].health, "paused");
  }
  const char *status = stopping ? "stopping" : json_object_get(extra, "problems") ? "degraded" : "ok";
  json_t *o = ok && extra ? json_pack("{s:s,s:I}", "status", status, "agents", live) : NULL;
  if (o) json_object_update(o, extra);
  char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (body) mol_http_respond(arg, strcmp(status, "ok") ? 503 : 200, "application/json", body, strlen(body));
  else mol_http_respond(arg, 500, "text/plain", "out of memory\n", 14);
  free(body);
  json_decref(o);
  json_decref(extra);
  for (unsigned i = 0; i < n; i++) json_decref(v[i].health);
}

static void whole_view(mol_http_req *r, int is_metrics, void *arg) {
  host_worker *x = arg;
  if (mol_cli__gather(x->w, sizeof(worker_view), is_metrics ? read_metrics : read_health,
                      is_metrics ? on_metrics_gathered : on_health_gathered, r))
    mol_http_respond(r, 503, "text/plain", "out of memory\n", 14);
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void stop_worker(mol_cli__worker *w, void *arg) {
  (void)arg;
  host_worker *x = w->app;
  x->stopping = 1;
  if (x->h) mol_host_stop(x->h);
}

static void on_stop_signal(void *arg) {
  mol_cli__pool *p = arg;
  for (unsigned i = 0; i < p->n; i++) mol_cli__post(&p->w[i], stop_worker, NULL);
}

/* Starts worker x's host from cfg, which it takes (zeroed after). */
static int start_worker(host_worker *x, mol_host_config *cfg) {
  cfg->worker = x->w->index;
  cfg->workers = x->w->pool->n;
  cfg->forward = forward_to_owner;
  cfg->whole_view = whole_view;
  cfg->workers_arg = x;
  cfg->data_backend = mol_dp_taskdb_backend(); /* data_dir's stores in SQLite */
  mol_host_callbacks cbs = {.on_agent_end = on_agent_end, .on_end = on_host_end, .arg = x};
  int rc = mol_cli__forward_client(&x->w->loop, &x->forward);
  if (!rc) rc = mol_host_start_config(&x->w->loop, cfg, &cbs, &x->h);
  mol_host_config_free(cfg); /* zeroed when the host took it */
  if (rc) {
    x->h = NULL; /* what started winds down on its own, with no callback */
    worker_done(x);
    return rc;
  }
  x->w->private_port = mol_host_private_port(x->h);
  return 0;
}

/* Worker i's config: the one already loaded for the first, the file loaded again for the
 * others, with the listener the first one got (port 0: its choice is every worker's). */
static int worker_config(const mol_cli__host_file *f, unsigned i, mol_host_config *first,
                         int port, mol_host_config *out) {
  char err[512];
  if (i == 0) {
    *out = *first;
    memset(first, 0, sizeof(*first));
    return 0;
  }
  if (mol_host_config_load(f->path, out, err, sizeof(err))) {
    fprintf(stderr, "molecule host: %s\n", err);
    return MOL_EINVAL;
  }
  snprintf(out->listen_host, sizeof(out->listen_host), "%s", f->listen_host);
  out->listen_port = port;
  return 0;
}

int mol_cli__host_workers(mol_host_config *cfg, const char *path, unsigned n) {
  if (n > cfg->n_agents) n = (unsigned)cfg->n_agents; /* a worker without agents does nothing */
  mol_cli__host_file f = {.path = path};
  snprintf(f.listen_host, sizeof(f.listen_host), "%s", cfg->listen_host);
  mol_cli__pool *p;
  host_worker *each = calloc(n, sizeof(*each));
  if (!each || mol_cli__pool_new(n, &p)) {
    free(each);
    fprintf(stderr, "molecule host: out of memory\n");
    return 1;
  }
  int rc = 0, port = cfg->listen_port;
  unsigned i = 0;
  for (; i < n && !rc; i++) {
    each[i].w = &p->w[i];
    p->w[i].app = &each[i];
    mol_host_config wc;
    rc = worker_config(&f, i, cfg, port, &wc);
    if (rc) {
      mol_cli__mailbox_close(&p->w[i]);
      continue;
    }
    rc = start_worker(&each[i], &wc);
    if (!rc && i == 0) port = mol_host_port(each[0].h);
  }
  if (rc) {
    fprintf(stderr, "molecule host: %s\n", mol_strerror(rc));
    for (unsigned j = 0; j + 1 < i; j++) stop_worker(&p->w[j], NULL);
    for (unsigned j = i; j < n; j++) mol_cli__mailbox_close(&p->w[j]);
  } else {
    printf("listening on %s:%d\n", f.listen_host, port);
    fflush(stdout);
    mol_sd_notify("READY=1"); /* every worker listens */
    mol_logi("host", "%u workers: SIGHUP does not reload the file (not supported with --workers "
                     "> 1)", n);
    mol_cli__on_stop_signal(&p->w[0].loop, on_stop_signal, p);
    uv_signal_init(&p->w[0].loop, &hup);
    uv_signal_start(&hup, on_sighup, SIGHUP);
    uv_unref((uv_handle_t *)&hup);
    hup_on = 1;
  }
  int ran = mol_cli__pool_run(p);
  int closed = mol_cli__pool_free(p);
  free(each);
  return rc || ran || closed ? 1 : 0;
}
