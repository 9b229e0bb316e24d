/* test_oom_tools.c - the tool registry and the arguments reader when an allocation fails
 * (failalloc.h): registering tools, listing them for OpenAI and MCP, reading a call's
 * arguments (the scanner and jansson) and a whole call on a loop. Each run ends in a clean
 * error or the right answer, the callback fires exactly once when the call was accepted, and
 * nothing is left allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "failalloc.h"
#include "molecule.h"
#include "tools/args.h"
#include "tools/registry.h"

static const int nomem[] = {MOL_ENOMEM, 0};
/* Adding a tool parses its schema with jansson, whose reader reports most failed allocations
 * as a syntax error: MOL_EINVAL ("bad schema") is what the registry can say then. */
static const int nomem_or_schema[] = {MOL_ENOMEM, MOL_EINVAL, 0};
static uv_loop_t loop;
static mol_tool_env env;

static const char echo_schema[] =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},\"n\":{\"type\":\"integer\"}},"
    "\"required\":[\"text\"],\"additionalProperties\":false}";

static int echo_start(mol_tool_call *call, json_t *args) {
  mol_tool_call_done(call, json_string_value(json_object_get(args, "text")), (size_t)-1);
  return 0;
}

static const mol_tool_def k_defs[] = {
    {.name = "echo", .description = "says it back", .input_schema = echo_schema,
     .start = echo_start},
    {.name = "other", .description = "another", .input_schema = "{\"type\":\"object\"}",
     .start = echo_start},
};

/* A registry with both tools, or NULL and *rc. */
static mol_tools *registry(int *rc) {
  mol_tools *reg = mol_tools_new(&env);
  *rc = reg ? 0 : MOL_ENOMEM;
  for (size_t i = 0; !*rc && i < 2; i++) *rc = mol_tools_add(reg, &k_defs[i]);
  if (*rc) {
    mol_tools_free(reg);
    return NULL;
  }
  assert_int_equal(mol_tools_count(reg), 2);
  return reg;
}

static int add_and_list(void *arg) {
  (void)arg;
  int rc;
  mol_tools *reg = registry(&rc);
  if (!reg) return rc;
  json_t *openai = mol_tools_openai(reg), *mcp = mol_tools_mcp(reg);
  if (!openai || !mcp) {
    rc = MOL_ENOMEM;
  } else {
    assert_int_equal(json_array_size(openai), 2);
    assert_int_equal(json_array_size(mcp), 2);
    json_t *params = json_object_get(json_object_get(json_array_get(openai, 0), "function"),
                                     "parameters");
    assert_non_null(json_object_get(params, "required"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(mcp, 1), "name")),
                        "other");
  }
  json_decref(openai);
  json_decref(mcp);
  mol_tools_free(reg);
  return rc;
}

static void registry_and_listings(void **st) {
  (void)st;
  assert_true(failalloc_sweep("registry", add_and_list, NULL, nomem_or_schema) > 4);
}

typedef struct {
  const char *text;
  json_t *want;
} args_case;

static int read_args(void *arg) {
  args_case *c = arg;
  json_t *v = mol_tools__args_parse(c->text, strlen(c->text));
  if (!v) return MOL_ENOMEM; /* out of memory reads as "not JSON": never as other arguments */
  assert_true(json_equal(v, c->want));
  json_decref(v);
  int declined = 0;
  v = mol_tools__args_scan(c->text, strlen(c->text), &declined);
  if (!v && !declined) return MOL_ENOMEM;
  if (v) assert_true(json_equal(v, c->want));
  json_decref(v);
  return 0;
}

static void arguments(void **st) {
  (void)st;
  static const char *const texts[] = {
      "{\"text\":\"hello\",\"n\":3}",
      "{\"q\":\"caf\\u00e9 \\ud83d\\ude00\",\"list\":[1,2.5,true,null,{\"a\":[]}],\"o\":{\"k\":\"v\"}}",
      "{\"path\":\"a\\/b\\\\c\\n\",\"deep\":{\"x\":{\"y\":[[\"z\"]]}},\"e\":-1.5e3}",
  };
  for (size_t i = 0; i < 3; i++) {
    args_case c = {texts[i], json_loads(texts[i], 0, NULL)};
    assert_non_null(c.want);
    failalloc_sweep(texts[i], read_args, &c, nomem);
    json_decref(c.want);
  }
}

typedef struct {
  int results;
  mol_tool_status status;
  char text[128];
} outcome;

static void on_result(const mol_tool_result *r, void *arg) {
  outcome *o = arg;
  o->results++;
  o->status = r->status;
  snprintf(o->text, sizeof(o->text), "%s", r->text);
}

static int one_call(void *arg) {
  const char *args = arg;
  int rc;
  mol_tools *reg = registry(&rc);
  if (!reg) return rc;
  outcome o = {0};
  mol_tool_call_opts co = {.cb = on_result, .arg = &o};
  rc = mol_tools_call(reg, "echo", args, &co, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(o.results, rc ? 0 : 1); /* exactly once when accepted, never otherwise */
  if (!rc && o.status != MOL_TOOL_OK) {
    /* an allocation the tool's run needed: an error text, never the tool run with less */
    assert_int_equal(o.status, MOL_TOOL_ERROR);
    rc = MOL_ENOMEM;
  } else if (!rc) {
    assert_string_equal(o.text, "hello");
  }
  mol_tools_free(reg);
  return rc;
}

static void calls(void **st) {
  (void)st;
  failalloc_sweep("call echo", one_call, "{\"text\":\"hello\",\"mode\":\"a\"}", nomem_or_schema);
}

int main(void) {
  failalloc_init();
  uv_loop_init(&loop);
  env.loop = &loop;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(registry_and_listings),
      cmocka_unit_test(arguments),
      cmocka_unit_test(calls),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_loop_close(&loop);
  return rc;
}
