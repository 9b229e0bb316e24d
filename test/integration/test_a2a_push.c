/* Push notifications over loopback: the config methods of both versions and inline configs,
 * then delivery to a real webhook (push_webhook.h) through the shared HTTP client: the token
 * and authentication headers, the body of each version, order per task under a slow webhook,
 * retries with back-off on 5xx/429 until delivered or the cap, no retry on 4xx, the SSRF
 * policy of webhook URLs, the bounds, coalescing, and closing with deliveries in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "push_webhook.h"

#define BASE_MS 20 /* first retry delay */

static int srv_push, srv_instant, srv_strict, srv_fast;
static mol_a2a_executor ex_fast;

static void mount_push(const char *prefix, const mol_a2a_executor *ex, int allow_private, int *idx) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix);
  mol_a2a_card card = {.name = "push", .url = url, .streaming = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = ex, .prefix = prefix,
                           .store = {.max_push_per_task = 3},
                           .push = {.http = H.client, .allow_private = allow_private,
                                    .retry_base_ms = BASE_MS, .retry_cap_ms = 200,
                                    .max_attempts = 3, .max_queued = 2}};
  *idx = H.n_a2a;
  if (mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]) != 0) abort();
}

static int setup(void **state) {
  (void)state;
  h_setup();
  hook_install();
  mol_echo_opts fast = {.delay_ms = 5, .task_mode = 1};
  mol_echo_new(&fast, &ex_fast);
  mount_push("/p", &H.ex_task, 1, &srv_push);
  mount_push("/pi", &H.ex_instant, 1, &srv_instant);
  mount_push("/strict", &H.ex_task, 0, &srv_strict);
  mount_push("/fast", &ex_fast, 1, &srv_fast);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  mol_echo_free(&ex_fast);
  hook_free();
  return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static json_t *rpc(const char *path, const char *version, const char *fmt, ...) {
  char body[4096];
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
static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static mol_a2a_server_stats stats(int i) {
  mol_a2a_server_stats st;
  mol_a2a_server_stats_get(H.a2a[i], &st);
  return st;
}

/* A non-blocking v0.3 send; the new task's id into id. */
static void start_task(const char *path, const char *text, char *id, size_t cap) {
  json_t *v = rpc(path, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":"
                  "{\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\","
                  "\"messageId\":\"%s\",\"parts\":[{\"kind\":\"text\",\"text\":\"%s\"}]}}}", text, text);
  if (!str(res(v), "id")) fail_msg("send: %s", json_dumps(v, 0));
  snprintf(id, cap, "%s", str(res(v), "id"));
  json_decref(v);
}

static json_t *set_v03(const char *path, const char *task, const char *cfg) {
  return rpc(path, NULL, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/pushNotificationConfig/set\","
             "\"params\":{\"taskId\":\"%s\",\"pushNotificationConfig\":%s}}", task, cfg);
}

/* A loopback port nobody listens on (it was free a moment ago). */
static int closed_port(void) {
  uv_tcp_t t;
  struct sockaddr_in a;
  int len = sizeof(a);
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&H.loop, &t);
  uv_tcp_bind(&t, (struct sockaddr *)&a, 0);
  uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  return ntohs(a.sin_port);
}

static void wait_idle(int i) {
  while (stats(i).push.pending) uv_run(&H.loop, UV_RUN_ONCE);
}

/* ---- the methods, v0.3 ---------------------------------------------------------------------- */

static void card_says_push(void **state) {
  (void)state;
  h_resp o;
  h_req("GET", "/p/.well-known/agent-card.json", NULL, NULL, NULL, &o);
  json_t *card = json_loads(o.body, 0, NULL);
  assert_true(json_is_true(json_object_get(json_object_get(card, "capabilities"), "pushNotifications")));
  json_decref(card);
  h_free(&o);
  h_req("GET", "/.well-known/agent-card.json", NULL, NULL, NULL, &o); /* push off */
  card = json_loads(o.body, 0, NULL);
  assert_true(json_is_false(json_object_get(json_object_get(card, "capabilities"), "pushNotifications")));
  json_decref(card);
  h_free(&o);
}

static void methods_v03_and_delivery(void **state) {
  (void)state;
  char id[64], cfg[512];
  start_task("/p", "pushed", id, sizeof(id));
  snprintf(cfg, sizeof(cfg), "{\"url\":\"%s\",\"token\":\"tok-a\",\"authentication\":"
           "{\"schemes\":[\"Bearer\"],\"credentials\":\"cred-a\"}}", hook_url("/hook/ok/a"));
  json_t *v = set_v03("/p", id, cfg);
  json_t *pnc = json_object_get(res(v), "pushNotificationConfig");
  assert_string_equal(str(res(v), "taskId"), id);
  assert_string_equal(str(pnc, "id"), id); /* no id given: the task's */
  assert_string_equal(str(pnc, "url"), hook_url("/hook/ok/a"));
  assert_string_equal(str(pnc, "token"), "tok-a");
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(pnc,
                      "authentication"), "schemes"), 0)), "Bearer");
  json_decref(v);
  v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/pushNotificationConfig/get\","
          "\"params\":{\"id\":\"%s\"}}", id);
  assert_string_equal(str(json_object_get(res(v), "pushNotificationConfig"), "token"), "tok-a");
  json_decref(v);
  int last = hook_wait("/hook/ok/a", "completed", 0);
  /* every notification: the headers, the Task, in the order things happened */
  const char *order[] = {"submitted", "working", "completed"};
  int rank = 0;
  for (int i = 0; i <= last; i++) {
    hook_hit *h = &W.hits[i];
    if (strcmp(h->path, "/hook/ok/a") != 0) continue;
    assert_string_equal(h->token, "tok-a");
    assert_string_equal(h->auth, "Bearer cred-a");
    assert_string_equal(h->ctype, "application/json");
    assert_string_equal(str(h->body, "kind"), "task");
    assert_string_equal(str(h->body, "id"), id);
    while (rank < 3 && strcmp(order[rank], hook_state(h)) != 0) rank++;
    assert_true(rank < 3); /* never back to an earlier state */
  }
  json_t *arts = json_object_get(W.hits[last].body, "artifacts");
  assert_string_equal(str(json_array_get(json_object_get(json_array_get(arts, 0), "parts"), 0),
                          "text"), "echo: pushed");
  v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/pushNotificationConfig/list\","
          "\"params\":{\"id\":\"%s\"}}", id);
  assert_int_equal(json_array_size(res(v)), 1);
  json_decref(v);
  v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/pushNotificationConfig/delete\","
          "\"params\":{\"id\":\"%s\",\"pushNotificationConfigId\":\"%s\"}}", id, id);
  assert_true(json_is_null(res(v)) && json_object_get(v, "result"));
  json_decref(v);
  v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tasks/pushNotificationConfig/get\","
          "\"params\":{\"id\":\"%s\"}}", id);
  assert_int_equal(err_code(v), -32001);
  json_decref(v);
  v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/pushNotificationConfig/list\","
          "\"params\":{\"id\":\"nope\"}}");
  assert_int_equal(err_code(v), -32001);
  json_decref(v);
  wait_idle(srv_push);
  assert_true(stats(srv_push).push.sent >= 2);
}

/* ---- v1.0 and inline configs ---------------------------------------------------------------- */

static void methods_v10_and_inline(void **state) {
  (void)state;
  json_t *v = rpc("/p", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":"
                  "{\"configuration\":{\"returnImmediately\":true,\"taskPushNotificationConfig\":"
                  "{\"url\":\"%s\",\"token\":\"tok-b\"}},\"message\":{\"role\":\"ROLE_USER\","
                  "\"messageId\":\"v1-push\",\"parts\":[{\"text\":\"v1\"}]}}}", hook_url("/hook/ok/b"));
  char id[64];
  snprintf(id, sizeof(id), "%s", str(json_object_get(res(v), "task"), "id"));
  json_decref(v);
  int i = hook_wait("/hook/ok/b", "TASK_STATE_COMPLETED", 0);
  assert_string_equal(W.hits[i].ctype, "application/a2a+json");
  assert_string_equal(W.hits[i].token, "tok-b");
  assert_string_equal(str(json_object_get(W.hits[i].body, "task"), "id"), id);
  v = rpc("/p", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"CreateTaskPushNotificationConfig\","
          "\"params\":{\"taskId\":\"%s\",\"id\":\"cfg-1\",\"url\":\"%s\",\"authentication\":"
          "{\"scheme\":\"Basic\",\"credentials\":\"dXNlcg==\"}}}", id, hook_url("/hook/ok/c"));
  assert_string_equal(str(res(v), "id"), "cfg-1");
  assert_string_equal(str(res(v), "taskId"), id);
  assert_string_equal(str(json_object_get(res(v), "authentication"), "scheme"), "Basic");
  json_decref(v);
  /* set on a task that has ended: told how it ended, once */
  i = hook_wait("/hook/ok/c", "TASK_STATE_COMPLETED", 0);
  assert_string_equal(W.hits[i].auth, "Basic dXNlcg==");
  assert_string_equal(W.hits[i].token, "");
  v = rpc("/p", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ListTaskPushNotificationConfigs\","
          "\"params\":{\"taskId\":\"%s\"}}", id);
  assert_int_equal(json_array_size(json_object_get(res(v), "configs")), 2);
  json_decref(v);
  v = rpc("/p", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"GetTaskPushNotificationConfig\","
          "\"params\":{\"taskId\":\"%s\",\"id\":\"cfg-1\"}}", id);
  assert_string_equal(str(res(v), "url"), hook_url("/hook/ok/c"));
  json_decref(v);
  v = rpc("/p", "1.0", "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"DeleteTaskPushNotificationConfig\","
          "\"params\":{\"taskId\":\"%s\",\"id\":\"cfg-1\"}}", id);
  assert_non_null(json_object_get(v, "result"));
  json_decref(v);
  /* an inline config on a Message reply: the task is kept, and its webhook told */
  v = rpc("/pi", NULL, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"message/send\",\"params\":"
          "{\"configuration\":{\"pushNotificationConfig\":{\"url\":\"%s\"}},\"message\":"
          "{\"role\":\"user\",\"messageId\":\"inl\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
          hook_url("/hook/ok/d"));
  assert_string_equal(str(res(v), "kind"), "message");
  char tid[64];
  snprintf(tid, sizeof(tid), "%s", str(res(v), "taskId"));
  json_decref(v);
  i = hook_wait("/hook/ok/d", "completed", 0);
  assert_string_equal(str(W.hits[i].body, "id"), tid);
  v = rpc("/pi", NULL, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\"}}", tid);
  assert_string_equal(str(json_object_get(res(v), "status"), "state"), "completed");
  json_decref(v);
  /* push off: an inline config is -32003 too */
  v = rpc("/", NULL, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"message/send\",\"params\":"
          "{\"configuration\":{\"pushNotificationConfig\":{\"url\":\"http://8.8.8.8/\"}},\"message\":"
          "{\"role\":\"user\",\"messageId\":\"off\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}");
  assert_int_equal(err_code(v), -32003);
  json_decref(v);
}

/* ---- retries -------------------------------------------------------------------------------- */

/* A config set on a finished task gets exactly one notification: one delivery to follow. */
static void set_on_finished(const char *hook, char *id, size_t cap) {
  json_t *v = rpc("/p", NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":"
                  "{\"message\":{\"role\":\"user\",\"messageId\":\"fin\",\"parts\":[{\"kind\":\"text\","
                  "\"text\":\"fin\"}]}}}");
  snprintf(id, cap, "%s", str(res(v), "id"));
  json_decref(v);
  char cfg[256];
  snprintf(cfg, sizeof(cfg), "{\"url\":\"%s\"}", hook_url(hook));
  v = set_v03("/p", id, cfg);
  assert_non_null(res(v));
  json_decref(v);
}

static void retries_until_delivered(void **state) {
  (void)state;
  char id[64];
  mol_a2a_server_stats before = stats(srv_push);
  set_on_finished("/hook/flaky2/e", id, sizeof(id));
  wait_idle(srv_push);
  int first = -1, n = 0;
  uint64_t prev = 0;
  for (int i = 0; i < W.n; i++) {
    if (strcmp(W.hits[i].path, "/hook/flaky2/e") != 0) continue;
    if (first < 0) first = i;
    else assert_true(W.hits[i].at_ms - prev >= BASE_MS * 3 / 4 - 1); /* backed off */
    prev = W.hits[i].at_ms;
    n++;
  }
  assert_int_equal(n, 3); /* 503, 503, 200 */
  mol_a2a_server_stats after = stats(srv_push);
  assert_int_equal(after.push.sent - before.push.sent, 1);
  assert_int_equal(after.push.retries - before.push.retries, 2);
  assert_int_equal(after.push.failed, before.push.failed);
  set_on_finished("/hook/r429/f", id, sizeof(id)); /* 429 + Retry-After: 0, then 200 */
  wait_idle(srv_push);
  assert_int_equal(hook_hits_of("/hook/r429/f"), 2);
  assert_int_equal(stats(srv_push).push.sent - after.push.sent, 1);
}

static void gives_up(void **state) {
  (void)state;
  char id[64];
  mol_a2a_server_stats before = stats(srv_push);
  set_on_finished("/hook/e500/g", id, sizeof(id));
  wait_idle(srv_push);
  assert_int_equal(hook_hits_of("/hook/e500/g"), 3); /* the cap: max_attempts */
  set_on_finished("/hook/e400/h", id, sizeof(id));
  wait_idle(srv_push);
  assert_int_equal(hook_hits_of("/hook/e400/h"), 1); /* a final answer: no retry */
  /* nobody listening there: connection refused, retried to the cap */
  char url[128], cfg[200];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/nobody", closed_port());
  snprintf(cfg, sizeof(cfg), "{\"url\":\"%s\"}", url);
  json_t *v = set_v03("/p", id, cfg);
  json_decref(v);
  wait_idle(srv_push);
  mol_a2a_server_stats after = stats(srv_push);
  assert_int_equal(after.push.failed - before.push.failed, 3);
  assert_int_equal(after.push.retries - before.push.retries, 2 + 0 + 2);
}

/* ---- order, coalescing, bounds, SSRF -------------------------------------------------------- */

static void in_order_under_a_slow_webhook(void **state) {
  (void)state;
  hook_reset();
  /* inline, so the config is there from the task's first update on */
  json_t *v = rpc("/fast", NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\","
                  "\"params\":{\"configuration\":{\"blocking\":false,\"pushNotificationConfig\":"
                  "{\"url\":\"%s\"}},\"message\":{\"role\":\"user\",\"messageId\":\"slow\","
                  "\"parts\":[{\"kind\":\"text\",\"text\":\"slowly\"}]}}}", hook_url("/hook/slow/i"));
  assert_non_null(res(v));
  json_decref(v);
  hook_wait("/hook/slow/i", "completed", 0);
  wait_idle(srv_fast);
  assert_int_equal(W.max_inflight, 1); /* one at a time per (task, config) */
  const char *order[] = {"submitted", "working", "completed"};
  int rank = 0;
  for (int i = 0; i < W.n; i++) {
    while (rank < 3 && strcmp(order[rank], hook_state(&W.hits[i])) != 0) rank++;
    assert_true(rank < 3);
  }
  assert_string_equal(hook_state(&W.hits[W.n - 1]), "completed"); /* the last word */
  /* 4 updates (submitted, working, the artifact, completed) 5 ms apart against 40 ms per
   * delivery and 2 waiting at most: the newest replaced the last one waiting */
  assert_true(stats(srv_fast).push.coalesced > 0);
  assert_true(W.n < 4);
}

static void bounds_and_ssrf(void **state) {
  (void)state;
  char id[64], cfg[256];
  start_task("/p", "bounded", id, sizeof(id));
  for (int i = 0; i < 4; i++) {
    snprintf(cfg, sizeof(cfg), "{\"id\":\"c%d\",\"url\":\"%s\"}", i, hook_url("/hook/ok/j"));
    json_t *v = set_v03("/p", id, cfg);
    if (i < 3) assert_non_null(res(v));
    else assert_int_equal(err_code(v), -32602); /* max_push_per_task = 3 */
    json_decref(v);
  }
  snprintf(cfg, sizeof(cfg), "{\"id\":\"c0\",\"url\":\"%s\"}", hook_url("/hook/ok/k"));
  json_t *v = set_v03("/p", id, cfg); /* the same id replaces */
  assert_string_equal(str(json_object_get(res(v), "pushNotificationConfig"), "url"), hook_url("/hook/ok/k"));
  json_decref(v);
  const char *refused_everywhere[] = {
      "{\"url\":\"http://169.254.169.254/latest/meta-data\"}", "{\"url\":\"http://[64:ff9b::a9fe:a9fe]/\"}",
      "{\"url\":\"ftp://8.8.8.8/\"}", "{\"url\":\"\"}", "{\"token\":\"no url\"}", "\"x\"",
      "{\"url\":\"http://8.8.8.8/\",\"token\":\"a\\r\\nX: y\"}",
      "{\"url\":\"http://8.8.8.8/\",\"authentication\":{\"schemes\":\"Bearer\"}}"};
  for (size_t i = 0; i < sizeof(refused_everywhere) / sizeof(*refused_everywhere); i++) {
    v = set_v03("/p", id, refused_everywhere[i]);
    if (err_code(v) != -32602) fail_msg("%s -> %s", refused_everywhere[i], json_dumps(v, 0));
    json_decref(v);
  }
  char sid[64];
  start_task("/strict", "strict", sid, sizeof(sid));
  const char *private_[] = {"http://127.0.0.1:9/", "http://localhost:9/", "http://10.0.0.1/",
                            "http://[::1]:9/", "http://192.168.1.1/"};
  for (size_t i = 0; i < sizeof(private_) / sizeof(*private_); i++) {
    snprintf(cfg, sizeof(cfg), "{\"url\":\"%s\"}", private_[i]);
    v = set_v03("/strict", sid, cfg);
    if (err_code(v) != -32602) fail_msg("%s -> %s", private_[i], json_dumps(v, 0));
    json_decref(v);
  }
  assert_int_equal(stats(srv_push).push_configs >= 3, 1);
}

/* ---- closing with deliveries in flight ------------------------------------------------------- */

static int closed_one;
static void on_closed_one(void *arg) { (void)arg; closed_one = 1; }

static void close_with_deliveries_in_flight(void **state) {
  (void)state;
  int idx;
  mount_push("/tmp", &ex_fast, 1, &idx);
  char id[64], cfg[256];
  start_task("/tmp", "hang", id, sizeof(id));
  snprintf(cfg, sizeof(cfg), "{\"url\":\"%s\"}", hook_url("/hook/hang/l"));
  json_decref(set_v03("/tmp", id, cfg));
  hook_wait("/hook/hang/l", NULL, 1);
  mol_a2a_server_stats st = stats(idx);
  assert_true(st.push.pending >= 1);
  mol_a2a_server_close(H.a2a[idx], on_closed_one, NULL);
  H.a2a[idx] = H.a2a[--H.n_a2a]; /* teardown closes the others */
  while (!closed_one) uv_run(&H.loop, UV_RUN_ONCE);
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(card_says_push),
    cmocka_unit_test(methods_v03_and_delivery),
    cmocka_unit_test(methods_v10_and_inline),
    cmocka_unit_test(retries_until_delivered),
    cmocka_unit_test(gives_up),
    cmocka_unit_test(in_order_under_a_slow_webhook),
    cmocka_unit_test(bounds_and_ssrf),
    cmocka_unit_test(close_with_deliveries_in_flight),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
