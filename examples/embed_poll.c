/* embed_poll.c - molecule inside someone else's event loop.
 *
 * The application owns a plain poll() loop. molecule runs on a mol_loop that the application
 * drives through its backend fd and timeout (the curl multi-socket idea): poll the fd, sleep
 * at most the timeout, then let molecule run once without blocking. A worker thread talks to
 * molecule through the one thread-safe entry, mol_loop_post().
 *
 * What it does: registers a workspace with a Molecule platform, heartbeats three times, and
 * exits 0. Usage: embed_poll PLATFORM_URL WORKSPACE_ID [TOKEN_DIR] */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <molecule.h>
#include <molecule/uv.h>

typedef struct {
  mol_loop *loop;
  mol_platform_client *platform;
  int registered, done, exit_code, posted, closed;
} app;

static void on_loop_end(mol_platform_status st, int err, const char *server_status, void *arg) {
  app *a = arg;
  printf("heartbeat loop ended: status %d, %s, platform says %s\n", (int)st,
         err ? mol_strerror(err) : "ok", server_status ? server_status : "-");
  a->exit_code = st == MOL_PLATFORM_MAX_ITERATIONS ? 0 : 1;
  a->done = 1;
}

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  app *a = arg;
  if (err) {
    fprintf(stderr, "register failed: %s (HTTP %d)\n", mol_strerror(err), res ? res->http_status : 0);
    a->exit_code = 1;
    a->done = 1;
    return;
  }
  a->registered = 1;
  printf("registered\n");
  mol_platform_run_opts ro = {.heartbeat_interval_ms = 200, .max_heartbeats = 3};
  if (mol_platform_run(a->platform, &ro, on_loop_end, a) != 0) a->done = 1;
}

/* Runs on the loop thread, posted from the worker thread. */
static void on_posted(void *arg, int status) {
  app *a = arg;
  if (status == 0) a->posted = 1;
}

static void *worker(void *arg) {
  app *a = arg;
  mol_loop_post(a->loop, on_posted, a); /* the only call any thread may make */
  return NULL;
}

static int start(app *a, const char *url, const char *ws, const char *token_dir) {
  mol_platform_opts po = {.platform_url = url, .workspace_id = ws, .token_dir = token_dir};
  int rc = mol_platform_client_new(mol_loop_uv(a->loop), &po, &a->platform);
  if (rc) return rc;
  mol_platform_register_opts ro = {.reported_url = "remote://embedded-example"};
  return mol_platform_register(a->platform, &ro, NULL, on_registered, a, NULL);
}

static void on_client_closed(void *arg) { ((app *)arg)->closed = 1; }

static void run_once(app *a) {
  struct pollfd p = {.fd = mol_loop_backend_fd(a->loop), .events = POLLIN};
  poll(&p, 1, mol_loop_backend_timeout(a->loop));
  mol_loop_run(a->loop, MOL_RUN_NOWAIT);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PLATFORM_URL WORKSPACE_ID [TOKEN_DIR]\n", argv[0]);
    return 2;
  }
  app a = {.exit_code = 1};
  if (mol_loop_new(&a.loop) != 0) return 1;
  int rc = start(&a, argv[1], argv[2], argc > 3 ? argv[3] : NULL);
  if (rc) {
    fprintf(stderr, "start: %s\n", mol_strerror(rc));
    return 1;
  }
  pthread_t th;
  pthread_create(&th, NULL, worker, &a);
  while (!a.done) run_once(&a); /* the application's own loop */
  pthread_join(th, NULL);
  /* Closing is asynchronous too: keep driving the loop until the close callback says so. */
  mol_platform_client_close(a.platform, on_client_closed, &a);
  while (!a.closed) run_once(&a);
  mol_loop_close(a.loop);
  printf("posted from a thread: %s\n", a.posted ? "yes" : "no");
  return a.posted ? a.exit_code : 1;
}
