/* cmd_bench.c - `molecule bench URL`: a load generator for any A2A agent (src/bench), and
 * `molecule bench --platform URL` (cmd_bench_platform.c) for a Molecule platform. This file
 * reads the options, the prompts, runs the rounds (alternating with --compare) and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench/report.h"
#include "bench/run.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "molecule.h"

#define MAX_HEADERS 32
#define DEFAULT_TEXT "Summarise the quarterly report and list the three biggest risks."

typedef struct {
  mol_bench_opts o;
  const char *url, *compare, *prompts_file, *text;
  unsigned rounds;
  long size;
  int json, progress;
  mol_http_header headers[MAX_HEADERS];
  char *header_copies[MAX_HEADERS];
  char **prompts;
  size_t nprompts;
} bench_args;

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule bench URL [options]\n"
          "       molecule bench --platform URL [options]   (see --platform --help)\n"
          "\n"
          "Drives the A2A agent at URL (its base URL or card URL) with a workload and checks\n"
          "every answer; prints requests/s, latency percentiles and errors by kind.\n"
          "\n"
          "workload:\n"
          "  --workload W        send (default), stream, task, conversation, or a mix of\n"
          "                      weights: send=3,stream=1,task=1\n"
          "  --turns N           conversation: turns on one contextId (default 3)\n"
          "  --poll-ms N         task: tasks/get interval (default 10)\n"
          "  --text TEXT         the message text (default: a one-line request)\n"
          "  --size BYTES        a message text of that many bytes instead\n"
          "  --prompts FILE      message texts, one per line, used in turn\n"
          "protocol:\n"
          "  --protocol V        0.3 (default) or 1.0 (JSON-RPC, A2A-Version: 1.0)\n"
          "  --binding B         jsonrpc (default) or http+json (A2A 1.0 REST binding)\n"
          "  --no-card           URL is the endpoint itself; fetch no agent card\n"
          "  --header K:V        extra request header (repeatable)\n"
          "load:\n"
          "  -c, --connections N pooled connections (default: --concurrency, or 64)\n"
          "  --concurrency N     closed loop: ops at once (default: --connections)\n"
          "  -R, --rate R        open loop: R ops per second on a fixed schedule, latency\n"
          "                      measured from each op's intended start\n"
          "  -d, --duration S    measured seconds (default 10)\n"
          "  -n, --requests N    measure N ops instead of a duration\n"
          "  --warmup S          seconds run before measuring (default 1; 0 with -n)\n"
          "  --timeout-ms N      deadline of one op (default 30000)\n"
          "  --max-in-flight N   open loop: ops outstanding at most (default 100000); past\n"
          "                      it an op is counted as an 'overload' error, not sent\n"
          "output:\n"
          "  --compare URL2      run the same load against URL2 too, in alternating rounds,\n"
          "                      and print B/A ratios\n"
          "  --rounds N          rounds per target with --compare (default 3)\n"
          "  --json              one JSON object on stdout instead of the table\n"
          "  --progress / --no-progress   a progress line on stderr (default: on a TTY)\n"
          "  -h, --help          this help\n"
          "\n"
          "Exit status: 0 when the benchmark ran (errors are in the report), 1 when it could\n"
          "not (no card, bad URL), 2 on bad usage. See docs/bench.md.\n");
}

/* ---- option values ------------------------------------------------------------------------ */

static int number(const char *s, double min, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !(v >= min && v <= max)) return -1;
  *out = v;
  return 0;
}

static int whole(const char *s, double min, double max, unsigned long long *out) {
  double v;
  if (number(s, min, max, &v) || v != (double)(unsigned long long)v) return -1;
  *out = (unsigned long long)v;
  return 0;
}

/* "send" or "send=3,stream=1". */
static int parse_workload(const char *s, int *weights) {
  char buf[256];
  memset(weights, 0, sizeof(int) * MOL_BENCH_NWORK);
  if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf)) return -1;
  for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    unsigned long long w = 1;
    if (eq) *eq = '\0';
    int k = mol_bench_workload_parse(item);
    if (k < 0 || (eq && whole(eq + 1, 0, 1000000, &w))) return -1;
    weights[k] += (int)w;
  }
  for (int k = 0; k < MOL_BENCH_NWORK; k++)
    if (weights[k]) return 0;
  return -1;
}

static int add_header(bench_args *a, const char *kv) {
  const char *colon = strchr(kv, ':');
  if (!colon || colon == kv || a->o.nheaders == MAX_HEADERS) return -1;
  char *copy = strdup(kv);
  if (!copy) return -1;
  char *value = copy + (colon - kv);
  *value++ = '\0';
  while (*value == ' ' || *value == '\t') value++;
  a->header_copies[a->o.nheaders] = copy;
  a->headers[a->o.nheaders++] = (mol_http_header){copy, value};
  return 0;
}

enum { O_CONC = 256, O_WARMUP, O_TIMEOUT, O_MAXIN, O_TURNS, O_POLL, O_TEXT, O_SIZE, O_PROMPTS,
       O_PROTO, O_BINDING, O_NOCARD, O_HEADER, O_COMPARE, O_ROUNDS, O_JSON, O_PROGRESS, O_NOPROGRESS,
       O_WORKLOAD };

static const struct option longs[] = {
  {"workload", required_argument, 0, O_WORKLOAD}, {"turns", required_argument, 0, O_TURNS},
  {"poll-ms", required_argument, 0, O_POLL}, {"text", required_argument, 0, O_TEXT},
  {"size", required_argument, 0, O_SIZE}, {"prompts", required_argument, 0, O_PROMPTS},
  {"protocol", required_argument, 0, O_PROTO}, {"binding", required_argument, 0, O_BINDING},
  {"no-card", no_argument, 0, O_NOCARD}, {"header", required_argument, 0, O_HEADER},
  {"connections", required_argument, 0, 'c'}, {"concurrency", required_argument, 0, O_CONC},
  {"rate", required_argument, 0, 'R'}, {"duration", required_argument, 0, 'd'},
  {"requests", required_argument, 0, 'n'}, {"warmup", required_argument, 0, O_WARMUP},
  {"timeout-ms", required_argument, 0, O_TIMEOUT}, {"max-in-flight", required_argument, 0, O_MAXIN},
  {"compare", required_argument, 0, O_COMPARE}, {"rounds", required_argument, 0, O_ROUNDS},
  {"json", no_argument, 0, O_JSON}, {"progress", no_argument, 0, O_PROGRESS},
  {"no-progress", no_argument, 0, O_NOPROGRESS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* One option with its value; 0, or -1 when the value is bad. */
static int apply_option(bench_args *a, int c, const char *v, int *warmup_set) {
  unsigned long long n = 0;
  double d = 0;
  switch (c) {
    case O_WORKLOAD: return parse_workload(v, a->o.weights);
    case O_TURNS: if (whole(v, 1, 1000, &n)) return -1; a->o.turns = (unsigned)n; return 0;
    case O_POLL: if (whole(v, 1, 60000, &n)) return -1; a->o.poll_ms = (unsigned)n; return 0;
    case O_TEXT: a->text = v; return 0;
    case O_SIZE: if (whole(v, 1, 64 << 20, &n)) return -1; a->size = (long)n; return 0;
    case O_PROMPTS: a->prompts_file = v; return 0;
    case O_PROTO:
      if (!strcmp(v, "1.0")) a->o.binding = a->o.binding == MOL_BENCH_HTTP_JSON ? a->o.binding : MOL_BENCH_JSONRPC_V10;
      else if (strcmp(v, "0.3") != 0 || a->o.binding == MOL_BENCH_HTTP_JSON) return -1;
      return 0;
    case O_BINDING:
      if (!strcasecmp(v, "http+json") || !strcasecmp(v, "rest")) a->o.binding = MOL_BENCH_HTTP_JSON;
      else if (strcasecmp(v, "jsonrpc") != 0) return -1;
      return 0;
    case O_NOCARD: a->o.no_card = 1; return 0;
    case O_HEADER: return add_header(a, v);
    case 'c': if (whole(v, 1, 100000, &n)) return -1; a->o.connections = (unsigned)n; return 0;
    case O_CONC: if (whole(v, 1, 1000000, &n)) return -1; a->o.concurrency = (unsigned)n; return 0;
    case 'R': if (number(v, 0.001, 10000000, &d)) return -1; a->o.rate = d; return 0;
    case 'd': if (number(v, 0.01, 86400 * 7, &d)) return -1; a->o.duration_s = d; return 0;
    case 'n': if (whole(v, 1, 1e15, &n)) return -1; a->o.requests = n; return 0;
    case O_WARMUP: if (number(v, 0, 86400, &d)) return -1; a->o.warmup_s = d; *warmup_set = 1; return 0;
    case O_TIMEOUT: if (whole(v, 1, 86400000, &n)) return -1; a->o.timeout_ms = (unsigned)n; return 0;
    case O_MAXIN: if (whole(v, 1, 10000000, &n)) return -1; a->o.max_in_flight = (unsigned)n; return 0;
    case O_COMPARE: a->compare = v; return 0;
    case O_ROUNDS: if (whole(v, 1, 1000, &n)) return -1; a->rounds = (unsigned)n; return 0;
    case O_JSON: a->json = 1; return 0;
    case O_PROGRESS: a->progress = 1; return 0;
    case O_NOPROGRESS: a->progress = 0; return 0;
    default: return -1;
  }
}

/* 0 to run, 1 after --help, 2 on bad usage (said on stderr). */
static int parse_args(int argc, char **argv, bench_args *a) {
  int c, warmup_set = 0;
  a->progress = isatty(2);
  a->rounds = 3;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hc:R:d:n:", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 1;
    }
    if (c == '?' || c == ':') return mol_cli__option_error("bench", argv, c);
    if (apply_option(a, c, optarg, &warmup_set) != 0) {
      const char *bad = argv[optind - 1];
      return mol_cli__usage_error("bench", "bad option or value '%s%s%s'", bad, optarg ? " " : "",
                                  optarg ? optarg : "");
    }
  }
  if (optind + 1 != argc) {
    return mol_cli__usage_error("bench", "%s", optind < argc ? "one URL only" : "missing URL");
  }
  a->url = argv[optind];
  if (!warmup_set) a->o.warmup_s = a->o.requests ? 0 : 1;
  if (a->o.rate > 0 && a->o.concurrency) {
    fprintf(stderr, "molecule bench: --concurrency is for the closed loop; --rate sets the load\n");
    return 2;
  }
  a->o.headers = a->headers;
  return 0;
}

/* ---- prompts ------------------------------------------------------------------------------- */

static int add_prompt(bench_args *a, const char *text, size_t len) {
  char **p = realloc(a->prompts, (a->nprompts + 1) * sizeof(*p));
  if (!p) return -1;
  a->prompts = p;
  if (!(p[a->nprompts] = mol_bench_json_string(text, len))) return -1;
  a->nprompts++;
  return 0;
}

static int load_prompts_file(bench_args *a) {
  FILE *f = fopen(a->prompts_file, "r");
  if (!f) {
    fprintf(stderr, "molecule bench: cannot read %s\n", a->prompts_file);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  while (!rc && (n = getline(&line, &cap, f)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (n > 0 && add_prompt(a, line, (size_t)n) != 0) {
      fprintf(stderr, "molecule bench: %s: a line is not UTF-8 text\n", a->prompts_file);
      rc = -1;
    }
  }
  free(line);
  fclose(f);
  if (!rc && !a->nprompts) {
    fprintf(stderr, "molecule bench: %s holds no prompt\n", a->prompts_file);
    rc = -1;
  }
  return rc;
}

static int load_prompts(bench_args *a) {
  if ((a->prompts_file != NULL) + (a->text != NULL) + (a->size > 0) > 1) {
    fprintf(stderr, "molecule bench: give one of --text, --size and --prompts\n");
    return -1;
  }
  if (a->prompts_file) return load_prompts_file(a);
  if (a->size > 0) {
    static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit ";
    char *t = malloc((size_t)a->size);
    for (long i = 0; t && i < a->size; i++) t[i] = words[i % (sizeof(words) - 1)];
    int rc = t ? add_prompt(a, t, (size_t)a->size) : -1;
    free(t);
    return rc;
  }
  if (add_prompt(a, a->text ? a->text : DEFAULT_TEXT, strlen(a->text ? a->text : DEFAULT_TEXT))) {
    fprintf(stderr, "molecule bench: --text is not UTF-8 text\n");
    return -1;
  }
  return 0;
}

/* ---- running and printing ------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1; /* SA_RESETHAND: the next one takes the default action */
}

const volatile sig_atomic_t *mol_cli__bench_on_interrupt(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return &interrupted;
}

static int print_json(json_t *o) {
  if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) != 0) {
    json_decref(o);
    fprintf(stderr, "molecule bench: out of memory writing the report\n");
    return 1;
  }
  fputc('\n', stdout);
  json_decref(o);
  return 0;
}

/* One run into *acc (merged); 0 or 1 after saying why. */
static int run_round(bench_args *a, const char *url, const char *label, mol_bench_result *acc,
                     mol_bench_result *scratch) {
  char err[512] = "";
  a->o.label = label;
  int rc = mol_bench_run(url, &a->o, scratch, err, sizeof(err));
  if (rc) {
    fprintf(stderr, "molecule bench: %s: %s\n", url, err[0] ? err : mol_strerror(rc));
    return 1;
  }
  mol_bench_result_merge(acc, scratch);
  return 0;
}

static int run_all(bench_args *a) {
  mol_bench_result *res = calloc(3, sizeof(*res)); /* A, B, one round */
  if (!res) return 1;
  for (int t = 0; t < 2; t++)
    for (int w = 0; w < MOL_BENCH_NWORK; w++) mol_bench_stats_init(&res[t].work[w]);
  a->o.progress = a->progress;
  a->o.interrupt = mol_cli__bench_on_interrupt();
  a->o.prompts = a->prompts;
  a->o.nprompts = a->nprompts;
  unsigned rounds = a->compare ? a->rounds : 1;
  int rc = 0;
  for (unsigned i = 0; !rc && i < rounds && !interrupted; i++) {
    rc = run_round(a, a->url, a->compare ? "A" : NULL, &res[0], &res[2]);
    if (!rc && a->compare && !interrupted) rc = run_round(a, a->compare, "B", &res[1], &res[2]);
  }
  if (!rc && a->json && !a->compare) {
    rc = print_json(mol_bench_report_json(a->url, &res[0]));
  } else if (!rc && a->json) {
    json_t *o = json_pack("{s:o, s:o, s:o, s:i}", "a", mol_bench_report_json(a->url, &res[0]), "b",
                          mol_bench_report_json(a->compare, &res[1]), "ratio_b_to_a",
                          mol_bench_report_compare_json(&res[0], &res[1]), "rounds", (int)rounds);
    rc = print_json(o);
  } else if (!rc) {
    mol_bench_report_text(stdout, a->url, &res[0]);
    if (a->compare) {
      printf("\n");
      mol_bench_report_text(stdout, a->compare, &res[1]);
      mol_bench_report_compare_text(stdout, &res[0], &res[1]);
    }
  }
  free(res);
  return rc;
}

int mol_cli__cmd_bench(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--platform") || !strncmp(argv[i], "--platform=", 11))
      return mol_cli__bench_platform(argc, argv);
  bench_args a = {.o = {.binding = MOL_BENCH_JSONRPC_V03}};
  int rc = parse_args(argc, argv, &a);
  if (rc == 1) rc = 0; /* --help */
  else if (rc == 0 && load_prompts(&a) != 0) rc = 2;
  else if (rc == 0) rc = -1;
  if (rc == -1) {
    mol_log_set_level(MOL_LOG_ERROR);
    rc = run_all(&a);
  }
  for (size_t i = 0; i < a.o.nheaders; i++) free(a.header_copies[i]);
  for (size_t i = 0; i < a.nprompts; i++) free(a.prompts[i]);
  free(a.prompts);
  return rc;
}
