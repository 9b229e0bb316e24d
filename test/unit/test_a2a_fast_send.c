/* test_a2a_fast_send.c - the literal match of contract §6's message/send (codec_fast_send.c)
 * against the scanner's fast path (codec_fast.c) and the full parser:
 *  - the request every Molecule caller sends, with ids and texts of every kind (escapes,
 *    unicode, long, empty), is taken, and read exactly as the scanner and jansson read it: the
 *    same request, and the same reply, byte for byte;
 *  - the same request changed at every byte (a byte replaced, a space inserted, a byte
 *    removed, the body cut short) is declined wherever the change is in the skeleton, and
 *    wherever it is taken (a change inside a string), read as the others read it;
 *  - mol_a2a_request_parse answers every one of those bodies exactly as the full parser does. */
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

static const char k_canonical[] =
    SEND("\"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b\"", "\"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d\"",
         "\"Summarise the quarterly report and list the three biggest risks.\"");

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
  static const char *const bodies[] = {
      k_canonical,
      SEND("\"\"", "\"m\"", "\"\""),                                   /* empty id and text */
      SEND("\"r\\\"1\"", "\"m\\u0041\\n\"", "\"line\\nnext \\\"q\\\" \\\\ \\/ \\t\""),
      SEND("\"\\ud83d\\ude00\"", "\"\xc3\xa9t\xc3\xa9\"", "\"\xe2\x82\xac \xf0\x9f\x98\x80 \\u00e9\""),
      SEND("\"id\"", "\"a-very-long-message-id-0123456789-0123456789-0123456789-0123456789-"
                     "0123456789-0123456789-0123456789-0123456789\"",
           "\"text\""),
  };
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
  free(text);
  free(body);
}

static void other_shapes_decline(void **state) {
  (void)state;
  static const char *const bodies[] = {
      SEND("1", "\"m\"", "\"t\""),                /* a number id: the scanner's */
      SEND("null", "\"m\"", "\"t\""),
      SEND("\"r\"", "\"\"", "\"t\""),             /* an empty messageId: no id */
      SEND("\"r\"", "null", "\"t\""),
      SEND("\"r\"", "\"m\"", "\"a\\u0000b\""),    /* U+0000: the full parser's */
      SEND("\"\\u0000\"", "\"m\"", "\"t\""),
      SEND("\"r\"", "\"m\\u0000\"", "\"t\""),
      SEND("\"r\"", "\"m\"", "\"\xff\""),         /* invalid UTF-8 */
      SEND("\"r\"", "\"m\"", "\"\x01\""),         /* a raw control character */
      SEND("\"r\"", "\"m\"", "\"unterminated"),
      SEND("\"r\"", "\"m\"", "\"t\"") " ",        /* anything after the body */
      SEND("\"r\"", "\"m\"", "\"t\",\"metadata\":{}"),
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    if (match_takes(bodies[i], strlen(bodies[i]))) fail_msg("match took: %s", bodies[i]);
    assert_parse_answers_alike(bodies[i], strlen(bodies[i]));
  }
  assert_false(match_takes(NULL, 0));
  assert_false(match_takes(k_canonical, strlen(k_canonical) - 1));
}

/* Where the three strings' contents are in k_canonical: a change there may still match (and
 * so may a byte inserted right before a closing quote, with_close). */
static int in_a_string(size_t at, int with_close) {
  static const char *const marks[] = {"\"id\":\"", "\"messageId\":\"", "\"text\":\""};
  for (size_t i = 0; i < 3; i++) {
    const char *open = strstr(k_canonical, marks[i]) + strlen(marks[i]);
    const char *close = strchr(open, '"');
    if (k_canonical + at >= open && k_canonical + at < close + (with_close ? 1 : 0)) return 1;
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

static void every_byte_changed(void **state) {
  (void)state;
  const size_t n = strlen(k_canonical);
  char *body = malloc(n + 2);
  static const char replacements[] = {' ', 'x', '"', '\\', '}', '\0', '\x80'};
  for (size_t at = 0; at < n; at++) {
    int skeleton = !in_a_string(at, 0);
    for (size_t r = 0; r < sizeof(replacements); r++) { /* a byte replaced */
      if (k_canonical[at] == replacements[r]) continue;
      memcpy(body, k_canonical, n);
      body[at] = replacements[r];
      check_changed(body, n, at, skeleton || replacements[r] == '"');
    }
    memcpy(body, k_canonical, at); /* a space inserted before the byte */
    body[at] = ' ';
    memcpy(body + at + 1, k_canonical + at, n - at);
    check_changed(body, n + 1, at, !in_a_string(at, 1));
    memcpy(body, k_canonical, at); /* the byte removed */
    memcpy(body + at, k_canonical + at + 1, n - at - 1);
    check_changed(body, n - 1, at, skeleton);
    check_changed(k_canonical, at, at, 1); /* cut short before it */
  }
  free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(common_sends_match),
      cmocka_unit_test(other_shapes_decline),
      cmocka_unit_test(every_byte_changed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
