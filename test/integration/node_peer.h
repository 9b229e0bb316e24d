/* node_peer.h - runs an npm peer (test/interop/...) as a real child process on a free
 * loopback port, for tests that talk to it over sockets. The peers are pinned by lock files;
 * tools/test.sh runs `npm ci` first. A missing node or node_modules FAILS the test (loudly)
 * rather than skipping it. */
#ifndef NODE_PEER_H
#define NODE_PEER_H

#include <fcntl.h>
#include <signal.h>
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
} node_peer;

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
 * "NAME=value" strings (NULL-terminated), and waits up to 20 s for the port. */
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
  p.pid = fork();
  if (p.pid == 0) {
    char port[16];
    snprintf(port, sizeof(port), "%d", p.port);
    setenv("PORT", port, 1);
    setenv("HOST", "127.0.0.1", 1);
    for (const char *const *e = extra_env; e && *e; e++) putenv((char *)*e);
    if (chdir(cwd) != 0) _exit(127);
    if (!freopen("/dev/null", "w", stdout)) _exit(127); /* keep the test's output readable */
    const char *argv[16] = {"node", script};
    int n = 2;
    for (const char *const *a = args; a && *a && n < 15; a++) argv[n++] = *a;
    argv[n] = NULL;
    execvp("node", (char *const *)argv);
    fprintf(stderr, "FAIL: cannot run node: install nodejs (tools/setup.sh does)\n");
    _exit(127);
  }
  for (int i = 0; i < 200 && !np_port_open(p.port); i++) {
    int status;
    if (waitpid(p.pid, &status, WNOHANG) == p.pid) {
      fprintf(stderr, "FAIL: node %s exited before listening\n", script);
      exit(1);
    }
    usleep(100000);
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
  p->pid = 0;
}

#endif
