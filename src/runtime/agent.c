/* agent.c - one agent's lifecycle (see agent.h): restore, executor, A2A mount, platform
 * registration and the heartbeat / state-poll loop, and the three ways it ends.
 *
 * Ending is one path whatever the reason: stop admitting turns; for a stop, write the snapshot
 * first (so a short container grace period cannot lose it) and let live turns finish within
 * grace_ms; for pause, delete or failure, cancel live turns at once. Then the A2A server, the
 * executor, the platform client and the timer close, each asynchronously; on_end fires once
 * when the last of them is gone. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/card.h"
#include "base/clock.h"
#include "base/log.h"
#include "molecule/uv.h"
#include "base/json.h"
#include "runtime/agent_int.h"
#include "runtime/exec_chat.h"
#include "runtime/exec_command.h"
#include "runtime/exec_hermes.h"
#include "runtime/snapshot.h"

#define SCOPE "agent"
#define REGISTER_BACKOFF_CAP_MS 30000
#define DRAIN_TICK_MS 25

static void agent_end(mol_agent *a, mol_agent_end why, int err);

/* ---- teardown ------------------------------------------------------------------------------ */

static void agent_free(mol_agent *a) {
  if (a->transcript) mol_transcript_free(a->transcript);
  char *strs[] = {a->name, a->description, a->platform_url, a->workspace_id, a->token_dir,
                  a->url, a->snapshot_path, a->chat_api_base, a->chat_model,
                  a->chat_system_prompt};
  for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) free(strs[i]);
  free(a);
}

void agent_maybe_finish(mol_agent *a) {
  if (!a->ending || a->a2a || a->inner_live || a->pc || a->snap_busy || a->timer_open) return;
  if (!a->silent) {
    mol_logi(SCOPE, "%s: ended (%s)", a->name,
             a->why == MOL_AGENT_STOPPED ? "stopped" : a->why == MOL_AGENT_PAUSED ? "paused"
             : a->why == MOL_AGENT_DELETED ? "deleted" : "failed");
    a->on_end(a, a->why, a->err, a->arg);
  }
  agent_free(a);
}

static void on_timer_closed(uv_handle_t *h) {
  mol_agent *a = h->data;
  a->timer_open = 0;
  agent_maybe_finish(a);
}

static void close_timer(mol_agent *a) {
  if (a->timer_open && !uv_is_closing((uv_handle_t *)&a->timer))
    uv_close((uv_handle_t *)&a->timer, on_timer_closed);
}

static void on_exec_closed(void *arg) {
  mol_agent *a = arg;
  a->inner_live = 0;
  agent_maybe_finish(a);
}

/* Runs once no turn can reach the executor any more. */
static void close_executor(mol_agent *a) {
  if (!a->inner_live) return;
  switch (a->o.exec) {
    case MOL_AGENT_EXEC_ECHO: mol_echo_free(&a->inner); break;
    case MOL_AGENT_EXEC_CHAT: mol_chat_executor_free(&a->inner); break;
    case MOL_AGENT_EXEC_HERMES: mol_hermes_executor_close(&a->inner, on_exec_closed, a); return;
    case MOL_AGENT_EXEC_COMMAND: mol_command_executor_close(&a->inner, on_exec_closed, a); return;
    case MOL_AGENT_EXEC_CUSTOM: break; /* the caller's */
  }
  a->inner_live = 0;
}

static void on_a2a_closed(void *arg) {
  mol_agent *a = arg;
  a->a2a = NULL;
  close_executor(a);
  agent_maybe_finish(a);
}

static void close_a2a(mol_agent *a) {
  mol_http_server_unroute(a->http, a); /* the transcript route */
  if (a->a2a) mol_a2a_server_close(a->a2a, on_a2a_closed, a);
  else close_executor(a);
}

static void on_pc_closed(void *arg) {
  mol_agent *a = arg;
  a->pc = NULL;
  agent_maybe_finish(a);
}

/* ---- graceful drain ------------------------------------------------------------------------ */

static unsigned live_turns(const mol_agent *a) {
  if (!a->a2a) return 0;
  mol_a2a_server_stats s;
  mol_a2a_server_stats_get(a->a2a, &s);
  return s.live_turns;
}

static void on_drain_tick(uv_timer_t *t) {
  mol_agent *a = t->data;
  unsigned live = live_turns(a);
  if (live > 0 && uv_now(a->loop) < a->drain_until) return;
  if (live > 0) mol_logw(SCOPE, "%s: canceling %u turns still running after the grace period",
                         a->name, live);
  uv_timer_stop(t);
  close_timer(a);
  close_a2a(a);
}

static void agent_end(mol_agent *a, mol_agent_end why, int err) {
  if (a->ending) return;
  a->ending = 1;
  a->why = why;
  a->err = err;
  if (a->a2a) mol_a2a_server_drain(a->a2a);
  /* The platform client ends its own calls and loop (their callbacks see a->ending). */
  if (a->pc) mol_platform_client_close(a->pc, on_pc_closed, a);
  if (why == MOL_AGENT_STOPPED && a->snapshot_path && !a->silent) {
    int rc = agent_snapshot_start(a);
    if (rc) mol_logw(SCOPE, "%s: snapshot not written: %s", a->name, mol_strerror(rc));
  }
  if (why == MOL_AGENT_STOPPED && live_turns(a) > 0 && a->timer_open) {
    mol_logi(SCOPE, "%s: stopping; %u turns in flight get %u ms", a->name, live_turns(a),
             a->o.grace_ms);
    a->drain_until = uv_now(a->loop) + a->o.grace_ms;
    uv_timer_start(&a->timer, on_drain_tick, DRAIN_TICK_MS, DRAIN_TICK_MS);
    return;
  }
  close_timer(a);
  close_a2a(a);
}

void mol_agent_stop(mol_agent *a) {
  if (a) agent_end(a, MOL_AGENT_STOPPED, 0);
}

/* ---- platform ------------------------------------------------------------------------------ */

static unsigned cap_bits(const mol_capabilities *c) {
  return (c->heartbeat ? MOL_PLATFORM_CAP_HEARTBEAT : 0) |
         (c->scheduler ? MOL_PLATFORM_CAP_SCHEDULER : 0) |
         (c->session ? MOL_PLATFORM_CAP_SESSION : 0) |
         (c->status_mgmt ? MOL_PLATFORM_CAP_STATUS_MGMT : 0) |
         (c->retry ? MOL_PLATFORM_CAP_RETRY : 0) |
         (c->activity_decoration ? MOL_PLATFORM_CAP_ACTIVITY_DECORATION : 0) |
         (c->channel_dispatch ? MOL_PLATFORM_CAP_CHANNEL_DISPATCH : 0);
}

/* Called by the platform loop before every heartbeat, periodic or pushed, so each carries the
 * full payload (runtime_metadata included); the loop adds error_rate and sample_error from the
 * outcomes agent_turns.c records. */
static void supply(mol_platform_client *c, mol_platform_heartbeat_payload *p, void *arg) {
  (void)c;
  mol_agent *a = arg;
  p->current_task = agent_current_task(a);
  p->active_tasks = (int)live_turns(a);
  p->capabilities = cap_bits(&a->o.caps);
  p->idle_timeout_seconds = a->o.idle_timeout_s > 0 ? a->o.idle_timeout_s : 0;
}

/* Each heartbeat's outcome, as the loop reports it. */
static void on_beat(mol_platform_client *c, int err, const mol_platform_result *res, int pushed,
                    void *arg) {
  (void)c;
  mol_agent *a = arg;
  if (a->ending) return; /* beats canceled by the stop are not failures */
  a->st.heartbeats++;
  if (err) {
    a->st.heartbeat_failures++;
    mol_logd(SCOPE, "%s: %s heartbeat failed: %s (status %d)", a->name,
             pushed ? "pushed" : "periodic", mol_strerror(err), res->http_status);
  } else if (pushed) {
    a->st.heartbeat_pushes++;
  }
}

/* Upstream tells the platform at once when a task starts or ends, so the canvas shows the
 * current task and the platform's A2A proxy sees the workspace busy or free at once rather than
 * up to 30 s later. The platform loop owns every beat: it coalesces these requests (25 ms, one
 * beat in flight) and sends its full payload, error_rate and sample_error included. */
void agent_push_soon(mol_agent *a) {
  if (a->ending || !a->pc_running) return;
  int rc = mol_platform_beat_soon(a->pc);
  if (rc) mol_logd(SCOPE, "%s: no heartbeat pushed: %s", a->name, mol_strerror(rc));
}

static void on_platform_status(mol_platform_status st, int err, const char *server_status,
                               void *arg) {
  mol_agent *a = arg;
  a->pc_running = 0;
  if (server_status) snprintf(a->platform_status, sizeof(a->platform_status), "%s", server_status);
  if (a->ending) return;
  switch (st) {
    case MOL_PLATFORM_PAUSED:
      mol_logi(SCOPE, "%s: the platform paused the workspace", a->name);
      agent_end(a, MOL_AGENT_PAUSED, 0);
      return;
    case MOL_PLATFORM_DELETED:
      mol_logi(SCOPE, "%s: the platform deleted the workspace", a->name);
      agent_end(a, MOL_AGENT_DELETED, 0);
      return;
    case MOL_PLATFORM_ERROR:
      mol_loge(SCOPE, "%s: lost the platform: %s", a->name, mol_strerror(err));
      agent_end(a, MOL_AGENT_FAILED, err ? err : MOL_EPROTO);
      return;
    default: /* the loop was stopped by someone else: nothing reports this agent any more */
      agent_end(a, MOL_AGENT_FAILED, MOL_ESHUTDOWN);
      return;
  }
}

static int start_run(mol_agent *a) {
  mol_platform_run_opts ro = {
    .heartbeat_interval_ms = a->o.heartbeat_ms,
    .state_poll_interval_ms = a->o.state_poll_ms,
    .task_supplier = supply,
    .supplier_arg = a,
    .on_beat = on_beat,
    .beat_arg = a,
  };
  int rc = mol_platform_run(a->pc, &ro, on_platform_status, a);
  if (!rc) a->pc_running = 1;
  return rc;
}

static void register_now(mol_agent *a);

static void on_register_retry(uv_timer_t *t) { register_now(t->data); }

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  if (a->ending) return;
  if (err) {
    unsigned n = a->reg_failures < 15 ? a->reg_failures : 15;
    a->reg_failures++;
    uint64_t delay = 500ull << n;
    if (delay > REGISTER_BACKOFF_CAP_MS) delay = REGISTER_BACKOFF_CAP_MS;
    mol_logw(SCOPE, "%s: register failed (%s, status %d); retrying in %llu ms", a->name,
             mol_strerror(err), res ? res->http_status : 0, (unsigned long long)delay);
    a->st.heartbeat_failures++;
    uv_timer_start(&a->timer, on_register_retry, delay, 0);
    return;
  }
  snprintf(a->platform_status, sizeof(a->platform_status), "online");
  mol_logi(SCOPE, "%s: registered as %s at %s", a->name, a->workspace_id, a->url);
  int rc = start_run(a);
  if (rc) agent_end(a, MOL_AGENT_FAILED, rc);
}

static void register_now(mol_agent *a) {
  mol_a2a_card card = {.name = a->name, .description = a->description, .url = a->url,
                       .streaming = 1};
  char *json = mol_a2a_card_build(&card, MOL_A2A_CARD_V03);
  mol_platform_register_opts ro = {.reported_url = a->url, .agent_card_json = json};
  int rc = json ? mol_platform_register(a->pc, &ro, NULL, on_registered, a, NULL) : MOL_ENOMEM;
  free(json);
  if (rc) agent_end(a, MOL_AGENT_FAILED, rc);
}

static int platform_start(mol_agent *a) {
  mol_platform_opts po = {.platform_url = a->platform_url, .workspace_id = a->workspace_id,
                          .token_dir = a->token_dir};
  int rc = mol_platform_client_new(a->loop, &po, &a->pc);
  if (rc) return rc;
  register_now(a);
  return 0;
}

/* ---- start --------------------------------------------------------------------------------- */

static int valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
  return 1;
}

static int check_opts(const mol_agent_opts *o) {
  if (!o || !valid_name(o->name)) return MOL_EINVAL;
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
  } else if (asprintf(&a->url, "http://127.0.0.1:%d/agents/%s/", mol_http_server_port(a->http),
                      o->name) < 0) {
    a->url = NULL;
  }
  a->transcript = mol_transcript_new(o->transcript_lines);
  int bad = !a->name || !a->description || !a->url || !a->transcript ||
            (o->platform_url && !a->platform_url) || (o->workspace_id && !a->workspace_id) ||
            (o->token_dir && !a->token_dir) || (o->snapshot_path && !a->snapshot_path) ||
            (o->chat_api_base && !a->chat_api_base) || (o->chat_model && !a->chat_model) ||
            (o->chat_system_prompt && !a->chat_system_prompt);
  return bad ? MOL_ENOMEM : 0;
}

/* runtime.md §3.5: the state reaches the restore hook before the executor exists, and a
 * restored snapshot is deleted so that it is not restored again on every boot. */
static void restore(mol_agent *a) {
  if (!a->snapshot_path) return;
  json_t *snap = mol_snapshot_read(a->snapshot_path);
  if (!snap) return;
  json_t *state = mol_snapshot_adapter_state(snap);
  if (state) {
    agent_transcript_restore(a, state);
    if (a->o.restore) a->o.restore(state, a->o.restore_arg);
    mol_logi(SCOPE, "%s: restored from %s", a->name, a->snapshot_path);
  }
  int rc = mol_snapshot_delete(a->snapshot_path);
  if (rc) mol_logw(SCOPE, "%s: could not delete %s: %s", a->name, a->snapshot_path, mol_strerror(rc));
  json_decref(state);
  json_decref(snap);
}

static int make_executor(mol_agent *a) {
  int rc = 0;
  switch (a->o.exec) {
    case MOL_AGENT_EXEC_ECHO:
      rc = mol_echo_new(&a->o.echo, &a->inner);
      break;
    case MOL_AGENT_EXEC_CHAT: {
      mol_chat_opts co = {.http = a->client, .api_base = a->chat_api_base, .model = a->chat_model,
                          .system_prompt = a->chat_system_prompt};
      rc = mol_chat_executor_new(&co, &a->inner);
      break;
    }
    case MOL_AGENT_EXEC_HERMES: {
      mol_hermes_opts ho = {.http = a->client, .plugin_port = a->o.hermes_plugin_port,
                            .reply_port = a->o.hermes_reply_port};
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
  if (!rc) a->inner_live = 1;
  return rc;
}

/* GET /agents/<name>/transcript?since=&limit= (runtime.md §1.8): the transcript ring, for the
 * platform holding this workspace's token. Fails closed: no token yet means 401. */
static int query_int(const char *q, const char *key, long *out) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
    if (strncmp(p, key, kl) != 0 || p[kl] != '=') continue;
    char *end;
    long v = strtol(p + kl + 1, &end, 10);
    if (end == p + kl + 1 || (*end && *end != '&') || v < 0) return -1;
    *out = v;
  }
  return 0;
}

static void on_transcript(mol_http_req *r, void *arg) {
  mol_agent *a = arg;
  static const char unauth[] = "{\"error\":\"unauthorized\"}";
  static const char bad[] = "{\"error\":\"since and limit must be integers\"}";
  if (!mol_platform_check_bearer(a->pc, mol_http_req_header(r, "Authorization"))) {
    mol_http_respond(r, 401, "application/json", unauth, sizeof(unauth) - 1);
    return;
  }
  long since = 0, limit = 100;
  const char *q = mol_http_req_query(r);
  if (query_int(q, "since", &since) || query_int(q, "limit", &limit)) {
    mol_http_respond(r, 400, "application/json", bad, sizeof(bad) - 1);
    return;
  }
  json_t *out = mol_transcript_lines(a->transcript, a->name, (uint64_t)since, (size_t)limit);
  char *body = out ? mol_json_dump(out) : NULL;
  json_decref(out);
  if (body) mol_http_respond(r, 200, "application/json", body, strlen(body));
  else mol_http_respond(r, 500, NULL, NULL, 0);
  free(body);
}

static int mount(mol_agent *a) {
  char prefix[96];
  snprintf(prefix, sizeof(prefix), "/agents/%s", a->name);
  mol_a2a_skill skill = {.id = a->name, .name = a->name, .description = a->description};
  mol_a2a_card card = {.name = a->name, .description = *a->description ? a->description : a->name,
                       .url = a->url, .streaming = 1, .skills = &skill, .n_skills = 1};
  agent_meter_init(a);
  mol_a2a_server_opts so = {.card = &card, .executor = &a->meter, .prefix = prefix};
  int rc = mol_a2a_server_new(a->loop, a->http, &so, &a->a2a);
  if (rc) return rc;
  char path[128];
  snprintf(path, sizeof(path), "%s/transcript", prefix);
  return mol_http_server_route(a->http, "GET", path, 0, on_transcript, a);
}

static int bring_up(mol_agent *a, const mol_agent_opts *o) {
  int rc = copy_opts(a, o);
  if (rc) return rc;
  restore(a);
  if ((rc = make_executor(a))) return rc;
  if ((rc = mount(a))) return rc;
  return a->platform_url ? platform_start(a) : 0;
}

int mol_agent_start(uv_loop_t *loop, mol_http_server *http, mol_http_client *client,
                    const mol_agent_opts *opts, mol_agent_end_cb on_end, void *arg,
                    mol_agent **out) {
  int rc = check_opts(opts);
  if (rc || !loop || !http || !on_end) return rc ? rc : MOL_EINVAL;
  if ((opts->exec == MOL_AGENT_EXEC_CHAT || opts->exec == MOL_AGENT_EXEC_HERMES) && !client)
    return MOL_EINVAL;
  mol_agent *a = calloc(1, sizeof(*a));
  if (!a) return MOL_ENOMEM;
  a->loop = loop;
  a->http = http;
  a->client = client;
  a->on_end = on_end;
  a->arg = arg;
  a->started_ms = uv_now(loop);
  uv_timer_init(loop, &a->timer);
  a->timer.data = a;
  a->timer_open = 1;
  rc = bring_up(a, opts);
  if (rc) {
    /* What was built closes in the background; on_end is for agents that started. */
    mol_loge(SCOPE, "%s: could not start: %s", opts->name, mol_strerror(rc));
    a->silent = 1;
    agent_end(a, MOL_AGENT_FAILED, rc);
    return rc;
  }
  mol_logi(SCOPE, "%s: serving at %s (%s executor)", a->name, a->url,
           a->inner.name ? a->inner.name : "custom");
  if (out) *out = a;
  return 0;
}

void mol_agent_stats_get(const mol_agent *a, mol_agent_stats *out) {
  *out = a->st;
  out->name = a->name;
  out->workspace_id = a->workspace_id ? a->workspace_id : "";
  out->platform_status = a->platform_status;
  out->url = a->url;
  out->live_turns = live_turns(a);
  out->pending_replies = (a->o.exec == MOL_AGENT_EXEC_HERMES && a->inner_live)
                             ? (unsigned)mol_hermes_pending(&a->inner) : 0;
}
