/* agent_health.c - the model backend's health (runtime/agent_care.h).
 *
 * Upstream probes the hermes gateway once at start and aborts the boot when it does not answer
 * within HERMES_GATEWAY_READY_BUDGET_SEC: the workspace then sits in "provisioning" until the
 * platform's provision timeout marks it failed (minutes), and a gateway that dies later shows
 * only as per-turn errors. Here the agent serves anyway and says what is wrong: a probe that
 * has not succeeded by the end of its budget, or wedge_after consecutive failed requests, make
 * it "wedged" (runtime_state in every heartbeat, the reason as sample_error; the platform
 * shows the workspace degraded). While wedged the probe goes on, every PROBE_WEDGED_MS; the
 * first success, of a probe or of a turn, clears it.
 *
 * A hermes agent may fall back instead (hermes_fallback, or MOLECULE_HERMES_FALLBACK=chat):
 * when the plugin's probe has not succeeded within the budget, new turns go to the gateway's
 * chat-completions API (what upstream's operators did by hand after the plugin-port incident,
 * switching the transport), logged, and the probe then watches that backend with a budget of
 * its own. Turns already with the plugin stay with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"
#include "runtime/exec_chat.h"
#include "runtime/exec_hermes.h"
#include "runtime/setup.h"

#define SCOPE "agent"
#define PROBE_TIMEOUT_MS 5000  /* one probe, as upstream */
#define PROBE_GAP_MS 2000      /* between probes within the budget, as upstream */
#define PROBE_WEDGED_MS 5000   /* between probes while wedged */
#define DEFAULT_BUDGET_S 120
#define MIN_ENV_BUDGET_S 5
#define DEFAULT_WEDGE_AFTER 3
#define REASON_MAX 600

struct mol_agent__health {
  mol_agent *a;                /* NULL once the agent let go */
  mol_agent *owner;            /* held until this is freed: the client outlives the probe */
  char *url;                   /* what the probe GETs; NULL: no probe */
  char *auth;                  /* its Authorization header, or NULL */
  uint64_t deadline;           /* end of the start-up budget (loop time) */
  unsigned budget_s;
  unsigned wedge_after;
  unsigned consecutive;        /* backend failures in a row */
  unsigned attempts;           /* probes since the last success */
  char *reason;                /* non-NULL: wedged */
  mol_http_request *req;       /* the probe in flight */
  uv_timer_t timer;            /* next probe; the holds' last handle */
  mol_holds holds;             /* its own until the agent ends, the probe while in flight */
};

static void health_free(void *arg) {
  mol_agent__health *h = arg;
  mol_agent *owner = h->owner;
  free(h->url);
  free(h->auth);
  free(h->reason);
  free(h);
  mol_holds_drop(&owner->holds);
}

static unsigned budget_seconds(const mol_agent *a) {
  if (a->o.gateway_budget_s) return a->o.gateway_budget_s;
  const char *e = getenv("HERMES_GATEWAY_READY_BUDGET_SEC");
  char *end;
  long v = e && *e ? strtol(e, &end, 10) : 0;
  if (!e || !*e || *end || v <= 0 || v > 86400) return DEFAULT_BUDGET_S; /* upstream: not an int */
  return v < MIN_ENV_BUDGET_S ? MIN_ENV_BUDGET_S : (unsigned)v;
}

/* ---- the verdict ----------------------------------------------------------------------------- */

/* The platform hears of a change at once rather than at the next periodic beat. */
static void tell_platform(mol_agent *a) {
  if (a->ending || !a->pc_running) return;
  int rc = mol_platform_beat_soon(a->pc);
  if (rc) mol_logd(SCOPE, "%s: no heartbeat pushed: %s", a->name, mol_strerror(rc));
}

static void probe_later(mol_agent__health *h, uint64_t ms);

static void mark_wedged(mol_agent__health *h, const char *reason) {
  if (h->reason) return; /* the first reason stays, as upstream */
  h->reason = strndup(reason, REASON_MAX);
  if (!h->reason) return;
  mol_logw(SCOPE, "%s: wedged: %s", h->a->name, h->reason);
  tell_platform(h->a);
  if (h->url && !h->req) probe_later(h, PROBE_WEDGED_MS);
}

static void clear_wedge(mol_agent__health *h, const char *how) {
  h->consecutive = 0;
  h->attempts = 0;
  if (!h->reason) return;
  free(h->reason);
  h->reason = NULL;
  mol_logi(SCOPE, "%s: no longer wedged (%s)", h->a->name, how);
  tell_platform(h->a);
}

void mol_agent__health_report(int ok, const char *why, void *arg) {
  mol_agent *a = arg;
  mol_agent__health *h = a->health;
  if (!h || a->ending) return;
  if (ok) {
    clear_wedge(h, "a request succeeded");
    return;
  }
  mol_agent__st(a)->upstream_failures++;
  h->consecutive++;
  if (h->consecutive < h->wedge_after) return;
  char buf[REASON_MAX];
  snprintf(buf, sizeof(buf), "%u consecutive backend failures; last: %s", h->consecutive,
           why ? why : "unknown");
  mark_wedged(h, buf);
}

/* ---- the probe ------------------------------------------------------------------------------- */

static void probe_now(mol_agent__health *h);

static void on_probe_timer(uv_timer_t *t) { probe_now(t->data); }

static void probe_later(mol_agent__health *h, uint64_t ms) {
  uv_timer_start(&h->timer, on_probe_timer, ms, 0);
}

static int fallback_wanted(const mol_agent *a) {
  if (a->o.exec != MOL_AGENT_EXEC_HERMES || a->use_fallback || a->o.hermes_fallback < 0) return 0;
  if (a->o.hermes_fallback > 0) return 1;
  const char *e = getenv("MOLECULE_HERMES_FALLBACK");
  return e && strcmp(e, "chat") == 0;
}

/* New turns go to chat-completions; the probe watches it from now on. 0, or an error (the
 * agent then stays with the plugin, wedged). */
static int fall_back(mol_agent__health *h, const char *why) {
  mol_agent *a = h->a;
  /* It answers as a chat agent would: the core tools now, the assembled prompt below. */
  int trc = a->core_tools ? 0 : mol_agent__core_tools_make(a);
  if (trc) mol_logw(SCOPE, "%s: the fallback gets no tools: %s", a->name, mol_strerror(trc));
  mol_chat_opts co = {.http = a->client, .api_base = a->chat_api_base, .model = a->chat_model,
                      .system_prompt = a->chat_system_prompt,
                      .tools = trc ? NULL : a->core_tools,
                      .on_upstream = mol_agent__health_report, .upstream_arg = a,
                      .history = mol_agent__sessions_history, .history_arg = a};
  int rc = mol_chat_executor_new(&co, &a->fallback);
  char *url = rc ? NULL : strdup(mol_chat_models_url(&a->fallback));
  char *auth = rc || !mol_chat_auth(&a->fallback) ? NULL : strdup(mol_chat_auth(&a->fallback));
  if (rc || !url || (mol_chat_auth(&a->fallback) && !auth)) {
    if (a->fallback.self) mol_chat_executor_free(&a->fallback);
    free(url);
    free(auth);
    mol_logw(SCOPE, "%s: cannot fall back to chat-completions: %s", a->name,
             mol_strerror(rc ? rc : MOL_ENOMEM));
    return rc ? rc : MOL_ENOMEM;
  }
  mol_logw(SCOPE, "%s: the hermes plugin at %s did not answer within %us (%s); falling back to "
           "chat-completions at %s for new turns", a->name, h->url, h->budget_s, why, url);
  a->fallback_live = 1;
  a->use_fallback = 1;
  mol_agent__setup_fallback(a);
  free(h->url);
  free(h->auth);
  h->url = url;
  h->auth = auth;
  h->attempts = 0;
  h->consecutive = 0;
  h->deadline = uv_now(a->loop) + (uint64_t)h->budget_s * 1000;
  return 0;
}

static void probe_failed(mol_agent__health *h, const char *why) {
  mol_agent *a = h->a;
  mol_agent__st(a)->gateway_probe_failures++;
  h->attempts++;
  uint64_t now = uv_now(a->loop);
  mol_logd(SCOPE, "%s: gateway probe %s failed: %s", a->name, h->url, why);
  if (now >= h->deadline && !h->reason && fallback_wanted(a) && fall_back(h, why) == 0) {
    probe_later(h, 0);
    return;
  }
  if (now >= h->deadline && !h->reason) {
    char buf[REASON_MAX];
    snprintf(buf, sizeof(buf),
             "hermes-agent surface not reachable at %s after %u attempt(s) over ~%us (last: %s)",
             h->url, h->attempts, h->budget_s, why);
    mark_wedged(h, buf);
  }
  if (h->reason) {
    probe_later(h, PROBE_WEDGED_MS);
  } else {
    uint64_t left = h->deadline - now;
    probe_later(h, left < PROBE_GAP_MS ? left : PROBE_GAP_MS);
  }
}

static void on_probe_done(mol_http_request *r, int err, const mol_http_response *resp,
                          void *arg) {
  (void)r;
  mol_agent__health *h = arg;
  h->req = NULL;
  if (h->a && !h->a->ending) {
    char why[64];
    if (!err && resp->status >= 200 && resp->status <= 299) {
      if (h->attempts || h->reason) mol_logi(SCOPE, "%s: gateway %s answers", h->a->name, h->url);
      clear_wedge(h, "the gateway probe succeeded");
    } else {
      if (err) snprintf(why, sizeof(why), "%s", mol_strerror(err));
      else snprintf(why, sizeof(why), "HTTP %d", resp->status);
      probe_failed(h, why);
    }
  }
  mol_holds_drop(&h->holds); /* the probe's */
}

static void probe_now(mol_agent__health *h) {
  mol_agent *a = h->a;
  if (!a || a->ending || h->req) return;
  uint64_t now = uv_now(a->loop);
  uint64_t timeout = PROBE_TIMEOUT_MS;
  if (!h->reason && h->deadline > now && h->deadline - now < timeout) timeout = h->deadline - now;
  if (timeout < 100) timeout = 100;
  mol_http_header hdr = {"Authorization", h->auth};
  mol_http_request_opts o = {.method = "GET", .url = h->url, .headers = &hdr,
                             .nheaders = h->auth ? 1 : 0,
                             .connect_timeout_ms = (unsigned)timeout,
                             .total_timeout_ms = (unsigned)timeout};
  mol_agent__st(a)->gateway_probes++;
  int rc = mol_http_request_send(a->client, &o, on_probe_done, h, &h->req);
  if (rc) {
    h->req = NULL;
    probe_failed(h, mol_strerror(rc));
    return;
  }
  mol_holds_take(&h->holds);
}

/* ---- the agent's side ------------------------------------------------------------------------ */

static int probe_target(mol_agent__health *h, mol_agent *a) {
  const char *url = NULL, *auth = NULL;
  if (a->o.exec == MOL_AGENT_EXEC_CHAT) {
    url = mol_chat_models_url(&a->inner);
    auth = mol_chat_auth(&a->inner);
  } else if (a->o.exec == MOL_AGENT_EXEC_HERMES) {
    url = mol_hermes_health_url(&a->inner);
  }
  const char *smoke = getenv("MOLECULE_SMOKE_MODE");
  if (!url || (smoke && strcmp(smoke, "1") == 0)) return 0; /* upstream skips it in smoke mode */
  h->url = strdup(url);
  h->auth = auth ? strdup(auth) : NULL;
  return h->url && (!auth || h->auth) ? 0 : MOL_ENOMEM;
}

int mol_agent__health_start(mol_agent *a) {
  if (a->o.exec == MOL_AGENT_EXEC_CHAT) /* its verdicts, and the sessions' histories */
    mol_chat_executor_set_care(&a->inner, mol_agent__health_report, a,
                               mol_agent__sessions_history, a);
  if (a->o.exec != MOL_AGENT_EXEC_CHAT && a->o.exec != MOL_AGENT_EXEC_HERMES) return 0;
  mol_agent__health *h = calloc(1, sizeof(*h));
  if (!h) return MOL_ENOMEM;
  h->a = a;
  h->owner = a;
  mol_holds_take(&a->holds); /* until health_free */
  h->wedge_after = a->o.wedge_after ? a->o.wedge_after : DEFAULT_WEDGE_AFTER;
  h->budget_s = budget_seconds(a);
  h->deadline = uv_now(a->loop) + (uint64_t)h->budget_s * 1000;
  uv_timer_init(a->loop, &h->timer);
  h->timer.data = h;
  mol_holds_init(&h->holds, (uv_handle_t *)&h->timer, health_free, h);
  a->health = h;
  int rc = probe_target(h, a);
  if (rc) return rc; /* the agent's end closes it */
  if (h->url) {
    mol_logi(SCOPE, "%s: probing the gateway at %s (budget %us)", a->name, h->url, h->budget_s);
    probe_now(h);
  }
  return 0;
}

void mol_agent__health_fill(const mol_agent *a, mol_platform_heartbeat_payload *p) {
  if (!a->health || !a->health->reason) return;
  p->runtime_state = "wedged";
  p->sample_error = a->health->reason;
}

void mol_agent__health_stats(const mol_agent *a, mol_agent_stats *out) {
  const mol_agent__health *h = a->health;
  out->wedged = h && h->reason != NULL;
  out->fallback = a->use_fallback;
}

/* The probe in flight ends with its callback (which then drops its hold); the timer closes
 * with the last hold. */
void mol_agent__health_close(mol_agent *a) {
  mol_agent__health *h = a->health;
  if (!h) return;
  a->health = NULL;
  h->a = NULL;
  uv_timer_stop(&h->timer);
  if (h->req) mol_http_request_cancel(h->req);
  mol_holds_drop(&h->holds);
}
