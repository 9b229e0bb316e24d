/* call.c - calls (mol_platform_req) and the exchange engine every call runs its HTTP requests
 * through: headers, the deadline, 429 (and optional 5xx) retries on GETs, one token re-read on
 * a 401, cancellation; then the operation's step function gets the final outcome.
 * mol_platform__call() is the one way an operation starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "platform/platform_int.h"
#include "platform/timer.h"

const char *mol_platform__origin(const mol_platform_client *c, char *buf, size_t cap) {
  if (!c->origin_len || c->origin_len >= cap) return c->origin;
  memcpy(buf, c->base_url, c->origin_len);
  buf[c->origin_len] = '\0';
  return buf;
}

/* Builds the headers of an exchange into h (at most 8: no exchange asks for all of them). */
static size_t headers(const mol_platform_client *c, unsigned flags, char *auth, size_t authcap,
                      char *origin, size_t origincap, mol_http_header *h) {
  const char *o = mol_platform__origin(c, origin, origincap);
  size_t n = 0;
  if ((flags & MOL_PLATFORM__H_AUTH) && c->token &&
      (size_t)snprintf(auth, authcap, "Bearer %s", c->token) < authcap)
    h[n++] = (mol_http_header){"Authorization", auth};
  if ((flags & MOL_PLATFORM__H_TENANT) && c->org_id)
    h[n++] = (mol_http_header){"X-Molecule-Org-Id", c->org_id};
  if ((flags & MOL_PLATFORM__H_TENANT) && o) h[n++] = (mol_http_header){"Origin", o};
  if (flags & MOL_PLATFORM__H_SOURCE) h[n++] = (mol_http_header){"X-Source-Workspace-Id", c->ws_id};
  if (flags & MOL_PLATFORM__H_WS) h[n++] = (mol_http_header){"X-Workspace-ID", c->ws_id};
  if ((flags & MOL_PLATFORM__H_REGKEY) && !c->token && c->reg_key[0])
    h[n++] = (mol_http_header){"Idempotency-Key", c->reg_key};
  if (flags & MOL_PLATFORM__H_JSON) h[n++] = (mol_http_header){"Content-Type", "application/json"};
  if (flags & MOL_PLATFORM__H_MULTIPART)
    h[n++] = (mol_http_header){"Content-Type",
                               "multipart/form-data; boundary=" MOL_PLATFORM__BOUNDARY};
  h[n++] = (mol_http_header){"Accept", "application/json"};
  return n;
}

/* ---- calls ------------------------------------------------------------------------------- */

static int req_new(mol_platform_client *c, const mol_platform_call *call, mol_platform_cb cb,
                   void *arg, mol_platform_req **out) {
  if (!c || !cb) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  mol_platform_req *r = calloc(1, sizeof(*r));
  if (!r) return MOL_ENOMEM;
  mol_holds_take(&c->holds); /* until the call is freed */
  r->c = c;
  r->cb = cb;
  r->arg = arg;
  if (call && call->deadline_ms) r->deadline = uv_now(c->loop) + call->deadline_ms;
  r->next = c->reqs;
  if (c->reqs) c->reqs->prev = r;
  c->reqs = r;
  *out = r;
  return 0;
}

static void req_release(mol_platform_req *r) {
  if (r->op_free) r->op_free(r);
  free(r->op);
  free(r->url);
  free(r->body);
  free(r->s1);
  free(r->s2);
  free(r->s3);
  json_decref(r->json);
  free(r);
}

static void timer_closed(uv_handle_t *h) {
  mol_platform_req *r = h->data;
  mol_platform_client *c = r->c;
  free(h);
  req_release(r);
  mol_holds_drop(&c->holds);
}

/* Takes r out of the deferred completions (only when it is finished some other way first). */
static void later_unlink(mol_platform_req *r) {
  if (!r->later_queued) return;
  mol_platform__later *l = r->c->later;
  mol_platform_req **pp = &l->head, *prev = NULL;
  while (*pp != r) {
    prev = *pp;
    pp = &(*pp)->later_next;
  }
  *pp = r->later_next;
  if (l->tail == r) l->tail = prev;
  r->later_queued = 0;
}

static void req_free(mol_platform_req *r) {
  mol_platform_client *c = r->c;
  mol_platform__gate_unqueue(r);
  mol_platform__gate_leave(r, 1); /* only if it still held a connection (it never should) */
  later_unlink(r);
  if (r->prev) r->prev->next = r->next;
  else c->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  if (r->timer) { /* the memory (and the hold) go once the timer has closed */
    uv_close((uv_handle_t *)r->timer, timer_closed);
    return;
  }
  req_release(r);
  mol_holds_drop(&c->holds);
}

void mol_platform__finish(mol_platform_req *r, int err) {
  if (r->finished) return;
  r->finished = 1;
  if (r->shutdown) err = MOL_ESHUTDOWN;
  else if (r->canceled) err = MOL_ECANCELED;
  r->cb(err, &r->res, r->arg);
  req_free(r);
}

/* 0, or MOL_ENOMEM when the timer cannot be had. */
static int ensure_timer(mol_platform_req *r) {
  if (r->timer) return 0;
  if (!(r->timer = malloc(sizeof(*r->timer)))) return MOL_ENOMEM;
  uv_timer_init(r->c->loop, r->timer); /* cannot fail for a valid loop */
  r->timer->data = r;
  return 0;
}

static void start_attempt(mol_platform_req *r);

static void on_timer(uv_timer_t *t) {
  mol_platform_req *r = t->data;
  if (r->gate_waiting) { /* the call's deadline passed while it waited for a connection */
    mol_platform__gate_unqueue(r);
    mol_platform__finish(r, MOL_ETIMEDOUT);
    return;
  }
  if (r->deferred || r->canceled) return; /* the deferred completion finishes it */
  r->sleeping = 0;
  start_attempt(r);
}

/* The idle turn: the calls deferred before it finish, oldest first (those deferred meanwhile
 * may follow in the same turn; never inside the call that deferred them). The queue stays
 * well-formed throughout: a completion may defer, cancel or close anything. */
static void on_later(uv_idle_t *idle) {
  mol_platform__later *l = (mol_platform__later *)idle; /* idle is its first member */
  mol_platform_req *last = l->tail, *r;
  int done = 0;
  uv_idle_stop(idle);
  while (!done && (r = l->head)) {
    l->head = r->later_next;
    if (!l->head) l->tail = NULL;
    r->later_queued = 0;
    done = r == last;
    mol_platform__finish(r, r->deferred_err);
  }
  if (l->head) uv_idle_start(idle, on_later);
}

void mol_platform__later_init(uv_loop_t *loop, mol_platform__later *l) {
  uv_idle_init(loop, &l->idle);
  l->head = l->tail = NULL;
}

void mol_platform__finish_later(mol_platform_req *r, int err) {
  r->deferred_err = err;
  if (r->timer) uv_timer_stop(r->timer); /* a sleep or a deadline no longer matters */
  if (r->deferred) return;
  r->deferred = 1;
  mol_platform__later *l = r->c->later;
  r->later_next = NULL;
  r->later_queued = 1;
  if (l->tail) l->tail->later_next = r;
  else l->head = r;
  l->tail = r;
  uv_idle_start(&l->idle, on_later);
}

void mol_platform_cancel(mol_platform_req *r) {
  if (!r || r->finished || r->canceled) return;
  r->canceled = 1;
  mol_platform__gate_unqueue(r);
  if (r->saving) return; /* the token save's completion finishes the call */
  if (r->http) {
    mol_http_request_cancel(r->http); /* its callback finishes the call */
    return;
  }
  mol_platform__finish_later(r, MOL_ECANCELED);
}

int mol_platform__call(mol_platform_client *c, const mol_platform_call *call, mol_platform_cb cb,
                       void *arg, mol_platform__start_fn start, const void *ctx,
                       mol_platform_req **out) {
  mol_platform_req *r;
  int rc = req_new(c, call, cb, arg, &r);
  if (rc) return rc;
  if ((rc = start(r, ctx))) {
    req_free(r); /* never started: no callback */
    return rc;
  }
  if (out) *out = r;
  return 0;
}

void mol_platform__calls_shutdown(mol_platform_client *c) {
  for (mol_platform_req *r = c->reqs; r; r = r->next) {
    r->shutdown = 1;
    mol_platform_cancel(r);
  }
}

/* ---- the exchange engine ----------------------------------------------------------------- */

static int remaining_ms(mol_platform_req *r, unsigned *ms) {
  *ms = r->attempt_ms;
  if (!r->deadline) return 0;
  uint64_t now = uv_now(r->c->loop);
  if (now >= r->deadline) return MOL_ETIMEDOUT;
  if (r->deadline - now < *ms) *ms = (unsigned)(r->deadline - now);
  return 0;
}

static void on_http_done(mol_http_request *h, int err, const mol_http_response *resp, void *arg);

/* Sends the attempt now: its connection is free (or it bypasses the gate), so the attempt's
 * timeout measures the platform from here. */
void mol_platform__attempt_go(mol_platform_req *r) {
  if (r->timer) uv_timer_stop(r->timer); /* a deadline armed while it waited */
  unsigned ms;
  int rc = remaining_ms(r, &ms);
  if (!rc && !r->url) rc = r->build(r); /* a late exchange: its text is made now */
  mol_http_header hdr[8];
  char auth[MOL_PLATFORM__TOKEN_MAX + 8], origin[256];
  size_t n = headers(r->c, r->flags, auth, sizeof(auth), origin, sizeof(origin), hdr);
  r->sent_token_gen = r->c->token_gen;
  mol_http_request_opts o = {.method = r->method, .url = r->url, .headers = hdr,
                             .nheaders = n, .body = r->body, .body_len = r->body_len,
                             .connect_timeout_ms = ms, .total_timeout_ms = ms};
  if (!rc) rc = mol_http_request_send(r->c->http, &o, on_http_done, r, &r->http);
  memset(auth, 0, sizeof(auth));
  if (rc) {
    mol_platform__gate_leave(r, 0); /* the caller hands the connection on */
    mol_platform__finish_later(r, rc);
  }
}

/* An attempt waits at the gate (gate.c) until a connection to the platform is free; only its
 * call's deadline, if any, runs meanwhile. */
static void start_attempt(mol_platform_req *r) {
  int rc = mol_platform__gate_enter(r);
  if (rc < 0) {
    mol_platform__finish_later(r, rc);
    return;
  }
  if (rc) {
    mol_platform__attempt_go(r);
    return;
  }
  if (r->deadline) {
    uint64_t now = uv_now(r->c->loop);
    if (ensure_timer(r)) { /* no deadline can be kept: the call ends */
      mol_platform__gate_unqueue(r);
      mol_platform__finish_later(r, MOL_ENOMEM);
      return;
    }
    uv_timer_start(r->timer, on_timer, r->deadline > now ? r->deadline - now : 0, 0);
  }
}

/* Sets the exchange's fields; the text is either given (url, body) or built when sent. */
static void exchange_set(mol_platform_req *r, const char *method, char *url, char *body,
                         size_t body_len, unsigned flags, unsigned attempt_ms,
                         mol_platform__step_fn step) {
  free(r->url);
  free(r->body);
  r->method = method;
  r->url = url;
  r->body = body;
  r->body_len = body_len;
  r->flags = flags;
  r->attempt_ms = attempt_ms;
  r->retries = 0;
  r->reauthed = 0;
  r->step = step;
  r->build = NULL;
  /* What the previous exchange's response left in the result dies with that response. */
  r->res.http_status = 0;
  r->res.body = NULL;
  r->res.body_len = 0;
  r->res.error = NULL;
  r->res.retry_after_ms = 0;
}

static int exchange_start(mol_platform_req *r) {
  if (r->canceled) {
    mol_platform__finish_later(r, MOL_ECANCELED);
    return 0;
  }
  start_attempt(r);
  return 0;
}

int mol_platform__exchange(mol_platform_req *r, const char *method, char *url, char *body,
                           size_t body_len, unsigned flags, unsigned attempt_ms,
                           mol_platform__step_fn step) {
  exchange_set(r, method, url, body, body_len, flags, attempt_ms, step);
  if (!url || (body_len && !body)) return MOL_ENOMEM;
  return exchange_start(r);
}

int mol_platform__exchange_late(mol_platform_req *r, const char *method,
                                mol_platform__build_fn build, unsigned flags,
                                unsigned attempt_ms, mol_platform__step_fn step) {
  exchange_set(r, method, NULL, NULL, 0, flags, attempt_ms, step);
  r->build = build;
  return exchange_start(r);
}

static int64_t unix_now_s(void) { return mol_unix_ms() / 1000; }

/* A 429 (or, when configured, a 5xx or transport error) on a retryable GET: sleep and retry. */
static int maybe_retry(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (!(r->flags & MOL_PLATFORM__RETRY)) return 0;
  int st = resp ? resp->status : 0;
  int server = r->c->retry.retry_server_errors &&
               ((err && err != MOL_ETIMEDOUT) || (!err && st >= 500));
  if (!(!err && st == 429) && !server) return 0;
  const char *ra = resp ? mol_http_headers_get(resp->headers, "Retry-After") : NULL;
  uint64_t delay;
  if (!mol_platform__retry_delay(&r->c->retry, r->retries + 1, ra, unix_now_s(), &delay)) return 0;
  if (r->deadline && uv_now(r->c->loop) + delay >= r->deadline) return 0;
  if (ensure_timer(r)) return 0; /* out of memory: the response stands */
  r->retries++;
  r->sleeping = 1;
  mol_logd(MOL_PLATFORM__SCOPE, "%s %s: status %d, retry %u in %llu ms", r->method, r->url, st,
           r->retries, (unsigned long long)delay);
  mol_platform__arm(r->c, MOL_PLATFORM__ARM_RETRY, r->timer, on_timer, delay);
  return 1;
}

/* A 401 may mean the token was rotated on disk by another process (or the CLI): re-read the
 * token file once, and retry once if the token now differs from the one this attempt sent.
 * Comparing with what was sent, not with what the file held a moment ago, matters when
 * several calls were in flight: the first 401 re-reads the file for all of them. */
static int maybe_reauth(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (err || !resp || resp->status != 401 || !(r->flags & MOL_PLATFORM__REAUTH) || r->reauthed)
    return 0;
  r->reauthed = 1;
  int changed = 0;
  if (mol_platform__token_reload(r->c, &changed)) return 0;
  if (r->c->token_gen == r->sent_token_gen) return 0;
  mol_logi(MOL_PLATFORM__SCOPE,
           "401 from %s: the token changed since this call was sent, retrying once", r->url);
  start_attempt(r);
  return 1;
}

static void on_http_done(mol_http_request *h, int err, const mol_http_response *resp,
                         void *arg) {
  (void)h;
  mol_platform_req *r = arg;
  r->http = NULL;
  r->res.attempts++;
  mol_platform__gate_leave(r, 1); /* the connection goes to the oldest waiting exchange */
  if (r->canceled) {
    mol_platform__finish(r, MOL_ECANCELED);
    return;
  }
  if (maybe_reauth(r, err, resp) || maybe_retry(r, err, resp)) return;
  r->json_fresh = 0;
  r->step(r, err, resp);
}

/* ---- response helpers -------------------------------------------------------------------- */

/* Parsed once per response: result fields may already point into r->json. */
int mol_platform__parse_body(mol_platform_req *r, const mol_http_response *resp) {
  if (r->json_fresh) return r->json ? 0 : MOL_EJSON;
  json_decref(r->json);
  r->json = NULL;
  r->json_fresh = 1;
  if (!resp->body || !resp->body_len) return MOL_EJSON;
  r->json = mol_json_parse(resp->body, resp->body_len, NULL, 0);
  return r->json ? 0 : MOL_EJSON;
}

int mol_platform__response_err(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (!resp) return err ? err : MOL_EBADRESP;
  r->res.http_status = resp->status;
  r->res.body = resp->body;
  r->res.body_len = resp->body_len;
  const char *ra = mol_http_headers_get(resp->headers, "Retry-After");
  uint64_t ms;
  if (ra && !mol_platform__retry_after_ms(ra, unix_now_s(), &ms)) r->res.retry_after_ms = ms;
  if (err) return err;
  if (resp->status >= 200 && resp->status < 300) return 0;
  if (!mol_platform__parse_body(r, resp)) r->res.error = mol_json_str(r->json, "error");
  mol_logx(MOL_LOG_DEBUG, MOL_PLATFORM__SCOPE,
           MOL_FIELDS(MOL_F_STR("workspace_id", r->c->ws_id), MOL_F_INT("status", resp->status),
                      MOL_F_STR("err", r->res.error)),
           "%s %s -> %d", r->method, r->url, resp->status);
  return MOL_EHTTP;
}

