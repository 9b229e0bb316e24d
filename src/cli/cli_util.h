/* cli_util.h - small helpers shared by the subcommands. */
#ifndef MOL_CLI_UTIL_H
#define MOL_CLI_UTIL_H

#include <stdio.h>
#include <uv.h>

/* Splits "HOST:PORT" or "[v6]:PORT" (or ":PORT" for 127.0.0.1). Returns 0 or -1. */
int mol_cli__parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* Calls on_stop(arg) once on the first SIGINT or SIGTERM (after telling systemd STOPPING=1,
 * base/sdnotify.h); a second signal exits at once.
 * The signal handles are unref'd so they never keep the loop alive. */
void mol_cli__on_stop_signal(uv_loop_t *loop, void (*on_stop)(void *arg), void *arg);
/* Closes the signal handles (before the loop is closed). */
void mol_cli__signals_close(void);

/* cli_log.c: the logging options of every command. mol_cli__log_options reads
 * MOLECULE_LOG_LEVEL / MOLECULE_LOG_FORMAT (a bad value: one warning on stderr), takes
 * --log-level LEVEL and --log-format plain|json (also --opt=value) out of argv (up to a "--"),
 * and applies them; 0, or the usage status 2 for a bad flag (reported as cmd's).
 * mol_cli__log_from_env applies them again (after something else set the level or format, such
 * as a host file): the environment, then the flags over it. */
int mol_cli__log_options(const char *cmd, int *argc, char **argv);
void mol_cli__log_from_env(void);
/* Whether a level (a format) was chosen by a flag or the environment. */
int mol_cli__log_level_chosen(void);
int mol_cli__log_format_chosen(void);
/* The shared options' help, appended to every command's --help. */
void mol_cli__log_help(FILE *out);

/* The one usage-error style of every command: "molecule CMD: MESSAGE" and one line
 * "Try 'molecule CMD --help'" on stderr. Returns 2, the usage exit status. */
int mol_cli__usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long (run with opterr = 0 and an optstring starting with ':') refused:
 * c is what it returned ('?' an unknown option, ':' a missing value), in the style above.
 * Returns 2. */
int mol_cli__option_error(const char *cmd, char **argv, int c);

/* Reads all of standard input as text (at most max bytes; trailing newlines dropped) into a
 * malloc'd string. 0, or -1 when it is longer, unreadable or memory ran out. */
int mol_cli__read_stdin(size_t max, char **out);

#endif
