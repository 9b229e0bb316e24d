/* agent.c - one agent's lifecycle (see agent.h): start-up in order (options, snapshot
 * restore, executor, A2A endpoint, platform), the ways it ends, and its stats. The steps live
 * beside it: agent_snapshot.c, agent_endpoint.c, agent_platform.c; agent_turns.c meters the
 * turns and agent_transcript.c keeps their lines.
 *
 * An agent with a config dir has it read in the thread pool first (setup.h) and serves when
 * that is done; until then it holds no endpoint, and an end waits for the read.
 *
 * Ending is one path whatever the reason: stop admitting turns; for a stop, write the snapshot
 * first (so a short container grace period cannot lose it) and let live turns finish within
 * grace_ms; for pause, delete or failure, cancel live turns at once. Then the A2A server, the
 * executor, the MCP endpoint and the platform client close, each asynchronously, each holding
 * the agent until it has (base/holds.h); an agent on a listener of its own closes it after
 * them. on_end fires once when the last of them is gone, never inside the call that ended the
 * agent. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"
#include "runtime/exec_chat.h"
#include "runtime/exec_command.h"
#include "runtime/exec_hermes.h"
#include "runtime/setup.h"

#define SCOPE "agent"
#define DRAIN_TICK_MS 25
#define HTTP_FLUSH_MS 1000

/* ---- teardown ------------------------------------------------------------------------------ */

static void agent_free(mol_agent *a) {
  if (a->tools.reg)
    mol_mcp_toolset_free(&a->tools);             /* the MCP endpoint, its only user, has closed */
  mol_agent__core_tools_free(a);                 /* so has the chat executor, theirs */
  if (a->transcript) mol_transcript_free(a->transcript);
  json_decref(a->extra_state);
  free(a->start_po);
  free(a->st);
  mol_agent__setup_free(a);
  char *strs[] = {a->name, a->description, a->platform_url, a->workspace_id, a->token_dir,
                  a->url, a->snapshot_path, a->chat_api_base, a->chat_model,
                  a->chat_system_prompt};
  for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) free(strs[i]);
  free(a);
}

/* The end itself: on_end, then the memory. */
static void agent_done(mol_agent *a) {
  if (!a->silent) {
    mol_logi(SCOPE, "%s: ended (%s)", a->name,
             a->why == MOL_AGENT_STOPPED ? "stopped" : a->why == MOL_AGENT_PAUSED ? "paused"
             : a->why == MOL_AGENT_DELETED ? "deleted" : "failed");
    a->on_end(a, a->why, a->err, a->arg);
  }
  agent_free(a);
}

static void on_http_closed(void *arg) { agent_done(arg); }

/* The holds' finish: nothing holds the ending agent any more, and its timer has closed. An
 * agent on a listener of its own (own_http) closes it last: the answers of the turns just
 * ended get a second to flush, and the agent ends in that close's callback. */
static void agent_finish(void *arg) {
  mol_agent *a = arg;
  if (a->o.own_http) mol_http_server_close(a->http, HTTP_FLUSH_MS, on_http_closed, a);
  else agent_done(a);
}

/* The end path needs the timer no more (no register retry, no drain): the agent's own hold
 * goes, and the timer closes once nothing else holds the agent. */
static void drop_own_hold(mol_agent *a) {
  uv_timer_stop(&a->timer);
  mol_holds_drop(&a->holds);
}

static void executor_gone(mol_agent *a) {
  a->inner_live = 0;
  mol_holds_drop(&a->holds);
}

static void on_exec_closed(void *arg) { executor_gone(arg); }

/* Runs once no turn can reach the executor any more. */
static void close_executor(mol_agent *a) {
  if (a->fallback_live) mol_chat_executor_free(&a->fallback); /* agent_health.c's */
  a->fallback_live = 0;
  if (!a->inner_live) return;
  switch (a->o.exec) {
    case MOL_AGENT_EXEC_ECHO: mol_echo_free(&a->inner); break;
    case MOL_AGENT_EXEC_CHAT: mol_chat_executor_free(&a->inner); break;
    case MOL_AGENT_EXEC_HERMES: mol_hermes_executor_close(&a->inner, on_exec_closed, a); return;
    case MOL_AGENT_EXEC_COMMAND: mol_command_executor_close(&a->inner, on_exec_closed, a); return;
    case MOL_AGENT_EXEC_CUSTOM: break; /* the caller's */
  }
  executor_gone(a);
}

static void on_a2a_closed(void *arg) {
  mol_agent *a = arg;
  a->a2a = NULL;
  mol_agent__sessions_close(a); /* every turn has ended: its lines are all queued */
  close_executor(a);
  mol_holds_drop(&a->holds);
}

mol_agent_stats *mol_agent__st(mol_agent *a) {
  static _Thread_local mol_agent_stats lost; /* out of memory: counted nowhere */
  if (!a->st) a->st = calloc(1, sizeof(*a->st));
  return a->st ? a->st : &lost;
}

/* The task store's counters, read live; kept in a->st when the store goes, so /metrics goes
 * on showing the last values (a counter never goes back). */
static void task_store_stats(const mol_agent *a, mol_agent_stats *out) {
  if (!a->a2a) return;
  mol_a2a_server_stats s;
  mol_a2a_server_stats_get(a->a2a, &s);
  out->tasks_evicted = s.tasks_evicted;
  out->task_store_bytes = s.task_bytes;
  out->push_configs = s.push_configs;
  out->push = s.push;
}

/* ... and kept, when there is anything to keep (a store that never held a task, never
 * evicted one and pushed nothing leaves the counters unmade). */
static void task_store_keep(mol_agent *a) {
  static const mol_a2a_push_stats no_push;
  mol_agent_stats last;
  memset(&last, 0, sizeof(last));
  task_store_stats(a, &last);
  if (a->st || last.tasks_evicted || last.task_store_bytes || last.push_configs ||
      memcmp(&last.push, &no_push, sizeof(no_push))) /* 8-byte fields: no padding */
    task_store_stats(a, mol_agent__st(a));
}

static void close_a2a(mol_agent *a) {
  mol_http_server_unroute(a->http, a); /* the transcript and MCP routes */
  task_store_keep(a);
  if (a->a2a) {
    mol_a2a_server_close(a->a2a, on_a2a_closed, a);
  } else {
    mol_agent__sessions_close(a);
    close_executor(a);
  }
}

static void on_pc_closed(void *arg) {
  mol_agent *a = arg;
  a->pc = NULL;
  a->tool_env.platform = NULL; /* a tool still winding down finds no client, not a freed one */
  mol_holds_drop(&a->holds);
}

/* ---- graceful drain ------------------------------------------------------------------------ */

static void on_drain_tick(uv_timer_t *t) {
  mol_agent *a = t->data;
  unsigned live = mol_agent__live_turns(a);
  if (live > 0 && uv_now(a->loop) < a->drain_until) return;
  if (live > 0) mol_logw(SCOPE, "%s: canceling %u turns still running after the grace period",
                         a->name, live);
  drop_own_hold(a);
  close_a2a(a);
}

void mol_agent__end(mol_agent *a, mol_agent_end why, int err) {
  if (a->ending) return;
  a->ending = 1;
  a->why = why;
  a->err = err;
  if (a->a2a) mol_a2a_server_drain(a->a2a);
  mol_agent__health_close(a);
  mol_agent__prompts_close(a);
  /* MCP calls are canceled now (each still answered): the platform client they use closes. */
  mol_agent__mcp_close(a);
  /* The platform client ends its own calls and loop (their callbacks see a->ending). */
  if (a->pc) mol_platform_client_close(a->pc, on_pc_closed, a);
  if (why == MOL_AGENT_STOPPED && a->snapshot_path && !a->silent) {
    int rc = mol_agent__snapshot_start(a);
    if (rc) mol_logw(SCOPE, "%s: snapshot not written: %s", a->name, mol_strerror(rc));
  }
  if (why == MOL_AGENT_STOPPED && mol_agent__live_turns(a) > 0) {
    mol_logi(SCOPE, "%s: stopping; %u turns in flight get %u ms", a->name, mol_agent__live_turns(a),
             a->o.grace_ms);
    a->drain_until = uv_now(a->loop) + a->o.grace_ms;
    uv_timer_start(&a->timer, on_drain_tick, DRAIN_TICK_MS, DRAIN_TICK_MS);
    return;
  }
  drop_own_hold(a);
  close_a2a(a);
}

void mol_agent_stop(mol_agent *a) {
  if (a) mol_agent__end(a, MOL_AGENT_STOPPED, 0);
}

/* ---- start --------------------------------------------------------------------------------- */

static int valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
  return 1;
}

/* At the root the name is no path component, only the card's. */
static int valid_card_name(const char *s) {
  if (!s || !*s || strlen(s) > 256) return 0;
  for (; *s; s++)
    if (iscntrl((unsigned char)*s)) return 0;
  return 1;
}

static int check_opts(const mol_agent_opts *o) {
  if (!o || !(o->at_root ? valid_card_name(o->name) : valid_name(o->name))) return MOL_EINVAL;
  if (o->exec > MOL_AGENT_EXEC_COMMAND) return MOL_EINVAL;
  if (o->exec == MOL_AGENT_EXEC_COMMAND && (!o->command.handler || !*o->command.handler))
    return MOL_EINVAL;
  if (o->exec == MOL_AGENT_EXEC_CUSTOM && (!o->custom || !o->custom->execute)) return MOL_EINVAL;
  if (o->platform_url && (!o->workspace_id || !*o->workspace_id)) return MOL_EINVAL;
  if (o->public_url && (!*o->public_url || o->public_url[strlen(o->public_url) - 1] != '/'))
    return MOL_EINVAL; /* a2a-js resolves the card path relative to the URL */
  return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int copy_opts(mol_agent *a, const mol_agent_opts *o) {
  a->o = *o;
  a->o.platform_opts = NULL; /* borrowed for the start only: mol_agent__platform_start */
  a->o.config_dir = NULL;    /* read in the thread pool at the start: mol_agent__setup_start */
  if (!a->o.heartbeat_ms) a->o.heartbeat_ms = 30000;
  if (!a->o.state_poll_ms) a->o.state_poll_ms = a->o.heartbeat_ms;
  if (!a->o.grace_ms) a->o.grace_ms = 10000;
  a->name = strdup(o->name);
  a->description = strdup(o->description ? o->description : "");
  a->platform_url = dup_or_null(o->platform_url);
  a->workspace_id = dup_or_null(o->workspace_id);
  a->token_dir = dup_or_null(o->token_dir);
  a->snapshot_path = dup_or_null(o->snapshot_path);
  a->chat_api_base = dup_or_null(o->chat_api_base);
  a->chat_model = dup_or_null(o->chat_model);
  a->chat_system_prompt = dup_or_null(o->chat_system_prompt);
  if (o->public_url) {
    a->url = strdup(o->public_url);
  } else {
    int port = mol_http_server_port(a->http);
    int n = o->at_root ? asprintf(&a->url, "http://127.0.0.1:%d/", port)
                       : asprintf(&a->url, "http://127.0.0.1:%d/agents/%s/", port, o->name);
    if (n < 0) a->url = NULL;
  }
  a->transcript = mol_transcript_new(o->transcript_lines);
  int bad = !a->name || !a->description || !a->url || !a->transcript ||
            (o->platform_url && !a->platform_url) || (o->workspace_id && !a->workspace_id) ||
            (o->token_dir && !a->token_dir) || (o->snapshot_path && !a->snapshot_path) ||
            (o->chat_api_base && !a->chat_api_base) || (o->chat_model && !a->chat_model) ||
            (o->chat_system_prompt && !a->chat_system_prompt);
  return bad ? MOL_ENOMEM : 0;
}

static int make_executor(mol_agent *a) {
  int rc = 0;
  switch (a->o.exec) {
    case MOL_AGENT_EXEC_ECHO:
      rc = mol_echo_new(&a->o.echo, &a->inner);
      break;
    case MOL_AGENT_EXEC_CHAT: {
      if ((rc = mol_agent__core_tools_make(a))) break;
      mol_chat_opts co = {.http = a->client, .api_base = a->chat_api_base, .model = a->chat_model,
                          .system_prompt = a->chat_system_prompt, .tools = a->core_tools};
      rc = mol_chat_executor_new(&co, &a->inner);
      break;
    }
    case MOL_AGENT_EXEC_HERMES: {
      mol_hermes_opts ho = {.http = a->client, .plugin_port = a->o.hermes_plugin_port,
                            .reply_port = a->o.hermes_reply_port,
                            .on_upstream = mol_agent__health_report, .upstream_arg = a};
      rc = mol_hermes_executor_new(a->loop, &ho, &a->inner);
      break;
    }
    case MOL_AGENT_EXEC_COMMAND: {
      mol_command_opts co = a->o.command;
      co.agent_name = a->name;
      co.platform_url = a->platform_url;
      co.workspace_id = a->workspace_id;
      rc = mol_command_executor_new(a->loop, &co, &a->inner);
      break;
    }
    case MOL_AGENT_EXEC_CUSTOM:
      a->inner = *a->o.custom;
      return 0;
  }
  if (!rc) {
    a->inner_live = 1;
    mol_holds_take(&a->holds); /* until the executor is freed or closed */
  }
  return rc;
}

/* The agent serves: the executor gets what setup has, the endpoints mount, the sessions are
 * read back, the gateway probe, the platform client and the initial/idle prompts start. */
static int serve(mol_agent *a, const mol_platform_opts *po) {
  mol_agent__setup_executor(a);
  int rc = mol_agent__mount(a);
  /* No turn can arrive before this returns: the sessions are read back in time. */
  if (!rc) rc = mol_agent__sessions_open(a);
  if (!rc) rc = mol_agent__health_start(a);
  if (!rc && a->platform_url) rc = mol_agent__platform_start(a, po);
  if (!rc) rc = mol_agent__prompts_start(a);
  if (!rc) mol_logi(SCOPE, "%s: serving at %s (%s executor)", a->name, a->url,
                    a->inner.name ? a->inner.name : "custom");
  return rc;
}

/* The config dir has been read (mol_agent__setup_start): the start goes on, or ends with the
 * read's error; an agent stopped meanwhile just goes on ending. */
static void on_setup_loaded(mol_agent *a, int err) {
  mol_platform_opts *po = a->start_po;
  a->start_po = NULL;
  if (!a->ending && !err) err = serve(a, po);
  if (!a->ending && err) {
    mol_loge(SCOPE, "%s: could not start: %s", a->name, mol_strerror(err));
    mol_agent__end(a, MOL_AGENT_FAILED, err);
  }
  free(po);
}

/* With a config dir the agent serves once the thread pool has read it (the executor is made
 * now: it reads the caller's options, which are borrowed for this call only). */
static int bring_up(mol_agent *a, const mol_agent_opts *o) {
  int rc = copy_opts(a, o);
  if (rc) return rc;
  mol_agent__restore(a);
  if ((rc = make_executor(a))) return rc;
  if (!o->config_dir || !*o->config_dir) return serve(a, o->platform_opts);
  if (o->platform_opts && !(a->start_po = malloc(sizeof(*a->start_po)))) return MOL_ENOMEM;
  if (a->start_po) *a->start_po = *o->platform_opts;
  rc = mol_agent__setup_start(a, o->config_dir, on_setup_loaded);
  if (!rc) mol_logi(SCOPE, "%s: reading its config dir %s", a->name, o->config_dir);
  return rc;
}

int mol_agent_start(uv_loop_t *loop, mol_http_server *http, mol_http_client *client,
                    const mol_agent_opts *opts, mol_agent_end_cb on_end, void *arg,
                    mol_agent **out) {
  int rc = check_opts(opts);
  if (!rc && (!loop || !http || !on_end)) rc = MOL_EINVAL;
  if (!rc && (opts->exec == MOL_AGENT_EXEC_CHAT || opts->exec == MOL_AGENT_EXEC_HERMES) && !client)
    rc = MOL_EINVAL;
  mol_agent *a = rc ? NULL : calloc(1, sizeof(*a));
  if (!a) {
    if (opts && opts->own_http && http) mol_http_server_close(http, 0, NULL, NULL);
    return rc ? rc : MOL_ENOMEM;
  }
  a->loop = loop;
  a->http = http;
  a->client = client;
  a->on_end = on_end;
  a->arg = arg;
  a->started_ms = uv_now(loop);
  uv_timer_init(loop, &a->timer);
  a->timer.data = a;
  mol_holds_init(&a->holds, (uv_handle_t *)&a->timer, agent_finish, a);
  rc = bring_up(a, opts);
  if (rc) {
    /* What was built closes in the background; on_end is for agents that started. */
    mol_loge(SCOPE, "%s: could not start: %s", opts->name, mol_strerror(rc));
    a->silent = 1;
    mol_agent__end(a, MOL_AGENT_FAILED, rc);
    return rc;
  }
  if (out) *out = a;
  return 0;
}

void mol_agent_stats_get(const mol_agent *a, mol_agent_stats *out) {
  static const mol_agent_stats zero;
  *out = a->st ? *a->st : zero;
  out->heartbeats = a->heartbeats;
  out->heartbeat_failures = a->heartbeat_failures;
  out->heartbeat_pushes = a->heartbeat_pushes;
  out->platform_failing = a->platform_failing;
  out->name = a->name;
  out->workspace_id = a->workspace_id ? a->workspace_id : "";
  out->platform_status = a->platform_status;
  out->url = a->url;
  out->live_turns = mol_agent__live_turns(a);
  task_store_stats(a, out);
  mol_agent__health_stats(a, out);
  out->pending_replies = (a->o.exec == MOL_AGENT_EXEC_HERMES && a->inner_live)
                             ? (unsigned)mol_hermes_pending(&a->inner) : 0;
}

mol_platform_client *mol_agent_platform_client(const mol_agent *a) { return a->pc; }
