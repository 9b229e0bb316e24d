/* host_int.h - the host's insides, shared by host.c (start, stop, the public lifecycle),
 * host_ops.c (revive after a pause, reload, /health) and host_metrics.c (/metrics). */
#ifndef MOL_RUNTIME_HOST_INT_H
#define MOL_RUNTIME_HOST_INT_H

#include <stddef.h>

#include "base/holds.h"
#include "molecule/host.h"
#include "http/server.h"
#include "runtime/host.h"

/* A config the host runs agents from: the one it started with (borrowed from the caller, or
 * the public host's own), then each reload's (owned). Agents' options point into it, so it
 * lives as long as a slot refers to it or it is the current one. */
typedef struct {
  const mol_host_config *cfg;
  mol_host_config *owned;      /* a reload's: freed with the generation */
  unsigned refs;
} mol_host__gen;

struct mol_revive;

/* One agent name and what runs under it. Slots are never moved (the agent's callbacks hold a
 * pointer) and never removed before the host is freed; a slot removed by a reload is retired
 * and taken again if a later reload brings the name back. */
typedef struct {
  mol_host *h;
  char *name;
  mol_agent *agent;            /* NULL while not running */
  const mol_host_agent_conf *conf;  /* what it runs, in gen */
  mol_host__gen *gen;
  const mol_host_agent_conf *next_conf; /* a reload changed it: start this once it has ended */
  mol_host__gen *next_gen;
  struct mol_revive *revive;   /* watching its paused workspace */
  int ended;                   /* its agent ended (why, err) and has not started again */
  mol_agent_end why;
  int err;
  int retired;                 /* removed by a reload */
  /* The counters at the end, so /metrics keeps them; allocated then (a live agent's are read
   * from it), as most of a large host's agents never end before it does; reused when it ends
   * again after a resume or a reload. NULL: never ended, or no memory to keep them. */
  mol_agent_stats *last;
} mol_host__slot;

struct mol_host {
  uv_loop_t *loop;
  mol_http_server *http;       /* NULL once closed */
  mol_http_client *client;     /* NULL once closed */
  mol_host__slot **slots;
  size_t n, cap, live;
  mol_host__gen *gen;          /* the current config */
  mol_host_callbacks cbs;
  int stopping, failed_start;
  /* The public handle (molecule/host.h): created before it starts and freed only by
   * mol_host_close, whose callback fires once everything has wound down. */
  int is_public, started, close_requested;
  mol_host_config cfg;         /* owned from mol_host_create until the host is freed */
  /* --workers: the other workers' agents (name -> owner) and where their requests go */
  json_t *foreign;
  unsigned worker, workers;
  unsigned listener_grace_ms;  /* how long the listener's last requests may take at the end */
  int (*forward)(mol_http_req *r, unsigned owner, void *arg);
  void (*whole_view)(mol_http_req *r, int is_metrics, void *arg);
  void *workers_arg;
  mol_host_agent_end_cb on_agent_end;
  void *agent_end_arg;
  mol_host_close_cb close_cb;
  void *close_arg;
  uv_timer_t last;             /* the holds' last handle: only ever closed */
  mol_holds holds;             /* the running host's until its wind-down has begun closing the
                                  listener and the client, each of which holds it until
                                  closed; a public host's caller's until mol_host_close; each
                                  revive watcher's until it has closed */
};

/* host.c: starts s's agent from s->conf (0, or the error, logged). */
int mol_host__slot_start(mol_host *h, mol_host__slot *s);

/* host_ops.c */
mol_host__gen *mol_host__gen_new(const mol_host_config *cfg, mol_host_config *owned);
void mol_host__gen_release(mol_host__gen *g);
/* A slot for conf's name (a retired one of that name taken again), holding a ref on gen. */
mol_host__slot *mol_host__slot_add(mol_host *h, const mol_host_agent_conf *conf, mol_host__gen *gen);
void mol_host__slot_free(mol_host__slot *s);
/* s's agent ended while the host runs: start its reloaded conf, or watch a paused workspace. */
void mol_host__after_end(mol_host *h, mol_host__slot *s);
/* The host stops: watchers are canceled, pending reloads dropped. */
void mol_host__ops_stop(mol_host *h);
/* Answers GET /health (host_ops.c documents the body; mol_host_health builds it). */
void mol_host__health_serve(mol_http_req *r, mol_host *h);

/* The agents the host was started with (0 before a start), and how many still serve. */
size_t mol_host__agents(const mol_host *h);
size_t mol_host__live(const mol_host *h);
/* Agent i's counters, live or as they were when it ended, named after it; returns 1 while it
 * serves, 0 once it ended. */
int mol_host__agent_stats(const mol_host *h, size_t i, mol_agent_stats *out);
uv_loop_t *mol_host__loop(const mol_host *h);
/* The host stays allocated while a hold is taken (a /metrics body still being written). */
mol_holds *mol_host__holds(mol_host *h);

/* Answers GET /metrics: the body streamed in chunks between loop iterations. */
void mol_host__metrics_serve(mol_http_req *r, mol_host *h);

#endif
