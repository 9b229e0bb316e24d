/* a2a_peers.h - spawns the real @a2a-js/sdk peers (test/interop/) as child processes on free
 * loopback ports, waits for the line each prints once it listens ("... peer on <url>"), and
 * stops exactly those processes.
 * Missing node or node_modules is a failure with a clear message, never a skip: the test
 * command runs `npm ci` in both interop folders first. Include after cmocka.h. */
#ifndef TEST_A2A_PEERS_H
#define TEST_A2A_PEERS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"

extern char **environ;

typedef struct {
  uv_process_t proc;
  uv_pipe_t out;  /* its stdout: the readiness line, then whatever else it prints */
  mol_buf out_text;
  int spawned, exited, out_open, listening;
  int64_t status;
  int port;
  char url[64]; /* http://127.0.0.1:<port>/ */
} a2a_peer;

static inline void peer_on_exit(uv_process_t *p, int64_t status, int sig) {
  a2a_peer *pe = p->data;
  (void)sig;
  pe->exited = 1;
  pe->status = status;
}

static inline void peer_out_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  b->base = malloc(hint);
  b->len = hint;
}

static inline void peer_out_closed(uv_handle_t *h) { ((a2a_peer *)h->data)->out_open = 0; }

/* Reads the peer's stdout to its end (a full pipe would block it), watching for the line its
 * listen callback prints. */
static inline void peer_on_out(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  a2a_peer *pe = s->data;
  if (n > 0 && !pe->listening) {
    mol_buf_append(&pe->out_text, b->base, (size_t)n);
    mol_buf_append(&pe->out_text, "", 1);
    pe->listening = strstr(pe->out_text.data, " peer on ") != NULL;
    pe->out_text.len--;
  }
  free(b->base);
  if (n < 0 && !uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, peer_out_closed);
}

/* A port nobody listens on right now (the peer binds it a moment later). */
static inline int peer_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static inline int peer_port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/* The repository root, from the environment meson's test() sets. */
static inline const char *peer_source_root(void) {
  const char *root = getenv("MOL_SOURCE_ROOT");
  if (!root || !*root) fprintf(stderr, "MOL_SOURCE_ROOT is not set (run through meson test)\n");
  return root && *root ? root : NULL;
}

/* The environment of this process plus PORT and MODE (MODE omitted when NULL). */
static inline char **peer_env(int port, const char *mode, char *port_var, char *mode_var) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 3, sizeof(*env));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "PORT=", 5) && strncmp(environ[i], "MODE=", 5)) env[k++] = environ[i];
  sprintf(port_var, "PORT=%d", port);
  env[k++] = port_var;
  if (mode) {
    snprintf(mode_var, 64, "MODE=%s", mode);
    env[k++] = mode_var;
  }
  return env;
}

static inline int peer_spawn(uv_loop_t *loop, a2a_peer *p, const char *dir, const char *script,
                             const char *mode) {
  char port_var[32], mode_var[64], cwd[1024], sdk[1100];
  snprintf(cwd, sizeof(cwd), "%s/test/interop/%s", peer_source_root(), dir);
  snprintf(sdk, sizeof(sdk), "%s/node_modules/@a2a-js/sdk/package.json", cwd);
  if (access(sdk, R_OK) != 0) {
    fprintf(stderr, "%s is missing: run `npm ci` in %s\n", sdk, cwd);
    return -1;
  }
  char **env = peer_env(p->port, mode, port_var, mode_var);
  char *args[] = {"node", (char *)script, NULL};
  uv_pipe_init(loop, &p->out, 0);
  p->out.data = p->proc.data = p;
  p->out_open = 1;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = peer_on_exit, .file = "node", .args = args, .env = env,
                            .cwd = cwd, .stdio_count = 3, .stdio = stdio};
  int rc = uv_spawn(loop, &p->proc, &o);
  free(env);
  if (rc != 0) {
    fprintf(stderr, "cannot run node (%s): is Node.js installed?\n", uv_strerror(rc));
    uv_close((uv_handle_t *)&p->out, peer_out_closed);
    while (p->out_open) uv_run(loop, UV_RUN_ONCE);
    return rc;
  }
  p->spawned = 1;
  uv_read_start((uv_stream_t *)&p->out, peer_out_alloc, peer_on_out);
  return 0;
}

static inline void peer_give_up(uv_timer_t *t) { *(int *)t->data = 1; }

/* Starts `node <script>` in test/interop/<dir> with PORT (and MODE) and waits for the line it
 * prints once it listens (at most 60 s, for a node that hangs while starting). Returns 0 or -1
 * (with a message on stderr). */
static inline int peer_start(uv_loop_t *loop, a2a_peer *p, const char *dir, const char *script,
                             const char *mode) {
  memset(p, 0, sizeof(*p));
  if (!peer_source_root() || (p->port = peer_free_port()) < 0) return -1;
  snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d/", p->port);
  if (peer_spawn(loop, p, dir, script, mode) != 0) return -1;
  int gave_up = 0;
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  guard.data = &gave_up;
  uv_timer_start(&guard, peer_give_up, 60000, 0);
  while (!p->listening && !p->exited && !gave_up) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  if (p->listening && peer_port_open(p->port)) return 0;
  if (p->exited)
    fprintf(stderr, "%s/%s exited with status %lld\n", dir, script, (long long)p->status);
  else
    fprintf(stderr, "%s/%s did not listen on port %d\n", dir, script, p->port);
  return -1;
}

static inline void peer_kill(uv_timer_t *t) { uv_process_kill((uv_process_t *)t->data, SIGKILL); }

/* Stops the peer (SIGTERM to its pid only, SIGKILL if it is still there 5 s later), reaps it
 * and closes its handles. */
static inline void peer_stop(uv_loop_t *loop, a2a_peer *p) {
  if (!p->spawned) return;
  uv_timer_t grace;
  uv_timer_init(loop, &grace);
  grace.data = &p->proc;
  if (!p->exited) {
    uv_process_kill(&p->proc, SIGTERM);
    uv_timer_start(&grace, peer_kill, 5000, 0);
  }
  while (!p->exited) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&grace, NULL);
  uv_close((uv_handle_t *)&p->proc, NULL);
  if (p->out_open && !uv_is_closing((uv_handle_t *)&p->out))
    uv_close((uv_handle_t *)&p->out, peer_out_closed);
  while (p->out_open) uv_run(loop, UV_RUN_ONCE);
  uv_run(loop, UV_RUN_NOWAIT); /* the timer's and the process's closes */
  mol_buf_free(&p->out_text);
  p->spawned = 0;
}

/* Runs a program to completion, capturing its stdout (and stderr appended to err_out). */
typedef struct {
  uv_process_t proc;
  uv_pipe_t out, err;
  mol_buf *out_buf, *err_buf;
  int exited, closed;
  int64_t status;
} peer_run;

static inline void pr_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  b->base = malloc(hint);
  b->len = hint;
}

static inline void pr_closed(uv_handle_t *h) { ((peer_run *)h->data)->closed++; }

static inline void pr_read_into(uv_stream_t *s, ssize_t n, const uv_buf_t *b, mol_buf *into) {
  if (n > 0) mol_buf_append(into, b->base, (size_t)n);
  free(b->base);
  if (n < 0) uv_close((uv_handle_t *)s, pr_closed);
}

static inline void pr_read_out(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pr_read_into(s, n, b, ((peer_run *)s->data)->out_buf);
}

static inline void pr_read_err(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pr_read_into(s, n, b, ((peer_run *)s->data)->err_buf);
}

static inline void pr_exit(uv_process_t *p, int64_t status, int sig) {
  peer_run *r = p->data;
  r->exited = 1;
  r->status = sig ? 128 + sig : status;
  uv_close((uv_handle_t *)p, pr_closed);
}

/* Returns the exit status, or -1 when the program could not start. */
static inline int peer_run_program(uv_loop_t *loop, char **args, mol_buf *out, mol_buf *err) {
  peer_run r = {.out_buf = out, .err_buf = err};
  uv_pipe_init(loop, &r.out, 0);
  uv_pipe_init(loop, &r.err, 0);
  r.proc.data = r.out.data = r.err.data = &r;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r.out},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r.err}};
  uv_process_options_t o = {.exit_cb = pr_exit, .file = args[0], .args = args,
                            .stdio_count = 3, .stdio = stdio};
  if (uv_spawn(loop, &r.proc, &o) != 0) {
    uv_close((uv_handle_t *)&r.out, NULL);
    uv_close((uv_handle_t *)&r.err, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return -1;
  }
  uv_read_start((uv_stream_t *)&r.out, pr_alloc, pr_read_out);
  uv_read_start((uv_stream_t *)&r.err, pr_alloc, pr_read_err);
  while (r.closed < 3) uv_run(loop, UV_RUN_ONCE);
  return (int)r.status;
}

#endif
