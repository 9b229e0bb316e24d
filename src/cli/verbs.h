/* verbs.h - the machinery shared by the platform verbs a handler script calls (`molecule
 * peers|delegate|notify|secrets|status`): options, the workspace identity from the environment
 * `molecule connect` exports, one platform call on a uv loop with a deadline, and the exit
 * status (0 done, 1 the platform refused or failed, 2 usage). */
#ifndef MOL_CLI_VERBS_H
#define MOL_CLI_VERBS_H

#include "molecule.h"

#define VERB_OK 0
#define VERB_FAILED 1 /* the platform refused, failed or could not be reached */
#define VERB_USAGE 2

typedef struct verb verb;

/* Prints the successful result of the verb's call in human form; returns the exit status.
 * Not called with --json (the platform's body is printed as received). */
typedef int (*verb_print_fn)(verb *v, const mol_platform_result *res);

struct verb {
  const char *name;          /* "peers", for messages */
  const char *usage;         /* the verb's own usage text (--help) */
  unsigned default_timeout_s;
  int allow_async;           /* --async is one of its options */
  /* filled by mol_cli__verb_parse: */
  int json, async;
  unsigned timeout_ms;
  char **args;               /* positional arguments */
  int nargs;
  mol_platform_opts po;
  /* the call: */
  mol_platform_client *client;
  mol_platform_call call;
  verb_print_fn print;
  const char *arg;           /* a verb-specific argument (secrets NAME, delegate TARGET) */
  char *text;                /* TEXT (read from stdin for "-"), when the verb takes one */
  int text_owned, allow_empty_text;
  const char *bad_args;      /* the usage error when the client refuses the arguments */
  int done, exit_code;
};

/* Parses the shared options (and --async where allowed). Returns -1 to go on, else the exit
 * status (0 after --help; 2 after a usage error, already reported). */
int mol_cli__verb_parse(verb *v, int argc, char **argv);

/* Reports a usage error: "molecule NAME: MESSAGE" and one "Try" line. Returns VERB_USAGE. */
int mol_cli__verb_usage_error(const verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks that positional arguments number between min and max (a usage error otherwise). */
int mol_cli__verb_want_args(const verb *v, int min, int max);

/* Reads TEXT: the argument itself, or standard input for "-" (at most 1 MiB, trailing
 * newlines dropped). *out is malloc'd when read from stdin (*owned set). 0 or exit status. */
int mol_cli__verb_text(const verb *v, const char *arg, char **out, int *owned);

/* Fills the identity from the environment, checks that nothing is missing and creates the
 * client on the default loop. Returns 0 or the exit status (reported). */
int mol_cli__verb_open(verb *v);

/* The callback to pass to the platform call (arg = v). */
void mol_cli__verb_on_done(int err, const mol_platform_result *res, void *arg);

/* What every verb does before its call: parses the options, checks that the positional
 * arguments number between min and max, reads TEXT from positional text_arg (-1: none; "-"
 * reads stdin; empty refused unless allow_empty_text), sets arg to the first other positional,
 * and opens the client. Returns -1 when the call can start, else the exit status (reported). */
int mol_cli__verb_setup(verb *v, int argc, char **argv, int min, int max, int text_arg);

/* Runs the loop until the call started (start_rc = what starting it returned; MOL_EINVAL is
 * reported as bad_args) has completed, closes the client, frees the text and returns the exit
 * status. */
int mol_cli__verb_finish(verb *v, int start_rc);

/* The token directory the verbs (and `molecule connect`) use: --token-dir, else
 * MOLECULE_TOKEN_DIR, else ~/.molecule/<lower-cased id>. 0 or -1 (no HOME, or too long). */
int mol_cli__verb_token_dir(const mol_platform_opts *po, char *out, size_t cap);

/* Writes data to path atomically (a temporary file, then rename), mode 0600. 0 or -errno. */
int mol_cli__verb_write_private(const char *path, const char *data, size_t len);

/* The file `molecule status` leaves in the token directory for `molecule connect`'s
 * heartbeats to carry on. */
#define VERB_STATUS_FILE ".current_task"

#endif
