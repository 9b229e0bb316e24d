/* test_tools_platform.c - the built-in platform tools called through mol_tools_call against
 * the real embedded dev platform on loopback, with real effects checked: a memory committed is
 * found by search (its secret redacted); a delegation to a second workspace is answered by a
 * real A2A echo agent and its result read back (sync, async, the core non-blocking tool, and a
 * busy target whose queued delegation is drained and stitched); an approval is decided by the
 * real `molecule platform approve|deny` process; peers, workspace info and a message to the
 * user; the inbox tools over queued messages; source_workspace_id; cancel in flight. */
#include "tools_fixture.h"

typedef struct {
  char a_id[64], b_id[64], a_tok[128];
  mol_platform_client *a, *b;        /* A: the coordinator (poll mode); B: the echo worker */
  echo_agent echo;
  mol_agent_tools *core, *mcp;
} world;

static world W;

static void world_up(unsigned echo_delay_ms, mol_tools_builtin_opts *bo) {
  memset(&W, 0, sizeof W);
  W.a = dpf_agent("coord", NULL, W.a_id, W.a_tok);
  W.b = dpf_agent("worker", NULL, W.b_id, NULL);
  echo_start(&W.echo, echo_delay_ms);
  register_at(W.a, NULL); /* poll mode: its inbound messages wait for the inbox tools */
  register_at(W.b, W.echo.url);
  mol_agent_tools_opts o = {.loop = g_loop, .platform = W.a, .workspace_id = W.a_id};
  if (bo) o.builtin = *bo;
  assert_int_equal(mol_agent_tools_new(&o, &W.core), 0);
  o.set = MOL_TOOLS_SET_MCP;
  assert_int_equal(mol_agent_tools_new(&o, &W.mcp), 0);
}

static void world_down(void) {
  tool_res_clear(&g_res);
  mol_agent_tools_free(W.core);
  mol_agent_tools_free(W.mcp);
  echo_stop(&W.echo);
}

#define CORE mol_agent_tools_registry(W.core)
#define MCP mol_agent_tools_registry(W.mcp)

/* ---- the sets ------------------------------------------------------------------------------------ */

static void sets_list_their_tools(void **st) {
  (void)st;
  world_up(0, NULL);
  static const char *const core[] = {"delegate_to_workspace", "check_delegation_status",
                                     "request_approval", "commit_memory", "search_memory",
                                     "run_code"};
  static const char *const mcp[] = {"delegate_task", "delegate_task_async", "check_task_status",
                                    "list_peers", "get_workspace_info", "send_message_to_user",
                                    "commit_memory", "recall_memory", "wait_for_message",
                                    "inbox_peek", "inbox_pop"};
  assert_int_equal(mol_tools_count(CORE), 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(mol_tools_at(CORE, i)->name, core[i]);
  assert_int_equal(mol_tools_count(MCP), 11);
  for (size_t i = 0; i < 11; i++) assert_string_equal(mol_tools_at(MCP, i)->name, mcp[i]);
  json_t *oa = mol_tools_openai(CORE), *m = mol_tools_mcp(MCP);
  assert_int_equal(json_array_size(oa), 6);
  assert_int_equal(json_array_size(m), 11);
  json_decref(oa);
  json_decref(m);
  world_down();
}

/* ---- memory --------------------------------------------------------------------------------------- */

static void memory_committed_then_found(void **st) {
  (void)st;
  world_up(0, NULL);
  tool_res *r = tool(CORE, "commit_memory",
                     "{\"content\":\"The staging db password=hunter2hunter2 and the sky is "
                     "cerulean\",\"scope\":\"team\"}");
  assert_int_equal(r->status, MOL_TOOL_OK);
  json_t *v = tool_json(r);
  assert_true(json_is_true(json_object_get(v, "success")));
  assert_string_equal(mol_json_str(v, "scope"), "TEAM");
  char id[64];
  snprintf(id, sizeof id, "%s", mol_json_str(v, "id"));
  assert_true(strlen(id) > 0);
  r = tool(CORE, "search_memory", "{\"query\":\"cerulean\"}");
  v = tool_json(r);
  assert_true(json_is_true(json_object_get(v, "success")));
  assert_int_equal(json_integer_value(json_object_get(v, "count")), 1);
  json_t *row = json_array_get(json_object_get(v, "memories"), 0);
  assert_string_equal(mol_json_str(row, "id"), id);
  const char *content = mol_json_str(row, "content");
  assert_non_null(strstr(content, "cerulean"));
  assert_null(strstr(content, "hunter2")); /* redacted before it left */
  /* the MCP tools see the same memory, as text */
  r = tool(MCP, "recall_memory", "{\"query\":\"cerulean\",\"scope\":\"TEAM\"}");
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_true(strncmp(r->text, "[TEAM] ", 7) == 0);
  assert_non_null(strstr(r->text, "cerulean"));
  r = tool(MCP, "recall_memory", "{\"query\":\"nothing-like-this\"}");
  assert_string_equal(r->text, "No memories found.");
  r = tool(MCP, "commit_memory", "{\"content\":\"mcp fact: otters hold hands\"}");
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_string_equal(mol_json_str(tool_json(r), "scope"), "LOCAL");
  r = tool(CORE, "search_memory", "{\"query\":\"otters\",\"scope\":\"LOCAL\"}");
  assert_int_equal(json_integer_value(json_object_get(tool_json(r), "count")), 1);
  /* bad scopes: refused, never turned into LOCAL */
  r = tool(CORE, "commit_memory", "{\"content\":\"x\",\"scope\":\"planet\"}");
  assert_string_equal(mol_json_str(tool_json(r), "error"), "scope must be LOCAL, TEAM, or GLOBAL");
  r = tool(MCP, "commit_memory", "{\"content\":\"x\",\"scope\":\"planet\"}");
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  r = tool(CORE, "commit_memory", "{\"content\":\"\"}");
  assert_non_null(strstr(r->text, "content is required"));
  r = tool(CORE, "search_memory", "{\"scope\":\"bogus\"}");
  assert_non_null(strstr(r->text, "scope must be LOCAL, TEAM, GLOBAL, or empty"));
  world_down();
}

/* ---- delegation ------------------------------------------------------------------------------------ */

/* Polls check_delegation_status until the delegation leaves pending/dispatched. */
static json_t *core_status_until_done(const char *task_id) {
  char args[128];
  snprintf(args, sizeof args, "{\"task_id\":\"%s\"}", task_id);
  for (int i = 0; i < 500; i++) {
    tool_res *r = tool(CORE, "check_delegation_status", args);
    json_t *v = tool_json(r);
    const char *s = mol_json_str(v, "status");
    if (s && strcmp(s, "dispatched") && strcmp(s, "pending")) return json_incref(v);
    run_for(g_loop, 20);
  }
  fail_msg("delegation %s never finished", task_id);
  return NULL;
}

static void delegation_to_echo_agent(void **st) {
  (void)st;
  world_up(0, NULL);
  char args[512];
  /* core, non-blocking: the id at once, the result from the ledger */
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"count the sheep\"}", W.b_id);
  tool_res *r = tool(CORE, "delegate_to_workspace", args);
  json_t *v = tool_json(r);
  assert_true(json_is_true(json_object_get(v, "success")));
  assert_string_equal(mol_json_str(v, "status"), "delegated");
  char task_id[64];
  snprintf(task_id, sizeof task_id, "%s", mol_json_str(v, "task_id"));
  json_t *done = core_status_until_done(task_id);
  assert_string_equal(mol_json_str(done, "status"), "completed");
  assert_string_equal(mol_json_str(done, "result"), "echo: count the sheep");
  assert_string_equal(mol_json_str(done, "workspace_id"), W.b_id);
  json_decref(done);
  r = tool(CORE, "check_delegation_status", "{}");
  v = tool_json(r);
  assert_int_equal(json_integer_value(json_object_get(v, "count")), 1);
  assert_string_equal(
      mol_json_str(json_array_get(json_object_get(v, "delegations"), 0), "result_preview"),
      "echo: count the sheep");
  r = tool(CORE, "check_delegation_status", "{\"task_id\":\"nope\"}");
  assert_string_equal(mol_json_str(tool_json(r), "error"), "No delegation found with task_id nope");
  /* MCP, synchronous: the reply is the result, and the ledger has it */
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"say hi\"}", W.b_id);
  r = tool(MCP, "delegate_task", args);
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_string_equal(r->text, "echo: say hi");
  r = tool(MCP, "check_task_status", "{}");
  v = tool_json(r);
  assert_int_equal(json_integer_value(json_object_get(v, "count")), 2);
  json_t *newest = json_array_get(json_object_get(v, "delegations"), 0);
  assert_string_equal(mol_json_str(newest, "status"), "completed");
  assert_string_equal(mol_json_str(newest, "response_preview"), "echo: say hi");
  /* MCP, async */
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"later please\"}", W.b_id);
  r = tool(MCP, "delegate_task_async", args);
  v = tool_json(r);
  assert_string_equal(mol_json_str(v, "status"), "delegated");
  char did[64];
  snprintf(did, sizeof did, "%s", mol_json_str(v, "delegation_id"));
  snprintf(args, sizeof args, "{\"task_id\":\"%s\"}", did);
  for (int i = 0; i < 500; i++) {
    r = tool(MCP, "check_task_status", args);
    if (!strcmp(mol_json_str(tool_json(r), "status"), "completed")) break;
    run_for(g_loop, 20);
  }
  assert_string_equal(mol_json_str(tool_json(r), "response_preview"), "echo: later please");
  /* the same async task twice within the minute: the same delegation */
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"later please\"}", W.b_id);
  r = tool(MCP, "delegate_task_async", args);
  v = tool_json(r);
  assert_string_equal(mol_json_str(v, "delegation_id"), did);
  assert_true(json_is_true(json_object_get(v, "idempotent_hit")));
  r = tool(MCP, "check_task_status", "{\"task_id\":\"00000000-0000-4000-8000-000000000000\"}");
  assert_string_equal(mol_json_str(tool_json(r), "status"), "not_found");
  /* errors the model can read */
  r = tool(MCP, "delegate_task", "{\"workspace_id\":\"not-an-id\",\"task\":\"x\"}");
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"me\"}", W.a_id);
  r = tool(CORE, "delegate_to_workspace", args);
  assert_false(json_is_true(json_object_get(tool_json(r), "success")));
  r = tool(MCP, "delegate_task", "{\"workspace_id\":\"00000000-0000-4000-8000-000000000000\","
                                 "\"task\":\"nobody home\"}");
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  assert_non_null(strstr(r->text, "DELEGATION FAILED"));
  world_down();
}

/* A coordinator with more delegations than the newest 50 of the list still reads the status of
 * its oldest one. */
static void delegation_status_beyond_the_list(void **st) {
  (void)st;
  world_up(0, NULL);
  char first[64] = "", id[64];
  capture cap;
  for (int i = 0; i < 55; i++) {
    snprintf(id, sizeof id, "0000000%d-0000-4000-8000-%012d", i % 10, i);
    CALL(mol_platform_delegation_record(W.a, W.b_id, "one of many", id, NULL, on_capture, &cap,
                                        NULL), cap);
    assert_int_equal(cap.err, 0);
    if (!first[0]) snprintf(first, sizeof first, "%s", id);
  }
  char args[128];
  snprintf(args, sizeof args, "{\"task_id\":\"%s\"}", first);
  tool_res *r = tool(CORE, "check_delegation_status", args);
  if (!mol_json_str(tool_json(r), "status")) fail_msg("oldest delegation not found: %s", r->text);
  assert_string_equal(mol_json_str(r->json, "status"), "pending");
  r = tool(MCP, "check_task_status", args);
  assert_string_equal(mol_json_str(tool_json(r), "status"), "pending");
  assert_string_equal(mol_json_str(r->json, "delegation_id"), first);
  world_down();
}

/* The worker is busy (its answer takes longer than the platform's idle timeout): the proxy
 * queues the task, delegate_task waits on the ledger, the worker frees up, the platform drains
 * the queue and stitches the reply, and the tool returns it. */
static void delegation_queued_then_answered(void **st) {
  (void)st;
  mol_tools_builtin_opts bo = {.ledger_poll_ms = 50};
  world_up(3000, &bo);
  mol_platform_heartbeat_payload hb = {.idle_timeout_seconds = 1};
  capture cap;
  CALL(mol_platform_heartbeat(W.b, &hb, NULL, on_capture, &cap, NULL), cap);
  assert_int_equal(cap.err, 0);
  char args[256];
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"busy work\"}", W.b_id);
  tool_res res = {0};
  tool_start(MCP, "delegate_task", args, 60000, &res);
  /* wait for the queued row */
  int queued = 0;
  for (int i = 0; i < 500 && !queued; i++) {
    CALL(mol_platform_delegations(W.a, NULL, on_capture, &cap, NULL), cap);
    queued = strstr(cap.body, "\"queued\"") != NULL;
    if (!queued) run_for(g_loop, 20);
  }
  assert_true(queued);
  assert_false(res.done);
  /* the worker moves to a fast agent and says it has room: the queue drains */
  echo_agent fast;
  echo_start(&fast, 0);
  register_at(W.b, fast.url);
  mol_platform_heartbeat_payload idle = {0};
  CALL(mol_platform_heartbeat(W.b, &idle, NULL, on_capture, &cap, NULL), cap);
  tool_wait(&res, 20000);
  assert_int_equal(res.status, MOL_TOOL_OK);
  assert_string_equal(res.text, "echo: busy work");
  echo_stop(&fast);
  world_down();
}

static void delegation_canceled_in_flight(void **st) {
  (void)st;
  world_up(5000, NULL);
  char args[256];
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"slow\"}", W.b_id);
  tool_res res = {0};
  mol_tool_call *call = tool_start(MCP, "delegate_task", args, 60000, &res);
  run_for(g_loop, 100);
  assert_false(res.done);
  mol_tool_call_cancel(call);
  assert_int_equal(res.calls, 0); /* never inside the cancel */
  tool_wait(&res, 5000);
  assert_int_equal(res.status, MOL_TOOL_CANCELED);
  run_for(g_loop, 50);
  assert_int_equal(res.calls, 1);
  /* a deadline stops it too */
  tool_start(MCP, "delegate_task", args, 200, &res);
  tool_wait(&res, 5000);
  assert_int_equal(res.status, MOL_TOOL_TIMED_OUT);
  world_down();
}

/* The worker stops sending heartbeats while it has the task (it never answers): after 10
 * silent intervals the platform's sweeper gives the delegation the terminal status "stuck";
 * check_delegation_status and check_task_status report it with the reason, so the model moves
 * on instead of polling a delegation that will never end. */
static int dpf_setup_fast_beats(void **st) {
  dpf_heartbeat_ms = 50;
  int rc = dpf_setup(st);
  dpf_heartbeat_ms = 0;
  return rc;
}

static void delegation_stuck_when_peer_silent(void **st) {
  (void)st;
  world_up(600000, NULL); /* the worker never answers within the test */
  char args[256];
  snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"never answered\"}", W.b_id);
  tool_res *r = tool(CORE, "delegate_to_workspace", args);
  char task_id[64];
  snprintf(task_id, sizeof task_id, "%s", mol_json_str(tool_json(r), "task_id"));
  assert_true(strlen(task_id) > 0);
  json_t *v = core_status_until_done(task_id);
  assert_string_equal(mol_json_str(v, "status"), "stuck");
  assert_non_null(strstr(mol_json_str(v, "error"), "stopped sending heartbeats"));
  json_decref(v);
  char check[128];
  snprintf(check, sizeof check, "{\"task_id\":\"%s\"}", task_id);
  r = tool(MCP, "check_task_status", check);
  assert_string_equal(mol_json_str(tool_json(r), "status"), "stuck");
  world_down();
}

/* ---- approvals -------------------------------------------------------------------------------------- */

/* The id of the newest pending approval of A, once there is one. */
static void pending_approval(char id[64]) {
  capture cap;
  for (int i = 0; i < 500; i++) {
    CALL(mol_platform_approvals(W.a, NULL, on_capture, &cap, NULL), cap);
    json_t *v = cap_json(&cap), *row = json_array_get(v, 0);
    if (row && !strcmp(mol_json_str(row, "status"), "pending")) {
      snprintf(id, 64, "%s", mol_json_str(row, "id"));
      json_decref(v);
      return;
    }
    json_decref(v);
    run_for(g_loop, 20);
  }
  fail_msg("no pending approval");
}

static int64_t operator_decides(const char *verb, const char *id, const char *reason) {
  char *argv[12];
  int n = 0;
  argv[n++] = getenv("MOLECULE_BIN");
  argv[n++] = "platform";
  argv[n++] = (char *)verb;
  argv[n++] = (char *)id;
  argv[n++] = "--platform";
  argv[n++] = F->base;
  argv[n++] = "--admin-token";
  argv[n++] = (char *)mol_devplatform_admin_token(F->dp);
  if (reason) {
    argv[n++] = "--reason";
    argv[n++] = (char *)reason;
  }
  argv[n] = NULL;
  assert_non_null(argv[0]);
  int64_t st = run_process(argv);
  if (st) fprintf(stderr, "molecule platform %s %s: exit %lld\n", verb, id, (long long)st);
  return st;
}

static void approval_decided_by_operator(void **st) {
  (void)st;
  mol_tools_builtin_opts bo = {.approval_poll_ms = 50};
  world_up(0, &bo);
  tool_res res = {0};
  tool_start(CORE, "request_approval",
             "{\"action\":\"drop the users table\",\"reason\":\"migration 42\"}", 60000, &res);
  char id[64];
  pending_approval(id);
  assert_false(res.done);
  assert_int_equal(operator_decides("approve", id, NULL), 0);
  tool_wait(&res, 10000);
  json_t *v = tool_json(&res);
  assert_true(json_is_true(json_object_get(v, "approved")));
  assert_string_equal(mol_json_str(v, "approval_id"), id);
  assert_non_null(mol_json_str(v, "decided_by"));
  /* denied, with the operator's reason */
  tool_start(CORE, "request_approval", "{\"action\":\"rm -rf /\",\"reason\":\"cleanup\"}", 60000,
             &res);
  pending_approval(id);
  assert_int_equal(operator_decides("deny", id, "never"), 0);
  tool_wait(&res, 10000);
  v = tool_json(&res);
  assert_false(json_is_true(json_object_get(v, "approved")));
  assert_string_equal(mol_json_str(v, "message"), "Denied by human");
  assert_string_equal(mol_json_str(v, "reason"), "never");
  tool_res_clear(&res);
  world_down();
}

static void approval_times_out(void **st) {
  (void)st;
  mol_tools_builtin_opts bo = {.approval_poll_ms = 50, .approval_timeout_ms = 300};
  world_up(0, &bo);
  tool_res *r = tool(CORE, "request_approval", "{\"action\":\"wait\",\"reason\":\"nobody\"}");
  json_t *v = tool_json(r);
  assert_false(json_is_true(json_object_get(v, "approved")));
  assert_string_equal(mol_json_str(v, "error"),
                      "Timed out after 0.3s waiting for human decision");
  assert_non_null(mol_json_str(v, "approval_id"));
  world_down();
}

/* ---- peers, info, messages to the user -------------------------------------------------------------- */

static const char *upload_path(void) {
  static char p[128];
  snprintf(p, sizeof p, "/workspaces/%s/chat/uploads", W.a_id);
  return p;
}

/* A raw POST to the upload route with this Content-Type (bearer NULL: none); its status. */
static int raw_upload(const char *bearer, const char *ctype, const char *body) {
  char url[256], auth[256];
  snprintf(url, sizeof url, "%s%s", F->base, upload_path());
  snprintf(auth, sizeof auth, "Bearer %s", bearer ? bearer : "");
  mol_http_header h[] = {{"Content-Type", ctype}, {"Authorization", auth}};
  mol_http_request_opts o = {.method = "POST", .url = url, .headers = h,
                             .nheaders = bearer ? 2 : 1, .body = body,
                             .body_len = strlen(body), .total_timeout_ms = 5000};
  op_result res = {0};
  assert_int_equal(mol_http_request_send(F->http, &o, op_done, &res, NULL), 0);
  assert_true(run_until(g_loop, &res.done, 6000));
  return res.status;
}

static void workspace_tools(void **st) {
  (void)st;
  world_up(0, NULL);
  tool_res *r = tool(MCP, "list_peers", "{}");
  assert_int_equal(r->status, MOL_TOOL_OK);
  char want[160];
  snprintf(want, sizeof want, "- worker (ID: %s, status: online)", W.b_id);
  assert_non_null(strstr(r->text, want)); /* no "role: None" for a null role */
  r = tool(MCP, "get_workspace_info", "{}");
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_string_equal(mol_json_str(tool_json(r), "id"), W.a_id);
  assert_string_equal(mol_json_str(r->json, "name"), "coord");
  assert_non_null(strstr(r->text, "\n  \"")); /* pretty-printed */
  r = tool(MCP, "send_message_to_user", "{\"message\":\"the report is ready\"}");
  assert_string_equal(r->text, "Message sent to user");
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/activity", W.a_id);
  op_result o = op("GET", path, NULL);
  assert_int_equal(o.status, 200);
  assert_non_null(strstr(o.body, "the report is ready"));
  r = tool(MCP, "send_message_to_user", "{\"message\":\"\"}");
  assert_string_equal(r->text, "Error: message is required");
  r = tool(MCP, "send_message_to_user",
           "{\"message\":\"see file\",\"attachments\":[\"/no/such/file.pdf\"]}");
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  assert_string_equal(r->text, "Error: attachment not found: /no/such/file.pdf");
  r = tool(MCP, "send_message_to_user", "{\"message\":\"a dir\",\"attachments\":[\"/tmp\"]}");
  assert_string_equal(r->text, "Error: attachment not found: /tmp");
  /* a real file (with bytes that are not text) goes up, and the message carries it */
  char file[1024], args[1200];
  snprintf(file, sizeof file, "%s/report 1.bin", F->dir);
  static const char bytes[] = "report\0\xff\r\n--not-a-boundary\r\nend";
  FILE *f = fopen(file, "wb");
  fwrite(bytes, 1, sizeof bytes - 1, f);
  fclose(f);
  snprintf(args, sizeof args, "{\"message\":\"the report\",\"attachments\":[\"%s\",\"\"]}", file);
  r = tool(MCP, "send_message_to_user", args);
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_string_equal(r->text, "Message sent to user with 1 attachment(s)");
  o = op("GET", path, NULL);
  json_t *acts = mol_json_parse(o.body, strlen(o.body), NULL, 0), *row, *att = NULL;
  size_t i;
  json_array_foreach(acts, i, row) {
    json_t *a = json_object_get(json_object_get(row, "request_body"), "attachments");
    if (a) att = json_array_get(a, 0);
  }
  assert_non_null(att);
  assert_string_equal(mol_json_str(att, "name"), "report_1.bin");
  assert_int_equal(json_integer_value(json_object_get(att, "size")), sizeof bytes - 1);
  const char *uri = mol_json_str(att, "uri");
  const char *prefix = "workspace:/workspace/.molecule/chat-uploads/";
  assert_true(strncmp(uri, prefix, strlen(prefix)) == 0);
  char stored[1200], back[64];
  snprintf(stored, sizeof stored, "%s/dev.db.uploads/%s/%s", F->dir, W.a_id, uri + strlen(prefix));
  f = fopen(stored, "rb");
  assert_non_null(f);
  size_t got = fread(back, 1, sizeof back, f);
  fclose(f);
  assert_int_equal(got, sizeof bytes - 1);
  assert_memory_equal(back, bytes, got);
  json_decref(acts);
  /* the route refuses what is not a multipart form of files */
  o = op_as(W.a_tok, "POST", upload_path(), "{\"files\":[]}");
  assert_int_equal(o.status, 400);
  assert_int_equal(raw_upload(W.a_tok, "multipart/form-data; boundary=XYZ",
                              "--XYZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n"
                              "v\r\n--XYZ--\r\n"), 400);
  assert_int_equal(raw_upload(W.a_tok, "multipart/form-data; boundary=XYZ", "--XYZ\r\ngarbage"),
                   400);
  assert_int_equal(raw_upload(NULL, "multipart/form-data; boundary=XYZ", "--XYZ--\r\n"), 415);
  world_down();
}

/* An agent registered in two workspaces: source_workspace_id picks the acting one. */
static void source_workspace(void **st) {
  (void)st;
  world_up(0, NULL);
  mol_tool_source src = {.workspace_id = W.b_id, .platform = W.b};
  mol_agent_tools_opts o = {.loop = g_loop, .platform = W.a, .workspace_id = W.a_id,
                            .sources = &src, .nsources = 1, .set = MOL_TOOLS_SET_MCP};
  mol_agent_tools *t;
  assert_int_equal(mol_agent_tools_new(&o, &t), 0);
  mol_tools *reg = mol_agent_tools_registry(t);
  char args[256];
  snprintf(args, sizeof args, "{\"source_workspace_id\":\"%s\"}", W.b_id);
  tool_res *r = tool(reg, "get_workspace_info", args);
  assert_string_equal(mol_json_str(tool_json(r), "id"), W.b_id);
  r = tool(reg, "list_peers", args);
  assert_non_null(strstr(r->text, W.a_id));
  assert_null(strstr(r->text, "[via"));
  r = tool(reg, "list_peers", "{}"); /* every workspace, tagged */
  char via[128];
  snprintf(via, sizeof via, "[via %s]", W.b_id);
  assert_non_null(strstr(r->text, via));
  snprintf(via, sizeof via, "[via %s]", W.a_id);
  assert_non_null(strstr(r->text, via));
  /* B delegates to A? A is poll mode: queued, never failed */
  r = tool(reg, "get_workspace_info", "{\"source_workspace_id\":\"someone-else\"}");
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  assert_non_null(strstr(r->text, "not one of this agent's workspaces"));
  mol_agent_tools_free(t);
  world_down();
}

/* ---- the inbox ------------------------------------------------------------------------------------- */

/* B sends text to A through the platform (A is poll mode: an inbound activity row). */
static void send_to_a(const char *text) {
  capture cap;
  mol_platform_call_peer_opts o = {.proxy_only = 1};
  CALL(mol_platform_call_peer(W.b, W.a_id, text, &o, NULL, on_capture, &cap, NULL), cap);
  if (cap.err) fail_msg("send to A: %s (%d %s)", mol_strerror(cap.err), cap.status, cap.body);
  assert_true(cap.queued);
}

static void inbox_tools(void **st) {
  (void)st;
  mol_tools_builtin_opts bo = {.inbox_poll_ms = 50};
  world_up(0, &bo);
  send_to_a("first message");
  send_to_a("second message");
  tool_res *r = tool(MCP, "inbox_peek", "{}");
  json_t *v = tool_json(r);
  assert_int_equal(json_integer_value(json_object_get(v, "count")), 2);
  json_t *m0 = json_array_get(json_object_get(v, "messages"), 0);
  assert_string_equal(mol_json_str(m0, "text"), "first message");
  assert_string_equal(mol_json_str(m0, "source"), "peer_agent");
  assert_string_equal(mol_json_str(m0, "source_id"), W.b_id);
  char first[64];
  snprintf(first, sizeof first, "%s", mol_json_str(m0, "activity_id"));
  /* wait returns the oldest without removing it */
  r = tool(MCP, "wait_for_message", "{\"timeout_secs\":5}");
  assert_string_equal(mol_json_str(json_object_get(tool_json(r), "message"), "activity_id"), first);
  char args[128];
  snprintf(args, sizeof args, "{\"activity_id\":\"%s\"}", first);
  r = tool(MCP, "inbox_pop", args);
  assert_int_equal(r->status, MOL_TOOL_OK);
  assert_int_equal(json_integer_value(json_object_get(tool_json(r), "remaining")), 1);
  assert_string_equal(mol_platform_cursor(W.a), first); /* persisted past the popped one */
  r = tool(MCP, "inbox_pop", args);
  assert_int_equal(r->status, MOL_TOOL_ERROR);
  r = tool(MCP, "wait_for_message", "{\"timeout_secs\":5}");
  snprintf(args, sizeof args, "{\"activity_id\":\"%s\"}",
           mol_json_str(json_object_get(tool_json(r), "message"), "activity_id"));
  r = tool(MCP, "inbox_pop", args);
  assert_int_equal(json_integer_value(json_object_get(tool_json(r), "remaining")), 0);
  /* a wait in progress sees a message that arrives while it waits */
  tool_res res = {0};
  tool_start(MCP, "wait_for_message", "{\"timeout_secs\":30}", 60000, &res);
  run_for(g_loop, 200);
  assert_false(res.done);
  send_to_a("third message");
  tool_wait(&res, 10000);
  json_t *msg = json_object_get(tool_json(&res), "message");
  assert_string_equal(mol_json_str(msg, "text"), "third message");
  /* nothing more: the wait times out; a wait can be canceled */
  snprintf(args, sizeof args, "{\"activity_id\":\"%s\"}", mol_json_str(msg, "activity_id"));
  r = tool(MCP, "inbox_pop", args);
  assert_int_equal(r->status, MOL_TOOL_OK);
  r = tool(MCP, "wait_for_message", "{\"timeout_secs\":0.3}");
  assert_true(json_is_true(json_object_get(tool_json(r), "timed_out")));
  mol_tool_call *call = tool_start(MCP, "wait_for_message", "{\"timeout_secs\":30}", 60000, &res);
  run_for(g_loop, 100);
  mol_tool_call_cancel(call);
  tool_wait(&res, 5000);
  assert_int_equal(res.status, MOL_TOOL_CANCELED);
  tool_res_clear(&res);
  world_down();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(sets_list_their_tools, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(memory_committed_then_found, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(delegation_to_echo_agent, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(delegation_status_beyond_the_list, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(delegation_queued_then_answered, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(delegation_canceled_in_flight, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(delegation_stuck_when_peer_silent, dpf_setup_fast_beats,
                                      dpf_teardown),
      cmocka_unit_test_setup_teardown(approval_decided_by_operator, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(approval_times_out, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(workspace_tools, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(source_workspace, dpf_setup, dpf_teardown),
      cmocka_unit_test_setup_teardown(inbox_tools, dpf_setup, dpf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
