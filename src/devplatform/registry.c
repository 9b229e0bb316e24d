/* registry.c - POST /registry/register, /registry/heartbeat, /registry/update-card
 * (docs/devplatform.md "Endpoints"). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "http/server.h"
#include "molecule.h"

static const char *const MISSING = "missing workspace auth token";
static const char *const INVALID = "invalid workspace auth token";

static json_t *parse_object(const mol_dp__call *c) {
  json_t *v = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
  if (v && !json_is_object(v)) {
    json_decref(v);
    v = NULL;
  }
  return v;
}

static int is_http_url(const char *url) {
  return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* Register's URL rule: http(s) URLs pass the register-time SSRF check and mean
 * push delivery; any other non-empty URL (the SDK's "remote://no-inbound") means poll mode,
 * where upstream at the reference commit answered 400. */
static int register_mode(mol_devplatform *dp, const char *url, const char **mode) {
  if (!*url) return 0;
  if (!is_http_url(url)) {
    *mode = "poll";
    return strlen(url) <= 2048;
  }
  *mode = "push";
  return strlen(url) <= 2048 && mol_dp__ssrf_register_ok(url, dp->dev);
}

static int register_upsert(mol_devplatform *dp, const char *id, const char *url,
                           const char *card, const char *mode, int exists) {
  if (!exists && mol_dp__ws_create(dp, id, id, NULL, 3, NULL, "online", url, "external", 1, -1))
    return MOL_EIO;
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_REGISTER);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, id);
  mol_dp__bind_text(st, 2, url);
  mol_dp__bind_text(st, 3, card);
  mol_dp__bind_text(st, 4, mode);
  sqlite3_bind_int64(st, 5, mol_unix_ms());
  return mol_dp__exec_stmt(&dp->store, st);
}

/* Mints the workspace's token into resp and remembers the register's key with it. */
static void register_mint(mol_devplatform *dp, const char *id, const char *key, json_t *resp) {
  char tok[MOL_DP__TOKEN_LEN + 1];
  if (mol_dp__token_mint(dp, id, tok) != 0) {
    mol_logw("devplatform", "token issuance failed for %s", id); /* register still 200 */
    return;
  }
  json_object_set_new(resp, "auth_token", json_string(tok));
  mol_dp__regkey_note(dp, id, key, tok);
  memset(tok, 0, sizeof tok);
}

void mol_dp__h_register(mol_dp__call *c, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  json_t *body = parse_object(c);
  const char *id = body ? mol_json_str(body, "id") : NULL;
  const char *url = body ? mol_json_str(body, "url") : NULL;
  json_t *card = body ? json_object_get(body, "agent_card") : NULL;
  const char *mode = "push";
  if (!id || !url || !card || json_is_null(card) || !register_mode(dp, url, &mode)) {
    mol_dp__reply_err(r, 400, "invalid request body");
    goto out;
  }
  if (!mol_dp__is_id(id)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    goto out;
  }
  /* A register refused by the hijack guard may be the registrant whose first answer was
   * lost, asking again with the same key (regkey.c): it gets a fresh token instead. */
  const char *key = mol_http_req_header(c->req, "Idempotency-Key");
  int again = 0;
  if (!mol_dp__auth_grandfather(c, id, r, MISSING, INVALID) &&
      !(again = mol_dp__regkey_again(dp, id, key)))
    goto out;
  mol_dp__ws w;
  int found = mol_dp__ws_load(dp, id, &w);
  if (found < 0) {
    mol_dp__reply_err(r, 500, "registration failed");
    goto out;
  }
  /* Deviation: upstream answers 200 (and mints a token that can never validate) for a removed
   * workspace; we say it is gone, so an agent stops instead of looping on 401s. */
  if (found && strcmp(w.status, "removed") == 0) {
    mol_dp__ws_free(&w);
    mol_dp__reply_set(r, 404, json_pack("{s:s,s:b}", "error", "workspace removed", "deleted", 1));
    goto out;
  }
  if (found) mol_dp__ws_free(&w);
  char *card_text = json_dumps(card, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  int rc = card_text ? register_upsert(dp, id, url, card_text, mode, found) : MOL_ENOMEM;
  free(card_text);
  if (rc) {
    mol_dp__reply_err(r, 500, "registration failed");
    goto out;
  }
  json_t *resp = json_pack("{s:s,s:s}", "status", "registered", "delivery_mode", mode);
  if (again && mol_dp__regkey_revoke_lost(dp, id)) {
    json_decref(resp);
    mol_dp__reply_err(r, 500, "registration failed");
    goto out;
  }
  if (again || (!(c->bearer[0] && mol_dp__token_valid_for(dp, c->bearer, id)) &&
                !mol_dp__ws_has_live_token(dp, id)))
    register_mint(dp, id, key, resp);
  mol_dp__reply_set(r, 200, resp);
  if (again)
    mol_logi("devplatform", "registered %s (%s): a new token replaces one whose answer was lost",
             id, mode);
  else
    mol_logi("devplatform", "registered %s (%s)", id, mode);
  mol_dp__proxy_touch(dp, id);
out:
  json_decref(body);
}

/* The status a heartbeat moves the workspace to (at most the first rule that fires). */
static const char *next_status(const char *cur, double error_rate, const char *runtime_state,
                               int status_mgmt) {
  int wedged = runtime_state && strcmp(runtime_state, "wedged") == 0;
  if (strcmp(cur, "online") == 0) {
    if (wedged) return "degraded";
    if (!status_mgmt && error_rate >= 0.5) return "degraded";
    return cur;
  }
  if (strcmp(cur, "degraded") == 0) {
    if (!status_mgmt && error_rate < 0.1 && !(runtime_state && *runtime_state)) return "online";
    return cur;
  }
  if (strcmp(cur, "offline") == 0 || strcmp(cur, "provisioning") == 0 ||
      strcmp(cur, "awaiting_agent") == 0)
    return "online";
  return cur; /* paused, hibernated, failed: a heartbeat never changes them */
}

/* Every heartbeat re-declares the overrides; absence clears them. */
static void apply_overrides(mol_devplatform *dp, const mol_dp__hb *f) {
  int has_caps = f->caps || f->caps_text;
  mol_dp__rt *rt = mol_dp__rt_get(dp, f->ws, f->idle > 0 || has_caps);
  if (!rt) return;
  rt->idle_override_s = f->idle > 0 ? (f->idle > 86400 * 7 ? 86400 * 7 : (unsigned)f->idle) : 0;
  /* Most heartbeats re-declare the same map: keep it instead of building it each time. */
  int same = rt->caps && (f->caps ? json_equal(rt->caps, f->caps)
                                  : mol_dp__hb_caps_same(rt->caps, f->caps_text, f->caps_len));
  if (!same) {
    if (rt->caps) json_decref(rt->caps);
    rt->caps = f->caps        ? json_deep_copy(f->caps)
               : f->caps_text ? json_loadb(f->caps_text, f->caps_len, 0, NULL)
                              : NULL;
  }
  mol_dp__rt_maybe_drop(dp, rt);
}

/* Returns 1 updated, 0 unknown/removed (still 200 upstream), <0 error. */
static int hb_store(mol_devplatform *dp, const mol_dp__hb *f, int *max_conc) {
  sqlite3_stmt *st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_HB_READ);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, f->ws);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_reset(st);
    return 0;
  }
  char cur[24];
  strncpy(cur, mol_dp__col_text(st, 0) ? mol_dp__col_text(st, 0) : "", sizeof cur - 1);
  cur[sizeof cur - 1] = '\0';
  *max_conc = sqlite3_column_int(st, 1);
  sqlite3_reset(st);
  if (strcmp(cur, "removed") == 0) return 0;
  const char *status = next_status(cur, f->error_rate, f->runtime_state,
                                   mol_dp__rt_cap(dp, f->ws, "status_mgmt"));
  if (mol_dp__store_write_begin(&dp->store)) return MOL_EIO;
  st = mol_dp__stmt(&dp->store, MOL_DP__ST_WS_HEARTBEAT);
  if (!st) return MOL_EIO;
  mol_dp__bind_text(st, 1, f->ws);
  sqlite3_bind_double(st, 2, f->error_rate);
  mol_dp__bind_text(st, 3, f->sample_error);
  sqlite3_bind_int64(st, 4, f->active_tasks);
  sqlite3_bind_int64(st, 5, f->uptime);
  mol_dp__bind_text(st, 6, f->current_task);
  sqlite3_bind_int64(st, 7, f->spend);
  sqlite3_bind_int64(st, 8, mol_unix_ms());
  mol_dp__bind_text(st, 9, status);
  return mol_dp__exec_stmt(&dp->store, st) ? MOL_EIO : 1;
}

/* Bodies up to this size are read without a malloc (the SDK's are a few hundred bytes). */
#define HB_STACK 2048

void mol_dp__h_heartbeat(mol_dp__call *c, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  mol_dp__hb f;
  json_t *tree = NULL;
  char stack[HB_STACK];
  char *buf = c->body_len + 8 <= sizeof stack ? stack : malloc(c->body_len + 8);
  int ok = buf && mol_dp__hb_scan(c->body, c->body_len, &f, buf);
  if (!ok && !(tree = mol_dp__hb_read(c->body, c->body_len, &f))) {
    mol_dp__reply_err(r, 400, "invalid request body");
    goto out;
  }
  if (!mol_dp__auth_grandfather(c, f.ws, r, MISSING, INVALID)) goto out;
  int max_conc = 1;
  int rc = hb_store(dp, &f, &max_conc);
  if (rc < 0) {
    mol_dp__reply_err(r, 500, "failed to update");
    goto out;
  }
  apply_overrides(dp, &f);
  if (rc == 1) mol_dp__proxy_on_heartbeat(dp, f.ws, f.active_tasks < max_conc);
  mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "ok"));
out:
  json_decref(tree);
  if (buf != stack) free(buf);
}

void mol_dp__h_update_card(mol_dp__call *c, mol_dp__reply *r) {
  mol_devplatform *dp = c->dp;
  json_t *body = parse_object(c);
  const char *ws = body ? mol_json_str(body, "workspace_id") : NULL;
  json_t *card = body ? json_object_get(body, "agent_card") : NULL;
  if (!ws || !card || json_is_null(card)) {
    mol_dp__reply_err(r, 400, "invalid request body");
    goto out;
  }
  if (!mol_dp__auth_grandfather(c, ws, r, MISSING, INVALID)) goto out;
  char *text = json_dumps(card, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  int rc = text ? mol_dp__store_write_begin(&dp->store) : MOL_ENOMEM;
  sqlite3_stmt *st = rc ? NULL : mol_dp__stmt(&dp->store, MOL_DP__ST_WS_UPDATE_CARD);
  if (st) {
    mol_dp__bind_text(st, 1, ws);
    mol_dp__bind_text(st, 2, text);
    sqlite3_bind_int64(st, 3, mol_unix_ms());
    rc = mol_dp__exec_stmt(&dp->store, st);
  } else {
    rc = MOL_EIO;
  }
  free(text);
  if (rc) {
    mol_dp__reply_err(r, 500, "failed to update card");
    goto out;
  }
  mol_dp__proxy_touch(dp, ws);
  mol_dp__reply_set(r, 200, json_pack("{s:s}", "status", "updated"));
out:
  json_decref(body);
}
