/* cmd_bench_platform.c - `molecule bench --platform URL`: simulated agents against a Molecule
 * platform (src/bench/platform.h); options, then the table or --json. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/platform.h"
#include "bench/report.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "molecule.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule bench --platform URL [options]\n"
          "\n"
          "Runs N simulated agents against the Molecule platform at URL: each registers,\n"
          "heartbeats every interval and polls its state; with --a2a-rate they also message\n"
          "each other through the platform's A2A proxy (an echo agent in this process\n"
          "answers). Prints calls/s, the platform's latency percentiles and errors by kind.\n"
          "\n"
          "  --agents N          simulated agents (default 100)\n"
          "  --tokens FILE       their workspaces, '<id> <token>' per line; without it they\n"
          "                      are created through the admin API (POST /workspaces)\n"
          "  --admin-token T     bearer for creating workspaces (the dev platform on\n"
          "                      loopback needs none)\n"
          "  --heartbeat-ms N    heartbeat interval of each agent (default 1000)\n"
          "  --poll-ms N         state poll interval of each agent (default 5000)\n"
          "  --no-poll           no state polls\n"
          "  --a2a-rate R        A2A messages per second through the proxy, in all (default 0)\n"
          "  --agent-url URL     the URL agents register (default: this process's echo\n"
          "                      agent on 127.0.0.1, reachable by a platform on this host)\n"
          "  -c, --connections N pooled connections to the platform (default 64)\n"
          "  -d, --duration S    measured seconds (default 10)\n"
          "  --warmup S          seconds before measuring (default 1)\n"
          "  --timeout-ms N      deadline of one call (default 10000)\n"
          "  --json              one JSON object on stdout\n"
          "  --progress / --no-progress\n"
          "  -h, --help          this help\n");
}

enum { P_PLATFORM = 300, P_AGENTS, P_TOKENS, P_ADMIN, P_HB, P_POLL, P_NOPOLL, P_RATE, P_URL,
       P_WARMUP, P_TIMEOUT, P_JSON, P_PROGRESS, P_NOPROGRESS };

static const struct option longs[] = {
  {"platform", required_argument, 0, P_PLATFORM}, {"agents", required_argument, 0, P_AGENTS},
  {"tokens", required_argument, 0, P_TOKENS}, {"admin-token", required_argument, 0, P_ADMIN},
  {"heartbeat-ms", required_argument, 0, P_HB}, {"poll-ms", required_argument, 0, P_POLL},
  {"no-poll", no_argument, 0, P_NOPOLL}, {"a2a-rate", required_argument, 0, P_RATE},
  {"agent-url", required_argument, 0, P_URL}, {"connections", required_argument, 0, 'c'},
  {"duration", required_argument, 0, 'd'}, {"warmup", required_argument, 0, P_WARMUP},
  {"timeout-ms", required_argument, 0, P_TIMEOUT}, {"json", no_argument, 0, P_JSON},
  {"progress", no_argument, 0, P_PROGRESS}, {"no-progress", no_argument, 0, P_NOPROGRESS},
  {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int num(const char *s, double min, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !(v >= min && v <= max)) return -1;
  *out = v;
  return 0;
}

static int apply(mol_bench_platform_opts *o, int c, const char *v, int *json) {
  double d = 0;
  switch (c) {
    case P_PLATFORM: o->platform_url = v; return 0;
    case P_TOKENS: o->tokens_file = v; return 0;
    case P_ADMIN: o->admin_token = v; return 0;
    case P_URL: o->agent_url = v; return 0;
    case P_NOPOLL: o->no_poll = 1; return 0;
    case P_JSON: *json = 1; return 0;
    case P_PROGRESS: o->progress = 1; return 0;
    case P_NOPROGRESS: o->progress = 0; return 0;
    case P_AGENTS: if (num(v, 1, 1000000, &d) || d != (unsigned)d) return -1; o->agents = (unsigned)d; return 0;
    case P_HB: if (num(v, 1, 3600000, &d)) return -1; o->heartbeat_ms = (unsigned)d; return 0;
    case P_POLL: if (num(v, 1, 3600000, &d)) return -1; o->poll_ms = (unsigned)d; return 0;
    case P_RATE: if (num(v, 0, 1000000, &d)) return -1; o->a2a_rate = d; return 0;
    case 'c': if (num(v, 1, 100000, &d)) return -1; o->connections = (unsigned)d; return 0;
    case 'd': if (num(v, 0.01, 604800, &d)) return -1; o->duration_s = d; return 0;
    case P_WARMUP: if (num(v, 0, 86400, &d)) return -1; o->warmup_s = d; return 0;
    case P_TIMEOUT: if (num(v, 1, 86400000, &d)) return -1; o->timeout_ms = (unsigned)d; return 0;
    default: return -1;
  }
}

static void print_text(const mol_bench_platform_opts *o, const mol_bench_platform_result *r) {
  printf("platform      %s\n", o->platform_url);
  char poll[32] = "(off)";
  if (!o->no_poll) snprintf(poll, sizeof(poll), "%u ms", o->poll_ms ? o->poll_ms : 5000);
  printf("agents        %u, heartbeat every %u ms, state every %s, A2A %.1f/s through the proxy\n",
         r->agents, o->heartbeat_ms ? o->heartbeat_ms : 1000, poll, o->a2a_rate);
  printf("measured      %.2f s (register: all agents, before it)\n\n", r->elapsed_s);
  mol_bench_report_header(stdout, "call");
  for (int k = 0; k < MOL_BENCH_P_N; k++) {
    const mol_bench_stats *s = &r->kind[k];
    if (s->ok || s->errors)
      mol_bench_report_row(stdout, mol_bench_platform_kind_name(k), s, k ? r->elapsed_s : 0);
  }
  printf("(latency from each call's scheduled moment; errors are counted, never timed)\n");
  int errors = 0;
  for (int k = 0; k < MOL_BENCH_P_N; k++) errors += r->kind[k].errors > 0;
  if (errors) printf("\nerrors by kind:\n");
  for (int k = 0; errors && k < MOL_BENCH_P_N; k++)
    mol_bench_report_errors(stdout, mol_bench_platform_kind_name(k), &r->kind[k]);
}

static int print_json(const mol_bench_platform_opts *o, const mol_bench_platform_result *r) {
  json_t *root = json_object(), *calls = json_object();
  json_object_set_new(root, "platform", json_string(o->platform_url));
  json_object_set_new(root, "agents", json_integer(r->agents));
  json_object_set_new(root, "seconds", json_real(r->elapsed_s));
  json_object_set_new(root, "rss_max_kb", json_integer(r->rss_max_kb));
  for (int k = 0; k < MOL_BENCH_P_N; k++)
    json_object_set_new(calls, mol_bench_platform_kind_name(k),
                        mol_bench_report_stats_json(&r->kind[k], k ? r->elapsed_s : 0));
  json_object_set_new(root, "calls", calls);
  int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
  fputc('\n', stdout);
  json_decref(root);
  return rc ? 1 : 0;
}

int mol_cli__bench_platform(int argc, char **argv) {
  mol_bench_platform_opts o = {.progress = isatty(2), .warmup_s = 1};
  int c, json = 0;
  for (int i = 1; i < argc; i++) /* before getopt, which would take it for --platform's URL */
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hc:d:", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == '?' || c == ':') return mol_cli__option_error("bench", argv, c);
    if (apply(&o, c, optarg, &json)) {
      return mol_cli__usage_error("bench", "bad option or value '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc || !o.platform_url ||
      (strncmp(o.platform_url, "http://", 7) != 0 && strncmp(o.platform_url, "https://", 8) != 0)) {
    return mol_cli__usage_error("bench", "--platform wants one http(s) URL and no other");
  }
  mol_log_set_level(MOL_LOG_ERROR);
  o.interrupt = mol_cli__bench_on_interrupt();
  mol_bench_platform_result *r = calloc(1, sizeof(*r));
  char err[512] = "";
  int rc = r ? mol_bench_platform_run(&o, r, err, sizeof(err)) : MOL_ENOMEM;
  if (rc) fprintf(stderr, "molecule bench: %s\n", err[0] ? err : mol_strerror(rc));
  else if (json) rc = print_json(&o, r);
  else print_text(&o, r);
  free(r);
  return rc ? 1 : 0;
}
