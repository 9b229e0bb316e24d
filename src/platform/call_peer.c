/* call_peer.c - A2A message/send to a peer: direct to its URL, else through the platform proxy,
 * and the reply-text accessor.
 *
 * Fallback rule (test ADD-06): the proxy is tried when discovery fails (any
 * error: the proxy may still reach the peer), when the direct attempt fails in transport (refused,
 * reset, timeout), answers 5xx, or answers 2xx with something that is not JSON. A 4xx from the
 * peer is surfaced: the peer received the message, and resending it could duplicate a side
 * effect. Each attempt carries a fresh JSON-RPC id; the messageId stays the same so a receiver
 * can recognise the resend. The direct attempt carries no platform bearer and no tenant headers
 * unless send_auth_to_peers is set: a peer URL is a third party. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/log.h"
#include "platform/platform_int.h"

typedef struct {
  char *text;
  char *rpc_message;
  unsigned timeout_ms;       /* each attempt */
} peer_op;

static void peer_op_free(mol_platform_req *r) {
  peer_op *op = r->op;
  if (!op) return;
  free(op->text);
  free(op->rpc_message);
}

char *mol_platform__message_send_body(const char *text, const char *role, const char *message_id) {
  char id[MOL_UUID_LEN + 1], mid[MOL_UUID_LEN + 1];
  if (mol_uuid4(id) || (!message_id && mol_uuid4(mid))) return NULL;
  json_t *v = json_pack("{s:s, s:s, s:s, s:{s:{s:s, s:s, s:[{s:s, s:s}]}}}", "jsonrpc", "2.0",
                        "id", id, "method", "message/send", "params", "message", "role", role,
                        "messageId", message_id ? message_id : mid, "parts", "kind", "text",
                        "text", text);
  char *s = v ? mol_json_dump(v) : NULL;
  json_decref(v);
  return s;
}

/* ---- reply text -------------------------------------------------------------------------- */

static int is_text_part(json_t *part) {
  const char *k = mol_json_str(part, "kind");
  if (!k) k = mol_json_str(part, "type");
  return json_is_string(json_object_get(part, "text")) && (!k || !strcmp(k, "text"));
}

/* Appends the text parts of an array of parts; returns how many there were. */
static int append_parts(mol_buf *b, json_t *parts) {
  int n = 0;
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    if (!is_text_part(p)) continue;
    if (n++) mol_buf_append_str(b, "\n");
    mol_buf_append_str(b, json_string_value(json_object_get(p, "text")));
  }
  return n;
}

static int collect_text(json_t *result, mol_buf *b) {
  if (append_parts(b, mol_json_path(result, "parts"))) return 1;
  size_t i;
  json_t *a;
  int n = 0;
  json_array_foreach(mol_json_path(result, "artifacts"), i, a) {
    if (n && b->len) mol_buf_append_str(b, "\n");
    n += append_parts(b, json_object_get(a, "parts"));
  }
  if (n) return 1;
  return append_parts(b, mol_json_path(result, "status.message.parts")) > 0;
}

static int rpc_error(json_t *err, int *code, char **message) {
  *code = (int)mol_json_int(err, "code", -32603);
  const char *m = mol_json_str(err, "message");
  *message = m ? strdup(m) : NULL;
  return MOL_ERPC;
}

int mol_platform_reply_text(const char *body, size_t len, char **text, int *rpc_code,
                            char **rpc_message) {
  *text = NULL;
  *rpc_code = 0;
  *rpc_message = NULL;
  json_t *v = body ? mol_json_parse(body, len, NULL, 0) : NULL;
  if (!json_is_object(v)) {
    json_decref(v);
    return MOL_EJSON;
  }
  json_t *err = json_object_get(v, "error");
  if (err && !json_is_null(err)) {
    int rc = json_is_object(err) ? rpc_error(err, rpc_code, rpc_message) : MOL_ERPC;
    if (!json_is_object(err)) *rpc_code = -32603;
    json_decref(v);
    return rc;
  }
  mol_buf b = MOL_BUF_INIT;
  if (!collect_text(json_object_get(v, "result"), &b)) {
    mol_buf_reset(&b);
    mol_buf_append(&b, body, len); /* nothing recognisable: the raw body, as upstream */
  }
  json_decref(v);
  *text = mol_buf_steal(&b);
  return *text ? 0 : MOL_ENOMEM;
}

/* ---- the call ---------------------------------------------------------------------------- */

static void direct_done(mol_platform_req *r, int err, const mol_http_response *resp);
static void proxy_done(mol_platform_req *r, int err, const mol_http_response *resp);

static int finish_reply(mol_platform_req *r, const mol_http_response *resp) {
  peer_op *op = r->op;
  int rc = mol_platform_reply_text(resp->body, resp->body_len, &op->text, &r->res.rpc_code,
                                   &op->rpc_message);
  r->res.text = op->text;
  r->res.rpc_message = op->rpc_message;
  return rc;
}

static int start_proxy(mol_platform_req *r) {
  mol_platform_client *c = r->c;
  r->res.via_proxy = 1;
  char *body = mol_platform__message_send_body(r->s2, "user", r->s3);
  int rc = mol_platform__exchange(r, "POST", mol_platform__url(c, "/workspaces/%s/a2a", r->s1),
                                  body, body ? strlen(body) : 0,
                                  MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                  MOL_PLATFORM__H_WS | MOL_PLATFORM__H_JSON | MOL_PLATFORM__REAUTH,
                                  ((peer_op *)r->op)->timeout_ms, proxy_done);
  return rc;
}

static int start_direct(mol_platform_req *r, const char *url) {
  mol_platform_client *c = r->c;
  unsigned flags = MOL_PLATFORM__H_WS | MOL_PLATFORM__H_JSON;
  if (c->send_auth_to_peers) flags |= MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT;
  char *body = mol_platform__message_send_body(r->s2, "user", r->s3);
  int rc = mol_platform__exchange(r, "POST", strdup(url), body, body ? strlen(body) : 0, flags,
                                  ((peer_op *)r->op)->timeout_ms, direct_done);
  return rc;
}

static void discover_step(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  const char *url = NULL;
  if (!err && !mol_platform__parse_body(r, resp)) url = mol_json_str(r->json, "url");
  if (mol_platform__is_http_url(url)) {
    mol_platform__cache_put(r->c, r->s1, url, uv_now(r->c->loop));
    if ((err = start_direct(r, url))) mol_platform__finish(r, err);
    return;
  }
  if (err && !(err == MOL_EHTTP && resp->status == 404))
    mol_logw(MOL_PLATFORM__SCOPE, "discover %s failed (%s, status %d); using the platform proxy",
             r->s1, mol_strerror(err), resp ? resp->status : 0);
  r->res.error = NULL;
  if ((err = start_proxy(r))) mol_platform__finish(r, err);
}

static void direct_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  int st = resp ? resp->status : 0;
  if (!err && st >= 400 && st < 500) { /* the peer got it: never resend */
    if (st == 404) mol_platform_invalidate_peer(r->c, r->s1);
    mol_platform__finish(r, mol_platform__response_err(r, 0, resp));
    return;
  }
  if (!err && st >= 200 && st < 300) {
    mol_platform__response_err(r, 0, resp);
    int rc = finish_reply(r, resp);
    if (rc != MOL_EJSON) {
      mol_platform__finish(r, rc);
      return;
    }
  }
  mol_logw(MOL_PLATFORM__SCOPE, "direct call to %s failed (%s, status %d); retrying via the proxy",
           r->s1, err ? mol_strerror(err) : "bad reply", st);
  mol_platform_invalidate_peer(r->c, r->s1);
  r->res = (mol_platform_result){.attempts = r->res.attempts};
  if ((err = start_proxy(r))) mol_platform__finish(r, err);
}

static int proxy_queued(mol_platform_req *r, const mol_http_response *resp) {
  if (resp->status == 202) return 1;
  if (mol_platform__parse_body(r, resp)) return 0;
  const char *st = mol_json_str(r->json, "status");
  return (st && !strcmp(st, "queued")) || json_is_true(mol_json_path(r->json, "queued"));
}

static void proxy_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (!err && proxy_queued(r, resp)) {
    r->res.queued = 1; /* accepted; the reply will not come back on this call */
    mol_platform__finish(r, 0);
    return;
  }
  mol_platform__finish(r, err ? err : finish_reply(r, resp));
}

static int call_peer_start(mol_platform_req *r, int proxy_only) {
  mol_platform_client *c = r->c;
  if (proxy_only) return start_proxy(r);
  const char *hit = mol_platform__cache_get(c, r->s1, uv_now(c->loop));
  if (hit) return start_direct(r, hit);
  return mol_platform__exchange(r, "GET", mol_platform__url(c, "/registry/discover/%s", r->s1),
                                NULL, 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_WS |
                                MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH, c->timeout_ms,
                                discover_step);
}

typedef struct {
  const char *target_id, *text, *message_id;
  int proxy_only;
  unsigned timeout_ms;
} call_peer_args;

static int call_peer_setup(mol_platform_req *r, const void *ctx) {
  const call_peer_args *p = ctx;
  char mid[MOL_UUID_LEN + 1];
  r->op = calloc(1, sizeof(peer_op));
  r->op_free = peer_op_free;
  int rc = !r->op || !(r->s1 = mol_platform__id_dup(p->target_id)) || !(r->s2 = strdup(p->text))
               ? MOL_ENOMEM : 0;
  if (!rc && !p->message_id) rc = mol_uuid4(mid);
  if (!rc && !(r->s3 = strdup(p->message_id ? p->message_id : mid))) rc = MOL_ENOMEM;
  if (!rc) ((peer_op *)r->op)->timeout_ms = p->timeout_ms ? p->timeout_ms : r->c->peer_timeout_ms;
  return rc ? rc : call_peer_start(r, p->proxy_only);
}

int mol_platform_call_peer(mol_platform_client *c, const char *target_id, const char *text,
                           const mol_platform_call_peer_opts *o, const mol_platform_call *call,
                           mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!mol_platform__valid_id(target_id) || !text) return MOL_EINVAL;
  if (o && o->message_id && (!*o->message_id || strlen(o->message_id) > 128)) return MOL_EINVAL;
  call_peer_args p = {target_id, text, o ? o->message_id : NULL, o && o->proxy_only,
                      o ? o->timeout_ms : 0};
  return mol_platform__call(c, call, cb, arg, call_peer_setup, &p, out);
}
