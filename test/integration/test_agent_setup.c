/* test_agent_setup.c - an agent's setup pipeline over real sockets: the worked example
 * config dir (test_runtime_prompt.c), a chat agent registered with the scripted fake platform
 * (which logs every request as sent) and a scripted model (which keeps every body it receives):
 *  - the system message the model receives is test/data/prompt_worked_example.txt byte for
 *    byte (the agent has a platform, so it is offered the core tools and the prompt names
 *    delegate_to_workspace, as upstream's does): platform instructions, parent
 *    context (the parent found from the workspace's own row), plugin rules and fragments (a
 *    shadowed shared copy ignored), the team, the skill, the peers;
 *  - every read of the platform's part carries the workspace's bearer (upstream sends none for
 *    peers, children and parent context, and so loses them in tokened workspaces);
 *  - the model is offered the six core tools and route_task_to_team (the coordinator's,
 *    last, as upstream orders them); the card lists the skill;
 *  - the config dir is read in the thread pool: mol_agent_start returns before it is, a dir
 *    that cannot be read ends the agent through on_end (once, never inside the call) with its
 *    error, and an agent stopped while its dir is read ends once the read is done, without
 *    ever mounting or calling the platform. */
#include "platform_testutil.h"

#include "chat_script.h"
#include "http/client.h"
#include "http/server.h"
#include "runtime/agent.h"

#define SELF "11111111-1111-1111-1111-111111111111"
#define PARENT "99999999-9999-9999-9999-999999999999"
#define TOKEN "tok-setup-0123456789"

static const char peers_json[] =
    "[{\"id\":\"22222222-2222-2222-2222-222222222222\",\"name\":\"writer\",\"status\":\"online\","
    "\"parent_id\":null,\"agent_card\":{\"name\":\"Writer\",\"skills\":[{\"id\":\"draft\","
    "\"name\":\"Drafting\"},{\"id\":\"edit\"}]}},"
    "{\"id\":\"33333333-3333-3333-3333-333333333333\",\"name\":\"analyst\",\"role\":null,"
    "\"status\":\"offline\",\"parent_id\":\"" SELF "\","
    "\"agent_card\":{\"name\":\"Analyst\",\"skills\":[]}},"
    "{\"id\":\"44444444-4444-4444-4444-444444444444\",\"name\":\"no-card\",\"status\":\"online\","
    "\"parent_id\":null,\"agent_card\":null}]";

typedef struct {
  uv_loop_t loop;
  fake f;
  char *dir;
  mol_http_server *http;
  mol_http_client *client;
  chat_script model;
  cs_scenario sc;
  mol_agent *agent;
  int ended, closed, prompt_built;
  mol_agent_end why;
  int err;
} fx;

static fx *F;

/* ---- the platform ------------------------------------------------------------------------- */

static void platform(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f, (void)arg;
  const char *p = r->path;
  *out = (fake_resp){.status = 200, .body = "{}"};
  if (strstr(p, "/registry/register")) out->body = "{\"status\":\"registered\"}";
  else if (strstr(p, "/registry/heartbeat")) out->body = "{\"status\":\"ok\"}";
  else if (!strcmp(p, "/workspaces/" SELF "/state"))
    out->body = "{\"status\":\"online\",\"paused\":false,\"deleted\":false}";
  else if (!strcmp(p, "/workspaces/" SELF "/instructions/resolve"))
    out->body = "{\"workspace_id\":\"" SELF "\",\"instructions\":\"\\n## Platform-Wide Rules\\n"
                "\\n### Be kind\\nBe polite to users.\\n\\n\"}";
  else if (!strcmp(p, "/workspaces/" SELF))
    out->body = "{\"id\":\"" SELF "\",\"name\":\"researcher\",\"parent_id\":\"" PARENT "\"}";
  else if (!strcmp(p, "/workspaces/" PARENT "/shared-context"))
    out->body = "[{\"path\":\"brief.md\",\"content\":\"Project Alpha brief.\\n\"},"
                "{\"path\":\"empty.md\",\"content\":\"  \"}]";
  else if (!strcmp(p, "/registry/" SELF "/peers"))
    out->body = peers_json;
  else
    *out = (fake_resp){.status = 404, .body = "{\"error\":\"not found\"}"};
}

static const fake_req *request_to(const char *path) {
  for (int i = 0; i < F->f.nlog; i++)
    if (!strcmp(F->f.log[i].path, path)) return &F->f.log[i];
  return NULL;
}

/* ---- fixture ---------------------------------------------------------------------------- */

static void sink(mol_log_level level, const char *line, void *arg) {
  (void)level, (void)arg;
  if (strstr(line, "researcher: system prompt built (platform)")) F->prompt_built = 1;
}

static void put(const char *rel, const char *content) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", F->dir, rel);
  for (char *s = path + strlen(F->dir) + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir(path, 0755);
      *s = '/';
    }
  write_file(path, content);
}

/* The worked example (the prompt test/data/prompt_worked_example.txt holds), as
 * test_runtime_prompt.c writes it. */
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
  put("tok/.auth_token", TOKEN);
  char tok[1024];
  snprintf(tok, sizeof tok, "%s/tok/.auth_token", F->dir);
  chmod(tok, 0600);
}

static const char answer[] =
    "{\"id\":\"a\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"fine\"},"
    "\"finish_reason\":\"stop\"}]}";
static const cs_step answer_step[] = {{.json = answer}};

static void count_closed(void *arg) {
  (void)arg;
  F->closed++;
}

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, platform, NULL);
  assert_int_equal(fake_listen(&F->f, 0), 0);
  F->dir = make_tmpdir();
  worked_example_dir();
  assert_int_equal(mol_http_server_new(g_loop, NULL, &F->http), 0);
  assert_int_equal(mol_http_server_listen(F->http, "127.0.0.1", 0), 0);
  assert_int_equal(mol_http_client_new(g_loop, NULL, &F->client), 0);
  F->sc = (cs_scenario){.name = "m", .steps = answer_step, .nsteps = 1};
  static cs_scenario *list[2];
  list[0] = &F->sc;
  list[1] = NULL;
  cs_start(&F->model, g_loop, list);
  mol_log_set_sink(sink, NULL);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  if (F->agent && !F->ended) {
    mol_agent_stop(F->agent);
    assert_true(run_until(g_loop, &F->ended, 5000));
  }
  mol_log_set_sink(NULL, NULL);
  cs_stop(&F->model);
  mol_http_server_close(F->http, 100, count_closed, NULL);
  mol_http_client_close(F->client, count_closed, NULL);
  while (F->closed < 2 || !F->model.closed) run_for(g_loop, 10);
  for (size_t i = 0; i < F->sc.seen && i < CS_MAX_REQUESTS; i++) free(F->sc.bodies[i]);
  pt_teardown(g_loop, &F->f, NULL, F->dir);
  free(F);
  return 0;
}

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  (void)a, (void)arg;
  F->ended++;
  F->why = why;
  F->err = err;
}

static void start_agent_in(const char *config_sub) {
  char base[64], api[64], configs[1024], tok[1024], shared[1024];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", F->f.port);
  snprintf(api, sizeof(api), "http://127.0.0.1:%d/m/v1", cs_port(&F->model));
  snprintf(configs, sizeof configs, "%s/%s", F->dir, config_sub);
  snprintf(tok, sizeof tok, "%s/tok", F->dir);
  snprintf(shared, sizeof shared, "%s/shared", F->dir);
  setenv("PLUGINS_DIR", shared, 1);
  mol_agent_opts ao = {.name = "researcher", .platform_url = base, .workspace_id = SELF,
                       .token_dir = tok, .exec = MOL_AGENT_EXEC_CHAT, .chat_api_base = api,
                       .chat_model = "m", .heartbeat_ms = 60000, .state_poll_ms = 60000,
                       .config_dir = configs};
  assert_int_equal(mol_agent_start(g_loop, F->http, F->client, &ao, on_agent_end, NULL,
                                   &F->agent), 0);
}

static void start_agent(void) { start_agent_in("configs"); }

typedef struct {
  int done, status;
  char *body;
} http_result;

static void http_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  http_result *t = arg;
  t->status = err ? err : resp->status;
  t->body = !err && resp->body ? strdup(resp->body) : NULL;
  t->done = 1;
}

static void http_send(const char *method, const char *path, const char *body, http_result *out) {
  static char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", mol_http_server_port(F->http), path);
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = body ? 1 : 0,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = 8000};
  memset(out, 0, sizeof(*out));
  assert_int_equal(mol_http_request_send(F->client, &o, http_done, out, NULL), 0);
  assert_true(run_until(g_loop, &out->done, 8000));
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

/* s with every `from` replaced by `to` (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to) {
  size_t fl = strlen(from), tl = strlen(to), n = 0;
  for (const char *p = s; (p = strstr(p, from)); p += fl) n++;
  char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = out;
  for (const char *p = s, *q; ; p = q + fl) {
    q = strstr(p, from);
    size_t k = q ? (size_t)(q - p) : strlen(p);
    memcpy(o, p, k);
    o += k;
    if (!q) break;
    memcpy(o, to, tl);
    o += tl;
  }
  *o = '\0';
  return out;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void worked_example_reaches_the_model(void **st) {
  (void)st;
  start_agent();
  assert_true(run_until(g_loop, &F->prompt_built, 8000));

  /* Every read of the platform's part, with the workspace's bearer. */
  const char *paths[] = {"/workspaces/" SELF "/instructions/resolve", "/workspaces/" SELF,
                         "/workspaces/" PARENT "/shared-context", "/registry/" SELF "/peers"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    const fake_req *r = request_to(paths[i]);
    if (!r) fail_msg("no request to %s", paths[i]);
    const char *auth = fake_header(r, "Authorization");
    if (!auth || strcmp(auth, "Bearer " TOKEN)) fail_msg("%s: Authorization %s", paths[i], auth);
  }

  http_result t;
  http_send("POST", "/agents/researcher/",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":"
            "{\"role\":\"user\",\"messageId\":\"m-1\",\"parts\":[{\"kind\":\"text\",\"text\":"
            "\"hello\"}]}}}",
            &t);
  assert_int_equal(t.status, 200);
  assert_non_null(strstr(t.body, "fine"));
  free(t.body);
  assert_int_equal(F->sc.seen, 1);
  json_t *req = json_loads(F->sc.bodies[0], 0, NULL);
  assert_non_null(req);
  json_t *sys = json_array_get(json_object_get(req, "messages"), 0);
  assert_string_equal(json_string_value(json_object_get(sys, "role")), "system");
  char path[1024];
  snprintf(path, sizeof path, "%s/test/data/prompt_worked_example.txt",
           getenv("MOL_SOURCE_ROOT"));
  char *golden = slurp(path);
  assert_string_equal(json_string_value(json_object_get(sys, "content")), golden);
  free(golden);
  /* The core tools, then the coordinator's route_task_to_team. */
  static const char *const offered[] = {"delegate_to_workspace", "check_delegation_status",
                                        "request_approval", "commit_memory", "search_memory",
                                        "run_code", "route_task_to_team"};
  json_t *tools = json_object_get(req, "tools");
  assert_int_equal(json_array_size(tools), sizeof offered / sizeof *offered);
  for (size_t i = 0; i < sizeof offered / sizeof *offered; i++) {
    json_t *tool = json_array_get(tools, i);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(tool, "function"), "name")),
        offered[i]);
  }
  json_decref(req);

  /* The card lists the config dir's skill. */
  http_send("GET", "/agents/researcher/.well-known/agent-card.json", NULL, &t);
  assert_int_equal(t.status, 200);
  json_t *card = json_loads(t.body, 0, NULL);
  free(t.body);
  json_t *skills = json_object_get(card, "skills");
  assert_int_equal(json_array_size(skills), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(skills, 0), "id")),
                      "summarize");
  assert_string_equal(json_string_value(json_object_get(json_array_get(skills, 0), "name")),
                      "Summarize");
  json_decref(card);
}

/* A config dir that cannot be read: the start returns 0 (the read is the thread pool's), then
 * the agent ends through on_end, once, as a failed start with the read's error; it never
 * mounted nor registered. */
static void unreadable_config_dir_ends_the_start(void **st) {
  (void)st;
  start_agent_in("no-such-dir");
  assert_int_equal(F->ended, 0); /* never inside the call */
  assert_true(run_until(g_loop, &F->ended, 5000));
  run_for(g_loop, 20);
  assert_int_equal(F->ended, 1);
  assert_int_equal(F->why, MOL_AGENT_FAILED);
  assert_true(F->err < 0);
  assert_int_equal(F->f.nlog, 0);
  http_result t;
  http_send("GET", "/agents/researcher/.well-known/agent-card.json", NULL, &t);
  assert_int_equal(t.status, 404);
  free(t.body);
}

/* Stopped in the same loop turn as its start: the read in flight is waited for, then the agent
 * ends stopped, once, without mounting or calling the platform. */
static void stop_while_the_dir_is_read(void **st) {
  (void)st;
  start_agent();
  mol_agent_stop(F->agent);
  assert_int_equal(F->ended, 0);
  assert_true(run_until(g_loop, &F->ended, 5000));
  run_for(g_loop, 20);
  assert_int_equal(F->ended, 1);
  assert_int_equal(F->why, MOL_AGENT_STOPPED);
  assert_int_equal(F->f.nlog, 0);
  http_result t;
  http_send("GET", "/agents/researcher/.well-known/agent-card.json", NULL, &t);
  assert_int_equal(t.status, 404);
  free(t.body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(worked_example_reaches_the_model, setup, teardown),
    cmocka_unit_test_setup_teardown(unreadable_config_dir_ends_the_start, setup, teardown),
    cmocka_unit_test_setup_teardown(stop_while_the_dir_is_read, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
