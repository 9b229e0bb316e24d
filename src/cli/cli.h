/* cli.h - subcommands of the `molecule` command. Each returns a process exit status. */
#ifndef MOL_CLI_H
#define MOL_CLI_H

/* molecule serve (cmd_serve.c) */
int cmd_serve(int argc, char **argv);

#endif
