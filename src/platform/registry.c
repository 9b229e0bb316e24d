/* registry.c - register, pull_secrets and poll_state.
 *
 * Differences from the Python SDK, on purpose:
 *  - register sends the bearer whenever a token is known, so a restart passes the platform's
 *    C18 hijack guard instead of failing with 401;
 *  - a 404 from /state is a deletion only when its body says deleted:true; an empty or other
 *    404 is the SaaS tenant guard or WAF answering (missing org header or Origin) and is
 *    reported as an error with res->misrouted, never as "deleted". */
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/json.h"
#include "base/log.h"
#include "platform/platform_int.h"

/* ---- register ---------------------------------------------------------------------------- */

static char *register_body(const mol_platform_client *c, const char *reported_url,
                           const char *card_json, int *err) {
  json_t *card = NULL;
  if (card_json) {
    card = mol_json_parse(card_json, strlen(card_json), NULL, 0);
    if (!card) {
      *err = MOL_EJSON;
      return NULL;
    }
  } else {
    char name[64];
    snprintf(name, sizeof(name), "remote-agent-%.8s", c->ws_id);
    card = json_pack("{s:s}", "name", name);
  }
  const char *url = reported_url && *reported_url ? reported_url : "remote://no-inbound";
  json_t *body = json_pack("{s:s, s:s, s:o}", "id", c->ws_id, "url", url, "agent_card", card);
  char *s = body ? mol_json_dump(body) : NULL;
  json_decref(body);
  *err = s ? 0 : MOL_ENOMEM;
  return s;
}

/* The new token is persisted before the callback runs, so a crash right after registration
 * does not lose it (the platform will never mint a second one); the save runs in the thread
 * pool (token.c), and the call finishes here once it is done. */
static void register_saved(mol_platform_req *r, int err) {
  if (err) {
    mol_loge(MOL_PLATFORM__SCOPE, "register: cannot save the new token to %s: %s", r->c->token_path,
             mol_strerror(err));
  } else {
    r->res.token_issued = 1;
    mol_logi(MOL_PLATFORM__SCOPE, "registered %s; token saved to %s", r->c->ws_id,
             r->c->token_path);
  }
  mol_platform__finish(r, err);
}

/* A 401 on register cannot heal by retrying alone: say once, with the workspace and the
 * file, what happened and what the operator can do. */
static void register_refused(mol_platform_req *r) {
  mol_platform_client *c = r->c;
  if (c->lockout_logged) return;
  c->lockout_logged = 1;
  if (c->token)
    mol_logx(MOL_LOG_ERROR, MOL_PLATFORM__SCOPE,
             MOL_FIELDS(MOL_F_STR("workspace_id", c->ws_id), MOL_F_INT("status", 401)),
             "register of workspace %s refused (401): the platform does not accept the token in "
             "%s (revoked, or minted for another workspace). Put a valid token for this "
             "workspace in that file (mint one with POST /workspaces/%s/tokens), or revoke "
             "the workspace's tokens so that the next register mints one",
             c->ws_id, c->token_path, c->ws_id);
  else
    mol_logx(MOL_LOG_ERROR, MOL_PLATFORM__SCOPE,
             MOL_FIELDS(MOL_F_STR("workspace_id", c->ws_id), MOL_F_INT("status", 401)),
             "register of workspace %s refused (401): the workspace already has a token and "
             "this agent has none in %s (its first registration's answer was lost and the "
             "platform cannot answer it again, the file was removed, or another process "
             "registered this workspace). An operator must mint a token (POST "
             "/workspaces/%s/tokens) and write it to that file, or revoke the workspace's "
             "tokens so that the next register mints one",
             c->ws_id, c->token_path, c->ws_id);
}

static void register_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (err == MOL_EHTTP && resp->status == 401) register_refused(r);
  if (!err && resp->body_len) err = mol_platform__parse_body(r, resp);
  const char *tok = err ? NULL : mol_json_str(r->json, "auth_token");
  if (tok && *tok) {
    /* The response dies when this returns: the result keeps a copy of its body. */
    free(r->s3);
    r->s3 = strndup(resp->body, resp->body_len);
    r->res.body = r->s3;
    r->res.body_len = r->s3 ? resp->body_len : 0;
    if (!(err = mol_platform__token_save_async(r, tok, register_saved))) return;
    mol_loge(MOL_PLATFORM__SCOPE, "register: cannot save the new token to %s: %s",
             r->c->token_path, mol_strerror(err));
  }
  mol_platform__finish(r, err);
}

/* A registration whose card is made when it is sent (agent_card_fn): r->op holds this, its
 * reported URL after it. */
typedef struct {
  char *(*card_fn)(void *arg);
  void *card_arg;
  char reported_url[];
} register_late;

static int register_build(mol_platform_req *r) {
  const register_late *l = r->op;
  char *card = l->card_fn(l->card_arg);
  int rc = card ? 0 : MOL_ENOMEM;
  if (!rc) r->body = register_body(r->c, l->reported_url, card, &rc);
  free(card);
  if (rc) return rc;
  r->body_len = strlen(r->body);
  r->url = mol_platform__url(r->c, "/registry/register");
  return r->url ? 0 : MOL_ENOMEM;
}

static int register_start(mol_platform_req *r, const void *arg) {
  const mol_platform_register_opts *o = arg;
  const unsigned flags = MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_JSON |
                         MOL_PLATFORM__REAUTH | MOL_PLATFORM__H_REGKEY | MOL_PLATFORM__REGISTER;
  /* One key per client, the same on every retry: a platform that saw a register whose answer
   * was lost recognises the retry by it (a real platform ignores the header). */
  if (!r->c->reg_key[0] && mol_random_hex(r->c->reg_key, 16)) r->c->reg_key[0] = '\0';
  if (o && o->agent_card_fn && !o->agent_card_json) {
    const char *url = o->reported_url ? o->reported_url : "";
    register_late *l = malloc(sizeof(*l) + strlen(url) + 1);
    if (!l) return MOL_ENOMEM;
    l->card_fn = o->agent_card_fn;
    l->card_arg = o->card_arg;
    strcpy(l->reported_url, url);
    r->op = l;
    return mol_platform__exchange_late(r, "POST", register_build, flags, r->c->timeout_ms,
                                       register_done);
  }
  int rc;
  char *body = register_body(r->c, o ? o->reported_url : NULL, o ? o->agent_card_json : NULL,
                             &rc);
  if (rc) return rc;
  return mol_platform__exchange(r, "POST", mol_platform__url(r->c, "/registry/register"), body,
                                strlen(body), flags, r->c->timeout_ms, register_done);
}

int mol_platform_register(mol_platform_client *c, const mol_platform_register_opts *o,
                          const mol_platform_call *call, mol_platform_cb cb, void *arg,
                          mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, register_start, o, out);
}

/* ---- secrets ----------------------------------------------------------------------------- */

static void secrets_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (!err && (mol_platform__parse_body(r, resp) || json_is_null(r->json))) {
    /* upstream: `resp.json() or {}`: a null (or empty) body is an empty map */
    r->res.body = "{}";
    r->res.body_len = 2;
  } else if (!err && !json_is_object(r->json)) {
    err = MOL_EJSON;
  }
  mol_platform__finish(r, err);
}

static int secrets_start(mol_platform_req *r, const void *ctx) {
  (void)ctx;
  mol_platform_client *c = r->c;
  return mol_platform__exchange(r, "GET",
                                mol_platform__url(c, "/workspaces/%s/secrets/values", c->ws_id),
                                NULL, 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH, c->timeout_ms,
                                secrets_done);
}

int mol_platform_pull_secrets(mol_platform_client *c, const mol_platform_call *call,
                              mol_platform_cb cb, void *arg, mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, secrets_start, NULL, out);
}

/* ---- state ------------------------------------------------------------------------------- */

static int state_404(mol_platform_req *r, const mol_http_response *resp) {
  json_t *del = mol_platform__parse_body(r, resp) ? NULL : mol_json_path(r->json, "deleted");
  if (!json_is_true(del)) {
    r->res.misrouted = 1;
    mol_logw(MOL_PLATFORM__SCOPE,
             "GET /state answered 404 without deleted:true: a tenant guard or WAF misroute "
             "(check org_id and Origin), not a deletion");
    return MOL_EHTTP;
  }
  const char *st = mol_json_str(r->json, "status");
  r->res.status = st ? st : "removed";
  r->res.deleted = 1;
  r->res.error = NULL;
  return 0;
}

static void state_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (err == MOL_EHTTP && resp->status == 404) {
    mol_platform__finish(r, state_404(r, resp));
    return;
  }
  if (!err && (mol_platform__parse_body(r, resp) || !json_is_object(r->json))) err = MOL_EJSON;
  if (!err) {
    const char *st = mol_json_str(r->json, "status");
    r->res.status = st ? st : "unknown";
    r->res.paused = json_is_true(mol_json_path(r->json, "paused")) || (st && !strcmp(st, "paused"));
    r->res.deleted = json_is_true(mol_json_path(r->json, "deleted"));
  }
  mol_platform__finish(r, err);
}

/* The URL is made when the poll is sent: a poll waiting at the gate holds none. */
static int state_build(mol_platform_req *r) {
  r->url = mol_platform__url(r->c, "/workspaces/%s/state", r->c->ws_id);
  return r->url ? 0 : MOL_ENOMEM;
}

static int state_start(mol_platform_req *r, const void *ctx) {
  (void)ctx;
  return mol_platform__exchange_late(r, "GET", state_build,
                                     MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                     MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH,
                                     r->c->timeout_ms, state_done);
}

int mol_platform_poll_state(mol_platform_client *c, const mol_platform_call *call,
                            mol_platform_cb cb, void *arg, mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, state_start, NULL, out);
}
