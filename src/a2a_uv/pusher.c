/* pusher.c - push-notification delivery (see pusher.h).
 *
 * One channel per (task, config): a queue of notifications waiting, the one being delivered,
 * and its attempt. A channel is busy from the start of an attempt (an address lookup or an HTTP
 * request in flight, or the wait before a retry) to its outcome, so a channel delivers in
 * order. Channels are plain memory: lookups and requests hold their channel through their
 * callback (which always fires), and the retries share the pusher's one timer. A channel with
 * nothing waiting and nothing busy is freed. The pusher lives by its holds (base/holds.h): its
 * own until close, and each lookup and request in flight. */
#include "a2a_uv/pusher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "a2a/codec.h"
#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/holds.h"
#include "base/json.h"
#include "http/ssrf.h"
#include "molecule.h"

typedef struct body {
  int refs;
  size_t len;
  char data[];
} body;

typedef struct note {
  struct note *next;
  body *b;
} note;

typedef struct channel {
  UT_hash_handle hh;
  mol_a2a_pusher *p;
  char *key;                  /* task id "\n" config id */
  char *url, *token, *auth;   /* auth: the Authorization value, or NULL */
  mol_a2a_version version;
  note *head, *tail;          /* waiting */
  size_t queued;
  body *current;              /* being delivered */
  unsigned attempt;           /* attempts made for current */
  int busy;                   /* an attempt or a retry wait is under way */
  int in_callback;            /* a lookup or request holds the channel */
  mol_http_request *req;
  uint64_t due;               /* retry time (uv_now) while waiting */
  struct channel *retry_next; /* the pusher's retry list */
} channel;

struct mol_a2a_pusher {
  uv_loop_t *loop;
  mol_a2a_push_opts o;
  mol_ssrf_policy policy;
  channel *channels;
  channel *retrying;
  uv_timer_t timer;               /* the retries; the holds' last handle */
  mol_a2a_push_stats st;
  mol_holds holds;                /* its own until close; each lookup and request in flight */
  int closing;
  void (*close_cb)(void *);
  void *close_arg;
  mol_a2a_push_stats *last;
};

/* ---- bodies and notes ------------------------------------------------------------------------ */

static body *body_ref(body *b) {
  b->refs++;
  return b;
}

static void body_unref(body *b) {
  if (b && --b->refs == 0) free(b);
}

/* v0.3: the Task; v1.0: a StreamResponse carrying it. */
static body *body_new(const mol_a2a_task *t, mol_a2a_version v) {
  json_t *task = mol_a2a_task_to_json(t, v, -1);
  if (task && v == MOL_A2A_V10) task = json_pack("{s:o}", "task", task);
  char *text = task ? mol_json_dump(task) : NULL;
  json_decref(task);
  size_t n = text ? strlen(text) : 0;
  body *b = text ? malloc(sizeof(*b) + n + 1) : NULL;
  if (b) {
    b->refs = 1;
    b->len = n;
    memcpy(b->data, text, n + 1);
  }
  free(text);
  return b;
}

/* ---- channels -------------------------------------------------------------------------------- */

static void channel_free(channel *c) {
  mol_a2a_pusher *p = c->p;
  HASH_DEL(p->channels, c);
  for (note *n = c->head, *next; n; n = next) {
    next = n->next;
    body_unref(n->b);
    free(n);
  }
  p->st.pending -= c->queued + (c->current ? 1 : 0);
  body_unref(c->current);
  free(c->key);
  free(c->url);
  free(c->token);
  free(c->auth);
  free(c);
}

static int set_str(char **dst, const char *src) {
  char *copy = src ? strdup(src) : NULL;
  if (src && !copy) return MOL_ENOMEM;
  free(*dst);
  *dst = copy;
  return 0;
}

/* The channel takes the config's current target: a config set again with the same id sends
 * what follows to its new URL. */
static int channel_target(channel *c, const mol_a2a_push_config *cfg) {
  char auth[2 * MOL_A2A_PUSH_FIELD_MAX + 2];
  int has_auth = cfg->auth_scheme && cfg->auth_credentials;
  if (has_auth) snprintf(auth, sizeof(auth), "%s %s", cfg->auth_scheme, cfg->auth_credentials);
  c->version = cfg->version;
  return set_str(&c->url, cfg->url) || set_str(&c->token, cfg->token) ||
         set_str(&c->auth, has_auth ? auth : NULL);
}

static channel *channel_get(mol_a2a_pusher *p, const char *task_id,
                            const mol_a2a_push_config *cfg) {
  char key[MOL_A2A_PUSH_FIELD_MAX + 80];
  snprintf(key, sizeof(key), "%s\n%s", task_id, cfg->id);
  channel *c;
  HASH_FIND_STR(p->channels, key, c);
  if (!c) {
    if (!(c = calloc(1, sizeof(*c))) || !(c->key = strdup(key))) {
      free(c);
      return NULL;
    }
    c->p = p;
    HASH_ADD_KEYPTR(hh, p->channels, c->key, strlen(c->key), c);
  }
  if (channel_target(c, cfg) != 0) {
    if (!c->busy && !c->queued) channel_free(c);
    return NULL;
  }
  return c;
}

/* Waits behind what is already queued; past the bound it replaces the last one waiting (the
 * newer snapshot holds everything the older one said). */
static int enqueue(channel *c, body *b) {
  mol_a2a_pusher *p = c->p;
  if (c->queued >= p->o.max_queued && c->tail) {
    body_unref(c->tail->b);
    c->tail->b = body_ref(b);
    p->st.coalesced++;
    return 0;
  }
  note *n = calloc(1, sizeof(*n));
  if (!n) return MOL_ENOMEM;
  n->b = body_ref(b);
  if (c->tail) c->tail->next = n;
  else c->head = n;
  c->tail = n;
  c->queued++;
  p->st.pending++;
  return 0;
}

/* ---- attempts ---------------------------------------------------------------------------------- */

static void pump(channel *c);

/* The holds' finish: closed, and no lookup or request is in flight. */
static void pusher_finish(void *data) {
  mol_a2a_pusher *p = data;
  void (*cb)(void *) = p->close_cb;
  void *arg = p->close_arg;
  if (p->last) *p->last = p->st;
  free(p);
  if (cb) cb(arg);
}

/* The current notification is over (delivered or given up): on to the next. */
static void settle(channel *c, int delivered) {
  mol_a2a_pusher *p = c->p;
  if (delivered) p->st.sent++;
  else p->st.failed++;
  body_unref(c->current);
  c->current = NULL;
  c->attempt = 0;
  c->busy = 0;
  p->st.pending--;
  pump(c);
}

static void arm_timer(mol_a2a_pusher *p);

static void on_retry_timer(uv_timer_t *t) {
  mol_a2a_pusher *p = t->data;
  uint64_t now = uv_now(p->loop);
  channel **pp = &p->retrying, *due = NULL, **tail = &due;
  while (*pp) { /* take the due ones off first: an attempt may put its channel back */
    channel *c = *pp;
    if (c->due <= now) {
      *pp = c->retry_next;
      c->retry_next = NULL;
      *tail = c;
      tail = &c->retry_next;
    } else {
      pp = &c->retry_next;
    }
  }
  while (due) {
    channel *c = due;
    due = c->retry_next;
    c->retry_next = NULL;
    c->busy = 0;
    pump(c);
  }
  arm_timer(p);
}

static void arm_timer(mol_a2a_pusher *p) {
  if (p->closing) return;
  uint64_t next = UINT64_MAX, now = uv_now(p->loop);
  for (channel *c = p->retrying; c; c = c->retry_next)
    if (c->due < next) next = c->due;
  if (next == UINT64_MAX) uv_timer_stop(&p->timer);
  else uv_timer_start(&p->timer, on_retry_timer, next > now ? next - now : 0, 0);
}

static void retry_later(channel *c, uint64_t delay_ms) {
  mol_a2a_pusher *p = c->p;
  p->st.retries++;
  c->due = uv_now(p->loop) + delay_ms;
  c->retry_next = p->retrying;
  p->retrying = c;
  arm_timer(p);
}

static uint64_t backoff(const mol_a2a_pusher *p, unsigned attempt, const mol_http_response *r) {
  mol_backoff_policy bp = {.base_ms = p->o.retry_base_ms, .cap_ms = p->o.retry_cap_ms,
                           .factor = 2.0, .jitter = 0.25};
  uint64_t d = mol_backoff_delay_ms(&bp, attempt > 0 ? attempt - 1 : 0, NULL, NULL);
  const char *ra = r ? mol_http_headers_get(r->headers, "Retry-After") : NULL;
  uint64_t asked;
  if (ra && mol_retry_after_parse(ra, mol_unix_ms() / 1000, &asked) == 0)
    d = asked < p->o.retry_cap_ms ? asked : p->o.retry_cap_ms;
  return d;
}

static int retryable(int err, const mol_http_response *r) {
  if (r && r->status >= 200) return r->status >= 500 || r->status == 408 || r->status == 429;
  return err != 0;
}

static void on_sent(mol_http_request *req, int err, const mol_http_response *r, void *arg) {
  (void)req;
  channel *c = arg;
  mol_a2a_pusher *p = c->p;
  c->req = NULL;
  c->in_callback = 0;
  int ok = r && r->status >= 200 && r->status < 300; /* the answer's body does not matter */
  if (p->closing) {
    channel_free(c);
  } else if (ok) {
    settle(c, 1);
  } else if (retryable(err, r) && c->attempt < p->o.max_attempts) {
    retry_later(c, backoff(p, c->attempt, r));
  } else {
    settle(c, 0);
  }
  mol_holds_drop(&p->holds); /* the request's */
}

static void send_now(channel *c) {
  mol_a2a_pusher *p = c->p;
  mol_http_header h[3] = {{"Content-Type", c->version == MOL_A2A_V10 ? "application/a2a+json"
                                                                      : "application/json"}};
  size_t n = 1;
  if (c->token) h[n++] = (mol_http_header){"X-A2A-Notification-Token", c->token};
  if (c->auth) h[n++] = (mol_http_header){"Authorization", c->auth};
  mol_http_request_opts ro = {.method = "POST", .url = c->url, .headers = h, .nheaders = n,
                              .body = c->current->data, .body_len = c->current->len,
                              .total_timeout_ms = p->o.timeout_ms,
                              .max_body_bytes = 64 * 1024};
  c->attempt++;
  if (mol_http_request_send(p->o.http, &ro, on_sent, c, &c->req) != 0) {
    c->req = NULL;
    if (c->attempt < p->o.max_attempts) retry_later(c, backoff(p, c->attempt, NULL));
    else settle(c, 0);
    return;
  }
  c->in_callback = 1;
  mol_holds_take(&p->holds); /* until on_sent */
}

static void on_resolved(int ok, void *arg) {
  channel *c = arg;
  mol_a2a_pusher *p = c->p;
  c->in_callback = 0;
  if (p->closing) {
    channel_free(c);
  } else if (ok) {
    send_now(c);
  } else {
    p->st.refused++;
    settle(c, 0);
  }
  mol_holds_drop(&p->holds); /* the lookup's */
}

static void attempt(channel *c) {
  mol_a2a_pusher *p = c->p;
  char host[256];
  c->busy = 1;
  switch (mol_ssrf_check_url(c->url, &p->policy, host)) {
    case MOL_SSRF_OK:
      send_now(c);
      return;
    case MOL_SSRF_RESOLVE:
      if (mol_ssrf_resolve(p->loop, host, &p->policy, on_resolved, c) == 0) {
        c->in_callback = 1;
        mol_holds_take(&p->holds); /* until on_resolved */
        return;
      }
      settle(c, 0);
      return;
    default: /* checked when stored; a config set again may have changed it */
      p->st.refused++;
      settle(c, 0);
      return;
  }
}

/* Starts the next notification of an idle channel, or frees a channel with nothing left. */
static void pump(channel *c) {
  if (c->busy || c->p->closing) return;
  if (!c->current && c->head) {
    note *n = c->head;
    c->head = n->next;
    if (!c->head) c->tail = NULL;
    c->queued--;
    c->current = n->b; /* still pending: it moved from waiting to in flight */
    free(n);
  }
  if (c->current) attempt(c);
  else channel_free(c);
}

/* ---- the API ----------------------------------------------------------------------------------- */

int mol_a2a_pusher_new(uv_loop_t *loop, const mol_a2a_push_opts *o, mol_a2a_pusher **out) {
  if (!o || !o->http) return MOL_EINVAL;
  mol_a2a_pusher *p = calloc(1, sizeof(*p));
  if (!p) return MOL_ENOMEM;
  p->loop = loop;
  p->o = *o;
  if (!p->o.timeout_ms) p->o.timeout_ms = 10000;
  if (!p->o.max_attempts) p->o.max_attempts = 5;
  if (!p->o.retry_base_ms) p->o.retry_base_ms = 1000;
  if (!p->o.retry_cap_ms) p->o.retry_cap_ms = 30000;
  if (!p->o.max_queued) p->o.max_queued = 16;
  p->policy = (mol_ssrf_policy){.allow_loopback = o->allow_private,
                                .allow_private = o->allow_private};
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  mol_holds_init(&p->holds, (uv_handle_t *)&p->timer, pusher_finish, p);
  *out = p;
  return 0;
}

int mol_a2a_pusher_url_ok(const mol_a2a_pusher *p, const char *url, const char **why) {
  char host[256];
  switch (mol_ssrf_check_url(url, &p->policy, host)) {
    case MOL_SSRF_OK:
    case MOL_SSRF_RESOLVE:
      return 1;
    case MOL_SSRF_REFUSED:
      *why = p->policy.allow_private
                 ? "pushNotificationConfig.url names an address that is never called "
                   "(link-local, metadata, multicast, reserved)"
                 : "pushNotificationConfig.url names a loopback, private or reserved address";
      return 0;
    default:
      *why = "pushNotificationConfig.url must be an http or https URL";
      return 0;
  }
}

void mol_a2a_pusher_notify(mol_a2a_pusher *p, const mol_a2a_task *t,
                           const mol_a2a_push_config *only) {
  body *b[2] = {NULL, NULL}; /* one per version, built when first needed */
  size_t n = only ? 1 : mol_a2a_task_push_count(t);
  for (size_t i = 0; i < n; i++) {
    const mol_a2a_push_config *cfg = only ? only : mol_a2a_task_push_at(t, i);
    if (p->closing) {
      p->st.dropped++;
      continue;
    }
    int v = cfg->version == MOL_A2A_V10;
    if (!b[v]) b[v] = body_new(t, cfg->version);
    channel *c = b[v] ? channel_get(p, mol_a2a_task_id(t), cfg) : NULL;
    if (!c || enqueue(c, b[v]) != 0) {
      p->st.failed++; /* out of memory: counted, never silent */
      if (c && !c->busy && !c->queued && !c->current) channel_free(c);
      continue;
    }
    pump(c);
  }
  body_unref(b[0]);
  body_unref(b[1]);
}

void mol_a2a_pusher_stats(const mol_a2a_pusher *p, mol_a2a_push_stats *out) { *out = p->st; }

void mol_a2a_pusher_close(mol_a2a_pusher *p, mol_a2a_push_stats *last, void (*cb)(void *arg),
                          void *arg) {
  if (p->closing) return;
  p->closing = 1;
  p->last = last;
  p->close_cb = cb;
  p->close_arg = arg;
  uv_timer_stop(&p->timer);
  p->retrying = NULL;
  channel *c, *tmp;
  HASH_ITER(hh, p->channels, c, tmp) {
    p->st.dropped += c->queued + (c->current ? 1 : 0);
    if (c->req) mol_http_request_cancel(c->req); /* its callback frees the channel */
    else if (!c->in_callback) channel_free(c);     /* a lookup's callback frees it */
  }
  mol_holds_drop(&p->holds); /* its own: cb comes once nothing is in flight */
}
