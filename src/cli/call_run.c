/* call_run.c - running one `molecule call` / `molecule task` on its own uv loop: the card
 * resolved first when the URL names one, the call, and its outcome in words: the reply text
 * (or with --json the result as received), a deadline said as a deadline, a poll-mode
 * workspace's "queued" said with its queue id, and an HTTP error with the body the server sent
 * along. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/call_int.h"

typedef struct {
  const call_args *a;
  int stream;
  int printed;       /* text already written by the stream */
  int status;        /* exit status */
  int done, closed;
  int resolving;     /* the card fetch before the call itself */
  int start_rc;      /* what starting the call after the card returned */
  char *rpc_url;     /* the endpoint the card named */
  uint64_t started;  /* uv_now when the call began: a deadline is told from a network timeout */
  uv_loop_t *loop;
  mol_a2a_client *client;
} call_run;

static int start_call(mol_a2a_client *c, const call_args *a, call_run *run);

static void on_closed(void *arg) { ((call_run *)arg)->closed++; }

/* An action's result (or with --json any result) as one line of JSON. */
static void print_json(const json_t *v) {
  char *j = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  puts(j ? j : "null");
  fflush(stdout);
  free(j);
}

static int on_event(mol_a2a_call *call, const mol_a2a_response *ev, void *arg) {
  call_run *run = arg;
  (void)call;
  if (run->a->json) {
    print_json(ev->result);
    return 0;
  }
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

/* A Molecule platform's A2A proxy answers for a workspace that polls for its messages (or is
 * busy) with {"status":"queued",...,"activity_id":ID} or {"queued":true,"queue_id":ID}: the
 * message was accepted, not refused. 1 (and said so) when res is that. */
static int report_queued(const call_run *run, const mol_a2a_result *res) {
  json_t *j = json_loads(res->body, 0, NULL);
  const char *st = json_string_value(json_object_get(j, "status"));
  int queued = json_is_object(j) && (json_is_true(json_object_get(j, "queued")) ||
                                     (st && !strcmp(st, "queued")));
  if (queued) {
    const char *id = json_string_value(json_object_get(j, "queue_id"));
    if (!id) id = json_string_value(json_object_get(j, "activity_id"));
    fprintf(stderr, "molecule %s: queued (queue id %s): the agent takes its messages by polling "
                    "or is busy; its reply will not come on this call\n",
            run->a->cmd, id ? id : "-");
    if (run->a->json) puts(res->body);
  }
  json_decref(j);
  return queued;
}

static void report_error(call_run *run, int err, const mol_a2a_result *res) {
  const call_args *a = run->a;
  unsigned limit = a->timeout_ms ? a->timeout_ms : 60000;
  if (run->printed) fputc('\n', stdout);
  if (err == MOL_ETIMEDOUT && uv_now(run->loop) - run->started + 50 >= limit) {
    fprintf(stderr, "molecule %s: %s: no answer within %u ms (the call's deadline; raise it with "
                    "--timeout-ms)\n", a->cmd, a->url, limit);
    return;
  }
  fprintf(stderr, "molecule %s: %s (%s", a->cmd, res->detail, mol_err_name(err));
  if (res->http_status) fprintf(stderr, ", HTTP %d", res->http_status);
  fprintf(stderr, ")\n");
  if (*res->body) {
    size_t n = strlen(res->body);
    fprintf(stderr, "  the server said: %s%s", res->body, res->body[n - 1] == '\n' ? "" : "\n");
  }
}

/* The card named the endpoint: the call proper goes there. */
static void on_card_resolved(call_run *run, const mol_a2a_result *res) {
  run->resolving = 0;
  if (!res->rpc_url || !(run->rpc_url = strdup(res->rpc_url))) {
    fprintf(stderr, "molecule %s: the agent card at %s names no JSON-RPC URL for this A2A "
                    "version\n", run->a->cmd, run->a->url);
    run->done = 1;
    return;
  }
  int rc = mol_a2a_client_set_rpc_url(run->client, run->rpc_url);
  if (!rc) rc = start_call(run->client, run->a, run);
  if (rc) {
    fprintf(stderr, "molecule %s: %s: %s\n", run->a->cmd, run->rpc_url, mol_strerror(rc));
    run->done = 1;
  }
}

static void on_done(mol_a2a_call *call, int err, const mol_a2a_result *res, void *arg) {
  call_run *run = arg;
  const call_args *a = run->a;
  (void)call;
  if (run->resolving && !err && a->action != ACT_CARD) {
    on_card_resolved(run, res);
    return;
  }
  run->done = 1;
  run->status = 1;
  if (err != 0) {
    if (report_queued(run, res)) run->status = 0;
    else report_error(run, err, res);
    return;
  }
  if (a->action != ACT_SEND && a->action != ACT_SUBSCRIBE) {
    const char *ended = unsuccessful_state(res->result);
    print_json(a->action == ACT_CARD ? res->card : res->result);
    /* a task that ended badly is a failure, unless ending it was the point */
    run->status = ended && !(a->action == ACT_CANCEL && !strcmp(ended, "canceled"));
    return;
  }
  if (res->queued) { /* the platform will deliver it: a success, and nothing to resend */
    report_queued(run, res);
    run->status = 0;
    return;
  }
  if (res->kind == MOL_A2A_RESULT_TASK && res->task_id) fprintf(stderr, "[task %s]\n", res->task_id);
  if (a->json && !run->stream) print_json(res->result);
  const char *ended = unsuccessful_state(res->result);
  if (ended) { /* the agent answered, but the task did not succeed: say so, exit 1 */
    if (run->printed) fputc('\n', stdout);
    fprintf(stderr, "molecule %s: task %s%s%s\n", a->cmd, ended, *res->text ? ": " : "", res->text);
    return;
  }
  if (!a->json) {
    if (!run->printed) fputs(res->text, stdout);
    fputc('\n', stdout);
  }
  run->status = 0;
}

static int start_send(mol_a2a_client *c, const call_args *a, const mol_a2a_call_opts *o,
                      call_run *run) {
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, a->text);
  if (!msg) return MOL_ENOMEM;
  if (a->task_id) json_object_set_new(msg, "taskId", json_string(a->task_id));
  if (a->context) json_object_set_new(msg, "contextId", json_string(a->context));
  int rc = run->stream ? mol_a2a_stream(c, msg, o, on_event, on_done, run, NULL)
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
  run->started = uv_now(run->loop);
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
      return mol_a2a_call_method(c, MOL_A2A_M_LIST_TASKS, list_params(a), NULL, on_done, run,
                                 NULL);
  }
  return MOL_EINVAL;
}

/* The base URL of a card URL (".../.well-known/agent-card.json" or ".../agent.json"), in buf;
 * NULL when url names no card. */
static const char *card_base(const char *url, char *buf, size_t cap) {
  static const char *const tails[] = {".well-known/agent-card.json", ".well-known/agent.json"};
  size_t n = strlen(url);
  for (size_t i = 0; i < sizeof(tails) / sizeof(*tails); i++) {
    size_t t = strlen(tails[i]);
    if (n > t && n - t < cap && url[n - t - 1] == '/' && !strcmp(url + n - t, tails[i])) {
      memcpy(buf, url, n - t);
      buf[n - t] = '\0';
      return buf;
    }
  }
  return NULL;
}

int mol_cli__call_run(const call_args *a) {
  uv_loop_t loop;
  mol_http_client *http = NULL;
  char base[4096];
  const char *card = card_base(a->url, base, sizeof base);
  call_run run = {.a = a, .stream = a->stream || a->action == ACT_SUBSCRIBE, .status = 1,
                  .loop = &loop, .resolving = card != NULL};
  mol_a2a_client_opts o = {.url = card ? card : a->url, .version = a->version,
                           .headers = a->headers, .nheaders = a->nheaders,
                           .timeout_ms = a->timeout_ms};
  mol_tls_client_opts tls = {.ca_file = a->cacert, .insecure_skip_verify = a->insecure};
  mol_http_client_opts ho = {.tls = &tls};
  if (a->insecure)
    fprintf(stderr, "molecule %s: warning: --insecure: https certificates and host names are "
                    "NOT verified; anyone on the path can read and change this call\n", a->cmd);
  if (uv_loop_init(&loop) != 0) return 1;
  int rc = mol_http_client_new(&loop, &ho, &http);
  if (rc == 0) rc = mol_a2a_client_new(&loop, http, &o, &run.client);
  if (rc == 0)
    rc = card ? (run.started = uv_now(&loop), mol_a2a_fetch_card(run.client, NULL, on_done, &run, NULL))
              : start_call(run.client, a, &run);
  if (rc != 0) fprintf(stderr, "molecule %s: %s: %s (%s)\n", a->cmd, a->url, mol_strerror(rc),
                       mol_err_name(rc));
  /* Not UV_RUN_DEFAULT: pooled keep-alive connections would hold the loop open. */
  while (rc == 0 && !run.done) uv_run(&loop, UV_RUN_ONCE);
  int want = (run.client != NULL) + (http != NULL);
  if (run.client) mol_a2a_client_close(run.client, on_closed, &run);
  if (http) mol_http_client_close(http, on_closed, &run);
  while (run.closed < want) uv_run(&loop, UV_RUN_ONCE);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(run.rpc_url);
  return rc != 0 ? 1 : run.status;
}
