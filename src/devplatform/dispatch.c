/* dispatch.c - one forwarded A2A call: SSRF resolution, the outbound POST, the idle timer that
 * the target's heartbeats extend, the deadline, and the mapping of the outcome onto the answer
 * (docs/devplatform.md "A2A proxy").
 *
 * Why our own timer instead of the HTTP client's idle timeout: upstream's idle timer is reset
 * by any event *of the target workspace* (its heartbeats above all), not by bytes on this
 * connection; a target that keeps heartbeating while it works never idles out. So the client
 * gets a practically infinite idle timeout and this timer cancels the request when it fires.
 *
 * Every dispatch ends in finish(): the inbound request (if any) is answered exactly once, the
 * dispatch leaves its target's list, and it is freed once its timer handle has closed. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jscan.h"
#include "base/json.h"
#include "base/log.h"
#include "devplatform/dispatch.h"
#include "molecule.h"

#define UPSTREAM_MAX_BODY (10u << 20)
#define ACTIVITY_BODY_MAX (256u << 10)

static void on_timer_closed(uv_handle_t *h) {
  mol_dp__dispatch *d = h->data;
  mol_devplatform *dp = d->dp;
  free(d->url);
  free(d->body);
  free(d);
  mol_holds_drop(&dp->holds);
}

static void unlink_and_free(mol_dp__dispatch *d) {
  mol_dp__rt *rt = mol_dp__rt_get(d->dp, d->target, 0);
  if (rt) {
    if (d->prev) d->prev->next = d->next;
    else rt->inflight = d->next;
    if (d->next) d->next->prev = d->prev;
    mol_dp__rt_maybe_drop(d->dp, rt);
  }
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

static void finish_reply(mol_dp__dispatch *d, mol_dp__reply *r) {
  if (d->req) mol_dp__respond(d->dp, d->req, r);
  d->req = NULL;
  unlink_and_free(d);
}

/* A message/send whose messageId may name a delegation of the caller: its outcome goes to the
 * ledger (delegate.c decides whether there is such a row). */
static void ledger(mol_dp__dispatch *d, mol_dp__del_outcome kind, const char *body, size_t len) {
  if (d->msgid[0] && d->caller[0] && !strcmp(d->method, "message/send"))
    mol_dp__delegation_outcome(d->dp, d->msgid, d->caller, d->target, kind, body, len);
}

static void ledger_fail(mol_dp__dispatch *d, const char *msg) {
  ledger(d, MOL_DP__DEL_FAILED, msg, strlen(msg));
}

/* A drained item that failed goes back to the queue; once the queue gives up on it, so does
 * the delegation it carried. */
static void drain_failed(mol_dp__dispatch *d, const char *msg) {
  if (mol_dp__queue_drain_done(d->dp, d->queue_id, 0, msg)) ledger_fail(d, msg);
}

static void finish_err(mol_dp__dispatch *d, int status, const char *msg) {
  mol_dp__reply r = {.retry_after = -1};
  mol_dp__reply_err(&r, status, msg);
  if (d->queue_id[0]) drain_failed(d, msg);
  else if (!d->is_drain) ledger_fail(d, msg);
  finish_reply(d, &r);
  mol_dp__reply_free(&r);
}

static void on_timer(uv_timer_t *t) {
  mol_dp__dispatch *d = t->data;
  uint64_t now = uv_now(d->dp->loop);
  d->expired = d->deadline && now >= d->deadline ? MOL_DP__EXP_DEADLINE : MOL_DP__EXP_IDLE;
  mol_logi("devplatform", "a2a to %s: %s timeout, cancelling", d->target,
           d->expired == MOL_DP__EXP_IDLE ? "idle" : "deadline");
  if (d->out) mol_http_request_cancel(d->out);
}

/* (Re)starts the idle timer, never past the deadline. */
static void arm(mol_dp__dispatch *d) {
  uint64_t now = uv_now(d->dp->loop), t = d->idle_ms;
  if (d->deadline) t = d->deadline <= now ? 0 : (d->deadline - now < t ? d->deadline - now : t);
  uv_timer_start(&d->timer, on_timer, t, 0);
}

void mol_dp__proxy_touch(mol_devplatform *dp, const char *ws) {
  mol_dp__rt *rt = mol_dp__rt_get(dp, ws, 0);
  for (mol_dp__dispatch *d = rt ? rt->inflight : NULL; d; d = d->next)
    if (d->sending && !d->expired) arm(d);
}

/* The top-level "error" of an upstream error body when it is a string, else the reason. */
static char *upstream_error(const mol_http_response *resp) {
  json_t *b = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
  const char *e = json_is_object(b) ? mol_json_str(b, "error") : NULL;
  char *out = strdup(e ? e : mol_http_reason(resp->status));
  json_decref(b);
  return out;
}

/* 1 when body is one JSON text that reads back as it is (the scanner is never more lenient
 * than jansson; a \u0000 would not read back as a C string): stored without re-encoding. */
static int stores_as_is(const char *body, size_t len) {
  mol_jscan s;
  mol_jtok t;
  mol_jscan_init(&s, body, len);
  mol_jtype first = mol_jscan_next(&s, &t);
  return first != MOL_JT_FAIL && first != MOL_JT_END && mol_jscan_skip(&s) == 0 &&
         mol_jscan_next(&s, &t) == MOL_JT_END && !mol_jscan_saw_nul(&s);
}

/* The reply as the activity row keeps it (JSON text; caller frees owned): as it came when it
 * is JSON, else re-encoded (a string for what is not JSON). */
static const char *activity_text(const mol_http_response *resp, char **owned) {
  *owned = NULL;
  if (!resp || !resp->body) return NULL;
  if (resp->body_len > ACTIVITY_BODY_MAX) return *owned = strdup("{\"truncated\":true}");
  if (stores_as_is(resp->body, resp->body_len)) return resp->body; /* NUL-terminated */
  json_t *j = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, NULL);
  if (!j) j = json_stringn(resp->body, resp->body_len);
  *owned = j ? mol_json_dump(j) : NULL;
  json_decref(j);
  return *owned;
}

static void log_activity(mol_dp__dispatch *d, int status, const mol_http_response *resp,
                         const char *err) {
  mol_devplatform *dp = d->dp;
  char *owned, summary[128];
  const char *resp_text = activity_text(resp, &owned);
  snprintf(summary, sizeof summary, "%s -> %d", d->method[0] ? d->method : "a2a", status);
  mol_dp__activity a = {.workspace_id = d->target, .activity_type = "a2a_receive",
                        .source_id = d->caller, .target_id = d->target, .method = d->method,
                        .summary = summary, .request_body = d->body, .response_body = resp_text,
                        .status = err ? "error" : "ok", .error_detail = err,
                        .duration_ms = (int64_t)(uv_now(dp->loop) - d->started)};
  mol_dp__activity_add(dp, &a, NULL);
  free(owned);
}

static int busy_error(int err) {
  return err == MOL_EOF || err == MOL_ECONNRESET || err == MOL_ETIMEDOUT || err == MOL_EPIPE;
}

static void done_response(mol_dp__dispatch *d, const mol_http_response *resp) {
  if (resp->status >= 200 && resp->status < 300) {
    if (d->queue_id[0]) mol_dp__queue_drain_done(d->dp, d->queue_id, 1, NULL);
    else log_activity(d, resp->status, resp, NULL);
    ledger(d, MOL_DP__DEL_REPLY, resp->body, resp->body_len);
    if (d->req) mol_dp__respond_raw(d->dp, d->req, resp->status, resp->body, resp->body_len);
    d->req = NULL;
    unlink_and_free(d);
    return;
  }
  char *msg = upstream_error(resp);
  if (!d->queue_id[0]) log_activity(d, resp->status, resp, msg);
  finish_err(d, resp->status, msg ? msg : "upstream error");
  free(msg);
}

static void done_failure(mol_dp__dispatch *d, int err, const mol_http_response *resp) {
  mol_devplatform *dp = d->dp;
  if (resp) { /* the status line arrived: delivered, but the body was lost */
    mol_dp__reply r = {.retry_after = -1};
    mol_dp__reply_set(&r, 502, json_pack("{s:s,s:b}", "error", "failed to read agent response",
                                         "delivery_confirmed", 1));
    if (d->queue_id[0]) {
      drain_failed(d, "failed to read agent response");
    } else {
      log_activity(d, 502, NULL, "failed to read agent response");
      ledger_fail(d, "failed to read agent response");
    }
    finish_reply(d, &r);
    mol_dp__reply_free(&r);
  } else if ((d->expired || busy_error(err)) && !dp->closing) {
    mol_dp__reply r = {.retry_after = -1};
    if (d->queue_id[0]) {
      drain_failed(d, "agent busy");
    } else {
      log_activity(d, 202, NULL, d->expired ? "idle timeout" : mol_strerror(err));
      mol_dp__queue_busy_reply(dp, d, &r);
      if (r.status == 202) ledger(d, MOL_DP__DEL_QUEUED, NULL, 0);
      else ledger_fail(d, "workspace agent busy");
    }
    finish_reply(d, &r);
    mol_dp__reply_free(&r);
  } else if (dp->closing || err == MOL_ESHUTDOWN) {
    /* A drained item stays "dispatched": the next start puts it back in the queue without
     * counting an attempt against it. */
    d->queue_id[0] = '\0';
    finish_err(d, 503, "platform shutting down");
  } else {
    if (!d->queue_id[0]) log_activity(d, 502, NULL, mol_strerror(err));
    finish_err(d, 502, "failed to reach workspace agent");
  }
}

static void on_done(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  (void)req;
  mol_dp__dispatch *d = arg;
  mol_devplatform *dp = d->dp;
  char target[MOL_DP__ID_MAX + 1];
  memcpy(target, d->target, sizeof target);
  d->sending = 0;
  dp->dispatches_sending--;
  d->out = NULL;
  uv_timer_stop(&d->timer);
  if (!err && resp) done_response(d, resp);
  else done_failure(d, err, resp);
  /* The activity row just written is an event of the target (ACTIVITY_LOGGED upstream): it
   * extends the target's other dispatches, as any event of the target does. */
  if (!dp->closing) mol_dp__proxy_touch(dp, target);
}

static void send_now(mol_dp__dispatch *d) {
  mol_devplatform *dp = d->dp;
  if (dp->closing || !dp->client) {
    d->queue_id[0] = '\0'; /* as above: requeued at the next start */
    finish_err(d, 503, "platform shutting down");
    return;
  }
  mol_http_header h[] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = "POST", .url = d->url, .headers = h, .nheaders = 1,
                             .body = d->body, .body_len = strlen(d->body),
                             .idle_timeout_ms = UINT_MAX, /* ours is the timer above */
                             .max_body_bytes = UPSTREAM_MAX_BODY};
  int rc = mol_http_request_send(dp->client, &o, on_done, d, &d->out);
  if (rc) {
    mol_logw("devplatform", "a2a to %s: cannot send: %s", d->target, mol_strerror(rc));
    finish_err(d, 500, "failed to create proxy request");
    return;
  }
  d->sending = 1;
  dp->dispatches_sending++;
  d->started = uv_now(dp->loop);
  arm(d);
}

static void on_resolved(int ok, void *arg) {
  mol_dp__dispatch *d = arg;
  if (!ok) finish_err(d, 502, "workspace URL is not publicly routable");
  else send_now(d);
}

static uint64_t deadline_for(mol_devplatform *dp, const mol_dp__dispatch_args *a) {
  uint64_t now = uv_now(dp->loop);
  if (a->x_timeout) { /* honoured as a real deadline (upstream drops it) */
    char *end;
    long n = strtol(a->x_timeout, &end, 10);
    if (!*end && n > 0) return now + (uint64_t)(n > 86400 ? 86400 : n) * 1000;
  }
  return a->caller[0] ? now + (uint64_t)dp->ceiling_s * 1000 : 0;
}

static mol_dp__dispatch *dispatch_new(mol_devplatform *dp, const mol_dp__dispatch_args *a) {
  mol_dp__dispatch *d = calloc(1, sizeof *d);
  mol_dp__rt *rt = d ? mol_dp__rt_get(dp, a->target, 1) : NULL;
  if (!rt || !(d->url = strdup(a->url)) || !(d->body = strdup(a->body))) {
    if (d) free(d->url);
    free(d);
    return NULL;
  }
  d->dp = dp;
  d->req = a->req;
  snprintf(d->target, sizeof d->target, "%s", a->target);
  snprintf(d->caller, sizeof d->caller, "%s", a->caller ? a->caller : "");
  snprintf(d->method, sizeof d->method, "%s", a->method ? a->method : "");
  snprintf(d->msgid, sizeof d->msgid, "%s", a->msgid ? a->msgid : "");
  snprintf(d->queue_id, sizeof d->queue_id, "%s", a->queue_id ? a->queue_id : "");
  d->is_drain = a->queue_id && a->queue_id[0];
  /* The override is looked up per dispatch, as upstream does. */
  unsigned idle = rt->idle_override_s ? rt->idle_override_s : dp->idle_timeout_s;
  d->idle_ms = (uint64_t)idle * 1000;
  d->deadline = deadline_for(dp, a);
  d->next = rt->inflight;
  if (rt->inflight) rt->inflight->prev = d;
  rt->inflight = d;
  uv_timer_init(dp->loop, &d->timer);
  d->timer.data = d;
  mol_holds_take(&dp->holds); /* until the timer has closed: the resolve is inside that */
  return d;
}

int mol_dp__dispatch_start(mol_devplatform *dp, const mol_dp__dispatch_args *a, mol_dp__reply *r) {
  char host[256];
  mol_dp__ssrf v = mol_dp__ssrf_url(a->url, dp->dev, host);
  if (v == MOL_DP__SSRF_BADURL || v == MOL_DP__SSRF_BLOCKED) {
    mol_dp__reply_err(r, 502, "workspace URL is not publicly routable");
    return 0;
  }
  mol_dp__dispatch *d = dispatch_new(dp, a);
  if (!d) {
    mol_dp__reply_err(r, 500, "out of memory");
    return 0;
  }
  if (v == MOL_DP__SSRF_OK) {
    send_now(d);
  } else if (mol_dp__ssrf_resolve(dp->loop, host, dp->dev, on_resolved, d) != 0) {
    finish_err(d, 502, "workspace URL is not publicly routable");
  }
  return 1;
}
