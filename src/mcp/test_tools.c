/* test_tools.c - diagnostic tools for the MCP server's tests (see toolset.h): small, side-effect
 * free, and each one exercises a path of a call's life: a result, a tool error, a long call
 * that a cancel or a deadline must stop for real. */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "mcp/toolset.h"

/* Slow calls waiting now, across the process (the loop thread only). */
static unsigned slow_running;

static int echo_start(mol_tool_call *call, json_t *args) {
  const char *text = json_string_value(json_object_get(args, "text"));
  mol_tool_call_done(call, text, json_string_length(json_object_get(args, "text")));
  return 0;
}

static int add_start(mol_tool_call *call, json_t *args) {
  char out[64];
  double sum = json_number_value(json_object_get(args, "a")) +
               json_number_value(json_object_get(args, "b"));
  snprintf(out, sizeof out, "%.17g", sum);
  mol_tool_call_done(call, out, (size_t)-1);
  return 0;
}

static int fail_start(mol_tool_call *call, json_t *args) {
  const char *msg = json_string_value(json_object_get(args, "message"));
  mol_tool_call_fail(call, "%s", msg ? msg : "this tool always fails");
  return 0;
}

static int running_start(mol_tool_call *call, json_t *args) {
  (void)args;
  char out[32];
  snprintf(out, sizeof out, "%u", slow_running);
  mol_tool_call_done(call, out, (size_t)-1);
  return 0;
}

static int simple_text_start(mol_tool_call *call, json_t *args) {
  (void)args;
  mol_tool_call_done(call, "This is a simple text response for testing.", (size_t)-1);
  return 0;
}

static int error_start(mol_tool_call *call, json_t *args) {
  (void)args;
  mol_tool_call_fail(call, "This tool intentionally returns an error for testing");
  return 0;
}

static int schema_tool_start(mol_tool_call *call, json_t *args) {
  char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
  mol_tool_call_done(call, text ? text : "{}", (size_t)-1);
  free(text);
  return 0;
}

/* ---- slow: a timer per call ------------------------------------------------------------- */

typedef struct {
  uv_timer_t timer;
  mol_tool_call *call;
  long long ms;
} slow_call;

static void slow_closed(uv_handle_t *h) { free(h->data); }

static void slow_end(slow_call *c) {
  slow_running--;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, slow_closed);
}

static void slow_fired(uv_timer_t *t) {
  slow_call *c = t->data;
  char out[64];
  snprintf(out, sizeof out, "slept %lld ms", c->ms);
  mol_tool_call_done(c->call, out, (size_t)-1);
  slow_end(c);
}

static int slow_start(mol_tool_call *call, json_t *args) {
  json_t *ms = json_object_get(args, "ms");
  slow_call *c = calloc(1, sizeof *c);
  if (!c) return MOL_ENOMEM;
  c->call = call;
  c->ms = ms ? json_integer_value(ms) : 60000;
  if (c->ms < 0) c->ms = 0;
  uv_timer_init(mol_tool_call_env(call)->loop, &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, slow_fired, (uint64_t)c->ms, 0);
  mol_tool_call_set_data(call, c);
  slow_running++;
  return 0;
}

static void slow_cancel(mol_tool_call *call) {
  slow_call *c = mol_tool_call_data(call);
  mol_tool_call_fail(call, "slow stopped");
  slow_end(c);
}

/* ---- the set ------------------------------------------------------------------------------ */

static const mol_tool_def test_tools[] = {
  {"echo", "Returns its text argument unchanged.",
   "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}",
   echo_start, NULL, NULL},
  {"add", "Adds two numbers and returns the sum as text.",
   "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}},"
   "\"required\":[\"a\",\"b\"]}",
   add_start, NULL, NULL},
  {"slow", "Waits ms milliseconds (default 60000), then says so; a cancel stops it at once.",
   "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\"}}}",
   slow_start, slow_cancel, NULL},
  {"running", "How many slow calls are waiting right now.",
   "{\"type\":\"object\",\"additionalProperties\":false}", running_start, NULL, NULL},
  {"fail", "Always fails, with the given message.",
   "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}}}",
   fail_start, NULL, NULL},
  {"test_simple_text", "Returns a fixed text (conformance fixture).",
   "{\"type\":\"object\",\"additionalProperties\":false}", simple_text_start, NULL, NULL},
  {"test_error_handling", "Always returns a tool error (conformance fixture).",
   "{\"type\":\"object\",\"additionalProperties\":false}", error_start, NULL, NULL},
  {"json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features (conformance fixture).",
   "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
   "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
   "\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":\"string\"},"
   "\"address\":{\"$ref\":\"#/$defs/address\"}},\"additionalProperties\":false}",
   schema_tool_start, NULL, NULL},
};

int mol_mcp_test_tools_add(mol_tools *reg) {
  for (size_t i = 0; i < sizeof test_tools / sizeof *test_tools; i++) {
    int rc = mol_tools_add(reg, &test_tools[i]);
    if (rc < 0) return rc;
  }
  return 0;
}
