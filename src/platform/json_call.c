/* json_call.c - the shape most tool-facing platform calls share: one exchange, a JSON answer,
 * a few well-known fields lifted into the result (id, version, status). Memory, delegation and
 * approval calls are built on it, each adding only its URL, body and, when needed, its own step
 * (a filter over a list, say). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "platform/platform_int.h"

typedef struct {
  const char *method;
  char *url, *body;      /* taken over by the exchange */
  unsigned flags;
  mol_platform__step_fn step;
  int taken;             /* the exchange owns url and body (freed with the call) */
} json_call_args;

/* Lifts id (or approval_id / delegation_id), version (or current_version) and status. */
static void lift_fields(mol_platform_req *r) {
  const char *id = mol_json_str(r->json, "id");
  if (!id) id = mol_json_str(r->json, "approval_id");
  if (!id) id = mol_json_str(r->json, "delegation_id");
  r->res.id = id;
  json_t *v = json_object_get(r->json, "version");
  if (!v) v = json_object_get(r->json, "current_version");
  r->res.version = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
  const char *st = mol_json_str(r->json, "status");
  if (st) r->res.status = st;
}

void mol_platform__json_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (resp && !mol_platform__parse_body(r, resp) && json_is_object(r->json)) lift_fields(r);
  mol_platform__finish(r, err);
}

static int json_start(mol_platform_req *r, const void *ctx) {
  json_call_args *a = (json_call_args *)ctx;
  a->taken = 1;
  unsigned flags = MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_WS |
                   MOL_PLATFORM__REAUTH | a->flags;
  if (a->body) flags |= MOL_PLATFORM__H_JSON;
  return mol_platform__exchange(r, a->method, a->url, a->body, a->body ? strlen(a->body) : 0,
                                flags, r->c->timeout_ms,
                                a->step ? a->step : mol_platform__json_done);
}

int mol_platform__json_call(mol_platform_client *c, const char *method, char *url, char *body,
                            unsigned flags, mol_platform__step_fn step,
                            const mol_platform_call *call, mol_platform_cb cb, void *arg,
                            mol_platform_req **out) {
  json_call_args a = {method, url, body, flags, step, 0};
  int rc = url ? mol_platform__call(c, call, cb, arg, json_start, &a, out) : MOL_ENOMEM;
  if (!a.taken) { /* never started: the strings are still ours */
    free(url);
    free(body);
  }
  return rc;
}

char *mol_platform__pct_encode(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(n * 3 + 1), *p = out;
  if (!out) return NULL;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      *p++ = (char)ch;
    } else {
      *p++ = '%';
      *p++ = hex[ch >> 4];
      *p++ = hex[ch & 15];
    }
  }
  *p = '\0';
  return out;
}

char *mol_platform__dump(json_t *v) {
  char *s = v ? mol_json_dump(v) : NULL;
  json_decref(v);
  return s;
}
