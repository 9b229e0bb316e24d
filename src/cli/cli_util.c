/* cli_util.c - small helpers shared by the subcommands. */
#include "cli/cli_util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sdnotify.h"
#include "molecule.h"

int mol_cli__parse_hostport(const char *s, char *host, size_t hostlen, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon) return -1;
  const char *h = s;
  size_t n = (size_t)(colon - s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    h = s + 1;
    n -= 2;
  }
  if (n == 0) {
    h = "127.0.0.1";
    n = strlen(h);
  }
  if (n >= hostlen) return -1;
  memcpy(host, h, n);
  host[n] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || colon[1] == '\0') return -1;
  *port = (int)p;
  return 0;
}

static uv_signal_t sig_int, sig_term;
static int signals_on, stop_count;
static void (*stop_fn)(void *);
static void *stop_arg;

static void on_signal(uv_signal_t *h, int signum) {
  (void)h;
  if (++stop_count > 1) {
    fprintf(stderr, "molecule: second signal %d, exiting now\n", signum);
    exit(130);
  }
  mol_sd_notify("STOPPING=1");
  if (stop_fn) stop_fn(stop_arg);
}

void mol_cli__on_stop_signal(uv_loop_t *loop, void (*on_stop)(void *arg), void *arg) {
  stop_fn = on_stop;
  stop_arg = arg;
  uv_signal_init(loop, &sig_int);
  uv_signal_init(loop, &sig_term);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&sig_int);
  uv_unref((uv_handle_t *)&sig_term);
  signals_on = 1;
}

void mol_cli__signals_close(void) {
  if (!signals_on) return;
  signals_on = 0;
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
}

int mol_cli__usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "molecule %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'molecule %s --help'\n", cmd);
  return 2;
}

int mol_cli__option_error(const char *cmd, char **argv, int c) {
  char shortopt[3] = {'-', (char)optopt, '\0'};
  const char *prev = optind > 0 ? argv[optind - 1] : "";
  const char *opt = strncmp(prev, "--", 2) == 0 || !optopt ? prev : shortopt;
  if (c == ':') return mol_cli__usage_error(cmd, "option '%s': needs a value", opt);
  return mol_cli__usage_error(cmd, "unknown option '%s'", opt);
}

int mol_cli__read_stdin(size_t max, char **out) {
  size_t cap = 4096, len = 0, n;
  char *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
    len += n;
    if (len + 1 < cap) continue;
    char *nb = len > max ? NULL : realloc(buf, cap * 2);
    if (!nb) { /* past the bound, or no memory: refused, never cut short */
      free(buf);
      return -1;
    }
    buf = nb;
    cap *= 2;
  }
  if (!buf || ferror(stdin) || len > max) {
    free(buf);
    return -1;
  }
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--; /* echo's newline */
  buf[len] = '\0';
  *out = buf;
  return 0;
}
