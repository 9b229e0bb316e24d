/* proxy.c - POST /workspaces/:id/a2a, the A2A proxy (docs/devplatform.md "A2A proxy"): caller
 * rules, hierarchy, budget, URL resolution and SSRF, normalisation (a2a_body.c), then the
 * dispatch.
 *
 * The dispatch itself (timers, forwarding, response mapping, the busy queue) is in
 * dispatch.c; this file decides whether and where to dispatch. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "devplatform/dispatch.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

static int reserved_caller(const char *caller) {
  static const char *const prefixes[] = {"webhook:", "system:", "test:", "channel:", NULL};
  for (int i = 0; prefixes[i]; i++)
    if (strncmp(caller, prefixes[i], strlen(prefixes[i])) == 0) return 1;
  return 0;
}

/* The caller's identity and auth: fills r and returns 0 when the caller may not call. */
static int check_caller(mol_dp__call *c, const char *caller, const char *target, mol_dp__reply *r) {
  if (!*caller) return 1; /* canvas: no auth, no hierarchy (upstream) */
  if (reserved_caller(caller)) {
    mol_dp__reply_err(r, 403, "invalid caller ID");
    return 0;
  }
  if (strcmp(caller, target) == 0) return 1;
  if (!mol_dp__auth_grandfather(c, caller, r, "missing caller auth token",
                                "invalid caller auth token"))
    return 0;
  if (!mol_dp__can_communicate(c->dp, caller, target)) {
    mol_dp__reply_err(r, 403, "access denied: workspaces cannot communicate per hierarchy rules");
    return 0;
  }
  return 1;
}

/* Every proxy step that can be answered without I/O. Returns 1 when w holds a dispatchable
 * target (r untouched), 0 when r holds the answer. */
static int resolve_target(mol_dp__call *c, const char *target, mol_dp__ws *w, mol_dp__reply *r) {
  int found = mol_dp__ws_load_hot(c->dp, target, w);
  if (found != 1 || strcmp(w->status, "removed") == 0) {
    if (found == 1) mol_dp__ws_free(w);
    mol_dp__reply_err(r, found < 0 ? 500 : 404,
                      found < 0 ? "lookup failed" : "workspace not found");
    return 0;
  }
  if (w->budget_limit >= 0 && w->monthly_spend >= w->budget_limit) {
    mol_dp__ws_free(w);
    mol_dp__reply_err(r, 402, "workspace budget limit exceeded");
    return 0;
  }
  return 1;
}

int mol_dp__h_a2a(mol_dp__call *c, const char *target, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  const char *caller = c->caller ? c->caller : "";
  if (dp->closing) {
    mol_dp__reply_err(r, 503, "platform shutting down");
    return 0;
  }
  if (!check_caller(c, caller, target, r)) return 0;
  mol_dp__ws w;
  if (!resolve_target(c, target, &w, r)) return 0;
  /* Forwarded as it came unless it needs normalising (a2a_body.c). */
  char method[64], msgid[128], *normalised = NULL;
  const char *body = c->body;
  if (!mol_dp__a2a_scan(c->body, c->body_len, method, msgid))
    body = normalised = mol_dp__a2a_normalize(c->body, c->body_len, method, msgid);
  int took = 0;
  if (!body) {
    mol_dp__reply_err(r, 400, "invalid JSON");
  } else if (strcmp(w.status, "paused") == 0 || strcmp(w.status, "hibernated") == 0) {
    mol_dp__reply_set(r, 503,
                      json_pack("{s:s,s:s}", "error", "workspace has no URL", "status", w.status));
  } else if (strcmp(w.delivery_mode, "poll") == 0) {
    mol_dp__activity_queue_poll(dp, caller, target, body, method, r);
  } else if (!w.url[0]) {
    mol_dp__reply_set(r, 503,
                      json_pack("{s:s,s:s}", "error", "workspace has no URL", "status", w.status));
  } else {
    mol_dp__dispatch_args a = {.target = target, .caller = caller, .url = w.url, .body = body,
                               .method = method, .msgid = msgid, .req = c->req,
                               .x_timeout = c->x_timeout};
    took = mol_dp__dispatch_start(dp, &a, r);
  }
  free(normalised);
  mol_dp__ws_free(&w);
  return took;
}
