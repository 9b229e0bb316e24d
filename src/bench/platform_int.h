/* platform_int.h - the simulated agents' state, shared by platform.c (the schedule and the
 * calls) and platform_setup.c (workspaces, clients, the echo agent, teardown). */
#ifndef MOL_BENCH_PLATFORM_INT_H
#define MOL_BENCH_PLATFORM_INT_H

#include <uv.h>

#include "a2a_uv/executor.h"
#include "a2a_uv/server.h"
#include "bench/platform.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"
#include "molecule/uv.h"

typedef struct mol_bench_plat mol_bench_plat;

typedef struct {
  mol_bench_plat *p;
  mol_platform_client *c;
  uv_timer_t hb_timer, poll_timer;
  uint64_t hb_due, poll_due;     /* the scheduled moment of the next call */
  uint64_t hb_sent, poll_sent;   /* the scheduled moment of the call in flight */
  int hb_busy, poll_busy;
  char id[64], token[160], token_dir[200];
} mol_bench_agent;

struct mol_bench_plat {
  uv_loop_t loop;
  mol_bench_platform_opts o;
  mol_bench_platform_result *res;
  mol_bench_agent *agents;
  unsigned n;
  mol_http_client *http;         /* creating workspaces */
  mol_http_server *echo_http;    /* the agent the A2A calls reach */
  mol_a2a_server *echo_a2a;
  mol_a2a_executor echo;
  int echo_made;
  char echo_url[128];
  char dir[64];                  /* token directories, removed at the end */
  uv_timer_t tick, progress;
  uint64_t t0, from, to;
  uint64_t a2a_issued, a2a_in_flight, in_flight;
  int stopping;
  unsigned registered, reg_done;
};

/* platform_setup.c */
int mol_bench__plat_workspaces(mol_bench_plat *p, char *err, size_t errlen);
int mol_bench__plat_echo_agent(mol_bench_plat *p, char *err, size_t errlen);
int mol_bench__plat_clients(mol_bench_plat *p, char *err, size_t errlen);
void mol_bench__plat_teardown(mol_bench_plat *p);
/* Sorts a platform call's failure into a reply for the stats. */
void mol_bench__plat_reply(int err, const mol_platform_result *res, mol_bench_reply *out);

#endif
