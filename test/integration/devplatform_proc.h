/* devplatform_proc.h - a real `molecule platform --dev` process ($MOLECULE_BIN) for the crash
 * tests: started on a database file with its readiness line read for the port, its stderr
 * forwarded, stopped with a signal (kill -9 included) and reaped; plus blocking HTTP/1.1 over
 * plain sockets with the admin token (or another bearer). Shared by test_devplatform_crash*.c. */
#ifndef DEVPLATFORM_PROC_H
#define DEVPLATFORM_PROC_H

/* Each test uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"

typedef struct {
  pid_t pid;
  int errfd;                /* the platform's stderr, forwarded to ours */
  int err_open;             /* errfd has not reached its end */
  int port;
  char line[4096];          /* a partial stderr line */
  size_t line_len;
} platform;

static char g_token[256]; /* the admin token, sent by append_request */
static pid_t g_live;      /* the platform process a failed assertion may leave behind */

/* ---- the platform process ---------------------------------------------------------------- */

/* Passes one line of the platform's stderr on to ours, except the info line of each create
 * (thousands per round); warnings, errors and sanitizer reports stay visible. */
static void forward_line(const char *line, size_t len) {
  if (memmem(line, len, " info  devplatform: created workspace", 37)) return;
  if (write(2, line, len) < 0) return;
}

/* Returns 0 once the pipe has reached its end (the platform is gone). */
static int forward_stderr(platform *p) {
  ssize_t n;
  for (;;) {
    n = read(p->errfd, p->line + p->line_len, sizeof p->line - p->line_len);
    if (n <= 0) break;
    p->line_len += (size_t)n;
    char *start = p->line, *nl;
    while ((nl = memchr(start, '\n', p->line_len - (size_t)(start - p->line)))) {
      forward_line(start, (size_t)(nl - start) + 1);
      start = nl + 1;
    }
    p->line_len -= (size_t)(start - p->line);
    memmove(p->line, start, p->line_len);
    if (p->line_len == sizeof p->line) { /* an over-long line: pass it on as it is */
      forward_line(p->line, p->line_len);
      p->line_len = 0;
    }
  }
  if (n == 0 && p->line_len) forward_line(p->line, p->line_len);
  if (n == 0) p->line_len = 0;
  return n != 0;
}

/* Readiness: the platform prints "molecule platform: http://HOST:PORT (...)" once listening. */
static int read_port(int fd) {
  char line[1024];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, line + len, sizeof line - 1 - len);
    if (n <= 0) {
      line[len] = '\0';
      fail_msg("the platform exited before listening: %s", line);
    }
    len += (size_t)n;
    line[len] = '\0';
    char *at = strstr(line, "molecule platform: http://127.0.0.1:");
    if (at && strchr(at, '(')) return atoi(at + strlen("molecule platform: http://127.0.0.1:"));
    char *nl = strrchr(line, '\n');
    if (nl && !at) { /* keep only the unfinished line */
      fputs(line, stderr);
      len = strlen(nl + 1);
      memmove(line, nl + 1, len + 1);
    }
    if (len == sizeof line - 1) len = 0;
  }
}

/* fsize_limit > 0: the platform may not write files past that many bytes (RLIMIT_FSIZE, with
 * SIGXFSZ ignored so that the write fails with EFBIG instead of killing it). */
static void platform_start(platform *p, const char *db, rlim_t fsize_limit) {
  const char *bin = getenv("MOLECULE_BIN");
  assert_non_null(bin);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  p->pid = fork();
  assert_true(p->pid >= 0);
  g_live = p->pid;
  if (p->pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    if (fsize_limit) {
      signal(SIGXFSZ, SIG_IGN); /* stays ignored across exec */
      struct rlimit rl = {.rlim_cur = fsize_limit, .rlim_max = fsize_limit};
      setrlimit(RLIMIT_FSIZE, &rl);
    }
    execl(bin, bin, "platform", "--dev", "--listen", "127.0.0.1:0", "--db", db, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  p->line_len = 0;
  p->errfd = fds[0];
  p->err_open = 1;
  p->port = read_port(p->errfd);
  assert_true(p->port > 0);
  fcntl(p->errfd, F_SETFL, O_NONBLOCK);
}

/* Sends sig, reads the platform's stderr to its end, reaps it; returns the wait status. */
static int platform_stop(platform *p, int sig) {
  kill(p->pid, sig);
  fcntl(p->errfd, F_SETFL, 0);
  forward_stderr(p);
  close(p->errfd);
  int status = 0;
  assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
  g_live = 0;
  return status;
}

static void read_admin_token(const char *db) {
  char path[1024]; /* room for any database path a test passes (up to 512 bytes) */
  snprintf(path, sizeof path, "%s.admin_token", db);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(g_token, sizeof g_token, f));
  fclose(f);
  g_token[strcspn(g_token, "\r\n")] = '\0';
  assert_true(g_token[0] != '\0');
}

/* ---- HTTP over raw sockets ----------------------------------------------------------------- */

static int connect_to(int port, int nonblock) {
  int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  assert_true(rc == 0 || (nonblock && errno == EINPROGRESS));
  return fd;
}

static void append_request_as(mol_buf *b, int port, const char *bearer, const char *method,
                              const char *path, const char *body) {
  char head[512];
  size_t blen = body ? strlen(body) : 0;
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                   method, path, port, bearer, blen);
  assert_int_equal(mol_buf_append(b, head, (size_t)n), 0);
  if (blen) assert_int_equal(mol_buf_append(b, body, blen), 0);
}

static void append_request(mol_buf *b, int port, const char *method, const char *path,
                           const char *body) {
  append_request_as(b, port, g_token, method, path, body);
}

/* One complete response at the front of b: its status, body and total length. 0 when the
 * response is not complete yet. */
static int parse_response(const mol_buf *b, int *status, const char **body, size_t *body_len,
                          size_t *total) {
  if (b->len < 12) return 0;
  const char *end = memmem(b->data, b->len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - b->data) + 4;
  assert_memory_equal(b->data, "HTTP/1.1 ", 9);
  *status = atoi(b->data + 9);
  size_t cl = 0;
  for (const char *p = b->data; p < end; p = strstr(p, "\r\n") + 2)
    if (strncasecmp(p, "Content-Length:", 15) == 0) cl = strtoul(p + 15, NULL, 10);
  if (b->len < head + cl) return 0;
  *body = b->data + head;
  *body_len = cl;
  *total = head + cl;
  return 1;
}

/* A blocking request on a fresh connection with that bearer; returns the parsed JSON body and
 * the status. */
static json_t *http_call_as(int port, const char *bearer, const char *method, const char *path,
                            const char *body_in, int *status) {
  int fd = connect_to(port, 0);
  mol_buf b = MOL_BUF_INIT;
  append_request_as(&b, port, bearer, method, path, body_in);
  assert_int_equal(send(fd, b.data, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
  b.len = 0;
  const char *body;
  size_t blen, total;
  while (!parse_response(&b, status, &body, &blen, &total)) {
    assert_int_equal(mol_buf_reserve(&b, 65536), 0);
    ssize_t n = recv(fd, b.data + b.len, 65536, 0);
    assert_true(n > 0);
    b.len += (size_t)n;
  }
  json_t *j = json_loadb(body, blen, 0, NULL);
  mol_buf_free(&b);
  close(fd);
  return j;
}

/* The same with the admin token. */
static json_t *http_call(int port, const char *method, const char *path, const char *body_in,
                         int *status) {
  return http_call_as(port, g_token, method, path, body_in, status);
}

#endif
