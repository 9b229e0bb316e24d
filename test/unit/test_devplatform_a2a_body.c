/* The proxy's A2A body (a2a_body.c): the scan that lets a body through untouched agrees with
 * the normalisation it stands in for. Whatever the scan accepts, normalisation must read the
 * same method and messageId and give the same JSON value (it adds nothing); what needs
 * normalising (no envelope, no messageId) or what jansson reads its own way must be declined.
 * Then the same check over deterministic mutations of typical bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

static const char *const SEEDS[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":\"7f1c\",\"method\":\"message/send\",\"params\":{\"message\":"
    "{\"role\":\"user\",\"messageId\":\"0d9b-7c6a\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/get\",\"params\":{\"id\":\"t1\",\"historyLength\":2}}",
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"message/stream\",\"params\":{\"message\":{\"messageId\":"
    "\"m\\u00e9\",\"parts\":[],\"metadata\":{\"a\":[1,2.5e3,true,false,null]}}},\"extra\":{}}",
    "{\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"parts\":[]}}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{\"parts\":[]}}}",
    " {\"jsonrpc\" : \"2.0\", \"method\" : \"x\", \"params\" : null } \n",
};

/* Whatever the scan says, it must agree with normalisation; returns the scan's verdict. */
static int agree(const char *body, size_t len) {
  char m1[64], id1[128], m2[64], id2[128];
  int fast = mol_dp__a2a_scan(body, len, m1, id1);
  char *full = mol_dp__a2a_normalize(body, len, m2, id2);
  if (fast) {
    assert_non_null(full);
    assert_string_equal(m1, m2);
    assert_string_equal(id1, id2);
    json_t *a = json_loadb(body, len, 0, NULL), *b = json_loads(full, 0, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(json_equal(a, b)); /* normalisation added nothing: forwarding as is is right */
    json_decref(a);
    json_decref(b);
  } else {
    assert_string_equal(m1, "");
    assert_string_equal(id1, "");
  }
  free(full);
  return fast;
}

static int agree_str(const char *body) { return agree(body, strlen(body)); }

static void test_typical_bodies_pass_through(void **state) {
  (void)state;
  assert_true(agree_str(SEEDS[0]));
  char m[64], id[128];
  assert_true(mol_dp__a2a_scan(SEEDS[0], strlen(SEEDS[0]), m, id));
  assert_string_equal(m, "message/send");
  assert_string_equal(id, "0d9b-7c6a");
  assert_true(agree_str(SEEDS[1]));
  assert_true(mol_dp__a2a_scan(SEEDS[2], strlen(SEEDS[2]), m, id));
  assert_string_equal(id, "m\xc3\xa9"); /* decoded */
  assert_true(agree_str(SEEDS[2]));
  assert_true(agree_str(SEEDS[5]));
}

static void test_normalisation_is_declined(void **state) {
  (void)state;
  const char *const declined[] = {
      SEEDS[3], /* no envelope */
      SEEDS[4], /* no messageId */
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\"}",       /* duplicate: jansson keeps b */
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"\\u006dethod\":\"b\"}", /* escaped key: b */
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000b\"}",                  /* NUL: jansson refuses */
      "{\"jsonrpc\":\"2.0\",\"method\":7}",                              /* not a string */
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":{\"message\":\"m\"}}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":{\"message\":{\"messageId\":1}}}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":{\"message\":{\"messageId\":\"x\",\"messageId\":\"y\"}}}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\"", "[1]", "", "{\"jsonrpc\":\"2.0\",\"method\":\"a\"} x",
      NULL};
  for (int i = 0; declined[i]; i++) assert_false(agree_str(declined[i]));
  /* A method too long for its buffer: normalisation truncates it, so the scan declines. */
  char big[200];
  snprintf(big, sizeof big, "{\"jsonrpc\":\"2.0\",\"method\":\"%070d\"}", 0);
  assert_false(agree_str(big));
  /* Normalisation still does its job on what was declined. */
  char m[64], id[128];
  char *out = mol_dp__a2a_normalize(SEEDS[3], strlen(SEEDS[3]), m, id);
  json_t *j = json_loads(out, 0, NULL);
  assert_string_equal(mol_json_str(j, "jsonrpc"), "2.0");
  assert_string_equal(m, "message/send");
  assert_int_equal(strlen(id), MOL_UUID_LEN);
  assert_string_equal(mol_json_str(mol_json_path(j, "params.message"), "messageId"), id);
  json_decref(j);
  free(out);
}

/* Deterministic mutations: flip, drop, duplicate or replace a byte, many times over. */
static void test_mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\u0 ae1.-xtn";
  unsigned seed = 12345;
  int accepted = 0;
  for (size_t s = 0; s < sizeof SEEDS / sizeof *SEEDS; s++) {
    size_t len = strlen(SEEDS[s]);
    char *buf = malloc(len + 8); /* three inserts at most */
    for (int round = 0; round < 4000; round++) {
      memcpy(buf, SEEDS[s], len + 1);
      size_t n = len;
      for (int k = 0; k < 1 + round % 3; k++) {
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % n;
        char c = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
        switch ((seed >> 16) % 3) {
          case 0: buf[at] = c; break;
          case 1: memmove(buf + at, buf + at + 1, n - at); n--; break;
          default: memmove(buf + at + 1, buf + at, n - at + 1); buf[at] = c; n++; break;
        }
        if (n < 2) break;
      }
      accepted += agree(buf, n);
    }
    free(buf);
  }
  assert_true(accepted > 0); /* some mutants stay valid and pass through */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typical_bodies_pass_through),
      cmocka_unit_test(test_normalisation_is_declined),
      cmocka_unit_test(test_mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
