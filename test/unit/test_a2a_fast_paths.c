/* test_a2a_fast_paths.c - the DOM-free paths against the full ones they stand in for, on a
 * corpus with edge cases (escapes, unicode, unknown members, large and odd ids):
 *  - v1.0 SendMessage / SendStreamingMessage and tasks/get / GetTask read by codec_fast.c
 *    against the full parser: whatever the fast path takes, the full parser reads the same;
 *    what it is not sure of, it declines;
 *  - tasks and stream events written straight from their handles (mol_a2a_reply_task,
 *    mol_a2a_reply_event) against the same replies built as trees and serialised: the same
 *    bytes, in both versions, for every method that answers with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "a2a/codec_int.h"
#include "a2a_test_util.h"
#include "base/json.h"
#include "molecule.h"

/* ---- requests ---------------------------------------------------------------------------- */

static const char *header_of(mol_a2a_version v) { return v == MOL_A2A_V10 ? "1.0" : NULL; }

static int same_json(const json_t *a, const json_t *b) {
  return (!a && !b) || (a && b && json_equal(a, b));
}

static void assert_fast_agrees(mol_a2a_version v, const char *body) {
  mol_a2a_request fast, full;
  mol_a2a__request_init(&fast);
  if (!mol_a2a__request_parse_fast(body, strlen(body), v, &fast))
    fail_msg("fast path declined: %s", body);
  assert_int_equal(mol_a2a__request_parse_full(body, strlen(body), header_of(v), &full), 0);
  assert_int_equal(fast.version, full.version);
  assert_int_equal(fast.method, full.method);
  size_t na, nb;
  const char *ia = mol_a2a_request_id(&fast, &na), *ib = mol_a2a_request_id(&full, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(ia, ib, na); /* the id's text, byte for byte */
  assert_int_equal(fast.config.blocking, full.config.blocking);
  assert_int_equal(fast.config.history_length, full.config.history_length);
  assert_null(full.config.accepted_output_modes);
  assert_null(full.config.push_config);
  assert_int_equal(fast.history_length, full.history_length);
  assert_true(same_json(fast.metadata, full.metadata));
  if (full.task_id) assert_string_equal(fast.task_id, full.task_id);
  else assert_null(fast.task_id);
  if (full.message) {
    assert_non_null(fast.message);
    assert_true(mol_a2a_cmsg_is_compact(fast.message));
    assert_true(json_equal(mol_a2a_cmsg_json(fast.message), mol_a2a_cmsg_json(full.message)));
    char *a = mol_a2a_reply_message(&fast, fast.message);
    char *b = mol_a2a_reply_message(&full, full.message);
    assert_true(json_text_equal(a, b));
    free(a);
    free(b);
  } else {
    assert_null(fast.message);
  }
  mol_a2a_request_free(&fast);
  mol_a2a_request_free(&full);
}

static void assert_fast_declines(mol_a2a_version v, const char *body) {
  mol_a2a_request fast;
  mol_a2a__request_init(&fast);
  if (mol_a2a__request_parse_fast(body, strlen(body), v, &fast)) fail_msg("fast path took: %s", body);
  mol_a2a_request_free(&fast);
}

#define V10(method, params) "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"" method "\",\"params\":" params "}"
#define MSG10(extra) \
  "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m1\"," extra "\"parts\":[{\"text\":\"hi\"}]}"

static void v10_send_agrees(void **state) {
  (void)state;
  static const char *const same[] = {
      V10("SendMessage", MSG10("") "}"),
      V10("SendStreamingMessage", MSG10("\"contextId\":\"c1\",\"taskId\":\"t1\",") "}"),
      V10("SendMessage", MSG10("\"kind\":\"message\",\"contextId\":\"\",\"taskId\":null,\"x\":[{}],") "}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_AGENT\",\"messageId\":\"m\",\"parts\":[]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"k\"},"
                         "{\"type\":\"text\",\"text\":\"t\"},{\"text\":\"v\",\"mediaType\":\"text/plain\",\"raw\":\"eA==\"}]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\\u00e9\\ud83d\\ude00\",\"parts\":[{\"text\":"
                         "\"a\\n\\\"b\\\"\\\\\\u0001\\u2028\\/c \xc3\xa9\xf0\x9f\x98\x80\"}]}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"returnImmediately\":true,\"historyLength\":3,\"blocking\":false}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"returnImmediately\":false,\"historyLength\":null}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"returnImmediately\":null},\"metadata\":{\"history\":[{\"a\":1}]}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":null,\"metadata\":null,\"tenant\":\"x\"}"),
      "{\"params\":" MSG10("") "},\"method\":\"SendMessage\",\"id\":-12.5e-3,\"jsonrpc\":\"2.0\"}",
      "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,\"method\":\"SendMessage\",\"params\":" MSG10("") "}}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"SendMessage\",\"params\":" MSG10("") "}}",
      "{\"jsonrpc\":\"2.0\",\"id\":\"a\\/b\\u0041-0123456789012345678901234567890123456789012345678901234567890\","
      "\"method\":\"SendMessage\",\"params\":" MSG10("") "}}",
      " \n" V10("SendMessage", MSG10("") "}") " \t\r\n",
  };
  for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) assert_fast_agrees(MOL_A2A_V10, same[i]);

  static const char *const declined[] = {
      V10("message/send", MSG10("") "}"),                 /* a v0.3 name: -32601 in v1.0 */
      V10("SendMessage", MSG10("\"metadata\":{},") "}"),  /* message metadata: the full form */
      V10("SendMessage", MSG10("\"referenceTaskIds\":[],") "}"),
      V10("SendMessage", MSG10("\"role\":\"ROLE_USER\",") "}"), /* a duplicate member */
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"data\":{}}]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"url\":\"u\"}]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"text\":1}]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"text\":\"x\",\"metadata\":{}}]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_UNSPECIFIED\",\"messageId\":\"m\",\"parts\":[]}}"),
      V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"\",\"parts\":[]}}"), /* -32602 */
      V10("SendMessage", MSG10("") ",\"configuration\":{\"returnImmediately\":\"yes\"}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"acceptedOutputModes\":[]}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"taskPushNotificationConfig\":{\"url\":\"u\"}}}"),
      V10("SendMessage", MSG10("") ",\"configuration\":{\"historyLength\":-1}}"),
      V10("SendMessage", MSG10("") ",\"junk\":18446744073709551616}"), /* -32602: beyond 64 bits */
      V10("SendMessage", MSG10("\"contextId\":\"c\\u0000\",") "}"),
      V10("SendMessage", "{}"),
      "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"SendMessage\",\"params\":" MSG10("") "}}",
      "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":" MSG10("") "}}",
  };
  for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
    assert_fast_declines(MOL_A2A_V10, declined[i]);
  /* and the v0.3 path leaves v1.0 names and the v1.0 part shape alone */
  assert_fast_declines(MOL_A2A_V03, V10("SendMessage", MSG10("") "}"));
  assert_fast_declines(MOL_A2A_V03,
                       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{"
                       "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"text\":\"hi\"}]}}}");

  /* through the public entry: a declined v1.0 request gets the full parser's answer */
  mol_a2a_request req;
  const char *bad = V10("SendMessage", "{\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"\",\"parts\":[]}}");
  assert_int_equal(mol_a2a_request_parse(bad, strlen(bad), "1.0", &req), MOL_EINVAL);
  assert_int_equal(req.error.code, MOL_A2A_INVALID_PARAMS);
  mol_a2a_request_free(&req);
  const char *good = V10("SendMessage", MSG10("") "}");
  assert_int_equal(mol_a2a_request_parse(good, strlen(good), "1.0", &req), 0);
  assert_true(mol_a2a_cmsg_is_compact(req.message)); /* it took the fast path */
  mol_a2a_request_free(&req);
}

#define GET03(params) "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/get\",\"params\":" params "}"
#define GET10(params) "{\"jsonrpc\":\"2.0\",\"id\":\"g\",\"method\":\"GetTask\",\"params\":" params "}"

static void get_task_agrees(void **state) {
  (void)state;
  static const char *const same03[] = {
      GET03("{\"id\":\"t-1\"}"),
      GET03("{\"id\":\"t\\u00e9\\\"\\\\x\",\"historyLength\":0}"),
      GET03("{\"historyLength\":1000000,\"id\":\"8f1e3c2a-7b6d-4e5f-9a8b-1c2d3e4f5a6b\",\"metadata\":{\"k\":[1,\"\\u00e9\"]}}"),
      GET03("{\"id\":\"t\",\"historyLength\":null,\"metadata\":null,\"unknown\":{\"id\":5}}"),
      GET03("{\"id\":\"t\",\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]},\"configuration\":{\"blocking\":false}}"),
      "{\"params\":{\"id\":\"t\"},\"id\":null,\"method\":\"tasks/get\",\"jsonrpc\":\"2.0\"}",
      "{\"jsonrpc\":\"2.0\",\"id\":-0.0e+0,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}",
      /* a long id: held outside the request's inline room */
      ("{\"jsonrpc\":\"2.0\",\"id\":\""
       "0123456789012345678901234567890123456789012345678901234567890123456789\",\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}"),
  };
  for (size_t i = 0; i < sizeof(same03) / sizeof(same03[0]); i++) assert_fast_agrees(MOL_A2A_V03, same03[i]);
  static const char *const same10[] = {
      GET10("{\"id\":\"t-1\"}"),
      GET10("{\"id\":\"t\",\"historyLength\":2,\"tenant\":\"\"}"),
  };
  for (size_t i = 0; i < sizeof(same10) / sizeof(same10[0]); i++) assert_fast_agrees(MOL_A2A_V10, same10[i]);

  static const char *const declined03[] = {
      GET03("{}"),                                  /* -32602: params.id is required */
      GET03("{\"id\":\"\"}"),
      GET03("{\"id\":5}"),
      GET03("{\"id\":null}"),
      GET03("{\"id\":\"t\",\"id\":\"u\"}"),         /* jansson keeps the last */
      GET03("{\"id\":\"t\",\"historyLength\":-1}"), /* -32602 */
      GET03("{\"id\":\"t\",\"historyLength\":1.5}"),
      GET03("{\"id\":\"t\",\"historyLength\":\"2\"}"),
      GET03("{\"id\":\"t\\u0000\"}"),
      GET03("{\"id\":\"t\",\"x\":\"\\u0000\"}"),
      GET03("{\"id\":\"t\",\"x\":1e400}"),
      GET03("{\"id\":\"t\",\"metadata\":[]}"),
      GET03("[]"),
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/get\"}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"GetTask\",\"params\":{\"id\":\"t\"}}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/cancel\",\"params\":{\"id\":\"t\"}}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/resubscribe\",\"params\":{\"id\":\"t\"}}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks\\/get\",\"params\":{\"id\":\"t\"}}x",
  };
  for (size_t i = 0; i < sizeof(declined03) / sizeof(declined03[0]); i++)
    assert_fast_declines(MOL_A2A_V03, declined03[i]);
  assert_fast_declines(MOL_A2A_V10, GET03("{\"id\":\"t\"}"));
  assert_fast_declines(MOL_A2A_V10, GET10("{\"name\":\"tasks/t\"}"));

  /* an escaped method name is the same name: the fast path reads it decoded */
  assert_fast_agrees(MOL_A2A_V03, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks\\/get\",\"params\":{\"id\":\"t\"}}");

  /* the task id outlives nothing it was read from: the request owns it */
  mol_a2a_request req;
  char *body = strdup(GET03("{\"id\":\"t-42\",\"historyLength\":3}"));
  assert_int_equal(mol_a2a_request_parse(body, strlen(body), NULL, &req), 0);
  memset(body, 'x', strlen(body));
  free(body);
  assert_string_equal(req.task_id, "t-42");
  assert_int_equal(req.history_length, 3);
  mol_a2a_request_free(&req);
}

/* ---- replies written from handles --------------------------------------------------------- */

/* A request of version v and method m whose id is written as `id`. */
static void request_of(mol_a2a_request *req, mol_a2a_version v, mol_a2a_method m, const char *id,
                       int history_length) {
  mol_a2a__request_init(req);
  req->version = v;
  req->method = m;
  if (id) assert_int_equal(mol_a2a__id_set(&req->id, id, strlen(id)), 0);
  if (m == MOL_A2A_M_SEND || m == MOL_A2A_M_STREAM) req->config.history_length = history_length;
  else req->history_length = history_length;
}

static const char *const k_ids[] = {
    NULL, "1", "\"r\\u00e9\\/x\"", "18446744073709551616", "-1.5e300",
    "\"0123456789012345678901234567890123456789012345678901234567890123456789\""};
static const mol_a2a_method k_methods[] = {MOL_A2A_M_SEND, MOL_A2A_M_STREAM, MOL_A2A_M_GET,
                                           MOL_A2A_M_CANCEL, MOL_A2A_M_RESUBSCRIBE};
static const int k_history[] = {-1, 0, 1, 2, 100};

static void assert_task_written_alike(const mol_a2a_task *t) {
  for (int v = MOL_A2A_V03; v <= MOL_A2A_V10; v++)
    for (size_t m = 0; m < sizeof(k_methods) / sizeof(k_methods[0]); m++)
      for (size_t i = 0; i < sizeof(k_ids) / sizeof(k_ids[0]); i++)
        for (size_t h = 0; h < sizeof(k_history) / sizeof(k_history[0]); h++) {
          mol_a2a_request req;
          request_of(&req, (mol_a2a_version)v, k_methods[m], k_ids[i], k_history[h]);
          char *direct = mol_a2a_reply_task(&req, t), *tree = mol_a2a__reply_task_tree(&req, t);
          assert_non_null(direct);
          assert_non_null(tree);
          if (strcmp(direct, tree) != 0) fail_msg("task written:\n  %s\ntree:\n  %s", direct, tree);
          free(direct);
          free(tree);
          mol_a2a_request_free(&req);
        }
}

static int events_seen;

static void compare_event(mol_a2a_task *task, const mol_a2a_event *ev, void *arg) {
  (void)task;
  (void)arg;
  events_seen++;
  for (int v = MOL_A2A_V03; v <= MOL_A2A_V10; v++)
    for (size_t i = 0; i < sizeof(k_ids) / sizeof(k_ids[0]); i++) {
      mol_a2a_request req;
      request_of(&req, (mol_a2a_version)v, i % 2 ? MOL_A2A_M_STREAM : MOL_A2A_M_RESUBSCRIBE,
                 k_ids[i], -1);
      char *direct = mol_a2a_reply_event(&req, ev), *tree = mol_a2a__reply_event_tree(&req, ev);
      if (ev->kind == MOL_A2A_EV_CLOSED) {
        assert_null(direct);
        assert_null(tree);
      } else if (!direct || !tree || strcmp(direct, tree) != 0) {
        fail_msg("event written:\n  %s\ntree:\n  %s", direct ? direct : "(null)", tree ? tree : "(null)");
      }
      free(direct);
      free(tree);
      mol_a2a_request_free(&req);
    }
}

/* The text of every message and artifact: escapes JSON needs, control characters, U+2028,
 * characters of 2, 3 and 4 bytes. */
#define ODD_TEXT "a\"b\\c/d\n\r\t\x01\x1f \xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 </script>"

static void written_replies_agree(void **state) {
  (void)state;
  mol_a2a_store *s;
  assert_int_equal(mol_a2a_store_new(NULL, &s), 0);

  /* a compact message opens the task (ids with escapes, a context of the client's) */
  mol_a2a_text_span parts[] = {{ODD_TEXT, strlen(ODD_TEXT)}, {"", 0}};
  mol_a2a_cmsg *m = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_USER, "m\"1\xc3\xa9", "ctx\\1", NULL, parts, 2);
  mol_a2a_task *t;
  mol_a2a_error err = {0};
  assert_int_equal(mol_a2a_store_begin(s, &m, &t, &err), 0);
  mol_a2a_cmsg_unref(m);
  mol_a2a_listener *l;
  assert_int_equal(mol_a2a_task_subscribe(t, compare_event, NULL, &l), 0);
  assert_task_written_alike(t); /* submitted: one message in the history */

  /* a full message (file and data parts, metadata, extensions) in the history */
  json_t *full = jparse("{\"kind\":\"message\",\"messageId\":\"w1\",\"contextId\":\"ctx\\\\1\",\"role\":\"user\","
                        "\"parts\":[{\"kind\":\"file\",\"file\":{\"uri\":\"https://x/y\",\"name\":\"n\",\"mimeType\":\"text/plain\"}},"
                        "{\"kind\":\"file\",\"file\":{\"bytes\":\"eA==\"}},{\"kind\":\"data\",\"data\":{\"k\":[1,2.5,null,true]}},"
                        "{\"kind\":\"text\",\"text\":\"t\",\"metadata\":{\"m\":1}}],"
                        "\"referenceTaskIds\":[\"a\"],\"extensions\":[\"e\"],\"metadata\":{\"\\u00e9\":\"\\u2028\"}}");
  assert_int_equal(mol_a2a_task_add_history(t, full), 0);
  json_decref(full);

  /* working with a full status message and event metadata */
  json_t *status = jparse("{\"kind\":\"message\",\"messageId\":\"s1\",\"role\":\"agent\",\"parts\":"
                          "[{\"kind\":\"text\",\"text\":\"thinking \\\"hard\\\"\"}],\"metadata\":{\"x\":[]}}");
  json_t *meta = jparse("{\"progress\":0.5,\"note\":\"\\u00e9\"}");
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_WORKING, status, meta), 0);
  json_decref(status);
  json_decref(meta);
  assert_task_written_alike(t);

  /* artifacts: text, file and data parts, name, description, metadata; an append */
  json_t *a1 = jparse("{\"artifactId\":\"a1\",\"name\":\"n\\\"1\",\"description\":\"d\",\"parts\":"
                      "[{\"kind\":\"text\",\"text\":\"" "x\\ny" "\"}],\"metadata\":{\"k\":1},\"extensions\":[\"e\"]}");
  json_t *a2 = jparse("{\"artifactId\":\"a2\",\"parts\":[{\"kind\":\"file\",\"file\":{\"uri\":\"u\",\"mimeType\":\"image/png\"}},"
                      "{\"kind\":\"data\",\"data\":{\"rows\":[{\"\\u00e9\":-1}]}}]}");
  json_t *a1b = jparse("{\"artifactId\":\"a1\",\"parts\":[{\"kind\":\"text\",\"text\":\"more\"}]}");
  assert_int_equal(mol_a2a_task_add_artifact(t, a1, 0, 0), 0);
  assert_int_equal(mol_a2a_task_add_artifact(t, a2, 0, 1), 0);
  assert_int_equal(mol_a2a_task_add_artifact(t, a1b, 1, 1), 0);
  json_decref(a1);
  json_decref(a2);
  json_decref(a1b);
  json_t *tmeta = jparse("{\"owner\":\"\\u00e9\",\"n\":[1,{\"deep\":null}]}");
  assert_int_equal(mol_a2a_task_set_metadata(t, tmeta), 0);
  json_decref(tmeta);
  assert_task_written_alike(t);

  /* interrupted with a compact status message, then completed without one */
  mol_a2a_cmsg *q = mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_AGENT, "which \"one\"?\n");
  assert_int_equal(mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_INPUT_REQUIRED, q, NULL), 0);
  mol_a2a_cmsg_unref(q);
  assert_task_written_alike(t);
  assert_int_equal(events_seen, 5); /* input-required was the listener's last: listen again */
  assert_int_equal(mol_a2a_task_subscribe(t, compare_event, NULL, &l), 0);
  assert_int_equal(mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
  assert_task_written_alike(t);
  assert_int_equal(events_seen, 6);

  /* a task with nothing but its ids */
  mol_a2a_task *bare;
  assert_int_equal(mol_a2a_store_create(s, NULL, &bare), 0);
  assert_task_written_alike(bare);
  mol_a2a_store_free(s);
}

/* The event kinds without a JSON form get no reply, as before. */
static void closed_event_has_no_reply(void **state) {
  (void)state;
  mol_a2a_request req;
  request_of(&req, MOL_A2A_V03, MOL_A2A_M_STREAM, "1", -1);
  mol_a2a_event ev = {.kind = MOL_A2A_EV_CLOSED, .task_id = "t", .context_id = "c", .final = 1};
  assert_null(mol_a2a_reply_event(&req, &ev));
  mol_buf b = MOL_BUF_INIT;
  assert_int_equal(mol_buf_append(&b, "keep", 4), 0);
  assert_int_equal(mol_a2a_event_write(&b, &ev, MOL_A2A_V03), MOL_EINVAL);
  assert_int_equal(b.len, 4); /* the buffer as it was */
  mol_buf_free(&b);
  mol_a2a_request_free(&req);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(v10_send_agrees),
      cmocka_unit_test(get_task_agrees),
      cmocka_unit_test(written_replies_agree),
      cmocka_unit_test(closed_event_has_no_reply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
