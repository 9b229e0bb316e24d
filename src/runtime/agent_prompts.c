/* agent_prompts.c - the prompts an agent sends itself (runtime/agent_care.h): initial_prompt
 * once, idle_prompt while idle. Both go to the agent's own A2A endpoint on the loopback, as
 * message/send, so they are turns like any other: metered, in the transcript, counted as
 * active_tasks.
 *
 * initial_prompt: the marker "<state dir>/.initial_prompt_done" is written (atomically) before
 * the send, as upstream does, so a restart never sends it twice; a failure to write it is
 * logged and the prompt is sent anyway. A send that could not reach the endpoint (a connection
 * error, 502, 503 or 429) is retried with back-off, 1, 2, 4, 8 s, five attempts in all; any
 * other answer is final (upstream also retries after a timeout, which re-sends a prompt that
 * may still be running). idle_prompt: first after min(interval, 60) + interval seconds, then
 * every interval, skipped while a turn runs or a prompt of ours is in flight. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"

#define SCOPE "agent"
#define INITIAL_ATTEMPTS 5
#define INITIAL_TIMEOUT_MS 600000u
#define MARKER ".initial_prompt_done"

struct mol_agent__prompts {
  mol_agent *a;                /* NULL once the agent let go */
  mol_agent *owner;            /* held until this is freed */
  char *endpoint;              /* the agent's own A2A URL on the loopback */
  char *initial, *idle, *marker;
  unsigned attempts;           /* initial-prompt sends so far */
  unsigned idle_s;
  mol_http_request *initial_req, *idle_req;
  uv_timer_t retry;            /* the next initial-prompt attempt */
  uv_timer_t idle_timer;       /* the holds' last handle */
  mol_holds holds;             /* its own until close, each request, the retry timer's close */
};

static void prompts_free(void *arg) {
  mol_agent__prompts *p = arg;
  mol_agent *owner = p->owner;
  free(p->endpoint);
  free(p->initial);
  free(p->idle);
  free(p->marker);
  free(p);
  mol_holds_drop(&owner->holds);
}

/* {"jsonrpc":"2.0","id":…,"method":"message/send","params":{"message":{…}}}; the message id
 * says which prompt it is: "initial-<8 hex>" / "idle-<8 hex>", as upstream. */
static char *send_body(const char *kind, const char *text) {
  char hex[9], id[32];
  if (mol_random_hex(hex, 4)) return NULL;
  snprintf(id, sizeof(id), "%s-%s", kind, hex);
  json_t *msg = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "role", "user", "messageId", id,
                          "kind", "message", "parts", "kind", "text", "text", text);
  json_t *req = msg ? json_pack("{s:s,s:s,s:s,s:{s:o}}", "jsonrpc", "2.0", "id", id, "method",
                                "message/send", "params", "message", msg) : NULL;
  char *s = req ? mol_json_dump(req) : NULL;
  json_decref(req);
  return s;
}

static int post(mol_agent__prompts *p, const char *kind, const char *text, unsigned timeout_ms,
                mol_http_done_cb cb, mol_http_request **req) {
  char *body = send_body(kind, text);
  if (!body) return MOL_ENOMEM;
  mol_http_header hdr = {"Content-Type", "application/json"};
  mol_http_request_opts o = {.method = "POST", .url = p->endpoint, .headers = &hdr,
                             .nheaders = 1, .body = body, .body_len = strlen(body),
                             .total_timeout_ms = timeout_ms};
  int rc = mol_http_request_send(p->a->client, &o, cb, p, req);
  free(body);
  if (!rc) mol_holds_take(&p->holds); /* until the request's callback */
  return rc;
}

/* ---- initial_prompt ------------------------------------------------------------------------- */

static void initial_send(mol_agent__prompts *p);

static void on_retry(uv_timer_t *t) { initial_send(t->data); }

static int worth_retrying(int err, const mol_http_response *resp) {
  if (err) return err != MOL_ETIMEDOUT && err != MOL_ECANCELED;
  return resp->status == 502 || resp->status == 503 || resp->status == 429;
}

static void initial_failed(mol_agent__prompts *p, const char *why, int again) {
  if (again && p->attempts < INITIAL_ATTEMPTS) {
    mol_backoff_policy bp = {.base_ms = 1000, .cap_ms = 8000, .factor = 2.0};
    uint64_t ms = mol_backoff_delay_ms(&bp, p->attempts - 1, NULL, NULL);
    mol_logw(SCOPE, "%s: Initial prompt: attempt %u failed (%s); retrying in %llu ms",
             p->a->name, p->attempts, why, (unsigned long long)ms);
    uv_timer_start(&p->retry, on_retry, ms, 0);
    return;
  }
  mol_logw(SCOPE, "%s: Initial prompt: failed after %u attempt%s - %s", p->a->name, p->attempts,
           p->attempts == 1 ? "" : "s", why);
}

static void on_initial_done(mol_http_request *r, int err, const mol_http_response *resp,
                            void *arg) {
  (void)r;
  mol_agent__prompts *p = arg;
  p->initial_req = NULL;
  if (p->a && !p->a->ending) {
    char why[64];
    if (!err && !worth_retrying(0, resp)) {
      mol_agent__st(p->a)->initial_prompts++;
      mol_logi(SCOPE, "%s: Initial prompt: completed (status=%d)", p->a->name, resp->status);
    } else {
      if (err) snprintf(why, sizeof(why), "%s", mol_strerror(err));
      else snprintf(why, sizeof(why), "HTTP %d", resp->status);
      initial_failed(p, why, worth_retrying(err, resp));
    }
  }
  mol_holds_drop(&p->holds);
}

static void initial_send(mol_agent__prompts *p) {
  if (!p->a || p->a->ending) return;
  p->attempts++;
  int rc = post(p, "initial", p->initial, INITIAL_TIMEOUT_MS, on_initial_done, &p->initial_req);
  if (rc) initial_failed(p, mol_strerror(rc), rc != MOL_ENOMEM);
}

/* The marker says it was sent before (or attempted: upstream writes it first, so a crash in
 * the middle never replays a prompt that may have run). */
static void initial_start(mol_agent__prompts *p) {
  if (access(p->marker, F_OK) == 0) {
    mol_logi(SCOPE, "%s: Initial prompt: already sent (%s exists)", p->a->name, p->marker);
    return;
  }
  char *dir = strdup(p->marker), *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = '\0';
  int rc = dir ? mol_mkdir_p(dir, 0700) : MOL_ENOMEM;
  free(dir);
  if (!rc) rc = mol_write_file_atomic(p->marker, "attempted", 9, 0644);
  if (rc)
    mol_logw(SCOPE, "%s: Initial prompt: WARNING - could not write marker at %s (%s); this boot "
             "may replay if it crashes", p->a->name, p->marker, mol_strerror(rc));
  mol_logi(SCOPE, "%s: Initial prompt: sending", p->a->name);
  initial_send(p);
}

/* ---- idle_prompt ---------------------------------------------------------------------------- */

static void on_idle_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  mol_agent__prompts *p = arg;
  p->idle_req = NULL;
  if (p->a && !p->a->ending) {
    if (!err && resp->status < 400)
      mol_logi(SCOPE, "%s: Idle loop: post ok status=%d", p->a->name, resp->status);
    else
      mol_logw(SCOPE, "%s: Idle loop: post failed - status=%d err=%s", p->a->name,
               err ? 0 : resp->status, err ? mol_strerror(err) : "none");
  }
  mol_holds_drop(&p->holds);
}

static void on_idle_tick(uv_timer_t *t) {
  mol_agent__prompts *p = t->data;
  mol_agent *a = p->a;
  if (!a || a->ending) return;
  if (mol_agent__live_turns(a) > 0 || p->initial_req || p->idle_req) {
    mol_logd(SCOPE, "%s: Idle loop: busy, skipped", a->name);
    return;
  }
  unsigned timeout_s = p->idle_s < 60 ? 60 : p->idle_s > 300 ? 300 : p->idle_s;
  mol_agent__st(a)->idle_prompts++;
  int rc = post(p, "idle", p->idle, timeout_s * 1000u, on_idle_done, &p->idle_req);
  if (rc) mol_logw(SCOPE, "%s: Idle loop: post failed - %s", a->name, mol_strerror(rc));
}

/* ---- the agent's side ----------------------------------------------------------------------- */

/* The state dir, else the token dir (~/.molecule/<workspace id> by default), else
 * ~/.molecule/agents/<name>. */
static char *marker_path(const mol_agent *a) {
  char *s = NULL;
  const char *home = getenv("HOME");
  int n;
  if (a->o.state_dir) n = asprintf(&s, "%s/" MARKER, a->o.state_dir);
  else if (a->token_dir) n = asprintf(&s, "%s/" MARKER, a->token_dir);
  else if (a->workspace_id) n = asprintf(&s, "%s/.molecule/%s/" MARKER, home ? home : ".", a->workspace_id);
  else n = asprintf(&s, "%s/.molecule/agents/%s/" MARKER, home ? home : ".", a->name);
  return n < 0 ? NULL : s;
}

static int prompts_setup(mol_agent__prompts *p, mol_agent *a) {
  const mol_agent_opts *o = &a->o;
  int port = mol_http_server_port(a->http);
  /* Where the listener is bound: a host on 127.0.0.2 or ::1 is not reachable at 127.0.0.1. */
  char host[80];
  if (mol_http_server_local_host(a->http, host, sizeof(host)))
    snprintf(host, sizeof(host), "127.0.0.1");
  if (asprintf(&p->endpoint, o->at_root ? "http://%s:%d/" : "http://%s:%d/agents/%s/", host,
               port, a->name) < 0)
    p->endpoint = NULL;
  if (o->initial_prompt && *o->initial_prompt) {
    p->initial = strdup(o->initial_prompt);
    p->marker = marker_path(a);
    if (!p->initial || !p->marker) return MOL_ENOMEM;
  }
  if (o->idle_prompt && *o->idle_prompt && !(p->idle = strdup(o->idle_prompt))) return MOL_ENOMEM;
  p->idle_s = o->idle_interval_s ? o->idle_interval_s : 600;
  return p->endpoint ? 0 : MOL_ENOMEM;
}

static void on_retry_closed(uv_handle_t *h) {
  mol_agent__prompts *p = h->data;
  mol_holds_drop(&p->holds);
}

int mol_agent__prompts_start(mol_agent *a) {
  int has_initial = a->o.initial_prompt && *a->o.initial_prompt;
  int has_idle = a->o.idle_prompt && *a->o.idle_prompt;
  if (!has_initial && !has_idle) return 0;
  mol_agent__prompts *p = calloc(1, sizeof(*p));
  if (!p) return MOL_ENOMEM;
  p->a = p->owner = a;
  mol_holds_take(&a->holds); /* until prompts_free */
  uv_timer_init(a->loop, &p->idle_timer);
  uv_timer_init(a->loop, &p->retry);
  p->idle_timer.data = p->retry.data = p;
  mol_holds_init(&p->holds, (uv_handle_t *)&p->idle_timer, prompts_free, p);
  a->prompts = p;
  int rc = prompts_setup(p, a);
  if (rc) return rc; /* the agent's end closes it */
  if (p->initial) initial_start(p);
  if (p->idle) {
    uint64_t first = (uint64_t)(p->idle_s < 60 ? p->idle_s : 60) * 1000 + (uint64_t)p->idle_s * 1000;
    uv_timer_start(&p->idle_timer, on_idle_tick, first, (uint64_t)p->idle_s * 1000);
  }
  return 0;
}

void mol_agent__prompts_close(mol_agent *a) {
  mol_agent__prompts *p = a->prompts;
  if (!p) return;
  a->prompts = NULL;
  p->a = NULL;
  uv_timer_stop(&p->idle_timer);
  mol_holds_take(&p->holds); /* the retry timer's close */
  uv_close((uv_handle_t *)&p->retry, on_retry_closed);
  if (p->initial_req) mol_http_request_cancel(p->initial_req);
  if (p->idle_req) mol_http_request_cancel(p->idle_req);
  mol_holds_drop(&p->holds);
}
