/* test_oom_runtime.c - the runtime's configuration readers when an allocation fails
 * (failalloc.h): the YAML-to-JSON reader, a workspace's config.yaml and a host file, each run
 * with its 1st, 2nd, ... allocation failing. Each ends in a clean error with a message or the
 * full answer, and frees everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failalloc.h"
#include "molecule.h"
#include "runtime/config.h"
#include "runtime/host.h"
#include "runtime/yaml_json.h"

/* The readers say what went wrong in a message: out of memory may read as MOL_EINVAL (jansson
 * and libyaml report a failed allocation as an unreadable document). */
static const int errs[] = {MOL_ENOMEM, MOL_EINVAL, 0};

static const char k_yaml[] =
    "name: Research\n"
    "description: \"a quoted: string\"\n"
    "tier: 2\n"
    "model: openai:gpt-4o\n"
    "a2a:\n"
    "  port: 8123\n"
    "  streaming: no\n"
    "skills: [search, summarise]\n"
    "prompt_files:\n"
    "  - a.md\n"
    "  - b.md\n"
    "runtime_config:\n"
    "  command: /bin/echo\n"
    "  args: [\"-n\", hi]\n"
    "  timeout: 30\n"
    "  required_env: [KEY]\n"
    "extra: {x: 1.5, y: ~, z: true}\n";

typedef struct {
  const char *text;
  json_t *want;
} yaml_case;

static int read_yaml(void *arg) {
  yaml_case *c = arg;
  char err[256] = "";
  json_t *v = mol_yaml_parse(c->text, strlen(c->text), err, sizeof(err));
  if (!v) {
    assert_true(err[0] != '\0'); /* never a silent NULL */
    return MOL_EINVAL;
  }
  assert_true(json_equal(v, c->want));
  json_decref(v);
  return 0;
}

/* The text as a file in a new temporary directory (dir gets its name). */
static void write_config(char *dir, char *path, size_t cap) {
  assert_non_null(mkdtemp(dir));
  snprintf(path, cap, "%s/config.yaml", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(k_yaml, f);
  fclose(f);
}

static int read_yaml_file(void *arg) {
  yaml_case *c = arg;
  char err[256] = "";
  json_t *v = mol_yaml_load_file(c->text, err, sizeof(err));
  if (!v) {
    assert_true(err[0] != '\0');
    return MOL_EINVAL;
  }
  assert_true(json_equal(v, c->want)); /* never what half the file says */
  json_decref(v);
  return 0;
}

static void yaml_reader(void **st) {
  (void)st;
  char err[256];
  yaml_case c = {k_yaml, mol_yaml_parse(k_yaml, strlen(k_yaml), err, sizeof(err))};
  assert_non_null(c.want);
  assert_true(failalloc_sweep("yaml", read_yaml, &c, errs) > 10);
  char dir[] = "/tmp/oom_runtime_XXXXXX", path[64];
  write_config(dir, path, sizeof(path));
  c.text = path;
  assert_true(failalloc_sweep("yaml file", read_yaml_file, &c, errs) > 10);
  unlink(path);
  rmdir(dir);
  json_decref(c.want);
}

static int agent_config(void *arg) {
  json_t *doc = arg;
  mol_agent_config cfg;
  char err[256] = "";
  int rc = mol_agent_config_from_json(doc, NULL, &cfg, err, sizeof(err));
  if (rc && !failalloc_fired()) fail_msg("config refused: %s", err);
  if (rc) {
    assert_true(err[0] != '\0');
    return rc;
  }
  assert_string_equal(cfg.name, "Research");
  assert_string_equal(cfg.description, "a quoted: string");
  assert_int_equal(cfg.tier, 2);
  assert_int_equal(cfg.a2a_port, 8123);
  assert_int_equal(cfg.a2a_streaming, 0);
  assert_int_equal(json_array_size(cfg.skills), 2);
  assert_int_equal(json_array_size(cfg.prompt_files), 2);
  assert_string_equal(json_string_value(json_object_get(cfg.runtime_config, "command")),
                      "/bin/echo");
  assert_int_equal(json_array_size(json_object_get(cfg.runtime_config, "args")), 2);
  mol_agent_config_free(&cfg);
  return 0;
}

static void workspace_config(void **st) {
  (void)st;
  unsetenv("MODEL_PROVIDER");
  char err[256];
  json_t *doc = mol_yaml_parse(k_yaml, strlen(k_yaml), err, sizeof(err));
  assert_non_null(doc);
  assert_true(failalloc_sweep("config.yaml", agent_config, doc, errs) > 5);
  json_decref(doc);
}

/* The second agent's workspace is read from its config_dir: a config.yaml written for it. */
static const char k_host_fmt[] =
    "{\"listen\":\"[::1]:9001\",\"log\":\"json\",\"public_url\":\"https://h.test/x//\","
    "\"grace_seconds\":3,"
    "\"agents\":[{\"name\":\"a\",\"snapshot_path\":\"s.json\",\"delay_ms\":25,\"task_mode\":true,"
    "\"capabilities\":{\"session\":true,\"retry\":true}},"
    "{\"name\":\"b\",\"config_dir\":\"%s\",\"grace_seconds\":0}]}";

static int host_config(void *arg) {
  json_t *doc = arg;
  mol_host_config cfg;
  char err[256] = "";
  int rc = mol_host_config_from_json(doc, "/base", &cfg, err, sizeof(err));
  if (rc && !failalloc_fired()) fail_msg("host file refused: %s", err);
  if (rc) {
    assert_true(err[0] != '\0');
    return rc;
  }
  assert_string_equal(cfg.listen_host, "::1");
  assert_int_equal(cfg.listen_port, 9001);
  assert_int_equal(cfg.log_json, 1);
  assert_string_equal(cfg.public_base, "https://h.test/x");
  assert_int_equal(cfg.n_agents, 2);
  mol_host_config_free(&cfg);
  return 0;
}

static void host_file(void **st) {
  (void)st;
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  char dir[] = "/tmp/oom_runtime_XXXXXX", path[64], text[1024];
  write_config(dir, path, sizeof(path));
  snprintf(text, sizeof(text), k_host_fmt, dir);
  json_t *doc = json_loads(text, 0, NULL);
  assert_non_null(doc);
  unsigned n = failalloc_sweep("host file", host_config, doc, errs);
  json_decref(doc);
  unlink(path);
  rmdir(dir);
  assert_true(n > 5);
}

int main(void) {
  failalloc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(yaml_reader),
      cmocka_unit_test(workspace_config),
      cmocka_unit_test(host_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
