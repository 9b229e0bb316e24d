/* cmd_call.c - `molecule call URL TEXT`: one A2A message to an agent, the reply on stdout.
 * Unary by default (message/send); --stream prints the reply as it streams in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "a2a_uv/client.h"
#include "cli/cli.h"
#include "http/url.h"
#include "molecule.h"

enum { MAX_HEADERS = 32 };

typedef struct {
  const char *url, *text;
  int stream;
  mol_a2a_version version;
  unsigned timeout_ms;
  mol_http_header headers[MAX_HEADERS];
  char *header_copies[MAX_HEADERS];
  size_t nheaders;
} call_args;

typedef struct {
  int stream;
  int printed; /* text already written by the stream */
  int status;  /* exit status */
  int done, closed;
} call_run;

static void call_usage(FILE *out) {
  fprintf(out,
          "usage: molecule call URL TEXT [options]\n"
          "\n"
          "Sends TEXT to the A2A agent at URL (its JSON-RPC endpoint) and prints the reply.\n"
          "\n"
          "options:\n"
          "  --stream          message/stream: print the reply as it arrives\n"
          "  --v1              speak A2A v1.0 (A2A-Version: 1.0); default v0.3\n"
          "  --timeout-ms N    deadline of the call (default 60000)\n"
          "  --header K:V      extra request header (repeatable), e.g. Authorization:Bearer x\n"
          "  -h, --help        show this help\n"
          "\n"
          "Exit status: 0 on a reply, 1 when the call failed or the task ended failed, rejected\n"
          "or canceled (its status message on stderr), 2 on bad usage.\n");
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

static int parse_option(call_args *a, int argc, char **argv, int *i) {
  const char *o = argv[*i];
  if (!strcmp(o, "--stream")) a->stream = 1;
  else if (!strcmp(o, "--v1")) a->version = MOL_A2A_V10;
  else if (!strcmp(o, "--timeout-ms") && *i + 1 < argc) {
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
  if (!a->url || !a->text) {
    fprintf(stderr, "molecule call: URL and TEXT are required\n\n");
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

static int start_call(mol_a2a_client *c, const call_args *a, call_run *run) {
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, a->text);
  if (!msg) return MOL_ENOMEM;
  int rc = a->stream ? mol_a2a_stream(c, msg, NULL, on_event, on_done, run, NULL)
                     : mol_a2a_send(c, msg, NULL, on_done, run, NULL);
  json_decref(msg);
  return rc;
}

static int run_call(const call_args *a) {
  uv_loop_t loop;
  mol_http_client *http = NULL;
  mol_a2a_client *c = NULL;
  call_run run = {.stream = a->stream, .status = 1};
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
