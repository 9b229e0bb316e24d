/* memory.c - the memory calls of the platform client: the key/value store
 * (/workspaces/<self>/memory) and scoped memories (/workspaces/<self>/memories). Content is
 * redacted before a memory is committed: memories are read back into prompts, possibly of
 * other workspaces, so a credential must never reach one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/redact.h"
#include "platform/platform_int.h"

#define KEY_MAX 64

static const char *const SCOPES[] = {"LOCAL", "TEAM", "GLOBAL"};

static int key_ok(const char *key) { return key && *key && strlen(key) <= KEY_MAX; }

/* /workspaces/<self>/memory/<encoded key> */
static char *key_url(mol_platform_client *c, const char *key) {
  char *enc = mol_platform__pct_encode(key);
  char *url = enc && strlen(enc) <= KEY_MAX
                  ? mol_platform__url(c, "/workspaces/%s/memory/%s", c->ws_id, enc)
                  : NULL;
  free(enc);
  return url;
}

int mol_platform_memory_get(mol_platform_client *c, const char *key,
                            const mol_platform_call *call, mol_platform_cb cb, void *arg,
                            mol_platform_req **out) {
  if (!c || !key_ok(key)) return MOL_EINVAL;
  char *url = key_url(c, key);
  if (!url) return MOL_EINVAL; /* or its encoded form is longer than a path segment may be */
  return mol_platform__json_call(c, "GET", url, NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg,
                                 out);
}

int mol_platform_memory_list(mol_platform_client *c, const mol_platform_call *call,
                             mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  return mol_platform__json_call(c, "GET", mol_platform__url(c, "/workspaces/%s/memory", c->ws_id),
                                 NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg, out);
}

int mol_platform_memory_set(mol_platform_client *c, const char *key, const char *value_json,
                            const mol_platform_memory_set_opts *o, const mol_platform_call *call,
                            mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c || !key_ok(key) || !value_json) return MOL_EINVAL;
  if (o && (o->ttl_seconds < 0 || (o->conditional && o->if_match_version < 0)))
    return MOL_EINVAL;
  json_t *value = json_loads(value_json, JSON_DECODE_ANY, NULL);
  if (!value) return MOL_EJSON;
  json_t *b = json_pack("{s:s,s:o}", "key", key, "value", value);
  if (b && o && o->ttl_seconds > 0)
    json_object_set_new(b, "ttl_seconds", json_integer(o->ttl_seconds));
  if (b && o && o->conditional)
    json_object_set_new(b, "if_match_version", json_integer(o->if_match_version));
  char *body = mol_platform__dump(b);
  if (!body) return MOL_ENOMEM;
  return mol_platform__json_call(c, "POST",
                                 mol_platform__url(c, "/workspaces/%s/memory", c->ws_id), body, 0,
                                 NULL, call, cb, arg, out);
}

int mol_platform_memory_delete(mol_platform_client *c, const char *key,
                               const mol_platform_call *call, mol_platform_cb cb, void *arg,
                               mol_platform_req **out) {
  if (!c || !key_ok(key)) return MOL_EINVAL;
  char *url = key_url(c, key);
  if (!url) return MOL_EINVAL;
  return mol_platform__json_call(c, "DELETE", url, NULL, 0, NULL, call, cb, arg, out);
}

int mol_platform_memory_commit(mol_platform_client *c, const char *content,
                               mol_memory_scope scope, const char *ns,
                               const mol_platform_call *call, mol_platform_cb cb, void *arg,
                               mol_platform_req **out) {
  if (!c || !content || !*content || (unsigned)scope > MOL_MEMORY_GLOBAL) return MOL_EINVAL;
  if (ns && strlen(ns) > 50) return MOL_EINVAL;
  mol_buf clean = MOL_BUF_INIT;
  if (mol_redact(content, strlen(content), NULL, 0, &clean)) return MOL_ENOMEM;
  json_t *b = json_pack("{s:s,s:s,s:s}", "content", clean.data ? clean.data : "", "scope",
                        SCOPES[scope], "namespace", ns && *ns ? ns : "general");
  mol_buf_free(&clean);
  char *body = mol_platform__dump(b);
  if (!body) return MOL_ENOMEM;
  return mol_platform__json_call(c, "POST",
                                 mol_platform__url(c, "/workspaces/%s/memories", c->ws_id), body,
                                 0, NULL, call, cb, arg, out);
}

/* Appends "&name=<encoded value>" when value is set. */
static int add_param(mol_buf *b, const char *name, const char *value) {
  if (!value || !*value) return 0;
  char *enc = mol_platform__pct_encode(value);
  int rc = enc ? mol_buf_printf(b, "&%s=%s", name, enc) : MOL_ENOMEM;
  free(enc);
  return rc;
}

int mol_platform_memory_search(mol_platform_client *c, const mol_platform_memory_search_opts *o,
                               const mol_platform_call *call, mol_platform_cb cb, void *arg,
                               mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  mol_platform_memory_search_opts d = {.any_scope = 1};
  if (!o) o = &d;
  if ((!o->any_scope && (unsigned)o->scope > MOL_MEMORY_GLOBAL) || o->limit > 50)
    return MOL_EINVAL;
  mol_buf q = MOL_BUF_INIT;
  int rc = mol_buf_printf(&q, "limit=%u", o->limit ? o->limit : 10);
  if (!rc && !o->any_scope) rc = add_param(&q, "scope", SCOPES[o->scope]);
  if (!rc) rc = add_param(&q, "q", o->q);
  if (!rc) rc = add_param(&q, "namespace", o->ns);
  char *url = rc ? NULL : mol_platform__url(c, "/workspaces/%s/memories?%s", c->ws_id, q.data);
  mol_buf_free(&q);
  if (!url) return MOL_ENOMEM;
  return mol_platform__json_call(c, "GET", url, NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg,
                                 out);
}

int mol_platform_memory_forget(mol_platform_client *c, const char *memory_id,
                               const mol_platform_call *call, mol_platform_cb cb, void *arg,
                               mol_platform_req **out) {
  if (!c || !mol_platform__valid_id(memory_id)) return MOL_EINVAL;
  char *id = mol_platform__id_dup(memory_id);
  char *url = id ? mol_platform__url(c, "/workspaces/%s/memories/%s", c->ws_id, id) : NULL;
  free(id);
  if (!url) return MOL_ENOMEM;
  return mol_platform__json_call(c, "DELETE", url, NULL, 0, NULL, call, cb, arg, out);
}
