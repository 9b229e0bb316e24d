/* delegate.c - POST /workspaces/<self>/delegate and the SDK's idempotency key.
 *
 * The Python SDK posts {task, idempotency_key} to /workspaces/<target>/delegate, which the
 * platform rejects: the path takes the caller (whose token authorises it) and the body needs
 * target_id. We use the platform's shape and
 * keep the SDK's key (sha256 of "<task>:<minute>"), which the platform dedups on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/jscan.h"
#include "base/json.h"
#include "platform/platform_int.h"

void mol_platform_idempotency_key(const char *task, int64_t unix_s, char out[65]) {
  int64_t minute = unix_s >= 0 ? unix_s / 60 * 60 : -((-unix_s + 59) / 60) * 60; /* floor */
  mol_buf b = MOL_BUF_INIT;
  uint8_t h[MOL_SHA256_LEN];
  if (mol_buf_printf(&b, "%s:%lld", task ? task : "", (long long)minute)) {
    out[0] = '\0';
    return;
  }
  mol_sha256_once(b.data, b.len, h);
  mol_buf_free(&b);
  mol_hex(h, sizeof(h), out);
}

int mol_platform__delegate_answer_scan(const char *body, size_t len, char **id, int *hit) {
  mol_jscan s;
  mol_jtok t, id_tok = {0};
  int has_id = 0;
  *id = NULL;
  *hit = 0;
  mol_jscan_init(&s, body, len);
  if (mol_jscan_next(&s, &t) != MOL_JT_OBJECT) return 0;
  for (;;) {
    mol_jtype ty = mol_jscan_next(&s, &t);
    if (ty == MOL_JT_OBJECT_END) break;
    if (ty != MOL_JT_KEY) return 0;
    int which = mol_jscan_eq(&t, "delegation_id") ? 1 : mol_jscan_eq(&t, "idempotent_hit") ? 2 : 0;
    ty = mol_jscan_next(&s, &t);
    if (ty == MOL_JT_FAIL || mol_jscan_skip(&s)) return 0;
    if (which == 1 && (has_id = ty == MOL_JT_STRING)) id_tok = t; /* the last one counts */
    if (which == 2) *hit = ty == MOL_JT_TRUE;
  }
  if (mol_jscan_next(&s, &t) != MOL_JT_END || mol_jscan_saw_nul(&s)) return 0;
  if (has_id) {
    if (!(*id = malloc(id_tok.len + 1))) return 0;
    mol_jscan_string(&id_tok, *id);
  }
  return 1;
}

int mol_platform__delegate_answer_dom(const char *body, size_t len, char **id, int *hit) {
  json_t *v = mol_json_parse(body, len, NULL, 0);
  const char *s = mol_json_str(v, "delegation_id");
  *id = s ? strdup(s) : NULL;
  *hit = json_is_true(mol_json_path(v, "idempotent_hit"));
  json_decref(v);
  return v != NULL;
}

/* The answer, {"delegation_id":…,"idempotent_hit":…,…}, read with the scanner: every
 * delegation of every tool call gets one, and a jansson tree of it was the largest part of the
 * call in the client. The id is kept in r->op (freed with the request); a body the scanner
 * does not decide is parsed as before. */
static void delegate_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  char *id = NULL;
  int hit = 0;
  if (!err && resp->body && resp->body_len &&
      mol_platform__delegate_answer_scan(resp->body, resp->body_len, &id, &hit)) {
    free(r->op);
    r->op = id;
    r->res.delegation_id = id;
    r->res.idempotent_hit = hit;
  } else if (!err && !mol_platform__parse_body(r, resp)) {
    r->res.delegation_id = mol_json_str(r->json, "delegation_id");
    r->res.idempotent_hit = json_is_true(mol_json_path(r->json, "idempotent_hit"));
  }
  mol_platform__finish(r, err);
}

/* 1 when s holds only well-formed UTF-8 (no overlong forms, surrogates or past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len || len > n - i) return 0;
    for (size_t k = 1; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
        (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
      return 0;
    i += len;
  }
  return 1;
}

/* {"target_id","task","idempotency_key"}, written as text: every delegation of every tool call
 * sends one (the same bytes json_pack and mol_json_dump gave; NULL for a task that is not
 * UTF-8, as json_pack refused it). */
static char *delegate_body(const char *target, const char *task, const char *key) {
  mol_buf b = MOL_BUF_INIT;
  size_t task_len = strlen(task);
  if (!valid_utf8((const unsigned char *)task, task_len) ||
      !valid_utf8((const unsigned char *)key, strlen(key)))
    return NULL;
  int err = mol_buf_reserve(&b, task_len + 160);
  err |= mol_buf_append_str(&b, "{\"target_id\":");
  err |= mol_json_write_string(&b, target, strlen(target));
  err |= mol_buf_append_str(&b, ",\"task\":");
  err |= mol_json_write_string(&b, task, task_len);
  err |= mol_buf_append_str(&b, ",\"idempotency_key\":");
  err |= mol_json_write_string(&b, key, strlen(key));
  err |= mol_buf_append(&b, "}", 1);
  if (err) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

typedef struct {
  const char *target_id, *task, *key;
  unsigned timeout_ms;
} delegate_args;

static int delegate_start(mol_platform_req *r, const void *ctx) {
  const delegate_args *d = ctx;
  mol_platform_client *c = r->c;
  char *target = mol_platform__id_dup(d->target_id);
  char *body = target ? delegate_body(target, d->task, d->key) : NULL;
  free(target);
  /* Never retried: the platform dedups on the key, but a POST is still not ours to resend. */
  return mol_platform__exchange(r, "POST",
                                mol_platform__url(c, "/workspaces/%s/delegate", c->ws_id), body,
                                body ? strlen(body) : 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_WS |
                                MOL_PLATFORM__H_JSON | MOL_PLATFORM__REAUTH, d->timeout_ms,
                                delegate_done);
}

int mol_platform_delegate(mol_platform_client *c, const char *target_id, const char *task,
                          const mol_platform_delegate_opts *o, const mol_platform_call *call,
                          mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c || !mol_platform__valid_id(target_id) || !task) return MOL_EINVAL;
  char key[65];
  const char *use_key = o && o->idempotency_key && *o->idempotency_key ? o->idempotency_key : key;
  if (use_key == key) mol_platform_idempotency_key(task, mol_unix_ms() / 1000, key);
  delegate_args d = {target_id, task, use_key, o && o->timeout_ms ? o->timeout_ms : 300000};
  return mol_platform__call(c, call, cb, arg, delegate_start, &d, out);
}
