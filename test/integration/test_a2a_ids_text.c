/* JSON-RPC ids and text over a real loopback socket: whatever id a client writes comes back
 * byte for byte (2^64, 1e3, -0, 1.5, escaped strings), -32600 echoes a valid id, a text
 * holding U+0000 is refused with -32602 instead of being answered cut short, and a turn sees
 * its text stripped of blanks, and the common send answers the same whichever path reads it
 * and writes its answer. The exact reply bytes are asserted, not a parse of them: a parser
 * would hide a changed spelling. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a_harness.h"

#define SEND(id, text)                                                                      \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"message/send\",\"params\":{\"message\":" \
  "{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"" text "\"}]}}}"

static int setup(void **state) { (void)state; h_setup(); return 0; }
static int teardown(void **state) { (void)state; h_teardown(); return 0; }

/* POSTs body to path and returns the raw reply body (HTTP 200 asserted); the caller frees. */
static char *post(const char *path, const char *body, const char *version) {
  h_resp o;
  h_req("POST", path, body, version ? "A2A-Version" : NULL, version, &o);
  assert_int_equal(o.err, 0);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.ctype, "application/json");
  return o.body;
}

static void expect_reply(const char *path, const char *body, const char *want) {
  char *got = post(path, body, NULL);
  if (strcmp(got, want) != 0) fail_msg("POST %s\n  got:  %s\n  want: %s", body, got, want);
  free(got);
}

static void expect_contains(const char *got, const char *want) {
  if (!strstr(got, want)) fail_msg("missing %s\n  in: %s", want, got);
}

static const char *const k_ids[] = {
    "18446744073709551616", "1e3", "-0", "1.5", "-1.5E+07", "1e400",
    "\"r-1\"", "\"a\\/b\\u00e9\"", "\"x\\u0000y\"",
};

/* Every valid id comes back as written: on a Message reply, on a Task reply and on errors. */
static void ids_echo_byte_for_byte(void **state) {
  (void)state;
  char body[512], want[512];
  for (size_t i = 0; i < sizeof(k_ids) / sizeof(k_ids[0]); i++) {
    const char *id = k_ids[i];
    snprintf(body, sizeof(body), SEND("%s", "hi"), id);
    char *got = post("/", body, NULL);
    snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"kind\":\"message\",", id);
    if (strncmp(got, want, strlen(want)) != 0) fail_msg("got %s\nwant %s...", got, want);
    expect_contains(got, "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}]");
    free(got);
    got = post("/task", body, NULL); /* the Task reply, written by another writer */
    snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"kind\":\"task\",", id);
    if (strncmp(got, want, strlen(want)) != 0) fail_msg("got %s\nwant %s...", got, want);
    expect_contains(got, "\"text\":\"echo: hi\"");
    free(got);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tasks/get\",\"params\":{\"id\":\"nope\"}}", id);
    snprintf(want, sizeof(want),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32001,\"message\":\"Task not found\"}}",
             id);
    expect_reply("/", body, want);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"1.0\",\"id\":%s,\"method\":\"tasks/get\"}", id);
    snprintf(want, sizeof(want),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32600,"
             "\"message\":\"Invalid Request: jsonrpc must be \\\"2.0\\\"\"}}", id);
    expect_reply("/", body, want);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"params\":{}}", id);
    snprintf(want, sizeof(want),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32600,"
             "\"message\":\"Invalid Request: method must be a non-empty string\"}}", id);
    expect_reply("/", body, want);
  }
}

/* The ids of a stream's events too (each event is written on its own). */
static void stream_events_echo_the_id(void **state) {
  (void)state;
  const char *body = "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"message/stream\","
                     "\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":"
                     "[{\"kind\":\"text\",\"text\":\"hi\"}]}}}";
  h_resp o;
  h_req("POST", "/task", body, NULL, NULL, &o);
  assert_int_equal(o.status, 200);
  char *data[16];
  int is_error[16];
  int n = h_sse_events(o.body, data, is_error, 16);
  assert_true(n >= 3);
  for (int i = 0; i < n; i++) {
    assert_false(is_error[i]);
    if (strncmp(data[i], "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"result\":", 52) != 0)
      fail_msg("event %d: %s", i, data[i]);
  }
  h_free(&o);
}

/* -32600 answers with null when the id itself is what is wrong, and -32700 always does. */
static void null_when_the_id_is_unusable(void **state) {
  (void)state;
  expect_reply("/", "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"tasks/get\"}",
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
               "\"message\":\"Invalid Request: id must be a string, a number or null\"}}");
  expect_reply("/", "{\"jsonrpc\":\"1.0\",\"id\":true}",
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
               "\"message\":\"Invalid Request: jsonrpc must be \\\"2.0\\\"\"}}");
  expect_reply("/", "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"tasks/get\"",
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
               "\"message\":\"Invalid JSON payload\"}}");
}

/* "a\u0000b" used to come back as "echo: a". Now: -32602, on every agent, and no task. */
static void nul_text_is_refused_not_cut(void **state) {
  (void)state;
  const char *paths[] = {"/", "/task"};
  for (size_t i = 0; i < 2; i++) {
    mol_a2a_server_stats before, after;
    mol_a2a_server_stats_get(H.a2a[i], &before);
    expect_reply(paths[i], SEND("7", "a\\u0000b"),
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32602,"
                 "\"message\":\"params.message.parts[0].text must not contain U+0000 (NUL)\"}}");
    mol_a2a_server_stats_get(H.a2a[i], &after);
    assert_int_equal(after.tasks, before.tasks);
  }
  expect_reply("/task",
               "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"message/stream\",\"params\":{\"message\":"
               "{\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"\\u0000\"}]}}}",
               "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"error\":{\"code\":-32602,"
               "\"message\":\"params.message.parts[0].text must not contain U+0000 (NUL)\"}}");
  /* a task id with a NUL no longer finds the task named by its first half */
  char *got = post("/task", SEND("1", "keep"), NULL);
  json_t *v = json_loads(got, 0, NULL);
  free(got);
  const char *tid = json_string_value(json_object_get(json_object_get(v, "result"), "id"));
  assert_non_null(tid);
  char body[256];
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\\u0000x\"}}", tid);
  expect_reply("/task", body,
               "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,"
               "\"message\":\"params.id must not contain U+0000 (NUL)\"}}");
  json_decref(v);
  /* text without a NUL still round-trips, escapes and all */
  got = post("/", SEND("3", "a\\u0001\\\"b\\u00e9"), NULL);
  expect_contains(got, "\"text\":\"echo: a\\u0001\\\"b\xc3\xa9\"");
  free(got);
}

/* The turn sees its text without surrounding blanks (the C locale's: space, \t \n \v \f
 * \r), as the Python runtime's str.strip() gives them; a no-break space is text. */
static void turn_text_is_stripped_of_blanks(void **state) {
  (void)state;
  struct { const char *in, *want; } cases[] = {
      {" \\t\\n\\u000b\\f\\r hi  there \\r\\n", "\"text\":\"echo: hi  there\""},
      {"\\u00a0hi\\u00a0", "\"text\":\"echo: \xc2\xa0hi\xc2\xa0\""},
      {"   ", "\"text\":\"echo: \""},
      {"plain", "\"text\":\"echo: plain\""},
  };
  char body[512];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(body, sizeof(body), SEND("1", "%s"), cases[i].in);
    char *got = post("/", body, NULL);
    expect_contains(got, cases[i].want);
    free(got);
  }
}

/* The common send in both shapes the literal match takes (as callers write it; keys sorted,
 * as the platform's proxy forwards it) and the same request with one space more (read by the
 * token scanner): the same answer, byte for byte but for the UUIDs the server makes, whether
 * its template writes it or the general writer (a text to escape). */
#define SORTED(id, text)                                                                    \
  "{\"id\":" id ",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":" \
  "{\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"" text "\"}],\"role\":\"user\"}}}"

/* Every UUID (8-4-4-4-12 hex digits) replaced by "U", in place. */
static void mask_uuids(char *s) {
  static const char form[] = "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
  char *out = s;
  while (*s) {
    size_t i = 0;
    while (form[i] && (form[i] == '-' ? s[i] == '-' : isxdigit((unsigned char)s[i]))) i++;
    if (!form[i]) {
      *out++ = 'U';
      s += i;
    } else {
      *out++ = *s++;
    }
  }
  *out = '\0';
}

static void common_send_answers_as_any_other(void **state) {
  (void)state;
  struct { const char *id, *text, *want; } cases[] = {
      {"\"7f1c2a9e\"", "Summarise the report", "{\"jsonrpc\":\"2.0\",\"id\":\"7f1c2a9e\",\"result\":{"
       "\"kind\":\"message\",\"messageId\":\"U\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\","
       "\"text\":\"echo: Summarise the report\"}],\"contextId\":\"U\",\"taskId\":\"U\"}}"},
      {"\"r\\\"1\"", "line\\nnext \\\"q\\\"", "{\"jsonrpc\":\"2.0\",\"id\":\"r\\\"1\",\"result\":{"
       "\"kind\":\"message\",\"messageId\":\"U\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\","
       "\"text\":\"echo: line\\nnext \\\"q\\\"\"}],\"contextId\":\"U\",\"taskId\":\"U\"}}"},
      {"\"\\u003cb\\u003e\"", "\\u003cp\\u003e \\u00e9t\\u00e9", "{\"jsonrpc\":\"2.0\",\"id\":"
       "\"\\u003cb\\u003e\",\"result\":{\"kind\":\"message\",\"messageId\":\"U\",\"role\":\"agent\","
       "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: <p> \xc3\xa9t\xc3\xa9\"}],\"contextId\":\"U\","
       "\"taskId\":\"U\"}}"},
  };
  char body[512];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (int shape = 0; shape < 3; shape++) {
      if (shape == 2) snprintf(body, sizeof(body), "{ " SEND("%s", "%s") + 1, cases[i].id, cases[i].text);
      else snprintf(body, sizeof(body), shape ? SORTED("%s", "%s") : SEND("%s", "%s"), cases[i].id,
                    cases[i].text);
      char *got = post("/", body, NULL);
      mask_uuids(got);
      if (strcmp(got, cases[i].want) != 0)
        fail_msg("POST %s\n  got:  %s\n  want: %s", body, got, cases[i].want);
      free(got);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ids_echo_byte_for_byte, setup, teardown),
      cmocka_unit_test_setup_teardown(stream_events_echo_the_id, setup, teardown),
      cmocka_unit_test_setup_teardown(null_when_the_id_is_unusable, setup, teardown),
      cmocka_unit_test_setup_teardown(nul_text_is_refused_not_cut, setup, teardown),
      cmocka_unit_test_setup_teardown(turn_text_is_stripped_of_blanks, setup, teardown),
      cmocka_unit_test_setup_teardown(common_send_answers_as_any_other, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
