/* test_runtime_prompt.c - the system prompt from a config dir: the worked example (a config
 * dir with prompt files, MEMORY.md, a skill, a workspace plugin shadowing a shared one, platform
 * instructions, parent context, peers and a child) gives test/data/prompt_worked_example.txt
 * byte for byte; and the loaders' rules one by one (plugin precedence and file filters, skill
 * front matter, runtime filter, a "---" inside a front-matter value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config_dir.h"
#include "runtime/plugins.h"
#include "runtime/prompt.h"
#include "runtime/skills.h"

static char root[64];

static void put(const char *rel, const char *content) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static void worked_example_dir(void) {
  put("configs/config.yaml", "name: Researcher\nrole: research\nruntime: langgraph\ntier: 2\n"
      "prompt_files: [system-prompt.md, style.md]\nskills: [summarize]\n");
  put("configs/system-prompt.md", "You are Researcher, a careful research agent.\n");
  put("configs/style.md", "\nAlways answer in plain English.\n\n");
  put("configs/MEMORY.md", "# Memory\n- The user prefers short answers.\n");
  put("configs/skills/summarize/SKILL.md",
      "---\nname: Summarize\ndescription: Summarise long documents.\ntags: [text]\n"
      "runtime: [\"*\"]\n---\n\n# Summarize\n\nRead the input and produce five bullet points.\n");
  put("configs/plugins/house-rules/plugin.yaml", "name: house-rules\nversion: 1.0.0\n");
  put("configs/plugins/house-rules/rules/01-git.md", "Never push to main.\n");
  put("configs/plugins/house-rules/GUIDE.md", "Cite sources for every claim.\n");
  put("configs/plugins/house-rules/README.md", "readme text is skipped\n");
  put("shared/house-rules/GUIDE.md", "shadowed copy\n");
  put("shared/extra/rules/audit.md", "Log every tool call.\n");
}

static const char peers_json[] =
    "[{\"id\":\"22222222-2222-2222-2222-222222222222\",\"name\":\"writer\",\"status\":\"online\","
    "\"parent_id\":null,\"agent_card\":{\"name\":\"Writer\",\"skills\":[{\"id\":\"draft\","
    "\"name\":\"Drafting\"},{\"id\":\"edit\"}]}},"
    "{\"id\":\"33333333-3333-3333-3333-333333333333\",\"name\":\"analyst\",\"role\":null,"
    "\"status\":\"offline\",\"parent_id\":\"11111111-1111-1111-1111-111111111111\","
    "\"agent_card\":{\"name\":\"Analyst\",\"skills\":[]}},"
    "{\"id\":\"44444444-4444-4444-4444-444444444444\",\"name\":\"no-card\",\"status\":\"online\","
    "\"parent_id\":null,\"agent_card\":null}]";

static void test_worked_example_byte_for_byte(void **state) {
  (void)state;
  worked_example_dir();
  char dir[128], shared[128], warn[256];
  snprintf(dir, sizeof(dir), "%s/configs", root);
  snprintf(shared, sizeof(shared), "%s/shared", root);

  const char *files[] = {"system-prompt.md", "style.md"};
  mol_config_texts texts;
  assert_int_equal(mol_config_texts_read(dir, files, 2, &texts, warn, sizeof(warn)), 0);
  assert_int_equal(texts.n, 3);

  char plugdir[160];
  snprintf(plugdir, sizeof(plugdir), "%s/plugins", dir);
  mol_plugins plugins;
  assert_int_equal(mol_plugins_scan(plugdir, shared, &plugins), 0);
  assert_int_equal(plugins.n_names, 2);
  assert_string_equal(plugins.names[0], "house-rules");
  assert_string_equal(plugins.names[1], "extra");

  char skilldir[160];
  snprintf(skilldir, sizeof(skilldir), "%s/skills", dir);
  mol_skill_md skill;
  assert_int_equal(mol_skill_md_load(skilldir, "summarize", "langgraph", &skill, warn, sizeof(warn)),
                   MOL_SKILL_LOADED);
  mol_prompt_skill ps = {skill.name, skill.description, skill.body};

  json_t *peers = json_loads(peers_json, 0, NULL);
  json_t *children = json_array();
  json_array_append(children, json_array_get(peers, 1)); /* the analyst: its parent is us */
  json_t *parent = json_loads("[{\"path\":\"brief.md\",\"content\":\"Project Alpha brief.\\n\"},"
                              "{\"path\":\"empty.md\",\"content\":\"  \"}]", 0, NULL);
  mol_prompt_in in = {
      .instructions = "\n## Platform-Wide Rules\n\n### Be kind\nBe polite to users.\n\n",
      .texts = (const char *const *)texts.texts, .n_texts = texts.n,
      .parent_context = parent,
      .rules = (const char *const *)plugins.rules, .n_rules = plugins.n_rules,
      .fragments = (const char *const *)plugins.fragments, .n_fragments = plugins.n_fragments,
      .skills = &ps, .n_skills = 1,
      .peers = peers, .children = children,
  };
  char *prompt = mol_prompt_build(&in);
  char *want = slurp(MOL_SOURCE_ROOT "/test/data/prompt_worked_example.txt");
  if (strcmp(prompt, want) != 0) {
    size_t i = 0;
    while (prompt[i] && prompt[i] == want[i]) i++;
    fail_msg("differs at byte %zu:\n--- got\n%.200s\n--- want\n%.200s", i, prompt + i, want + i);
  }
  free(want);
  free(prompt);

  /* The delegation tool the agent is offered is the one the prompt names. */
  in.delegate_tool = "delegate_task";
  prompt = mol_prompt_build(&in);
  assert_non_null(strstr(prompt, "Use the `delegate_task` tool to send tasks to peers."));
  assert_non_null(strstr(prompt, "2. For EVERY task, use `delegate_task` to send"));
  assert_null(strstr(prompt, "delegate_to_workspace"));
  free(prompt);

  json_decref(parent);
  json_decref(children);
  json_decref(peers);
  mol_skill_md_free(&skill);
  mol_plugins_free(&plugins);
  mol_config_texts_free(&texts);
}

static void test_minimal_prompt_is_the_failure_block(void **state) {
  (void)state;
  mol_prompt_in in = {0};
  char *prompt = mol_prompt_build(&in);
  assert_string_equal(prompt, "\n## Handling delegation failures\nIf a delegation fails:\n"
                      "1. Check if the task is blocking \xe2\x80\x94 if not, continue other work\n"
                      "2. Retry transient failures (connection errors) after 30 seconds\n"
                      "3. For persistent failures, report to the caller with context\n"
                      "4. Never silently drop a failed task\n");
  free(prompt);
}

static void test_skill_front_matter_rules(void **state) {
  (void)state;
  char dir[128], warn[256];
  snprintf(dir, sizeof(dir), "%s/sk", root);
  mol_skill_md s;
  /* a "---" inside a value does not end the front matter */
  put("sk/dash/SKILL.md", "---\nname: Dash\ndescription: \"a --- b\"\n---\nBody.\n");
  assert_int_equal(mol_skill_md_load(dir, "dash", NULL, &s, warn, sizeof(warn)), MOL_SKILL_LOADED);
  assert_string_equal(s.description, "a --- b");
  assert_string_equal(s.body, "Body.");
  mol_skill_md_free(&s);
  /* no front matter: all body, the id as name */
  put("sk/plain/SKILL.md", "\nJust do it.\n");
  assert_int_equal(mol_skill_md_load(dir, "plain", NULL, &s, warn, sizeof(warn)), MOL_SKILL_LOADED);
  assert_string_equal(s.name, "plain");
  assert_string_equal(s.body, "Just do it.");
  mol_skill_md_free(&s);
  /* another runtime's skill is skipped; a string runtime works like a one-element list */
  put("sk/other/SKILL.md", "---\nruntime: claude-code\n---\nx\n");
  assert_int_equal(mol_skill_md_load(dir, "other", "hermes", &s, warn, sizeof(warn)), MOL_SKILL_SKIPPED);
  assert_non_null(strstr(warn, "not for runtime hermes"));
  assert_int_equal(mol_skill_md_load(dir, "other", "claude-code", &s, warn, sizeof(warn)),
                   MOL_SKILL_LOADED);
  mol_skill_md_free(&s);
  /* bad YAML: loaded without metadata, with a warning */
  put("sk/bad/SKILL.md", "---\nname: [unclosed\n---\nStill here.\n");
  assert_int_equal(mol_skill_md_load(dir, "bad", NULL, &s, warn, sizeof(warn)), MOL_SKILL_LOADED);
  assert_string_equal(s.name, "bad");
  assert_string_equal(s.body, "Still here.");
  assert_non_null(strstr(warn, "front matter"));
  mol_skill_md_free(&s);
  /* missing file and ids that would leave the skills dir */
  assert_int_equal(mol_skill_md_load(dir, "absent", NULL, &s, warn, sizeof(warn)), MOL_SKILL_SKIPPED);
  assert_non_null(strstr(warn, "absent"));
  assert_int_equal(mol_skill_md_load(dir, "../sk/plain", NULL, &s, warn, sizeof(warn)),
                   MOL_SKILL_SKIPPED);
}

static void test_plugin_precedence_and_filters(void **state) {
  (void)state;
  char a[128], b[128];
  snprintf(a, sizeof(a), "%s/pa", root);
  snprintf(b, sizeof(b), "%s/pb", root);
  put("pa/zeta/rules/b.md", "rule zb\n");
  put("pa/zeta/rules/a.md", "rule za\n");
  put("pa/zeta/rules/empty.md", "  \n");
  put("pa/zeta/rules/notes.txt", "not markdown\n");
  put("pa/alpha/CHANGELOG.md", "skipped\n");
  put("pa/alpha/License.md", "skipped\n");
  put("pa/alpha/CONTRIBUTING.md", "skipped\n");
  put("pa/alpha/tips.md", "tip alpha\n");
  put("pa/alpha/skills/s1/SKILL.md", "x\n");
  put("pa/plain-file", "not a plugin\n");
  put("pb/alpha/tips.md", "shadowed\n");
  put("pb/beta/rules/r.md", "rule beta\n");
  mol_plugins p;
  assert_int_equal(mol_plugins_scan(a, b, &p), 0);
  assert_int_equal(p.n_names, 3);
  assert_string_equal(p.names[0], "alpha");
  assert_string_equal(p.names[1], "zeta");
  assert_string_equal(p.names[2], "beta");
  assert_int_equal(p.n_rules, 3);
  assert_string_equal(p.rules[0], "rule za");
  assert_string_equal(p.rules[1], "rule zb");
  assert_string_equal(p.rules[2], "rule beta");
  assert_int_equal(p.n_fragments, 1);
  assert_string_equal(p.fragments[0], "tip alpha");
  assert_int_equal(p.n_skill_dirs, 1);
  mol_plugins_free(&p);
  assert_int_equal(mol_plugins_scan(NULL, "/nonexistent", &p), 0);
  assert_int_equal(p.n_names, 0);
}

static void test_config_texts(void **state) {
  (void)state;
  char dir[128], warn[256];
  snprintf(dir, sizeof(dir), "%s/ct", root);
  put("ct/system-prompt.md", "Default prompt.\n");
  put("ct/USER.md", "User notes.\n");
  mol_config_texts t;
  assert_int_equal(mol_config_texts_read(dir, NULL, 0, &t, warn, sizeof(warn)), 0);
  assert_int_equal(t.n, 2);
  assert_string_equal(t.texts[0], "Default prompt.");
  assert_string_equal(t.texts[1], "User notes.");
  mol_config_texts_free(&t);
  const char *files[] = {"USER.md", "missing.md", "../escape.md"};
  assert_int_equal(mol_config_texts_read(dir, files, 3, &t, warn, sizeof(warn)), 0);
  assert_int_equal(t.n, 1); /* USER.md once, not again as the memory file */
  assert_non_null(strstr(warn, "escape.md"));
  mol_config_texts_free(&t);
}

int main(void) {
  snprintf(root, sizeof(root), "/tmp/molprompt-XXXXXX");
  if (!mkdtemp(root)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worked_example_byte_for_byte),
      cmocka_unit_test(test_minimal_prompt_is_the_failure_block),
      cmocka_unit_test(test_skill_front_matter_rules),
      cmocka_unit_test(test_plugin_precedence_and_filters),
      cmocka_unit_test(test_config_texts),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
  if (system(cmd) != 0) return 1;
  return rc;
}
