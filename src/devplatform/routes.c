/* routes.c - the dev platform's HTTP surface: one catch-all route on our HTTP server, the rate
 * limiter in front (ratelimit.c), then a table of method + path patterns. Routing here rather
 * than with one server route per path keeps the upstream error shapes (JSON 404 for unknown
 * routes and wrong methods alike, as Gin with HandleMethodNotAllowed off). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "http/server.h"
#include "molecule.h"

typedef void (*h0_fn)(mol_dp__call *, mol_dp__reply *);
typedef void (*h1_fn)(mol_dp__call *, const char *, mol_dp__reply *);
typedef void (*h2_fn)(mol_dp__call *, const char *, const char *, mol_dp__reply *);

typedef struct {
  const char *method;
  const char *pattern; /* "/" separated; ":" captures one segment */
  h0_fn h0;
  h1_fn h1;
  h2_fn h2;
} route;

static void h_health(mol_dp__call *c, mol_dp__reply *r) {
  (void)c;
  mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* The proxy may answer later (c->async); a synchronous answer stays in r. */
static void h_a2a(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  c->async = mol_dp__h_a2a(c, ws, r);
}

static const route routes[] = {
    {"GET", "health", h_health, NULL, NULL},
    {"POST", "registry/register", mol_dp__h_register, NULL, NULL},
    {"POST", "registry/heartbeat", mol_dp__h_heartbeat, NULL, NULL},
    {"POST", "registry/update-card", mol_dp__h_update_card, NULL, NULL},
    {"POST", "registry/check-access", mol_dp__h_check_access, NULL, NULL},
    {"GET", "registry/discover/:", NULL, mol_dp__h_discover, NULL},
    {"GET", "registry/:/peers", NULL, mol_dp__h_peers, NULL},
    {"POST", "workspaces", mol_dp__h_ws_create, NULL, NULL},
    {"GET", "workspaces", mol_dp__h_ws_list, NULL, NULL},
    {"GET", "workspaces/:", NULL, mol_dp__h_ws_get, NULL},
    {"DELETE", "workspaces/:", NULL, mol_dp__h_ws_delete, NULL},
    {"GET", "workspaces/:/state", NULL, mol_dp__h_state, NULL},
    {"GET", "workspaces/:/secrets/values", NULL, mol_dp__h_secret_values, NULL},
    {"GET", "workspaces/:/secrets", NULL, mol_dp__h_secret_list, NULL},
    {"POST", "workspaces/:/secrets", NULL, mol_dp__h_secret_put, NULL},
    {"PUT", "workspaces/:/secrets", NULL, mol_dp__h_secret_put, NULL},
    {"DELETE", "workspaces/:/secrets/:", NULL, NULL, mol_dp__h_secret_delete},
    {"POST", "settings/secrets", mol_dp__h_global_secret_put, NULL, NULL},
    {"PUT", "settings/secrets", mol_dp__h_global_secret_put, NULL, NULL},
    {"POST", "workspaces/:/pause", NULL, mol_dp__h_ws_pause, NULL},
    {"POST", "workspaces/:/resume", NULL, mol_dp__h_ws_resume, NULL},
    {"POST", "workspaces/:/a2a", NULL, h_a2a, NULL},
    {"GET", "workspaces/:/activity", NULL, mol_dp__h_activity_list, NULL},
    {"POST", "workspaces/:/activity", NULL, mol_dp__h_activity_report, NULL},
    {"POST", "workspaces/:/notify", NULL, mol_dp__h_notify, NULL},
    {"POST", "workspaces/:/chat/uploads", NULL, mol_dp__h_chat_upload, NULL},
    {"GET", "workspaces/:/plugins/:/download", NULL, NULL, mol_dp__h_plugin_download},
    {"POST", "workspaces/:/plugins", NULL, mol_dp__h_plugin_install, NULL},
    {"GET", "workspaces/:/memory", NULL, mol_dp__h_kv_list, NULL},
    {"POST", "workspaces/:/memory", NULL, mol_dp__h_kv_set, NULL},
    {"GET", "workspaces/:/memory/:", NULL, NULL, mol_dp__h_kv_get},
    {"DELETE", "workspaces/:/memory/:", NULL, NULL, mol_dp__h_kv_delete},
    {"POST", "workspaces/:/memories", NULL, mol_dp__h_memories_commit, NULL},
    {"GET", "workspaces/:/memories", NULL, mol_dp__h_memories_search, NULL},
    {"DELETE", "workspaces/:/memories/:", NULL, NULL, mol_dp__h_memories_delete},
    {"GET", "workspaces/:/delegations", NULL, mol_dp__h_delegations_list, NULL},
    {"POST", "workspaces/:/delegate", NULL, mol_dp__h_delegate, NULL},
    {"POST", "workspaces/:/delegations/record", NULL, mol_dp__h_delegation_record, NULL},
    {"POST", "workspaces/:/delegations/:/update", NULL, NULL, mol_dp__h_delegation_update},
    {"GET", "workspaces/:/approvals", NULL, mol_dp__h_approvals_list, NULL},
    {"POST", "workspaces/:/approvals", NULL, mol_dp__h_approval_create, NULL},
    {"POST", "workspaces/:/approvals/:/decide", NULL, NULL, mol_dp__h_approval_decide},
    {"GET", "approvals/pending", mol_dp__h_approvals_pending, NULL, NULL},
    {"POST", "approvals/:/decide", NULL, mol_dp__h_approval_decide_any, NULL},
    {"POST", "instructions", mol_dp__h_instruction_create, NULL, NULL},
    {"DELETE", "instructions/:", NULL, mol_dp__h_instruction_delete, NULL},
    {"GET", "workspaces/:/instructions/resolve", NULL, mol_dp__h_instructions_resolve, NULL},
    {"GET", "workspaces/:/shared-context", NULL, mol_dp__h_shared_context, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Splits path into c->seg (copied into c->segbuf). 0 when it has too many segments. */
static int split_path(mol_dp__call *c, const char *path) {
  size_t n = strlen(path);
  if (n >= sizeof c->segbuf) return 0;
  memcpy(c->segbuf, path, n + 1);
  c->nseg = 0;
  for (char *p = c->segbuf; *p;) {
    while (*p == '/') *p++ = '\0';
    if (!*p) break;
    if (c->nseg == MOL_DP__MAX_SEGS) return 0;
    c->seg[c->nseg++] = p;
    while (*p && *p != '/') p++;
  }
  return 1;
}

static int match(const mol_dp__call *c, const char *pattern, const char *caps[2]) {
  size_t i = 0, ncap = 0;
  const char *p = pattern;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (i >= c->nseg) return 0;
    if (len == 1 && *p == ':') {
      if (ncap < 2) caps[ncap++] = c->seg[i];
    } else if (strlen(c->seg[i]) != len || memcmp(c->seg[i], p, len) != 0) {
      return 0;
    }
    i++;
    p += len + (slash ? 1 : 0);
  }
  return i == c->nseg;
}

static void peer_ip(const char *peer, char *out, size_t cap) {
  const char *start = peer, *end;
  if (*peer == '[') {
    start = peer + 1;
    end = strchr(start, ']');
  } else {
    end = strrchr(peer, ':');
  }
  size_t n = end ? (size_t)(end - start) : strlen(start);
  if (n >= cap) n = cap - 1;
  memcpy(out, start, n);
  out[n] = '\0';
}

/* Adds the X-RateLimit-* headers; returns 0 (with r filled) when the client is over. */
static int rate_limit(mol_devplatform *dp, mol_http_req *req, mol_dp__reply *r) {
  if (dp->rl.limit < 0) {
    mol_http_resp_header(req, "X-RateLimit-Limit", "unlimited");
    return 1;
  }
  char ip[64], num[32];
  peer_ip(mol_http_req_peer(req), ip, sizeof ip);
  mol_dp__rl_verdict v;
  mol_dp__rl_check(&dp->rl, ip, mol_mono_ms(), &v);
  snprintf(num, sizeof num, "%ld", v.limit);
  mol_http_resp_header(req, "X-RateLimit-Limit", num);
  snprintf(num, sizeof num, "%ld", v.remaining);
  mol_http_resp_header(req, "X-RateLimit-Remaining", num);
  snprintf(num, sizeof num, "%ld", v.reset_s);
  mol_http_resp_header(req, "X-RateLimit-Reset", num);
  if (v.allowed) return 1;
  mol_dp__reply_set(r, 429, json_pack("{s:s,s:I}", "error", "rate limit exceeded", "retry_after",
                                      (json_int_t)v.reset_s));
  r->retry_after = (int)v.reset_s;
  return 0;
}

static void fill_call(mol_dp__call *c, mol_devplatform *dp, mol_http_req *req) {
  memset(c, 0, offsetof(mol_dp__call, segbuf));
  c->dp = dp;
  c->req = req;
  c->method = mol_http_req_method(req);
  c->query = mol_http_req_query(req);
  c->body = mol_http_req_body(req, &c->body_len);
  mol_dp__bearer(mol_http_req_header(req, "Authorization"), c->bearer, sizeof c->bearer);
  c->caller = mol_http_req_header(req, "X-Workspace-ID");
  c->x_timeout = mol_http_req_header(req, "X-Timeout");
  c->host = mol_http_req_header(req, "Host");
  c->ctype = mol_http_req_header(req, "Content-Type");
}

static void dispatch_route(mol_dp__call *c, mol_dp__reply *r) {
  const char *caps[2] = {NULL, NULL};
  for (const route *rt = routes; rt->pattern; rt++) {
    if (strcmp(rt->method, c->method) != 0 || !match(c, rt->pattern, caps)) continue;
    char label[96]; /* the pattern, for the requests counted by route in /metrics */
    snprintf(label, sizeof label, "/%s", rt->pattern);
    mol_http_req_set_route(c->req, label);
    for (int i = 0; i < 2; i++) {
      if (caps[i] && strlen(caps[i]) > MOL_DP__ID_MAX) {
        mol_dp__reply_err(r, 400, "invalid workspace ID");
        return;
      }
    }
    if (rt->h0) rt->h0(c, r);
    else if (rt->h1) rt->h1(c, caps[0], r);
    else rt->h2(c, caps[0], caps[1], r);
    return;
  }
  mol_dp__reply_err(r, 404, "not found");
}

void mol_dp__on_request(mol_http_req *req, void *arg) {
  mol_devplatform *dp = arg;
  mol_dp__call c;
  mol_dp__reply r = {.status = 500, .body = NULL, .retry_after = -1};
  fill_call(&c, dp, req);
  if (mol_dp__guard_request(dp, req, &r) && rate_limit(dp, req, &r)) {
    if (!split_path(&c, mol_http_req_path(req)))
      mol_dp__reply_err(&r, 404, "not found");
    else
      dispatch_route(&c, &r);
  }
  if (!c.async) mol_dp__respond(dp, req, &r);
  mol_dp__reply_free(&r);
}
