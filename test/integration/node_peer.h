/* node_peer.h - runs an npm peer (test/interop/...) as a real child process on a free
 * loopback port, for tests that talk to it over sockets. The peer is ready once it prints the
 * line its listen callback prints ("... running on <host>:<port>" for mock-llm, "... peer on
 * <url>" for the a2a-js servers); its stdout is
 * read to its end by a thread after that, so that it never blocks on a full pipe. The peers are pinned by lock files;
 * tools/test.sh runs `npm ci` first. A missing node or node_modules FAILS the test (loudly)
 * rather than skipping it. */
#ifndef NODE_PEER_H
#define NODE_PEER_H

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

typedef struct {
  pid_t pid;
  int port;
  int out_fd;       /* the read end of its stdout */
  pthread_t drain;  /* reads it to EOF once the peer is ready */
} node_peer;

static void *np_drain(void *arg) {
  char b[4096];
  while (read((int)(intptr_t)arg, b, sizeof b) > 0) {
  }
  return NULL;
}

/* Reads fd until a line says the peer is running (1), or EOF: the peer exited (0). A peer that
 * neither listens nor exits within 60 s counts as not starting. */
static int np_wait_running(int fd) {
  char buf[8192];
  size_t len = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 60000) <= 0) return 0;
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) return 0;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, " running on ") || strstr(buf, " peer on ")) return 1; /* mock-llm, a2a-js */
    if (len > sizeof buf / 2) { /* keep the tail: the line may be arriving */
      memmove(buf, buf + len - 256, 256);
      len = 256;
    }
  }
}

/* A port that was free a moment ago (the kernel picks it). */
static int np_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &len)) {
    perror("np_free_port");
    exit(1);
  }
  close(fd);
  return ntohs(a.sin_port);
}

static int np_port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

/* Starts `node <script> [args]` in test/interop/<dir> with PORT and HOST set, plus extra
 * "NAME=value" strings (NULL-terminated), and waits for its "running on" line. */
static node_peer np_start(const char *dir, const char *script, const char *const *args,
                          const char *const *extra_env) {
  const char *root = getenv("MOL_SOURCE_ROOT");
  char cwd[1024], modules[1100];
  snprintf(cwd, sizeof(cwd), "%s/test/interop/%s", root ? root : ".", dir);
  snprintf(modules, sizeof(modules), "%s/node_modules", cwd);
  if (access(modules, F_OK) != 0) {
    fprintf(stderr, "FAIL: %s is missing: run `npm ci` there (tools/test.sh does)\n", modules);
    exit(1);
  }
  node_peer p = {.port = np_free_port()};
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) { /* no other child of the test may hold it */
    perror("np_start: pipe");
    exit(1);
  }
  p.pid = fork();
  if (p.pid == 0) {
    char port[16];
    snprintf(port, sizeof(port), "%d", p.port);
    setenv("PORT", port, 1);
    setenv("HOST", "127.0.0.1", 1);
    for (const char *const *e = extra_env; e && *e; e++) putenv((char *)*e);
    if (chdir(cwd) != 0) _exit(127);
    dup2(out[1], 1); /* read by the test, never shown: keeps the test's output readable */
    close(out[0]);
    close(out[1]);
    const char *argv[16] = {"node", script};
    int n = 2;
    for (const char *const *a = args; a && *a && n < 15; a++) argv[n++] = *a;
    argv[n] = NULL;
    execvp("node", (char *const *)argv);
    fprintf(stderr, "FAIL: cannot run node: install nodejs (tools/setup.sh does)\n");
    _exit(127);
  }
  close(out[1]);
  p.out_fd = out[0];
  if (!np_wait_running(p.out_fd)) {
    fprintf(stderr, "FAIL: node %s exited (or hung) before listening\n", script);
    kill(p.pid, SIGKILL);
    exit(1);
  }
  if (pthread_create(&p.drain, NULL, np_drain, (void *)(intptr_t)p.out_fd) != 0) {
    perror("np_start: pthread_create");
    exit(1);
  }
  if (!np_port_open(p.port)) {
    fprintf(stderr, "FAIL: node %s did not listen on %d\n", script, p.port);
    kill(p.pid, SIGKILL);
    exit(1);
  }
  return p;
}

static void np_stop(node_peer *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  waitpid(p->pid, NULL, 0);
  pthread_join(p->drain, NULL); /* EOF now that the peer is gone */
  close(p->out_fd);
  p->pid = 0;
}

#endif
