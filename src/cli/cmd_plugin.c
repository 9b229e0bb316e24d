/* cmd_plugin.c - `molecule plugin install|list|remove|hash`. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "http/client.h"
#include "molecule.h"
#include "plugin/plugin.h"

typedef struct {
  const char *platform_url, *workspace_id, *token, *plugins_dir, *source, *sha256, *org_id;
  const char *name;
  int allow_unverified, trust_manifest, no_setup, no_report, quiet;
  unsigned setup_timeout_s;
  unsigned long long max_size;
} plugin_args;

/* One subcommand's usage line (sub NULL: all four), then the options. */
static void plugin_usage(FILE *out, const char *sub) {
  static const char *const lines[][2] = {
      {"install", "install NAME [options]"},
      {"list", "list   [--plugins-dir DIR | --workspace-id ID]"},
      {"remove", "remove NAME [--plugins-dir DIR | --workspace-id ID]"},
      {"hash", "hash   DIR [--expect SHA256]"}};
  int first = 1;
  for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
    if (sub && strcmp(sub, lines[i][0])) continue;
    fprintf(out, "%s molecule plugin %s\n", first ? "usage:" : "      ", lines[i][1]);
    first = 0;
  }
  fprintf(out,
          "\n"
          "install options:\n"
          "  --platform-url URL    platform base URL (env PLATFORM_URL, MOLECULE_PLATFORM_URL)\n"
          "  --workspace-id ID     workspace (env WORKSPACE_ID, MOLECULE_WORKSPACE_ID)\n"
          "  --token TOKEN         bearer (env MOLECULE_WORKSPACE_TOKEN; else\n"
          "                        ~/.molecule/<id>/.auth_token)\n"
          "  --org-id ID           X-Molecule-Org-Id (env MOLECULE_ORG_ID)\n"
          "  --source SRC          e.g. github://acme/x#v1 (default: the platform's local://NAME)\n"
          "  --sha256 HEX          expected content hash (what `plugin hash` prints)\n"
          "  --trust-manifest      without --sha256, check the sha256 the plugin's own\n"
          "                        plugin.yaml declares (catches corruption, not tampering)\n"
          "  --allow-unverified    install without an expected hash (not recommended)\n"
          "  --plugins-dir DIR     default ~/.molecule/<id>/plugins\n"
          "  --no-setup            do not run setup.sh\n"
          "  --no-report           do not POST the install report\n"
          "  --setup-timeout SEC   setup.sh timeout (default 120)\n"
          "  --max-size BYTES      download cap (default 512 MiB)\n"
          "  -q, --quiet           no progress bar\n");
}

static const char *env_first(const char *a, const char *b) {
  const char *v = getenv(a);
  if (v && *v) return v;
  v = b ? getenv(b) : NULL;
  return v && *v ? v : NULL;
}

#define MAX_SIZE_LIMIT (1ULL << 40) /* --max-size: 1 TiB */

/* s as a whole number from 1 to max into *out; else -1 with the message naming flag. */
static int whole_arg(const char *flag, const char *s, unsigned long long max,
                     unsigned long long *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *s == '-' || *end || v < 1 || v > max) {
    mol_cli__usage_error("plugin", "bad %s '%s': want a whole number from 1 to %llu", flag, s,
                         max);
    return -1;
  }
  *out = v;
  return 0;
}

enum { O_PLATFORM = 256, O_WORKSPACE, O_TOKEN, O_DIR, O_SOURCE, O_SHA, O_ORG, O_SETUP_TIMEOUT,
       O_MAX_SIZE, O_UNVERIFIED, O_TRUST_MANIFEST, O_NO_SETUP, O_NO_REPORT };

static const struct option plugin_options[] = {
    {"platform-url", required_argument, NULL, O_PLATFORM},
    {"workspace-id", required_argument, NULL, O_WORKSPACE},
    {"token", required_argument, NULL, O_TOKEN},      {"plugins-dir", required_argument, NULL, O_DIR},
    {"source", required_argument, NULL, O_SOURCE},    {"sha256", required_argument, NULL, O_SHA},
    {"expect", required_argument, NULL, O_SHA},       {"org-id", required_argument, NULL, O_ORG},
    {"setup-timeout", required_argument, NULL, O_SETUP_TIMEOUT},
    {"max-size", required_argument, NULL, O_MAX_SIZE},
    {"allow-unverified", no_argument, NULL, O_UNVERIFIED},
    {"trust-manifest", no_argument, NULL, O_TRUST_MANIFEST},
    {"no-setup", no_argument, NULL, O_NO_SETUP},     {"no-report", no_argument, NULL, O_NO_REPORT},
    {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int apply_option(plugin_args *a, int c, const char *v) {
  unsigned long long n;
  switch (c) {
  case O_PLATFORM: a->platform_url = v; break;
  case O_WORKSPACE: a->workspace_id = v; break;
  case O_TOKEN: a->token = v; break;
  case O_DIR: a->plugins_dir = v; break;
  case O_SOURCE: a->source = v; break;
  case O_SHA: a->sha256 = v; break;
  case O_ORG: a->org_id = v; break;
  case O_SETUP_TIMEOUT:
    if (whole_arg("--setup-timeout", v, 86400, &n)) return -1;
    a->setup_timeout_s = (unsigned)n;
    break;
  case O_MAX_SIZE:
    if (whole_arg("--max-size", v, MAX_SIZE_LIMIT, &n)) return -1;
    a->max_size = n;
    break;
  case O_UNVERIFIED: a->allow_unverified = 1; break;
  case O_TRUST_MANIFEST: a->trust_manifest = 1; break;
  case O_NO_SETUP: a->no_setup = 1; break;
  case O_NO_REPORT: a->no_report = 1; break;
  case 'q': a->quiet = 1; break;
  }
  return 0;
}

/* Parses the options shared by the subcommands (argv[0] is the subcommand); the one
 * positional goes to *positional. Returns -1 to go on, 0 after --help, 2 on bad usage
 * (reported). */
static int parse_args(int argc, char **argv, plugin_args *a, const char **positional) {
  *positional = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":hq", plugin_options, NULL)) != -1) {
    if (c == 'h') {
      plugin_usage(stdout, argv[0]);
      return 0;
    }
    if (c == '?' || c == ':') return mol_cli__option_error("plugin", argv, c);
    if (apply_option(a, c, optarg)) return 2;
  }
  if (optind < argc) *positional = argv[optind++];
  if (optind < argc) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "plugin %s", argv[0]);
    return mol_cli__usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  }
  if (!a->platform_url) a->platform_url = env_first("PLATFORM_URL", "MOLECULE_PLATFORM_URL");
  if (!a->workspace_id) a->workspace_id = env_first("WORKSPACE_ID", "MOLECULE_WORKSPACE_ID");
  if (!a->token) a->token = env_first("MOLECULE_WORKSPACE_TOKEN", NULL);
  if (!a->org_id) a->org_id = env_first("MOLECULE_ORG_ID", NULL);
  return -1;
}

/* ~/.molecule/<id>/<leaf>, or NULL without a HOME or an id. */
static char *home_path(const char *id, const char *leaf) {
  const char *home = getenv("HOME");
  if (!home || !id) return NULL;
  if (!id[0] || id[0] == '.' || strchr(id, '/')) { /* it becomes a path component */
    fprintf(stderr, "molecule plugin: invalid workspace id '%s'\n", id);
    return NULL;
  }
  size_t n = strlen(home) + strlen(id) + strlen(leaf) + 16;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/.molecule/%s/%s", home, id, leaf);
  return p;
}

static char *resolve_dir(const plugin_args *a) {
  if (a->plugins_dir) return strdup(a->plugins_dir);
  char *d = home_path(a->workspace_id, "plugins");
  if (!d) fprintf(stderr, "molecule plugin: give --plugins-dir or --workspace-id\n");
  return d;
}

/* The token file as upstream writes it; trailing whitespace dropped. */
static char *read_token(const char *id) {
  char *path = home_path(id, ".auth_token");
  FILE *f = path ? fopen(path, "r") : NULL;
  free(path);
  if (!f) return NULL;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
  buf[n] = '\0';
  return n ? strdup(buf) : NULL;
}

/* ---- install ----------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  int tty, exit_code, drawn;
  uint64_t last_draw, started;
  mol_http_client *http;
} install_ctx;

static void draw_progress(uint64_t received, uint64_t total, void *arg) {
  install_ctx *c = arg;
  uint64_t now = uv_hrtime();
  if (now - c->last_draw < 100000000ull && (!total || received < total)) return;
  c->last_draw = now;
  c->drawn = 1;
  double secs = (double)(now - c->started) / 1e9, mib = (double)received / 1048576.0;
  double rate = secs > 0 ? mib / secs : 0;
  if (total) {
    int width = 30, fill = (int)((double)received / (double)total * width);
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r  %s [%s] %3d%% %.1f/%.1f MiB %.1f MiB/s ", c->name, bar,
            (int)((double)received * 100.0 / (double)total), mib, (double)total / 1048576.0, rate);
  } else {
    fprintf(stderr, "\r  %s %.1f MiB %.1f MiB/s ", c->name, mib, rate);
  }
}

static void on_client_closed(void *arg) { (void)arg; }

static void print_result(const mol_plugin_pipeline_result *res) {
  printf("installed %s\n", res->dir);
  printf("  content sha256: %s (%s)\n", res->content_sha256,
         res->verified            ? "verified"
         : res->manifest_verified ? "verified against its own plugin.yaml only"
                                  : "NOT verified");
  printf("  archive sha256: %s (%llu bytes)\n", res->archive_sha256,
         (unsigned long long)res->archive_bytes);
  printf("  files: %llu (%llu bytes)\n", (unsigned long long)res->files,
         (unsigned long long)res->content_bytes);
  if (res->setup_ran)
    printf("  setup.sh: %s (log: %s)\n",
           res->setup.err || res->setup.exit_status || res->setup.term_signal ? "FAILED" : "ok",
           res->setup_log);
  if (res->report_status) printf("  install report: HTTP %d\n", res->report_status);
}

static void on_installed(int err, const mol_plugin_pipeline_result *res, void *arg) {
  install_ctx *c = arg;
  if (c->drawn) fputc('\n', stderr);
  for (size_t i = 0; i < res->nwarnings; i++) fprintf(stderr, "warning: %s\n", res->warnings[i]);
  if (err) {
    fprintf(stderr, "molecule plugin install: %s\n", res->message ? res->message : mol_strerror(err));
    c->exit_code = 1;
  } else {
    print_result(res);
  }
  mol_http_client_close(c->http, on_client_closed, NULL);
}

static int fill_install_opts(const plugin_args *a, mol_plugin_pipeline_opts *o, mol_http_header *h,
                             char **token) {
  if (!a->name || !a->platform_url || !a->workspace_id) {
    fprintf(stderr, "molecule plugin install: NAME, --platform-url and --workspace-id are needed\n");
    return -1;
  }
  *token = a->token ? strdup(a->token) : read_token(a->workspace_id);
  o->platform_url = a->platform_url;
  o->workspace_id = a->workspace_id;
  o->name = a->name;
  o->source = a->source;
  o->auth_token = *token;
  o->expected_sha256 = a->sha256;
  o->allow_unverified = a->allow_unverified;
  o->trust_manifest = a->trust_manifest;
  o->skip_setup = a->no_setup;
  o->skip_report = a->no_report;
  o->setup_timeout_ms = a->setup_timeout_s * 1000u;
  o->max_download_bytes = a->max_size;
  /* The tenant headers upstream's SDK sends on every platform call. */
  h[0] = (mol_http_header){"Origin", a->platform_url};
  h[1] = (mol_http_header){"X-Molecule-Org-Id", a->org_id};
  o->headers = h;
  o->nheaders = a->org_id ? 2 : 1;
  return 0;
}

static int run_install(const plugin_args *a) {
  if (a->sha256) {
    char tmp[MOL_SHA256_HEX_LEN + 1];
    if (mol_plugin_digest_parse(a->sha256, tmp))
      return fprintf(stderr, "molecule plugin install: --sha256 needs 64 hex digits\n"), 2;
  }
  mol_plugin_pipeline_opts o = {0};
  mol_http_header h[2];
  char *token = NULL, *dir = NULL;
  if (fill_install_opts(a, &o, h, &token) || !(dir = resolve_dir(a))) {
    free(token);
    return 2;
  }
  o.plugins_dir = dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  install_ctx c = {.name = a->name, .tty = isatty(2) && !a->quiet, .started = uv_hrtime()};
  if (c.tty) {
    o.on_progress = draw_progress;
    o.progress_arg = &c;
  }
  int rc = mol_http_client_new(&loop, NULL, &c.http);
  if (!rc) rc = mol_plugin_pipeline_start(&loop, c.http, &o, on_installed, &c, NULL);
  if (rc) {
    fprintf(stderr, "molecule plugin install: %s\n",
            rc == MOL_EINVAL ? "invalid plugin name or options" : mol_strerror(rc));
    c.exit_code = rc == MOL_EINVAL ? 2 : 1;
    if (c.http) mol_http_client_close(c.http, on_client_closed, NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(token);
  free(dir);
  return c.exit_code;
}

/* ---- list, remove, hash ------------------------------------------------------------------ */

static int run_list(const plugin_args *a) {
  char *dir = resolve_dir(a);
  if (!dir) return 2;
  int rec = mol_plugin_recover(dir); /* a start: clean what interrupted installs left */
  if (rec > 0) fprintf(stderr, "cleaned %d leftover(s) of interrupted installs\n", rec);
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "molecule plugin list: %s: %s\n", dir, strerror(errno));
    free(dir);
    return errno == ENOENT ? 0 : 1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    struct stat st;
    if (mol_plugin_pathf(path, "%s/%s", dir, e->d_name) == 0 && lstat(path, &st) == 0 &&
        S_ISDIR(st.st_mode))
      printf("%s\n", e->d_name);
  }
  closedir(d);
  free(dir);
  return 0;
}

static int run_remove(const plugin_args *a) {
  char *dir = resolve_dir(a);
  if (!dir) return 2;
  char msg[MOL_PLUGIN_MSG_MAX];
  int rc = mol_plugin_remove(dir, a->name, msg);
  if (rc) fprintf(stderr, "molecule plugin remove: %s\n", msg);
  else printf("removed %s\n", a->name);
  free(dir);
  return rc ? 1 : 0;
}

static int run_hash(const plugin_args *a) {
  char hex[MOL_SHA256_HEX_LEN + 1], msg[MOL_PLUGIN_MSG_MAX], want[MOL_SHA256_HEX_LEN + 1];
  if (a->sha256 && mol_plugin_digest_parse(a->sha256, want))
    return fprintf(stderr, "molecule plugin hash: --expect needs 64 hex digits\n"), 2;
  if (mol_plugin_hash_dir(a->name, hex, msg)) {
    fprintf(stderr, "error: %s\n", msg);
    return 1;
  }
  printf("Computed SHA256: %s\n", hex);
  if (a->sha256 && strcmp(hex, want) != 0) {
    fprintf(stderr, "sha256 mismatch: expected %s\n", want);
    return 1;
  }
  return 0;
}

/* A name becomes a directory under the plugins dir: say what is wrong with it before anything
 * is fetched or touched. */
static int name_ok(const char *sub, const char *name) {
  if (mol_plugin_name_valid(name)) return 1;
  fprintf(stderr,
          "molecule plugin %s: invalid plugin name '%s': letters, digits, '.', '_' and '-' only, "
          "not starting with '.' or '-', no '..', at most %d characters\n",
          sub, name, MOL_PLUGIN_NAME_MAX);
  return 0;
}

int mol_cli__cmd_plugin(int argc, char **argv) {
  /* The command prints its own summary, warnings and error; the library's log lines would
   * say each of them a second time. */
  if (!mol_cli__log_level_chosen()) mol_log_set_level(MOL_LOG_ERROR);
  if (argc < 2) return mol_cli__usage_error("plugin", "missing subcommand (install, list, remove or hash)");
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    plugin_usage(stdout, NULL);
    return 0;
  }
  const char *sub = argv[1];
  if (sub[0] == '-') return mol_cli__usage_error("plugin", "unknown option '%s'", sub);
  if (strcmp(sub, "install") && strcmp(sub, "list") && strcmp(sub, "remove") && strcmp(sub, "hash"))
    return mol_cli__usage_error("plugin", "unknown subcommand '%s': want install, list, remove "
                                          "or hash", sub);
  plugin_args a = {0};
  int rc = parse_args(argc - 1, argv + 1, &a, &a.name);
  if (rc >= 0) return rc;
  if (!strcmp(sub, "list")) return run_list(&a);
  if (!a.name) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "plugin %s", sub);
    return mol_cli__usage_error(cmd, "missing %s", strcmp(sub, "hash") ? "NAME" : "DIR");
  }
  if (!strcmp(sub, "install")) return name_ok(sub, a.name) ? run_install(&a) : 2;
  if (!strcmp(sub, "remove")) return name_ok(sub, a.name) ? run_remove(&a) : 2;
  return run_hash(&a);
}
