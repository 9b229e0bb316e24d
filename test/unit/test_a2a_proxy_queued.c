/* test_a2a_proxy_queued.c - every message/send answer is first asked whether it is the platform
 * proxy's hand-off ({"queued":true} or {"status":"queued",...} without "jsonrpc"). The scanner's
 * verdict must be jansson's on every text: hand-offs, JSON-RPC answers (whose "jsonrpc" key
 * ends the read early, valid or not past it), repeated keys, escapes, NUL, not JSON at all,
 * and tens of thousands of mutations of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mutate.h"
#include "a2a_uv/client_int.h"

static const struct {
  int queued;
  const char *body;
} rows[] = {
  {1, "{\"queued\":true}"},
  {1, "{\"status\":\"queued\",\"queue_id\":\"q1\",\"delivery\":{\"mode\":\"poll\"}}"},
  {1, " {\"x\":[1,{\"y\":null}],\"st\\u0061tus\":\"queu\\u0065d\"} \n"},
  {0, "{\"queued\":false}"},
  {0, "{\"queued\":\"true\"}"},
  {0, "{\"status\":\"done\"}"},
  {0, "{\"status\":\"queued\",\"status\":\"sent\"}"},
  {1, "{\"queued\":false,\"queued\":true}"},
  {0, "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\",\"role\":\"agent\",\"parts\":[]}}"},
  {0, "{\"queued\":true,\"jsonrpc\":\"2.0\"}"},
  {0, "{\"jsonrpc\":\"2.0\",\"queued\":true, not json"},
  {0, "{\"queued\":true,\"note\":\"a\\u0000b\"}"},
  {0, "{\"queued\":true} trailing"},
  {0, "{\"queued\":true,}"},
  {0, "[{\"queued\":true}]"},
  {0, "\"queued\""},
  {0, ""},
  {0, "{\"big\":123456789012345678901234567890,\"queued\":true}"}, /* jansson refuses it */
  {1, "{\"r\":1.5e3,\"status\":\"queued\"}"},
};

static const char *const seeds[] = {
  "{\"queued\":true}",
  "{\"status\":\"queued\",\"queue_id\":\"q1\",\"delivery\":{\"mode\":\"poll\"}}",
  "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":{\"kind\":\"message\",\"parts\":[]}}",
  "{\"queued\":false,\"status\":\"queu\\u0065d\",\"n\":[1,2.5,true,null]}",
};

static void table_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const char *b = rows[i].body;
    int fast = mol_a2a__proxy_queued(b, strlen(b)), dom = mol_a2a__proxy_queued_dom(b, strlen(b));
    if (fast != rows[i].queued || dom != rows[i].queued) {
      fprintf(stderr, "row %zu (%s): scanner %d, jansson %d, want %d\n", i, b, fast, dom, rows[i].queued);
      fail();
    }
  }
}

static void mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\ nul0123456789.eE+-abtrfsqjx\x00\xc3\xa9\xff";
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int queued = 0;
  char buf[512];
  for (int iter = 0; iter < 40000; iter++) {
    size_t len = mol_test_mutate(buf, sizeof buf, seeds[iter % 4], 1 + iter % 3, &seed, alphabet,
                                 sizeof alphabet - 1);
    int fast = mol_a2a__proxy_queued(buf, len), dom = mol_a2a__proxy_queued_dom(buf, len);
    if (fast != dom) {
      fprintf(stderr, "disagree (scanner %d, jansson %d) on: %.*s\n", fast, dom, (int)len, buf);
      fail();
    }
    queued += fast;
  }
  assert_true(queued > 1000); /* many mutations are still hand-offs: both verdicts are compared */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_agrees),
    cmocka_unit_test(mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
