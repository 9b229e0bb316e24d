/* cmd_dev.c - `molecule dev`: the whole system on one machine, on one loop.
 *
 * Starts the embedded platform on a SQLite file, makes (or finds, on a second run) a small
 * organisation - a coordinator with two workers under it - starts their agents on one
 * listener, and sends a demo question to the coordinator through the platform's A2A proxy, as
 * the canvas would. The coordinator asks both workers through the proxy too, and answers with
 * their replies. A status view follows (redrawn in place on a terminal, plain lines
 * otherwise) until Ctrl-C. With HERMES_API_BASE set, the workers use that OpenAI-compatible
 * backend instead of their built-in answers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/dev_agents.h"
#include "cli/dev_org.h"
#include "devplatform/devplatform.h"
#include "molecule/uv.h"
#include "runtime/agent.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule dev [options]\n"
          "\n"
          "Runs the development platform with a coordinator and two worker agents, sends them a\n"
          "demo question through the platform, and shows their status until Ctrl-C.\n"
          "\n"
          "  --db FILE                 platform database (default ./molecule-dev.db); the agents'\n"
          "                            tokens are kept beside it in FILE.tokens/\n"
          "  --platform-listen H:P     platform address (default 127.0.0.1:8080)\n"
          "  --listen H:P              agents' address (default 127.0.0.1:8000)\n"
          "  --question TEXT           the demo question\n"
          "  --once                    exit after the demo answer (for scripts and tests)\n"
          "  -h, --help                this help\n"
          "\n"
          "Set HERMES_API_BASE (and API_SERVER_KEY) to have the workers answer with an\n"
          "OpenAI-compatible backend.\n");
}

static int parse(int argc, char **argv, dev_opts *o) {
  static const struct option longs[] = {
    {"db", required_argument, 0, 'd'}, {"platform-listen", required_argument, 0, 'p'},
    {"listen", required_argument, 0, 'l'}, {"question", required_argument, 0, 'q'},
    {"once", no_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  o->db = "molecule-dev.db";
  snprintf(o->platform_host, sizeof(o->platform_host), "127.0.0.1");
  o->platform_port = 8080;
  snprintf(o->agents_host, sizeof(o->agents_host), "127.0.0.1");
  o->agents_port = 8000;
  o->question = "What should we ship this week?";
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
    switch (c) {
      case 'd': o->db = optarg; break;
      case 'p':
        if (mol_cli__parse_hostport(optarg, o->platform_host, sizeof(o->platform_host), &o->platform_port)) goto bad;
        break;
      case 'l':
        if (mol_cli__parse_hostport(optarg, o->agents_host, sizeof(o->agents_host), &o->agents_port)) goto bad;
        break;
      case 'q': o->question = optarg; break;
      case 'o': o->once = 1; break;
      case 'h': usage(stdout); return 1;
      default: return mol_cli__option_error("dev", argv, c);
    }
  }
  return 0;
bad:
  fprintf(stderr, "molecule dev: bad address '%s' (want HOST:PORT)\n", optarg);
  return 2;
}

int mol_cli__cmd_dev(int argc, char **argv) {
  dev_opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : rc;
  mol_cli__log_from_env();
  return mol_cli__dev_run(&o);
}
