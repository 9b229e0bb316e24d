/* connect_setup.c - what `molecule connect` does before it runs: its flags, filled in from the
 * environment and the defaults (the Python SDK's PLATFORM_URL / WORKSPACE_ID really do satisfy
 * --platform-url and --workspace-id here), push mode's listener and URL checked, and the
 * registration in poll mode, made with the saved token on every start so that a restart
 * passes the platform's hijack guard. */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uv.h>

#include "cli/cli_util.h"
#include "cli/connect_int.h"
#include "molecule.h"
#include "molecule/uv.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule connect --handler CMD [--platform-url URL] [--workspace-id ID]\n"
          "                        [--token-dir DIR] [--token TOKEN] [--agent-name NAME]\n"
          "                        [--interval-s N | --poll-interval SECONDS]\n"
          "                        [--heartbeat-s N] [--cursor-file F]\n"
          "                        [--org-id ID] [--handler-timeout-s N] [--max-queued N]\n"
          "                        [--verbose]\n"
          "                        [--listen HOST:PORT [--reported-url URL] [--max-handlers N]]\n"
          "\n"
          "Registers WORKSPACE in poll mode, heartbeats, polls its state and its inbound\n"
          "messages, and runs CMD (with /bin/sh -c) once per message: the message text on\n"
          "stdin, the reply on stdout (empty output or a non-zero exit: no reply). The handler\n"
          "also gets MOLECULE_MESSAGE_SOURCE (canvas_user|peer_agent), MOLECULE_SOURCE_ID,\n"
          "MOLECULE_ACTIVITY_ID, MOLECULE_PEER_NAME, MOLECULE_PEER_ROLE, MOLECULE_PEER_CARD_URL,\n"
          "MOLECULE_MESSAGE_FILE (the raw message JSON) and the workspace identity, so that\n"
          "`molecule peers|delegate|notify|secrets|status` work in it. Exits 0 when the\n"
          "workspace is paused or deleted, or on SIGINT/SIGTERM; 2 when registration fails;\n"
          "1 on a persistent auth error. At most --max-queued messages (default 1000) wait for\n"
          "the handler; past that, fetching pauses and the rest wait on the platform.\n"
          "\n"
          "Push mode, with --listen: serves A2A on HOST:PORT (port 0: the OS picks one) and\n"
          "registers URL (--reported-url; default http://HOST:PORT/, required when HOST is\n"
          "0.0.0.0 or ::), so the platform's A2A proxy POSTs each message there and gets the\n"
          "reply in its answer; nothing is polled but the state. CMD runs once per A2A turn,\n"
          "up to --max-handlers at once (default 4 x CPUs): the text on stdin, stdout the\n"
          "reply; a non-zero exit fails the task with stderr's last line. It gets\n"
          "MOLECULE_TASK_ID, MOLECULE_CONTEXT_ID, MOLECULE_MESSAGE_ID, MOLECULE_STREAMING,\n"
          "MOLECULE_MESSAGE_FILE (the A2A message JSON) and the workspace identity. SIGTERM\n"
          "lets running handlers finish (10 s at most). Exit status as in poll mode; 2 also\n"
          "when HOST:PORT cannot be listened on.\n"
          "\n"
          "Environment: PLATFORM_URL (or MOLECULE_PLATFORM_URL), WORKSPACE_ID (or\n"
          "MOLECULE_WORKSPACE_ID), MOLECULE_WORKSPACE_TOKEN, MOLECULE_TOKEN_DIR, MOLECULE_ORG_ID,\n"
          "MOLECULE_ORIGIN, MOLECULE_CURSOR_FILE, MOLECULE_AGENT_NAME, MOLECULE_POLL_INTERVAL,\n"
          "MOLECULE_REPORTED_URL.\n"
          "Defaults: --token-dir ~/.molecule/<id>, --cursor-file <token-dir>/.inbound_cursor,\n"
          "--interval-s 5 (inbound and state polls; --poll-interval is upstream's name for it,\n"
          "fractions rounded), --heartbeat-s 30, --handler-timeout-s 300.\n");
}

static unsigned env_seconds(const char *name, unsigned dflt) {
  const char *v = getenv(name);
  double d = v && *v ? atof(v) : 0;
  return d >= 1 ? (unsigned)d : dflt;
}

/* ---- push mode's flags --------------------------------------------------------------------- */

/* An http(s) URL, kept with a trailing '/' (the card's paths are resolved against it). Any
 * other scheme would register poll mode with the platform and nothing would poll. */
static int set_reported_url(connect_opts *o, const char *url, const char *from) {
  size_t n = strlen(url);
  if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
    fprintf(stderr, "molecule connect: %s '%s' must start with http:// or https://\n", from, url);
    return 2;
  }
  if (strpbrk(url, "?# \t\r\n") || n + 2 > sizeof o->reported_url) {
    fprintf(stderr, "molecule connect: %s '%s' is not a plain URL (no query, fragment or "
                    "blanks; at most %zu bytes)\n", from, url, sizeof o->reported_url - 2);
    return 2;
  }
  snprintf(o->reported_url, sizeof o->reported_url, "%s%s", url, url[n - 1] == '/' ? "" : "/");
  return 0;
}

/* s as a whole number from 1 to max into *out; else the usage error naming flag (2). */
static int whole_arg(const char *flag, const char *s, long max, unsigned *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > max) {
    fprintf(stderr, "molecule connect: %s wants a whole number from 1 to %ld, not '%s'\n", flag,
            max, s);
    return 2;
  }
  *out = (unsigned)v;
  return 0;
}

/* --poll-interval SECONDS, upstream's name for --interval-s: seconds as the Python SDK takes
 * them (2 or 2.5), rounded to the whole second the poll runs on. */
static int poll_interval_arg(const char *s, unsigned *out) {
  char *end;
  double d = strtod(s, &end);
  if (end == s || *end || !(d >= 1) || d > 86400)
    return mol_cli__usage_error("connect", "bad --poll-interval '%s': want seconds from 1 to 86400",
                                s);
  *out = (unsigned)(d + 0.5);
  return 0;
}

/* 0.0.0.0, :: and the like: the platform cannot be told to reach "every address". */
static int wildcard_host(const char *host) {
  unsigned char a[16] = {0}, zero[16] = {0};
  if (uv_inet_pton(AF_INET, host, a) == 0) return memcmp(a, zero, 4) == 0;
  if (uv_inet_pton(AF_INET6, host, a) == 0) return memcmp(a, zero, 16) == 0;
  return 0;
}

static int card_name_ok(const char *s) {
  if (!*s || strlen(s) > 256) return 0;
  for (; *s; s++)
    if (iscntrl((unsigned char)*s)) return 0;
  return 1;
}

static int resolve_push(connect_opts *o) {
  const char *env = getenv("MOLECULE_REPORTED_URL");
  const char *url_from = o->reported_url[0] ? "--reported-url" : "MOLECULE_REPORTED_URL";
  if (!o->reported_url[0] && env && *env && set_reported_url(o, env, url_from)) return 2;
  if (!o->listen) {
    if (o->reported_url[0] || o->max_handlers) {
      fprintf(stderr, "molecule connect: %s is for push mode: add --listen HOST:PORT (poll mode "
                      "registers no URL)\n", o->max_handlers ? "--max-handlers" : url_from);
      return 2;
    }
    return 0;
  }
  if (o->max_queued) {
    fprintf(stderr, "molecule connect: --max-queued is for poll mode (with --listen, "
                    "--max-handlers bounds the work)\n");
    return 2;
  }
  if (mol_cli__parse_hostport(o->listen, o->host, sizeof o->host, &o->port)) {
    fprintf(stderr, "molecule connect: bad --listen '%s' (want HOST:PORT)\n", o->listen);
    return 2;
  }
  if (!o->reported_url[0] && wildcard_host(o->host)) {
    fprintf(stderr, "molecule connect: --listen %s listens on every address; name the URL the "
                    "platform should use with --reported-url URL (or MOLECULE_REPORTED_URL)\n",
            o->listen);
    return 2;
  }
  if (o->agent_name && !card_name_ok(o->agent_name)) {
    fprintf(stderr, "molecule connect: --agent-name wants 1 to 256 bytes and no control "
                    "characters\n");
    return 2;
  }
  o->po.cursor_file = NULL; /* nothing is polled but the state */
  return 0;
}

/* ---- flags, environment, defaults ----------------------------------------------------------- */

int mol_cli__connect_parse_args(int argc, char **argv, connect_opts *o) {
  static const struct option longopts[] = {
      {"platform-url", required_argument, NULL, 'u'}, {"workspace-id", required_argument, NULL, 'w'},
      {"token-dir", required_argument, NULL, 'd'},    {"token", required_argument, NULL, 't'},
      {"handler", required_argument, NULL, 'H'},      {"interval-s", required_argument, NULL, 'i'},
      {"heartbeat-s", required_argument, NULL, 'b'},  {"agent-name", required_argument, NULL, 'n'},
      {"cursor-file", required_argument, NULL, 'c'},  {"org-id", required_argument, NULL, 'o'},
      {"handler-timeout-s", required_argument, NULL, 'T'}, {"verbose", no_argument, NULL, 'v'},
      {"listen", required_argument, NULL, 'l'},
      {"reported-url", required_argument, NULL, 'r'},
      {"max-handlers", required_argument, NULL, 'P'},
      {"max-queued", required_argument, NULL, 'Q'},
      {"poll-interval", required_argument, NULL, 'I'},
      {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
    switch (c) {
    case 'u': o->po.platform_url = optarg; break;
    case 'w': o->po.workspace_id = optarg; break;
    case 'd': o->po.token_dir = optarg; break;
    case 't': o->token = optarg; break;
    case 'H': o->handler = optarg; break;
    case 'i': if (whole_arg("--interval-s", optarg, 86400, &o->interval_s)) return 2; break;
    case 'I': if (poll_interval_arg(optarg, &o->interval_s)) return 2; break;
    case 'b': if (whole_arg("--heartbeat-s", optarg, 86400, &o->heartbeat_s)) return 2; break;
    case 'n': o->agent_name = optarg; break;
    case 'c': o->po.cursor_file = optarg; break;
    case 'o': o->po.org_id = optarg; break;
    case 'T':
      if (whole_arg("--handler-timeout-s", optarg, 7 * 86400, &o->handler_timeout_s)) return 2;
      break;
    case 'v': o->verbose = 1; break;
    case 'l': o->listen = optarg; break;
    case 'r': if (set_reported_url(o, optarg, "--reported-url")) return 2; break;
    case 'P': if (whole_arg("--max-handlers", optarg, 100000, &o->max_handlers)) return 2; break;
    case 'Q': if (whole_arg("--max-queued", optarg, 1000000, &o->max_queued)) return 2; break;
    case 'h': usage(stdout); return 0;
    default: return mol_cli__option_error("connect", argv, c);
    }
  }
  if (optind < argc) return mol_cli__usage_error("connect", "unexpected argument '%s'", argv[optind]);
  return -1;
}

int mol_cli__connect_client_new(uv_loop_t *loop, const connect_opts *o,
                                mol_platform_client **out) {
  int rc = mol_platform_client_new(loop, &o->po, out);
  if (rc == MOL_EURL)
    return mol_cli__usage_error("connect", "bad platform URL '%s' (--platform-url or "
                                           "PLATFORM_URL): want an http:// or https:// URL",
                                o->po.platform_url);
  if (rc == MOL_EINVAL)
    return mol_cli__usage_error("connect", "bad workspace id '%s' (--workspace-id or "
                                           "WORKSPACE_ID): letters, digits, '.', '_' and '-', "
                                           "not starting with '.'", o->po.workspace_id);
  if (rc) fprintf(stderr, "molecule connect: %s\n", mol_strerror(rc));
  return rc ? 2 : 0;
}

int mol_cli__connect_resolve_opts(connect_opts *o) {
  if (!o->handler || !*o->handler) {
    fprintf(stderr, "molecule connect: --handler CMD is required\n");
    return 2;
  }
  if (mol_platform_opts_from_env(&o->po)) {
    fprintf(stderr, "molecule connect: the platform URL and workspace id are required "
                    "(--platform-url / PLATFORM_URL, --workspace-id / WORKSPACE_ID)\n");
    return 2;
  }
  if (!o->agent_name) o->agent_name = getenv("MOLECULE_AGENT_NAME");
  /* A token handed over by flag or environment is saved, as upstream's --token does, so a
   * restart without it still authenticates. */
  if (!o->token) o->token = o->po.token;
  if (!o->interval_s) o->interval_s = env_seconds("MOLECULE_POLL_INTERVAL", 5);
  if (!o->heartbeat_s) o->heartbeat_s = 30;
  if (!o->handler_timeout_s) o->handler_timeout_s = 300;
  if (!o->po.cursor_file) { /* a restart resumes after the last handled message */
    const char *home = getenv("HOME");
    if (o->po.token_dir) snprintf(o->cursor, sizeof o->cursor, "%s/.inbound_cursor", o->po.token_dir);
    else if (home) snprintf(o->cursor, sizeof o->cursor, "%s/.molecule/%s/.inbound_cursor", home, o->po.workspace_id);
    if (o->cursor[0]) o->po.cursor_file = o->cursor;
  }
  return resolve_push(o);
}

typedef struct {
  int done, err, status;
} reg_result;

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  reg_result *r = arg;
  r->done = 1;
  r->err = err;
  r->status = res->http_status;
}

int mol_cli__connect_register(uv_loop_t *loop, mol_platform_client *client, const connect_opts *o) {
  json_t *card = o->agent_name ? json_pack("{s:s}", "name", o->agent_name) : NULL;
  char *card_json = card ? json_dumps(card, JSON_COMPACT) : NULL;
  json_decref(card);
  mol_platform_register_opts ro = {.agent_card_json = card_json}; /* NULL: the default card */
  reg_result r = {0};
  int rc = mol_platform_register(client, &ro, NULL, on_registered, &r, NULL);
  free(card_json);
  while (!rc && !r.done) uv_run(loop, UV_RUN_ONCE);
  rc = rc ? rc : r.err;
  if (rc && r.status)
    fprintf(stderr, "[molecule] register failed: %s (HTTP %d)\n", mol_strerror(rc), r.status);
  else if (rc)
    fprintf(stderr, "[molecule] register failed: %s\n", mol_strerror(rc));
  return rc;
}
