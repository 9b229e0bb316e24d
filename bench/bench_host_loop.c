/* bench_host_loop.c - a host (the host file of `molecule host`) on a loop that measures how
 * long each loop iteration held the thread, in CPU time: the time from one prepare callback
 * to the next, on the thread's CPU clock, so waiting in epoll costs nothing and processes
 * waiting for the CPU do not count (a VM's stolen time still does). The longest iteration is
 * the longest any request waited because of another one's work (such as a /metrics scrape).
 * Usage: bench_host_loop HOST_FILE [--listen HOST:PORT]. SIGUSR1 prints, for the phase that
 * ends, "iterations=N max_ms=X over_1ms=N over_5ms=N p99_ms=X p999_ms=X total_ms=X" (counts
 * of iterations above 1 and 5 ms, percentiles and total of their CPU) and starts a new phase;
 * SIGTERM/SIGINT prints the last phase and stops the host, then the program exits 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "runtime/host.h"

#define HIST_SLOTS 2000
#define HIST_STEP_MS 0.025

typedef struct {
  uv_prepare_t prepare;
  uv_signal_t term, intr, reset;
  mol_host *host;
  double last_ms, max_ms, total_ms;
  unsigned long long iterations, over_1ms, over_5ms;
  unsigned long long hist[HIST_SLOTS]; /* iterations by CPU time, HIST_STEP_MS wide slots */
  int stopping;
} bench;

static double thread_cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_prepare(uv_prepare_t *p) {
  bench *b = p->data;
  double now = thread_cpu_ms(), held = now - b->last_ms;
  b->last_ms = now;
  b->iterations++;
  b->total_ms += held;
  size_t slot = (size_t)(held / HIST_STEP_MS);
  b->hist[slot < HIST_SLOTS ? slot : HIST_SLOTS - 1]++;
  if (held > b->max_ms) b->max_ms = held;
  b->over_1ms += held > 1;
  b->over_5ms += held > 5;
}

/* The upper bound of the slot below which a fraction q of the iterations fall. */
static double quantile(const bench *b, double q) {
  unsigned long long want = (unsigned long long)(q * (double)b->iterations), seen = 0;
  for (size_t i = 0; i < HIST_SLOTS; i++)
    if ((seen += b->hist[i]) > want) return (double)(i + 1) * HIST_STEP_MS;
  return b->max_ms;
}

static void report(const bench *b) {
  printf("iterations=%llu max_ms=%.3f over_1ms=%llu over_5ms=%llu p99_ms=%.3f p999_ms=%.3f "
         "total_ms=%.1f\n", b->iterations, b->max_ms, b->over_1ms, b->over_5ms,
         quantile(b, 0.99), quantile(b, 0.999), b->total_ms);
  fflush(stdout);
}

static void on_reset(uv_signal_t *s, int sig) {
  (void)sig;
  bench *b = s->data;
  report(b);
  b->max_ms = b->total_ms = 0;
  b->iterations = b->over_1ms = b->over_5ms = 0;
  memset(b->hist, 0, sizeof(b->hist));
  b->last_ms = thread_cpu_ms();
}

static void on_host_end(mol_host *h, void *arg) {
  (void)h;
  bench *b = arg;
  uv_close((uv_handle_t *)&b->prepare, NULL);
  uv_close((uv_handle_t *)&b->term, NULL);
  uv_close((uv_handle_t *)&b->intr, NULL);
  uv_close((uv_handle_t *)&b->reset, NULL);
}

static void on_stop(uv_signal_t *s, int sig) {
  (void)sig;
  bench *b = s->data;
  if (b->stopping++) return;
  report(b);
  uv_prepare_stop(&b->prepare);
  mol_host_stop(b->host);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_host_loop HOST_FILE [--listen HOST:PORT]\n");
    return 2;
  }
  mol_host_config cfg;
  char err[512];
  if (mol_host_config_load(argv[1], &cfg, err, sizeof(err))) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  if (argc > 3 && !strcmp(argv[2], "--listen")) {
    const char *colon = strrchr(argv[3], ':');
    if (!colon) return 2;
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "%.*s", (int)(colon - argv[3]), argv[3]);
    cfg.listen_port = atoi(colon + 1);
  }
  static bench b;
  uv_loop_t *loop = uv_default_loop();
  mol_host_callbacks cbs = {.on_end = on_host_end, .arg = &b};
  int rc = mol_host_start_config(loop, &cfg, &cbs, &b.host);
  mol_host_config_free(&cfg);
  if (rc) {
    fprintf(stderr, "host: %s\n", mol_strerror(rc));
    return 1;
  }
  uv_prepare_init(loop, &b.prepare);
  uv_signal_init(loop, &b.term);
  uv_signal_init(loop, &b.intr);
  uv_signal_init(loop, &b.reset);
  b.prepare.data = b.term.data = b.intr.data = b.reset.data = &b;
  uv_prepare_start(&b.prepare, on_prepare);
  uv_signal_start(&b.term, on_stop, SIGTERM);
  uv_signal_start(&b.intr, on_stop, SIGINT);
  uv_signal_start(&b.reset, on_reset, SIGUSR1);
  b.last_ms = thread_cpu_ms();
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
