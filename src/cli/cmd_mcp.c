/* cmd_mcp.c - `molecule mcp`: the workspace's tools served to an MCP client (Claude Code,
 * hermes, codex, ...) over stdio, the transport such clients launch a local server with
 * (docs/mcp.md). The workspace identity comes the way `molecule connect` reads it: flags, then
 * PLATFORM_URL / WORKSPACE_ID (or their MOLECULE_ forms), the token from
 * MOLECULE_WORKSPACE_TOKEN or the token file. stdout carries MCP messages only; logs go to
 * stderr. End of stdin drains the calls in flight and exits 0; SIGINT/SIGTERM cancel them
 * (each still answered) and exit 0; a broken stdout exits 1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "mcp/stdio_transport.h"
#include "mcp/toolset.h"
#include "molecule.h"
#include "molecule/uv.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule mcp [--platform-url URL] [--workspace-id ID] [--token-dir DIR]\n"
          "                    [--org-id ID] [--call-timeout-s N]\n"
          "\n"
          "Serves the workspace's tools to an MCP client over stdio: one JSON-RPC message per\n"
          "line on stdin, one answer per line on stdout, logs on stderr. Requests run\n"
          "concurrently. End of stdin lets the calls in flight finish, then exits 0;\n"
          "SIGINT/SIGTERM cancel them (each is still answered) and exit 0; 1 when stdout\n"
          "breaks; 2 on a bad command line.\n"
          "\n"
          "Environment: PLATFORM_URL (or MOLECULE_PLATFORM_URL), WORKSPACE_ID (or\n"
          "MOLECULE_WORKSPACE_ID), MOLECULE_WORKSPACE_TOKEN, MOLECULE_TOKEN_DIR,\n"
          "MOLECULE_ORG_ID, MOLECULE_ORIGIN, MOLECULE_LOG_LEVEL, MOLECULE_MCP_TEST_TOOLS=1 (adds\n"
          "the diagnostic tools).\n"
          "Defaults: --token-dir ~/.molecule/<id> (token in .auth_token), --call-timeout-s 300.\n");
}

typedef struct {
  mol_platform_opts po;
  unsigned call_timeout_s;
} mcp_args;

static int parse(int argc, char **argv, mcp_args *a) {
  static const struct option longs[] = {
    {"platform-url", required_argument, 0, 'u'}, {"workspace-id", required_argument, 0, 'w'},
    {"token-dir", required_argument, 0, 'd'},    {"org-id", required_argument, 0, 'o'},
    {"call-timeout-s", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
    switch (c) {
      case 'u': a->po.platform_url = optarg; break;
      case 'w': a->po.workspace_id = optarg; break;
      case 'd': a->po.token_dir = optarg; break;
      case 'o': a->po.org_id = optarg; break;
      case 'T': {
        char *end;
        long v = strtol(optarg, &end, 10);
        if (!*optarg || *end || v < 1 || v > 86400) {
          fprintf(stderr, "molecule mcp: --call-timeout-s wants 1 to 86400, not '%s'\n", optarg);
          return 2;
        }
        a->call_timeout_s = (unsigned)v;
        break;
      }
      case 'h': usage(stdout); return 1;
      default: return mol_cli__option_error("mcp", argv, c);
    }
  }
  if (optind < argc) {
    fprintf(stderr, "molecule mcp: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (mol_platform_opts_from_env(&a->po)) {
    fprintf(stderr, "molecule mcp: the platform URL and workspace id are required "
                    "(--platform-url / PLATFORM_URL, --workspace-id / WORKSPACE_ID)\n");
    return 2;
  }
  if (!a->call_timeout_s) a->call_timeout_s = 300;
  return 0;
}

typedef struct {
  mol_mcp_stdio *io;
  mol_platform_client *pc;
  int ended, err;
} mcp_run;

static void on_stop_signal(void *arg) {
  mcp_run *r = arg;
  mol_logi("mcp", "stopping: canceling the calls in flight");
  mol_mcp_stdio_stop(r->io);
}

static void on_io_end(int err, void *arg) {
  mcp_run *r = arg;
  r->ended = 1;
  r->err = err;
  mol_cli__signals_close();
  mol_platform_client_close(r->pc, NULL, NULL);
}

int mol_cli__cmd_mcp(int argc, char **argv) {
  mcp_args a = {0};
  int rc = parse(argc, argv, &a);
  if (rc) return rc == 1 ? 0 : rc;
  mol_cli__log_from_env();
  uv_loop_t loop;
  uv_loop_init(&loop);
  mcp_run run = {0};
  if ((rc = mol_platform_client_new(&loop, &a.po, &run.pc))) {
    fprintf(stderr, "molecule mcp: %s\n", mol_strerror(rc));
    uv_loop_close(&loop);
    return 2;
  }
  mol_tool_env env = {.loop = &loop, .platform = run.pc, .workspace_id = a.po.workspace_id};
  mol_mcp_toolset ts = {0};
  int tools_rc = mol_mcp_toolset_init(&ts, &env);
  mol_tools *tools = tools_rc ? NULL : ts.reg;
  mol_mcp_stdio_opts so = {
      .session = {.tools = tools, .call_timeout_ms = a.call_timeout_s * 1000u},
      .in_fd = 0,
      .out_fd = 1,
  };
  rc = tools ? mol_mcp_stdio_start(&loop, &so, on_io_end, &run, &run.io) : MOL_ENOMEM;
  if (rc) {
    fprintf(stderr, "molecule mcp: cannot serve stdio: %s\n", mol_strerror(rc));
    mol_platform_client_close(run.pc, NULL, NULL);
  } else {
    mol_logi("mcp", "serving %zu tools for workspace %s on stdio", mol_tools_count(tools),
             a.po.workspace_id);
    mol_cli__on_stop_signal(&loop, on_stop_signal, &run);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (tools) mol_mcp_toolset_free(&ts);
  uv_run(&loop, UV_RUN_DEFAULT);
  int closed = uv_loop_close(&loop) == 0;
  if (rc) return 1;
  return run.err || !closed ? 1 : 0;
}
