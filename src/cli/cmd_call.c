/* cmd_call.c - `molecule call URL TEXT`: one A2A message to an agent, the reply on stdout; and
 * `molecule task get|cancel URL ID`. Unary by default (message/send); --stream prints the reply
 * as it streams in. The other methods (get, cancel, subscribe, list, push configs, cards) are
 * one option each; their results are printed as one line of JSON (a subscription streams like
 * --stream). This file reads the arguments; call_run.c runs the call. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/call_int.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "http/url.h"

#define MAX_STDIN_TEXT (1024 * 1024)

static void call_usage(void) {
  printf("usage: molecule call [options] URL TEXT\n"
         "       molecule call [options] URL ACTION\n"
         "\n"
         "Sends TEXT (\"-\": read it from stdin) to the A2A agent at URL and prints the reply;\n"
         "a Task's id goes to stderr as [task ID]. URL is the agent's JSON-RPC endpoint (for a\n"
         "molecule agent, its base URL), or its agent card (.../.well-known/agent-card.json):\n"
         "then the card is fetched and the call goes to the endpoint it names. Or runs one\n"
         "other method (ACTION) and prints its result as one line of JSON. Put '--' before a\n"
         "TEXT that starts with '-'.\n"
         "\n"
         "options:\n"
         "  --stream          message/stream: print the reply as it arrives\n"
         "  --json            print the result (each event with --stream) as one line of JSON\n"
         "  --v1              speak A2A v1.0 (A2A-Version: 1.0); default v0.3\n"
         "  --task-id ID      continue task ID (an input-required task) with TEXT (also --task)\n"
         "  --context-id ID   the message's contextId; with --list, the context to list\n"
         "  --return-immediately  answer with the task at once (v0.3 blocking:false)\n"
         "  --history N       keep the last N history messages in the answer\n"
         "  --push-url URL    a push-notification webhook: with TEXT, set inline for the new\n"
         "                    task; with --push-set, the config's url\n"
         "  --push-token T    its X-A2A-Notification-Token;  --push-id CID  its id\n"
         "  --timeout-ms N    deadline of the call (default 60000)\n"
         "  --header K:V      extra request header (repeatable), e.g. Authorization:Bearer x\n"
         "  --cacert FILE     trust the CA certificates in FILE (PEM) for https, instead of\n"
         "                    SSL_CERT_FILE / SSL_CERT_DIR / REQUESTS_CA_BUNDLE or the system's\n"
         "  -k, --insecure    https without certificate or host name checks (warns)\n"
         "  -h, --help        show this help\n"
         "\n"
         "actions (instead of TEXT):\n"
         "  --get ID          tasks/get (GetTask); also `molecule task get URL ID`\n"
         "  --cancel ID       tasks/cancel (CancelTask); also `molecule task cancel URL ID`\n"
         "  --subscribe ID    tasks/resubscribe (SubscribeToTask): stream the task's events\n"
         "  --list            ListTasks (v1.0): --context-id C --status S --page-size N\n"
         "                    --page-token T, and --history N\n"
         "  --card            the agent card (for --v1, the v1.0 card)\n"
         "  --extended-card   agent/getAuthenticatedExtendedCard (GetExtendedAgentCard)\n"
         "  --push-set ID     set a push config on task ID (--push-url, --push-token, --push-id)\n"
         "  --push-get ID     get one (--push-id, else the default);  --push-list ID\n"
         "  --push-delete ID  delete one (--push-id, else the default)\n"
         "\n"
         "Proxies: HTTPS_PROXY (https, tunnelled with CONNECT), HTTP_PROXY (http), ALL_PROXY\n"
         "and NO_PROXY, or their lower-case names, as curl reads them (docs/cli.md).\n"
         "\n"
         "A platform that queues the message (a workspace that polls for its messages, or a\n"
         "busy one) is said on stderr with the queue id, exit 0. Exit status: 0 on a reply,\n"
         "1 when the call failed or the task ended failed, rejected or canceled (its status\n"
         "message on stderr; --cancel expects canceled), 2 on bad usage.\n");
}

static void task_usage(void) {
  printf("usage: molecule task get [options] URL ID\n"
         "       molecule task cancel [options] URL ID\n"
         "\n"
         "Fetches (tasks/get) or cancels (tasks/cancel) the task ID of the A2A agent at URL\n"
         "(its endpoint or its agent card URL, as for `molecule call`) and prints the task as\n"
         "one line of JSON.\n"
         "\n"
         "options:\n"
         "  --v1              speak A2A v1.0; default v0.3\n"
         "  --history N       (get) keep the last N history messages\n"
         "  --timeout-ms N    deadline of the call (default 60000)\n"
         "  --header K:V      extra request header (repeatable)\n"
         "  --cacert FILE     trust the CA certificates in FILE (PEM) for https\n"
         "  -k, --insecure    https without certificate or host name checks (warns)\n"
         "  -h, --help        show this help\n"
         "\n"
         "Exit status: 0 with the task (for cancel: a canceled task), 1 when the call failed or\n"
         "the task ended failed or rejected, 2 on bad usage.\n");
}

/* "Name: value" -> a header (the value's leading blanks dropped). */
static int add_header(call_args *a, const char *kv) {
  const char *colon = strchr(kv, ':');
  if (!colon || colon == kv)
    return mol_cli__usage_error(a->cmd, "bad --header '%s': want NAME:VALUE", kv);
  if (a->nheaders == CALL_MAX_HEADERS)
    return mol_cli__usage_error(a->cmd, "too many --header '%s': at most %d", kv, CALL_MAX_HEADERS);
  char *copy = strdup(kv);
  if (!copy) return 1;
  char *value = copy + (colon - kv);
  *value++ = '\0';
  while (*value == ' ' || *value == '\t') value++;
  a->header_copies[a->nheaders] = copy;
  a->headers[a->nheaders++] = (mol_http_header){copy, value};
  return 0;
}

static int number_arg(const call_args *a, const char *flag, const char *s, long min, long max,
                      long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < min || v > max)
    return mol_cli__usage_error(a->cmd, "bad %s '%s': want a whole number from %ld to %ld", flag,
                                s, min, max);
  *out = v;
  return 0;
}

/* The option ids past the single characters. */
enum {
  O_STREAM = 256, O_V1, O_RETURN, O_LIST, O_CARD, O_EXT_CARD, O_GET, O_CANCEL, O_SUBSCRIBE,
  O_PUSH_SET, O_PUSH_GET, O_PUSH_LIST, O_PUSH_DELETE, O_TASK, O_CONTEXT, O_PUSH_URL,
  O_PUSH_TOKEN, O_PUSH_ID, O_STATUS, O_PAGE_TOKEN, O_HISTORY, O_PAGE_SIZE, O_TIMEOUT, O_HEADER,
  O_JSON, O_CACERT
};

static const struct option call_options[] = {
    {"stream", no_argument, NULL, O_STREAM},          {"v1", no_argument, NULL, O_V1},
    {"json", no_argument, NULL, O_JSON},
    {"return-immediately", no_argument, NULL, O_RETURN}, {"list", no_argument, NULL, O_LIST},
    {"card", no_argument, NULL, O_CARD},              {"extended-card", no_argument, NULL, O_EXT_CARD},
    {"get", required_argument, NULL, O_GET},          {"cancel", required_argument, NULL, O_CANCEL},
    {"subscribe", required_argument, NULL, O_SUBSCRIBE},
    {"push-set", required_argument, NULL, O_PUSH_SET}, {"push-get", required_argument, NULL, O_PUSH_GET},
    {"push-list", required_argument, NULL, O_PUSH_LIST},
    {"push-delete", required_argument, NULL, O_PUSH_DELETE},
    {"task", required_argument, NULL, O_TASK},        {"task-id", required_argument, NULL, O_TASK},
    {"context", required_argument, NULL, O_CONTEXT},  {"context-id", required_argument, NULL, O_CONTEXT},
    {"push-url", required_argument, NULL, O_PUSH_URL}, {"push-token", required_argument, NULL, O_PUSH_TOKEN},
    {"push-id", required_argument, NULL, O_PUSH_ID},  {"status", required_argument, NULL, O_STATUS},
    {"page-token", required_argument, NULL, O_PAGE_TOKEN},
    {"history", required_argument, NULL, O_HISTORY}, {"page-size", required_argument, NULL, O_PAGE_SIZE},
    {"timeout-ms", required_argument, NULL, O_TIMEOUT}, {"header", required_argument, NULL, O_HEADER},
    {"cacert", required_argument, NULL, O_CACERT},  {"insecure", no_argument, NULL, 'k'},
    {"help", no_argument, NULL, 'h'},                 {NULL, 0, NULL, 0}};

/* "--get" for O_GET: the option as the user typed it, for messages. */
static const char *option_name(int c) {
  static char buf[48];
  for (const struct option *o = call_options; o->name; o++)
    if (o->val == c) {
      snprintf(buf, sizeof buf, "--%s", o->name);
      return buf;
    }
  return "?";
}

/* An action option: one per call. */
static int set_action(call_args *a, call_action act, const char *id, const char *flag) {
  if (a->action != ACT_SEND)
    return mol_cli__usage_error(a->cmd, "one action per call: '%s' after another", flag);
  if (id && !*id) return mol_cli__usage_error(a->cmd, "bad %s '': want a task id", flag);
  a->action = act;
  if (id) a->task_id = id;
  return 0;
}

static int apply_option(call_args *a, int c, const char *v) {
  static const call_action task_acts[] = {
      [O_GET - O_GET] = ACT_GET, [O_CANCEL - O_GET] = ACT_CANCEL,
      [O_SUBSCRIBE - O_GET] = ACT_SUBSCRIBE, [O_PUSH_SET - O_GET] = ACT_PUSH_SET,
      [O_PUSH_GET - O_GET] = ACT_PUSH_GET, [O_PUSH_LIST - O_GET] = ACT_PUSH_LIST,
      [O_PUSH_DELETE - O_GET] = ACT_PUSH_DELETE};
  long n = 0; /* set by every number option before use; -O3 cannot see that */
  if (c >= O_GET && c <= O_PUSH_DELETE) return set_action(a, task_acts[c - O_GET], v, option_name(c));
  switch (c) {
  case O_STREAM: a->stream = 1; return 0;
  case O_JSON: a->json = 1; return 0;
  case O_V1: a->version = MOL_A2A_V10; return 0;
  case O_RETURN: a->return_immediately = 1; return 0;
  case O_LIST: return set_action(a, ACT_LIST, NULL, "--list");
  case O_CARD: return set_action(a, ACT_CARD, NULL, "--card");
  case O_EXT_CARD: return set_action(a, ACT_EXT_CARD, NULL, "--extended-card");
  case O_TASK: a->task_id = v; return 0;
  case O_CONTEXT: a->context = v; return 0;
  case O_PUSH_URL: a->push_url = v; return 0;
  case O_PUSH_TOKEN: a->push_token = v; return 0;
  case O_PUSH_ID: a->push_id = v; return 0;
  case O_STATUS: a->status = v; return 0;
  case O_PAGE_TOKEN: a->page_token = v; return 0;
  case O_HEADER: return add_header(a, v);
  case 'k': a->insecure = 1; return 0;
  case O_CACERT:
    /* Said now, not as a TLS failure at the first https connection. */
    if (access(v, R_OK) != 0)
      return mol_cli__usage_error(a->cmd, "bad --cacert '%s': %s", v, strerror(errno));
    a->cacert = v;
    return 0;
  case O_HISTORY:
    if (number_arg(a, "--history", v, 0, 1000000, &n)) return 2;
    a->history = (int)n;
    a->has_history = 1;
    return 0;
  case O_PAGE_SIZE:
    if (number_arg(a, "--page-size", v, 0, 1000, &n)) return 2;
    a->page_size = (int)n;
    return 0;
  case O_TIMEOUT:
    if (number_arg(a, "--timeout-ms", v, 1, 86400000, &n)) return 2;
    a->timeout_ms = (unsigned)n;
    return 0;
  }
  return 2;
}

/* Parses the options into a; the positionals stay at argv[optind..]. Returns -1 to go on, 0
 * after --help, or 2 after a usage error (reported). */
static int parse_options(call_args *a, int argc, char **argv, void (*usage)(void)) {
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":hk", call_options, NULL)) != -1) {
    if (c == 'h') {
      usage();
      return 0;
    }
    if (c == '?' || c == ':') return mol_cli__option_error(a->cmd, argv, c);
    int rc = apply_option(a, c, optarg);
    if (rc) return rc;
  }
  return -1;
}

static int check_url(const call_args *a) {
  mol_url u;
  if (mol_url_parse(a->url, &u) != 0)
    return mol_cli__usage_error(a->cmd, "bad URL '%s': want an http:// or https:// URL",
                                a->url);
  return 0;
}

/* The positionals and the combinations. 0, or 2 after a usage error (reported). */
static int check_call_args(call_args *a, int npos, char **pos) {
  if (npos > 2) return mol_cli__usage_error(a->cmd, "unexpected argument '%s'", pos[2]);
  a->url = npos > 0 ? pos[0] : NULL;
  a->text = npos > 1 ? pos[1] : NULL;
  if (!a->url) return mol_cli__usage_error(a->cmd, "missing URL (and TEXT, or an action)");
  if (a->action != ACT_SEND && a->text)
    return mol_cli__usage_error(a->cmd, "unexpected argument '%s': TEXT goes with a message, "
                                        "not with an action", a->text);
  if (a->action == ACT_SEND && !a->text)
    return mol_cli__usage_error(a->cmd, "missing TEXT after URL '%s' (or give an action)", a->url);
  if (a->action == ACT_PUSH_SET && !a->push_url)
    return mol_cli__usage_error(a->cmd, "--push-set needs --push-url");
  if (a->action == ACT_LIST && a->version != MOL_A2A_V10)
    return mol_cli__usage_error(a->cmd, "--list: ListTasks is an A2A v1.0 method: add --v1");
  if (check_url(a)) return 2;
  if (a->text && !strcmp(a->text, "-")) {
    if (mol_cli__read_stdin(MAX_STDIN_TEXT, &a->text_owned)) {
      fprintf(stderr, "molecule %s: cannot read TEXT from stdin (at most %d bytes)\n", a->cmd,
              MAX_STDIN_TEXT);
      return 2;
    }
    a->text = a->text_owned;
  }
  if (a->text && !*a->text) return mol_cli__usage_error(a->cmd, "TEXT is empty");
  return 0;
}

static int finish(call_args *a, int status) {
  for (size_t i = 0; i < a->nheaders; i++) free(a->header_copies[i]);
  free(a->text_owned);
  return status;
}

int mol_cli__cmd_call(int argc, char **argv) {
  call_args a = {.cmd = "call", .version = MOL_A2A_V03};
  int rc = parse_options(&a, argc, argv, call_usage);
  if (rc < 0) rc = check_call_args(&a, argc - optind, argv + optind);
  else return finish(&a, rc);
  return finish(&a, rc ? rc : mol_cli__call_run(&a));
}

/* molecule task get|cancel URL ID: the two task methods a user types most, by name. */
int mol_cli__cmd_task(int argc, char **argv) {
  call_args a = {.cmd = "task", .version = MOL_A2A_V03};
  int rc = parse_options(&a, argc, argv, task_usage);
  if (rc >= 0) return finish(&a, rc);
  char **pos = argv + optind;
  int npos = argc - optind;
  if (npos < 1) return finish(&a, mol_cli__usage_error("task", "missing get or cancel"));
  if (strcmp(pos[0], "get") && strcmp(pos[0], "cancel"))
    return finish(&a, mol_cli__usage_error("task", "unknown subcommand '%s': want get or cancel",
                                           pos[0]));
  if (a.action != ACT_SEND || a.stream || a.text)
    return finish(&a, mol_cli__usage_error("task", "call's action options are not task's"));
  if (npos < 3) return finish(&a, mol_cli__usage_error("task", "missing URL and ID"));
  if (npos > 3) return finish(&a, mol_cli__usage_error("task", "unexpected argument '%s'", pos[3]));
  a.action = pos[0][0] == 'g' ? ACT_GET : ACT_CANCEL;
  a.url = pos[1];
  a.task_id = pos[2];
  if (!*a.task_id) return finish(&a, mol_cli__usage_error("task", "bad ID '': want a task id"));
  if (check_url(&a)) return finish(&a, 2);
  return finish(&a, mol_cli__call_run(&a));
}
