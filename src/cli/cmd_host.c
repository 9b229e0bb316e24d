/* cmd_host.c - `molecule host -c FILE`: the agents of a host file on one loop and one listener
 * (docs/host.md). SIGINT/SIGTERM stop every agent gracefully; the exit status is 0 then. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sdnotify.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/host_reload.h"
#include "cli/host_workers.h"
#include "cli/workers.h"
#include "devplatform/taskdb.h"
#include "molecule.h"
#include "runtime/host.h"
#include "runtime/preflight.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule host -c FILE [--listen HOST:PORT] [--log-json] [--workers N]\n"
          "\n"
          "Runs every agent of a host file (docs/host.md) behind one listener:\n"
          "/agents/<name>/ per agent, GET /metrics (Prometheus) and GET /health.\n"
          "SIGHUP reads the file again: agents added start, removed ones stop, changed ones\n"
          "restart, the others run on (a file that does not load changes nothing); not with\n"
          "--workers N > 1, where SIGHUP is logged and ignored.\n"
          "SIGINT/SIGTERM stop every agent gracefully.\n"
          "\n"
          "  -c, --config FILE    the host file (YAML)\n"
          "  --listen HOST:PORT   overrides the file's listen:\n"
          "  --log-json           JSON-lines logs (overrides the file's log.format)\n"
          "  --workers N|auto     N event loops on N threads sharing the port, the agents\n"
          "                       spread over them (default 1; auto = the CPUs)\n"
          "  --check              only check the file and run the preflight checks\n"
          "                       ([FAIL]/[WARN] lines with a Fix:), then exit: 0 ok, 1 a\n"
          "                       check failed, 2 a bad file\n"
          "  -h, --help           this help\n");
}

typedef struct {
  const char *config;
  char host[128];
  int port, have_listen, log_json, check;
  unsigned workers;
} host_args;

static int parse(int argc, char **argv, host_args *a) {
  static const struct option longs[] = {
    {"config", required_argument, 0, 'c'}, {"listen", required_argument, 0, 'l'},
    {"log-json", no_argument, 0, 'j'},     {"check", no_argument, 0, 'k'},
    {"workers", required_argument, 0, 'w'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:h", longs, NULL)) != -1) {
    switch (c) {
      case 'c': a->config = optarg; break;
      case 'l':
        if (mol_cli__parse_hostport(optarg, a->host, sizeof(a->host), &a->port)) {
          fprintf(stderr, "molecule host: bad --listen '%s' (want HOST:PORT)\n", optarg);
          return 2;
        }
        a->have_listen = 1;
        break;
      case 'j': a->log_json = 1; break;
      case 'k': a->check = 1; break;
      case 'w':
        if (!(a->workers = mol_cli__workers_arg("host", optarg))) return 2;
        break;
      case 'h': usage(stdout); return 1;
      default: return mol_cli__option_error("host", argv, c);
    }
  }
  if (!a->config && optind == argc - 1) a->config = argv[optind++]; /* host --check FILE */
  if (!a->config) return mol_cli__usage_error("host", "missing -c FILE (the host file)");
  if (optind < argc) return mol_cli__usage_error("host", "unexpected argument '%s'", argv[optind]);
  return 0;
}

/* The file's log: section, then the environment and --log-level/--log-format over it. */
static void apply_logging(const host_args *a, const mol_host_config *cfg) {
  mol_log_level lv;
  if (cfg->log_level && mol_log_level_parse(cfg->log_level, &lv) == 0) mol_log_set_level(lv);
  if (cfg->log_json) mol_log_set_format(MOL_LOG_JSON);
  mol_cli__log_from_env();
  if (a->log_json) mol_log_set_format(MOL_LOG_JSON);
}

static void on_stop_signal(void *arg) { mol_host_stop(arg); }

static void on_host_end(mol_host *h, void *arg) {
  (void)h;
  (void)arg;
  mol_cli__signals_close();
  mol_cli__host_reload_close();
}

static void on_agent_end(mol_host *h, const char *name, mol_agent_end why, int err, void *arg) {
  (void)h;
  (void)arg;
  if (why == MOL_AGENT_FAILED)
    mol_logx(MOL_LOG_ERROR, "host", MOL_FIELDS(MOL_F_STR("agent", name), MOL_F_ERR(err)),
             "agent %s failed: %s", name, mol_strerror(err));
}

/* --check: the file loaded; now the preflight checks (exit 1 on a failure, as upstream). */
static int check_only(const host_args *a, mol_host_config *cfg) {
  char *dir = strdup(a->config), *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = '\0';
  int fails = mol_host_preflight(cfg, slash ? dir : ".", stdout);
  printf("%s: %zu agents, %s\n", a->config, cfg->n_agents,
         fails ? "preflight failed" : "ok");
  free(dir);
  mol_host_config_free(cfg);
  return fails ? 1 : 0;
}

int mol_cli__cmd_host(int argc, char **argv) {
  host_args a = {0};
  int rc = parse(argc, argv, &a);
  if (rc) return rc == 1 ? 0 : rc;
  mol_host_config cfg;
  char err[512];
  if (mol_host_config_load(a.config, &cfg, err, sizeof(err))) {
    fprintf(stderr, "molecule host: %s\n", err);
    return 2;
  }
  if (a.have_listen) {
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "%s", a.host);
    cfg.listen_port = a.port;
  }
  if (a.check) return check_only(&a, &cfg);
  cfg.data_backend = mol_dp_taskdb_backend(); /* data_dir's stores in SQLite */
  apply_logging(&a, &cfg);
  if (a.workers > 1) {
    rc = mol_cli__host_workers(&cfg, a.config, a.workers);
    mol_host_config_free(&cfg);
    return rc;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_host *h = NULL;
  mol_host_callbacks cbs = {.on_agent_end = on_agent_end, .on_end = on_host_end};
  char listen_host[sizeof(cfg.listen_host)]; /* the host takes cfg */
  snprintf(listen_host, sizeof(listen_host), "%s", cfg.listen_host);
  rc = mol_host_start_config(&loop, &cfg, &cbs, &h);
  if (rc) {
    fprintf(stderr, "molecule host: %s\n", mol_strerror(rc));
    uv_run(&loop, UV_RUN_DEFAULT); /* what started winds down */
  } else {
    printf("listening on %s:%d\n", listen_host, mol_host_port(h));
    fflush(stdout);
    mol_sd_notify("READY=1");
    mol_cli__on_stop_signal(&loop, on_stop_signal, h);
    mol_cli__host_reload_on_sighup(&loop, h, a.config, a.have_listen ? a.host : NULL, a.port);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  mol_host_config_free(&cfg);
  uv_run(&loop, UV_RUN_DEFAULT);
  int closed = uv_loop_close(&loop) == 0;
  return rc ? 1 : closed ? 0 : 1;
}
