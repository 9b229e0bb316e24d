/* platform.c - the platform client: creation and close, the shared per-loop HTTP client, calls
 * (mol_platform_req) and the exchange engine that every call runs its HTTP requests through. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "http/url.h"
#include "platform/platform_int.h"

/* ---- one HTTP client per loop ------------------------------------------------------------
 * Clients on the same loop share a mol_http_client (and so its keep-alive pool). The registry
 * is touched only when a client is created or freed, so a mutex there costs nothing on the
 * request path; it exists because separate loops may live on separate threads. */

struct plat_shared {
  uv_loop_t *loop;
  mol_http_client *http;
  unsigned refs;
  plat_shared *next;
};

static uv_once_t shared_once = UV_ONCE_INIT;
static uv_mutex_t shared_mu;
static plat_shared *shared_list;

static void shared_init(void) { uv_mutex_init(&shared_mu); }

static int shared_get(uv_loop_t *loop, const mol_platform_opts *o, plat_shared **out) {
  uv_once(&shared_once, shared_init);
  uv_mutex_lock(&shared_mu);
  plat_shared *s = shared_list;
  while (s && s->loop != loop) s = s->next;
  int rc = 0;
  if (!s && (s = calloc(1, sizeof(*s))) == NULL) rc = MOL_ENOMEM;
  if (!rc && !s->http) {
    mol_http_client_opts ho = {.max_conns_per_origin = o->pool_max_conns,
                               .max_idle_per_origin = o->pool_max_conns,
                               .max_queued = o->pool_max_queued ? o->pool_max_queued : 100000};
    rc = mol_http_client_new(loop, &ho, &s->http);
    if (rc) {
      free(s);
    } else {
      s->loop = loop;
      s->next = shared_list;
      shared_list = s;
    }
  }
  if (!rc) {
    s->refs++;
    *out = s;
  }
  uv_mutex_unlock(&shared_mu);
  return rc;
}

typedef struct {
  plat_shared *s;
  void (*cb)(void *);
  void *arg;
} shared_close;

static void shared_closed(void *arg) {
  shared_close *sc = arg;
  free(sc->s);
  if (sc->cb) sc->cb(sc->arg);
  free(sc);
}

/* Drops a reference to the loop's shared pool. cb(arg) fires once the pool no longer holds
 * anything: at once (from the caller's next line) when others still use it, after the HTTP
 * client has closed when this was the last user - so a client's close callback never fires
 * while its connections are still open. */
static void shared_put(plat_shared *s, void (*cb)(void *), void *arg) {
  uv_mutex_lock(&shared_mu);
  int last = --s->refs == 0;
  if (last) {
    plat_shared **pp = &shared_list;
    while (*pp != s) pp = &(*pp)->next;
    *pp = s->next;
  }
  uv_mutex_unlock(&shared_mu);
  shared_close *sc = last ? malloc(sizeof(*sc)) : NULL;
  if (sc) {
    *sc = (shared_close){s, cb, arg};
    mol_http_client_close(s->http, shared_closed, sc);
  } else {
    if (last) mol_http_client_close(s->http, free, s); /* out of memory: still close it */
    if (cb) cb(arg);
  }
}

/* ---- small helpers ----------------------------------------------------------------------- */

int plat_valid_id(const char *id) {
  if (!id || !*id || id[0] == '.' || strlen(id) > 128) return 0;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') return 0;
  return 1;
}

char *plat_id_dup(const char *id) {
  char *s = plat_valid_id(id) ? strdup(id) : NULL;
  for (char *p = s; p && *p; p++) *p = (char)tolower((unsigned char)*p);
  return s;
}

char *plat_origin_of(const char *url) {
  mol_url u;
  if (mol_url_parse(url, &u)) return NULL;
  mol_buf b = MOL_BUF_INIT;
  int rc = mol_buf_printf(&b, u.ipv6 ? "%s://[%s]" : "%s://%s", u.https ? "https" : "http",
                          u.host);
  if (!rc && u.port_explicit) rc = mol_buf_printf(&b, ":%u", (unsigned)u.port);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

char *plat_url(const mol_platform_client *c, const char *fmt, ...) {
  mol_buf b = MOL_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  int rc = mol_buf_append_str(&b, c->base_url);
  if (!rc) rc = mol_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

size_t plat_headers(const mol_platform_client *c, unsigned flags, char *auth, size_t authcap,
                    mol_http_header *h) {
  size_t n = 0;
  if ((flags & PLAT_H_AUTH) && c->token &&
      (size_t)snprintf(auth, authcap, "Bearer %s", c->token) < authcap)
    h[n++] = (mol_http_header){"Authorization", auth};
  if ((flags & PLAT_H_TENANT) && c->org_id) h[n++] = (mol_http_header){"X-Molecule-Org-Id", c->org_id};
  if ((flags & PLAT_H_TENANT) && c->origin) h[n++] = (mol_http_header){"Origin", c->origin};
  if (flags & PLAT_H_SOURCE) h[n++] = (mol_http_header){"X-Source-Workspace-Id", c->ws_id};
  if (flags & PLAT_H_WS) h[n++] = (mol_http_header){"X-Workspace-ID", c->ws_id};
  if (flags & PLAT_H_JSON) h[n++] = (mol_http_header){"Content-Type", "application/json"};
  h[n++] = (mol_http_header){"Accept", "application/json"};
  return n;
}

/* ---- client ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

static int set_urls(mol_platform_client *c, const mol_platform_opts *o) {
  size_t n = strlen(o->platform_url);
  while (n && o->platform_url[n - 1] == '/') n--;
  if (!(c->base_url = strndup(o->platform_url, n))) return MOL_ENOMEM;
  mol_url u;
  if (mol_url_parse(c->base_url, &u)) return MOL_EURL;
  if (o->no_origin) return 0;
  c->origin = o->origin ? dup_or_null(o->origin) : plat_origin_of(c->base_url);
  return o->origin && *o->origin && !c->origin ? MOL_ENOMEM : 0;
}

static int set_identity(mol_platform_client *c, const mol_platform_opts *o) {
  if (!plat_valid_id(o->workspace_id)) return MOL_EINVAL;
  if (!(c->ws_id = strdup(o->workspace_id))) return MOL_ENOMEM;
  for (char *p = c->ws_id; *p; p++) *p = (char)tolower((unsigned char)*p);
  int rc = o->token_dir && *o->token_dir ? ((c->token_dir = strdup(o->token_dir)) ? 0 : MOL_ENOMEM)
                                         : plat_default_token_dir(c->ws_id, &c->token_dir);
  if (rc) return rc;
  mol_buf b = MOL_BUF_INIT;
  if (mol_buf_printf(&b, "%s/.auth_token", c->token_dir)) return MOL_ENOMEM;
  c->token_path = mol_buf_steal(&b);
  if (o->org_id && *o->org_id && !(c->org_id = strdup(o->org_id))) return MOL_ENOMEM;
  if (o->cursor_file && *o->cursor_file && !(c->cursor_file = strdup(o->cursor_file)))
    return MOL_ENOMEM;
  return c->token_path ? 0 : MOL_ENOMEM;
}

static void set_limits(mol_platform_client *c, const mol_platform_opts *o) {
  c->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
  c->inbound_timeout_ms = o->inbound_timeout_ms ? o->inbound_timeout_ms : 15000;
  c->peer_timeout_ms = o->peer_timeout_ms ? o->peer_timeout_ms : 30000;
  c->cache_ttl_ms = o->peer_cache_ttl_ms ? o->peer_cache_ttl_ms : 300000;
  c->cache_max = o->peer_cache_max ? o->peer_cache_max : 64;
  c->send_auth_to_peers = o->send_auth_to_peers != 0;
  c->retry = o->retry;
  plat_retry_defaults(&c->retry);
}

/* Frees the client; cb(arg) (may be NULL) fires once its share of the pool is gone too. */
static void client_free(mol_platform_client *c, void (*cb)(void *), void *arg) {
  plat_cache_clear(c);
  plat_shared *shared = c->shared;
  free(c->base_url);
  free(c->ws_id);
  free(c->token_dir);
  free(c->token_path);
  if (c->token) memset(c->token, 0, strlen(c->token));
  free(c->token);
  free(c->org_id);
  free(c->origin);
  free(c->cursor_file);
  free(c->cursor);
  free(c->sample_error);
  free(c);
  if (shared) shared_put(shared, cb, arg);
  else if (cb) cb(arg);
}

static int client_load_state(mol_platform_client *c, const mol_platform_opts *o) {
  if (o->token && *o->token) {
    char *t = mol_str_strip_dup(o->token);
    if (!t) return MOL_ENOMEM;
    int ok = *t && strlen(t) < PLAT_TOKEN_MAX;
    if (ok) plat_token_set(c, t);
    memset(t, 0, strlen(t));
    free(t);
    if (!ok) return MOL_EINVAL;
  } else {
    int changed;
    plat_token_reload(c, &changed); /* a missing or unreadable file just means "no token" */
  }
  return plat_cursor_load(c);
}

int mol_platform_client_new(uv_loop_t *loop, const mol_platform_opts *o,
                            mol_platform_client **out) {
  if (!loop || !o || !out || !o->platform_url || !o->workspace_id) return MOL_EINVAL;
  mol_platform_client *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  c->loop = loop;
  set_limits(c, o);
  int rc = set_urls(c, o);
  if (!rc) rc = set_identity(c, o);
  if (!rc) rc = client_load_state(c, o);
  if (!rc) rc = shared_get(loop, o, &c->shared);
  if (rc) {
    client_free(c, NULL, NULL);
    return rc;
  }
  c->http = c->shared->http;
  c->start_ms = uv_now(loop);
  *out = c;
  return 0;
}

static void close_timer_closed(uv_handle_t *h) {
  mol_platform_client *c = h->data;
  client_free(c, c->close_cb, c->close_arg);
}

static void close_tick(uv_timer_t *t) {
  mol_platform_client *c = t->data;
  if (c->reqs || c->run || c->pending_handles) return; /* the last one re-arms us */
  uv_close((uv_handle_t *)t, close_timer_closed);
}

/* Called whenever something the closing client waits for has gone. */
void plat_client_maybe_freed(mol_platform_client *c) {
  if (c->closing && !uv_is_closing((uv_handle_t *)&c->close_timer))
    uv_timer_start(&c->close_timer, close_tick, 0, 0);
}

void mol_platform_client_close(mol_platform_client *c, void (*cb)(void *arg), void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  plat_run_shutdown(c);
  for (mol_platform_req *r = c->reqs; r; r = r->next) {
    r->shutdown = 1;
    mol_platform_cancel(r);
  }
  uv_timer_init(c->loop, &c->close_timer);
  c->close_timer.data = c;
  uv_timer_start(&c->close_timer, close_tick, 0, 0);
}

/* ---- calls ------------------------------------------------------------------------------- */

int plat_req_new(mol_platform_client *c, const mol_platform_call *call, mol_platform_cb cb,
                 void *arg, mol_platform_req **out) {
  if (!c || !cb) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  mol_platform_req *r = calloc(1, sizeof(*r));
  if (!r) return MOL_ENOMEM;
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
  req_release(r);
  c->pending_handles--;
  plat_client_maybe_freed(c);
}

static void req_free(mol_platform_req *r) {
  mol_platform_client *c = r->c;
  if (r->prev) r->prev->next = r->next;
  else c->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  if (r->timer_init) { /* the memory goes once the timer has closed */
    c->pending_handles++;
    uv_close((uv_handle_t *)&r->timer, timer_closed);
    return;
  }
  req_release(r);
  plat_client_maybe_freed(c);
}

void plat_req_abort(mol_platform_req *r) { req_free(r); }

void plat_finish(mol_platform_req *r, int err) {
  if (r->finished) return;
  r->finished = 1;
  if (r->shutdown) err = MOL_ESHUTDOWN;
  else if (r->canceled) err = MOL_ECANCELED;
  r->cb(err, &r->res, r->arg);
  req_free(r);
}

static void ensure_timer(mol_platform_req *r) {
  if (r->timer_init) return;
  uv_timer_init(r->c->loop, &r->timer); /* cannot fail for a valid loop */
  r->timer.data = r;
  r->timer_init = 1;
}

static void start_attempt(mol_platform_req *r);

static void on_timer(uv_timer_t *t) {
  mol_platform_req *r = t->data;
  if (r->deferred || r->canceled) {
    plat_finish(r, r->deferred_err);
    return;
  }
  r->sleeping = 0;
  start_attempt(r);
}

void plat_finish_later(mol_platform_req *r, int err) {
  r->deferred = 1;
  r->deferred_err = err;
  ensure_timer(r);
  uv_timer_start(&r->timer, on_timer, 0, 0);
}

void mol_platform_cancel(mol_platform_req *r) {
  if (!r || r->finished || r->canceled) return;
  r->canceled = 1;
  if (r->http) {
    mol_http_request_cancel(r->http); /* its callback finishes the call */
    return;
  }
  plat_finish_later(r, MOL_ECANCELED);
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

static void start_attempt(mol_platform_req *r) {
  unsigned ms;
  int rc = remaining_ms(r, &ms);
  mol_http_header hdr[8];
  char auth[PLAT_TOKEN_MAX + 8];
  size_t n = plat_headers(r->c, r->flags, auth, sizeof(auth), hdr);
  r->sent_token_gen = r->c->token_gen;
  mol_http_request_opts o = {.method = r->method, .url = r->url, .headers = hdr,
                             .nheaders = n, .body = r->body, .body_len = r->body_len,
                             .connect_timeout_ms = ms, .total_timeout_ms = ms};
  if (!rc) rc = mol_http_request_send(r->c->http, &o, on_http_done, r, &r->http);
  memset(auth, 0, sizeof(auth));
  if (rc) plat_finish_later(r, rc);
}

int plat_exchange(mol_platform_req *r, const char *method, char *url, char *body,
                  size_t body_len, unsigned flags, unsigned attempt_ms, plat_step_fn step) {
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
  /* What the previous exchange's response left in the result dies with that response. */
  r->res.http_status = 0;
  r->res.body = NULL;
  r->res.body_len = 0;
  r->res.error = NULL;
  r->res.retry_after_ms = 0;
  if (!url || (body_len && !body)) return MOL_ENOMEM;
  if (r->canceled) {
    plat_finish_later(r, MOL_ECANCELED);
    return 0;
  }
  start_attempt(r);
  return 0;
}

static int64_t unix_now_s(void) { return mol_unix_ms() / 1000; }

/* A 429 (or, when configured, a 5xx or transport error) on a retryable GET: sleep and retry. */
static int maybe_retry(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (!(r->flags & PLAT_RETRY)) return 0;
  int st = resp ? resp->status : 0;
  int server = r->c->retry.retry_server_errors &&
               ((err && err != MOL_ETIMEDOUT) || (!err && st >= 500));
  if (!(!err && st == 429) && !server) return 0;
  const char *ra = resp ? mol_http_headers_get(resp->headers, "Retry-After") : NULL;
  uint64_t delay;
  if (!plat_retry_delay(&r->c->retry, r->retries + 1, ra, unix_now_s(), &delay)) return 0;
  if (r->deadline && uv_now(r->c->loop) + delay >= r->deadline) return 0;
  ensure_timer(r);
  r->retries++;
  r->sleeping = 1;
  mol_logd(PLAT_SCOPE, "%s %s: status %d, retry %u in %llu ms", r->method, r->url, st,
           r->retries, (unsigned long long)delay);
  uv_timer_start(&r->timer, on_timer, delay, 0);
  return 1;
}

/* A 401 may mean the token was rotated on disk by another process (or the CLI): re-read the
 * token file once, and retry once if the token now differs from the one this attempt sent.
 * Comparing with what was sent, not with what the file held a moment ago, matters when
 * several calls were in flight: the first 401 re-reads the file for all of them. */
static int maybe_reauth(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (err || !resp || resp->status != 401 || !(r->flags & PLAT_REAUTH) || r->reauthed) return 0;
  r->reauthed = 1;
  int changed = 0;
  if (plat_token_reload(r->c, &changed)) return 0;
  if (r->c->token_gen == r->sent_token_gen) return 0;
  mol_logi(PLAT_SCOPE, "401 from %s: the token changed since this call was sent, retrying once", r->url);
  start_attempt(r);
  return 1;
}

static void on_http_done(mol_http_request *h, int err, const mol_http_response *resp,
                         void *arg) {
  (void)h;
  mol_platform_req *r = arg;
  r->http = NULL;
  r->res.attempts++;
  if (r->canceled) {
    plat_finish(r, MOL_ECANCELED);
    return;
  }
  if (maybe_reauth(r, err, resp) || maybe_retry(r, err, resp)) return;
  r->json_fresh = 0;
  r->step(r, err, resp);
}

/* ---- response helpers -------------------------------------------------------------------- */

/* Parsed once per response: result fields may already point into r->json. */
int plat_parse_body(mol_platform_req *r, const mol_http_response *resp) {
  if (r->json_fresh) return r->json ? 0 : MOL_EJSON;
  json_decref(r->json);
  r->json = NULL;
  r->json_fresh = 1;
  if (!resp->body || !resp->body_len) return MOL_EJSON;
  r->json = mol_json_parse(resp->body, resp->body_len, NULL, 0);
  return r->json ? 0 : MOL_EJSON;
}

int plat_response_err(mol_platform_req *r, int err, const mol_http_response *resp) {
  if (!resp) return err ? err : MOL_EBADRESP;
  r->res.http_status = resp->status;
  r->res.body = resp->body;
  r->res.body_len = resp->body_len;
  const char *ra = mol_http_headers_get(resp->headers, "Retry-After");
  uint64_t ms;
  if (ra && !plat_retry_after_ms(ra, unix_now_s(), &ms)) r->res.retry_after_ms = ms;
  if (err) return err;
  if (resp->status >= 200 && resp->status < 300) return 0;
  if (!plat_parse_body(r, resp)) r->res.error = mol_json_str(r->json, "error");
  mol_logd(PLAT_SCOPE, "%s %s -> %d", r->method, r->url, resp->status);
  return MOL_EHTTP;
}

/* ---- environment ------------------------------------------------------------------------- */

static const char *env2(const char *a, const char *b) {
  const char *v = getenv(a);
  if (!v || !*v) v = getenv(b);
  return v && *v ? v : NULL;
}

int mol_platform_opts_from_env(mol_platform_opts *o) {
  if (!o) return MOL_EINVAL;
  if (!o->platform_url) o->platform_url = env2("PLATFORM_URL", "MOLECULE_PLATFORM_URL");
  if (!o->workspace_id) o->workspace_id = env2("WORKSPACE_ID", "MOLECULE_WORKSPACE_ID");
  if (!o->token) o->token = env2("MOLECULE_WORKSPACE_TOKEN", "MOLECULE_WORKSPACE_TOKEN");
  if (!o->org_id) o->org_id = env2("MOLECULE_ORG_ID", "MOLECULE_ORG_ID");
  if (!o->origin) o->origin = env2("MOLECULE_ORIGIN", "MOLECULE_ORIGIN");
  if (!o->token_dir) o->token_dir = env2("MOLECULE_TOKEN_DIR", "MOLECULE_TOKEN_DIR");
  if (!o->cursor_file) o->cursor_file = env2("MOLECULE_CURSOR_FILE", "MOLECULE_CURSOR_FILE");
  return o->platform_url && o->workspace_id ? 0 : MOL_EINVAL;
}

/* ---- outcomes ---------------------------------------------------------------------------- */

void mol_platform_record_outcome(mol_platform_client *c, int ok, const char *sample_error) {
  if (!c) return;
  c->outcomes++;
  if (ok) return;
  c->failures++;
  free(c->sample_error);
  c->sample_error = strdup(sample_error ? sample_error : "");
}
