/* platform.h - `molecule bench --platform URL`: N simulated agents against a Molecule platform
 * (the development platform or a real one), on one loop and one connection pool: each
 * registers, heartbeats at an interval, polls its state, and optionally sends A2A messages to
 * another simulated agent through the platform's proxy, answered by an echo agent this process
 * serves itself. Heartbeats and polls are scheduled (spread over the interval) and timed from
 * their scheduled moment, like the open loop of run.h; one still in flight when the next is due
 * counts as an 'overload' error. */
#ifndef MOL_BENCH_PLATFORM_H
#define MOL_BENCH_PLATFORM_H

#include <signal.h>

#include "bench/stats.h"

typedef struct {
  const char *platform_url;
  unsigned agents;           /* 0 -> 100 */
  const char *tokens_file;   /* "<workspace id> <token>" lines; NULL: create the workspaces */
  const char *admin_token;   /* bearer for creating workspaces (NULL: none, as the dev
                                platform on loopback accepts) */
  unsigned heartbeat_ms;     /* 0 -> 1000 */
  unsigned poll_ms;          /* GET state interval; 0 -> 5000 */
  int no_poll;
  double a2a_rate;           /* A2A messages per second through the proxy, in all; 0: none */
  const char *agent_url;     /* the URL agents register (NULL: this process's echo agent) */
  double duration_s;         /* 0 -> 10 */
  double warmup_s;
  unsigned timeout_ms;       /* per call; 0 -> 10000 */
  unsigned connections;      /* pooled connections to the platform; 0 -> 64 */
  int progress;
  const volatile sig_atomic_t *interrupt; /* optional: set (by a signal handler) to end the window now */
} mol_bench_platform_opts;

enum { MOL_BENCH_P_REGISTER, MOL_BENCH_P_HEARTBEAT, MOL_BENCH_P_STATE, MOL_BENCH_P_A2A,
       MOL_BENCH_P_N };

typedef struct {
  double elapsed_s;
  unsigned agents;
  long rss_max_kb;
  mol_bench_stats kind[MOL_BENCH_P_N];
} mol_bench_platform_result;

/* "register", "heartbeat", "state", "a2a". */
const char *mol_bench_platform_kind_name(int k);

/* Runs it; 0 with *out filled, or a negative error with a message in err. */
int mol_bench_platform_run(const mol_bench_platform_opts *o, mol_bench_platform_result *out,
                           char *err, size_t errlen);

#endif
