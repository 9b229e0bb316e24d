/* platform.c - the platform client: creation and close, the HTTP client shared per loop, the
 * id and URL helpers the operations use, the environment and the recorded outcomes. Calls and
 * their exchanges are call.c's. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "http/url.h"
#include "platform/platform_int.h"
#include "platform/timer.h"

/* ---- one HTTP client per loop ------------------------------------------------------------
 * Clients on the same loop share a mol_http_client (and so its keep-alive pool). The registry
 * is touched only when a client is created or freed, so a mutex there costs nothing on the
 * request path; it exists because separate loops may live on separate threads. */

struct mol_platform__shared {
  mol_holds_shared finishing; /* the clients' last handle: one idle handle for all of them,
                                 not a 152-byte timer each */
  mol_platform__later later;  /* the calls' deferred completions (call.c) */
  mol_platform__sched sched;  /* the run loops' wakes, on one timer (timer.c) */
  unsigned handles_open;      /* of those three, while closing */
  uv_loop_t *loop;
  mol_http_client *http;
  mol_platform__gate *gates; /* one per platform URL (gate.c); touched on the loop only */
  unsigned pool_max_conns, pool_max_queued; /* the first client's: the size of every gate */
  unsigned refs;
  mol_platform__shared *next;
  void (*closed_cb)(void *); /* shared_put's, once the last user is gone */
  void *closed_arg;
};

static uv_once_t shared_once = UV_ONCE_INIT;
static uv_mutex_t shared_mu;
static mol_platform__shared *shared_list;

static void shared_init(void) { uv_mutex_init(&shared_mu); }

static int shared_get(uv_loop_t *loop, const mol_platform_opts *o, mol_platform__shared **out) {
  uv_once(&shared_once, shared_init);
  uv_mutex_lock(&shared_mu);
  mol_platform__shared *s = shared_list;
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
      mol_holds_shared_init(loop, &s->finishing);
      mol_platform__later_init(loop, &s->later);
      mol_platform__sched_init(loop, &s->sched);
      s->pool_max_conns = o->pool_max_conns;
      s->pool_max_queued = o->pool_max_queued;
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

static void shared_freed(uv_handle_t *h) {
  mol_platform__shared *s = h->data;
  if (--s->handles_open) return;
  void (*cb)(void *) = s->closed_cb;
  void *arg = s->closed_arg;
  mol_platform__sched_free(&s->sched);
  free(s);
  if (cb) cb(arg);
}

/* The HTTP client has closed; then the idle handles and the wakes' timer (a client's finish may be running from it:
 * the memory goes in its close callback, on a later turn). */
static void shared_http_closed(void *arg) {
  mol_platform__shared *s = arg;
  uv_handle_t *finishing = mol_holds_shared_handle(&s->finishing);
  s->handles_open = 3;
  finishing->data = s;
  s->later.idle.data = s;
  s->sched.timer.data = s; /* no wake is left: every run has ended */
  uv_close(finishing, shared_freed);
  uv_close((uv_handle_t *)&s->later.idle, shared_freed);
  uv_close((uv_handle_t *)&s->sched.timer, shared_freed);
}

mol_platform__sched *mol_platform__sched_of(mol_platform_client *c) { return &c->shared->sched; }

mol_holds_shared *mol_platform__finishing(mol_platform_client *c) {
  return &c->shared->finishing;
}

/* Drops a reference to the loop's shared pool. cb(arg) fires once the pool no longer holds
 * anything: at once (from the caller's next line) when others still use it, after the HTTP
 * client and the clients' idle handle have closed when this was the last user - so a client's
 * close callback never fires while its connections are still open. */
static void shared_put(mol_platform__shared *s, void (*cb)(void *), void *arg) {
  uv_mutex_lock(&shared_mu);
  int last = --s->refs == 0;
  if (last) {
    mol_platform__shared **pp = &shared_list;
    while (*pp != s) pp = &(*pp)->next;
    *pp = s->next;
  }
  uv_mutex_unlock(&shared_mu);
  if (!last) {
    if (cb) cb(arg);
    return;
  }
  s->closed_cb = cb;
  s->closed_arg = arg;
  mol_http_client_close(s->http, shared_http_closed, s);
}

/* ---- small helpers ----------------------------------------------------------------------- */

int mol_platform__valid_id(const char *id) {
  if (!id || !*id || id[0] == '.' || strlen(id) > 128) return 0;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') return 0;
  return 1;
}

char *mol_platform__id_dup(const char *id) {
  char *s = mol_platform__valid_id(id) ? strdup(id) : NULL;
  for (char *p = s; p && *p; p++) *p = (char)tolower((unsigned char)*p);
  return s;
}

char *mol_platform__origin_of(const char *url) {
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

char *mol_platform__url(const mol_platform_client *c, const char *fmt, ...) {
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

/* ---- client ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

/* The longest default Origin kept as a prefix of base_url (headers are built on the stack). */
#define ORIGIN_PREFIX_MAX 256

static int set_urls(mol_platform_client *c, const mol_platform_opts *o) {
  size_t n = strlen(o->platform_url);
  while (n && o->platform_url[n - 1] == '/') n--;
  char *base = strndup(o->platform_url, n);
  if (!base) return MOL_ENOMEM;
  c->base_url = base;
  c->own_base_url = 1;
  mol_url u;
  if (mol_url_parse(c->base_url, &u)) return MOL_EURL;
  if (o->no_origin) return 0;
  c->origin = o->origin ? dup_or_null(o->origin) : mol_platform__origin_of(c->base_url);
  size_t on = c->origin ? strlen(c->origin) : 0;
  /* The usual case: the derived Origin is how base_url starts; a host's thousands of clients
   * keep its length rather than a copy each. */
  if (!o->origin && on && on < ORIGIN_PREFIX_MAX && !strncmp(c->origin, c->base_url, on)) {
    c->origin_len = (unsigned)on;
    free(c->origin);
    c->origin = NULL;
  }
  return o->origin && *o->origin && !c->origin ? MOL_ENOMEM : 0;
}

static int set_identity(mol_platform_client *c, const mol_platform_opts *o) {
  if (!mol_platform__valid_id(o->workspace_id)) return MOL_EINVAL;
  if (!(c->ws_id = strdup(o->workspace_id))) return MOL_ENOMEM;
  for (char *p = c->ws_id; *p; p++) *p = (char)tolower((unsigned char)*p);
  char *dir = NULL;
  int rc = o->token_dir && *o->token_dir ? 0 : mol_platform__default_token_dir(c->ws_id, &dir);
  if (rc) return rc;
  mol_buf b = MOL_BUF_INIT;
  rc = mol_buf_printf(&b, "%s/" MOL_PLATFORM__TOKEN_FILE, dir ? dir : o->token_dir);
  free(dir);
  if (rc) return MOL_ENOMEM;
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
  mol_platform__retry_defaults(&c->retry);
}

/* Frees the client; cb(arg) (may be NULL) fires once its share of the pool is gone too. */
static void client_free(mol_platform_client *c, void (*cb)(void *), void *arg) {
  for (mol_platform__part *p = c->parts, *next; p; p = next) {
    next = p->next;
    if (p->free) p->free(c, p);
  }
  mol_platform__shared *shared = c->shared;
  if (shared) mol_platform__gate_put(&shared->gates, c->gate);
  if (c->own_base_url) free((char *)c->base_url);
  free(c->ws_id);
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

/* The holds' finish: closed, and no call or loop holds the client any more. */
static void client_finish(void *arg) {
  mol_platform_client *c = arg;
  client_free(c, c->close_cb, c->close_arg);
}

static int client_load_state(mol_platform_client *c, const mol_platform_opts *o) {
  if (o->token && *o->token) {
    char *t = mol_str_strip_dup(o->token);
    if (!t) return MOL_ENOMEM;
    int ok = *t && strlen(t) < MOL_PLATFORM__TOKEN_MAX;
    if (ok) mol_platform__token_set(c, t);
    memset(t, 0, strlen(t));
    free(t);
    if (!ok) return MOL_EINVAL;
  } else {
    int changed;
    /* a missing or unreadable file just means "no token" */
    mol_platform__token_reload(c, &changed);
  }
  return mol_platform__cursor_load(c);
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
  c->later = &c->shared->later;
  if ((rc = mol_platform__gate_get(&c->shared->gates, c->base_url, c->shared->pool_max_conns,
                                   c->shared->pool_max_queued, &c->gate))) {
    client_free(c, NULL, NULL);
    return rc;
  }
  free((char *)c->base_url); /* the same text as the gate's */
  c->base_url = mol_platform__gate_url(c->gate);
  c->own_base_url = 0;
  c->start_ms = uv_now(loop);
  mol_holds_init_shared(&c->holds, &c->shared->finishing, client_finish, c);
  *out = c;
  return 0;
}

void mol_platform__part_add(mol_platform_client *c, mol_platform__part *p) {
  p->next = c->parts;
  c->parts = p;
}

void mol_platform__part_remove(mol_platform_client *c, mol_platform__part *p) {
  mol_platform__part **pp = &c->parts;
  while (*pp && *pp != p) pp = &(*pp)->next;
  if (*pp) *pp = p->next;
}

void mol_platform_client_close(mol_platform_client *c, void (*cb)(void *arg), void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  /* The features first (the loop's own calls end as canceled, which it expects), then the
   * calls that are left. */
  for (mol_platform__part *p = c->parts, *next; p; p = next) {
    next = p->next; /* a stop may remove its own part */
    if (p->stop) p->stop(c, p);
  }
  mol_platform__calls_shutdown(c);
  mol_holds_drop(&c->holds); /* the client's own: cb runs on a later turn, once nothing holds */
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
