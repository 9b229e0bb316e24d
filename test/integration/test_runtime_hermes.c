/* The hermes plugin transport over real sockets: our A2A server with the plugin executor, a
 * fake hermes plugin (an in-process server: replying late, twice, never, with a wrong secret
 * or an interrupt acknowledgement first are faults the real plugin cannot produce on demand),
 * and our reply-callback server in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"
#include "runtime/exec_hermes.h"

static mol_a2a_executor hermes, hermes_down, hermes_h2, hermes_long;
static mol_http_server *plugin;
static int plugin_port;
static int orphans;
static char orphan_text[128];
static int inbound_bad_secret;

/* 100 bytes: what a plugin configured with a long secret expects (and sends back). Anything past
 * 64 bytes used to be replaced by a random secret, so the plugin answered 401. */
#define LONG_SECRET "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789" \
                    "abcdefghijklmnopqrstuvwxyz"
#define SECRET_VAR "MOLECULE_A2A_PLATFORM_SHARED_SECRET"

/* ---- the fake plugin ---------------------------------------------------------------------- */

typedef struct {
  uv_timer_t timer;
  char url[128], id[40], content[256], chat[80];
  char secret[256];
  int times;
  mol_http_req *hold; /* answer the inbound POST only after replying */
} pending_reply;

/* What our reply server answered to the plugin's posts. */
static int replies_sent, replies_ok, replies_stale, replies_other;

static void on_reply_posted(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  (void)arg;
  if (!err && resp->status == 200 && strcmp(resp->body, "{\"ok\":true}") == 0) replies_ok++;
  else if (!err && resp->status == 200 && strcmp(resp->body, "{\"ok\":true,\"stale\":true}") == 0) replies_stale++;
  else replies_other++;
}

static void post_reply(pending_reply *p, const char *content) {
  char body[600];
  snprintf(body, sizeof(body), "{\"chat_id\":\"%s\",\"content\":\"%s\",\"reply_to\":\"%s\"}", p->chat, content, p->id);
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"}, {"X-Molecule-A2A-Secret", p->secret}};
  mol_http_request_opts o = {.method = "POST", .url = p->url, .headers = hdrs, .nheaders = 2,
                             .body = body, .body_len = strlen(body)};
  replies_sent++;
  mol_http_request_send(H.client, &o, on_reply_posted, NULL, NULL);
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

static void on_reply_timer(uv_timer_t *t) {
  pending_reply *p = t->data;
  if (strncmp(p->content, "interim", 7) == 0 && p->times == 2) {
    post_reply(p, "\xe2\x9a\xa1 Interrupting current task");
    p->times--;
    uv_timer_start(&p->timer, on_reply_timer, 20, 0);
    return;
  }
  char text[300];
  snprintf(text, sizeof(text), "reply to %s", p->content);
  post_reply(p, text);
  if (p->hold) {
    mol_http_respond(p->hold, 200, "application/json", "{\"ok\":true,\"queued\":true}", 26);
    p->hold = NULL;
  }
  if (--p->times > 0) {
    uv_timer_start(&p->timer, on_reply_timer, 10, 0);
    return;
  }
  uv_close((uv_handle_t *)&p->timer, timer_closed);
}

static void on_inbound(mol_http_req *r, void *arg) {
  (void)arg;
  const char *secret = mol_http_req_header(r, "X-Molecule-A2A-Secret");
  /* The long secret is what this plugin was configured with, not what the executor reports. */
  if (!secret || (strcmp(secret, mol_hermes_secret(&hermes)) &&
                  strcmp(secret, mol_hermes_secret(&hermes_h2)) && strcmp(secret, LONG_SECRET))) {
    inbound_bad_secret++;
    mol_http_respond(r, 401, "application/json", "{\"ok\":false,\"error\":\"unauthorized\"}", 35);
    return;
  }
  json_t *b = json_loads(mol_http_req_body(r, NULL), 0, NULL);
  const char *content = json_string_value(json_object_get(b, "content"));
  pending_reply *p = calloc(1, sizeof(*p));
  snprintf(p->url, sizeof(p->url), "%s", json_string_value(json_object_get(b, "callback_url")));
  snprintf(p->id, sizeof(p->id), "%s", json_string_value(json_object_get(b, "message_id")));
  snprintf(p->chat, sizeof(p->chat), "%s", json_string_value(json_object_get(b, "chat_id")));
  snprintf(p->content, sizeof(p->content), "%s", content);
  snprintf(p->secret, sizeof(p->secret), "%s", secret);
  assert_int_equal(strlen(p->id), 32);
  p->times = strncmp(content, "twice", 5) == 0 || strncmp(content, "interim", 7) == 0 ? 2 : 1;
  json_decref(b);
  content = p->content; /* the body is gone */
  if (strncmp(content, "inbound500", 10) == 0) {
    mol_http_respond(r, 500, "application/json", "{\"ok\":false}", 12);
    free(p);
    return;
  }
  if (strncmp(content, "never", 5) == 0) {
    free(p);
  } else {
    uv_timer_init(&H.loop, &p->timer);
    p->timer.data = p;
    unsigned delay = strncmp(content, "late", 4) == 0 ? 700 : 10;
    uv_timer_start(&p->timer, on_reply_timer, delay, 0);
    if (strncmp(content, "replyfirst", 10) == 0) {
      p->hold = r; /* the reply reaches us before the inbound POST's own 200 */
      return;
    }
  }
  mol_http_respond(r, 200, "application/json", "{\"ok\":true,\"queued\":true}", 26);
}

static int on_orphan(const char *chat_id, const char *text, void *arg) {
  (void)chat_id;
  (void)arg;
  orphans++;
  snprintf(orphan_text, sizeof(orphan_text), "%s", text);
  return 0;
}

static int setup(void **state) {
  (void)state;
  h_setup_base();
  mol_http_server_new(&H.loop, NULL, &plugin);
  mol_http_server_route(plugin, "POST", "/a2a/inbound", 0, on_inbound, NULL);
  mol_http_server_listen(plugin, "127.0.0.1", 0);
  plugin_port = mol_http_server_port(plugin);
  mol_hermes_opts o = {.http = H.client, .plugin_port = plugin_port, .reply_port = -1,
                       .reply_timeout_ms = 400, .on_orphan = on_orphan};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &o, &hermes), 0);
  assert_int_equal(strlen(mol_hermes_secret(&hermes)), 64); /* generated: never unauthenticated */
  mol_hermes_opts d = {.http = H.client, .plugin_port = 1, .reply_port = -1};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &d, &hermes_down), 0);
  mol_hermes_opts h2 = {.http = H.client, .plugin_port = plugin_port, .reply_port = -1};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &h2, &hermes_h2), 0);
  mol_hermes_opts hl = {.http = H.client, .plugin_port = plugin_port, .reply_port = -1,
                        .reply_timeout_ms = 2000, .secret = LONG_SECRET};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &hl, &hermes_long), 0);
  h_mount("", &hermes, 1);
  h_mount("/down", &hermes_down, 1);
  h_mount("/h2", &hermes_h2, 1);
  h_mount("/long", &hermes_long, 1);
  return 0;
}

static int closed_parts;
static void count_closed(void *arg) { (void)arg; closed_parts++; }

static int teardown(void **state) {
  (void)state;
  mol_hermes_executor_close(&hermes, count_closed, NULL);
  mol_hermes_executor_close(&hermes_down, count_closed, NULL);
  mol_hermes_executor_close(&hermes_long, count_closed, NULL);
  if (hermes_h2.self) mol_hermes_executor_close(&hermes_h2, count_closed, NULL);
  mol_http_server_close(plugin, 100, count_closed, NULL);
  h_teardown();
  assert_true(closed_parts >= 3);
  return 0;
}

static json_t *send_text(const char *path, const char *text, int blocking) {
  char body[512];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{%s\"message\":"
           "{\"role\":\"user\",\"messageId\":\"%s-%d\",\"contextId\":\"chat-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}",
           blocking ? "" : "\"configuration\":{\"blocking\":false},", text, rand(), text);
  return h_rpc(path, body, NULL);
}

static const char *reply_of(json_t *v) {
  json_t *res = json_object_get(v, "result");
  json_t *parts = json_object_get(res, "parts");
  if (!parts) parts = json_object_get(json_object_get(json_object_get(res, "status"), "message"), "parts");
  return json_string_value(json_object_get(json_array_get(parts, 0), "text"));
}

static void round_trip_and_duplicate(void **state) {
  (void)state;
  json_t *v = send_text("/", "hello", 1);
  assert_string_equal(reply_of(v), "reply to hello");
  json_decref(v);
  while (replies_ok + replies_stale + replies_other < replies_sent) uv_run(&H.loop, UV_RUN_ONCE);
  int ok0 = replies_ok;
  v = send_text("/", "twice", 1);
  assert_string_equal(reply_of(v), "reply to twice");
  json_decref(v);
  while (replies_ok + replies_stale + replies_other < replies_sent || replies_sent < ok0 + 2)
    uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(replies_ok, ok0 + 1);
  assert_int_equal(replies_stale, 1); /* the duplicate is acknowledged as stale */
  assert_int_equal(replies_other, 0);
  assert_int_equal(mol_hermes_pending(&hermes), 0);
}

static void reply_before_inbound_200_and_interim(void **state) {
  (void)state;
  json_t *v = send_text("/", "replyfirst", 1);
  assert_string_equal(reply_of(v), "reply to replyfirst");
  json_decref(v);
  v = send_text("/", "interim please", 1); /* the ack is progress, not the answer */
  assert_string_equal(reply_of(v), "reply to interim please");
  json_decref(v);
}

static void timeout_then_orphan_relay(void **state) {
  (void)state;
  json_t *v = send_text("/", "late", 1);
  assert_string_equal(reply_of(v), "[hermes plugin reply timeout after 0s]");
  json_decref(v);
  assert_int_equal(mol_hermes_pending(&hermes), 0);
  while (!orphans) uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(orphans, 1); /* a canvas user's late answer is relayed, not dropped */
  assert_string_equal(orphan_text, "reply to late");
}

static void post_failures(void **state) {
  (void)state;
  json_t *v = send_text("/", "inbound500", 1);
  assert_non_null(strstr(reply_of(v), "[hermes plugin POST error] HTTP 500"));
  json_decref(v);
  v = send_text("/down", "hi", 1);
  assert_non_null(strstr(reply_of(v), "[hermes plugin POST error]"));
  json_decref(v);
  assert_int_equal(mol_hermes_pending(&hermes), 0);
  assert_int_equal(mol_hermes_pending(&hermes_down), 0);
}

static void reply_server_status_table(void **state) {
  (void)state;
  char url[128];
  snprintf(url, sizeof(url), "/a2a/reply");
  struct { const char *secret, *body; int status; const char *want; } cases[] = {
    {"wrong", "{\"reply_to\":\"x\",\"content\":\"c\"}", 401, "{\"ok\":false,\"error\":\"unauthorized\"}"},
    {NULL, "{\"reply_to\":\"x\",\"content\":\"c\"}", 401, "{\"ok\":false,\"error\":\"unauthorized\"}"},
    {"ok", "not json", 400, "{\"ok\":false,\"error\":\"invalid json\"}"},
    {"ok", "[1]", 400, "{\"ok\":false,\"error\":\"invalid json\"}"},
    {"ok", "{\"content\":\"c\"}", 400, "{\"ok\":false,\"error\":\"reply_to and content required\"}"},
    {"ok", "{\"reply_to\":\"x\",\"content\":7}", 400, "{\"ok\":false,\"error\":\"reply_to and content required\"}"},
    {"ok", "{\"reply_to\":\"unknown-id\",\"content\":\"c\"}", 200, "{\"ok\":true,\"stale\":true}"},
  };
  int port = mol_hermes_reply_port(&hermes);
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char full[160];
    snprintf(full, sizeof(full), "http://127.0.0.1:%d%s", port, url);
    const char *secret = !cases[i].secret ? NULL : strcmp(cases[i].secret, "ok") == 0 ? mol_hermes_secret(&hermes) : cases[i].secret;
    mol_http_header hdrs[2] = {{"Content-Type", "application/json"}, {"X-Molecule-A2A-Secret", secret}};
    mol_http_request_opts o = {.method = "POST", .url = full, .headers = hdrs, .nheaders = secret ? 2 : 1,
                               .body = cases[i].body, .body_len = strlen(cases[i].body)};
    h_resp r = {0};
    mol_http_request_send(H.client, &o, h_done, &r, NULL);
    h_wait(&r);
    assert_int_equal(r.status, cases[i].status);
    assert_string_equal(r.body, cases[i].want);
    h_free(&r);
  }
}

/* POSTs a reply to the executor's callback server with the given secret (NULL: none). */
static void post_to_reply_server(const mol_a2a_executor *ex, const char *secret, const char *body,
                                 h_resp *r) {
  char full[160];
  snprintf(full, sizeof(full), "http://127.0.0.1:%d/a2a/reply", mol_hermes_reply_port(ex));
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"}, {"X-Molecule-A2A-Secret", secret}};
  mol_http_request_opts o = {.method = "POST", .url = full, .headers = hdrs,
                             .nheaders = secret ? 2 : 1, .body = body, .body_len = strlen(body)};
  memset(r, 0, sizeof(*r));
  mol_http_request_send(H.client, &o, h_done, r, NULL);
  h_wait(r);
}

/* A 100-byte configured secret is used as it is: the plugin accepts our POST, posts its reply
 * with that secret, and the callback server matches it. */
static void long_secret_round_trip(void **state) {
  (void)state;
  assert_int_equal(strlen(LONG_SECRET), 100);
  int bad0 = inbound_bad_secret;
  json_t *v = send_text("/long", "hello-long", 1);
  assert_string_equal(reply_of(v), "reply to hello-long");
  json_decref(v);
  assert_int_equal(inbound_bad_secret, bad0);
  assert_string_equal(mol_hermes_secret(&hermes_long), LONG_SECRET);
  assert_int_equal(mol_hermes_pending(&hermes_long), 0);
  h_resp r;
  const char *unknown = "{\"reply_to\":\"unknown-id\",\"content\":\"c\"}";
  post_to_reply_server(&hermes_long, LONG_SECRET, unknown, &r);
  assert_int_equal(r.status, 200); /* matched: the id is merely unknown */
  assert_string_equal(r.body, "{\"ok\":true,\"stale\":true}");
  h_free(&r);
  char shorter[sizeof(LONG_SECRET)];
  snprintf(shorter, sizeof(shorter), "%.99s", LONG_SECRET); /* every byte counts */
  post_to_reply_server(&hermes_long, shorter, unknown, &r);
  assert_int_equal(r.status, 401);
  h_free(&r);
}

/* ---- the secret from the environment, and values that cannot work ---- */

static char log_lines[4096];
static void capture_log(mol_log_level level, const char *line, void *arg) {
  (void)level;
  (void)arg;
  size_t n = strlen(log_lines);
  snprintf(log_lines + n, sizeof(log_lines) - n, "%s\n", line);
}

static void executor_closed(void *arg) { (*(int *)arg)++; }

/* Starts an executor with the environment's secret and returns its start result (it is closed
 * again at once: only the start matters here). */
static int start_with_env(const char *value, char *secret_out, size_t cap) {
  if (value) setenv(SECRET_VAR, value, 1);
  else unsetenv(SECRET_VAR);
  mol_hermes_opts o = {.http = H.client, .plugin_port = plugin_port, .reply_port = -1};
  mol_a2a_executor ex = {0};
  int rc = mol_hermes_executor_new(&H.loop, &o, &ex);
  if (rc == 0) {
    snprintf(secret_out, cap, "%s", mol_hermes_secret(&ex));
    int closed = 0;
    mol_hermes_executor_close(&ex, executor_closed, &closed);
    while (!closed) uv_run(&H.loop, UV_RUN_ONCE);
  }
  unsetenv(SECRET_VAR);
  return rc;
}

static void secret_from_env_and_bad_values(void **state) {
  (void)state;
  static char got[8192], big[4098];
  assert_int_equal(start_with_env(LONG_SECRET, got, sizeof(got)), 0);
  assert_string_equal(got, LONG_SECRET); /* any length up to the bound, used as configured */
  memset(big, 'k', 4096);
  assert_int_equal(start_with_env(big, got, sizeof(got)), 0);
  assert_string_equal(got, big);
  assert_int_equal(start_with_env(NULL, got, sizeof(got)), 0);
  assert_int_equal(strlen(got), 64); /* unset: generated, never unauthenticated */
  /* Values no plugin could send back are refused at start, with a message naming the variable:
   * set but empty, past the bound, or not a valid header value. */
  const char *bad[] = {"", big, "abc\r\nX-Evil: 1", "tab\there", " padded", "padded "};
  big[4096] = 'k';
  mol_log_set_sink(capture_log, NULL);
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    log_lines[0] = '\0';
    assert_int_equal(start_with_env(bad[i], got, sizeof(got)), MOL_EINVAL);
    assert_non_null(strstr(log_lines, SECRET_VAR));
    assert_null(strstr(log_lines, "kkkkkkkk")); /* a refused value is never logged */
  }
  log_lines[0] = '\0';
  mol_hermes_opts o = {.http = H.client, .plugin_port = plugin_port, .reply_port = -1,
                       .secret = ""};
  mol_a2a_executor ex = {0};
  assert_int_equal(mol_hermes_executor_new(&H.loop, &o, &ex), MOL_EINVAL);
  mol_log_set_sink(NULL, NULL);
  assert_non_null(strstr(log_lines, "secret"));
}

#define TURNS 60 /* under the harness store's cap of 64 live tasks */
static char ids[TURNS][64];

static void many_turns_on_one_chat_never_cross(void **state) {
  (void)state;
  /* Many turns in flight on one chat: keyed by chat they would collide; by message_id not. */
  for (int i = 0; i < TURNS; i++) {
    char text[32];
    snprintf(text, sizeof(text), "turn-%d", i);
    json_t *v = send_text("/", text, 0);
    snprintf(ids[i], sizeof(ids[i]), "%s", json_string_value(json_object_get(json_object_get(v, "result"), "id")));
    json_decref(v);
  }
  for (int i = 0; i < TURNS; i++) {
    char body[200];
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"%.64s\"}}", ids[i]);
    json_t *v;
    for (;;) { /* until the turn completes; the loop runs between two looks */
      v = h_rpc("/", body, NULL);
      const char *st = json_string_value(json_object_get(json_object_get(json_object_get(v, "result"), "status"), "state"));
      assert_non_null(st);
      if (strcmp(st, "completed") == 0) break;
      json_decref(v);
      uv_run(&H.loop, UV_RUN_ONCE);
    }
    char want[40];
    snprintf(want, sizeof(want), "reply to turn-%d", i);
    assert_string_equal(reply_of(v), want);
    json_decref(v);
  }
  assert_int_equal(mol_hermes_pending(&hermes), 0);
  assert_int_equal(inbound_bad_secret, 0);
}

static void store_bound_refuses_cleanly(void **state) {
  (void)state;
  json_t *v[70];
  int refused = 0;
  for (int i = 0; i < 70; i++) v[i] = send_text("/", "never", 0);
  for (int i = 0; i < 70; i++) {
    json_t *err = json_object_get(v[i], "error");
    if (err) {
      refused++;
      assert_int_equal(json_integer_value(json_object_get(err, "code")), -32603);
    }
    json_decref(v[i]);
  }
  assert_true(refused >= 6); /* 64 live tasks at most: the rest get a clear error */
  while (mol_hermes_pending(&hermes) > 0) uv_run(&H.loop, UV_RUN_ONCE); /* they time out */
}

static void cancel_and_shutdown(void **state) {
  (void)state;
  json_t *v = send_text("/", "never", 0);
  char body[200];
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"%s\"}}",
           json_string_value(json_object_get(json_object_get(v, "result"), "id")));
  json_decref(v);
  while (mol_hermes_pending(&hermes) == 0) uv_run(&H.loop, UV_RUN_ONCE);
  v = h_rpc("/", body, NULL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(v, "result"), "status"), "state")), "canceled");
  json_decref(v);
  assert_int_equal(mol_hermes_pending(&hermes), 0);
  /* Shutdown fails what is pending with a clear error instead of hanging. */
  v = send_text("/h2", "never", 0);
  snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\"}}",
           json_string_value(json_object_get(json_object_get(v, "result"), "id")));
  json_decref(v);
  while (mol_hermes_pending(&hermes_h2) == 0) uv_run(&H.loop, UV_RUN_ONCE);
  mol_hermes_executor_close(&hermes_h2, count_closed, NULL);
  v = h_rpc("/h2", body, NULL);
  json_t *status = json_object_get(json_object_get(v, "result"), "status");
  assert_string_equal(json_string_value(json_object_get(status, "state")), "failed");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(status, "message"), "parts"), 0), "text")),
                      "executor shutting down");
  json_decref(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(round_trip_and_duplicate),
    cmocka_unit_test(reply_before_inbound_200_and_interim),
    cmocka_unit_test(timeout_then_orphan_relay),
    cmocka_unit_test(post_failures),
    cmocka_unit_test(reply_server_status_table),
    cmocka_unit_test(long_secret_round_trip),
    cmocka_unit_test(secret_from_env_and_bad_values),
    cmocka_unit_test(many_turns_on_one_chat_never_cross),
    cmocka_unit_test(store_bound_refuses_cleanly),
    cmocka_unit_test(cancel_and_shutdown),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
