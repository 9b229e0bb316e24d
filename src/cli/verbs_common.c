/* verbs_common.c - what the platform verbs share: the options, the workspace identity (flags,
 * then the environment `molecule connect` exports to its handler), one platform call on the
 * default uv loop under a deadline, and the reporting of what went wrong with its exit status. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli_util.h"
#include "cli/verbs.h"
#include "molecule/uv.h"

#define MAX_STDIN_TEXT (1024 * 1024)
#define MAX_ERROR_BODY 4096

static void print_common_options(FILE *out) {
  fprintf(out,
          "\n"
          "Options:\n"
          "  --json               print the platform's JSON answer as received (one document)\n"
          "  --timeout SECONDS    give up after this long (the whole call, retries included)\n"
          "  --platform-url URL   default: PLATFORM_URL, else MOLECULE_PLATFORM_URL\n"
          "  --workspace-id ID    default: WORKSPACE_ID, else MOLECULE_WORKSPACE_ID\n"
          "  --token-dir DIR      where .auth_token is: default MOLECULE_TOKEN_DIR, else\n"
          "                       ~/.molecule/<id> (MOLECULE_WORKSPACE_TOKEN, when set, is\n"
          "                       used first)\n"
          "  --org-id ID          X-Molecule-Org-Id (default MOLECULE_ORG_ID)\n"
          "  -h, --help           this help\n"
          "\n"
          "Inside a `molecule connect` handler all of these are already set. Exit status: 0\n"
          "done; 1 the platform refused or failed (its HTTP status and answer on stderr);\n"
          "2 usage (a missing URL, id or token is named).\n");
}

int mol_cli__verb_usage_error(const verb *v, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "molecule %s: ", v->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'molecule %s --help'\n", v->name);
  return VERB_USAGE;
}

static int parse_timeout(verb *v, const char *s) {
  char *end;
  double d = strtod(s, &end);
  if (end == s || *end || !(d > 0) || d > 86400) return -1;
  v->timeout_ms = (unsigned)(d * 1000 + 0.5);
  if (!v->timeout_ms) v->timeout_ms = 1;
  return 0;
}

int mol_cli__verb_parse(verb *v, int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},           {"timeout", required_argument, NULL, 'T'},
      {"platform-url", required_argument, NULL, 'u'}, {"workspace-id", required_argument, NULL, 'w'},
      {"token-dir", required_argument, NULL, 'd'}, {"org-id", required_argument, NULL, 'o'},
      {"async", no_argument, NULL, 'a'},          {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'j': v->json = 1; break;
    case 'T':
      if (parse_timeout(v, optarg))
        return mol_cli__verb_usage_error(v, "--timeout wants seconds (> 0, at most 86400), got '%s'", optarg);
      break;
    case 'u': v->po.platform_url = optarg; break;
    case 'w': v->po.workspace_id = optarg; break;
    case 'd': v->po.token_dir = optarg; break;
    case 'o': v->po.org_id = optarg; break;
    case 'a':
      if (!v->allow_async)
        return mol_cli__verb_usage_error(v, "--async is an option of delegate only");
      v->async = 1;
      break;
    case 'h':
      fputs(v->usage, stdout);
      print_common_options(stdout);
      return VERB_OK;
    default: return mol_cli__option_error(v->name, argv, c);
    }
  }
  if (!v->timeout_ms) v->timeout_ms = v->default_timeout_s * 1000;
  v->args = argv + optind;
  v->nargs = argc - optind;
  return -1;
}

int mol_cli__verb_want_args(const verb *v, int min, int max) {
  if (v->nargs < min) return mol_cli__verb_usage_error(v, "missing argument (see the usage)");
  if (v->nargs > max) return mol_cli__verb_usage_error(v, "unexpected argument '%s'", v->args[max]);
  return 0;
}

int mol_cli__verb_text(const verb *v, const char *arg, char **out, int *owned) {
  *owned = 0;
  if (strcmp(arg, "-") != 0) {
    *out = (char *)arg;
    return 0;
  }
  char *buf;
  if (mol_cli__read_stdin(MAX_STDIN_TEXT, &buf)) {
    fprintf(stderr, "molecule %s: cannot read the text from stdin (at most %d bytes)\n", v->name,
            MAX_STDIN_TEXT);
    return VERB_USAGE;
  }
  *out = buf;
  *owned = 1;
  return 0;
}

int mol_cli__verb_token_dir(const mol_platform_opts *po, char *out, size_t cap) {
  int n;
  if (po->token_dir && *po->token_dir) {
    n = snprintf(out, cap, "%s", po->token_dir);
  } else {
    const char *home = getenv("HOME");
    if (!home || !*home) return -1;
    n = snprintf(out, cap, "%s/.molecule/%s", home, po->workspace_id);
    if (n < 0 || (size_t)n >= cap) return -1;
    /* the client lower-cases the id, and so its default directory */
    for (char *p = out + strlen(home); *p; p++) *p = (char)tolower((unsigned char)*p);
    return 0;
  }
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mol_cli__verb_write_private(const char *path, const char *data, size_t len) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return -ENAMETOOLONG;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int rc = 0;
  for (size_t off = 0; off < len && !rc;) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno != EINTR) rc = -errno;
    else if (w > 0) off += (size_t)w;
  }
  if (!rc && fsync(fd)) rc = -errno;
  if (close(fd) && !rc) rc = -errno;
  if (!rc && rename(tmp, path)) rc = -errno;
  if (rc) unlink(tmp);
  return rc;
}

static void close_client(verb *v) {
  uv_loop_t *loop = uv_default_loop();
  mol_platform_client_close(v->client, NULL, NULL);
  v->client = NULL;
  uv_run(loop, UV_RUN_DEFAULT); /* until the client and its pool are gone */
  uv_loop_close(loop);
}

int mol_cli__verb_open(verb *v) {
  mol_platform_opts_from_env(&v->po);
  if (!v->po.platform_url)
    return mol_cli__verb_usage_error(v, "no platform URL: set PLATFORM_URL (or "
                                        "MOLECULE_PLATFORM_URL), or pass --platform-url");
  if (!v->po.workspace_id)
    return mol_cli__verb_usage_error(v, "no workspace id: set WORKSPACE_ID (or "
                                        "MOLECULE_WORKSPACE_ID), or pass --workspace-id");
  static char dir[4096];
  if (mol_cli__verb_token_dir(&v->po, dir, sizeof dir))
    return mol_cli__verb_usage_error(v, "no token directory: HOME is not set; pass --token-dir "
                                        "or set MOLECULE_TOKEN_DIR");
  v->po.token_dir = dir;
  /* the deadline is the user's: no attempt may end the call sooner */
  v->po.timeout_ms = v->po.inbound_timeout_ms = v->po.peer_timeout_ms = v->timeout_ms;
  v->call.deadline_ms = v->timeout_ms;
  /* stderr is the handler's: the verb says what went wrong itself, once (a peer without a URL
   * reached through the proxy is no news) */
  mol_log_set_level(MOL_LOG_ERROR);
  mol_cli__log_from_env();
  int rc = mol_platform_client_new(uv_default_loop(), &v->po, &v->client);
  if (rc == MOL_EURL)
    return mol_cli__verb_usage_error(v, "bad platform URL '%s'", v->po.platform_url);
  if (rc == MOL_EINVAL)
    return mol_cli__verb_usage_error(v, "bad workspace id '%s'", v->po.workspace_id);
  if (rc) {
    fprintf(stderr, "molecule %s: %s\n", v->name, mol_strerror(rc));
    return VERB_FAILED;
  }
  if (!mol_platform_has_token(v->client)) {
    fprintf(stderr, "molecule %s: no token for workspace %s: set MOLECULE_WORKSPACE_TOKEN, or "
                    "put it in %s/.auth_token (--token-dir, MOLECULE_TOKEN_DIR)\n"
                    "Try 'molecule %s --help'\n", v->name, v->po.workspace_id, dir, v->name);
    close_client(v);
    return VERB_USAGE;
  }
  return 0;
}

/* The body as received, without trailing newlines, cut at MAX_ERROR_BODY. */
static void print_body(FILE *out, const mol_platform_result *res) {
  size_t n = res && res->body ? res->body_len : 0;
  while (n && (res->body[n - 1] == '\n' || res->body[n - 1] == '\r')) n--;
  if (n > MAX_ERROR_BODY) fprintf(out, "%.*s...", MAX_ERROR_BODY, res->body);
  else fprintf(out, "%.*s", (int)n, n ? res->body : "");
}

static int report_failure(verb *v, int err, const mol_platform_result *res) {
  int status = res ? res->http_status : 0;
  fprintf(stderr, "molecule %s: ", v->name);
  if (err == MOL_EHTTP || (err == MOL_EJSON && status)) {
    fprintf(stderr, "HTTP %d%s: ", status, err == MOL_EJSON ? ", not the JSON expected" : "");
    print_body(stderr, res);
  } else if (err == MOL_ERPC) {
    fprintf(stderr, "JSON-RPC error %d: %s", res ? res->rpc_code : 0,
            res && res->rpc_message ? res->rpc_message : "(no message)");
  } else if (err == MOL_ETIMEDOUT) {
    fprintf(stderr, "no answer from %s within %.1f s (--timeout)", v->po.platform_url,
            v->timeout_ms / 1000.0);
  } else {
    fprintf(stderr, "%s: %s", v->po.platform_url, mol_strerror(err));
  }
  fputc('\n', stderr);
  return VERB_FAILED;
}

void mol_cli__verb_on_done(int err, const mol_platform_result *res, void *arg) {
  verb *v = arg;
  v->done = 1;
  if (err) {
    v->exit_code = report_failure(v, err, res);
  } else if (v->json) {
    print_body(stdout, res);
    fputc('\n', stdout);
    v->exit_code = VERB_OK;
  } else {
    v->exit_code = v->print(v, res);
  }
  if (fflush(stdout)) {
    fprintf(stderr, "molecule %s: cannot write the output: %s\n", v->name, strerror(errno));
    v->exit_code = VERB_FAILED;
  }
}

int mol_cli__verb_finish(verb *v, int start_rc) {
  uv_loop_t *loop = uv_default_loop();
  if (start_rc == MOL_EINVAL) {
    v->exit_code = mol_cli__verb_usage_error(v, "%s", v->bad_args ? v->bad_args : "bad arguments");
  } else if (start_rc) {
    fprintf(stderr, "molecule %s: cannot start the call: %s\n", v->name, mol_strerror(start_rc));
    v->exit_code = VERB_FAILED;
  } else if (!start_rc) {
    while (!v->done && uv_run(loop, UV_RUN_ONCE)) {
    }
    if (!v->done) { /* every call completes: this would be a bug, said rather than hung */
      fprintf(stderr, "molecule %s: the call ended without an answer\n", v->name);
      v->exit_code = VERB_FAILED;
    }
  }
  close_client(v);
  if (v->text_owned) free(v->text);
  v->text = NULL;
  return v->exit_code;
}

int mol_cli__verb_setup(verb *v, int argc, char **argv, int min, int max, int text_arg) {
  int rc = mol_cli__verb_parse(v, argc, argv);
  if (rc >= 0) return rc;
  if ((rc = mol_cli__verb_want_args(v, min, max))) return rc;
  for (int i = 0; i < v->nargs && !v->arg; i++)
    if (i != text_arg) v->arg = v->args[i];
  if (text_arg >= 0) {
    if ((rc = mol_cli__verb_text(v, v->args[text_arg], &v->text, &v->text_owned))) return rc;
    if (!*v->text && !v->allow_empty_text) rc = mol_cli__verb_usage_error(v, "TEXT is empty");
  }
  if (!rc) rc = mol_cli__verb_open(v);
  if (!rc) return -1;
  if (v->text_owned) free(v->text);
  v->text = NULL;
  return rc;
}
