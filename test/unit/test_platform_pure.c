/* test_platform_pure.c - the I/O-free parts of the platform client: the heartbeat body
 * (runtime_metadata rules), Origin reduction, the reply-text accessor (ADD-07), activity-row
 * parsing (INP-01..10), the idempotency key (DEL-07..10), the message/send envelope (CALL-16),
 * id validation, and the peer URL cache's TTL and bound (PEER-03/05/07). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "platform/platform_int.h"

/* ---- heartbeat body ---- */

static json_t *hb(const mol_platform_heartbeat_payload *p, long long up) {
  char *s;
  int n = mol_platform__heartbeat_json("ws-1", p, up, &s);
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(s));
  json_t *v = mol_json_parse(s, (size_t)n, NULL, 0);
  assert_non_null(v);
  free(s);
  return v;
}

static void heartbeat_defaults(void **st) {
  (void)st;
  json_t *v = hb(NULL, 42);
  assert_string_equal(mol_json_str(v, "workspace_id"), "ws-1");
  assert_string_equal(mol_json_str(v, "current_task"), "");
  assert_int_equal(mol_json_int(v, "active_tasks", -1), 0);
  assert_true(json_number_value(json_object_get(v, "error_rate")) == 0);
  assert_string_equal(mol_json_str(v, "sample_error"), "");
  assert_int_equal(mol_json_int(v, "uptime_seconds", -1), 42);
  assert_string_equal(mol_json_str(v, "runtime_state"), "");
  assert_null(json_object_get(v, "monthly_spend")); /* 0 = do not update */
  json_t *caps = mol_json_path(v, "runtime_metadata.capabilities");
  assert_int_equal(json_object_size(caps), 7); /* always every key */
  const char *keys[] = {"heartbeat", "scheduler", "session", "status_mgmt", "retry",
                        "activity_decoration", "channel_dispatch"};
  for (int i = 0; i < 7; i++) assert_true(json_is_false(json_object_get(caps, keys[i])));
  assert_null(mol_json_path(v, "runtime_metadata.idle_timeout_seconds"));
  json_decref(v);
}

static void heartbeat_full_and_escaping(void **st) {
  (void)st;
  mol_platform_heartbeat_payload p = {
      .current_task = "say \"hi\"\\ \x01\t\n é", .active_tasks = 4, .error_rate = 0.125,
      .sample_error = "E\r", .monthly_spend = 1234, .runtime_state = "wedged",
      .capabilities = MOL_PLATFORM_CAP_CHANNEL_DISPATCH | MOL_PLATFORM_CAP_SCHEDULER,
      .idle_timeout_seconds = 900};
  json_t *v = hb(&p, 7);
  assert_string_equal(mol_json_str(v, "current_task"), "say \"hi\"\\ \x01\t\n é");
  assert_int_equal(mol_json_int(v, "active_tasks", -1), 4);
  assert_true(json_number_value(json_object_get(v, "error_rate")) == 0.125);
  assert_string_equal(mol_json_str(v, "sample_error"), "E\r");
  assert_int_equal(mol_json_int(v, "monthly_spend", -1), 1234);
  assert_string_equal(mol_json_str(v, "runtime_state"), "wedged");
  assert_true(json_is_true(mol_json_path(v, "runtime_metadata.capabilities.channel_dispatch")));
  assert_true(json_is_true(mol_json_path(v, "runtime_metadata.capabilities.scheduler")));
  assert_true(json_is_false(mol_json_path(v, "runtime_metadata.capabilities.session")));
  assert_int_equal(mol_json_int(v, "runtime_metadata.idle_timeout_seconds", -1), 900);
  json_decref(v);
  /* a negative idle timeout or active count, and out-of-range error rates, are clamped/omitted */
  mol_platform_heartbeat_payload q = {.idle_timeout_seconds = -5, .active_tasks = -2,
                                      .error_rate = 7.0};
  v = hb(&q, 0);
  assert_null(mol_json_path(v, "runtime_metadata.idle_timeout_seconds"));
  assert_int_equal(mol_json_int(v, "active_tasks", -1), 0);
  assert_true(json_number_value(json_object_get(v, "error_rate")) == 1.0);
  json_decref(v);
}

/* ---- Origin ---- */

static void origin_reduction(void **st) {
  (void)st;
  struct {
    const char *in, *want;
  } v[] = {{"http://platform.test", "http://platform.test"},
           {"https://Acme.MoleculesAI.app/api/v1?x=1", "https://acme.moleculesai.app"},
           {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
           {"https://h:443/p", "https://h:443"},
           {"http://[::1]:9000/x", "http://[::1]:9000"}};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    char *o = mol_platform__origin_of(v[i].in);
    assert_non_null(o);
    assert_string_equal(o, v[i].want);
    free(o);
  }
  assert_null(mol_platform__origin_of("ftp://x"));
  assert_null(mol_platform__origin_of("not a url"));
}

/* ---- reply text ---- */

static void text_case(const char *body, const char *want) {
  char *t, *m;
  int code;
  assert_int_equal(mol_platform_reply_text(body, strlen(body), &t, &code, &m), 0);
  assert_string_equal(t, want);
  assert_int_equal(code, 0);
  assert_null(m);
  free(t);
}

static void reply_text_extraction(void **st) {
  (void)st;
  text_case("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"parts\":[{\"kind\":\"text\",\"text\":\"a\"},"
            "{\"kind\":\"data\",\"data\":{}},{\"type\":\"text\",\"text\":\"b\"}]}}",
            "a\nb");
  text_case("{\"result\":{\"kind\":\"task\",\"artifacts\":[{\"parts\":[{\"kind\":\"text\",\"text\":\"r1\"}]},"
            "{\"parts\":[{\"text\":\"r2\"}]}]}}",
            "r1\nr2");
  text_case("{\"result\":{\"kind\":\"task\",\"status\":{\"state\":\"completed\",\"message\":"
            "{\"parts\":[{\"kind\":\"text\",\"text\":\"done\"}]}}}}",
            "done");
  text_case("{\"status\":\"ok\"}", "{\"status\":\"ok\"}"); /* nothing recognisable: raw */
  text_case("{\"result\":{\"parts\":[{\"kind\":\"file\",\"text\":\"no\"}]}}",
            "{\"result\":{\"parts\":[{\"kind\":\"file\",\"text\":\"no\"}]}}");
}

/* ADD-07: a JSON-RPC error inside a 200 is surfaced with its code and message. */
static void add_07_rpc_error(void **st) {
  (void)st;
  char *t, *m;
  int code;
  const char *b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"Task not found\"}}";
  assert_int_equal(mol_platform_reply_text(b, strlen(b), &t, &code, &m), MOL_ERPC);
  assert_null(t);
  assert_int_equal(code, -32001);
  assert_string_equal(m, "Task not found");
  free(m);
  b = "{\"error\":\"plain string\"}";
  assert_int_equal(mol_platform_reply_text(b, strlen(b), &t, &code, &m), MOL_ERPC);
  assert_int_equal(code, -32603);
  b = "{\"result\":{\"parts\":[]},\"error\":null}";
  assert_int_equal(mol_platform_reply_text(b, strlen(b), &t, &code, &m), 0);
  free(t);
  assert_int_equal(mol_platform_reply_text("[1]", 3, &t, &code, &m), MOL_EJSON);
  assert_int_equal(mol_platform_reply_text("nope", 4, &t, &code, &m), MOL_EJSON);
  assert_int_equal(mol_platform_reply_text(NULL, 0, &t, &code, &m), MOL_EJSON);
}

/* ---- activity rows ---- */

static mol_platform_message row(const char *json, json_t **keep, char **raw) {
  *keep = mol_json_parse(json, strlen(json), NULL, 0);
  assert_non_null(*keep);
  mol_platform_message m;
  assert_int_equal(mol_platform__parse_activity_row(*keep, &m, raw), 0);
  return m;
}

#define ROW(json, m)                  \
  json_t *_j;                         \
  char *_raw;                         \
  mol_platform_message m = row(json, &_j, &_raw)
#define ROW_END() \
  do {            \
    json_decref(_j); \
    free(_raw);   \
  } while (0)

static void inp_01_10_rows(void **st) {
  (void)st;
  {
    ROW("{\"id\":\"1\",\"source_id\":\"user\",\"data\":{\"source\":\"canvas_user\",\"text\":\"hello\"}}", m);
    assert_string_equal(m.activity_id, "1");
    assert_int_equal(m.source, MOL_PLATFORM_SRC_CANVAS_USER); /* INP-01 */
    assert_string_equal(m.source_id, "user");
    assert_string_equal(m.text, "hello");
    assert_non_null(strstr(m.raw_json, "\"canvas_user\""));
    ROW_END();
  }
  {
    ROW("{\"id\":\"2\",\"data\":{\"source\":\"user\",\"text\":\"x\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_CANVAS_USER); /* INP-02 */
    ROW_END();
  }
  {
    ROW("{\"id\":\"3\",\"source_id\":\"peer-1\",\"data\":{\"source\":\"peer_agent\",\"text\":\"x\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_PEER_AGENT); /* INP-03 */
    assert_string_equal(m.source_id, "peer-1");
    ROW_END();
  }
  {
    ROW("{\"id\":\"4\",\"data\":{\"source_id\":\"peer-2\",\"text\":\"x\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_PEER_AGENT); /* INP-04 (source_id from data) */
    assert_string_equal(m.source_id, "peer-2");
    ROW_END();
  }
  {
    ROW("{\"id\":\"5\",\"source_id\":\"user\",\"data\":{\"text\":\"x\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_CANVAS_USER); /* INP-05 */
    ROW_END();
  }
  {
    ROW("{\"id\":\"6\",\"data\":{\"text\":\"x\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_UNKNOWN); /* INP-06 */
    ROW_END();
  }
  {
    ROW("{\"id\":\"8\",\"data\":{\"message\":\"alt\"}}", m);
    assert_string_equal(m.text, "alt"); /* INP-08 */
    ROW_END();
  }
  {
    ROW("{\"id\":\"9\",\"source_id\":\"p\",\"data\":{\"source\":\"system\",\"peer_name\":\"B\",\"peer_role\":\"r\","
        "\"agent_card_url\":\"https://p/registry/discover/p\"}}", m);
    assert_int_equal(m.source, MOL_PLATFORM_SRC_PEER_AGENT); /* unknown kind + source_id */
    assert_string_equal(m.peer_name, "B"); /* INP-09 */
    assert_string_equal(m.peer_role, "r");
    assert_string_equal(m.agent_card_url, "https://p/registry/discover/p");
    assert_string_equal(m.text, "");
    ROW_END();
  }
  {
    ROW("{\"id\":\"10\",\"data\":{}}", m);
    assert_string_equal(m.peer_name, ""); /* INP-10 */
    assert_string_equal(m.peer_role, "");
    assert_string_equal(m.agent_card_url, "");
    ROW_END();
  }
  {
    /* the legacy shape (no data envelope): text from request_body */
    ROW("{\"id\":\"11\",\"activity_type\":\"a2a_receive\",\"source_id\":\"p\",\"request_body\":"
        "{\"params\":{\"message\":{\"parts\":[{\"kind\":\"text\",\"text\":\"legacy\"}]}}}}", m);
    assert_string_equal(m.text, "legacy");
    assert_int_equal(m.source, MOL_PLATFORM_SRC_PEER_AGENT);
    ROW_END();
  }
  /* INP-07: no id, an empty id, or a non-object: dropped */
  const char *bad[] = {"{\"data\":{\"text\":\"x\"}}", "{\"id\":\"\"}", "[1]", "\"s\""};
  for (int i = 0; i < 4; i++) {
    json_t *j = mol_json_parse(bad[i], strlen(bad[i]), NULL, 0);
    mol_platform_message m;
    char *raw;
    assert_int_equal(mol_platform__parse_activity_row(j, &m, &raw), MOL_EINVAL);
    free(raw);
    json_decref(j);
  }
}

/* ---- idempotency key ---- */

static void del_07_10_idempotency_key(void **st) {
  (void)st;
  char a[65], b[65], c[65];
  mol_platform_idempotency_key("write the report", 1700000059, a);
  assert_string_equal(a, "da2291e14639902a6d997334d2a6aa5fca4894859d635c40bc31fa9d4d3e5f58");
  assert_int_equal(strlen(a), 64); /* DEL-07 */
  for (int i = 0; i < 64; i++) assert_true(strchr("0123456789abcdef", a[i]) != NULL);
  mol_platform_idempotency_key("write the report", 1700000040, b); /* DEL-08: same minute */
  assert_string_equal(a, b);
  mol_platform_idempotency_key("write the report", 1700000100, c); /* next minute */
  assert_string_not_equal(a, c);
  mol_platform_idempotency_key("another task", 1700000059, c); /* DEL-09 */
  assert_string_not_equal(a, c);
  mol_platform_idempotency_key("write the report", 1700000059, c); /* DEL-10 */
  assert_string_equal(a, c);
}

/* ---- envelope and ids ---- */

static void call_16_envelope(void **st) {
  (void)st;
  char *s = mol_platform__message_send_body("hi \"there\"", "user", "mid-1");
  json_t *v = mol_json_parse(s, strlen(s), NULL, 0);
  assert_string_equal(mol_json_str(v, "jsonrpc"), "2.0");
  assert_string_equal(mol_json_str(v, "method"), "message/send");
  assert_int_equal(strlen(mol_json_str(v, "id")), 36);
  assert_string_equal(mol_json_str(v, "params.message.role"), "user");
  assert_string_equal(mol_json_str(v, "params.message.messageId"), "mid-1");
  json_t *part = json_array_get(mol_json_path(v, "params.message.parts"), 0);
  assert_string_equal(mol_json_str(part, "kind"), "text");
  assert_string_equal(mol_json_str(part, "text"), "hi \"there\"");
  json_decref(v);
  char *t = mol_platform__message_send_body("x", "agent", NULL);
  assert_string_not_equal(s, t); /* fresh ids */
  free(s);
  free(t);
}

static void id_validation(void **st) {
  (void)st;
  assert_true(mol_platform__valid_id("0f9e8d7c-1111-4222-8333-444455556666"));
  assert_true(mol_platform__valid_id("ws_1.a"));
  const char *bad[] = {NULL, "", ".", "..", ".hidden", "a/b", "a\\b", "a b", "a\nb", "a?b"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_false(mol_platform__valid_id(bad[i]));
}

/* ---- peer cache (needs a client, no sockets) ---- */

static void cache_ttl_and_bound(void **st) {
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_platform_opts o = {.platform_url = "http://127.0.0.1:1", .workspace_id = "ws-1",
                         .token_dir = "/nonexistent-molecule-test", .peer_cache_ttl_ms = 1000,
                         .peer_cache_max = 3};
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(&loop, &o, &c), 0);
  /* the SDK's timeouts (RTY-02: 10 s, inbound 15 s) unless configured */
  assert_int_equal(c->timeout_ms, 10000);
  assert_int_equal(c->inbound_timeout_ms, 15000);
  assert_int_equal(c->peer_timeout_ms, 30000);
  char origin[64];
  assert_string_equal(mol_platform__origin(c, origin, sizeof(origin)), "http://127.0.0.1:1");
  assert_int_equal(mol_platform__cache_put(c, "a", "http://a", 0), 0);
  assert_string_equal(mol_platform__cache_get(c, "a", 999), "http://a");
  assert_null(mol_platform__cache_get(c, "a", 1000)); /* PEER-05: expired at exactly the TTL */
  assert_null(mol_platform__cache_get(c, "a", 0));    /* and dropped */
  mol_platform__cache_put(c, "a", "http://a", 0);
  mol_platform__cache_put(c, "b", "http://b", 10);
  mol_platform__cache_put(c, "c", "http://c", 20);
  mol_platform__cache_put(c, "d", "http://d", 30); /* full: the oldest (a) goes */
  assert_int_equal(c->cache_len, 3);
  assert_null(mol_platform__cache_get(c, "a", 40));
  assert_non_null(mol_platform__cache_get(c, "b", 40));
  mol_platform__cache_put(c, "b", "http://b2", 50); /* refresh moves b to the newest */
  mol_platform__cache_put(c, "e", "http://e", 60);  /* evicts c */
  assert_null(mol_platform__cache_get(c, "c", 60));
  assert_string_equal(mol_platform__cache_get(c, "b", 60), "http://b2");
  /* expired entries are evicted before live ones */
  mol_platform__cache_put(c, "f", "http://f", 1035); /* d (30) expired at 1030 */
  assert_non_null(mol_platform__cache_get(c, "b", 1040));
  assert_non_null(mol_platform__cache_get(c, "e", 1040));
  mol_platform_invalidate_peer(c, "e"); /* PEER-07 */
  mol_platform_invalidate_peer(c, "e");
  assert_null(mol_platform__cache_get(c, "e", 1040));
  assert_true(mol_platform__is_http_url("HTTPS://x"));
  assert_false(mol_platform__is_http_url("remote://no-inbound"));
  assert_false(mol_platform__is_http_url(""));
  mol_platform_client_close(c, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void opts_from_env(void **st) {
  (void)st;
  setenv("PLATFORM_URL", "http://p.test", 1);
  setenv("WORKSPACE_ID", "ws-env", 1);
  setenv("MOLECULE_ORG_ID", "org-env", 1);
  unsetenv("MOLECULE_WORKSPACE_TOKEN");
  mol_platform_opts o = {.org_id = "explicit"};
  assert_int_equal(mol_platform_opts_from_env(&o), 0);
  assert_string_equal(o.platform_url, "http://p.test");
  assert_string_equal(o.workspace_id, "ws-env");
  assert_string_equal(o.org_id, "explicit"); /* set fields are kept */
  assert_null(o.token);
  unsetenv("PLATFORM_URL");
  setenv("MOLECULE_PLATFORM_URL", "http://q.test", 1);
  mol_platform_opts p = {0};
  assert_int_equal(mol_platform_opts_from_env(&p), 0);
  assert_string_equal(p.platform_url, "http://q.test");
  unsetenv("MOLECULE_PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  mol_platform_opts q = {0};
  assert_int_equal(mol_platform_opts_from_env(&q), MOL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(heartbeat_defaults),     cmocka_unit_test(heartbeat_full_and_escaping),
      cmocka_unit_test(origin_reduction),       cmocka_unit_test(reply_text_extraction),
      cmocka_unit_test(add_07_rpc_error),       cmocka_unit_test(inp_01_10_rows),
      cmocka_unit_test(del_07_10_idempotency_key), cmocka_unit_test(call_16_envelope),
      cmocka_unit_test(id_validation),          cmocka_unit_test(cache_ttl_and_bound),
      cmocka_unit_test(opts_from_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
