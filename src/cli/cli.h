/* cli.h - subcommands of the `molecule` command. Each returns a process exit status.
 * Nothing in src/cli is called from another layer: every name its files share is
 * mol_cli__name, and a file's own helpers are static. */
#ifndef MOL_CLI_H
#define MOL_CLI_H

#include <signal.h>

/* molecule plugin install|list|remove|hash (cmd_plugin.c) */
int mol_cli__cmd_plugin(int argc, char **argv);

/* molecule platform [serve options] | workspace|secret|pause|resume|delete (cmd_platform.c) */
int mol_cli__cmd_platform(int argc, char **argv);

/* molecule validate [plugin|workspace|org|channel] PATH... (cmd_validate.c) */
int mol_cli__cmd_validate(int argc, char **argv);

/* molecule serve (cmd_serve.c) */
int mol_cli__cmd_serve(int argc, char **argv);

/* molecule call URL TEXT [--stream] [--v1] ... (cmd_call.c) */
int mol_cli__cmd_call(int argc, char **argv);
/* molecule task get|cancel URL ID (cmd_call.c) */
int mol_cli__cmd_task(int argc, char **argv);

/* molecule dev (cmd_dev.c) */
int mol_cli__cmd_dev(int argc, char **argv);

/* molecule connect: a poll-mode agent running a handler command per message (cmd_connect.c) */
int mol_cli__cmd_connect(int argc, char **argv);

/* molecule mcp: the workspace's tools to an MCP client over stdio (cmd_mcp.c) */
int mol_cli__cmd_mcp(int argc, char **argv);

/* molecule host -c FILE: many agents on one loop and one listener (cmd_host.c) */
int mol_cli__cmd_host(int argc, char **argv);

/* The platform verbs a handler script calls as its workspace (cmd_verbs.c): molecule peers,
 * delegate TARGET TEXT, notify TEXT, secrets [NAME], status TEXT. */
int mol_cli__cmd_peers(int argc, char **argv);
int mol_cli__cmd_delegate(int argc, char **argv);
int mol_cli__cmd_notify(int argc, char **argv);
int mol_cli__cmd_secrets(int argc, char **argv);
int mol_cli__cmd_status(int argc, char **argv);

/* molecule bench URL: load on an A2A agent (cmd_bench.c); molecule bench --platform URL:
 * simulated agents on a Molecule platform (cmd_bench_platform.c). */
int mol_cli__cmd_bench(int argc, char **argv);
int mol_cli__bench_platform(int argc, char **argv);
/* cmd_bench.c: the first SIGINT/SIGTERM sets the flag (the run ends early and still reports);
 * the second one ends the process. Returns the flag. */
const volatile sig_atomic_t *mol_cli__bench_on_interrupt(void);

#endif
