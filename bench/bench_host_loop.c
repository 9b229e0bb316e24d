/* bench_host_loop.c - a host (the host file of `molecule host`) on a loop that measures how
 * long each loop iteration held the thread, in CPU time: the time from one prepare callback
 * to the next, on the thread's CPU clock, so waiting in epoll costs nothing and the other
 * processes of a shared machine do not count either. The longest iteration is the longest any
 * request waited because of another one's work (such as a /metrics scrape).
 * Usage: bench_host_loop HOST_FILE [--listen HOST:PORT]. Runs until SIGTERM/SIGINT, then
 * prints "iterations=N max_ms=X over_1ms=N over_5ms=N" (the count of iterations above 1 and
 * 5 ms) and exits 0. SIGUSR1 resets the counters (start of a measured phase). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "runtime/host.h"

typedef struct {
  uv_prepare_t prepare;
  uv_signal_t term, intr, reset;
  mol_host *host;
  double last_ms, max_ms;
  unsigned long long iterations, over_1ms, over_5ms;
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
  if (held > b->max_ms) b->max_ms = held;
  b->over_1ms += held > 1;
  b->over_5ms += held > 5;
}

static void on_reset(uv_signal_t *s, int sig) {
  (void)sig;
  bench *b = s->data;
  b->max_ms = 0;
  b->iterations = b->over_1ms = b->over_5ms = 0;
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
  printf("iterations=%llu max_ms=%.3f over_1ms=%llu over_5ms=%llu\n", b->iterations, b->max_ms,
         b->over_1ms, b->over_5ms);
  fflush(stdout);
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
