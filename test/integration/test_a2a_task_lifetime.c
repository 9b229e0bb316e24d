/* Task lifetime over real sockets, for each executor (echo, chat-completions against the real
 * @dwmkerr/mock-llm, the hermes plugin transport against a fake plugin): a turn streams on a
 * task, a second message continues the task while the first turn still runs, the task is
 * canceled, the store is flooded past its cap and every timer is left to fire (the sweep runs
 * every few milliseconds with a 1 ms TTL). A task must never be freed while a turn still works
 * on it, and the cancel must end both turns. Run under ASan this is what catches a turn
 * writing to an evicted task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "node_peer.h"
#include "runtime/exec_chat.h"
#include "runtime/exec_hermes.h"

#define CAP 4   /* the store's cap: the flood sends three times as many */
#define FLOOD (3 * CAP)

enum { M_ECHO, M_CHAT, M_HERMES };
static const char *const prefix[] = {"/echo", "/chat", "/hermes"};

static node_peer mock;
static mol_a2a_executor echo_ex, chat_ex, hermes_ex;
static mol_http_server *plugin;
static int plugin_replies_out;

/* ---- a fake hermes plugin: answers "never…" never, anything else after 5 ms ---------------- */

typedef struct {
  uv_timer_t timer;
  char body[512], url[160];
} plugin_reply;

static void on_plugin_posted(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r, (void)err, (void)resp, (void)arg;
  plugin_replies_out--;
}

static void plugin_reply_closed(uv_handle_t *h) { free(h->data); }

static void on_plugin_timer(uv_timer_t *t) {
  plugin_reply *p = t->data;
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"},
                             {"X-Molecule-A2A-Secret", mol_hermes_secret(&hermes_ex)}};
  mol_http_request_opts o = {.method = "POST", .url = p->url, .headers = hdrs, .nheaders = 2,
                             .body = p->body, .body_len = strlen(p->body)};
  if (mol_http_request_send(H.client, &o, on_plugin_posted, NULL, NULL) == 0) plugin_replies_out++;
  uv_close((uv_handle_t *)&p->timer, plugin_reply_closed);
}

static void on_inbound(mol_http_req *r, void *arg) {
  (void)arg;
  json_t *b = json_loads(mol_http_req_body(r, NULL), 0, NULL);
  const char *content = json_string_value(json_object_get(b, "content"));
  if (content && strncmp(content, "never", 5) != 0) {
    plugin_reply *p = calloc(1, sizeof(*p));
    snprintf(p->url, sizeof(p->url), "%s", json_string_value(json_object_get(b, "callback_url")));
    snprintf(p->body, sizeof(p->body), "{\"chat_id\":\"c\",\"content\":\"done\",\"reply_to\":\"%s\"}",
             json_string_value(json_object_get(b, "message_id")));
    uv_timer_init(&H.loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_plugin_timer, 5, 0);
  }
  json_decref(b);
  mol_http_respond(r, 200, "application/json", "{\"ok\":true,\"queued\":true}", 26);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static void mount(int m, const mol_a2a_executor *ex) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix[m]);
  mol_a2a_card card = {.name = "lifetime", .description = "test agent", .url = url,
                       .streaming = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = ex, .prefix = prefix[m],
                           .store = {.max_tasks = CAP, .terminal_ttl_ms = 1},
                           .sweep_interval_ms = 5};
  assert_int_equal(mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]), 0);
}

static int setup(void **state) {
  (void)state;
  const char *args[] = {"node_modules/@dwmkerr/mock-llm/dist/main.js", "--config", "safe-echo.yaml", NULL};
  mock = np_start("mock-llm", args[0], args + 1, NULL);
  h_setup_base();
  mol_echo_opts eo = {.delay_ms = 50, .task_mode = 1};
  assert_int_equal(mol_echo_new(&eo, &echo_ex), 0);
  char base[128];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", mock.port);
  mol_chat_opts co = {.http = H.client, .api_base = base, .model = "mock"};
  assert_int_equal(mol_chat_executor_new(&co, &chat_ex), 0);
  mol_http_server_new(&H.loop, NULL, &plugin);
  mol_http_server_route(plugin, "POST", "/a2a/inbound", 0, on_inbound, NULL);
  mol_http_server_listen(plugin, "127.0.0.1", 0);
  mol_hermes_opts ho = {.http = H.client, .plugin_port = mol_http_server_port(plugin),
                        .reply_port = -1, .reply_timeout_ms = 400};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &ho, &hermes_ex), 0);
  mount(M_ECHO, &echo_ex);
  mount(M_CHAT, &chat_ex);
  mount(M_HERMES, &hermes_ex);
  return 0;
}

static int closed_parts;
static void count_closed(void *arg) { (void)arg; closed_parts++; }

static int teardown(void **state) {
  (void)state;
  while (plugin_replies_out > 0) uv_run(&H.loop, UV_RUN_ONCE);
  mol_hermes_executor_close(&hermes_ex, count_closed, NULL);
  mol_http_server_close(plugin, 100, count_closed, NULL);
  h_teardown();
  assert_int_equal(closed_parts, 2);
  mol_echo_free(&echo_ex);
  mol_chat_executor_free(&chat_ex);
  np_stop(&mock);
  return 0;
}

/* ---- an SSE stream read as it arrives ------------------------------------------------------- */

typedef struct {
  char *data;
  size_t len;
  int done, err;
} stream_rx;

static int on_stream_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)r;
  stream_rx *s = arg;
  s->data = realloc(s->data, s->len + len + 1);
  memcpy(s->data + s->len, data, len);
  s->len += len;
  s->data[s->len] = '\0';
  return 0;
}

static void on_stream_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r, (void)resp;
  stream_rx *s = arg;
  s->err = err;
  s->done = 1;
}

static void stream_start(int m, const char *body, stream_rx *s) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix[m]);
  memset(s, 0, sizeof(*s));
  mol_http_header hdrs[1] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = "POST", .url = url, .headers = hdrs, .nheaders = 1,
                             .body = body, .body_len = strlen(body), .on_body = on_stream_body};
  assert_int_equal(mol_http_request_send(H.client, &o, on_stream_done, s, NULL), 0);
}

/* Runs the loop until the stream's first event (the Task) is in; returns its JSON. */
static json_t *first_event(stream_rx *s) {
  while (!s->done && !(s->data && strstr(s->data, "\n\n"))) uv_run(&H.loop, UV_RUN_ONCE);
  assert_non_null(s->data);
  assert_int_equal(strncmp(s->data, "data: ", 6), 0);
  json_t *v = json_loadb(s->data + 6, (size_t)(strstr(s->data, "\n\n") - s->data) - 6, 0, NULL);
  assert_non_null(v);
  return v;
}

/* Every event of a finished stream: exactly one is final, the last, and it says canceled. */
static void assert_ends_canceled_once(stream_rx *s) {
  assert_int_equal(s->err, 0);
  char *data[512];
  int is_error[512];
  int n = h_sse_events(s->data, data, is_error, 512);
  assert_true(n >= 2);
  int finals = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(is_error[i], 0);
    json_t *ev = json_loads(data[i], 0, NULL);
    json_t *res = json_object_get(ev, "result");
    if (json_is_true(json_object_get(res, "final"))) {
      finals++;
      assert_int_equal(i, n - 1);
      assert_string_equal(json_string_value(json_object_get(json_object_get(res, "status"), "state")),
                          "canceled");
    }
    json_decref(ev);
  }
  assert_int_equal(finals, 1);
  free(s->data);
}

/* ---- the scenario --------------------------------------------------------------------------- */

static unsigned live_turns(int m) {
  mol_a2a_server_stats st;
  mol_a2a_server_stats_get(H.a2a[m], &st);
  return st.live_turns;
}

static char *stream_body(const char *task_id, const char *text) {
  char *b = malloc(strlen(text) + 512);
  sprintf(b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/stream\",\"params\":{"
             "\"message\":{\"role\":\"user\",\"messageId\":\"m-%d\",%s%s%s"
             "\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}",
          rand(), task_id ? "\"taskId\":\"" : "", task_id ? task_id : "", task_id ? "\"," : "", text);
  return b;
}

static const char *result_str(json_t *v, const char *key) {
  return json_string_value(json_object_get(json_object_get(v, "result"), key));
}

static const char *result_state(json_t *v) {
  json_t *status = json_object_get(json_object_get(v, "result"), "status");
  return json_string_value(json_object_get(status, "state"));
}

static json_int_t error_code(json_t *v) {
  return json_integer_value(json_object_get(json_object_get(v, "error"), "code"));
}

/* A JSON-RPC request about one task (tasks/cancel, tasks/get). */
static json_t *task_rpc(int m, const char *method, const char *id) {
  char req[256];
  snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"%s\","
                             "\"params\":{\"id\":\"%s\"}}", method, id);
  return h_rpc(prefix[m], req, NULL);
}

static void continue_cancel_flood(int m, const char *text_a, const char *text_b) {
  stream_rx a, b;
  char *body = stream_body(NULL, text_a);
  stream_start(m, body, &a);
  free(body);
  json_t *task = first_event(&a);
  char id[64];
  snprintf(id, sizeof(id), "%s", result_str(task, "id"));
  json_decref(task);

  /* A second turn on the task while the first one still runs (the reference SDKs allow it). */
  body = stream_body(id, text_b);
  stream_start(m, body, &b);
  free(body);
  json_t *cont = first_event(&b);
  assert_string_equal(result_str(cont, "id"), id);
  json_decref(cont);
  assert_int_equal(live_turns(m), 2);

  json_t *v = task_rpc(m, "tasks/cancel", id);
  assert_string_equal(result_state(v), "canceled");
  json_decref(v);
  /* Both turns were told to stop: echo and hermes stop on the spot, chat once its upstream
   * request has been torn down (a later loop iteration). */
  if (m != M_CHAT) assert_int_equal(live_turns(m), 0);

  /* Flood the store past its cap: whatever is evictable goes, the rest is refused. */
  h_resp flood[FLOOD];
  char req[320];
  for (int i = 0; i < FLOOD; i++) {
    snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"message/send\","
             "\"params\":{\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\","
             "\"messageId\":\"f-%d\",\"parts\":[{\"kind\":\"text\",\"text\":\"flood %d\"}]}}}",
             10 + i, i, i);
    h_start("POST", prefix[m], req, NULL, NULL, &flood[i]);
  }
  for (int i = 0; i < FLOOD; i++) {
    h_wait(&flood[i]);
    assert_int_equal(flood[i].status, 200);
    json_t *f = json_loads(flood[i].body, 0, NULL);
    assert_true(json_object_get(f, "result") != NULL || error_code(f) == -32603);
    json_decref(f);
    h_free(&flood[i]);
  }

  /* Let every turn end and every timer fire: the turns' own, the store's sweep. */
  while (!a.done || !b.done || live_turns(m) > 0) uv_run(&H.loop, UV_RUN_ONCE);
  assert_ends_canceled_once(&a);
  assert_ends_canceled_once(&b);
  v = task_rpc(m, "tasks/get", id); /* canceled, or evicted by now: either is an answer */
  if (json_object_get(v, "result")) assert_string_equal(result_state(v), "canceled");
  else assert_int_equal(error_code(v), -32001);
  json_decref(v);
}

static void echo_continue_cancel_flood(void **state) {
  (void)state;
  continue_cancel_flood(M_ECHO, "first turn", "second turn");
}

static void chat_continue_cancel_flood(void **state) {
  (void)state;
  /* mock-llm streams 8 characters every 5 ms: long texts keep both turns streaming. */
  char text[2401];
  for (int i = 0; i < 2400; i++) text[i] = (char)('a' + i % 26);
  text[2400] = '\0';
  continue_cancel_flood(M_CHAT, text, text);
}

static void hermes_continue_cancel_flood(void **state) {
  (void)state;
  continue_cancel_flood(M_HERMES, "never answered", "never answered either");
  assert_int_equal(mol_hermes_pending(&hermes_ex), 0);
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. chat_* */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(echo_continue_cancel_flood),
    cmocka_unit_test(chat_continue_cancel_flood),
    cmocka_unit_test(hermes_continue_cancel_flood),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
