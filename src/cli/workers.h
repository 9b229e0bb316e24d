/* workers.h - `--workers N`: N event loops, one per thread, each with its own listener on the
 * one public port (SO_REUSEPORT: the kernel spreads the connections) and its own shard of the
 * work. Loops share nothing on the hot path: they talk only through mailboxes (a uv_async and
 * a short locked queue), used off it (forwarding a request to the worker that owns its task,
 * gathering /metrics, stopping). Each worker also listens on a private loopback port of its
 * own, where the others hand it requests about what it owns (worker_forward.c). */
#ifndef MOL_CLI_WORKERS_H
#define MOL_CLI_WORKERS_H

#include <uv.h>

#include "http/client.h"
#include "http/server.h"

#define MOL_CLI_MAX_WORKERS 256 /* a task id names its worker in two hex digits */

typedef struct mol_cli__pool mol_cli__pool;
typedef struct mol_cli__worker mol_cli__worker;
typedef struct mol_cli__msg mol_cli__msg;

/* A message runs fn(w, arg) on worker w's loop thread. */
typedef void (*mol_cli__msg_fn)(mol_cli__worker *w, void *arg);

struct mol_cli__worker {
  mol_cli__pool *pool;
  unsigned index;
  uv_loop_t loop;
  int private_port;  /* the loopback listener other workers hand requests to; 0 = none */
  void *app;         /* the command's state for this worker */
  /* private to workers.c */
  uv_async_t async;
  uv_mutex_t lock;
  mol_cli__msg *head, *tail;
  int closed, async_open;
  uv_thread_t thread;
  int thread_started;
};

struct mol_cli__pool {
  unsigned n;
  mol_cli__worker *w; /* n of them */
};

/* The number of CPUs this process may run on (at least 1, at most MOL_CLI_MAX_WORKERS). */
unsigned mol_cli__cpu_count(void);

/* Parses a --workers value: a whole number 1..MOL_CLI_MAX_WORKERS, or "auto" (the CPUs).
 * Returns the count, or 0 (after printing "molecule CMD: ..." on stderr). */
unsigned mol_cli__workers_arg(const char *cmd, const char *arg);

/* Makes n workers with their loops and mailboxes (nothing runs yet). 0 or MOL_ENOMEM. */
int mol_cli__pool_new(unsigned n, mol_cli__pool **out);
/* Runs workers 1..n-1 each on a thread of its own, and worker 0 on this one; returns when
 * every loop has ended. 0, or the error of a thread that could not start (its loop is run
 * here afterwards so that nothing is left behind). */
int mol_cli__pool_run(mol_cli__pool *p);
/* Closes the loops and frees the pool (after pool_run, or when nothing started). 0 when every
 * loop closed cleanly. */
int mol_cli__pool_free(mol_cli__pool *p);

/* Posts fn(to, arg) to worker `to` (any thread). 0, or MOL_ESHUTDOWN once its mailbox has
 * closed (fn then never runs: the caller keeps arg). */
int mol_cli__post(mol_cli__worker *to, mol_cli__msg_fn fn, void *arg);
/* Closes w's mailbox (on w's thread, when w is done): messages already posted still run,
 * later posts fail. The mailbox is what keeps a finished worker's loop alive. */
void mol_cli__mailbox_close(mol_cli__worker *w);

/* Reads one value of worker w into slot (size bytes, zeroed), on w's thread. */
typedef void (*mol_cli__read_fn)(mol_cli__worker *w, void *slot);
/* Gets every worker's slot (n of them, in worker order; a stopped worker's is zero), on the
 * home thread. */
typedef void (*mol_cli__gathered_fn)(mol_cli__worker *home, const void *slots, unsigned n,
                                     void *arg);
/* Asks every worker for its value (read runs on each worker's own thread, so no state is
 * shared) and calls done(home, ...) once with all of them, on the home thread: on a later loop
 * turn, or inside this call when no other worker is running. 0 or MOL_ENOMEM (done then never
 * runs). */
int mol_cli__gather(mol_cli__worker *home, size_t size, mol_cli__read_fn read,
                    mol_cli__gathered_fn done, void *arg);

/* Passes request r on to http://127.0.0.1:port (the owner's private listener) with client c
 * and streams its answer back, SSE included. A request that was passed on once is never passed
 * on again (returns MOL_EPROTO: answer it locally). Returns 0 when it took r. */
int mol_cli__forward(mol_http_client *c, mol_http_req *r, int port);
/* A client fit for forwarding: many connections per worker, long idle waits (a blocking send
 * or a stream may be silent for long). */
int mol_cli__forward_client(uv_loop_t *loop, mol_http_client **out);

#endif
