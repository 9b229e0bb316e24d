/* The heartbeat's body (hb_body.c): the scan that reads it without a jansson tree agrees with
 * the jansson reader it stands in for, kept as the reference. Whatever the scan accepts, the
 * reference must accept with the same fields (the same strings, numbers and capability map);
 * what the reference refuses (a field of the wrong type, a missing workspace_id, \u0000,
 * invalid UTF-8, numbers it cannot load) or might read its own way (a duplicated member, an
 * escaped key) the scan must decline. Then the same check over deterministic mutations of
 * typical bodies, and the capability comparison that spares rebuilding the map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devplatform/dp_int.h"

#define CAPS                                                                                \
  "{\"streaming\":true,\"push_notifications\":false,\"session\":false,\"status_mgmt\":false," \
  "\"activity\":true,\"delegation\":true,\"memory\":false}"

static const char *const SEEDS[] = {
    /* what the SDK sends */
    "{\"workspace_id\":\"7c0e1f2a-0000-4000-8000-000000000001\",\"error_rate\":0.0,"
    "\"sample_error\":\"\",\"active_tasks\":0,\"uptime_seconds\":12,\"current_task\":\"\","
    "\"runtime_state\":\"\",\"session_id\":\"s1\",\"adapter\":{\"name\":\"echo\",\"v\":[1,2]},"
    "\"runtime_metadata\":{\"capabilities\":" CAPS ",\"idle_timeout_seconds\":300}}",
    /* escapes, non-ASCII, reals for integers, null fields, spend clamped */
    "{\"workspace_id\":\"ws\\u00e9\\n\",\"error_rate\":5e-1,\"sample_error\":\"boom \\\"x\\\" \\ud83d\\ude00\","
    "\"current_task\":\"t\xc3\xa9\xe2\x82\xac\",\"runtime_state\":\"wedged\",\"active_tasks\":2.9,"
    "\"uptime_seconds\":1e20,\"monthly_spend\":-5,\"runtime_metadata\":{\"idle_timeout_seconds\":"
    "12.5,\"capabilities\":{}}}",
    " {\"workspace_id\" : \"w\", \"error_rate\" : null, \"sample_error\" : null, \"active_tasks\":null,"
    "\"current_task\":null,\"runtime_state\":null,\"uptime_seconds\":-1.5e3,\"monthly_spend\":2e13,"
    "\"runtime_metadata\":{\"capabilities\":[1],\"idle_timeout_seconds\":\"x\",\"other\":{}}} \n",
    "{\"workspace_id\":\"w\",\"runtime_metadata\":\"text\",\"error_rate\":7,\"x\":[{\"y\":null}]}",
    "{\"workspace_id\":\"w\",\"runtime_metadata\":{\"capabilities\":{\"a\":{\"b\":1},\"s\":\"v\"}}}",
};

static int str_same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whatever the scan says, it must agree with the reference; returns the scan's verdict. */
static int agree(const char *body, size_t len) {
  char *buf = malloc(len + 8);
  mol_dp__hb fast, ref;
  int ok = mol_dp__hb_scan(body, len, &fast, buf);
  json_t *tree = mol_dp__hb_read(body, len, &ref);
  if (ok) {
    assert_non_null(tree);
    assert_true(str_same(fast.ws, ref.ws));
    assert_true(str_same(fast.sample_error, ref.sample_error));
    assert_true(str_same(fast.current_task, ref.current_task));
    assert_true(str_same(fast.runtime_state, ref.runtime_state));
    assert_true(fast.error_rate == ref.error_rate);
    assert_int_equal(fast.active_tasks, ref.active_tasks);
    assert_int_equal(fast.uptime, ref.uptime);
    assert_int_equal(fast.spend, ref.spend);
    assert_int_equal(fast.idle, ref.idle);
    assert_null(fast.caps);
    assert_int_equal(!!fast.caps_text, !!ref.caps);
    if (ref.caps) {
      json_t *caps = json_loadb(fast.caps_text, fast.caps_len, 0, NULL);
      assert_true(json_equal(caps, ref.caps));
      /* the comparison never calls a map equal to one it is not (the SDK's here) */
      json_t *sdk = json_loads(CAPS, 0, NULL);
      if (mol_dp__hb_caps_same(sdk, fast.caps_text, fast.caps_len))
        assert_true(json_equal(sdk, caps));
      json_decref(sdk);
      json_decref(caps);
    }
  } else {
    assert_null(fast.ws);
  }
  json_decref(tree);
  free(buf);
  return ok;
}

static int agree_str(const char *body) { return agree(body, strlen(body)); }

/* The reference's answer: 1 read, 0 refused (400). */
static int ref_reads(const char *body) {
  mol_dp__hb f;
  json_t *t = mol_dp__hb_read(body, strlen(body), &f);
  json_decref(t);
  return t != NULL;
}

static void test_typical_bodies_are_scanned(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof SEEDS / sizeof *SEEDS; i++) assert_true(agree_str(SEEDS[i]));
  char buf[1024];
  mol_dp__hb f;
  assert_true(mol_dp__hb_scan(SEEDS[1], strlen(SEEDS[1]), &f, buf));
  assert_string_equal(f.ws, "ws\xc3\xa9\n"); /* decoded */
  assert_string_equal(f.sample_error, "boom \"x\" \xf0\x9f\x98\x80");
  assert_true(f.error_rate == 0.5);
  assert_int_equal(f.active_tasks, 2);
  assert_int_equal(f.uptime, 1000000000000000LL); /* clamped as before */
  assert_int_equal(f.spend, 0);
  assert_int_equal(f.idle, 12);
  assert_null(f.caps_text); /* an empty map is none */
  assert_true(mol_dp__hb_scan(SEEDS[0], strlen(SEEDS[0]), &f, buf));
  assert_int_equal(f.caps_len, strlen(CAPS));
  assert_memory_equal(f.caps_text, CAPS, strlen(CAPS));
}

static void test_long_values(void **state) {
  (void)state;
  size_t n = 300000;
  char *body = malloc(n + 200);
  int k = snprintf(body, 200, "{\"workspace_id\":\"w\",\"sample_error\":\"");
  memset(body + k, 'e', n);
  strcpy(body + k + n, "\",\"current_task\":\"\\u00e9\"}");
  assert_true(agree_str(body));
  free(body);
}

static void test_refused_and_declined(void **state) {
  (void)state;
  /* refused by the reference: the scan must decline (the handler then answers 400) */
  const char *const refused[] = {
      "{}", "{\"workspace_id\":null}", "{\"workspace_id\":7}", "{\"workspace_id\":[\"w\"]}",
      "{\"workspace_id\":\"w\",\"error_rate\":\"0\"}",
      "{\"workspace_id\":\"w\",\"error_rate\":true}",
      "{\"workspace_id\":\"w\",\"sample_error\":1}",
      "{\"workspace_id\":\"w\",\"current_task\":{}}",
      "{\"workspace_id\":\"w\",\"runtime_state\":false}",
      "{\"workspace_id\":\"w\",\"active_tasks\":\"1\"}",
      "{\"workspace_id\":\"w\",\"uptime_seconds\":[]}",
      "{\"workspace_id\":\"w\",\"monthly_spend\":\"big\"}",
      "{\"workspace_id\":\"w\",\"active_tasks\":123456789012345678901234567890}",
      "{\"workspace_id\":\"w\",\"error_rate\":1e400}",
      "{\"workspace_id\":\"w\\u0000x\"}",
      "{\"workspace_id\":\"w\",\"x\":\"a\\u0000\"}",
      "{\"workspace_id\":\"w\xff\"}",
      "{\"workspace_id\":\"w\",\"current_task\":\"\xc3\"}",
      "[{\"workspace_id\":\"w\"}]", "\"w\"", "", "{\"workspace_id\":\"w\"", "{\"workspace_id\":\"w\"} x",
      NULL};
  for (int i = 0; refused[i]; i++) {
    assert_false(ref_reads(refused[i]));
    assert_false(agree_str(refused[i]));
  }
  /* read by the reference, but possibly its own way: declined, the reference decides */
  const char *const declined[] = {
      "{\"workspace_id\":\"a\",\"workspace_id\":\"b\"}",
      "{\"workspace_id\":\"a\",\"workspace\\u005fid\":\"b\"}",
      "{\"workspace_id\":\"a\",\"error_rate\":0.1,\"error_rate\":0.9}",
      "{\"workspace_id\":\"a\",\"runtime_metadata\":{\"capabilities\":{\"x\":true},\"capabilities\":{}}}",
      "{\"workspace_id\":\"a\",\"runtime_metadata\":{},\"runtime_metadata\":{\"idle_timeout_seconds\":5}}",
      "{\"workspace_id\":\"a\",\"runtime_metadata\":{\"idle\\u005ftimeout_seconds\":5}}",
      NULL};
  for (int i = 0; declined[i]; i++) {
    assert_true(ref_reads(declined[i]));
    assert_false(agree_str(declined[i]));
  }
}

/* The capability comparison: equal maps in any member order are the same; any difference,
 * a duplicated key, or a value it does not compare, is not. */
static void test_caps_same(void **state) {
  (void)state;
  json_t *caps = json_loads(CAPS, 0, NULL);
  const char *same = "{ \"memory\":false,\"streaming\":true,\"push_notifications\":false,"
                     "\"session\":false,\"status_mgmt\":false,\"activity\":true,\"delegation\":true}";
  assert_true(mol_dp__hb_caps_same(caps, CAPS, strlen(CAPS)));
  assert_true(mol_dp__hb_caps_same(caps, same, strlen(same)));
  const char *const differ[] = {
      "{\"streaming\":true}",
      "{\"streaming\":false,\"push_notifications\":false,\"session\":false,\"status_mgmt\":false,"
      "\"activity\":true,\"delegation\":true,\"memory\":false}",
      "{\"streaming\":true,\"streaming\":true,\"session\":false,\"status_mgmt\":false,"
      "\"activity\":true,\"delegation\":true,\"memory\":false}",
      "{\"streaming\":true,\"push_notifications\":false,\"session\":false,\"status_mgmt\":false,"
      "\"activity\":true,\"delegation\":true,\"memory\":false,\"x\":1}",
      "{\"streaming\":1,\"push_notifications\":false,\"session\":false,\"status_mgmt\":false,"
      "\"activity\":true,\"delegation\":true,\"memory\":false}",
      "{}", "[]", "", NULL};
  for (int i = 0; differ[i]; i++)
    assert_false(mol_dp__hb_caps_same(caps, differ[i], strlen(differ[i])));
  assert_false(mol_dp__hb_caps_same(NULL, CAPS, strlen(CAPS)));
  json_decref(caps);
  /* strings, integers and null compare too; nested values are left to a parse */
  json_t *mixed = json_loads("{\"s\":\"v\",\"i\":-3,\"n\":null}", 0, NULL);
  const char *m = "{\"n\":null,\"i\":-3,\"s\":\"v\"}";
  assert_true(mol_dp__hb_caps_same(mixed, m, strlen(m)));
  const char *m2 = "{\"n\":null,\"i\":-3,\"s\":\"w\"}";
  assert_false(mol_dp__hb_caps_same(mixed, m2, strlen(m2)));
  json_decref(mixed);
}

/* Deterministic mutations: flip, drop, duplicate or replace a byte, many times over. */
static void test_mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\u0 ae1.-xtn\xc3\xff";
  unsigned seed = 4242;
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
  assert_true(accepted > 0); /* some mutants stay valid and are scanned */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typical_bodies_are_scanned),
      cmocka_unit_test(test_long_values),
      cmocka_unit_test(test_refused_and_declined),
      cmocka_unit_test(test_caps_same),
      cmocka_unit_test(test_mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
