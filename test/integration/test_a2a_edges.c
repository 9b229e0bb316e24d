/* Conformance edges over loopback, beyond test_a2a_conformance.c:
 *  - a message naming a terminal task is refused with -32004 (UnsupportedOperationError) on
 *    every method and version that can carry one: message/send, message/stream (plain JSON,
 *    before any stream opens), SendMessage (with its google.rpc.ErrorInfo);
 *  - the echo executor's until-done mode: a multi-turn task stays input-required until the
 *    user says "done", its history grows in the order things were said, and a live or an
 *    interrupted task can be canceled;
 *  - historyLength trims message/send, tasks/get, stream snapshots and ListTasks alike;
 *  - tasks/resubscribe / SubscribeToTask on every non-terminal task, input-required included;
 *  - ListTasks' v1.0 parameters: includeArtifacts, statusTimestampAfter, pageSize bounds, bad
 *    page tokens, most recently updated first;
 *  - GetExtendedAgentCard / agent/getAuthenticatedExtendedCard when one is configured;
 *  - a card written on each request (card_fill, as hosted agents serve theirs): the same bytes
 *    as the card kept serialised, an ETag that follows what the fill says now, a 500 when it
 *    cannot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "a2a_uv/client.h"

static mol_a2a_executor ex_multi;
static int srv_multi, srv_ext;

static void mount_ext(void) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/ext/", H.port);
  mol_a2a_skill pub = {.id = "echo", .name = "Echo", .description = "echoes text"};
  mol_a2a_skill more[2] = {pub, {.id = "secret", .name = "Secret", .description = "for members"}};
  mol_a2a_card card = {.name = "ext", .description = "public", .url = url, .streaming = 1,
                       .skills = &pub, .n_skills = 1};
  mol_a2a_card ext = {.name = "ext", .description = "extended", .url = url, .streaming = 1,
                      .skills = more, .n_skills = 2};
  mol_a2a_server_opts o = {.card = &card, .executor = &H.ex_instant, .prefix = "/ext",
                           .extended_card = &ext, .extended_card_token = "s3cret"};
  srv_ext = H.n_a2a;
  if (mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]) != 0) abort();
}

/* Two servers with one card: /kept serialises it at creation, /filled writes it from
 * fill_card on each request; fill_desc and fill_fails change what the fill does. */
static char same_url[128];
static const char *fill_desc = "test agent";
static int fill_fails;

static int fill_card(void *arg, mol_a2a_card *card, mol_a2a_skill *skill) {
  (void)arg;
  if (fill_fails) return -1;
  *skill = (mol_a2a_skill){.id = "echo", .name = "Echo", .description = "echoes text"};
  *card = (mol_a2a_card){.name = "echo", .description = fill_desc, .url = same_url,
                         .streaming = 1, .skills = skill, .n_skills = 1};
  return 0;
}

static void mount_kept_and_filled(void) {
  snprintf(same_url, sizeof(same_url), "http://127.0.0.1:%d/same/", H.port);
  mol_a2a_skill skill;
  mol_a2a_card card;
  fill_card(NULL, &card, &skill);
  mol_a2a_server_opts kept = {.card = &card, .executor = &H.ex_instant, .prefix = "/kept"};
  mol_a2a_server_opts filled = {.card_fill = fill_card, .executor = &H.ex_instant,
                                .prefix = "/filled"};
  if (mol_a2a_server_new(&H.loop, H.http, &kept, &H.a2a[H.n_a2a++]) != 0) abort();
  if (mol_a2a_server_new(&H.loop, H.http, &filled, &H.a2a[H.n_a2a++]) != 0) abort();
}

static int setup(void **state) {
  (void)state;
  h_setup();
  mount_kept_and_filled();
  mol_echo_opts multi = {.delay_ms = 20, .until_done = 1};
  mol_echo_new(&multi, &ex_multi);
  srv_multi = H.n_a2a;
  h_mount("/multi", &ex_multi, 1);
  mount_ext();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  mol_echo_free(&ex_multi);
  return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static json_t *rpc(const char *path, const char *version, const char *fmt, ...) {
  char body[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof(body), fmt, ap);
  va_end(ap);
  json_t *v = h_rpc(path, body, version);
  if (!v) fail_msg("no JSON answer to %s", body);
  return v;
}

static json_t *res(json_t *v) { return json_object_get(v, "result"); }

static int err_code(json_t *v) {
  return (int)json_integer_value(json_object_get(json_object_get(v, "error"), "code"));
}

static const char *state_of(json_t *task) {
  return json_string_value(json_object_get(json_object_get(task, "status"), "state"));
}

/* message/send (v0.3) on path; task_id NULL starts a task. blocking 0 answers at once. */
static json_t *send_text(const char *path, const char *task_id, const char *text, int blocking,
                         int history_length) {
  static int n;
  char cfg[128] = "", tid[128] = "";
  if (task_id) snprintf(tid, sizeof(tid), "\"taskId\":\"%s\",", task_id);
  snprintf(cfg, sizeof(cfg), ",\"configuration\":{\"blocking\":%s%s%d}",
           blocking ? "true" : "false", history_length >= 0 ? ",\"historyLength\":" : ",\"x\":",
           history_length >= 0 ? history_length : 0);
  return rpc(path, NULL,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
             "{\"role\":\"user\",\"messageId\":\"e-%d\",%s\"parts\":[{\"kind\":\"text\","
             "\"text\":\"%s\"}]}%s}}", ++n, tid, text, cfg);
}

static json_t *get_task(const char *path, const char *id, int history_length) {
  char hl[48] = "";
  if (history_length >= 0) snprintf(hl, sizeof(hl), ",\"historyLength\":%d", history_length);
  return rpc(path, NULL, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\","
             "\"params\":{\"id\":\"%s\"%s}}", id, hl);
}

/* A blocking send that ends a new task; its id into id. */
static void finished_task(char *id, size_t cap) {
  json_t *v = send_text("/task", NULL, "finish me", 1, -1);
  assert_string_equal(state_of(res(v)), "completed");
  snprintf(id, cap, "%s", json_string_value(json_object_get(res(v), "id")));
  json_decref(v);
}

/* Runs the loop until the server at index i has n open streams, or o is answered. */
static void wait_streams(int i, unsigned n, const h_resp *o) {
  mol_a2a_server_stats st;
  for (;;) {
    mol_a2a_server_stats_get(H.a2a[i], &st);
    if (st.open_streams >= n || o->done) return;
    uv_run(&H.loop, UV_RUN_ONCE);
  }
}

/* ---- terminal tasks ------------------------------------------------------------------------- */

static void terminal_task_is_refused_alike(void **state) {
  (void)state;
  char id[64];
  finished_task(id, sizeof(id));
  json_t *v = send_text("/task", id, "again", 1, -1);
  assert_int_equal(err_code(v), -32004);
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(v, "error"), "message")),
                         "terminal"));
  json_decref(v);
  /* message/stream: the same error as plain JSON, before any stream opens */
  char body[512];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/stream\","
           "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"st-1\",\"taskId\":\"%s\","
           "\"parts\":[{\"kind\":\"text\",\"text\":\"again\"}]}}}", id);
  h_resp o;
  h_req("POST", "/task", body, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.ctype, "application/json");
  v = json_loads(o.body, 0, NULL);
  assert_int_equal(err_code(v), -32004);
  json_decref(v);
  h_free(&o);
  /* v1.0 */
  v = rpc("/task", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"SendMessage\",\"params\":"
          "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"v1-t\",\"taskId\":\"%s\","
          "\"parts\":[{\"text\":\"again\"}]}}}", id);
  assert_int_equal(err_code(v), -32004);
  json_t *info = json_array_get(json_object_get(json_object_get(v, "error"), "data"), 0);
  assert_string_equal(json_string_value(json_object_get(info, "reason")), "UNSUPPORTED_OPERATION");
  json_decref(v);
  /* the task itself is untouched */
  v = get_task("/task", id, -1);
  assert_string_equal(state_of(res(v)), "completed");
  assert_int_equal(json_array_size(json_object_get(res(v), "history")), 1);
  json_decref(v);
}

/* ---- the until-done echo: multi-turn, history, cancel --------------------------------------- */

static const char *hist_role(json_t *task, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(task, "history"), i), "role"));
}

static const char *hist_text(json_t *task, size_t i) {
  json_t *m = json_array_get(json_object_get(task, "history"), i);
  return json_string_value(json_object_get(json_array_get(json_object_get(m, "parts"), 0), "text"));
}

static void multi_turn_until_done(void **state) {
  (void)state;
  json_t *a = send_text("/multi", NULL, "first", 1, -1);
  assert_string_equal(state_of(res(a)), "input-required");
  char id[64];
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(a), "id")));
  assert_int_equal(json_array_size(json_object_get(res(a), "history")), 1);
  json_decref(a);
  json_t *b = send_text("/multi", id, "second", 1, -1);
  assert_string_equal(state_of(res(b)), "input-required");
  assert_string_equal(json_string_value(json_object_get(res(b), "id")), id);
  /* in the order things were said: user, the agent's question, user */
  json_t *t = res(b);
  assert_int_equal(json_array_size(json_object_get(t, "history")), 3);
  assert_string_equal(hist_role(t, 0), "user");
  assert_string_equal(hist_text(t, 0), "first");
  assert_string_equal(hist_role(t, 1), "agent");
  assert_string_equal(hist_role(t, 2), "user");
  assert_string_equal(hist_text(t, 2), "second");
  assert_int_equal(json_array_size(json_object_get(t, "artifacts")), 2); /* one per turn */
  json_decref(b);
  json_t *c = send_text("/multi", id, "  DONE ", 1, -1);
  assert_string_equal(state_of(res(c)), "completed");
  assert_int_equal(json_array_size(json_object_get(res(c), "history")), 5);
  assert_string_equal(hist_text(res(c), 4), "  DONE ");
  json_decref(c);
  c = send_text("/multi", id, "more?", 1, -1); /* over */
  assert_int_equal(err_code(c), -32004);
  json_decref(c);
}

static void cancel_live_and_interrupted(void **state) {
  (void)state;
  json_t *v = send_text("/multi", NULL, "slow", 0, -1); /* live: working */
  char id[64];
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(v), "id")));
  json_decref(v);
  v = rpc("/multi", NULL, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/cancel\","
          "\"params\":{\"id\":\"%s\"}}", id);
  assert_string_equal(state_of(res(v)), "canceled");
  json_decref(v);
  v = send_text("/multi", NULL, "ask me", 1, -1); /* interrupted: input-required */
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(v), "id")));
  json_decref(v);
  v = rpc("/multi", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"CancelTask\","
          "\"params\":{\"id\":\"%s\"}}", id);
  assert_string_equal(state_of(res(v)), "TASK_STATE_CANCELED");
  json_decref(v);
  v = send_text("/multi", id, "done", 1, -1);
  assert_int_equal(err_code(v), -32004);
  json_decref(v);
}

/* ---- historyLength everywhere --------------------------------------------------------------- */

static void history_length_everywhere(void **state) {
  (void)state;
  json_t *v = send_text("/multi", NULL, "h1", 1, -1);
  char id[64];
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(v), "id")));
  json_decref(v);
  v = send_text("/multi", id, "h2", 1, 2); /* message/send, blocking */
  json_t *t = res(v);
  assert_int_equal(json_array_size(json_object_get(t, "history")), 2);
  assert_string_equal(hist_role(t, 0), "agent");  /* the last two, oldest first */
  assert_string_equal(hist_text(t, 1), "h2");
  json_decref(v);
  v = send_text("/multi", id, "h3", 0, 1); /* message/send, non-blocking */
  assert_int_equal(json_array_size(json_object_get(res(v), "history")), 1);
  assert_string_equal(hist_text(res(v), 0), "h3");
  json_decref(v);
  v = get_task("/multi", id, 0); /* 0: none */
  assert_null(json_object_get(res(v), "history"));
  json_decref(v);
  v = get_task("/multi", id, 1); /* tasks/get */
  assert_int_equal(json_array_size(json_object_get(res(v), "history")), 1);
  json_decref(v);
  /* a stream's snapshot (message/stream with configuration.historyLength) */
  char body[512];
  for (;;) { /* let the task settle in input-required */
    v = get_task("/multi", id, 0);
    int settled = strcmp(state_of(res(v)), "input-required") == 0;
    json_decref(v);
    if (settled) break;
    uv_run(&H.loop, UV_RUN_ONCE);
  }
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/stream\","
           "\"params\":{\"configuration\":{\"historyLength\":1},\"message\":{\"role\":\"user\","
           "\"messageId\":\"hs\",\"taskId\":\"%s\",\"parts\":[{\"kind\":\"text\",\"text\":\"h4\"}]}}}",
           id);
  h_resp o;
  h_req("POST", "/multi", body, NULL, NULL, &o);
  char *data[16];
  int is_err[16];
  int n = h_sse_events(o.body, data, is_err, 16);
  assert_true(n >= 2);
  json_t *first = json_loads(data[0], 0, NULL);
  assert_string_equal(json_string_value(json_object_get(res(first), "kind")), "task");
  assert_int_equal(json_array_size(json_object_get(res(first), "history")), 1);
  assert_string_equal(hist_text(res(first), 0), "h4");
  json_decref(first);
  h_free(&o);
  /* ListTasks */
  v = rpc("/multi", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ListTasks\","
          "\"params\":{\"historyLength\":1}}");
  size_t i;
  json_t *task;
  assert_true(json_array_size(json_object_get(res(v), "tasks")) > 0);
  json_array_foreach(json_object_get(res(v), "tasks"), i, task)
    assert_true(json_array_size(json_object_get(task, "history")) <= 1);
  json_decref(v);
}

/* ---- subscribe to any task that is not terminal ---------------------------------------------- */

static void subscribe_to_interrupted_task(void **state) {
  (void)state;
  for (int version = 0; version < 2; version++) {
    json_t *v = send_text("/multi", NULL, "wait", 1, -1);
    char id[64], body[256];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(v), "id")));
    assert_string_equal(state_of(res(v)), "input-required");
    json_decref(v);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":\"sub\",\"method\":\"%s\","
             "\"params\":{\"id\":\"%s\"}}", version ? "SubscribeToTask" : "tasks/resubscribe", id);
    h_resp o;
    h_start("POST", "/multi", body, version ? "A2A-Version" : NULL, version ? "1.0" : NULL, &o);
    wait_streams(srv_multi, 1, &o);
    if (o.done) fail_msg("no stream: %s", o.body);
    v = send_text("/multi", id, "resume", 0, -1); /* the next turn, heard by the stream */
    json_decref(v);
    h_wait(&o);
    assert_int_equal(o.status, 200);
    assert_true(strncmp(o.ctype, "text/event-stream", 17) == 0);
    char *data[16];
    int is_err[16];
    int n = h_sse_events(o.body, data, is_err, 16);
    assert_int_equal(n, 4); /* the task as it was, working, the artifact, input-required */
    json_t *first = json_loads(data[0], 0, NULL), *last = json_loads(data[n - 1], 0, NULL);
    json_t *snap = version ? json_object_get(res(first), "task") : res(first);
    assert_string_equal(state_of(snap), version ? "TASK_STATE_INPUT_REQUIRED" : "input-required");
    json_t *end = version ? json_object_get(res(last), "statusUpdate") : res(last);
    assert_string_equal(state_of(end), version ? "TASK_STATE_INPUT_REQUIRED" : "input-required");
    json_decref(first);
    json_decref(last);
    h_free(&o);
  }
}

/* Our client follows a resubscribe past the snapshot of an interrupted task. */
typedef struct {
  int done, err;
  size_t events;
  char last_state[40];
} sub_state;

static int sub_event(mol_a2a_call *call, const mol_a2a_response *ev, void *arg) {
  (void)call;
  sub_state *st = arg;
  const char *s = json_string_value(json_object_get(json_object_get(ev->result, "status"), "state"));
  if (s) snprintf(st->last_state, sizeof(st->last_state), "%s", s);
  return 0;
}

static void sub_done(mol_a2a_call *call, int err, const mol_a2a_result *res, void *arg) {
  (void)call;
  sub_state *st = arg;
  st->done = 1;
  st->err = err;
  st->events = res->events;
}

static void client_follows_interrupted_subscription(void **state) {
  (void)state;
  for (int version = 0; version < 2; version++) {
    json_t *v = send_text("/multi", NULL, "wait", 1, -1);
    char id[64], url[128];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res(v), "id")));
    json_decref(v);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/multi/", H.port);
    mol_a2a_client_opts co = {.url = url, .version = version ? MOL_A2A_V10 : MOL_A2A_V03};
    mol_a2a_client *c;
    assert_int_equal(mol_a2a_client_new(&H.loop, H.client, &co, &c), 0);
    sub_state st = {0};
    assert_int_equal(mol_a2a_resubscribe(c, id, NULL, sub_event, sub_done, &st, NULL), 0);
    h_resp none = {0};
    wait_streams(srv_multi, 1, &none);
    v = send_text("/multi", id, "resume", 0, -1);
    json_decref(v);
    while (!st.done) uv_run(&H.loop, UV_RUN_ONCE);
    assert_int_equal(st.err, 0);
    assert_int_equal(st.events, 4);
    assert_string_equal(st.last_state, "input-required");
    int closed = H.closed;
    mol_a2a_client_close(c, h_count_closed, NULL);
    while (H.closed == closed) uv_run(&H.loop, UV_RUN_ONCE);
    H.closed--; /* h_teardown counts its own closes */
  }
}

/* ---- ListTasks ------------------------------------------------------------------------------ */

static json_t *list(const char *params) {
  return rpc("/task", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ListTasks\",\"params\":%s}",
             params);
}

static void list_tasks_v1_parameters(void **state) {
  (void)state;
  char ids[3][64], ctx[64], params[256];
  for (int i = 0; i < 3; i++) {
    json_t *v = rpc("/task", NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\","
                    "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"l-%d\","
                    "\"contextId\":\"ctx-lt\",\"parts\":[{\"kind\":\"text\",\"text\":\"t%d\"}]}}}", i, i);
    snprintf(ids[i], sizeof(ids[i]), "%s", json_string_value(json_object_get(res(v), "id")));
    snprintf(ctx, sizeof(ctx), "%s", json_string_value(json_object_get(res(v), "contextId")));
    json_decref(v); /* each takes its turn's steps: their status timestamps differ */
  }
  json_t *v = list("{\"contextId\":\"ctx-lt\"}");
  json_t *tasks = json_object_get(res(v), "tasks");
  assert_int_equal(json_array_size(tasks), 3);
  for (int i = 0; i < 3; i++) { /* most recently updated first; no artifacts unless asked */
    json_t *t = json_array_get(tasks, (size_t)i);
    assert_string_equal(json_string_value(json_object_get(t, "id")), ids[2 - i]);
    assert_null(json_object_get(t, "artifacts"));
  }
  assert_int_equal(json_integer_value(json_object_get(res(v), "pageSize")), 50);
  json_decref(v);
  v = list("{\"contextId\":\"ctx-lt\",\"includeArtifacts\":true,\"pageSize\":1}");
  tasks = json_object_get(res(v), "tasks");
  assert_int_equal(json_array_size(tasks), 1);
  assert_int_equal(json_array_size(json_object_get(json_array_get(tasks, 0), "artifacts")), 1);
  const char *next = json_string_value(json_object_get(res(v), "nextPageToken"));
  assert_true(next && *next);
  snprintf(params, sizeof(params), "{\"contextId\":\"ctx-lt\",\"pageSize\":5,\"pageToken\":\"%s\"}",
           next);
  json_decref(v);
  v = list(params);
  tasks = json_object_get(res(v), "tasks");
  assert_int_equal(json_array_size(tasks), 2); /* the rest, after the token */
  assert_string_equal(json_string_value(json_object_get(json_array_get(tasks, 0), "id")), ids[1]);
  assert_string_equal(json_string_value(json_object_get(res(v), "nextPageToken")), "");
  json_decref(v);
  /* statusTimestampAfter: the middle task's own timestamp keeps it and the newer one */
  v = get_task("/task", ids[1], 0);
  snprintf(params, sizeof(params), "{\"contextId\":\"ctx-lt\",\"statusTimestampAfter\":\"%s\"}",
           json_string_value(json_object_get(json_object_get(res(v), "status"), "timestamp")));
  json_decref(v);
  v = list(params);
  assert_int_equal(json_array_size(json_object_get(res(v), "tasks")), 2);
  json_decref(v);
  v = list("{\"statusTimestampAfter\":\"2999-01-01T00:00:00Z\"}");
  assert_int_equal(json_array_size(json_object_get(res(v), "tasks")), 0);
  json_decref(v);
  const char *bad[] = {"{\"pageSize\":0}", "{\"pageSize\":101}", "{\"pageSize\":-1}",
                       "{\"pageToken\":\"garbage\"}", "{\"statusTimestampAfter\":\"yesterday\"}",
                       "{\"includeArtifacts\":\"yes\"}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    v = list(bad[i]);
    if (err_code(v) != -32602) fail_msg("%s -> %s", bad[i], json_dumps(v, 0));
    json_decref(v);
  }
  (void)ctx;
}

/* ---- the extended card ---------------------------------------------------------------------- */

static json_t *card_call(const char *method, const char *version, const char *auth) {
  char body[256];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", method);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/ext/", H.port);
  h_resp o = {0};
  mol_http_header hdrs[3] = {{"Content-Type", "application/json"}};
  size_t n = 1;
  if (auth) hdrs[n++] = (mol_http_header){"Authorization", auth};
  if (version) hdrs[n++] = (mol_http_header){"A2A-Version", version};
  mol_http_request_opts ro = {.method = "POST", .url = url, .headers = hdrs, .nheaders = n,
                              .body = body, .body_len = strlen(body), .total_timeout_ms = 10000};
  assert_int_equal(mol_http_request_send(H.client, &ro, h_done, &o, NULL), 0);
  h_wait(&o);
  json_t *v = json_loads(o.body, 0, NULL);
  h_free(&o);
  assert_non_null(v);
  return v;
}

static size_t skills(json_t *card) { return json_array_size(json_object_get(card, "skills")); }

static void extended_card_when_configured(void **state) {
  (void)state;
  h_resp o;
  h_req("GET", "/ext/.well-known/agent-card.json", NULL, NULL, NULL, &o);
  json_t *card = json_loads(o.body, 0, NULL);
  assert_true(json_is_true(json_object_get(card, "supportsAuthenticatedExtendedCard")));
  assert_int_equal(skills(card), 1);
  json_decref(card);
  h_free(&o);
  h_req("GET", "/ext/.well-known/agent-card.json", NULL, "A2A-Version", "1.0", &o);
  card = json_loads(o.body, 0, NULL);
  assert_true(json_is_true(json_object_get(json_object_get(card, "capabilities"), "extendedAgentCard")));
  json_decref(card);
  h_free(&o);
  json_t *v = card_call("agent/getAuthenticatedExtendedCard", NULL, "Bearer s3cret");
  assert_string_equal(json_string_value(json_object_get(res(v), "description")), "extended");
  assert_int_equal(skills(res(v)), 2);
  assert_non_null(json_object_get(res(v), "protocolVersion")); /* the v0.3 shape */
  json_decref(v);
  v = card_call("GetExtendedAgentCard", "1.0", "Bearer s3cret");
  assert_int_equal(skills(res(v)), 2);
  assert_non_null(json_object_get(res(v), "supportedInterfaces")); /* the v1.0 shape */
  json_decref(v);
  /* without the credentials: the public card, as the reference SDK answers */
  const char *wrong[] = {NULL, "Bearer nope", "Basic s3cret", "Bearer s3cret2"};
  for (size_t i = 0; i < 4; i++) {
    v = card_call("GetExtendedAgentCard", "1.0", wrong[i]);
    assert_string_equal(json_string_value(json_object_get(res(v), "description")), "public");
    assert_int_equal(skills(res(v)), 1);
    json_decref(v);
  }
  v = rpc("/", NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"agent/getAuthenticatedExtendedCard\"}");
  assert_int_equal(err_code(v), -32007); /* none configured */
  json_decref(v);
  (void)srv_ext;
}

static void card_written_on_request(void **state) {
  (void)state;
  static const char *const versions[] = {NULL, "1.0", "0.3"}; /* hybrid, v1.0, v0.3 */
  static const char *const paths[] = {"/.well-known/agent-card.json", "/.well-known/agent.json"};
  char path[128];
  h_resp k, f;
  for (size_t v = 0; v < 3; v++)
    for (size_t p = 0; p < 2; p++) {
      snprintf(path, sizeof(path), "/kept%s", paths[p]);
      h_req("GET", path, NULL, versions[v] ? "A2A-Version" : NULL, versions[v], &k);
      snprintf(path, sizeof(path), "/filled%s", paths[p]);
      h_req("GET", path, NULL, versions[v] ? "A2A-Version" : NULL, versions[v], &f);
      assert_int_equal(k.status, 200);
      assert_int_equal(f.status, 200);
      assert_string_equal(f.body, k.body);
      assert_int_equal(strlen(f.etag), 18); /* "<16 hex>" */
      assert_string_equal(f.vary, "A2A-Version");
      assert_string_equal(f.cache, k.cache);
      h_free(&k);
      h_free(&f);
    }
  h_req("GET", "/filled/.well-known/agent-card.json", NULL, NULL, NULL, &f);
  char etag[64];
  snprintf(etag, sizeof(etag), "%s", f.etag);
  h_free(&f);
  h_req("GET", "/filled/.well-known/agent-card.json", NULL, "If-None-Match", etag, &f);
  assert_int_equal(f.status, 304);
  h_free(&f);
  fill_desc = "changed since"; /* what the fill says now, with its own ETag */
  h_req("GET", "/filled/.well-known/agent-card.json", NULL, "If-None-Match", etag, &f);
  assert_int_equal(f.status, 200);
  assert_non_null(strstr(f.body, "\"changed since\""));
  assert_string_not_equal(f.etag, etag);
  h_free(&f);
  fill_fails = 1;
  h_req("GET", "/filled/.well-known/agent-card.json", NULL, NULL, NULL, &f);
  assert_int_equal(f.status, 500);
  h_free(&f);
  fill_fails = 0;
  fill_desc = "test agent";
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(terminal_task_is_refused_alike),
    cmocka_unit_test(multi_turn_until_done),
    cmocka_unit_test(cancel_live_and_interrupted),
    cmocka_unit_test(history_length_everywhere),
    cmocka_unit_test(subscribe_to_interrupted_task),
    cmocka_unit_test(client_follows_interrupted_subscription),
    cmocka_unit_test(list_tasks_v1_parameters),
    cmocka_unit_test(extended_card_when_configured),
    cmocka_unit_test(card_written_on_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
