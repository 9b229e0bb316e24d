/* client.c - the public HTTP client API: request construction, deadlines, completion and
 * shutdown. Connections live in client_conn.c, pools in pool.c, parsing in client_parse.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "http/client_int.h"
#include "molecule.h"

enum {
  DEFAULT_MAX_CONNS = 16,
  DEFAULT_MAX_IDLE = 16,
  DEFAULT_MAX_QUEUED = 10000,
  DEFAULT_KEEPALIVE_MS = 30 * 1000,
  DEFAULT_CONNECT_MS = 10 * 1000,
  DEFAULT_IDLE_MS = 60 * 1000,
  DEFAULT_MAX_BODY = 16 * 1024 * 1024
};

static unsigned or_default(unsigned v, unsigned d) { return v ? v : d; }

/* ---- client ----------------------------------------------------------------------------- */

static int copy_tls_opts(mol_http_client *c, const mol_tls_client_opts *t) {
  if (!t) return 0;
  c->tls_opts = *t;
  if (t->ca_file && !(c->ca_file = strdup(t->ca_file))) return MOL_ENOMEM;
  if (t->ca_pem && !(c->ca_pem = strdup(t->ca_pem))) return MOL_ENOMEM;
  c->tls_opts.ca_file = c->ca_file;
  c->tls_opts.ca_pem = c->ca_pem;
  return 0;
}

/* A proxy URL we cannot use is said once, here; the requests it would carry fail with
 * MOL_EPROXY rather than quietly going direct. The URL itself is not logged: it may hold a
 * password. */
static int proxy_setup(mol_http_proxy *p, const char *spec, const char *source) {
  if (!spec || !*spec) return 0;
  p->source = source;
  int rc = mol_http__proxy_parse(spec, p);
  if (rc == MOL_ENOMEM) return rc;
  if (rc)
    mol_loge("http", "%s: not a proxy URL we can use (want http://[user:password@]host[:port]); "
                     "requests that would go through it fail", source);
  return 0;
}

static int client_proxies(mol_http_client *c, const mol_http_proxy_opts *o) {
  const char *hvar = "the http_proxy option", *svar = "the https_proxy option";
  const char *http = o ? o->http_proxy : mol_http__proxy_env(0, &hvar);
  const char *https = o ? o->https_proxy : mol_http__proxy_env(1, &svar);
  const char *np = o ? o->no_proxy : mol_http__no_proxy_env();
  if (np && !(c->no_proxy = strdup(np))) return MOL_ENOMEM;
  int rc = proxy_setup(&c->proxy_http, http, hvar);
  return rc ? rc : proxy_setup(&c->proxy_https, https, svar);
}

const mol_http_proxy *mol_http__client_proxy(const mol_http_client *c, const mol_url *u) {
  const mol_http_proxy *p = u->https ? &c->proxy_https : &c->proxy_http;
  if (!p->set || mol_http__no_proxy_match(c->no_proxy, u->host, u->port)) return NULL;
  return p;
}

static void client_free(mol_http_client *c) {
  mol_http__origins_free(c);
  mol_http__proxy_free(&c->proxy_http);
  mol_http__proxy_free(&c->proxy_https);
  free(c->no_proxy);
  if (c->tls) mol_tls_config_free(c->tls);
  if (c->tls_insecure) mol_tls_config_free(c->tls_insecure);
  free(c->ca_file);
  free(c->ca_pem);
  free(c);
}

/* The holds' finish: closed, and every request and connection freed. */
static void client_finish(void *arg) {
  mol_http_client *c = arg;
  void (*cb)(void *) = c->close_cb;
  void *cb_arg = c->close_arg;
  client_free(c);
  if (cb) cb(cb_arg);
}

int mol_http_client_new(uv_loop_t *loop, const mol_http_client_opts *opts,
                        mol_http_client **out) {
  if (!loop || !out) return MOL_EINVAL;
  mol_http_client_opts zero = {0};
  if (!opts) opts = &zero;
  mol_http_client *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  c->loop = loop;
  c->max_conns = or_default(opts->max_conns_per_origin, DEFAULT_MAX_CONNS);
  c->max_idle = or_default(opts->max_idle_per_origin, DEFAULT_MAX_IDLE);
  c->max_queued = or_default(opts->max_queued, DEFAULT_MAX_QUEUED);
  c->keepalive_ms = or_default(opts->idle_keepalive_ms, DEFAULT_KEEPALIVE_MS);
  if (copy_tls_opts(c, opts->tls) || client_proxies(c, opts->proxy)) {
    client_free(c);
    return MOL_ENOMEM;
  }
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  c->timer_due = UINT64_MAX;
  mol_holds_init(&c->holds, (uv_handle_t *)&c->timer, client_finish, c);
  *out = c;
  return 0;
}

/* TLS configurations load the CA bundle, which is slow: made once, on the first https use. */
int mol_http__client_tls(mol_http_client *c, int insecure, mol_tls_config **out) {
  mol_tls_config **slot = insecure ? &c->tls_insecure : &c->tls;
  if (!*slot) {
    mol_tls_client_opts o = c->tls_opts;
    o.insecure_skip_verify = insecure || c->tls_opts.insecure_skip_verify;
    int rc = mol_tls_config_client(&o, slot);
    if (rc) return rc;
  }
  *out = *slot;
  return 0;
}


void mol_http_client_close(mol_http_client *c, void (*cb)(void *arg), void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  for (mol_http_request *r = c->reqs; r; r = r->next) mol_http__req_abort(r, MOL_ESHUTDOWN);
  mol_origin *o, *tmp;
  HASH_ITER(hh, c->origins, o, tmp) mol_http__origin_close_idle(o);
  mol_holds_drop(&c->holds); /* cb runs once requests and connections are freed */
}

/* ---- the client's timer: deadlines and deferred work ---------------------------------- */

static void client_on_timer(uv_timer_t *t);

static void timer_want(mol_http_client *c, uint64_t due) {
  uv_ref((uv_handle_t *)&c->timer);
  if (due >= c->timer_due) return;
  uint64_t now = uv_now(c->loop);
  c->timer_due = due;
  uv_timer_start(&c->timer, client_on_timer, due > now ? due - now : 0, 0);
}

static void unlist(mol_http_request *r) {
  mol_http_client *c = r->c;
  mol_http_request **head = &c->dhead, **tail = &c->dtail;
  if (r->listed == REQ_UNLISTED) return;
  if (r->listed == REQ_LISTED_NOW) {
    head = &c->nowhead;
    tail = &c->nowtail;
  }
  if (r->dprev) r->dprev->dnext = r->dnext;
  else *head = r->dnext;
  if (r->dnext) r->dnext->dprev = r->dprev;
  else *tail = r->dprev;
  r->dprev = r->dnext = NULL;
  r->listed = REQ_UNLISTED;
  /* Nothing waits on the timer now: a timer still armed for an earlier deadline must not
   * keep the loop running (a flag, not a timer heap operation). */
  if (!c->dhead && !c->nowhead) uv_unref((uv_handle_t *)&c->timer);
}

/* Work for the loop's next turn (a deferred callback, a resume), in the order asked. */
static void list_now(mol_http_request *r) {
  mol_http_client *c = r->c;
  if (r->listed == REQ_LISTED_NOW) return;
  unlist(r);
  r->listed = REQ_LISTED_NOW;
  r->dprev = c->nowtail;
  if (c->nowtail) c->nowtail->dnext = r;
  else c->nowhead = r;
  c->nowtail = r;
  timer_want(c, 0);
}

/* Sorted by due time, searched from the tail: a new deadline is usually the latest. */
static void list_deadline(mol_http_request *r, uint64_t due) {
  mol_http_client *c = r->c;
  if (r->listed == REQ_LISTED_DEADLINE && r->due == due) return;
  unlist(r);
  r->due = due;
  r->listed = REQ_LISTED_DEADLINE;
  mol_http_request *after = c->dtail;
  while (after && after->due > due) after = after->dprev;
  r->dprev = after;
  r->dnext = after ? after->dnext : c->dhead;
  if (r->dnext) r->dnext->dprev = r;
  else c->dtail = r;
  if (after) after->dnext = r;
  else c->dhead = r;
  timer_want(c, due);
}

/* ---- request lifetime ------------------------------------------------------------------- */

static void req_on_due(mol_http_request *r);

static void list_remove(mol_http_client *c, mol_http_request *r) {
  if (r->prev) r->prev->next = r->next;
  else c->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static void req_free(mol_http_request *r) {
  mol_buf_free(&r->wire);
  mol_buf_free(&r->body);
  mol_http_headers_free(&r->headers);
  free(r);
}

/* Cuts the request loose from its queue or connection. A connection is closed with it: it
 * may be mid-request, and nothing else can use the bytes still on their way. */
static void req_detach(mol_http_request *r) {
  if (r->o) {
    mol_origin *o = r->o;
    mol_http__origin_dequeue(o, r);
    mol_http__origin_maybe_free(o);
  }
  if (r->conn) {
    mol_conn *conn = r->conn;
    r->conn = NULL;
    conn->req = NULL;
    mol_http__conn_close(conn);
  }
}

/* The request is freed as soon as its callback returns: the caller's pointer is good only
 * until then, as documented. */
void mol_http__req_complete(mol_http_request *r, int err) {
  mol_http_client *c = r->c;
  r->state = REQ_DONE;
  list_remove(c, r);
  unlist(r);
  mol_http_response resp = {r->status, &r->headers, NULL, 0};
  if (!r->on_body) {
    resp.body = r->body.data ? r->body.data : "";
    resp.body_len = r->body.len;
  }
  r->cb(r, err, r->status ? &resp : NULL, r->arg);
  req_free(r);
  mol_holds_drop(&c->holds);
}

/* The callback always runs from the client's timer, never from the caller's stack. */
void mol_http__req_abort(mol_http_request *r, int err) {
  if (r->state == REQ_FINISHING || r->state == REQ_DONE) return;
  req_detach(r);
  r->state = REQ_FINISHING;
  r->pending_err = err;
  list_now(r);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Places the request by its earliest deadline. Reads only stamp last_activity; a request
 * found not yet expired when its place comes is placed again, so the hot path never touches
 * the list for its reads. */
void mol_http__req_arm(mol_http_request *r) {
  if (r->state == REQ_FINISHING || r->state == REQ_DONE) return;
  if (r->resume_pending) {
    list_now(r);
    return;
  }
  uint64_t due = r->total_deadline ? r->total_deadline : UINT64_MAX;
  if (r->state == REQ_CONNECTING) due = min_u64(due, r->connect_deadline);
  if (r->state == REQ_ACTIVE && !r->paused) due = min_u64(due, r->last_activity + r->idle_ms);
  if (due == UINT64_MAX) unlist(r);
  else list_deadline(r, due);
}

static int req_expired(const mol_http_request *r, uint64_t now) {
  if (r->total_deadline && now >= r->total_deadline) return 1;
  if (r->state == REQ_CONNECTING && now >= r->connect_deadline) return 1;
  return r->state == REQ_ACTIVE && !r->paused && now >= r->last_activity + r->idle_ms;
}

static void req_on_due(mol_http_request *r) {
  unlist(r);
  if (r->state == REQ_FINISHING) {
    mol_http__req_complete(r, r->pending_err);
    return;
  }
  if (r->resume_pending) {
    r->resume_pending = 0;
    r->last_activity = uv_now(r->c->loop);
    /* A request that completes while resuming is freed by then: r is not touched again. */
    if (r->state == REQ_ACTIVE && !r->paused && !mol_http__conn_resume(r->conn, r)) return;
    if (r->state == REQ_FINISHING || r->state == REQ_DONE) return;
  }
  if (req_expired(r, uv_now(r->c->loop))) mol_http__req_abort(r, MOL_ETIMEDOUT);
  else mol_http__req_arm(r);
}

/* Work due now first, then every deadline reached; each step re-reads the list heads, since a
 * callback may send, cancel or complete other requests. What a callback defers to "now"
 * runs in this same pass, after the callback has returned. */
static void client_on_timer(uv_timer_t *t) {
  mol_http_client *c = t->data;
  c->timer_due = UINT64_MAX;
  uint64_t now = uv_now(c->loop);
  for (;;) {
    mol_http_request *r = c->nowhead;
    if (!r && c->dhead && c->dhead->due <= now) r = c->dhead;
    if (!r) break;
    req_on_due(r);
  }
  if (c->dhead) timer_want(c, c->dhead->due);
}

void mol_http_request_cancel(mol_http_request *r) {
  if (r) mol_http__req_abort(r, MOL_ECANCELED);
}

void mol_http_request_pause(mol_http_request *r) {
  if (!r || r->state == REQ_FINISHING || r->state == REQ_DONE || r->paused) return;
  r->paused = 1;
  if (r->conn && r->state == REQ_ACTIVE) mol_stream_read_stop(&r->conn->s);
  mol_http__req_arm(r);
}

void mol_http_request_resume(mol_http_request *r) {
  if (!r || !r->paused || r->state == REQ_FINISHING || r->state == REQ_DONE) return;
  r->paused = 0;
  r->resume_pending = 1;
  mol_http__req_arm(r);
}

/* ---- request construction --------------------------------------------------------------- */

static int method_is(const char *m, const char *name) { return strcmp(m, name) == 0; }

static int is_idempotent(const char *m) {
  return method_is(m, "GET") || method_is(m, "HEAD") || method_is(m, "PUT") ||
         method_is(m, "DELETE") || method_is(m, "OPTIONS") || method_is(m, "TRACE");
}

static int wants_length(const char *m, size_t body_len) {
  return body_len > 0 || method_is(m, "POST") || method_is(m, "PUT") || method_is(m, "PATCH");
}

static int append_header(mol_buf *b, const char *name, const char *value) {
  int rc = mol_buf_append_str(b, name);
  if (!rc) rc = mol_buf_append(b, ": ", 2);
  if (!rc) rc = mol_buf_append_str(b, value);
  if (!rc) rc = mol_buf_append(b, "\r\n", 2);
  return rc;
}

static int append_authority(mol_buf *b, const mol_url *u);

/* Through a proxy, a plain http request names its whole URL (absolute form, RFC 9112 §3.2.2):
 * the proxy learns the origin from it. */
static int append_request_line(mol_buf *b, const char *method, const mol_url *u,
                               int absolute) {
  int rc = mol_buf_append_str(b, method);
  if (!rc) rc = mol_buf_append(b, " ", 1);
  if (!rc && absolute) rc = mol_buf_append(b, "http://", 7);
  if (!rc && absolute) rc = append_authority(b, u);
  if (!rc && (u->target_len == 0 || u->target[0] == '?')) rc = mol_buf_append(b, "/", 1);
  if (!rc) rc = mol_buf_append(b, u->target, u->target_len);
  if (!rc) rc = mol_buf_append(b, " HTTP/1.1\r\n", 11);
  return rc;
}

/* Decimal digits of v, appended. The head of every request is built here: no format string
 * (printf cost more than the rest of the head in a load generator's profile). */
static int append_uint(mol_buf *b, size_t v) {
  char tmp[24];
  size_t n = sizeof(tmp);
  do tmp[--n] = (char)('0' + v % 10); while ((v /= 10) != 0);
  return mol_buf_append(b, tmp + n, sizeof(tmp) - n);
}

static int append_authority(mol_buf *b, const mol_url *u) {
  unsigned dflt = u->https ? 443 : 80;
  int rc = u->ipv6 ? mol_buf_append(b, "[", 1) : 0;
  if (!rc) rc = mol_buf_append_str(b, u->host);
  if (!rc && u->ipv6) rc = mol_buf_append(b, "]", 1);
  if (!rc && u->port != dflt) rc = mol_buf_append(b, ":", 1);
  if (!rc && u->port != dflt) rc = append_uint(b, u->port);
  return rc;
}

static int append_host(mol_buf *b, const mol_url *u) {
  int rc = mol_buf_append(b, "Host: ", 6);
  if (!rc) rc = append_authority(b, u);
  return rc ? rc : mol_buf_append(b, "\r\n", 2);
}

static int check_header(mol_http_request *r, const mol_http_header *h, int *has_host) {
  if (!h->name || !h->value || !mol_http_valid_name(h->name, strlen(h->name)) ||
      !mol_http_valid_value(h->value, strlen(h->value)))
    return MOL_EINVAL;
  if (strcasecmp(h->name, "transfer-encoding") == 0) return MOL_EINVAL;
  if (strcasecmp(h->name, "host") == 0) {
    if (*has_host) return MOL_EINVAL; /* servers must refuse two (RFC 9112 §3.2) */
    *has_host = 1;
  }
  if (strcasecmp(h->name, "connection") == 0 && strcasestr(h->value, "close"))
    r->conn_close = 1;
  return 0;
}

static int append_user_headers(mol_http_request *r, const mol_http_request_opts *o,
                               const mol_url *u, mol_buf *b) {
  int has_host = 0, rc = 0;
  for (size_t i = 0; i < o->nheaders && !rc; i++) {
    rc = check_header(r, &o->headers[i], &has_host);
    if (!rc && strcasecmp(o->headers[i].name, "content-length") != 0)
      rc = append_header(b, o->headers[i].name, o->headers[i].value);
  }
  if (!rc && !has_host) rc = append_host(b, u);
  return rc;
}

/* Sized for the request line, the headers and the body at once: a queued request holds its
 * wire bytes until a connection is free, and thousands may queue in a burst. via is the proxy
 * a plain http request goes through (NULL: direct, or an https tunnel, where the request is
 * the origin's own). */
static int build_wire(mol_http_request *r, const mol_http_request_opts *o, const mol_url *u,
                      const char *method, const mol_http_proxy *via) {
  mol_buf *b = &r->wire;
  size_t need = strlen(method) + 2 * strlen(u->host) + u->target_len + 128 + o->body_len;
  if (via && via->auth) need += strlen(via->auth) + 24;
  for (size_t i = 0; i < o->nheaders; i++)
    need += strlen(o->headers[i].name) + strlen(o->headers[i].value) + 4;
  int rc = mol_buf_reserve(b, need);
  if (!rc) rc = append_request_line(b, method, u, via != NULL);
  if (!rc) rc = append_user_headers(r, o, u, b);
  if (!rc && via && via->auth) rc = append_header(b, "Proxy-Authorization", via->auth);
  if (!rc && wants_length(method, o->body_len)) {
    rc = mol_buf_append(b, "Content-Length: ", 16);
    if (!rc) rc = append_uint(b, o->body_len);
    if (!rc) rc = mol_buf_append(b, "\r\n", 2);
  }
  if (!rc) rc = mol_buf_append(b, "\r\n", 2);
  if (!rc && o->body_len) rc = mol_buf_append(b, o->body, o->body_len);
  return rc;
}

static void req_set_options(mol_http_request *r, const mol_http_request_opts *o,
                            const char *method) {
  r->is_head = method_is(method, "HEAD");
  r->idempotent = is_idempotent(method);
  r->insecure = o->insecure_skip_verify ? 1 : 0;
  r->connect_ms = or_default(o->connect_timeout_ms, DEFAULT_CONNECT_MS);
  r->idle_ms = or_default(o->idle_timeout_ms, DEFAULT_IDLE_MS);
  r->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
  r->on_headers = o->on_headers;
  r->on_body = o->on_body;
  if (o->total_timeout_ms) r->total_deadline = uv_now(r->c->loop) + o->total_timeout_ms;
}

static int req_build(mol_http_client *c, const mol_http_request_opts *o, mol_url *u,
                     mol_http_request **out) {
  const char *method = o->method ? o->method : "GET";
  if (!mol_http_valid_name(method, strlen(method))) return MOL_EINVAL;
  if (o->body_len && !o->body) return MOL_EINVAL;
  mol_http_request *r = calloc(1, sizeof(*r));
  if (!r) return MOL_ENOMEM;
  r->c = c;
  int rc = mol_url_parse(o->url, u);
  const mol_http_proxy *via = rc ? NULL : mol_http__client_proxy(c, u);
  if (via && via->bad) rc = MOL_EPROXY;
  if (!rc) rc = build_wire(r, o, u, method, via && !u->https ? via : NULL);
  if (rc) {
    req_free(r);
    return rc;
  }
  u->target = NULL; /* points into the caller's string, which we do not keep */
  req_set_options(r, o, method);
  *out = r;
  return 0;
}

static void req_start(mol_http_client *c, mol_http_request *r, mol_origin *o) {
  r->next = c->reqs;
  if (c->reqs) c->reqs->prev = r;
  c->reqs = r;
  mol_holds_take(&c->holds);
  mol_http__origin_enqueue(o, r, 0);
  mol_http__req_arm(r);
  mol_http__origin_pump(o);
}

int mol_http_request_send(mol_http_client *c, const mol_http_request_opts *o,
                          mol_http_done_cb cb, void *arg, mol_http_request **out) {
  if (!c || !o || !cb) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  mol_http_request *r;
  mol_url u;
  int rc = req_build(c, o, &u, &r);
  if (rc) return rc;
  mol_origin *origin = mol_http__origin_get(c, &u, r->insecure);
  if (!origin) rc = MOL_ENOMEM;
  else if (mol_http__origin_would_wait(origin) && c->nqueued >= c->max_queued) rc = MOL_ELIMIT;
  if (rc) {
    if (origin) mol_http__origin_maybe_free(origin);
    req_free(r);
    return rc;
  }
  r->cb = cb;
  r->arg = arg;
  if (out) *out = r;
  req_start(c, r, origin);
  return 0;
}
