/* cmd_serve.c - `molecule serve`: one standalone A2A agent on a listener. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "runtime/exec_command.h"
#include "base/log.h"
#include "base/sdnotify.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/metrics_merge.h"
#include "cli/metrics_proc.h"
#include "cli/workers.h"
#include "devplatform/taskdb.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"

typedef struct {
  uv_loop_t *loop;
  mol_cli__worker *w;         /* this loop's worker (--workers) */
  mol_http_client *forward;   /* requests about another worker's tasks; NULL alone */
  mol_http_server *http;
  mol_http_client *client;    /* push-notification deliveries */
  mol_a2a_server *a2a;
  mol_a2a_executor ex;
  int command;                /* ex is a command executor (closed asynchronously) */
  int ex_made;                /* ex exists and must be closed */
  mol_cli__metrics metrics;   /* GET /metrics */
  uv_timer_t drain_timer;
  uint64_t stop_at;
  int stopping;
} serve;

#define GRACE_MS 5000

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule serve [--executor echo|command] [--listen HOST:PORT] [options]\n"
          "\n"
          "Runs one A2A agent (JSON-RPC v0.3 and v1.0, SSE streaming, push notifications,\n"
          "agent card) and its counters at GET /metrics.\n"
          "\n"
          "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8000)\n"
          "  --executor NAME      echo (default) or command\n"
          "  --delay-ms N         echo: wait N ms before answering (or between task steps)\n"
          "  --task-mode[=input-required]\n"
          "                       echo: walk the task lifecycle instead of replying at once;\n"
          "                       with =input-required every turn ends in input-required\n"
          "                       until the user says \"done\" (multi-turn tasks)\n"
          "  --handler CMD        command: run `/bin/sh -c CMD` per turn, the user's text on\n"
          "                       stdin; stdout is the reply (each line an artifact chunk when\n"
          "                       the caller streams); a non-zero exit fails the task with\n"
          "                       stderr's last line\n"
          "  --handler-timeout-s N  command: kill a handler (its process group) after N s\n"
          "                       and fail the task (default 300)\n"
          "  --max-handlers N     command: handlers running at once (default 4 x CPUs)\n"
          "  --max-queued N       command: turns waiting for a handler (default 64); past it\n"
          "                       a turn fails at once with \"busy\"\n"
          "  --max-output-bytes N command: stdout kept per turn (default 1048576); past it\n"
          "                       the handler is killed and the task fails\n"
          "  --name NAME          agent name in the card (default: the executor's name)\n"
          "  --public-url URL     URL in the card (default http://HOST:PORT/)\n"
          "  --allow-private-webhooks\n"
          "                       push notifications may go to loopback and private\n"
          "                       addresses (tests, one machine); by default only to public\n"
          "                       ones, never to link-local, metadata or reserved ones\n"
          "  --data-dir DIR       keep tasks in DIR/a2a-tasks.db (SQLite) so they survive a\n"
          "                       restart; tasks in progress at a crash end as failed.\n"
          "                       Default: in memory only (see docs/durability.md)\n"
          "  --sync normal|full   with --data-dir: normal (default) survives a crash or\n"
          "                       kill -9; full also fsyncs every commit, to survive a\n"
          "                       power loss\n"
          "  --workers N|auto     N event loops on N threads sharing the port (default 1;\n"
          "                       auto = the CPUs); the executor limits are per worker.\n"
          "                       With N > 1, tasks/list and --data-dir are refused\n"
          "                       (docs/a2a.md, \"Several cores\")\n"
          "  -h, --help           this help\n"
          "\n"
          "The handler's environment is this one without MOLECULE_A2A_PLATFORM_SHARED_SECRET,\n"
          "API_SERVER_KEY, MOLECULE_ADMIN_TOKEN, ADMIN_TOKEN and MOLECULE_WORKSPACE_TOKEN, plus\n"
          "MOLECULE_TASK_ID, MOLECULE_CONTEXT_ID, MOLECULE_MESSAGE_ID, MOLECULE_STREAMING (1/0),\n"
          "MOLECULE_AGENT_NAME and MOLECULE_MESSAGE_FILE (the A2A message as JSON, 0600, removed\n"
          "after the turn). tasks/cancel kills the handler's process group. See docs/runtime.md.\n");
}

static void on_client_closed(void *arg) {
  serve *s = arg;
  if (s->w->index == 0) {
    mol_logi("serve", "stopped");
    mol_cli__signals_close();
  }
  mol_cli__mailbox_close(s->w); /* this worker's loop can end */
}

static void on_forward_closed(void *arg) {
  serve *s = arg;
  if (s->client) mol_http_client_close(s->client, on_client_closed, s);
  else on_client_closed(s);
}

static void on_http_closed(void *arg) {
  serve *s = arg;
  if (s->forward) mol_http_client_close(s->forward, on_forward_closed, s);
  else on_forward_closed(s);
}

static void on_executor_closed(void *arg) {
  serve *s = arg;
  /* Requests passed on to another worker end once it has drained: its grace, then a little
   * for the answers to come back. */
  unsigned grace = s->forward ? GRACE_MS + 1000 : 1000;
  if (s->http) mol_http_server_close(s->http, grace, on_http_closed, s);
  else on_http_closed(s);
}

/* Every turn has ended by now: the executor goes, then the listener. */
static void on_a2a_closed(void *arg) {
  serve *s = arg;
  s->a2a = NULL;
  if (!s->ex_made) {
    on_executor_closed(s);
    return;
  }
  if (s->command) {
    mol_command_executor_close(&s->ex, on_executor_closed, s);
    return;
  }
  mol_echo_free(&s->ex);
  on_executor_closed(s);
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
  if (s->stopping++ || !s->a2a) return;
  if (s->w->index == 0) mol_logi("serve", "stopping: finishing turns in flight");
  mol_a2a_server_drain(s->a2a);
  s->stop_at = uv_now(s->loop) + GRACE_MS;
  uv_timer_init(s->loop, &s->drain_timer);
  s->drain_timer.data = s;
  uv_timer_start(&s->drain_timer, on_drain_tick, 0, 50);
}

/* GET /metrics (metrics_proc.c) ends with the A2A server's counters; none while stopping. */
static int a2a_metrics(mol_buf *out, void *arg) {
  serve *s = arg;
  mol_a2a_server_stats st;
  if (!s->a2a) return 0;
  mol_a2a_server_stats_get(s->a2a, &st);
  const struct {
    const char *name, *type;
    unsigned long long v;
  } m[] = {
    {"molecule_a2a_requests_total", "counter", st.requests},
    {"molecule_a2a_turns_total", "counter", st.turns},
    {"molecule_a2a_live_turns", "gauge", st.live_turns},
    {"molecule_a2a_open_streams", "gauge", st.open_streams},
    {"molecule_a2a_tasks", "gauge", st.tasks},
    {"molecule_a2a_tasks_evicted_total", "counter", st.tasks_evicted},
    {"molecule_a2a_push_configs", "gauge", st.push_configs},
    {"molecule_a2a_push_sent_total", "counter", st.push.sent},
    {"molecule_a2a_push_failed_total", "counter", st.push.failed},
    {"molecule_a2a_push_retries_total", "counter", st.push.retries},
    {"molecule_a2a_push_coalesced_total", "counter", st.push.coalesced},
    {"molecule_a2a_push_refused_total", "counter", st.push.refused},
    {"molecule_a2a_push_dropped_total", "counter", st.push.dropped},
    {"molecule_a2a_push_pending", "gauge", st.push.pending},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof(m) / sizeof(*m) && !rc; i++)
    rc = mol_buf_printf(out, "# TYPE %s %s\n%s %llu\n", m[i].name, m[i].type, m[i].name, m[i].v);
  return rc;
}

/* With several workers, a scrape is every worker's text (read on its own thread) merged into
 * one: the process's series once, the requests and A2A counters summed. */
static void read_metrics(mol_cli__worker *w, void *slot) {
  serve *s = w->app;
  mol_buf b = MOL_BUF_INIT;
  if (s->http && mol_cli__metrics_text(s->http, a2a_metrics, s, &b) == 0) *(char **)slot = mol_buf_steal(&b);
  mol_buf_free(&b);
}

static void on_metrics_gathered(mol_cli__worker *home, const void *slots, unsigned n, void *arg) {
  (void)home;
  char *const *texts = slots;
  mol_buf body = MOL_BUF_INIT;
  if (mol_cli__metrics_merge((const char *const *)texts, n, &body))
    mol_http_respond(arg, 500, "text/plain", "out of memory\n", 14);
  else
    mol_http_respond(arg, 200, "text/plain; version=0.0.4", body.data, body.len);
  mol_buf_free(&body);
  for (unsigned i = 0; i < n; i++) free(texts[i]);
}

static void on_metrics(mol_http_req *r, void *arg) {
  serve *s = arg;
  if (mol_cli__gather(s->w, sizeof(char *), read_metrics, on_metrics_gathered, r))
    mol_http_respond(r, 500, "text/plain", "out of memory\n", 14);
}

typedef struct {
  char host[128];
  int port;
  const char *executor, *name, *public_url;
  const char *data_dir;
  int allow_private_webhooks, sync_full;
  unsigned workers;           /* 0 = not given */
  mol_echo_opts echo;
  mol_command_opts command;
} serve_opts;

/* A whole number from min (>= 0) to max, or -1. */
static long long count_arg(const char *s, long long min, long long max) {
  char *end;
  long long v = strtoll(s, &end, 10);
  return *s && !*end && v >= min && v <= max ? v : -1;
}

/* The command executor's numeric flags; 0 or the exit status 2. */
static int command_flag(int c, const char *arg, mol_command_opts *co) {
  static const struct {
    int flag;
    const char *name;
    long long max;
  } limits[] = {{'T', "--handler-timeout-s", 7 * 86400}, {'P', "--max-handlers", 100000},
                {'Q', "--max-queued", 1000000}, {'O', "--max-output-bytes", 1LL << 30}};
  for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
    if (limits[i].flag != c) continue;
    long long v = count_arg(arg, 1, limits[i].max);
    if (v < 0) {
      fprintf(stderr, "molecule serve: %s wants a whole number from 1 to %lld, not '%s'\n",
              limits[i].name, limits[i].max, arg);
      return 2;
    }
    if (c == 'T') co->timeout_ms = (unsigned)v * 1000;
    if (c == 'P') co->max_running = (unsigned)v;
    if (c == 'Q') co->max_queued = (unsigned)v;
    if (c == 'O') co->max_output = (size_t)v;
  }
  return 0;
}

static int delay_flag(const char *arg, mol_echo_opts *eo) {
  long long v = count_arg(arg, 0, 86400000);
  if (v < 0) {
    fprintf(stderr, "molecule serve: --delay-ms wants a whole number from 0 to 86400000, not "
                    "'%s'\n", arg);
    return 2;
  }
  eo->delay_ms = (unsigned)v;
  return 0;
}

static int check_executor(serve_opts *o) {
  if (strcmp(o->executor, "echo") != 0 && strcmp(o->executor, "command") != 0) {
    fprintf(stderr, "molecule serve: unknown executor '%s' (available: echo, command)\n",
            o->executor);
    return 2;
  }
  int command = strcmp(o->executor, "command") == 0;
  if (command && (!o->command.handler || !*o->command.handler)) {
    fprintf(stderr, "molecule serve: --executor command needs --handler CMD\n");
    return 2;
  }
  if (!command && o->command.handler) {
    fprintf(stderr, "molecule serve: --handler is for --executor command\n");
    return 2;
  }
  if (!o->name) o->name = o->executor;
  return 0;
}

static int parse(int argc, char **argv, serve_opts *o) {
  static const struct option longs[] = {
    {"listen", required_argument, 0, 'l'}, {"executor", required_argument, 0, 'e'},
    {"delay-ms", required_argument, 0, 'd'}, {"task-mode", optional_argument, 0, 't'},
    {"name", required_argument, 0, 'n'}, {"public-url", required_argument, 0, 'u'},
    {"handler", required_argument, 0, 'H'}, {"handler-timeout-s", required_argument, 0, 'T'},
    {"max-handlers", required_argument, 0, 'P'}, {"max-queued", required_argument, 0, 'Q'},
    {"max-output-bytes", required_argument, 0, 'O'},
    {"allow-private-webhooks", no_argument, 0, 'W'},
    {"data-dir", required_argument, 0, 'D'}, {"sync", required_argument, 0, 'S'},
    {"workers", required_argument, 0, 'w'},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  snprintf(o->host, sizeof(o->host), "127.0.0.1");
  o->port = 8000;
  o->executor = "echo";
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
    switch (c) {
      case 'l':
        if (mol_cli__parse_hostport(optarg, o->host, sizeof(o->host), &o->port)) {
          fprintf(stderr, "molecule serve: bad --listen '%s' (want HOST:PORT)\n", optarg);
          return 2;
        }
        break;
      case 'e': o->executor = optarg; break;
      case 'd':
        if (delay_flag(optarg, &o->echo)) return 2;
        break;
      case 't':
        if (optarg && strcmp(optarg, "input-required") != 0) {
          fprintf(stderr, "molecule serve: --task-mode takes no value or =input-required, not '%s'\n",
                  optarg);
          return 2;
        }
        o->echo.task_mode = 1;
        o->echo.until_done = optarg != NULL;
        break;
      case 'n': o->name = optarg; break;
      case 'u': o->public_url = optarg; break;
      case 'W': o->allow_private_webhooks = 1; break;
      case 'D': o->data_dir = optarg; break;
      case 'w':
        if (!(o->workers = mol_cli__workers_arg("serve", optarg))) return 2;
        break;
      case 'S':
        if (strcmp(optarg, "normal") != 0 && strcmp(optarg, "full") != 0) {
          fprintf(stderr, "molecule serve: --sync takes normal or full, not '%s'\n", optarg);
          return 2;
        }
        o->sync_full = strcmp(optarg, "full") == 0;
        break;
      case 'H': o->command.handler = optarg; break;
      case 'T': case 'P': case 'Q': case 'O':
        if (command_flag(c, optarg, &o->command)) return 2;
        break;
      case 'h': usage(stdout); return 1;
      default: return mol_cli__option_error("serve", argv, c);
    }
  }
  if (optind < argc) {
    fprintf(stderr, "molecule serve: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (o->data_dir && o->workers > 1) {
    fprintf(stderr, "molecule serve: --data-dir keeps the tasks of one worker: use --workers 1 "
                    "with it (or run one molecule serve per data directory)\n");
    return 2;
  }
  if (!o->workers) o->workers = 1;
  return check_executor(o);
}

static int make_executor(serve *s, serve_opts *o) {
  int rc;
  if (strcmp(o->executor, "command") != 0) {
    rc = mol_echo_new(&o->echo, &s->ex);
  } else {
    s->command = 1;
    o->command.agent_name = o->name;
    rc = mol_command_executor_new(s->loop, &o->command, &s->ex);
  }
  s->ex_made = rc == 0;
  return rc;
}

/* A request about another worker's task goes to that worker's private listener. */
static int forward_to_owner(mol_http_req *r, unsigned owner, void *arg) {
  serve *s = arg;
  return mol_cli__forward(s->forward, r, s->w->pool->w[owner].private_port);
}

/* The public listener (shared by the workers) and, with several, this worker's private one. */
static int listen_all(serve *s, serve_opts *o) {
  unsigned n = s->w->pool->n;
  mol_http_server_opts ho = {.reuse_port = n > 1, .count_first_listener = 1};
  int rc = mol_http_server_new(s->loop, &ho, &s->http);
  /* Push deliveries go direct, never through a proxy from the environment: the sender checks
   * each webhook's resolved address (SSRF), which a proxy's own connection would bypass. (The
   * forward client, too, only ever goes to 127.0.0.1 directly.) */
  static const mol_http_proxy_opts direct = {0};
  mol_http_client_opts co = {.proxy = &direct};
  if (!rc) rc = mol_http_client_new(s->loop, &co, &s->client);
  if (!rc && n > 1) rc = mol_cli__forward_client(s->loop, &s->forward);
  if (!rc) rc = mol_http_server_listen(s->http, o->host, o->port);
  if (!rc && n > 1) rc = mol_http_server_listen(s->http, "127.0.0.1", 0);
  if (!rc && n > 1) s->w->private_port = mol_http_server_listener_port(s->http, 1);
  /* port 0: the first worker's choice is every worker's */
  if (!rc && s->w->index == 0) o->port = mol_http_server_port(s->http);
  return rc;
}

static int start(serve *s, serve_opts *o) {
  /* Listen first, so that with port 0 the card names the port really chosen. */
  int rc = listen_all(s, o);
  if (rc) return rc;
  int port = mol_http_server_port(s->http);
  char url[300];
  if (o->public_url) snprintf(url, sizeof(url), "%s", o->public_url);
  else snprintf(url, sizeof(url), strchr(o->host, ':') ? "http://[%s]:%d/" : "http://%s:%d/", o->host, port);
  int command = strcmp(o->executor, "command") == 0;
  mol_a2a_skill skill = {.id = o->executor, .name = command ? "Command" : "Echo",
                         .description = command ? "answers with what its handler command prints"
                                                : "replies with the text it receives",
                         .tags = (const char *const[]){o->executor}, .n_tags = 1};
  mol_a2a_card card = {.name = o->name,
                       .description = command ? "molecule command agent" : "molecule echo agent",
                       .url = url, .streaming = 1, .skills = &skill, .n_skills = 1};
  rc = make_executor(s, o);
  mol_a2a_server_opts ao = {.card = &card, .executor = &s->ex,
                            .push = {.http = s->client,
                                     .allow_private = o->allow_private_webhooks},
                            .data_dir = o->data_dir, .data_backend = mol_dp_taskdb_backend(),
                            .sync_full = o->sync_full,
                            .worker = s->w->index, .workers = s->w->pool->n,
                            .forward = s->forward ? forward_to_owner : NULL, .forward_arg = s};
  if (!rc) rc = mol_a2a_server_new(s->loop, s->http, &ao, &s->a2a);
  /* One worker: main's synchronous /metrics; several: every worker's text, merged. */
  if (!rc && s->w->pool->n == 1) rc = mol_cli__metrics_route(&s->metrics, s->http, a2a_metrics, s);
  else if (!rc) rc = mol_http_server_route(s->http, "GET", "/metrics", 0, on_metrics, s);
  if (rc) return rc;
  if (s->w->index == 0)
    mol_logi("serve", "A2A agent '%s' on %s (card at %s.well-known/agent-card.json)", o->name, url, url);
  return 0;
}

static void stop_worker(mol_cli__worker *w, void *arg) {
  (void)arg;
  on_stop(w->app);
}

/* SIGINT/SIGTERM (on worker 0's loop): every worker drains. */
static void on_stop_signal(void *arg) {
  mol_cli__pool *p = arg;
  for (unsigned i = 0; i < p->n; i++) mol_cli__post(&p->w[i], stop_worker, NULL);
}

/* Closes what start built, in the order a stop closes it, so nothing is left behind. */
static void unwind(serve *s) {
  if (s->a2a) mol_a2a_server_close(s->a2a, on_a2a_closed, s);
  else on_a2a_closed(s);
}

/* Starts every worker in turn (the first picks the port when it is 0); on a failure unwinds
 * them all. */
static int start_all(mol_cli__pool *p, serve *each, serve_opts *o) {
  int rc = 0;
  unsigned started = 0;
  for (; started < p->n && !rc; started++) {
    serve *s = &each[started];
    *s = (serve){.loop = &p->w[started].loop, .w = &p->w[started]};
    p->w[started].app = s;
    rc = start(s, o);
  }
  if (!rc) return 0;
  fprintf(stderr, "molecule serve: %s\n", mol_strerror(rc));
  for (unsigned i = 0; i < started; i++) unwind(&each[i]);
  for (unsigned i = started; i < p->n; i++) mol_cli__mailbox_close(&p->w[i]);
  return rc;
}

int mol_cli__cmd_serve(int argc, char **argv) {
  serve_opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : rc;
  mol_cli__log_from_env();
  mol_cli__pool *p;
  serve *each = calloc(o.workers, sizeof(*each));
  if (!each || mol_cli__pool_new(o.workers, &p)) {
    free(each);
    fprintf(stderr, "molecule serve: out of memory\n");
    return 1;
  }
  int failed = start_all(p, each, &o);
  if (!failed) {
    printf("listening on %s:%d\n", o.host, o.port);
    fflush(stdout);
    mol_sd_notify("READY=1"); /* every worker listens */
    mol_cli__on_stop_signal(&p->w[0].loop, on_stop_signal, p);
  }
  int ran = mol_cli__pool_run(p);
  int closed = mol_cli__pool_free(p);
  free(each);
  return failed || ran || closed ? 1 : 0;
}
