/* push_webhook.h - a webhook for push-notification tests, on the harness's HTTP server
 * (a2a_harness.h), recording every POST it gets. What it answers depends on the path:
 *   /hook/ok/<name>        200
 *   /hook/flaky<N>/<name>  503 for the first N hits of that path, then 200
 *   /hook/e500/<name>      500 always;  /hook/e400/<name>  400 always
 *   /hook/r429/<name>      429 with Retry-After: 0 once, then 200
 *   /hook/slow/<name>      200 after 40 ms (one timer per hit)
 *   /hook/hang/<name>      never answers (until the client goes away or the server closes) */
#ifndef PUSH_WEBHOOK_H
#define PUSH_WEBHOOK_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_harness.h"

#define HOOK_MAX 512

typedef struct {
  char path[128], token[128], auth[160], ctype[64];
  json_t *body;
  uint64_t at_ms; /* uv_now when it arrived */
} hook_hit;

typedef struct hook_pending {
  uv_timer_t timer;
  mol_http_req *req;
  int gone;
} hook_pending;

typedef struct {
  hook_hit hits[HOOK_MAX];
  int n;
  int inflight, max_inflight; /* requests being answered at once (slow, hang) */
  hook_pending *hung[64];
  int n_hung;
} webhook;

static webhook W;

__attribute__((unused)) static int hook_hits_of(const char *path) {
  int k = 0;
  for (int i = 0; i < W.n; i++) k += strcmp(W.hits[i].path, path) == 0;
  return k;
}

static void hook_copy(mol_http_req *r, const char *name, char *out, size_t cap) {
  const char *v = mol_http_req_header(r, name);
  snprintf(out, cap, "%s", v ? v : "");
}

static void hook_slow_closed(uv_handle_t *h) { free(h->data); }

static void hook_slow_fire(uv_timer_t *t) {
  hook_pending *p = t->data;
  W.inflight--;
  mol_http_respond(p->req, 200, "text/plain", "ok", 2);
  uv_close((uv_handle_t *)t, hook_slow_closed);
}

static void hook_gone(mol_http_req *r, void *arg) {
  hook_pending *p = arg;
  if (p->gone) return;
  p->gone = 1;
  W.inflight--;
  mol_http_respond(r, 499, "text/plain", "", 0); /* only releases the request */
}

static void hook_handler(mol_http_req *r, void *arg) {
  (void)arg;
  const char *path = mol_http_req_path(r);
  if (W.n < HOOK_MAX) {
    hook_hit *h = &W.hits[W.n++];
    snprintf(h->path, sizeof(h->path), "%s", path);
    hook_copy(r, "X-A2A-Notification-Token", h->token, sizeof(h->token));
    hook_copy(r, "Authorization", h->auth, sizeof(h->auth));
    hook_copy(r, "Content-Type", h->ctype, sizeof(h->ctype));
    size_t len;
    const char *body = mol_http_req_body(r, &len);
    h->body = json_loadb(body, len, 0, NULL);
    h->at_ms = uv_now(&H.loop);
  }
  int hits = hook_hits_of(path);
  int flaky = 0;
  if (strncmp(path, "/hook/flaky", 11) == 0) flaky = atoi(path + 11);
  if (strncmp(path, "/hook/slow/", 11) == 0 || strncmp(path, "/hook/hang/", 11) == 0) {
    hook_pending *p = calloc(1, sizeof(*p));
    p->req = r;
    if (++W.inflight > W.max_inflight) W.max_inflight = W.inflight;
    if (path[6] == 'h') {
      W.hung[W.n_hung++] = p;
      mol_http_req_on_abort(r, hook_gone, p);
      return;
    }
    uv_timer_init(&H.loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, hook_slow_fire, 40, 0);
  } else if (flaky && hits <= flaky) {
    mol_http_respond(r, 503, "text/plain", "busy", 4);
  } else if (strncmp(path, "/hook/e500/", 11) == 0) {
    mol_http_respond(r, 500, "text/plain", "no", 2);
  } else if (strncmp(path, "/hook/e400/", 11) == 0) {
    mol_http_respond(r, 400, "text/plain", "no", 2);
  } else if (strncmp(path, "/hook/r429/", 11) == 0 && hits == 1) {
    mol_http_resp_header(r, "Retry-After", "0");
    mol_http_respond(r, 429, "text/plain", "later", 5);
  } else {
    mol_http_respond(r, 200, "text/plain", "ok", 2);
  }
}

static void hook_install(void) {
  memset(&W, 0, sizeof(W));
  mol_http_server_route(H.http, "POST", "/hook/", 1, hook_handler, &W);
}

static void hook_reset(void) {
  for (int i = 0; i < W.n; i++) json_decref(W.hits[i].body);
  W.n = 0;
  W.max_inflight = 0;
}

/* Frees what the hung requests left (after the servers closed). */
static void hook_free(void) {
  hook_reset();
  for (int i = 0; i < W.n_hung; i++) free(W.hung[i]);
  W.n_hung = 0;
}

static char *hook_url(const char *path) {
  static char url[8][160];
  static int k;
  char *u = url[k++ % 8];
  snprintf(u, 160, "http://127.0.0.1:%d%s", H.port, path);
  return u;
}

/* The state of a hit's task: v0.3 the Task, v1.0 {"task": Task}. */
static const char *hook_state(const hook_hit *h) {
  json_t *t = json_object_get(h->body, "task");
  if (!t) t = h->body;
  return json_string_value(json_object_get(json_object_get(t, "status"), "state"));
}

/* Runs the loop until path got a hit whose state is `state` (or n hits when state is NULL). */
__attribute__((unused)) static int hook_wait(const char *path, const char *state, int n) {
  for (;;) {
    int k = 0;
    for (int i = 0; i < W.n; i++) {
      if (strcmp(W.hits[i].path, path) != 0) continue;
      k++;
      const char *s = hook_state(&W.hits[i]);
      if (state && s && strcmp(s, state) == 0) return i;
    }
    if (!state && k >= n) return k;
    uv_run(&H.loop, UV_RUN_ONCE);
  }
}

#endif
