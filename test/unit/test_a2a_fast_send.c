/* test_a2a_fast_send.c - the literal match of the common message/send (codec_fast_send.c), in
 * both shapes it takes (as callers write it, and keys sorted as the platform's proxy forwards
 * it), against the scanner's fast path (codec_fast.c) and the full parser:
 *  - the request every Molecule caller sends, with ids and texts of every kind (escapes,
 *    unicode, long, empty), is taken, and read exactly as the scanner and jansson read it: the
 *    same request, and the same reply, byte for byte;
 *  - the same request changed at every byte (a byte replaced, a space inserted, a byte
 *    removed, the body cut short) is declined wherever the change is in the skeleton, and
 *    wherever it is taken (a change inside a string), read as the others read it;
 *  - mol_a2a_request_parse answers every one of those bodies exactly as the full parser does;
 *  - the answer written from its template (codec_fast_reply.c) is the general writer's, byte
 *    for byte, with a byte JSON escapes at every position of every string (then declined), in
 *    both versions, for every kind of request id and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "a2a/codec_int.h"
#include "a2a_test_util.h"
#include "molecule.h"

#define SEND(id, mid, text)                                                                 \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"message/send\",\"params\":{\"message\":{" \
  "\"role\":\"user\",\"messageId\":" mid ",\"parts\":[{\"kind\":\"text\",\"text\":" text    \
  "}]}}}"

/* The same request as the Molecule platform's proxy forwards it: keys sorted (Go). */
#define SORTED(id, mid, text)                                                               \
  "{\"id\":" id ",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{" \
  "\"messageId\":" mid ",\"parts\":[{\"kind\":\"text\",\"text\":" text "}],\"role\":\"user\"}}}"

#define CANONICAL(shape)                                                                     \
  shape("\"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b\"", "\"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d\"", \
        "\"Summarise the quarterly report and list the three biggest risks.\"")
static const char *const k_shapes[] = {CANONICAL(SEND), CANONICAL(SORTED)};

/* What a request answers: its reply to a message/send with its own message (the bytes the
 * server writes around the executor's), or its error reply. */
static char *outcome(int rc, mol_a2a_request *req) {
  if (rc != 0) return mol_a2a_reply_request_error(req);
  return req->message ? mol_a2a_reply_message(req, req->message) : strdup("(no message)");
}

static void assert_same_request(mol_a2a_request *a, mol_a2a_request *b) {
  assert_int_equal(a->version, b->version);
  assert_int_equal(a->method, b->method);
  size_t na, nb;
  const char *ia = mol_a2a_request_id(a, &na), *ib = mol_a2a_request_id(b, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(ia, ib, na);
  assert_int_equal(a->config.blocking, b->config.blocking);
  assert_int_equal(a->config.history_length, b->config.history_length);
  assert_null(b->config.accepted_output_modes);
  assert_null(b->config.push_config);
  assert_int_equal(a->history_length, b->history_length);
  assert_true((!a->metadata && !b->metadata) ||
              (a->metadata && b->metadata && json_equal(a->metadata, b->metadata)));
  assert_true((!a->task_id && !b->task_id) ||
              (a->task_id && b->task_id && !strcmp(a->task_id, b->task_id)));
  assert_non_null(a->message);
  assert_non_null(b->message);
  assert_true(json_equal(mol_a2a_cmsg_json(a->message), mol_a2a_cmsg_json(b->message)));
}

/* The match took body: the scanner and the full parser read the same request, and the replies
 * are the same bytes (the scanner's compact message) or the same JSON (jansson's tree). */
static void assert_match_agrees(const char *body, size_t len) {
  mol_a2a_request match, fast, full;
  mol_a2a__request_init(&match);
  mol_a2a__request_init(&fast);
  if (!mol_a2a__request_match_send(body, len, &match)) fail_msg("match declined: %.*s", (int)len, body);
  if (!mol_a2a__request_parse_fast(body, len, MOL_A2A_V03, &fast))
    fail_msg("the scanner declined what the match took: %.*s", (int)len, body);
  assert_int_equal(mol_a2a__request_parse_full(body, len, NULL, &full), 0);
  assert_true(mol_a2a_cmsg_is_compact(match.message));
  assert_same_request(&match, &fast);
  assert_same_request(&match, &full);
  char *a = outcome(0, &match), *b = outcome(0, &fast), *c = outcome(0, &full);
  assert_non_null(a);
  assert_string_equal(a, b);
  assert_true(json_text_equal(a, c));
  free(a);
  free(b);
  free(c);
  mol_a2a_request_free(&match);
  mol_a2a_request_free(&fast);
  mol_a2a_request_free(&full);
}

static int match_takes(const char *body, size_t len) {
  mol_a2a_request req;
  mol_a2a__request_init(&req);
  int took = mol_a2a__request_match_send(body, len, &req);
  mol_a2a_request_free(&req);
  return took;
}

/* Two JSON texts alike, strings holding U+0000 allowed (ids may). */
static int json_text_equal_nul(const char *a, const char *b) {
  json_t *ja = json_loads(a, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  json_t *jb = json_loads(b, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  int eq = ja && jb && json_equal(ja, jb);
  if (!eq) fprintf(stderr, "JSON mismatch\n  got:  %s\n  want: %s\n", a, b);
  json_decref(ja);
  json_decref(jb);
  return eq;
}

/* mol_a2a_request_parse (the match first) answers body exactly as the full parser alone. */
static void assert_parse_answers_alike(const char *body, size_t len) {
  mol_a2a_request a, b;
  int ra = mol_a2a_request_parse(body, len, NULL, &a);
  int rb = mol_a2a__request_parse_full(body, len, NULL, &b);
  assert_int_equal(ra, rb);
  char *oa = outcome(ra, &a), *ob = outcome(rb, &b);
  assert_non_null(oa);
  assert_non_null(ob);
  if (strcmp(oa, ob) != 0 && !json_text_equal_nul(oa, ob))
    fail_msg("answers differ for: %.*s", (int)len, body);
  free(oa);
  free(ob);
  mol_a2a_request_free(&a);
  mol_a2a_request_free(&b);
}

static void common_sends_match(void **state) {
  (void)state;
#define COMMON(shape)                                                                        \
  CANONICAL(shape), shape("\"\"", "\"m\"", "\"\""), /* empty id and text */                       \
      shape("\"r\\\"1\"", "\"m\\u0041\\n\"", "\"line\\nnext \\\"q\\\" \\\\ \\/ \\t\""),               \
      shape("\"\\ud83d\\ude00\"", "\"\xc3\xa9t\xc3\xa9\"", "\"\xe2\x82\xac \xf0\x9f\x98\x80 \\u00e9\""),   \
      shape("\"id\"", "\"a-very-long-message-id-0123456789-0123456789-0123456789-0123456789-"   \
                     "0123456789-0123456789-0123456789-0123456789\"",                           \
            "\"text\""),                                                                     \
      shape("\"\\u003cb\\u003e \\u0026\"", "\"m\"", "\"\\u003cp\\u003e Go escapes these \\u2028\"")
  static const char *const bodies[] = {COMMON(SEND), COMMON(SORTED)};
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    assert_match_agrees(bodies[i], strlen(bodies[i]));
    assert_parse_answers_alike(bodies[i], strlen(bodies[i]));
  }
  /* strings longer than any stack room: a 5000-byte escaped text and messageId */
  size_t n = 5000;
  char *text = malloc(n + 1), *body = malloc(3 * n + 512);
  for (size_t i = 0; i < n; i += 2) memcpy(text + i, "\\n", 2);
  text[n] = '\0';
  snprintf(body, 3 * n + 512, SEND("\"%s\"", "\"%s\"", "\"%s\""), text, text, text);
  assert_match_agrees(body, strlen(body));
  snprintf(body, 3 * n + 512, SORTED("\"%s\"", "\"%s\"", "\"%s\""), text, text, text);
  assert_match_agrees(body, strlen(body));
  free(text);
  free(body);
}

static void other_shapes_decline(void **state) {
  (void)state;
#define OTHERS(shape)                                                                        \
  shape("1", "\"m\"", "\"t\""), /* a number id: the scanner's */                                \
      shape("null", "\"m\"", "\"t\""), shape("\"r\"", "\"\"", "\"t\""), /* an empty messageId */     \
      shape("\"r\"", "null", "\"t\""), shape("\"r\"", "\"m\"", "\"a\\u0000b\""), /* U+0000 */         \
      shape("\"\\u0000\"", "\"m\"", "\"t\""), shape("\"r\"", "\"m\\u0000\"", "\"t\""),                   \
      shape("\"r\"", "\"m\"", "\"\xff\""),                /* invalid UTF-8 */                     \
      shape("\"r\"", "\"m\"", "\"\x01\""),                /* a raw control character */           \
      shape("\"r\"", "\"m\"", "\"unterminated"), shape("\"r\"", "\"m\"", "\"t\"") " ", /* after it */ \
      shape("\"r\"", "\"m\"", "\"t\",\"metadata\":{}")
  static const char *const bodies[] = {
      OTHERS(SEND), OTHERS(SORTED),
      /* the two shapes mixed */
      "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"message/send\",\"params\":{\"message\":{"
      "\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}],\"role\":\"user\"}}}",
      "{\"id\":\"r\",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{"
      "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}]}}}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    if (match_takes(bodies[i], strlen(bodies[i]))) fail_msg("match took: %s", bodies[i]);
    assert_parse_answers_alike(bodies[i], strlen(bodies[i]));
  }
  assert_false(match_takes(NULL, 0));
  for (size_t k = 0; k < 2; k++) assert_false(match_takes(k_shapes[k], strlen(k_shapes[k]) - 1));
}

/* Where the three strings' contents are in canonical: a change there may still match (and so
 * may a byte inserted right before a closing quote, with_close). */
static int in_a_string(const char *canonical, size_t at, int with_close) {
  static const char *const marks[] = {"\"id\":\"", "\"messageId\":\"", "\"text\":\""};
  for (size_t i = 0; i < 3; i++) {
    const char *open = strstr(canonical, marks[i]) + strlen(marks[i]);
    const char *close = strchr(open, '"');
    if (canonical + at >= open && canonical + at < close + (with_close ? 1 : 0)) return 1;
  }
  return 0;
}

/* One changed body: declined where the skeleton changed, read alike wherever taken. */
static void check_changed(const char *body, size_t len, size_t at, int skeleton) {
  int took = match_takes(body, len);
  if (took && skeleton) fail_msg("match took a changed skeleton at %zu: %.*s", at, (int)len, body);
  if (took) assert_match_agrees(body, len);
  assert_parse_answers_alike(body, len);
}

static void every_byte_changed_in(const char *canonical) {
  const size_t n = strlen(canonical);
  char *body = malloc(n + 2);
  static const char replacements[] = {' ', 'x', '"', '\\', '}', '\0', '\x80'};
  for (size_t at = 0; at < n; at++) {
    int skeleton = !in_a_string(canonical, at, 0);
    for (size_t r = 0; r < sizeof(replacements); r++) { /* a byte replaced */
      if (canonical[at] == replacements[r]) continue;
      memcpy(body, canonical, n);
      body[at] = replacements[r];
      check_changed(body, n, at, skeleton || replacements[r] == '"');
    }
    memcpy(body, canonical, at); /* a space inserted before the byte */
    body[at] = ' ';
    memcpy(body + at + 1, canonical + at, n - at);
    check_changed(body, n + 1, at, !in_a_string(canonical, at, 1));
    memcpy(body, canonical, at); /* the byte removed */
    memcpy(body + at, canonical + at + 1, n - at - 1);
    check_changed(body, n - 1, at, skeleton);
    check_changed(canonical, at, at, 1); /* cut short before it */
  }
  free(body);
}

static void every_byte_changed(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof(k_shapes) / sizeof(k_shapes[0]); k++) {
    assert_true(match_takes(k_shapes[k], strlen(k_shapes[k])));
    every_byte_changed_in(k_shapes[k]);
  }
}

/* Each of the three strings, of every length to 40, with a byte that needs the scanner (an
 * escape, a control character, UTF-8, invalid UTF-8) or ends the string at every position:
 * taken exactly when the scanner takes it, and read alike. */
static void strings_of_every_length(void **state) {
  (void)state;
  static const char *const bytes[] = {"a", "\"", "\\n", "\\u0041", "\\x", "\x01", "\x7f",
                                      "\xc3\xa9", "\x80", "\xed\xa0\x80"};
  static const char *const formats[] = {SEND("\"%s\"", "\"%s\"", "\"%s\""),
                                        SORTED("\"%s\"", "\"%s\"", "\"%s\"")};
  char str[64], body[512];
  for (size_t f = 0; f < 2; f++)
  for (size_t which = 0; which < 3; which++)
    for (size_t len = 0; len <= 40; len++)
      for (size_t at = 0; at <= len; at++)
        for (size_t k = 0; k < sizeof(bytes) / sizeof(bytes[0]); k++) {
          size_t bl = strlen(bytes[k]);
          if (at + bl > len && !(len == 0 && at == 0 && k == 0)) continue;
          memset(str, 'a', len);
          memcpy(str + at, bytes[k], at + bl > len ? 0 : bl);
          str[len] = '\0';
          const char *id = which == 0 ? str : "r", *mid = which == 1 ? str : "m",
                     *text = which == 2 ? str : "t";
          int n = snprintf(body, sizeof(body), formats[f], id, mid, text);
          mol_a2a_request fast;
          mol_a2a__request_init(&fast);
          int scanner = mol_a2a__request_parse_fast(body, (size_t)n, MOL_A2A_V03, &fast);
          mol_a2a_request_free(&fast);
          int took = match_takes(body, (size_t)n);
          if (took != scanner) fail_msg("match %d, scanner %d: %s", took, scanner, body);
          if (k == 0 && (len || which != 1)) assert_true(took); /* plain ASCII: always */
          if (took) assert_match_agrees(body, (size_t)n);
          assert_parse_answers_alike(body, (size_t)n);
        }
}

/* ---- the answer's template ---------------------------------------------------------------- */

/* The answer both ways: the same bytes; 1 when the template wrote it. */
static int assert_reply_alike(const mol_a2a_request *req, const mol_a2a_cmsg *msg) {
  char *t = mol_a2a__reply_message_template(req, msg);
  char *a = mol_a2a_reply_message(req, msg), *b = mol_a2a__reply_message_written(req, msg);
  assert_non_null(a);
  assert_non_null(b);
  if (strcmp(a, b) != 0) fail_msg("replies differ:\n  %s\n  %s", a, b);
  if (t) assert_string_equal(t, b);
  free(a);
  free(b);
  free(t);
  return t != NULL;
}

static void request_with_id(mol_a2a_request *req, mol_a2a_version v, const char *id) {
  mol_a2a__request_init(req);
  req->version = v;
  req->method = MOL_A2A_M_SEND;
  if (id) assert_int_equal(mol_a2a__id_set(&req->id, id, strlen(id)), 0);
}

/* One message: the template takes it exactly when every string is plain (v0.3). */
static void check_template(const mol_a2a_request *req, mol_a2a_role role, const char *id,
                           const char *ctx, const char *task, const char *text, size_t len,
                           int plain) {
  mol_a2a_text_span part = {text, len};
  mol_a2a_cmsg *m = mol_a2a_cmsg_new_text(role, id, ctx, task, &part, 1);
  assert_non_null(m);
  int took = assert_reply_alike(req, m);
  assert_int_equal(took, plain && req->version == MOL_A2A_V03);
  mol_a2a_cmsg_unref(m);
}

static void template_writes_alike(void **state) {
  (void)state;
  static const char *const rpc_ids[] = {NULL, "\"7f1c2a9e-3b4d\"", "1", "-0.5e3", "\"\\u00e9\""};
  static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f"};
  static const char *const plains[] = {"\x7f", "\xc3\xa9", "/", "\xf0\x9f\x98\x80"};
  char text[64], id[64];
  for (int v = 0; v < 2; v++) {
    mol_a2a_version version = v ? MOL_A2A_V10 : MOL_A2A_V03;
    for (size_t r = 0; r < sizeof(rpc_ids) / sizeof(rpc_ids[0]); r++) {
      mol_a2a_request req;
      request_with_id(&req, version, rpc_ids[r]);
      check_template(&req, MOL_A2A_ROLE_AGENT, "m", "c", "t", "echo: hi", 8, 1);
      check_template(&req, MOL_A2A_ROLE_USER, "m", NULL, NULL, "", 0, 1);
      check_template(&req, MOL_A2A_ROLE_AGENT, NULL, "c", NULL, "x", 1, 1); /* a fresh UUID */
      check_template(&req, MOL_A2A_ROLE_AGENT, "m", NULL, "t", "x", 1, 1);
      check_template(&req, MOL_A2A_ROLE_AGENT, "m", "c", "t", "a\0b", 3, 0); /* a NUL inside */
      /* every length to 40, a special byte (or a plain one JSON leaves) at every position of
       * the text and of each id */
      for (size_t len = 1; len <= 40; len++)
        for (size_t at = 0; at < len; at++) {
          for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]) + 4; k++) {
            int is_special = k < sizeof(specials) / sizeof(specials[0]);
            const char *b = is_special ? specials[k] : plains[k - sizeof(specials) / sizeof(specials[0])];
            size_t bl = strlen(b);
            if (at + bl > len) continue;
            memset(text, 'a', len);
            memcpy(text + at, b, bl);
            text[len] = '\0';
            check_template(&req, MOL_A2A_ROLE_AGENT, "m", "c", "t", text, len, !is_special);
            memcpy(id, text, len + 1);
            check_template(&req, MOL_A2A_ROLE_AGENT, id, "c", "t", "x", 1, !is_special);
            check_template(&req, MOL_A2A_ROLE_AGENT, "m", id, "t", "x", 1, !is_special);
            check_template(&req, MOL_A2A_ROLE_AGENT, "m", "c", id, "x", 1, !is_special);
          }
        }
      /* ids the task engine fills in later, two parts, a wrapped message: */
      mol_a2a_text_span parts[2] = {{"a", 1}, {"b", 1}};
      mol_a2a_cmsg *m = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_AGENT, "m", NULL, NULL, parts, 1);
      m = mol_a2a_cmsg_fill_ids(m, "6f3b0c1e-0000-4000-8000-000000000001", "ctx-1");
      assert_int_equal(assert_reply_alike(&req, m), version == MOL_A2A_V03);
      mol_a2a_cmsg_unref(m);
      m = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_AGENT, "m", "c", "t", parts, 2);
      assert_false(assert_reply_alike(&req, m));
      mol_a2a_cmsg_unref(m);
      m = mol_a2a_cmsg_wrap(jparse("{\"kind\":\"message\",\"messageId\":\"m\",\"role\":\"agent\","
                                   "\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}"));
      assert_false(assert_reply_alike(&req, m));
      mol_a2a_cmsg_unref(m);
      mol_a2a_request_free(&req);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(common_sends_match),
      cmocka_unit_test(other_shapes_decline),
      cmocka_unit_test(every_byte_changed),
      cmocka_unit_test(strings_of_every_length),
      cmocka_unit_test(template_writes_alike),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
