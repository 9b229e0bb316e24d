/* test_tools_schema.c - the check a tool call's arguments pass before the tool runs: each
 * documented rule (an object; every required property; each declared property of its type, a
 * name or a list of names; in its enum; nothing else when additionalProperties is false), and
 * the reason it gives, word for word, when a model's call breaks one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/schema.h"

static const char SCHEMA[] =
    "{\"type\":\"object\",\"required\":[\"path\"],\"additionalProperties\":false,"
    "\"properties\":{"
    "\"path\":{\"type\":\"string\"},"
    "\"count\":{\"type\":\"integer\"},"
    "\"ratio\":{\"type\":\"number\"},"
    "\"force\":{\"type\":\"boolean\"},"
    "\"meta\":{\"type\":\"object\"},"
    "\"tags\":{\"type\":\"array\"},"
    "\"gone\":{\"type\":\"null\"},"
    "\"note\":{\"type\":[\"string\",\"null\"]},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"fast\",\"safe\"]},"
    "\"level\":{\"enum\":[1,2,3]},"
    "\"anything\":{},"
    "\"odd\":{\"type\":\"uuid\"},"
    "\"weird\":{\"type\":[7,\"boolean\"]}}}";

/* The check's verdict on args (JSON text) against schema (JSON text): "" when it passes. */
static const char *verdict(const char *schema, const char *args) {
  static char err[256];
  json_t *s = json_loads(schema, 0, NULL), *a = json_loads(args, JSON_DECODE_ANY, NULL);
  assert_non_null(s);
  assert_non_null(a);
  memset(err, 'x', sizeof err - 1);
  err[sizeof err - 1] = '\0';
  int rc = mol_tool_schema_check(s, a, err, sizeof err);
  json_decref(s);
  json_decref(a);
  if (rc == 0) return "";
  assert_int_equal(rc, -1);
  return err;
}

static void fitting_calls_pass(void **state) {
  (void)state;
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\"}"), "");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"count\":3,\"ratio\":0.5,\"force\":true,"
                                      "\"meta\":{},\"tags\":[1],\"gone\":null,\"note\":null,"
                                      "\"mode\":\"safe\",\"level\":2,\"anything\":[{}]}"),
                      "");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"count\":4.0}"), ""); /* whole */
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"ratio\":2}"), ""); /* a number */
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"note\":\"text\"}"), "");
  /* a type the check does not know is left to the tool */
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"odd\":42}"), "");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"weird\":false}"), "");
  /* no required list, no properties, open: anything goes */
  assert_string_equal(verdict("{}", "{\"x\":1}"), "");
  assert_string_equal(verdict("{\"properties\":{\"a\":{\"type\":[]}}}", "{\"a\":1,\"b\":2}"), "");
}

static void broken_calls_are_named(void **state) {
  (void)state;
  assert_string_equal(verdict(SCHEMA, "[\"path\"]"), "the arguments must be a JSON object");
  assert_string_equal(verdict(SCHEMA, "\"path\""), "the arguments must be a JSON object");
  assert_string_equal(verdict(SCHEMA, "{}"), "missing required argument \"path\"");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"extra\":1}"), "unknown argument \"extra\"");
  assert_string_equal(verdict(SCHEMA, "{\"path\":7}"), "argument \"path\" must be string");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"count\":1.5}"),
                      "argument \"count\" must be integer");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"count\":\"3\"}"),
                      "argument \"count\" must be integer");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"ratio\":\"0.5\"}"),
                      "argument \"ratio\" must be number");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"force\":1}"),
                      "argument \"force\" must be boolean");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"meta\":[]}"),
                      "argument \"meta\" must be object");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"tags\":{}}"),
                      "argument \"tags\" must be array");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"gone\":0}"), "argument \"gone\" must be null");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"note\":3}"),
                      "argument \"note\" must be string or null");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"weird\":\"no\"}"),
                      "argument \"weird\" must be boolean");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"mode\":\"slow\"}"),
                      "argument \"mode\" must be one of [\"fast\",\"safe\"]");
  assert_string_equal(verdict(SCHEMA, "{\"path\":\"a\",\"level\":4}"),
                      "argument \"level\" must be one of [1,2,3]");
  /* a required name that is not a string is no requirement */
  assert_string_equal(verdict("{\"required\":[3]}", "{}"), "");
}

/* The reason always fits the buffer and ends in a NUL, however long the name. */
static void reason_is_cut_to_the_buffer(void **state) {
  (void)state;
  char name[300], args[400], err[32];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  snprintf(args, sizeof args, "{\"%s\":1}", name);
  json_t *s = json_loads("{\"additionalProperties\":false}", 0, NULL), *a = json_loads(args, 0, NULL);
  memset(err, 'x', sizeof err);
  assert_int_equal(mol_tool_schema_check(s, a, err, sizeof err), -1);
  assert_int_equal(strlen(err), sizeof err - 1);
  assert_memory_equal(err, "unknown argument \"nnnn", 22);
  json_decref(s);
  json_decref(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fitting_calls_pass),
      cmocka_unit_test(broken_calls_are_named),
      cmocka_unit_test(reason_is_cut_to_the_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
