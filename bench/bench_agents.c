/* bench_agents - many platform clients in one process on one loop, heartbeating against a
 * development platform that runs in another process (issue 4).
 *
 *   bench_agents create --platform URL --n N --out FILE
 *       creates N external workspaces through the admin API (dev mode, loopback: no admin
 *       token needed) and writes "<id> <token>" lines to FILE.
 *   bench_agents run --platform URL --tokens FILE [--clients N] [--seconds S] [--burst B]
 *                    [--burst-ticks K]
 *       1. N clients (one shared HTTP pool) register, then each heartbeats once a second from
 *          its own timer, the timers spread evenly over the second. After a 2 s warm-up, S
 *          seconds are measured: client CPU per heartbeat = this process's CPU seconds /
 *          heartbeats completed; RSS per client = (RSS now - RSS before the clients) / N.
 *       2. Burst: the spread timers stop; every second B clients heartbeat on the same tick,
 *          K times. Per tick: the time until the last of the B answers (drain) and how many
 *          were still unanswered when the next tick came (behind).
 *   Output: key=value lines, parsed by bench/agents/run.sh. Exits 1 if a registration or a
 *   heartbeat failed, or a burst tick fell behind.
 */
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "http/client.h"
#include "molecule.h"
#include "molecule/uv.h"

typedef struct {
  mol_platform_client *c;
  uv_timer_t timer;
  int in_flight;
  uint64_t sent_ns;
} agent;

static struct {
  uv_loop_t loop;
  const char *platform;
  agent *agents;
  char (*ids)[40];
  char (*tokens)[80];
  size_t n;
  size_t ok, failed, behind, registered, reg_failed;
  size_t burst_pending;
  uint64_t burst_last_ns;
  char token_dir[64];
} B;

/* ---- measurements -------------------------------------------------------------------------- */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void on_wake(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs the loop for ms milliseconds. */
static void run_for(unsigned ms) {
  uv_timer_t t;
  int done = 0;
  uv_timer_init(&B.loop, &t);
  t.data = &done;
  uv_timer_start(&t, on_wake, ms, 0);
  while (!done) uv_run(&B.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&B.loop, UV_RUN_NOWAIT);
}

/* ---- create: workspaces through the admin API ---------------------------------------------- */

static struct {
  mol_http_client *http;
  FILE *out;
  size_t next, done, failed;
  char url[256];
} C;

static void create_one(void);

static void on_created(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  (void)arg;
  json_t *b = !err && resp->status == 201 ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
  const char *id = json_string_value(json_object_get(b, "id"));
  const char *tok = json_string_value(json_object_get(json_object_get(b, "connection"), "auth_token"));
  if (id && tok) fprintf(C.out, "%s %s\n", id, tok);
  else C.failed++;
  json_decref(b);
  C.done++;
  create_one();
}

static void create_one(void) {
  if (C.next >= B.n) return;
  char body[96];
  int len = snprintf(body, sizeof body, "{\"name\":\"bench-agent-%zu\",\"external\":true}", C.next++);
  mol_http_header h[1] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = "POST", .url = C.url, .headers = h, .nheaders = 1,
                             .body = body, .body_len = (size_t)len, .total_timeout_ms = 30000};
  if (mol_http_request_send(C.http, &o, on_created, NULL, NULL)) {
    C.failed++;
    C.done++;
  }
}

static void on_closed_flag(void *arg) { *(int *)arg = 1; }

static int cmd_create(const char *out) {
  C.out = fopen(out, "w");
  if (!C.out) {
    perror(out);
    return 1;
  }
  snprintf(C.url, sizeof C.url, "%s/workspaces", B.platform);
  if (mol_http_client_new(&B.loop, NULL, &C.http)) return 1;
  for (int i = 0; i < 16; i++) create_one(); /* 16 in flight: the pool's connections */
  while (C.done < B.n) uv_run(&B.loop, UV_RUN_ONCE);
  int closed = 0;
  mol_http_client_close(C.http, on_closed_flag, &closed);
  while (!closed) uv_run(&B.loop, UV_RUN_ONCE);
  fclose(C.out);
  printf("created=%zu failed=%zu\n", B.n - C.failed, C.failed);
  return C.failed ? 1 : 0;
}

/* ---- run: clients ------------------------------------------------------------------------- */

static int read_tokens(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return 1;
  }
  B.ids = calloc(B.n, sizeof(*B.ids));
  B.tokens = calloc(B.n, sizeof(*B.tokens));
  size_t i = 0;
  while (B.ids && B.tokens && i < B.n && fscanf(f, "%39s %79s", B.ids[i], B.tokens[i]) == 2) i++;
  fclose(f);
  if (i < B.n) {
    fprintf(stderr, "bench_agents: %s has %zu workspaces, %zu wanted\n", path, i, B.n);
    return 1;
  }
  return 0;
}

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  (void)arg;
  if (err) fprintf(stderr, "bench_agents: register: %s (HTTP %d)\n", mol_strerror(err), res->http_status);
  if (err) B.reg_failed++;
  else B.registered++;
}

static int make_clients(void) {
  for (size_t i = 0; i < B.n; i++) {
    /* The pool is shared by every client on the loop; the first client sizes it. 64
     * connections carry 10,000 heartbeats a second with room to spare. */
    mol_platform_opts o = {.platform_url = B.platform, .workspace_id = B.ids[i],
                           .token = B.tokens[i], .token_dir = B.token_dir,
                           .pool_max_conns = 64, .pool_max_queued = 4 * (unsigned)B.n + 1000};
    int rc = mol_platform_client_new(&B.loop, &o, &B.agents[i].c);
    if (!rc) rc = mol_platform_register(B.agents[i].c, NULL, NULL, on_registered, NULL, NULL);
    if (rc) {
      fprintf(stderr, "bench_agents: client %zu: %s\n", i, mol_strerror(rc));
      return 1;
    }
    uv_timer_init(&B.loop, &B.agents[i].timer);
    B.agents[i].timer.data = &B.agents[i];
  }
  while (B.registered + B.reg_failed < B.n) uv_run(&B.loop, UV_RUN_ONCE);
  return B.reg_failed ? 1 : 0;
}

static void on_beat(int err, const mol_platform_result *res, void *arg) {
  agent *a = arg;
  a->in_flight = 0;
  if (err) {
    if (B.failed++ < 5)
      fprintf(stderr, "bench_agents: heartbeat: %s (HTTP %d)\n", mol_strerror(err), res->http_status);
  } else {
    B.ok++;
  }
  if (B.burst_pending && --B.burst_pending == 0) B.burst_last_ns = uv_hrtime();
}

static void beat(agent *a) {
  if (a->in_flight) { /* the previous heartbeat has not come back within its second */
    B.behind++;
    return;
  }
  a->in_flight = 1;
  if (mol_platform_heartbeat(a->c, NULL, NULL, on_beat, a, NULL)) {
    a->in_flight = 0;
    B.failed++;
  }
}

static void on_timer(uv_timer_t *t) { beat(t->data); }

/* Phase 1: every client on its own 1 s timer, spread evenly over the second. */
static void steady(unsigned seconds, long rss0) {
  for (size_t i = 0; i < B.n; i++)
    uv_timer_start(&B.agents[i].timer, on_timer, (uint64_t)(i * 1000 / B.n), 1000);
  run_for(2000); /* warm-up: the pool's connections are open, every client has beaten */
  size_t ok0 = B.ok;
  double c0 = cpu_s();
  uint64_t t0 = uv_hrtime();
  run_for(seconds * 1000);
  double cpu = cpu_s() - c0, wall = (uv_hrtime() - t0) / 1e9;
  size_t beats = B.ok - ok0;
  long rss1 = rss_kb();
  for (size_t i = 0; i < B.n; i++) uv_timer_stop(&B.agents[i].timer);
  printf("phase=steady clients=%zu seconds=%.1f heartbeats=%zu hb_per_s=%.0f cpu_us_per_hb=%.2f "
         "client_cpu_pct=%.1f rss_base_kb=%ld rss_kb=%ld rss_per_client_b=%.0f failed=%zu behind=%zu\n",
         B.n, wall, beats, beats / wall, cpu * 1e6 / (beats ? beats : 1), cpu * 100 / wall, rss0,
         rss1, (rss1 - rss0) * 1024.0 / B.n, B.failed, B.behind);
  fflush(stdout);
}

static void wait_idle(void) {
  for (size_t i = 0; i < B.n; i++)
    while (B.agents[i].in_flight) uv_run(&B.loop, UV_RUN_ONCE);
}

/* Phase 2: `burst` clients heartbeat on the same tick, once a second, `ticks` times. */
static int burst(size_t burst, unsigned ticks) {
  wait_idle();
  double max_ms = 0, sum_ms = 0;
  size_t behind = 0, ok0 = B.ok;
  double c0 = cpu_s();
  for (unsigned k = 0; k < ticks; k++) {
    uint64_t t0 = uv_hrtime();
    B.burst_pending = burst;
    for (size_t i = 0; i < burst; i++) beat(&B.agents[i]);
    run_for(1000); /* the next tick */
    double ms = B.burst_pending ? 1000.0 : (B.burst_last_ns - t0) / 1e6;
    behind += B.burst_pending;
    B.burst_pending = 0;
    wait_idle();
    if (ms > max_ms) max_ms = ms;
    sum_ms += ms;
  }
  double cpu = cpu_s() - c0;
  size_t beats = B.ok - ok0;
  printf("phase=burst clients=%zu ticks=%u drain_ms_mean=%.1f drain_ms_max=%.1f behind=%zu "
         "heartbeats=%zu cpu_us_per_hb=%.2f failed=%zu\n",
         burst, ticks, sum_ms / ticks, max_ms, behind, beats, cpu * 1e6 / (beats ? beats : 1),
         B.failed);
  fflush(stdout);
  return behind ? 1 : 0;
}

static void close_clients(void) {
  for (size_t i = 0; i < B.n; i++) {
    uv_close((uv_handle_t *)&B.agents[i].timer, NULL);
    mol_platform_client_close(B.agents[i].c, NULL, NULL);
  }
  uv_run(&B.loop, UV_RUN_DEFAULT);
}

static int cmd_run(const char *tokens, unsigned seconds, size_t nburst, unsigned ticks) {
  if (read_tokens(tokens)) return 1;
  B.agents = calloc(B.n, sizeof(*B.agents));
  if (!B.agents) return 1;
  /* never written: the tokens come with the options and the workspaces already have them */
  snprintf(B.token_dir, sizeof B.token_dir, "/tmp/bench-agents-%d", (int)getpid());
  run_for(10);
  long rss0 = rss_kb();
  if (make_clients()) return 1;
  printf("phase=register clients=%zu registered=%zu failed=%zu\n", B.n, B.registered, B.reg_failed);
  steady(seconds, rss0);
  int rc = nburst ? burst(nburst > B.n ? B.n : nburst, ticks) : 0;
  close_clients();
  return rc || B.failed || B.behind ? 1 : 0;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_agents create --platform URL --n N --out FILE\n"
                  "       bench_agents run --platform URL --tokens FILE [--clients N=10000]\n"
                  "                        [--seconds S=10] [--burst B=1000] [--burst-ticks K=5]\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"platform", required_argument, NULL, 'p'}, {"n", required_argument, NULL, 'n'},
      {"clients", required_argument, NULL, 'n'},  {"out", required_argument, NULL, 'o'},
      {"tokens", required_argument, NULL, 't'},   {"seconds", required_argument, NULL, 's'},
      {"burst", required_argument, NULL, 'b'},    {"burst-ticks", required_argument, NULL, 'k'},
      {NULL, 0, NULL, 0}};
  if (argc < 2) {
    usage();
    return 2;
  }
  const char *cmd = argv[1], *out = NULL, *tokens = NULL;
  unsigned seconds = 10, ticks = 5;
  size_t nburst = 1000;
  int c;
  B.n = 10000;
  optind = 2;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': B.platform = optarg; break;
    case 'n': B.n = strtoul(optarg, NULL, 10); break;
    case 'o': out = optarg; break;
    case 't': tokens = optarg; break;
    case 's': seconds = (unsigned)atoi(optarg); break;
    case 'b': nburst = strtoul(optarg, NULL, 10); break;
    case 'k': ticks = (unsigned)atoi(optarg); break;
    default: usage(); return 2;
    }
  }
  if (!B.platform || !B.n) {
    usage();
    return 2;
  }
  mol_log_set_level(MOL_LOG_ERROR);
  uv_loop_init(&B.loop);
  int rc;
  if (strcmp(cmd, "create") == 0 && out) rc = cmd_create(out);
  else if (strcmp(cmd, "run") == 0 && tokens) rc = cmd_run(tokens, seconds, nburst, ticks);
  else {
    usage();
    return 2;
  }
  uv_run(&B.loop, UV_RUN_DEFAULT);
  uv_loop_close(&B.loop);
  return rc;
}
