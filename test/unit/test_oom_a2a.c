/* test_oom_a2a.c - the A2A codec when an allocation fails: every allocation of a request's
 * parse (the DOM-free fast path and the full parser, both versions), of the replies built for
 * it and of a response's parse and text fails in turn (failalloc.h). Each run ends in a clean
 * error or the right answer, and frees everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec.h"
#include "a2a/msg.h"
#include "failalloc.h"
#include "molecule.h"

/* Parsing: out of memory may read as any of the parser's errors (jansson reports a failed
 * allocation as a syntax error), never as a success with something missing. */
static const int parse_errs[] = {MOL_ENOMEM, MOL_EJSON, MOL_EINVAL, MOL_EPROTO, 0};
static const int build_errs[] = {MOL_ENOMEM, 0};

typedef struct {
  const char *body, *version;
  const char *text; /* the message's text, or NULL for a request without one */
  const char *answer_text;
} request_case;

#define V03_SEND                                                                              \
  "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"method\":\"message/send\",\"params\":{\"message\":{"  \
  "\"kind\":\"message\",\"role\":\"user\",\"messageId\":\"m1\",\"contextId\":\"c1\","          \
  "\"parts\":[{\"kind\":\"text\",\"text\":\"hello\"}]}}}"
/* the request every Molecule caller sends, and as the platform's proxy forwards it: the
 * literal match (codec_fast_send.c), and its answer from the template (codec_fast_reply.c) */
#define V03_COMMON                                                                            \
  "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"method\":\"message/send\",\"params\":{\"message\":{"  \
  "\"role\":\"user\",\"messageId\":\"m1\",\"parts\":[{\"kind\":\"text\",\"text\":\"hello\"}]}}}"
#define V03_COMMON_SORTED                                                                     \
  "{\"id\":\"r-1\",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{"  \
  "\"messageId\":\"m\\u0031\",\"parts\":[{\"kind\":\"text\",\"text\":\"hel\\u006co\"}],"       \
  "\"role\":\"user\"}}}"
#define V03_SEND_FULL                                                                         \
  "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"message/send\",\"params\":{\"message\":{"        \
  "\"kind\":\"message\",\"role\":\"user\",\"messageId\":\"m1\",\"metadata\":{\"k\":[1,2]},"    \
  "\"parts\":[{\"kind\":\"text\",\"text\":\"hel\"},{\"kind\":\"text\",\"text\":\"lo\"}]},"     \
  "\"configuration\":{\"blocking\":false,\"historyLength\":2,"                                 \
  "\"acceptedOutputModes\":[\"text/plain\"]},\"metadata\":{\"x\":\"y\"}}}"
#define V10_SEND                                                                              \
  "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"SendMessage\",\"params\":{\"message\":{"    \
  "\"role\":\"ROLE_USER\",\"messageId\":\"m1\",\"metadata\":{},\"parts\":[{\"text\":\"hello\"}]}," \
  "\"configuration\":{\"returnImmediately\":true,\"historyLength\":3}}}"
#define V03_GET                                                                               \
  "{\"jsonrpc\":\"2.0\",\"id\":\"a-very-long-request-id-that-does-not-fit-inline-0123456789\"," \
  "\"method\":\"tasks/get\",\"params\":{\"id\":\"t1\",\"historyLength\":1}}"

static int parse_and_reply(void *arg) {
  const request_case *c = arg;
  mol_a2a_request req;
  int rc = mol_a2a_request_parse(c->body, strlen(c->body), c->version, &req);
  if (rc) {
    mol_a2a_request_free(&req);
    return rc;
  }
  if (c->text) {
    char *text = mol_a2a_cmsg_text(req.message);
    if (!text) rc = MOL_ENOMEM;
    else assert_string_equal(text, c->text);
    free(text);
  } else {
    assert_string_equal(req.task_id, "t1");
  }
  mol_a2a_cmsg *answer = rc ? NULL : mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_AGENT, c->answer_text);
  if (!rc && !answer) rc = MOL_ENOMEM;
  char *out = rc ? NULL : mol_a2a_reply_message(&req, answer);
  if (!rc && !out) rc = MOL_ENOMEM;
  if (out) {
    json_error_t e;
    json_t *v = json_loads(out, 0, &e);
    if (!v) rc = MOL_ENOMEM; /* the check's own parse ran out */
    json_decref(v);
  }
  free(out);
  char *err = rc ? NULL : mol_a2a_reply_error(&req, -32001, NULL);
  if (!rc && !err) rc = MOL_ENOMEM;
  free(err);
  if (answer) mol_a2a_cmsg_unref(answer);
  mol_a2a_request_free(&req);
  return rc;
}

static void requests(void **st) {
  (void)st;
  static const request_case cases[] = {
      {V03_SEND, NULL, "hello", "hi back"},
      {V03_COMMON, NULL, "hello", "hi back"},
      {V03_COMMON_SORTED, NULL, "hello", "hi back"},
      {V03_SEND_FULL, NULL, "hello", "hi back"},
      {V10_SEND, "1.0", "hello", "hi back"},
      {V03_GET, NULL, NULL, "x"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned n = failalloc_sweep(cases[i].body, parse_and_reply, (void *)&cases[i], parse_errs);
    assert_true(n > 3); /* the sweep did reach the codec's allocations */
  }
}

/* A request that fails to parse still gets its error answer, or a clean NULL. */
static int bad_request_answer(void *arg) {
  const char *body = arg;
  mol_a2a_request req;
  int rc = mol_a2a_request_parse(body, strlen(body), NULL, &req);
  assert_true(rc < 0);
  char *out = mol_a2a_reply_request_error(&req);
  mol_a2a_request_free(&req);
  if (!out) return MOL_ENOMEM;
  assert_non_null(strstr(out, "\"error\""));
  free(out);
  return 0;
}

static void bad_requests(void **st) {
  (void)st;
  static const char *const bodies[] = {
      "{\"jsonrpc\":\"2.0\",\"id\":\"x-1\",\"method\":\"nope\",\"params\":{}}",
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"message\":{}}}",
      "{bad json",
  };
  for (size_t i = 0; i < 3; i++)
    failalloc_sweep(bodies[i], bad_request_answer, (void *)bodies[i], build_errs);
}

typedef struct {
  const char *body;
  mol_a2a_version v;
  const char *text;
} response_case;

static int parse_response(void *arg) {
  const response_case *c = arg;
  mol_a2a_response r;
  int rc = mol_a2a_response_parse(c->body, strlen(c->body), c->v, &r);
  if (!rc) {
    assert_false(r.is_error);
    char *text = mol_a2a_response_text(&r);
    if (!text) rc = MOL_ENOMEM;
    else assert_string_equal(text, c->text);
    free(text);
  }
  mol_a2a_response_free(&r);
  return rc;
}

#define MSG03 "{\"kind\":\"message\",\"messageId\":\"a1\",\"role\":\"agent\",\"contextId\":\"c1\"," \
              "\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}]}"

static void responses(void **st) {
  (void)st;
  static const response_case cases[] = {
      {"{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":" MSG03 "}", MOL_A2A_V03, "echo: hi"},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"kind\":\"task\",\"id\":\"t1\",\"contextId\":"
       "\"c1\",\"status\":{\"state\":\"completed\",\"message\":" MSG03 "},\"history\":[" MSG03 "],"
       "\"artifacts\":[{\"artifactId\":\"x1\",\"parts\":[{\"kind\":\"text\",\"text\":\"art\"}]}]}}",
       MOL_A2A_V03, "art"},
      {"{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"result\":{\"message\":{\"role\":\"ROLE_AGENT\","
       "\"messageId\":\"a\",\"parts\":[{\"text\":\"one \"},{\"text\":\"two\"}]}}}",
       MOL_A2A_V10, "one two"},
      {"{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"result\":{\"task\":{\"id\":\"t\",\"contextId\":\"c\","
       "\"status\":{\"state\":\"TASK_STATE_COMPLETED\",\"message\":{\"role\":\"ROLE_AGENT\","
       "\"messageId\":\"a\",\"parts\":[{\"text\":\"done\"}]}}}}}",
       MOL_A2A_V10, "done"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_true(failalloc_sweep(cases[i].body, parse_response, (void *)&cases[i], parse_errs) > 1);
}

static int build_send(void *arg) {
  (void)arg;
  json_t *id = json_string("req-1");
  json_t *msg = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "kind", "message", "role", "user",
                          "messageId", "m1", "parts", "kind", "text", "text", "hi");
  mol_a2a_send_config cfg = {.blocking = 0, .history_length = 2};
  json_t *meta = json_pack("{s:i}", "n", 1);
  int rc = 0;
  char *out03 = NULL, *out10 = NULL, *get = NULL;
  if (!id || !msg || !meta) rc = MOL_ENOMEM;
  if (!rc && !(out03 = mol_a2a_request_build_send(MOL_A2A_V03, id, 0, msg, &cfg, meta)))
    rc = MOL_ENOMEM;
  if (!rc && !(out10 = mol_a2a_request_build_send(MOL_A2A_V10, id, 1, msg, &cfg, meta)))
    rc = MOL_ENOMEM;
  if (!rc && !(get = mol_a2a_request_build_task(MOL_A2A_V03, MOL_A2A_M_GET, id, "t1", 3)))
    rc = MOL_ENOMEM;
  if (!rc) {
    assert_non_null(strstr(out03, "\"blocking\":false"));
    assert_non_null(strstr(out10, "\"returnImmediately\":true"));
    assert_non_null(strstr(get, "\"historyLength\":3"));
  }
  free(out03);
  free(out10);
  free(get);
  json_decref(id);
  json_decref(msg);
  json_decref(meta);
  return rc;
}

static void request_builders(void **st) {
  (void)st;
  assert_true(failalloc_sweep("request builders", build_send, NULL, build_errs) > 5);
}

int main(void) {
  failalloc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(requests),
      cmocka_unit_test(bad_requests),
      cmocka_unit_test(responses),
      cmocka_unit_test(request_builders),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
