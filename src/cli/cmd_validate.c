/* cmd_validate.c - `molecule validate [plugin|workspace|org|channel] PATH... [-q]`: checks
 * what plugin and template authors publish, for their CI. One line per problem on stderr
 * ("✗ PATH/SOURCE: MESSAGE"), one line per valid path on stdout ("✓ PATH: valid KIND") unless
 * -q; exit 0 when every path is valid, 1 when any is not, 2 on bad usage. The rules are in
 * validate_rules.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/validate.h"

static const char *const kinds[] = {"plugin", "workspace", "org", "channel", NULL};

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule validate [plugin|workspace|org|channel] PATH... [-q]\n"
          "\n"
          "Checks plugins and templates before they are published (the kind defaults to\n"
          "plugin):\n"
          "  plugin     a plugin directory: plugin.yaml (name, list fields, runtimes, sha256)\n"
          "             and the front matter of each skills/<id>/SKILL.md\n"
          "  workspace  a workspace template directory: config.yaml\n"
          "  org        an org template directory: org.yaml and every workspace node in it\n"
          "  channel    a channel file: one channel or a list of them\n"
          "Every string in a plugin.yaml or org.yaml is also scanned for values that look like\n"
          "secrets (cloud and GitHub keys, sk- keys, Bearer tokens, long hex, password=...).\n"
          "\n"
          "  -q, --quiet   print only the problems\n"
          "  -h, --help    this help\n"
          "\n"
          "Problems go to stderr as '✗ PATH/FILE: MESSAGE', valid paths to stdout as\n"
          "'✓ PATH: valid KIND'. Exit status: 0 all valid, 1 a problem was found, 2 bad usage.\n");
}

typedef struct {
  const char *path;
} report_ctx;

static void print_problem(void *arg, const char *source, const char *message) {
  report_ctx *r = arg;
  if (*source) fprintf(stderr, "✗ %s/%s: %s\n", r->path, source, message);
  else fprintf(stderr, "✗ %s: %s\n", r->path, message);
}

/* Checks one path; 1 when it is valid. */
static int validate_one(const char *kind, const char *path, int quiet) {
  report_ctx r = {path};
  mol_cli__validation v = {.problem = print_problem, .arg = &r};
  struct stat st;
  int want_dir = strcmp(kind, "channel") != 0;
  if (stat(path, &st) != 0) print_problem(&r, "", "does not exist"), v.count++;
  else if (want_dir && !S_ISDIR(st.st_mode)) print_problem(&r, "", "not a directory"), v.count++;
  else if (!want_dir && !S_ISREG(st.st_mode)) print_problem(&r, "", "not a file"), v.count++;
  else if (!strcmp(kind, "plugin")) mol_cli__validate_plugin(path, &v);
  else if (!strcmp(kind, "workspace")) mol_cli__validate_workspace(path, &v);
  else if (!strcmp(kind, "org")) mol_cli__validate_org(path, &v);
  else mol_cli__validate_channel_file(path, &v);
  if (!v.count && !quiet) printf("✓ %s: valid %s\n", path, kind);
  return v.count == 0;
}

int mol_cli__cmd_validate(int argc, char **argv) {
  static const struct option opts[] = {
      {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int quiet = 0, c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
    if (c == 'q') quiet = 1;
    else if (c == 'h') return usage(stdout), 0;
    else return mol_cli__option_error("validate", argv, c);
  }
  const char *kind = "plugin";
  for (const char *const *k = kinds; *k && optind < argc; k++)
    if (strcmp(argv[optind], *k) == 0) {
      kind = argv[optind++];
      break;
    }
  if (optind >= argc) return mol_cli__usage_error("validate", "a PATH is required");
  int all_valid = 1;
  for (int i = optind; i < argc; i++) all_valid &= validate_one(kind, argv[i], quiet);
  return all_valid ? 0 : 1;
}
