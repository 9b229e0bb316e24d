/* The HTTP+JSON (REST) binding of A2A v1.0 over loopback, beside JSON-RPC on the same task
 * engine: the card's interface, message:send (Task and Message), tasks/{id} with
 * historyLength, :cancel, message:stream and :subscribe (SSE of bare StreamResponses), the task
 * list, push-config routes (and a notification reaching the webhook), the extended card, and
 * errors as HTTP statuses with {"error":{code,status,message,details}}. Then the real
 * @a2a-js/sdk 1.3.0 client with only its REST transport (test/interop/a2a-js/rest.mjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "push_webhook.h"

static void mount(const char *prefix, const mol_a2a_executor *ex) {
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix);
  mol_a2a_card card = {.name = "rest", .url = url, .streaming = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = ex, .prefix = prefix,
                           .push = {.http = H.client, .allow_private = 1}};
  if (mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]) != 0) abort();
}

static int setup(void **state) {
  (void)state;
  h_setup();
  hook_install();
  mount("/r", &H.ex_task);
  mount("/ri", &H.ex_instant);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  h_teardown();
  hook_free();
  return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct {
  int status;
  char ctype[128];
  json_t *body;
  char *raw;
} rest_resp;

static rest_resp rest(const char *method, const char *path, const char *body) {
  h_resp o;
  h_req(method, path, body, "A2A-Version", "1.0", &o);
  rest_resp r = {.status = o.status, .raw = o.body};
  snprintf(r.ctype, sizeof(r.ctype), "%s", o.ctype);
  r.body = o.body ? json_loads(o.body, 0, NULL) : NULL;
  return r;
}

static void rest_free(rest_resp *r) {
  json_decref(r->body);
  free(r->raw);
}

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const char *state_of(json_t *task) { return str(json_object_get(task, "status"), "state"); }

static void assert_rest_error(rest_resp *r, int http, const char *status, const char *reason) {
  if (r->status != http) fail_msg("HTTP %d, want %d: %s", r->status, http, r->raw);
  json_t *e = json_object_get(r->body, "error");
  assert_int_equal(json_integer_value(json_object_get(e, "code")), http);
  assert_string_equal(str(e, "status"), status);
  assert_non_null(str(e, "message"));
  assert_true(json_is_array(json_object_get(e, "details")));
  if (reason) assert_string_equal(str(json_array_get(json_object_get(e, "details"), 0), "reason"), reason);
  rest_free(r);
}

#define SEND_BODY(text, extra)                                                             \
  "{\"message\":{\"messageId\":\"" text "\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"" \
  text "\"}]}" extra "}"

/* ---- tests ---------------------------------------------------------------------------------- */

static void card_names_the_interface(void **state) {
  (void)state;
  rest_resp c = rest("GET", "/r/.well-known/agent-card.json", NULL);
  json_t *itf;
  size_t i;
  int found = 0;
  json_array_foreach(json_object_get(c.body, "supportedInterfaces"), i, itf) {
    if (strcmp(str(itf, "protocolBinding"), "HTTP+JSON") != 0) continue;
    char want[128];
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/r/v1", H.port);
    assert_string_equal(str(itf, "url"), want);
    assert_string_equal(str(itf, "protocolVersion"), "1.0");
    found++;
  }
  assert_int_equal(found, 1);
  rest_free(&c);
}

static void send_get_cancel(void **state) {
  (void)state;
  rest_resp r = rest("POST", "/r/v1/message:send", SEND_BODY("rest-one", ""));
  assert_int_equal(r.status, 200);
  assert_null(json_object_get(r.body, "jsonrpc")); /* no envelope */
  json_t *task = json_object_get(r.body, "task");
  assert_string_equal(state_of(task), "TASK_STATE_COMPLETED");
  char id[64], path[160];
  snprintf(id, sizeof(id), "%s", str(task, "id"));
  rest_free(&r);
  r = rest("POST", "/ri/v1/message:send", SEND_BODY("rest-msg", ""));
  assert_string_equal(str(json_object_get(r.body, "message"), "role"), "ROLE_AGENT");
  rest_free(&r);
  snprintf(path, sizeof(path), "/r/v1/tasks/%s?historyLength=0", id);
  r = rest("GET", path, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.body, "id"), id);
  assert_null(json_object_get(r.body, "history"));
  rest_free(&r);
  r = rest("GET", "/r/v1/tasks/nope", NULL);
  assert_rest_error(&r, 404, "NOT_FOUND", "TASK_NOT_FOUND");
  snprintf(path, sizeof(path), "/r/v1/tasks/%s:cancel", id);
  r = rest("POST", path, NULL);
  assert_rest_error(&r, 400, "FAILED_PRECONDITION", "TASK_NOT_CANCELABLE");
  /* a running one */
  r = rest("POST", "/r/v1/message:send", SEND_BODY("rest-two", ",\"configuration\":{\"returnImmediately\":true}"));
  snprintf(id, sizeof(id), "%s", str(json_object_get(r.body, "task"), "id"));
  rest_free(&r);
  snprintf(path, sizeof(path), "/r/v1/tasks/%s:cancel", id);
  r = rest("POST", path, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(state_of(r.body), "TASK_STATE_CANCELED");
  rest_free(&r);
}

static int sse_events(char *body, char **data, int *err, int max) { return h_sse_events(body, data, err, max); }

static void stream_and_subscribe(void **state) {
  (void)state;
  rest_resp r = rest("POST", "/r/v1/message:stream", SEND_BODY("rest-stream", ""));
  assert_int_equal(r.status, 200);
  assert_true(strncmp(r.ctype, "text/event-stream", 17) == 0);
  char *data[16];
  int err[16];
  int n = sse_events(r.raw, data, err, 16);
  assert_int_equal(n, 4);
  json_t *first = json_loads(data[0], 0, NULL), *last = json_loads(data[n - 1], 0, NULL);
  assert_null(json_object_get(first, "jsonrpc"));
  assert_non_null(json_object_get(first, "task"));
  assert_string_equal(state_of(json_object_get(last, "statusUpdate")), "TASK_STATE_COMPLETED");
  json_decref(first);
  json_decref(last);
  rest_free(&r);
  /* subscribe to a running task: the rest of its events */
  r = rest("POST", "/r/v1/message:send", SEND_BODY("rest-sub", ",\"configuration\":{\"returnImmediately\":true}"));
  char id[64], path[160];
  snprintf(id, sizeof(id), "%s", str(json_object_get(r.body, "task"), "id"));
  rest_free(&r);
  snprintf(path, sizeof(path), "/r/v1/tasks/%s:subscribe", id);
  r = rest("POST", path, NULL);
  n = sse_events(r.raw, data, err, 16);
  assert_true(n >= 2);
  last = json_loads(data[n - 1], 0, NULL);
  assert_string_equal(state_of(json_object_get(last, "statusUpdate")), "TASK_STATE_COMPLETED");
  json_decref(last);
  rest_free(&r);
  r = rest("GET", path, NULL); /* now terminal: refused before any stream */
  assert_rest_error(&r, 400, "FAILED_PRECONDITION", "UNSUPPORTED_OPERATION");
}

static void list_tasks(void **state) {
  (void)state;
  rest_resp r = rest("POST", "/r/v1/message:send",
                     "{\"message\":{\"messageId\":\"l1\",\"role\":\"ROLE_USER\",\"contextId\":\"ctx-rest\","
                     "\"parts\":[{\"text\":\"x\"}]}}");
  rest_free(&r);
  r = rest("GET", "/r/v1/tasks?contextId=ctx-rest&pageSize=5&includeArtifacts=true&historyLength=1", NULL);
  assert_int_equal(r.status, 200);
  json_t *tasks = json_object_get(r.body, "tasks");
  assert_int_equal(json_array_size(tasks), 1);
  assert_int_equal(json_array_size(json_object_get(json_array_get(tasks, 0), "artifacts")), 1);
  assert_int_equal(json_integer_value(json_object_get(r.body, "totalSize")), 1);
  rest_free(&r);
  r = rest("GET", "/r/v1/tasks?pageSize=abc", NULL);
  assert_rest_error(&r, 400, "INVALID_ARGUMENT", NULL);
  r = rest("GET", "/r/v1/tasks?status=TASK_STATE_WORKING&contextId=ctx%2Drest", NULL);
  assert_int_equal(json_array_size(json_object_get(r.body, "tasks")), 0);
  rest_free(&r);
}

static void push_config_routes(void **state) {
  (void)state;
  rest_resp r = rest("POST", "/r/v1/message:send", SEND_BODY("rest-push", ",\"configuration\":{\"returnImmediately\":true}"));
  char id[64], path[200], body[300];
  snprintf(id, sizeof(id), "%s", str(json_object_get(r.body, "task"), "id"));
  rest_free(&r);
  snprintf(path, sizeof(path), "/r/v1/tasks/%s/pushNotificationConfigs", id);
  snprintf(body, sizeof(body), "{\"id\":\"cfg/1\",\"url\":\"%s\",\"token\":\"tok-rest\"}", hook_url("/hook/ok/rest"));
  r = rest("POST", path, body);
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.body, "id"), "cfg/1");
  assert_string_equal(str(r.body, "taskId"), id);
  rest_free(&r);
  r = rest("GET", path, NULL);
  assert_int_equal(json_array_size(json_object_get(r.body, "configs")), 1);
  rest_free(&r);
  snprintf(path, sizeof(path), "/r/v1/tasks/%s/pushNotificationConfigs/cfg%%2F1", id); /* encoded */
  r = rest("GET", path, NULL);
  assert_string_equal(str(r.body, "token"), "tok-rest");
  rest_free(&r);
  int i = hook_wait("/hook/ok/rest", "TASK_STATE_COMPLETED", 0);
  assert_string_equal(W.hits[i].token, "tok-rest");
  r = rest("DELETE", path, NULL);
  assert_true(r.status >= 200 && r.status < 300);
  rest_free(&r);
  r = rest("GET", path, NULL);
  assert_rest_error(&r, 404, "NOT_FOUND", NULL);
}

static void errors_and_the_rest(void **state) {
  (void)state;
  rest_resp r = rest("GET", "/r/v1/extendedAgentCard", NULL);
  assert_rest_error(&r, 400, "FAILED_PRECONDITION", "EXTENDED_AGENT_CARD_NOT_CONFIGURED");
  r = rest("POST", "/r/v1/message:send", "{not json");
  assert_rest_error(&r, 400, "INVALID_ARGUMENT", NULL);
  r = rest("POST", "/r/v1/message:send", "[1]");
  assert_rest_error(&r, 400, "INVALID_ARGUMENT", NULL);
  r = rest("POST", "/r/v1/message:send", "{\"message\":{\"role\":\"ROLE_USER\"}}");
  assert_rest_error(&r, 400, "INVALID_ARGUMENT", NULL);
  r = rest("POST", "/r/v1/nothing:here", "{}");
  assert_rest_error(&r, 404, "NOT_FOUND", NULL);
  r = rest("DELETE", "/r/v1/message:send", NULL);
  assert_rest_error(&r, 405, "UNIMPLEMENTED", NULL);
  h_resp o;
  h_req("POST", "/r/v1/message:send", SEND_BODY("v", ""), "A2A-Version", "0.5", &o);
  assert_int_equal(o.status, 400);
  assert_non_null(strstr(o.body, "VERSION_NOT_SUPPORTED"));
  h_free(&o);
  h_req("POST", "/r/v1/message:send", SEND_BODY("nohdr", ""), NULL, NULL, &o); /* no header: 1.0 */
  assert_int_equal(o.status, 200);
  h_free(&o);
  /* JSON-RPC beside it still answers */
  json_t *v = h_rpc("/r", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"id\":\"x\"}}", NULL);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")), -32001);
  json_decref(v);
}

/* ---- the a2a-js REST client ---------------------------------------------------------------- */

typedef struct {
  uv_process_t proc;
  int exited;
  int64_t status;
} child;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  child *c = p->data;
  c->exited = 1;
  c->status = sig ? 128 + sig : status;
  uv_close((uv_handle_t *)p, NULL);
}

static void a2a_js_rest_client(void **state) {
  (void)state;
  const char *root = getenv("MOL_SOURCE_ROOT");
  char cwd[1024], url[128];
  snprintf(cwd, sizeof(cwd), "%s/test/interop/a2a-js", root ? root : ".");
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/r/", H.port);
  char *args[] = {"node", "rest.mjs", url, NULL};
  child c = {0};
  c.proc.data = &c;
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = on_exit_cb, .file = "node", .args = args, .cwd = cwd,
                            .stdio = stdio, .stdio_count = 3};
  int rc = uv_spawn(&H.loop, &c.proc, &o);
  if (rc) fail_msg("cannot run node: %s (install nodejs; tools/setup.sh does)", uv_strerror(rc));
  while (!c.exited) uv_run(&H.loop, UV_RUN_ONCE);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(c.status, 0);
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(card_names_the_interface),
    cmocka_unit_test(send_get_cancel),
    cmocka_unit_test(stream_and_subscribe),
    cmocka_unit_test(list_tasks),
    cmocka_unit_test(push_config_routes),
    cmocka_unit_test(errors_and_the_rest),
    cmocka_unit_test(a2a_js_rest_client),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
