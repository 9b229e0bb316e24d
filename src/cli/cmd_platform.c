/* cmd_platform.c - `molecule platform`: runs the embedded development platform, or talks to a
 * running one as its operator (workspace create/list, secret set, pause, resume, delete,
 * approvals, approve, deny)
 * through its admin HTTP API. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/json.h"
#include "base/sdnotify.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/metrics_proc.h"
#include "devplatform/devplatform.h"
#include "http/client.h"
#include "molecule.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_DB "molecule-platform.db"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule platform [--listen HOST:PORT] [--db FILE] [--dev]\n"
          "                         [--admin-token-file F] [--rate-limit N] [--plugins DIR]\n"
          "                         [--public-host NAME[,NAME...]] [--configs DIR]\n"
          "       molecule platform workspace create --name N [--parent ID] [--external]\n"
          "                                          [--url U] [--role R]\n"
          "       molecule platform workspace list\n"
          "       molecule platform secret set (WORKSPACE_ID | --global) KEY VALUE\n"
          "       molecule platform pause|resume WORKSPACE_ID\n"
          "       molecule platform delete WORKSPACE_ID [--cascade]\n"
          "       molecule platform approvals\n"
          "       molecule platform approve|deny APPROVAL_ID [--reason TEXT] [--by NAME]\n"
          "\n"
          "Serves the Molecule platform API subset (registry, secrets, state, peers, A2A proxy,\n"
          "activity, notify) from an SQLite database. Defaults: --listen " DEFAULT_LISTEN
          ", --db " DEFAULT_DB ".\n"
          "--dev accepts loopback agent URLs, turns the rate limiter off and, on a loopback\n"
          "listener, lets operator calls that carry no Authorization header through without\n"
          "the admin token (a bearer that is sent must be the admin token). --plugins DIR\n"
          "serves GET /workspaces/:id/plugins/:name/download from DIR/<name> (tar.gz).\n"
          "--configs DIR holds the workspaces' config dirs (DIR/<name>): a parent shares the\n"
          "files its config.yaml lists under shared_context with its children.\n"
          "Requests must name the platform in Host as localhost, an IP address or a\n"
          "--public-host name (DNS rebinding); a cross-origin Origin is refused, and writes\n"
          "must be Content-Type: application/json.\n"
          "\n"
          "Operator subcommands talk to a running platform: --platform URL (or env\n"
          "MOLECULE_PLATFORM_URL, default http://" DEFAULT_LISTEN "), with the admin token from\n"
          "--admin-token, env MOLECULE_ADMIN_TOKEN, or --admin-token-file (default\n"
          "<db>.admin_token, see --db).\n");
}

/* ---- running the platform -------------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  mol_devplatform *dp;
  uv_signal_t sigint, sigterm;
  mol_cli__metrics metrics;  /* GET /metrics */
  int stopping;
} server_ctx;

static void on_platform_closed(void *arg) {
  server_ctx *s = arg;
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  server_ctx *s = h->data;
  (void)signum;
  if (s->stopping) return;
  s->stopping = 1;
  mol_sd_notify("STOPPING=1");
  fprintf(stderr, "molecule platform: shutting down\n");
  mol_devplatform_close(s->dp, on_platform_closed, s);
}

/* "HOST:PORT", "[v6]:PORT" or ":PORT" into host/port. */
static int parse_listen(const char *spec, char *host, size_t cap, int *port) {
  const char *colon = strrchr(spec, ':');
  if (!colon) return -1;
  const char *h = spec;
  size_t n = (size_t)(colon - spec);
  if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
    h++;
    n -= 2;
  }
  if (n >= cap) return -1;
  memcpy(host, n ? h : "0.0.0.0", n ? n : 8);
  host[n ? n : 7] = '\0';
  if (strcmp(host, "localhost") == 0) snprintf(host, cap, "127.0.0.1"); /* the server takes IPs */
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535) return -1;
  *port = (int)p;
  return 0;
}

/* --rate-limit N: requests per minute per client, a whole number from 1 to 1000000. */
static int rate_limit_arg(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 1000000) {
    fprintf(stderr, "molecule platform: --rate-limit wants a whole number from 1 to 1000000, "
                    "not '%s'\n", s);
    return 2;
  }
  *out = (int)v;
  return 0;
}

static int run_server(int argc, char **argv) {
  static const struct option longopts[] = {
      {"listen", required_argument, NULL, 'l'}, {"db", required_argument, NULL, 'd'},
      {"dev", no_argument, NULL, 'D'},          {"admin-token-file", required_argument, NULL, 'a'},
      {"rate-limit", required_argument, NULL, 'r'}, {"plugins", required_argument, NULL, 'P'},
      {"public-host", required_argument, NULL, 'H'}, {"help", no_argument, NULL, 'h'},
      {"configs", required_argument, NULL, 'C'},
      {NULL, 0, NULL, 0}};
  const char *listen = DEFAULT_LISTEN;
  mol_devplatform_opts o = {.db_path = DEFAULT_DB};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'l': listen = optarg; break;
    case 'd': o.db_path = optarg; break;
    case 'D': o.dev = 1; break;
    case 'a': o.admin_token_file = optarg; break;
    case 'r':
      if (rate_limit_arg(optarg, &o.rate_limit)) return 2;
      break;
    case 'P': o.plugins_dir = optarg; break;
    case 'C': o.configs_dir = optarg; break;
    case 'H': o.public_host = optarg; break;
    case 'h': usage(stdout); return 0;
    default: return mol_cli__option_error("platform", argv, c);
    }
  }
  if (optind < argc) return mol_cli__usage_error("platform", "unexpected argument '%s'", argv[optind]);
  char host[128];
  int port;
  if (parse_listen(listen, host, sizeof host, &port)) {
    fprintf(stderr, "molecule platform: --listen wants HOST:PORT, got '%s'\n", listen);
    return 2;
  }
  server_ctx s = {.loop = uv_default_loop()};
  int rc = mol_devplatform_new(s.loop, &o, &s.dp);
  if (rc) /* the database (or its admin token file) is what could not be opened */
    fprintf(stderr, "molecule platform: cannot open the database '%s': %s (see --db)\n",
            o.db_path, mol_strerror(rc));
  else if ((rc = mol_devplatform_listen(s.dp, host, port)) != 0 ||
           (rc = mol_cli__metrics_route(&s.metrics, mol_devplatform_http(s.dp), NULL, NULL)) != 0)
    fprintf(stderr, "molecule platform: %s\n", mol_strerror(rc));
  if (rc) {
    if (s.dp) mol_devplatform_close(s.dp, NULL, NULL);
    uv_run(s.loop, UV_RUN_DEFAULT);
    return 1;
  }
  fprintf(stderr, "molecule platform: http://%s:%d (database %s)%s\n", host,
          mol_devplatform_port(s.dp), o.db_path,
          mol_devplatform_admin_open(s.dp) ? ", operator calls open (dev, loopback)" : "");
  mol_sd_notify("READY=1");
  uv_signal_init(s.loop, &s.sigint);
  uv_signal_init(s.loop, &s.sigterm);
  s.sigint.data = s.sigterm.data = &s;
  uv_signal_start(&s.sigint, on_signal, SIGINT);
  uv_signal_start(&s.sigterm, on_signal, SIGTERM);
  uv_run(s.loop, UV_RUN_DEFAULT);
  uv_loop_close(s.loop);
  return 0;
}

/* ---- operator calls -------------------------------------------------------------------- */

typedef struct {
  const char *platform;
  char token[256];
} op_ctx;

typedef struct {
  int done, err, status;
  char *body;
  uv_loop_t *loop;
} op_result;

static void on_op_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  op_result *res = arg;
  res->done = 1;
  res->err = err;
  if (resp) {
    res->status = resp->status;
    res->body = strndup(resp->body ? resp->body : "", resp->body_len);
  }
  uv_stop(res->loop); /* the pooled keep-alive connection would keep the loop running */
}

static void on_client_closed(void *arg) { (void)arg; }

/* One request on a private loop; prints the answer. Exit status 0 on 2xx, else 1. */
static int op_call(const op_ctx *op, const char *method, const char *path, const char *body) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_http_client *client = NULL;
  op_result res = {.loop = &loop};
  char url[1024], auth[300];
  snprintf(url, sizeof url, "%s%s", op->platform, path);
  snprintf(auth, sizeof auth, "Bearer %s", op->token);
  mol_http_header h[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h,
                             .nheaders = op->token[0] ? 2 : 1, .body = body,
                             .body_len = body ? strlen(body) : 0, .total_timeout_ms = 30000};
  int rc = mol_http_client_new(&loop, NULL, &client);
  if (!rc) rc = mol_http_request_send(client, &o, on_op_done, &res, NULL);
  if (!rc) uv_run(&loop, UV_RUN_DEFAULT);
  if (client) mol_http_client_close(client, on_client_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rc || res.err) {
    fprintf(stderr, "molecule platform: %s %s: %s\n", method, url, mol_strerror(rc ? rc : res.err));
    free(res.body);
    return 1;
  }
  int ok = res.status >= 200 && res.status < 300;
  fprintf(ok ? stdout : stderr, "%s%s\n", ok ? "" : "error: ", res.body ? res.body : "");
  free(res.body);
  return ok ? 0 : 1;
}

/* The admin token: --admin-token, MOLECULE_ADMIN_TOKEN, --admin-token-file (which must be
 * readable: an error, 2), else <db>.admin_token when it exists. 0 or 2 (reported). */
static int load_token(op_ctx *op, const char *explicit_tok, const char *file, const char *db) {
  const char *env = getenv("MOLECULE_ADMIN_TOKEN");
  if (explicit_tok) snprintf(op->token, sizeof op->token, "%s", explicit_tok);
  else if (env && *env) snprintf(op->token, sizeof op->token, "%s", env);
  if (op->token[0]) return 0;
  char path[1024];
  int named = file != NULL;
  if (!file) {
    snprintf(path, sizeof path, "%s.admin_token", db);
    file = path;
  }
  FILE *f = fopen(file, "r");
  if (!f && named)
    return mol_cli__usage_error("platform", "cannot read --admin-token-file '%s': %s", file,
                                strerror(errno));
  if (!f) return 0; /* fine in dev mode on loopback */
  size_t n = fread(op->token, 1, sizeof op->token - 1, f);
  fclose(f);
  while (n && (op->token[n - 1] == '\n' || op->token[n - 1] == ' ')) n--;
  op->token[n] = '\0';
  return 0;
}

typedef struct {
  const char *name, *parent, *url, *role, *reason, *by;
  int external, global, cascade;
} op_args;

/* Parses the operator options shared by every subcommand; positional args are left in
 * argv[optind..]. -1 to go on, 0 after --help, 2 on bad usage (reported). */
static int parse_op(int argc, char **argv, op_ctx *op, op_args *a) {
  static const struct option longopts[] = {
      {"platform", required_argument, NULL, 'p'}, {"admin-token", required_argument, NULL, 't'},
      {"admin-token-file", required_argument, NULL, 'f'}, {"db", required_argument, NULL, 'd'},
      {"name", required_argument, NULL, 'n'},     {"parent", required_argument, NULL, 'P'},
      {"url", required_argument, NULL, 'u'},      {"role", required_argument, NULL, 'r'},
      {"external", no_argument, NULL, 'e'},       {"global", no_argument, NULL, 'g'},
      {"cascade", no_argument, NULL, 'c'},        {"yes", no_argument, NULL, 'c'},
      {"reason", required_argument, NULL, 'R'},   {"by", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
  const char *tok = NULL, *file = NULL, *db = DEFAULT_DB, *env = getenv("MOLECULE_PLATFORM_URL");
  op->platform = env && *env ? env : "http://" DEFAULT_LISTEN;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return 0;
    case 'p': op->platform = optarg; break;
    case 't': tok = optarg; break;
    case 'f': file = optarg; break;
    case 'd': db = optarg; break;
    case 'n': a->name = optarg; break;
    case 'P': a->parent = optarg; break;
    case 'u': a->url = optarg; break;
    case 'r': a->role = optarg; break;
    case 'e': a->external = 1; break;
    case 'g': a->global = 1; break;
    case 'c': a->cascade = 1; break;
    case 'R': a->reason = optarg; break;
    case 'b': a->by = optarg; break;
    default: return mol_cli__option_error("platform", argv, c);
    }
  }
  return load_token(op, tok, file, db) ? 2 : -1;
}

static char *json_body(json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

static int op_workspace(const op_ctx *op, const op_args *a, int argc, char **argv) {
  const char *sub = optind < argc ? argv[optind] : "";
  if (strcmp(sub, "list") == 0) return op_call(op, "GET", "/workspaces", NULL);
  if (strcmp(sub, "create") != 0 || !a->name) {
    fprintf(stderr, "molecule platform workspace: create --name N | list\n");
    return 2;
  }
  json_t *j = json_pack("{s:s,s:b}", "name", a->name, "external", a->external);
  if (a->parent) json_object_set_new(j, "parent_id", json_string(a->parent));
  if (a->url) json_object_set_new(j, "url", json_string(a->url));
  if (a->role) json_object_set_new(j, "role", json_string(a->role));
  char *body = json_body(j);
  int rc = op_call(op, "POST", "/workspaces", body);
  free(body);
  return rc;
}

static int op_secret(const op_ctx *op, const op_args *a, int argc, char **argv) {
  int need = a->global ? 3 : 4; /* set [ws] key value */
  if (argc - optind != need || strcmp(argv[optind], "set") != 0) {
    fprintf(stderr, "molecule platform secret: set (WORKSPACE_ID | --global) KEY VALUE\n");
    return 2;
  }
  const char *key = argv[argc - 2], *value = argv[argc - 1];
  char path[256];
  if (a->global) snprintf(path, sizeof path, "/settings/secrets");
  else snprintf(path, sizeof path, "/workspaces/%s/secrets", argv[optind + 1]);
  char *body = json_body(json_pack("{s:s,s:s}", "key", key, "value", value));
  int rc = op_call(op, "POST", path, body);
  free(body);
  return rc;
}

static int op_on_workspace(const op_ctx *op, const op_args *a, const char *verb, int argc,
                           char **argv) {
  if (argc - optind != 1) {
    fprintf(stderr, "molecule platform %s: WORKSPACE_ID\n", verb);
    return 2;
  }
  char path[256];
  if (strcmp(verb, "delete") == 0) {
    snprintf(path, sizeof path, "/workspaces/%s%s", argv[optind], a->cascade ? "?confirm=true" : "");
    return op_call(op, "DELETE", path, NULL);
  }
  snprintf(path, sizeof path, "/workspaces/%s/%s", argv[optind], verb);
  return op_call(op, "POST", path, NULL);
}

/* approve|deny APPROVAL_ID: the id alone is enough (POST /approvals/:id/decide). */
static int op_decide(const op_ctx *op, const op_args *a, const char *verb, int argc, char **argv) {
  if (argc - optind != 1) {
    fprintf(stderr, "molecule platform %s: APPROVAL_ID [--reason TEXT] [--by NAME]\n", verb);
    return 2;
  }
  const char *id = argv[optind];
  if (!*id || strlen(id) > 64 || strspn(id, "0123456789abcdefABCDEF-") != strlen(id)) {
    fprintf(stderr, "molecule platform %s: '%s' is not an approval id\n", verb, id);
    return 2;
  }
  json_t *j = json_pack("{s:s,s:s}", "decision", strcmp(verb, "approve") ? "denied" : "approved",
                        "decided_by", a->by ? a->by : "operator");
  if (a->reason) json_object_set_new(j, "reason", json_string(a->reason));
  char path[512], *body = json_body(j);
  snprintf(path, sizeof path, "/approvals/%s/decide", id);
  int rc = body ? op_call(op, "POST", path, body) : 1;
  free(body);
  return rc;
}

static int run_operator(const char *verb, int argc, char **argv) {
  op_ctx op = {0};
  op_args a = {0};
  int rc = parse_op(argc, argv, &op, &a);
  if (rc >= 0) return rc;
  if (strcmp(verb, "workspace") == 0) return op_workspace(&op, &a, argc, argv);
  if (strcmp(verb, "secret") == 0) return op_secret(&op, &a, argc, argv);
  if (strcmp(verb, "approvals") == 0) return op_call(&op, "GET", "/approvals/pending", NULL);
  if (strcmp(verb, "approve") == 0 || strcmp(verb, "deny") == 0)
    return op_decide(&op, &a, verb, argc, argv);
  return op_on_workspace(&op, &a, verb, argc, argv);
}

int mol_cli__cmd_platform(int argc, char **argv) {
  static const char *const verbs[] = {"workspace", "secret", "pause", "resume", "delete",
                                      "approvals", "approve", "deny", NULL};
  mol_cli__log_from_env();
  if (argc >= 2) {
    for (int i = 0; verbs[i]; i++)
      if (strcmp(argv[1], verbs[i]) == 0) return run_operator(verbs[i], argc - 1, argv + 1);
    if (argv[1][0] != '-')
      return mol_cli__usage_error("platform", "unknown subcommand '%s'", argv[1]);
  }
  return run_server(argc, argv);
}
