/* workers.c - the worker pool of `--workers N` (workers.h): loops, threads, mailboxes. */
#include "cli/workers.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"

struct mol_cli__msg {
  mol_cli__msg_fn fn;
  void *arg;
  mol_cli__msg *next;
};

unsigned mol_cli__cpu_count(void) {
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  if (n < 1) n = 1;
  return n > MOL_CLI_MAX_WORKERS ? MOL_CLI_MAX_WORKERS : (unsigned)n;
}

unsigned mol_cli__workers_arg(const char *cmd, const char *arg) {
  if (strcmp(arg, "auto") == 0) return mol_cli__cpu_count();
  char *end;
  long v = strtol(arg, &end, 10);
  if (*arg && !*end && v >= 1 && v <= MOL_CLI_MAX_WORKERS) return (unsigned)v;
  fprintf(stderr, "molecule %s: --workers wants a whole number from 1 to %d or 'auto', not '%s'\n",
          cmd, MOL_CLI_MAX_WORKERS, arg);
  return 0;
}

/* Runs what was posted, in order; each message is taken off the queue under the lock and run
 * outside it. */
static void on_mail(uv_async_t *a) {
  mol_cli__worker *w = a->data;
  for (;;) {
    uv_mutex_lock(&w->lock);
    mol_cli__msg *m = w->head;
    if (m && !(w->head = m->next)) w->tail = NULL;
    uv_mutex_unlock(&w->lock);
    if (!m) return;
    m->fn(w, m->arg);
    free(m);
  }
}

int mol_cli__post(mol_cli__worker *to, mol_cli__msg_fn fn, void *arg) {
  mol_cli__msg *m = malloc(sizeof(*m));
  if (!m) return MOL_ENOMEM;
  *m = (mol_cli__msg){.fn = fn, .arg = arg};
  uv_mutex_lock(&to->lock);
  int closed = to->closed;
  if (!closed) {
    if (to->tail) to->tail->next = m;
    else to->head = m;
    to->tail = m;
    uv_async_send(&to->async); /* under the lock: the handle cannot be closing meanwhile */
  }
  uv_mutex_unlock(&to->lock);
  if (closed) free(m);
  return closed ? MOL_ESHUTDOWN : 0;
}

void mol_cli__mailbox_close(mol_cli__worker *w) {
  uv_mutex_lock(&w->lock);
  int was = w->closed;
  w->closed = 1;
  uv_mutex_unlock(&w->lock);
  if (was) return;
  on_mail(&w->async); /* what was posted before the close still runs */
  uv_close((uv_handle_t *)&w->async, NULL);
  w->async_open = 0;
}

int mol_cli__pool_new(unsigned n, mol_cli__pool **out) {
  mol_cli__pool *p = calloc(1, sizeof(*p));
  if (!p || !(p->w = calloc(n, sizeof(*p->w)))) {
    free(p);
    return MOL_ENOMEM;
  }
  p->n = n;
  for (unsigned i = 0; i < n; i++) {
    mol_cli__worker *w = &p->w[i];
    w->pool = p;
    w->index = i;
    uv_loop_init(&w->loop);
    uv_mutex_init(&w->lock);
    uv_async_init(&w->loop, &w->async, on_mail);
    w->async.data = w;
    w->async_open = 1;
  }
  *out = p;
  return 0;
}

static void run_loop(void *arg) {
  mol_cli__worker *w = arg;
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

int mol_cli__pool_run(mol_cli__pool *p) {
  int rc = 0;
  for (unsigned i = 1; i < p->n; i++) {
    mol_cli__worker *w = &p->w[i];
    int err = uv_thread_create(&w->thread, run_loop, w);
    if (err && !rc) rc = err;
    w->thread_started = err == 0;
  }
  run_loop(&p->w[0]);
  for (unsigned i = 1; i < p->n; i++) {
    mol_cli__worker *w = &p->w[i];
    if (w->thread_started) uv_thread_join(&w->thread);
    else run_loop(w); /* never started: its loop still has to wind down here */
  }
  return rc;
}

int mol_cli__pool_free(mol_cli__pool *p) {
  int ok = 1;
  for (unsigned i = 0; i < p->n; i++) {
    mol_cli__worker *w = &p->w[i];
    if (w->async_open) mol_cli__mailbox_close(w);
    uv_run(&w->loop, UV_RUN_DEFAULT); /* the mailbox's close callback */
    if (uv_loop_close(&w->loop) != 0) ok = 0;
    uv_mutex_destroy(&w->lock);
  }
  free(p->w);
  free(p);
  return ok ? 0 : 1;
}

/* ---- gathering one value from every worker --------------------------------------------- */

typedef struct {
  mol_cli__worker *home;
  size_t size;
  mol_cli__read_fn read;
  mol_cli__gathered_fn done;
  void *arg;
  unsigned pending; /* touched on the home thread only */
  char *slots;      /* n slots of size bytes; slot i written by worker i's thread only */
} gather;

typedef struct {
  gather *g;
  unsigned from;
} gather_item;

static void gather_finish(gather *g) {
  g->done(g->home, g->slots, g->home->pool->n, g->arg);
  free(g->slots);
  free(g);
}

static void on_gather_reply(mol_cli__worker *home, void *arg) {
  (void)home;
  gather_item *it = arg;
  gather *g = it->g;
  free(it);
  if (--g->pending == 0) gather_finish(g);
}

static void on_gather_ask(mol_cli__worker *w, void *arg) {
  gather_item *it = arg;
  it->g->read(w, it->g->slots + it->from * it->g->size);
  /* The home worker is alive: it is still answering the request that asked. */
  if (mol_cli__post(it->g->home, on_gather_reply, it) != 0) free(it);
}

int mol_cli__gather(mol_cli__worker *home, size_t size, mol_cli__read_fn read,
                    mol_cli__gathered_fn done, void *arg) {
  unsigned n = home->pool->n;
  gather *g = calloc(1, sizeof(*g));
  if (!g || !(g->slots = calloc(n, size))) {
    free(g);
    return MOL_ENOMEM;
  }
  *g = (gather){home, size, read, done, arg, 1, g->slots};
  for (unsigned i = 0; i < n; i++) {
    if (i == home->index) continue;
    gather_item *it = malloc(sizeof(*it));
    if (!it) continue; /* that worker's slot stays zero */
    *it = (gather_item){g, i};
    g->pending++;
    if (mol_cli__post(&home->pool->w[i], on_gather_ask, it) != 0) { /* it has stopped */
      g->pending--;
      free(it);
    }
  }
  read(home, g->slots + home->index * size);
  if (--g->pending == 0) gather_finish(g); /* the others answer on later loop turns */
  return 0;
}
