/* Push notifications with the real @a2a-js/sdk peers, over loopback:
 *  - their clients against our server: 1.3.0 (v1.0, push.mjs) and 0.3.14 (v0.3, push03.mjs)
 *    create, get, list and delete configs and set one inline, and the webhook each script
 *    runs itself must hear the task end, with the token;
 *  - our client against their servers (PUSH=1): a config sent inline with message/send makes
 *    the a2a-js server notify our webhook; then set, get, list and delete on the task, in v1.0
 *    and v0.3 against 1.3.0 and in v0.3 against 0.3.14.
 * Without node or the peers' node_modules the test fails, never skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "a2a_uv/client.h"
#include "node_peer.h"
#include "push_webhook.h"

static node_peer js13, js03;

static int setup(void **state) {
  (void)state;
  h_setup();
  hook_install();
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/push/", H.port);
  mol_a2a_card card = {.name = "push", .url = url, .streaming = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = &H.ex_task, .prefix = "/push",
                           .push = {.http = H.client, .allow_private = 1}};
  if (mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[H.n_a2a++]) != 0) return -1;
  static const char *const push_env[] = {"PUSH=1", NULL};
  js13 = np_start("a2a-js", "server.mjs", NULL, push_env);
  js03 = np_start("a2a-js-03", "server03.mjs", NULL, push_env);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  np_stop(&js13);
  np_stop(&js03);
  h_teardown();
  hook_free();
  return 0;
}

/* ---- their clients, our server ----------------------------------------------------------------- */

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

/* `node <script> <our agent's URL>` in test/interop/<dir>; its exit status. The loop serves
 * the script meanwhile. */
static int run_script(const char *dir, const char *script) {
  const char *root = getenv("MOL_SOURCE_ROOT");
  char cwd[1024], url[128];
  snprintf(cwd, sizeof(cwd), "%s/test/interop/%s", root ? root : ".", dir);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/push/", H.port);
  char *args[] = {"node", (char *)script, url, NULL};
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
  return (int)c.status;
}

static void sdk_clients_on_our_server(void **state) {
  (void)state;
  mol_a2a_server_stats before;
  mol_a2a_server_stats_get(H.a2a[H.n_a2a - 1], &before);
  assert_int_equal(run_script("a2a-js", "push.mjs"), 0);
  assert_int_equal(run_script("a2a-js-03", "push03.mjs"), 0);
  mol_a2a_server_stats after;
  mol_a2a_server_stats_get(H.a2a[H.n_a2a - 1], &after);
  assert_true(after.push.sent - before.push.sent >= 4); /* two tasks' ends per script */
  assert_int_equal(after.push.failed, before.push.failed);
}

/* ---- our client, their servers ------------------------------------------------------------------ */

typedef struct {
  int done, err, rpc_code;
  json_t *result;
  char task_id[64];
} call_out;

static void on_done(mol_a2a_call *call, int err, const mol_a2a_result *r, void *arg) {
  (void)call;
  call_out *o = arg;
  o->done = 1;
  o->err = err;
  o->rpc_code = r->rpc_code;
  o->result = r->result ? json_deep_copy(r->result) : NULL;
  snprintf(o->task_id, sizeof(o->task_id), "%s", r->task_id ? r->task_id : "");
  if (err) fprintf(stderr, "call failed: %s\n", r->detail);
}

static void wait_call(call_out *o) {
  while (!o->done) uv_run(&H.loop, UV_RUN_ONCE);
}

static const char *cfg_str(const json_t *tpnc, const char *k) {
  return json_string_value(json_object_get(json_object_get(tpnc, "pushNotificationConfig"), k));
}

/* v1.0 a2a-js posts each event as a StreamResponse; v0.3 the whole task. */
static const char *hit_state(const hook_hit *h) {
  json_t *su = json_object_get(h->body, "statusUpdate");
  if (su) return json_string_value(json_object_get(json_object_get(su, "status"), "state"));
  return hook_state(h);
}

static void wait_hit_state(const char *path, const char *state) {
  for (;;) {
    for (int i = 0; i < W.n; i++)
      if (!strcmp(W.hits[i].path, path) && hit_state(&W.hits[i]) &&
          !strcmp(hit_state(&W.hits[i]), state))
        return;
    uv_run(&H.loop, UV_RUN_ONCE);
  }
}

static void manage_configs(const node_peer *peer, mol_a2a_version v, const char *tag) {
  char url[128], inline_path[64], set_path[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", peer->port);
  snprintf(inline_path, sizeof(inline_path), "/hook/ok/%s-inline", tag);
  snprintf(set_path, sizeof(set_path), "/hook/ok/%s-set", tag);
  mol_a2a_client_opts co = {.url = url, .version = v};
  mol_a2a_client *c;
  assert_int_equal(mol_a2a_client_new(&H.loop, H.client, &co, &c), 0);
  /* inline: the peer notifies our webhook as the task runs */
  mol_a2a_push_config inl = {.url = hook_url(inline_path), .token = "tok-inline"};
  mol_a2a_call_opts so = {.return_immediately = 1, .push_config = &inl};
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, "notify me");
  call_out s = {0};
  assert_int_equal(mol_a2a_send(c, msg, &so, on_done, &s, NULL), 0);
  json_decref(msg);
  wait_call(&s);
  assert_int_equal(s.err, 0);
  wait_hit_state(inline_path, v == MOL_A2A_V10 ? "TASK_STATE_COMPLETED" : "completed");
  for (int i = 0; i < W.n; i++)
    if (!strcmp(W.hits[i].path, inline_path)) assert_string_equal(W.hits[i].token, "tok-inline");
  /* set, get, list, delete on that task */
  mol_a2a_push_config cfg = {.id = "cfg-c", .url = hook_url(set_path), .token = "tok-c",
                             .auth_scheme = "Bearer", .auth_credentials = "sekrit"};
  call_out o = {0};
  assert_int_equal(mol_a2a_push_set(c, s.task_id, &cfg, NULL, on_done, &o, NULL), 0);
  wait_call(&o);
  assert_int_equal(o.err, 0);
  assert_string_equal(json_string_value(json_object_get(o.result, "taskId")), s.task_id);
  assert_string_equal(cfg_str(o.result, "id"), "cfg-c");
  assert_string_equal(cfg_str(o.result, "token"), "tok-c");
  json_decref(o.result);
  o = (call_out){0};
  assert_int_equal(mol_a2a_push_get(c, s.task_id, "cfg-c", NULL, on_done, &o, NULL), 0);
  wait_call(&o);
  assert_int_equal(o.err, 0);
  assert_string_equal(cfg_str(o.result, "url"), hook_url(set_path));
  json_decref(o.result);
  o = (call_out){0};
  assert_int_equal(mol_a2a_push_list(c, s.task_id, NULL, on_done, &o, NULL), 0);
  wait_call(&o);
  assert_int_equal(o.err, 0);
  assert_int_equal(json_array_size(o.result), 2); /* the inline one and cfg-c */
  json_decref(o.result);
  o = (call_out){0};
  assert_int_equal(mol_a2a_push_delete(c, s.task_id, "cfg-c", NULL, on_done, &o, NULL), 0);
  wait_call(&o);
  assert_int_equal(o.err, 0);
  json_decref(o.result);
  o = (call_out){0};
  assert_int_equal(mol_a2a_push_list(c, s.task_id, NULL, on_done, &o, NULL), 0);
  wait_call(&o);
  assert_int_equal(json_array_size(o.result), 1);
  json_decref(o.result);
  json_decref(s.result);
  int closed = H.closed;
  mol_a2a_client_close(c, h_count_closed, NULL);
  while (H.closed == closed) uv_run(&H.loop, UV_RUN_ONCE);
  H.closed--; /* h_teardown counts its own closes */
}

static void our_client_on_a2a_js_13_v10(void **state) {
  (void)state;
  manage_configs(&js13, MOL_A2A_V10, "js13-v10");
}

static void our_client_on_a2a_js_13_v03(void **state) {
  (void)state;
  manage_configs(&js13, MOL_A2A_V03, "js13-v03");
}

static void our_client_on_a2a_js_03(void **state) {
  (void)state;
  manage_configs(&js03, MOL_A2A_V03, "js03");
}

int main(int argc, char **argv) {
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sdk_clients_on_our_server),
    cmocka_unit_test(our_client_on_a2a_js_13_v10),
    cmocka_unit_test(our_client_on_a2a_js_13_v03),
    cmocka_unit_test(our_client_on_a2a_js_03),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
