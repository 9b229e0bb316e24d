/* main.c - the `molecule` command: takes the shared logging options (cli_log.c), then
 * dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "base/sdnotify.h"
#include "cli/cli_util.h"
#include "molecule.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli_command;

static const cli_command commands[] = {
  {"dev", mol_cli__cmd_dev, "run the platform with three demo agents talking A2A through it"},
  {"serve", mol_cli__cmd_serve, "run one A2A agent (echo executor) on a listener"},
  {"plugin", mol_cli__cmd_plugin, "install, list, remove or hash plugins"},
  {"validate", mol_cli__cmd_validate, "check a plugin, workspace or org template, or channel file"},
  {"platform", mol_cli__cmd_platform, "run the development platform, or operate a running one"},
  {"call", mol_cli__cmd_call, "send one A2A message to an agent and print the reply"},
  {"task", mol_cli__cmd_task, "get or cancel an A2A task by its id"},
  {"bench", mol_cli__cmd_bench, "load-test an A2A agent or a Molecule platform, every answer checked"},
  {"host", mol_cli__cmd_host, "run the agents of a host file on one loop and one listener"},
  {"connect", mol_cli__cmd_connect, "run a workspace's agent that answers with a handler command"},
  {"mcp", mol_cli__cmd_mcp, "serve the workspace's tools to an MCP client over stdio"},
  {"peers", mol_cli__cmd_peers, "as a workspace: list the peers it may talk to"},
  {"delegate", mol_cli__cmd_delegate, "as a workspace: send a task to a peer and print its reply"},
  {"notify", mol_cli__cmd_notify, "as a workspace: post a message to its canvas chat"},
  {"secrets", mol_cli__cmd_secrets, "as a workspace: print its secrets (NAME=VALUE, or one value)"},
  {"status", mol_cli__cmd_status, "as a workspace: set its current task"},
  {NULL, NULL, NULL},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule [--help] [--version] <command> [options]\n"
          "\n"
          "molecule runs Molecule AI agents on one libuv event loop.\n"
          "\n"
          "commands:\n");
  for (const cli_command *c = commands; c->name; c++) fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fprintf(out,
          "\n"
          "options:\n"
          "  -h, --help      show this help and exit\n"
          "  -V, --version   print the version and exit\n"
          "\n"
          "Run 'molecule <command> --help' for a command's options.\n"
          "The 'as a workspace' verbs are for handler scripts: inside 'molecule connect' they\n"
          "know the platform, the workspace and its token; elsewhere set PLATFORM_URL,\n"
          "WORKSPACE_ID and MOLECULE_WORKSPACE_TOKEN (or a token file, see --help).\n");
  mol_cli__log_help(out);
}

/* Whether the command was asked for its help (then the shared options follow it). */
static int asked_help(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
  return 0;
}

static int run(const cli_command *c, int argc, char **argv) {
  mol_sd_notify_init(); /* before any child process could inherit $NOTIFY_SOCKET */
  int rc = mol_cli__log_options(c->name, &argc, argv);
  if (rc) return rc;
  rc = c->run(argc, argv);
  if (rc == 0 && asked_help(argc, argv)) mol_cli__log_help(stdout);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("molecule %s\n", mol_version());
    return 0;
  }
  for (const cli_command *c = commands; c->name; c++)
    if (strcmp(cmd, c->name) == 0) return run(c, argc - 1, argv + 1);
  fprintf(stderr, "molecule: unknown command '%s'\nTry 'molecule --help'\n", cmd);
  return 2;
}
