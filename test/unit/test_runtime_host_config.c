/* test_runtime_host_config.c - the host file's checks (docs/host.md), field by field: every
 * wrong value is refused with the message that names its path (agents[1].executor ...), and
 * nothing is half-loaded; the defaults and the shorthands a valid file may use. Pure: parsed
 * documents in, configs out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/host.h"

/* Loads doc (JSON text); returns the error message, "" when it loaded (into *cfg, or freed). */
static const char *load(const char *doc, mol_host_config *cfg) {
  static char err[400];
  mol_host_config scratch;
  json_error_t je;
  json_t *j = json_loads(doc, JSON_DECODE_ANY, &je);
  if (!j) fail_msg("test document does not parse: %s: %s", je.text, doc);
  err[0] = '\0';
  int rc = mol_host_config_from_json(j, "/base", cfg ? cfg : &scratch, err, sizeof err);
  json_decref(j);
  if (rc == 0) {
    assert_string_equal(err, "");
    if (!cfg) mol_host_config_free(&scratch);
    return "";
  }
  assert_int_equal(rc, MOL_EINVAL);
  assert_true(err[0] != '\0');
  return err;
}

#define ONE(fields) "{\"agents\":[{\"name\":\"a\"" fields "}]}"

static const struct {
  const char *doc, *msg;
} REFUSED[] = {
    {"[]", "host file: must be a mapping"},
    {"{}", "agents: must be a list with at least one agent"},
    {"{\"agents\":[]}", "agents: must be a list with at least one agent"},
    {"{\"agents\":{\"a\":1}}", "agents: must be a list with at least one agent"},
    {"{\"agents\":[7]}", "agents[0]: must be a mapping"},
    {"{\"listn\":\"x\",\"agents\":[{}]}", "host file: unknown field 'listn'"},
    {"{\"listen\":8000,\"agents\":[{}]}", "host file.listen: must be a string"},
    {"{\"listen\":\"nohost\",\"agents\":[{}]}", "listen: 'nohost' is not HOST:PORT"},
    {"{\"listen\":\"h:\",\"agents\":[{}]}", "listen: 'h:' is not HOST:PORT"},
    {"{\"listen\":\"h:70000\",\"agents\":[{}]}", "listen: 'h:70000' is not HOST:PORT"},
    {"{\"listen\":\"h:80x\",\"agents\":[{}]}", "listen: 'h:80x' is not HOST:PORT"},
    {"{\"grace_seconds\":-1,\"agents\":[{}]}",
     "host file.grace_seconds: must be an integer from 0 to 3600"},
    {"{\"grace_seconds\":1.5,\"agents\":[{}]}",
     "host file.grace_seconds: must be an integer from 0 to 3600"},
    {"{\"log\":7,\"agents\":[{}]}", "log: must be a mapping {format, level}"},
    {"{\"log\":\"xml\",\"agents\":[{}]}", "log.format: 'xml' is not plain or json"},
    {"{\"log\":{\"format\":\"json\",\"colour\":1},\"agents\":[{}]}", "log: unknown field 'colour'"},
    {"{\"log\":{\"level\":\"loud\"},\"agents\":[{}]}",
     "log.level: 'loud' is not trace, debug, info, warn, error or off"},
    {ONE(",\"nmae\":\"b\""), "agents[0]: unknown field 'nmae'"},
    {ONE(",\"executor\":\"magic\""),
     "agents[0].executor: unknown executor 'magic' (echo, chat, hermes or command)"},
    {ONE(",\"executor\":[\"echo\"]"), "agents[0].executor: must be a string"},
    {"{\"agents\":[{\"name\":\"a b\"}]}", "agents[0].name: 'a b' may only use letters, digits, '-' and '_'"},
    {"{\"agents\":[{\"name\":\"\"}]}", "agents[0].name: 1 to 64 characters"},
    {"{\"agents\":[{\"name\":\"x\"},{\"name\":\"x\"}]}", "agents[1].name: 'x' is already used by agents[0]"},
    {ONE(",\"public_url\":\"http://a.test/x\""),
     "agents[0].public_url: must end in '/' (A2A clients resolve the card from it)"},
    {ONE(",\"delay_ms\":3600001"), "agents[0].delay_ms: must be an integer from 0 to 3600000"},
    {ONE(",\"task_mode\":\"yes\""), "agents[0].task_mode: must be true or false"},
    {ONE(",\"heartbeat_seconds\":0"), "agents[0].heartbeat_seconds: must be at least 1"},
    {ONE(",\"hermes_plugin_port\":65536"),
     "agents[0].hermes_plugin_port: must be an integer from 0 to 65535"},
    {ONE(",\"capabilities\":[\"session\"]"), "agents[0].capabilities: must be a mapping of flags"},
    {ONE(",\"capabilities\":{\"teleport\":true}"), "agents[0].capabilities: unknown field 'teleport'"},
    {ONE(",\"capabilities\":{\"session\":1}"), "agents[0].capabilities.session: must be true or false"},
    {ONE(",\"handler\":\"cat\""), "agents[0].handler: only for executor: command"},
    {ONE(",\"max_handlers\":2"), "agents[0].max_handlers: only for executor: command"},
    {ONE(",\"executor\":\"command\""), "agents[0].handler: required with executor: command"},
    {ONE(",\"executor\":\"command\",\"handler\":\"cat\",\"max_queued\":-3"),
     "agents[0].max_queued: must be an integer from 0 to 1000000"},
    {"{\"platform_url\":\"http://p.test\",\"agents\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
     "agents[0].workspace_id: required with a platform_url"},
    {ONE(",\"executor\":\"chat\",\"tools\":\"run_code\""),
     "agents[0].tools: must be a list of tool names"},
    {ONE(",\"executor\":\"chat\",\"tools\":[\"run_code\",null]"),
     "agents[0].tools: must be a list of tool names"},
    {ONE(",\"executor\":\"chat\",\"tools\":[\"commit_memory\",\"Run_Code\"]"),
     "agents[0].tools: unknown tool 'Run_Code' (the core tools: delegate_to_workspace, "
     "check_delegation_status, request_approval, commit_memory, search_memory, run_code)"},
};

static void every_wrong_field_is_named(void **state) {
  (void)state;
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  for (size_t i = 0; i < sizeof REFUSED / sizeof *REFUSED; i++) {
    const char *got = load(REFUSED[i].doc, NULL);
    if (strcmp(got, REFUSED[i].msg) != 0)
      fail_msg("%s\n  want: %s\n  got:  %s", REFUSED[i].doc, REFUSED[i].msg, got);
  }
  /* one agent and a platform: WORKSPACE_ID is the other way to name it, and the message says so */
  assert_string_equal(load("{\"platform_url\":\"http://p.test\",\"agents\":[{\"name\":\"a\"}]}", NULL),
                      "agents[0].workspace_id: required with a platform_url (or set WORKSPACE_ID)");
}

static void defaults_and_shorthands(void **state) {
  (void)state;
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  mol_host_config c;
  assert_string_equal(load("{\"agents\":[{\"name\":\"solo\"}]}", &c), "");
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 8000);
  assert_null(c.platform_url);
  assert_null(c.public_base);
  assert_int_equal(c.grace_ms, 10000);
  assert_int_equal(c.log_json, 0);
  assert_null(c.log_level);
  assert_int_equal(c.n_agents, 1);
  assert_int_equal(c.agents[0].opts.exec, MOL_AGENT_EXEC_ECHO);
  assert_int_equal(c.agents[0].opts.heartbeat_ms, 30000);
  assert_int_equal(c.agents[0].opts.grace_ms, 10000); /* the host's, for every agent */
  mol_host_config_free(&c);
  /* IPv6 in brackets, the shorthand log, public URL without its trailing slashes, a relative
   * snapshot path under the file's directory, grace 0 meaning "cancel at once" */
  assert_string_equal(load("{\"listen\":\"[::1]:9001\",\"log\":\"json\",\"public_url\":\"https://h.test/x//\","
                           "\"agents\":[{\"name\":\"a\",\"snapshot_path\":\"s.json\",\"grace_seconds\":0,"
                           "\"delay_ms\":25,\"task_mode\":true,\"capabilities\":{\"session\":true,\"retry\":true}}]}",
                           &c),
                      "");
  assert_string_equal(c.listen_host, "::1");
  assert_int_equal(c.listen_port, 9001);
  assert_int_equal(c.log_json, 1);
  assert_string_equal(c.public_base, "https://h.test/x");
  assert_string_equal(c.agents[0].snapshot_path, "/base/s.json");
  assert_int_equal(c.agents[0].opts.grace_ms, 1);
  assert_int_equal(c.agents[0].opts.echo.delay_ms, 25);
  assert_true(c.agents[0].opts.echo.task_mode);
  assert_true(c.agents[0].opts.caps.session && c.agents[0].opts.caps.retry);
  assert_false(c.agents[0].opts.caps.heartbeat);
  mol_host_config_free(&c);
  /* a port alone listens on loopback; log as a mapping; the command executor's numbers */
  assert_string_equal(load("{\"listen\":\":9002\",\"log\":{\"format\":\"plain\",\"level\":\"warn\"},"
                           "\"agents\":[{\"name\":\"cmd\",\"executor\":\"command\",\"handler\":\"cat\","
                           "\"handler_timeout_seconds\":5,\"max_handlers\":3,\"max_queued\":7,"
                           "\"max_output_bytes\":4096}]}",
                           &c),
                      "");
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 9002);
  assert_string_equal(c.log_level, "warn");
  const mol_command_opts *co = &c.agents[0].opts.command;
  assert_string_equal(co->handler, "cat");
  assert_int_equal(co->timeout_ms, 5000);
  assert_int_equal(co->max_running, 3);
  assert_int_equal(co->max_queued, 7);
  assert_int_equal(co->max_output, 4096);
  mol_host_config_free(&c);
}

/* tools: a chat agent's list becomes opts.chat_tools, comma-separated in the list's order; []
 * offers none (""); absent leaves the default (NULL); other executors ignore it unchecked. */
static void tools_lists(void **state) {
  (void)state;
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  mol_host_config c;
  assert_string_equal(load("{\"agents\":[{\"name\":\"a\",\"executor\":\"chat\",\"tools\":"
                           "[\"run_code\",\"commit_memory\"]},{\"name\":\"b\",\"executor\":\"chat\","
                           "\"tools\":[]},{\"name\":\"c\",\"executor\":\"chat\"},{\"name\":\"d\","
                           "\"tools\":[\"web_search\"]}]}",
                           &c),
                      "");
  assert_string_equal(c.agents[0].opts.chat_tools, "run_code,commit_memory");
  assert_string_equal(c.agents[1].opts.chat_tools, "");
  assert_null(c.agents[2].opts.chat_tools);
  assert_null(c.agents[3].opts.chat_tools);
  mol_host_config_free(&c);
}

/* PLATFORM_URL and, for a single agent, WORKSPACE_ID come from the environment; the file wins. */
static void environment_fills_the_gaps(void **state) {
  (void)state;
  mol_host_config c;
  setenv("PLATFORM_URL", "http://env.test", 1);
  setenv("WORKSPACE_ID", "0f9e8d7c-1111-4222-8333-444455556666", 1);
  assert_string_equal(load("{\"agents\":[{\"name\":\"a\"}]}", &c), "");
  assert_string_equal(c.platform_url, "http://env.test");
  assert_string_equal(c.agents[0].workspace_id, "0f9e8d7c-1111-4222-8333-444455556666");
  assert_string_equal(c.agents[0].opts.platform_url, "http://env.test");
  mol_host_config_free(&c);
  assert_string_equal(load("{\"platform_url\":\"http://file.test\",\"agents\":[{\"name\":\"a\","
                           "\"workspace_id\":\"w-1\"}]}",
                           &c),
                      "");
  assert_string_equal(c.platform_url, "http://file.test");
  assert_string_equal(c.agents[0].workspace_id, "w-1");
  mol_host_config_free(&c);
  /* two agents: WORKSPACE_ID cannot say which, so each needs its own */
  assert_string_equal(load("{\"agents\":[{\"name\":\"a\"},{\"name\":\"b\",\"workspace_id\":\"w\"}]}", NULL),
                      "agents[0].workspace_id: required with a platform_url");
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
}

/* The fields of an agent looking after itself (docs/runtime.md, "Agents that look after
 * themselves"): refused when wrong, and where they land when right. */
static void self_care_fields(void **state) {
  (void)state;
  static const struct {
    const char *doc, *msg;
  } refused[] = {
      {ONE(",\"executor\":\"hermes\",\"hermes_fallback\":\"maybe\""),
       "agents[0].hermes_fallback: 'chat' or 'none', not 'maybe'"},
      {ONE(",\"hermes_fallback\":\"chat\""), "agents[0].hermes_fallback: only for executor: hermes"},
      {ONE(",\"idle_prompt\":\"tick\",\"idle_interval_seconds\":0"),
       "agents[0].idle_interval_seconds: must be at least 1"},
      {ONE(",\"gateway_ready_budget_seconds\":-1"),
       "agents[0].gateway_ready_budget_seconds: must be an integer from 0 to 86400"},
      {ONE(",\"wedge_after_failures\":\"3\""),
       "agents[0].wedge_after_failures: must be an integer from 0 to 1000000"},
      {ONE(",\"data_dir\":7"), "agents[0].data_dir: must be a string"},
  };
  unsetenv("PLATFORM_URL");
  unsetenv("WORKSPACE_ID");
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    const char *got = load(refused[i].doc, NULL);
    if (strcmp(got, refused[i].msg) != 0)
      fail_msg("%s\n  want: %s\n  got:  %s", refused[i].doc, refused[i].msg, got);
  }
  mol_host_config c;
  assert_string_equal(load(ONE(",\"executor\":\"hermes\",\"hermes_fallback\":\"chat\","
                               "\"data_dir\":\"state\",\"initial_prompt\":\"  hello  \","
                               "\"idle_prompt\":\"tick\",\"idle_interval_seconds\":30,"
                               "\"gateway_ready_budget_seconds\":7,\"wedge_after_failures\":2"),
                           &c),
                      "");
  const mol_agent_opts *o = &c.agents[0].opts;
  assert_string_equal(o->state_dir, "/base/state");
  assert_string_equal(o->initial_prompt, "hello"); /* stripped, as upstream */
  assert_string_equal(o->idle_prompt, "tick");
  assert_int_equal(o->idle_interval_s, 30);
  assert_int_equal(o->gateway_budget_s, 7);
  assert_int_equal(o->wedge_after, 2);
  assert_int_equal(o->hermes_fallback, 1);
  mol_host_config_free(&c);
  /* none of them: no state dir, no prompts, the defaults (0) left to the agent */
  assert_string_equal(load(ONE(",\"executor\":\"hermes\",\"hermes_fallback\":\"none\""), &c), "");
  o = &c.agents[0].opts;
  assert_null(o->state_dir);
  assert_null(o->initial_prompt);
  assert_null(o->idle_prompt);
  assert_int_equal(o->gateway_budget_s, 0);
  assert_int_equal(o->hermes_fallback, -1);
  mol_host_config_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_wrong_field_is_named),
      cmocka_unit_test(defaults_and_shorthands),
      cmocka_unit_test(self_care_fields),
      cmocka_unit_test(environment_fills_the_gaps),
      cmocka_unit_test(tools_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
