#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "molecule.h"
#include "runtime/config.h"
#include "runtime/yaml_json.h"

static json_t *yaml(const char *text) {
  char err[128];
  json_t *v = mol_yaml_parse(text, strlen(text), err, sizeof(err));
  if (!v) fail_msg("yaml: %s", err);
  return v;
}

static void scalars_like_safe_load(void **state) {
  (void)state;
  json_t *v = yaml("a: 1\nb: -2\nc: 1.5\nd: yes\ne: off\nf: ~\ng: '3'\nh: \"true\"\ni: hello world\n"
                   "j: [1, two]\nk: {x: y}\n");
  assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
  assert_int_equal(json_integer_value(json_object_get(v, "b")), -2);
  assert_true(json_is_real(json_object_get(v, "c")));
  assert_true(json_is_true(json_object_get(v, "d")));
  assert_true(json_is_false(json_object_get(v, "e")));
  assert_true(json_is_null(json_object_get(v, "f")));
  assert_string_equal(json_string_value(json_object_get(v, "g")), "3");
  assert_string_equal(json_string_value(json_object_get(v, "h")), "true");
  assert_string_equal(json_string_value(json_object_get(v, "i")), "hello world");
  assert_int_equal(json_array_size(json_object_get(v, "j")), 2);
  assert_string_equal(json_string_value(json_object_get(json_object_get(v, "k"), "x")), "y");
  json_decref(v);
}

static void bad_yaml_is_explained(void **state) {
  (void)state;
  char err[128];
  assert_null(mol_yaml_parse("a: [1, 2\nb: 3\n", 14, err, sizeof(err)));
  assert_non_null(strstr(err, "line"));
  assert_null(mol_yaml_parse("a: &x [1]\nb: *x\n", 16, err, sizeof(err)));
  assert_non_null(strstr(err, "not supported"));
  json_t *empty = mol_yaml_parse("", 0, err, sizeof(err));
  assert_true(json_is_object(empty) && json_object_size(empty) == 0);
  json_decref(empty);
}

static void upstream_defaults(void **state) {
  (void)state;
  unsetenv("MODEL_PROVIDER");
  json_t *doc = yaml("name: Coordinator\ntier: abc\nruntime_config: {command: run, models: [x]}\n");
  mol_agent_config c;
  char err[128];
  assert_int_equal(mol_agent_config_from_json(doc, NULL, &c, err, sizeof(err)), 0);
  assert_string_equal(c.name, "Coordinator");
  assert_string_equal(c.version, "1.0.0");
  assert_int_equal(c.tier, 1); /* not a digit string */
  assert_string_equal(c.model, "anthropic:claude-opus-4-7");
  assert_string_equal(c.runtime, "langgraph");
  assert_int_equal(c.a2a_port, 8000);
  assert_true(c.a2a_streaming);
  assert_int_equal(c.idle_interval_seconds, 600);
  assert_string_equal(json_string_value(json_object_get(c.runtime_config, "command")), "run");
  assert_null(json_object_get(c.runtime_config, "models")); /* dropped, as upstream */
  mol_agent_config_free(&c);
  json_decref(doc);
}

static void env_model_and_prompt_files(void **state) {
  (void)state;
  char dir[] = "/tmp/mol-cfg-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/config.yaml", dir);
  FILE *f = fopen(path, "w");
  fputs("tier: '3'\nmodel: m1\ninitial_prompt_file: init.md\nidle_prompt: '  inline  '\n"
        "idle_prompt_file: idle.md\na2a: {port: 9001, streaming: false}\n", f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/init.md", dir);
  f = fopen(path, "w");
  fputs("\n  Start here.\n\n", f);
  fclose(f);
  setenv("MODEL_PROVIDER", "openai:gpt", 1);
  mol_agent_config c;
  char err[128];
  assert_int_equal(mol_agent_config_load(dir, &c, err, sizeof(err)), 0);
  assert_int_equal(c.tier, 3);
  assert_string_equal(c.model, "openai:gpt");
  assert_string_equal(c.initial_prompt, "Start here.");
  assert_string_equal(c.idle_prompt, "inline"); /* inline wins over the file */
  assert_int_equal(c.a2a_port, 9001);
  assert_false(c.a2a_streaming);
  mol_agent_config_free(&c);
  unsetenv("MODEL_PROVIDER");
  unlink(path);
  snprintf(path, sizeof(path), "%s/config.yaml", dir);
  unlink(path);
  assert_int_equal(mol_agent_config_load(dir, &c, err, sizeof(err)), MOL_EINVAL);
  assert_non_null(strstr(err, "config.yaml"));
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(scalars_like_safe_load),
    cmocka_unit_test(bad_yaml_is_explained),
    cmocka_unit_test(upstream_defaults),
    cmocka_unit_test(env_model_and_prompt_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
