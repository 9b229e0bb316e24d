/* agent_platform.c - an agent's life on the platform: registration (card + URL, retried with
 * back-off until it succeeds, or until the attempts allowed are spent), then the platform
 * loop (mol_platform_run) with this agent's heartbeat payload and per-beat counters, and the
 * loop's verdict: paused, deleted or lost ends the agent. */
#include <stdio.h>
#include <stdlib.h>

#include "a2a/card.h"
#include "base/log.h"
#include "molecule/uv.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"
#include "runtime/setup.h"

#define SCOPE "agent"
#define REGISTER_BACKOFF_CAP_MS 30000

/* The structured fields of this file's log lines (base/log.h). */
#define AGENT_FIELDS(a, st)                                                                  \
  MOL_FIELDS(MOL_F_STR("agent", (a)->name), MOL_F_STR("workspace_id", (a)->workspace_id), \
             MOL_F_STR("status", st))
#define REGISTER_FIELDS(a, st, err)                                                          \
  MOL_FIELDS(MOL_F_STR("agent", (a)->name), MOL_F_STR("workspace_id", (a)->workspace_id), \
             MOL_F_INT("status", st), MOL_F_ERR(err))

/* ---- the loop: payload, beats, verdict --------------------------------------------------- */

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
  p->current_task = mol_agent__current_task(a);
  p->active_tasks = (int)mol_agent__live_turns(a);
  p->capabilities = cap_bits(&a->o.caps);
  p->idle_timeout_seconds = a->o.idle_timeout_s > 0 ? a->o.idle_timeout_s : 0;
  mol_agent__health_fill(a, p);
  if (a->o.on_heartbeat) a->o.on_heartbeat(a, p, a->arg);
  mol_agent__setup_beat(a); /* the peers, on the heartbeat's cadence */
}

/* Each heartbeat's outcome, as the loop reports it. */
static void on_beat(mol_platform_client *c, int err, const mol_platform_result *res, int pushed,
                    void *arg) {
  (void)c;
  mol_agent *a = arg;
  if (a->ending) return; /* beats canceled by the stop are not failures */
  a->heartbeats++;
  a->platform_failing = err ? a->platform_failing + 1 : 0;
  if (err) {
    a->heartbeat_failures++;
    mol_logx(MOL_LOG_DEBUG, SCOPE,
             MOL_FIELDS(MOL_F_STR("agent", a->name), MOL_F_STR("workspace_id", a->workspace_id),
                        MOL_F_INT("status", res->http_status), MOL_F_ERR(err)),
             "%s: %s heartbeat failed: %s (status %d)", a->name, pushed ? "pushed" : "periodic",
             mol_strerror(err), res->http_status);
  } else if (pushed) {
    a->heartbeat_pushes++;
  }
}

static void on_platform_status(mol_platform_status st, int err, const char *server_status,
                               void *arg) {
  mol_agent *a = arg;
  a->pc_running = 0;
  if (server_status) snprintf(a->platform_status, sizeof(a->platform_status), "%s", server_status);
  if (a->ending) return;
  switch (st) {
    case MOL_PLATFORM_PAUSED:
      mol_logx(MOL_LOG_INFO, SCOPE, AGENT_FIELDS(a, "paused"), "%s: the platform paused the workspace",
               a->name);
      mol_agent__end(a, MOL_AGENT_PAUSED, 0);
      return;
    case MOL_PLATFORM_DELETED:
      mol_logx(MOL_LOG_INFO, SCOPE, AGENT_FIELDS(a, "deleted"),
               "%s: the platform deleted the workspace", a->name);
      mol_agent__end(a, MOL_AGENT_DELETED, 0);
      return;
    case MOL_PLATFORM_ERROR:
      err = err ? err : MOL_EPROTO;
      mol_logx(MOL_LOG_ERROR, SCOPE,
               MOL_FIELDS(MOL_F_STR("agent", a->name), MOL_F_STR("workspace_id", a->workspace_id),
                          MOL_F_ERR(err)),
               "%s: lost the platform: %s", a->name, mol_strerror(err));
      mol_agent__end(a, MOL_AGENT_FAILED, err);
      return;
    default: /* the loop was stopped by someone else: nothing reports this agent any more */
      mol_agent__end(a, MOL_AGENT_FAILED, MOL_ESHUTDOWN);
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

/* ---- registration ------------------------------------------------------------------------ */

static void register_now(mol_agent *a);

static void on_register_retry(uv_timer_t *t) { register_now(t->data); }

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  mol_agent *a = arg;
  if (a->ending) return;
  if (err) {
    unsigned n = a->reg_failures < 15 ? a->reg_failures : 15;
    a->reg_failures++;
    a->heartbeat_failures++;
    a->platform_failing++;
    int status = res ? res->http_status : 0;
    if (a->o.register_attempts && a->reg_failures >= a->o.register_attempts) {
      mol_logx(MOL_LOG_ERROR, SCOPE, REGISTER_FIELDS(a, status, err),
               "%s: register failed (%s, status %d); giving up after %u attempt%s", a->name,
               mol_strerror(err), status, a->reg_failures, a->reg_failures == 1 ? "" : "s");
      mol_agent__end(a, MOL_AGENT_FAILED, err);
      return;
    }
    uint64_t delay = 500ull << n;
    if (delay > REGISTER_BACKOFF_CAP_MS) delay = REGISTER_BACKOFF_CAP_MS;
    mol_logx(MOL_LOG_WARN, SCOPE, REGISTER_FIELDS(a, status, err),
             "%s: register failed (%s, status %d); retrying in %llu ms", a->name,
             mol_strerror(err), status, (unsigned long long)delay);
    uv_timer_start(&a->timer, on_register_retry, delay, 0);
    return;
  }
  snprintf(a->platform_status, sizeof(a->platform_status), "online");
  a->platform_failing = 0;
  mol_logx(MOL_LOG_INFO, SCOPE, AGENT_FIELDS(a, "online"), "%s: registered as %s at %s", a->name,
           a->workspace_id, a->url);
  if (a->o.on_registered) a->o.on_registered(a, a->arg);
  if (a->ending) return; /* the hook stopped the agent */
  mol_agent__setup_registered(a);
  int rc = start_run(a);
  if (rc) mol_agent__end(a, MOL_AGENT_FAILED, rc);
}

/* The card registered, built when the registration is sent (the platform client calls this
 * once a connection is free for it): thousands of agents registering at start wait for a
 * connection holding no card text. */
static char *register_card(void *arg) {
  mol_agent *a = arg;
  mol_a2a_card card = {.name = a->name, .description = a->description, .url = a->url,
                       .streaming = 1};
  card.skills = mol_agent__setup_card_skills(a, &card.n_skills);
  return mol_a2a_card_build(&card, MOL_A2A_CARD_V03);
}

static void register_now(mol_agent *a) {
  mol_platform_register_opts ro = {.reported_url = a->url, .agent_card_fn = register_card,
                                   .card_arg = a};
  int rc = mol_platform_register(a->pc, &ro, NULL, on_registered, a, NULL);
  if (rc) mol_agent__end(a, MOL_AGENT_FAILED, rc);
}

int mol_agent__platform_start(mol_agent *a, const mol_platform_opts *more) {
  mol_platform_opts po = more ? *more : (mol_platform_opts){0};
  po.platform_url = a->platform_url;
  po.workspace_id = a->workspace_id;
  po.token_dir = a->token_dir;
  int rc = mol_platform_client_new(a->loop, &po, &a->pc);
  if (rc) return rc;
  a->tool_env.platform = a->pc;
  mol_holds_take(&a->holds); /* until the client has closed */
  register_now(a);
  return 0;
}
