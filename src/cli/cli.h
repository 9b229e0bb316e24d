/* cli.h - subcommands of the `molecule` command. Each returns a process exit status. */
#ifndef MOL_CLI_H
#define MOL_CLI_H

#endif
