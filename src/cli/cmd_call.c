/* cmd_call.c - `molecule call URL TEXT`: one A2A message to an agent, the reply on stdout.
 * Unary by default (message/send); --stream prints the reply as it streams in. The other
 * methods (get, cancel, subscribe, list, push configs, cards) are one option each; their
 * results are printed as one line of JSON (a subscription streams like --stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "a2a_uv/client.h"
#include "cli/cli.h"
#include "http/url.h"
#include "molecule.h"

enum { MAX_HEADERS = 32 };

typedef enum {
  ACT_SEND = 0, ACT_GET, ACT_CANCEL, ACT_SUBSCRIBE, ACT_LIST, ACT_CARD, ACT_EXT_CARD,
  ACT_PUSH_SET, ACT_PUSH_GET, ACT_PUSH_LIST, ACT_PUSH_DELETE
} call_action;

typedef struct {
  const char *url, *text;
  call_action action;
  const char *task_id;          /* the task the action is about, or the one --task continues */
  int history, has_history, return_immediately;
  const char *push_url, *push_token, *push_id;
  const char *context, *status, *page_token;
  int page_size;
  int stream;
  mol_a2a_version version;
  unsigned timeout_ms;
  mol_http_header headers[MAX_HEADERS];
  char *header_copies[MAX_HEADERS];
  size_t nheaders;
} call_args;

typedef struct {
  call_action action;
  int stream;
  int printed; /* text already written by the stream */
  int status;  /* exit status */
  int done, closed;
} call_run;

static void call_usage(FILE *out) {
  fprintf(out,
          "usage: molecule call URL TEXT [options]\n"
          "       molecule call URL ACTION [options]\n"
          "\n"
          "Sends TEXT to the A2A agent at URL (its JSON-RPC endpoint) and prints the reply; a\n"
          "Task's id goes to stderr as [task ID]. Or runs one other method (ACTION) and prints\n"
          "its result as one line of JSON.\n"
          "\n"
          "options:\n"
          "  --stream          message/stream: print the reply as it arrives\n"
          "  --v1              speak A2A v1.0 (A2A-Version: 1.0); default v0.3\n"
          "  --task ID         continue task ID (an input-required task) with TEXT\n"
          "  --return-immediately  answer with the task at once (v0.3 blocking:false)\n"
          "  --history N       keep the last N history messages in the answer\n"
          "  --push-url URL    a push-notification webhook: with TEXT, set inline for the new\n"
          "                    task; with --push-set, the config's url\n"
          "  --push-token T    its X-A2A-Notification-Token;  --push-id CID  its id\n"
          "  --timeout-ms N    deadline of the call (default 60000)\n"
          "  --header K:V      extra request header (repeatable), e.g. Authorization:Bearer x\n"
          "  -h, --help        show this help\n"
          "\n"
          "actions (instead of TEXT):\n"
          "  --get ID          tasks/get (GetTask)\n"
          "  --cancel ID       tasks/cancel (CancelTask)\n"
          "  --subscribe ID    tasks/resubscribe (SubscribeToTask): stream the task's events\n"
          "  --list            ListTasks (v1.0): --context C --status S --page-size N\n"
          "                    --page-token T, and --history N\n"
          "  --card            the agent card (for --v1, the v1.0 card)\n"
          "  --extended-card   agent/getAuthenticatedExtendedCard (GetExtendedAgentCard)\n"
          "  --push-set ID     set a push config on task ID (--push-url, --push-token, --push-id)\n"
          "  --push-get ID     get one (--push-id, else the default);  --push-list ID\n"
          "  --push-delete ID  delete one (--push-id, else the default)\n"
          "\n"
          "Exit status: 0 on a reply, 1 when the call failed or the task ended failed, rejected\n"
          "or canceled (its status message on stderr; --cancel expects canceled), 2 on bad\n"
          "usage.\n");
}

/* "Name: value" -> a header (the value's leading blanks dropped). */
static int add_header(call_args *a, const char *kv) {
  const char *colon = strchr(kv, ':');
  if (!colon || colon == kv || a->nheaders == MAX_HEADERS) return -1;
  char *copy = strdup(kv);
  if (!copy) return -1;
  char *value = copy + (colon - kv);
  *value++ = '\0';
  while (*value == ' ' || *value == '\t') value++;
  a->header_copies[a->nheaders] = copy;
  a->headers[a->nheaders++] = (mol_http_header){copy, value};
  return 0;
}

/* An action that names a task: --get ID and the like. */
static int task_action(call_args *a, const char *o, const char *id) {
  static const struct {
    const char *name;
    call_action act;
  } acts[] = {{"--get", ACT_GET}, {"--cancel", ACT_CANCEL}, {"--subscribe", ACT_SUBSCRIBE},
              {"--push-set", ACT_PUSH_SET}, {"--push-get", ACT_PUSH_GET},
              {"--push-list", ACT_PUSH_LIST}, {"--push-delete", ACT_PUSH_DELETE}};
  for (size_t k = 0; k < sizeof(acts) / sizeof(*acts); k++) {
    if (strcmp(o, acts[k].name) != 0) continue;
    if (a->action != ACT_SEND || !*id) return -1; /* one action */
    a->action = acts[k].act;
    a->task_id = id;
    return 1;
  }
  return 0;
}

/* Options that take a string: 1 when o was one. */
static int string_option(call_args *a, const char *o, const char *v) {
  const struct {
    const char *name;
    const char **dst;
  } opts[] = {{"--task", &a->task_id},      {"--push-url", &a->push_url},
              {"--push-token", &a->push_token}, {"--push-id", &a->push_id},
              {"--context", &a->context},   {"--status", &a->status},
              {"--page-token", &a->page_token}};
  for (size_t k = 0; k < sizeof(opts) / sizeof(*opts); k++) {
    if (strcmp(o, opts[k].name) != 0) continue;
    *opts[k].dst = v;
    return 1;
  }
  return 0;
}

static int number_arg(const char *s, long max, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 0 || v > max) return -1;
  *out = (int)v;
  return 0;
}

static int parse_option(call_args *a, int argc, char **argv, int *i) {
  const char *o = argv[*i];
  const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
  int took;
  if (!strcmp(o, "--stream")) a->stream = 1;
  else if (!strcmp(o, "--v1")) a->version = MOL_A2A_V10;
  else if (!strcmp(o, "--return-immediately")) a->return_immediately = 1;
  else if (!strcmp(o, "--list") || !strcmp(o, "--card") || !strcmp(o, "--extended-card")) {
    if (a->action != ACT_SEND) return -1;
    a->action = o[2] == 'l' ? ACT_LIST : o[2] == 'c' ? ACT_CARD : ACT_EXT_CARD;
  } else if (next && (took = task_action(a, o, next)) != 0) {
    if (took < 0) return -1;
    ++*i;
  } else if (next && string_option(a, o, next)) {
    ++*i;
  } else if (!strcmp(o, "--history") && next) {
    a->has_history = 1;
    return number_arg(argv[++*i], 1000000, &a->history);
  } else if (!strcmp(o, "--page-size") && next) {
    return number_arg(argv[++*i], 1000, &a->page_size);
  } else if (!strcmp(o, "--timeout-ms") && *i + 1 < argc) {
    char *end;
    unsigned long v = strtoul(argv[++*i], &end, 10);
    if (*end || v == 0 || v > 86400000UL) return -1;
    a->timeout_ms = (unsigned)v;
  } else if (!strcmp(o, "--header") && *i + 1 < argc) {
    return add_header(a, argv[++*i]);
  } else {
    return -1;
  }
  return 0;
}

/* Returns 0, 1 for --help, or -1 on bad usage (message printed). */
static int parse_call_args(int argc, char **argv, call_args *a) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) return 1;
    int rc = 0;
    if (o[0] == '-' && o[1] == '-') rc = parse_option(a, argc, argv, &i);
    else if (!a->url) a->url = o;
    else if (!a->text) a->text = o;
    else rc = -1;
    if (rc != 0) {
      fprintf(stderr, "molecule call: bad argument '%s'\n\n", o);
      return -1;
    }
  }
  if (a->action != ACT_SEND && a->text) {
    fprintf(stderr, "molecule call: TEXT goes with a message, not with an action\n\n");
    return -1;
  }
  if (a->action == ACT_PUSH_SET && !a->push_url) {
    fprintf(stderr, "molecule call: --push-set needs --push-url\n\n");
    return -1;
  }
  if (!a->url || (!a->text && a->action == ACT_SEND)) {
    fprintf(stderr, "molecule call: URL and TEXT (or an action) are required\n\n");
    return -1;
  }
  mol_url u;
  if (mol_url_parse(a->url, &u) != 0) {
    fprintf(stderr, "molecule call: '%s' is not an http:// or https:// URL\n\n", a->url);
    return -1;
  }
  return 0;
}

/* ---- running the call ------------------------------------------------------------------- */

static void on_closed(void *arg) { ((call_run *)arg)->closed++; }

static int on_event(mol_a2a_call *call, const mol_a2a_response *ev, void *arg) {
  call_run *run = arg;
  (void)call;
  if (ev->kind == MOL_A2A_RESULT_MESSAGE || ev->kind == MOL_A2A_RESULT_ARTIFACT_UPDATE) {
    char *t = mol_a2a_response_text(ev);
    if (t && *t) {
      fputs(t, stdout);
      fflush(stdout);
      run->printed = 1;
    }
    free(t);
  } else {
    const char *state = json_string_value(
        json_object_get(json_object_get(ev->result, "status"), "state"));
    if (state) fprintf(stderr, "[%s]\n", state);
  }
  return 0;
}

/* "failed", "rejected" or "canceled" when the result (a Task, or a stream's last status
 * update) ended that way; NULL otherwise (a Message, completed, input-required...). */
static const char *unsuccessful_state(const json_t *result) {
  static const char *const bad[] = {"failed", "rejected", "canceled"};
  const char *state = json_string_value(json_object_get(json_object_get(result, "status"), "state"));
  for (size_t i = 0; state && i < sizeof(bad) / sizeof(*bad); i++)
    if (strcmp(state, bad[i]) == 0) return bad[i];
  return NULL;
}

/* An action's result as one line of JSON. */
static void print_json(const json_t *v) {
  char *j = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  puts(j ? j : "null");
  free(j);
}

static void on_done(mol_a2a_call *call, int err, const mol_a2a_result *res, void *arg) {
  call_run *run = arg;
  (void)call;
  run->done = 1;
  if (err != 0) {
    if (run->printed) fputc('\n', stdout);
    fprintf(stderr, "molecule call: %s (%s", res->detail, mol_err_name(err));
    if (res->http_status) fprintf(stderr, ", HTTP %d", res->http_status);
    fprintf(stderr, ")\n");
    run->status = 1;
    return;
  }
  if (run->action != ACT_SEND && run->action != ACT_SUBSCRIBE) {
    const char *ended = unsuccessful_state(res->result);
    print_json(run->action == ACT_CARD ? res->card : res->result);
    /* a task that ended badly is a failure, unless ending it was the point */
    run->status = ended && !(run->action == ACT_CANCEL && !strcmp(ended, "canceled"));
    return;
  }
  if (res->queued) { /* the platform will deliver it: a success, and nothing to resend */
    fprintf(stderr, "[queued: the platform accepted the message and will deliver it later]\n");
    run->status = 0;
    return;
  }
  if (res->kind == MOL_A2A_RESULT_TASK && res->task_id) fprintf(stderr, "[task %s]\n", res->task_id);
  const char *ended = unsuccessful_state(res->result);
  if (ended) { /* the agent answered, but the task did not succeed: say so, exit 1 */
    if (run->printed) fputc('\n', stdout);
    fprintf(stderr, "molecule call: task %s%s%s\n", ended, *res->text ? ": " : "", res->text);
    run->status = 1;
    return;
  }
  if (!run->printed) fputs(res->text, stdout);
  fputc('\n', stdout);
  run->status = 0;
}

static int start_send(mol_a2a_client *c, const call_args *a, const mol_a2a_call_opts *o,
                      call_run *run) {
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, a->text);
  if (!msg) return MOL_ENOMEM;
  if (a->task_id) json_object_set_new(msg, "taskId", json_string(a->task_id));
  int rc = a->stream ? mol_a2a_stream(c, msg, o, on_event, on_done, run, NULL)
                     : mol_a2a_send(c, msg, o, on_done, run, NULL);
  json_decref(msg);
  return rc;
}

static json_t *list_params(const call_args *a) {
  json_t *p = json_object();
  if (a->context) json_object_set_new(p, "contextId", json_string(a->context));
  if (a->status) json_object_set_new(p, "status", json_string(a->status));
  if (a->page_token) json_object_set_new(p, "pageToken", json_string(a->page_token));
  if (a->page_size) json_object_set_new(p, "pageSize", json_integer(a->page_size));
  if (a->has_history) json_object_set_new(p, "historyLength", json_integer(a->history));
  return p;
}

static int start_call(mol_a2a_client *c, const call_args *a, call_run *run) {
  mol_a2a_push_config push = {.id = (char *)a->push_id, .url = (char *)a->push_url,
                              .token = (char *)a->push_token};
  mol_a2a_call_opts o = {.return_immediately = a->return_immediately,
                         .history_length = a->history, .has_history_length = a->has_history,
                         .push_config = a->push_url ? &push : NULL};
  const char *id = a->task_id;
  switch (a->action) {
    case ACT_SEND: return start_send(c, a, &o, run);
    case ACT_GET: return mol_a2a_get_task(c, id, &o, on_done, run, NULL);
    case ACT_CANCEL: return mol_a2a_cancel_task(c, id, NULL, on_done, run, NULL);
    case ACT_SUBSCRIBE: return mol_a2a_resubscribe(c, id, NULL, on_event, on_done, run, NULL);
    case ACT_CARD: return mol_a2a_fetch_card(c, NULL, on_done, run, NULL);
    case ACT_PUSH_SET: return mol_a2a_push_set(c, id, &push, NULL, on_done, run, NULL);
    case ACT_PUSH_GET: return mol_a2a_push_get(c, id, a->push_id, NULL, on_done, run, NULL);
    case ACT_PUSH_LIST: return mol_a2a_push_list(c, id, NULL, on_done, run, NULL);
    case ACT_PUSH_DELETE: return mol_a2a_push_delete(c, id, a->push_id, NULL, on_done, run, NULL);
    case ACT_EXT_CARD:
      return mol_a2a_call_method(c, MOL_A2A_M_GET_EXTENDED_CARD, NULL, NULL, on_done, run, NULL);
    case ACT_LIST:
      if (a->version != MOL_A2A_V10) {
        fprintf(stderr, "molecule call: ListTasks is an A2A v1.0 method: add --v1\n");
        return MOL_EINVAL;
      }
      return mol_a2a_call_method(c, MOL_A2A_M_LIST_TASKS, list_params(a), NULL, on_done, run,
                                 NULL);
  }
  return MOL_EINVAL;
}

static int run_call(const call_args *a) {
  uv_loop_t loop;
  mol_http_client *http = NULL;
  mol_a2a_client *c = NULL;
  call_run run = {.action = a->action, .stream = a->stream || a->action == ACT_SUBSCRIBE,
                  .status = 1};
  mol_a2a_client_opts o = {.url = a->url, .version = a->version, .headers = a->headers,
                           .nheaders = a->nheaders, .timeout_ms = a->timeout_ms};
  if (uv_loop_init(&loop) != 0) return 1;
  int rc = mol_http_client_new(&loop, NULL, &http);
  if (rc == 0) rc = mol_a2a_client_new(&loop, http, &o, &c);
  if (rc == 0) rc = start_call(c, a, &run);
  if (rc != 0) fprintf(stderr, "molecule call: %s (%s)\n", mol_strerror(rc), mol_err_name(rc));
  /* Not UV_RUN_DEFAULT: pooled keep-alive connections would hold the loop open. */
  while (rc == 0 && !run.done) uv_run(&loop, UV_RUN_ONCE);
  int want = (c != NULL) + (http != NULL);
  if (c) mol_a2a_client_close(c, on_closed, &run);
  if (http) mol_http_client_close(http, on_closed, &run);
  while (run.closed < want) uv_run(&loop, UV_RUN_ONCE);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc != 0 ? 1 : run.status;
}

int mol_cli__cmd_call(int argc, char **argv) {
  call_args a = {.version = MOL_A2A_V03};
  int rc = parse_call_args(argc, argv, &a);
  if (rc != 0) call_usage(rc > 0 ? stdout : stderr);
  int status = rc > 0 ? 0 : rc < 0 ? 2 : run_call(&a);
  for (size_t i = 0; i < a.nheaders; i++) free(a.header_copies[i]);
  return status;
}
