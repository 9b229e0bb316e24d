/* cli_log.c - the logging options every command shares: --log-level LEVEL and
 * --log-format plain|json, taken out of the arguments in one place (main.c) before the command
 * parses its own, and MOLECULE_LOG_LEVEL / MOLECULE_LOG_FORMAT from the environment. The flags
 * win over the environment, which wins over a host file's log: section. A bad flag is a usage
 * error; a bad environment value is one warning on stderr and the default is kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_util.h"
#include "molecule.h"

#define LEVELS "trace, debug, info, warn, error or off"
#define FORMATS "plain or json"

typedef struct {
  int have_level, have_format;
  mol_log_level level;
  mol_log_format format;
} log_choice;

static log_choice from_flags, from_env;

static int parse_format(const char *s, mol_log_format *out) {
  if (!strcasecmp(s, "json")) *out = MOL_LOG_JSON;
  else if (!strcasecmp(s, "plain") || !strcasecmp(s, "text")) *out = MOL_LOG_PLAIN;
  else return -1;
  return 0;
}

static void read_env(void) {
  const char *lvl = getenv("MOLECULE_LOG_LEVEL"), *fmt = getenv("MOLECULE_LOG_FORMAT");
  if (lvl && *lvl) {
    if (mol_log_level_parse(lvl, &from_env.level) == 0) from_env.have_level = 1;
    else fprintf(stderr, "molecule: warning: MOLECULE_LOG_LEVEL '%s' ignored: want " LEVELS "\n", lvl);
  }
  if (fmt && *fmt) {
    if (parse_format(fmt, &from_env.format) == 0) from_env.have_format = 1;
    else fprintf(stderr, "molecule: warning: MOLECULE_LOG_FORMAT '%s' ignored: want " FORMATS "\n", fmt);
  }
}

/* The value of argv[*i] when it is --NAME VALUE or --NAME=VALUE (advancing *i past a separate
 * value), "" when the value is missing, NULL when argv[*i] is another argument. */
static const char *option_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) return "";
  return argv[++*i];
}

static int take_flag(const char *cmd, const char *opt, const char *v) {
  if (!strcmp(opt, "--log-level")) {
    if (!*v) return mol_cli__usage_error(cmd, "option '--log-level': needs a value");
    if (mol_log_level_parse(v, &from_flags.level))
      return mol_cli__usage_error(cmd, "bad --log-level '%s': want " LEVELS, v);
    from_flags.have_level = 1;
    return 0;
  }
  if (!*v) return mol_cli__usage_error(cmd, "option '--log-format': needs a value");
  if (parse_format(v, &from_flags.format))
    return mol_cli__usage_error(cmd, "bad --log-format '%s': want " FORMATS, v);
  from_flags.have_format = 1;
  return 0;
}

int mol_cli__log_options(const char *cmd, int *argc, char **argv) {
  read_env();
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    if (!strcmp(argv[i], "--")) { /* the rest is the command's, untouched */
      while (i < *argc) argv[out++] = argv[i++];
      break;
    }
    static const char *const names[] = {"--log-level", "--log-format"};
    const char *v = NULL;
    size_t k;
    for (k = 0; k < 2 && !v; k++) v = option_value(*argc, argv, &i, names[k]);
    if (!v) {
      argv[out++] = argv[i];
      continue;
    }
    int rc = take_flag(cmd, names[k - 1], v);
    if (rc) return rc;
  }
  argv[out] = NULL;
  *argc = out;
  mol_cli__log_from_env();
  return 0;
}

void mol_cli__log_from_env(void) {
  if (from_env.have_level) mol_log_set_level(from_env.level);
  if (from_env.have_format) mol_log_set_format(from_env.format);
  if (from_flags.have_level) mol_log_set_level(from_flags.level);
  if (from_flags.have_format) mol_log_set_format(from_flags.format);
}

int mol_cli__log_level_chosen(void) { return from_flags.have_level || from_env.have_level; }
int mol_cli__log_format_chosen(void) { return from_flags.have_format || from_env.have_format; }

void mol_cli__log_help(FILE *out) {
  fprintf(out,
          "\n"
          "logging (every command):\n"
          "  --log-level LEVEL    trace, debug, info (default), warn, error or off\n"
          "  --log-format FORMAT  plain (default) or json: one JSON object per line with\n"
          "                       ts, level, scope, msg and fields such as agent,\n"
          "                       workspace_id, status, duration_ms and err\n"
          "  MOLECULE_LOG_LEVEL, MOLECULE_LOG_FORMAT  the same from the environment (the\n"
          "                       flags win; a bad value is warned about and ignored)\n");
}
