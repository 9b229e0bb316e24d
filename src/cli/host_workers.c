/* host_workers.c - `molecule host --workers N` (N > 1): one mol_host per worker loop, each
 * running its shard of the agents (agent i on worker i % N: its platform client, heartbeat,
 * executor and task store all on that loop), all listening on the one port (SO_REUSEPORT).
 * A request for an agent of another worker is passed on to that worker's private listener
 * (worker_forward.c); /metrics and /health are gathered from every worker into one view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "cli/cli_util.h"
#include "cli/host_workers.h"
#include "cli/workers.h"
#include "molecule.h"
#include "runtime/host.h"

typedef struct {
  mol_cli__worker *w;
  mol_host *h;               /* NULL once ended (or when it never started) */
  mol_http_client *forward;  /* NULL once closed */
  mol_host_config cfg;       /* a shallow copy of the file's, with this worker's part */
  int stopping;
} host_worker;

static void on_forward_closed(void *arg) {
  host_worker *x = arg;
  if (x->w->index == 0) mol_cli__signals_close();
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
  if (why == MOL_AGENT_FAILED) mol_loge("host", "agent %s failed: %s", name, mol_strerror(err));
}

static int forward_to_owner(mol_http_req *r, unsigned owner, void *arg) {
  host_worker *x = arg;
  return mol_cli__forward(x->forward, r, x->w->pool->w[owner].private_port);
}

/* ---- one view of /metrics and /health ------------------------------------------------------ */

typedef struct {
  char *text;    /* the worker's metrics text (malloc'd), or NULL */
  size_t live;   /* its agents serving */
  int stopping, running;
} worker_view;

static void read_view(mol_cli__worker *w, void *slot, int with_text) {
  host_worker *x = w->app;
  worker_view *v = slot;
  if (!x->h) return;
  v->running = 1;
  v->stopping = x->stopping;
  v->live = mol_host_serving(x->h);
  if (with_text) v->text = mol_host_metrics(x->h);
}
static void read_metrics(mol_cli__worker *w, void *slot) { read_view(w, slot, 1); }
static void read_health(mol_cli__worker *w, void *slot) { read_view(w, slot, 0); }

/* The next line of *p (without its newline), or NULL at the end. */
static const char *next_line(const char **p, size_t *len) {
  if (!*p || !**p) return NULL;
  const char *l = *p, *nl = strchr(l, '\n');
  *len = nl ? (size_t)(nl - l) : strlen(l);
  *p = nl ? nl + 1 : l + *len;
  return l;
}

/* Appends one family of every worker's text: its HELP/TYPE lines once, then every worker's
 * samples; a sample without labels (molecule_host_agents) is the workers' sum. Every worker
 * writes the same families in the same order (host_metrics.c's table). */
static void merge_family(mol_buf *b, const char **cur, unsigned n) {
  unsigned long long sum = 0;
  char name[128] = "";
  for (unsigned i = 0; i < n; i++) {
    const char *l;
    size_t len;
    int body = 0;
    for (const char *save = cur[i]; (l = next_line(&cur[i], &len)) != NULL; save = cur[i]) {
      if (l[0] == '#') {
        if (body) { /* the next family */
          cur[i] = save;
          break;
        }
        if (i == 0) mol_buf_append(b, l, len), mol_buf_append(b, "\n", 1);
        continue;
      }
      body = 1;
      const char *sp = memchr(l, ' ', len);
      if (sp && !memchr(l, '{', len) && (size_t)(sp - l) < sizeof(name)) {
        snprintf(name, sizeof(name), "%.*s", (int)(sp - l), l);
        sum += strtoull(sp + 1, NULL, 10);
      } else {
        mol_buf_append(b, l, len);
        mol_buf_append(b, "\n", 1);
      }
    }
  }
  if (*name) mol_buf_printf(b, "%s %llu\n", name, sum);
}

static void on_metrics_gathered(mol_cli__worker *home, const void *slots, unsigned n, void *arg) {
  (void)home;
  const worker_view *v = slots;
  const char **cur = calloc(n, sizeof(*cur));
  unsigned k = 0;
  for (unsigned i = 0; cur && i < n; i++)
    if (v[i].text) cur[k++] = v[i].text;
  mol_buf b = MOL_BUF_INIT;
  while (k && cur[0] && *cur[0]) merge_family(&b, cur, k);
  if (!cur || !k) mol_http_respond(arg, 503, "text/plain", "stopping\n", 9);
  else mol_http_respond(arg, 200, "text/plain; version=0.0.4", b.data, b.len);
  mol_buf_free(&b);
  free(cur);
  for (unsigned i = 0; i < n; i++) free(v[i].text);
}

static void on_health_gathered(mol_cli__worker *home, const void *slots, unsigned n, void *arg) {
  (void)home;
  const worker_view *v = slots;
  size_t live = 0;
  int stopping = 0;
  for (unsigned i = 0; i < n; i++) {
    live += v[i].live;
    stopping |= v[i].stopping || !v[i].running;
  }
  char body[96];
  int len = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"agents\":%zu}",
                     stopping ? "stopping" : "ok", live);
  mol_http_respond(arg, stopping ? 503 : 200, "application/json", body, (size_t)len);
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

static int start_worker(host_worker *x, const mol_host_config *cfg) {
  x->cfg = *cfg;
  x->cfg.worker = x->w->index;
  x->cfg.workers = x->w->pool->n;
  x->cfg.forward = forward_to_owner;
  x->cfg.whole_view = whole_view;
  x->cfg.workers_arg = x;
  mol_host_callbacks cbs = {.on_agent_end = on_agent_end, .on_end = on_host_end, .arg = x};
  int rc = mol_cli__forward_client(&x->w->loop, &x->forward);
  if (!rc) rc = mol_host_start_config(&x->w->loop, &x->cfg, &cbs, &x->h);
  if (rc) {
    x->h = NULL; /* what started winds down on its own, with no callback */
    worker_done(x);
    return rc;
  }
  x->w->private_port = mol_host_private_port(x->h);
  return 0;
}

int mol_cli__host_workers(mol_host_config *cfg, unsigned n) {
  if (n > cfg->n_agents) n = (unsigned)cfg->n_agents; /* a worker without agents does nothing */
  mol_cli__pool *p;
  host_worker *each = calloc(n, sizeof(*each));
  if (!each || mol_cli__pool_new(n, &p)) {
    free(each);
    fprintf(stderr, "molecule host: out of memory\n");
    return 1;
  }
  int rc = 0;
  unsigned i = 0;
  for (; i < n && !rc; i++) {
    each[i].w = &p->w[i];
    p->w[i].app = &each[i];
    rc = start_worker(&each[i], cfg);
    /* port 0: the first worker's choice is every worker's */
    if (!rc && i == 0) cfg->listen_port = mol_host_port(each[0].h);
  }
  if (rc) {
    fprintf(stderr, "molecule host: %s\n", mol_strerror(rc));
    for (unsigned j = 0; j + 1 < i; j++) stop_worker(&p->w[j], NULL);
    for (unsigned j = i; j < n; j++) mol_cli__mailbox_close(&p->w[j]);
  } else {
    printf("listening on %s:%d\n", cfg->listen_host, cfg->listen_port);
    fflush(stdout);
    mol_cli__on_stop_signal(&p->w[0].loop, on_stop_signal, p);
  }
  int ran = mol_cli__pool_run(p);
  int closed = mol_cli__pool_free(p);
  free(each);
  return rc || ran || closed ? 1 : 0;
}
