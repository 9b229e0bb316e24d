/* cmd_serve.c - `molecule serve`: one standalone A2A agent on a listener. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "http/server.h"
#include "molecule.h"

typedef struct {
  uv_loop_t *loop;
  mol_http_server *http;
  mol_a2a_server *a2a;
  mol_a2a_executor ex;
  uv_timer_t drain_timer;
  uint64_t stop_at;
  int stopping;
} serve;

#define GRACE_MS 5000

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule serve [--executor echo] [--listen HOST:PORT] [options]\n"
          "\n"
          "Runs one A2A agent (JSON-RPC v0.3 and v1.0, SSE streaming, agent card).\n"
          "\n"
          "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8000)\n"
          "  --executor NAME      echo (default)\n"
          "  --delay-ms N         echo: wait N ms before answering (or between task steps)\n"
          "  --task-mode          echo: walk the task lifecycle instead of replying at once\n"
          "  --name NAME          agent name in the card (default \"echo\")\n"
          "  --public-url URL     URL in the card (default http://HOST:PORT/)\n"
          "  -h, --help           this help\n");
}

static void on_http_closed(void *arg) {
  (void)arg;
  mol_logi("serve", "stopped");
  cli_signals_close();
}

static void on_a2a_closed(void *arg) {
  serve *s = arg;
  mol_http_server_close(s->http, 1000, on_http_closed, s);
}

/* Graceful stop: no new turns; live ones get GRACE_MS to finish, then are canceled. */
static void on_drain_tick(uv_timer_t *t) {
  serve *s = t->data;
  mol_a2a_server_stats st;
  mol_a2a_server_stats_get(s->a2a, &st);
  if (st.live_turns > 0 && uv_now(s->loop) < s->stop_at) return;
  if (st.live_turns > 0) mol_logw("serve", "canceling %u turns still running", st.live_turns);
  uv_close((uv_handle_t *)t, NULL);
  mol_a2a_server_close(s->a2a, on_a2a_closed, s);
}

static void on_stop(void *arg) {
  serve *s = arg;
  if (s->stopping++) return;
  mol_logi("serve", "stopping: finishing turns in flight");
  mol_a2a_server_drain(s->a2a);
  s->stop_at = uv_now(s->loop) + GRACE_MS;
  uv_timer_init(s->loop, &s->drain_timer);
  s->drain_timer.data = s;
  uv_timer_start(&s->drain_timer, on_drain_tick, 0, 50);
}

typedef struct {
  char host[128];
  int port;
  const char *executor, *name, *public_url;
  mol_echo_opts echo;
} serve_opts;

static int parse(int argc, char **argv, serve_opts *o) {
  static const struct option longs[] = {
    {"listen", required_argument, 0, 'l'}, {"executor", required_argument, 0, 'e'},
    {"delay-ms", required_argument, 0, 'd'}, {"task-mode", no_argument, 0, 't'},
    {"name", required_argument, 0, 'n'}, {"public-url", required_argument, 0, 'u'},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  snprintf(o->host, sizeof(o->host), "127.0.0.1");
  o->port = 8000;
  o->executor = "echo";
  o->name = "echo";
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'l':
        if (cli_parse_hostport(optarg, o->host, sizeof(o->host), &o->port)) {
          fprintf(stderr, "molecule serve: bad --listen '%s' (want HOST:PORT)\n", optarg);
          return 2;
        }
        break;
      case 'e': o->executor = optarg; break;
      case 'd': o->echo.delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
      case 't': o->echo.task_mode = 1; break;
      case 'n': o->name = optarg; break;
      case 'u': o->public_url = optarg; break;
      case 'h': usage(stdout); return 1;
      default: usage(stderr); return 2;
    }
  }
  if (strcmp(o->executor, "echo") != 0) {
    fprintf(stderr, "molecule serve: unknown executor '%s' (available: echo)\n", o->executor);
    return 2;
  }
  return 0;
}

static int start(serve *s, const serve_opts *o) {
  char url[300];
  if (o->public_url) snprintf(url, sizeof(url), "%s", o->public_url);
  else snprintf(url, sizeof(url), strchr(o->host, ':') ? "http://[%s]:%d/" : "http://%s:%d/", o->host, o->port);
  mol_a2a_skill skill = {.id = "echo", .name = "Echo", .description = "replies with the text it receives",
                         .tags = (const char *const[]){"echo"}, .n_tags = 1};
  mol_a2a_card card = {.name = o->name, .description = "molecule echo agent", .url = url,
                       .streaming = 1, .skills = &skill, .n_skills = 1};
  int rc = mol_echo_new(&o->echo, &s->ex);
  if (!rc) rc = mol_http_server_new(s->loop, NULL, &s->http);
  mol_a2a_server_opts ao = {.card = &card, .executor = &s->ex};
  if (!rc) rc = mol_a2a_server_new(s->loop, s->http, &ao, &s->a2a);
  if (!rc) rc = mol_http_server_listen(s->http, o->host, o->port);
  if (rc) return rc;
  mol_logi("serve", "A2A agent '%s' on %s (card at %s.well-known/agent-card.json)", o->name, url, url);
  printf("listening on %s:%d\n", o->host, mol_http_server_port(s->http));
  fflush(stdout);
  return 0;
}

int cmd_serve(int argc, char **argv) {
  serve_opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : rc;
  cli_log_from_env();
  uv_loop_t loop;
  uv_loop_init(&loop);
  serve s = {.loop = &loop};
  rc = start(&s, &o);
  if (rc) {
    fprintf(stderr, "molecule serve: %s\n", mol_strerror(rc));
    return 1; /* the process ends; the OS reclaims the half-built server */
  }
  cli_on_stop_signal(&loop, on_stop, &s);
  uv_run(&loop, UV_RUN_DEFAULT);
  mol_echo_free(&s.ex);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
