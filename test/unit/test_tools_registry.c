/* test_tools_registry.c - the tool registry on a real loop: a result reaches the caller once and
 * never inside mol_tools_call; a deadline and a cancel stop the tool and answer the caller; bad
 * arguments become an error text; the OpenAI and MCP listings carry every tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tools/registry.h"
#include "tools/schema.h"

static uv_loop_t loop;
static mol_tool_env env;
static int in_call;   /* set around mol_tools_call / mol_tool_call_cancel */
static int results;
static mol_tool_status last_status;
static char last_text[256];
static int cancels;
static mol_tool_call *parked; /* a call the "slow" tool has not ended */

static void on_result(const mol_tool_result *r, void *arg) {
  (void)arg;
  assert_int_equal(in_call, 0);
  assert_int_equal(strlen(r->text), r->len);
  results++;
  last_status = r->status;
  snprintf(last_text, sizeof last_text, "%s", r->text);
}

/* echo: ends inside start with the "text" argument. */
static int echo_start(mol_tool_call *call, json_t *args) {
  mol_tool_call_done(call, json_string_value(json_object_get(args, "text")), (size_t)-1);
  return 0;
}

/* slow: never ends on its own; cancel ends it. */
static int slow_start(mol_tool_call *call, json_t *args) {
  (void)args;
  parked = call;
  return 0;
}
static void slow_cancel(mol_tool_call *call) {
  cancels++;
  assert_true(mol_tool_call_stopping(call));
  mol_tool_call_fail(call, "stopped");
  parked = NULL;
}

static int broken_start(mol_tool_call *call, json_t *args) {
  (void)call;
  (void)args;
  return MOL_EIO;
}

static const char echo_schema[] =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},\"n\":{\"type\":\"integer\"}},"
    "\"required\":[\"text\"],\"additionalProperties\":false}";

static mol_tools *registry(void) {
  mol_tools *reg = mol_tools_new(&env);
  mol_tool_def echo = {.name = "echo", .description = "says it back",
                       .input_schema = echo_schema, .start = echo_start};
  mol_tool_def slow = {.name = "slow", .description = "waits", .input_schema = "{}",
                       .start = slow_start, .cancel = slow_cancel};
  mol_tool_def broken = {.name = "broken", .input_schema = "{}", .start = broken_start};
  assert_int_equal(mol_tools_add(reg, &echo), 0);
  assert_int_equal(mol_tools_add(reg, &slow), 0);
  assert_int_equal(mol_tools_add(reg, &broken), 0);
  return reg;
}

static void call(mol_tools *reg, const char *name, const char *args, unsigned timeout_ms,
                 mol_tool_call **out) {
  mol_tool_call_opts o = {.timeout_ms = timeout_ms, .cb = on_result};
  in_call = 1;
  assert_int_equal(mol_tools_call(reg, name, args, &o, out), 0);
  in_call = 0;
}

static void setup_each(void) {
  results = 0;
  cancels = 0;
  parked = NULL;
  last_text[0] = '\0';
}

static void test_result_once_after_the_call(void **state) {
  (void)state;
  setup_each();
  mol_tools *reg = registry();
  call(reg, "echo", "{\"text\":\"hello\"}", 0, NULL);
  assert_int_equal(results, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(results, 1);
  assert_int_equal(last_status, MOL_TOOL_OK);
  assert_string_equal(last_text, "hello");
  mol_tools_free(reg);
}

static void expect_error(mol_tools *reg, const char *name, const char *args, const char *text) {
  setup_each();
  call(reg, name, args, 0, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(results, 1);
  assert_int_equal(last_status, MOL_TOOL_ERROR);
  assert_string_equal(last_text, text);
}

static void test_bad_arguments_are_an_error_text(void **state) {
  (void)state;
  mol_tools *reg = registry();
  expect_error(reg, "echo", "{\"text\":", "echo: the arguments are not valid JSON");
  expect_error(reg, "echo", "[1]", "echo: the arguments must be a JSON object");
  expect_error(reg, "echo", "", "echo: missing required argument \"text\"");
  expect_error(reg, "echo", "{\"text\":3}", "echo: argument \"text\" must be string");
  expect_error(reg, "echo", "{\"text\":\"x\",\"mode\":\"c\"}",
               "echo: argument \"mode\" must be one of [\"a\",\"b\"]");
  expect_error(reg, "echo", "{\"text\":\"x\",\"n\":1.5}", "echo: argument \"n\" must be integer");
  expect_error(reg, "echo", "{\"text\":\"x\",\"extra\":1}", "echo: unknown argument \"extra\"");
  expect_error(reg, "broken", NULL, "broken: i/o error");
  mol_tools_free(reg);
}

static void test_unknown_tool_and_no_callback(void **state) {
  (void)state;
  mol_tools *reg = registry();
  mol_tool_call_opts o = {.cb = on_result};
  assert_int_equal(mol_tools_call(reg, "nope", "{}", &o, NULL), MOL_ENOENT);
  mol_tool_call_opts none = {0};
  assert_int_equal(mol_tools_call(reg, "echo", "{}", &none, NULL), MOL_EINVAL);
  mol_tools_free(reg);
}

static void test_deadline_cancels_the_tool(void **state) {
  (void)state;
  setup_each();
  mol_tools *reg = registry();
  call(reg, "slow", "{}", 20, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(results, 1);
  assert_int_equal(cancels, 1);
  assert_int_equal(last_status, MOL_TOOL_TIMED_OUT);
  assert_string_equal(last_text, "slow timed out after 20 ms");
  mol_tools_free(reg);
}

static void test_caller_cancel(void **state) {
  (void)state;
  setup_each();
  mol_tools *reg = registry();
  mol_tool_call *c;
  call(reg, "slow", "{}", 0, &c);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_non_null(parked);
  in_call = 1;
  mol_tool_call_cancel(c);
  in_call = 0;
  assert_int_equal(cancels, 1);
  assert_int_equal(results, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(results, 1);
  assert_int_equal(last_status, MOL_TOOL_CANCELED);
  assert_string_equal(last_text, "slow canceled");
  mol_tools_free(reg);
}

/* The registry may go while a call runs: the call keeps what it needs. */
static void test_registry_freed_under_a_call(void **state) {
  (void)state;
  setup_each();
  mol_tools *reg = registry();
  mol_tool_call *c;
  call(reg, "slow", "{}", 0, &c);
  mol_tools_free(reg);
  mol_tool_call_cancel(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(results, 1);
  assert_int_equal(last_status, MOL_TOOL_CANCELED);
}

static void test_listings_and_registration_rules(void **state) {
  (void)state;
  mol_tools *reg = registry();
  mol_tool_def dup = {.name = "echo", .input_schema = "{}", .start = echo_start};
  assert_int_equal(mol_tools_add(reg, &dup), MOL_EEXIST);
  mol_tool_def badname = {.name = "has space", .input_schema = "{}", .start = echo_start};
  assert_int_equal(mol_tools_add(reg, &badname), MOL_EINVAL);
  mol_tool_def badschema = {.name = "x", .input_schema = "[]", .start = echo_start};
  assert_int_equal(mol_tools_add(reg, &badschema), MOL_EINVAL);
  assert_int_equal(mol_tools_count(reg), 3);

  json_t *openai = mol_tools_openai(reg);
  assert_int_equal(json_array_size(openai), 3);
  json_t *fn = json_object_get(json_array_get(openai, 0), "function");
  assert_string_equal(json_string_value(json_object_get(json_array_get(openai, 0), "type")),
                      "function");
  assert_string_equal(json_string_value(json_object_get(fn, "name")), "echo");
  assert_string_equal(json_string_value(json_object_get(fn, "description")), "says it back");
  assert_non_null(json_object_get(json_object_get(fn, "parameters"), "required"));
  json_decref(openai);

  json_t *mcp = mol_tools_mcp(reg);
  assert_int_equal(json_array_size(mcp), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(mcp, 1), "name")), "slow");
  assert_non_null(json_object_get(json_array_get(mcp, 1), "inputSchema"));
  json_decref(mcp);

  assert_int_equal(mol_tools_remove(reg, "slow"), 0);
  assert_int_equal(mol_tools_remove(reg, "slow"), MOL_ENOENT);
  assert_null(mol_tools_find(reg, "slow"));
  assert_string_equal(mol_tools_at(reg, 1)->name, "broken");
  mol_tools_free(reg);
}

int main(void) {
  uv_loop_init(&loop);
  env.loop = &loop;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_result_once_after_the_call),
      cmocka_unit_test(test_bad_arguments_are_an_error_text),
      cmocka_unit_test(test_unknown_tool_and_no_callback),
      cmocka_unit_test(test_deadline_cancels_the_tool),
      cmocka_unit_test(test_caller_cancel),
      cmocka_unit_test(test_registry_freed_under_a_call),
      cmocka_unit_test(test_listings_and_registration_rules),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  assert_int_equal(uv_loop_close(&loop), 0);
  return rc;
}
