/* delegations.c - the client side of the delegation ledger: list, record, update and the
 * status of one delegation. A runtime that delegates by itself mirrors each delegation here
 * (record when sent, update when it ends), so its status survives the runtime; the status of
 * one is read from the list, as the platform has no single-delegation GET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "platform/platform_int.h"

int mol_platform_delegations(mol_platform_client *c, const mol_platform_call *call,
                             mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c) return MOL_EINVAL;
  return mol_platform__json_call(c, "GET",
                                 mol_platform__url(c, "/workspaces/%s/delegations", c->ws_id),
                                 NULL, MOL_PLATFORM__RETRY, NULL, call, cb, arg, out);
}

int mol_platform_delegation_record(mol_platform_client *c, const char *target_id,
                                   const char *task, const char *delegation_id,
                                   const mol_platform_call *call, mol_platform_cb cb, void *arg,
                                   mol_platform_req **out) {
  if (!c || !mol_platform__valid_id(target_id) || !task || !*task || !delegation_id ||
      !*delegation_id)
    return MOL_EINVAL;
  char *target = mol_platform__id_dup(target_id);
  char *body = target ? mol_platform__dump(json_pack("{s:s,s:s,s:s}", "target_id", target,
                                                     "task", task, "delegation_id",
                                                     delegation_id))
                      : NULL;
  free(target);
  if (!body) return MOL_ENOMEM;
  return mol_platform__json_call(
      c, "POST", mol_platform__url(c, "/workspaces/%s/delegations/record", c->ws_id), body, 0,
      NULL, call, cb, arg, out);
}

int mol_platform_delegation_update(mol_platform_client *c, const char *delegation_id,
                                   const char *status, const char *error,
                                   const char *response_preview, const mol_platform_call *call,
                                   mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c || !delegation_id || !*delegation_id || !status) return MOL_EINVAL;
  json_t *b = json_pack("{s:s}", "status", status);
  if (b && error) json_object_set_new(b, "error", json_string(error));
  if (b && response_preview)
    json_object_set_new(b, "response_preview", json_string(response_preview));
  char *body = mol_platform__dump(b);
  char *id = mol_platform__pct_encode(delegation_id);
  char *url = id ? mol_platform__url(c, "/workspaces/%s/delegations/%s/update", c->ws_id, id)
                 : NULL;
  free(id);
  if (!body || !url) {
    free(body);
    free(url);
    return MOL_ENOMEM;
  }
  return mol_platform__json_call(c, "POST", url, body, 0, NULL, call, cb, arg, out);
}

/* Finds the row whose "id" is r->s1 in the list answer: res->status and res->item from it. */
void mol_platform__find_in_list(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (!err) err = mol_platform__parse_body(r, resp);
  if (!err && !json_is_array(r->json)) err = MOL_EBADRESP;
  if (!err) {
    size_t i;
    json_t *row, *hit = NULL;
    json_array_foreach(r->json, i, row) {
      /* a delegation row names its delegation apart from its own (activity) id upstream */
      const char *id = mol_json_str(row, "delegation_id");
      if (!id) id = mol_json_str(row, "id");
      if (id && !strcmp(id, r->s1)) {
        hit = row;
        break;
      }
    }
    if (!hit) {
      err = MOL_ENOENT;
    } else {
      r->res.id = mol_json_str(hit, "id");
      r->res.status = mol_json_str(hit, "status");
      r->s2 = mol_json_dump(hit);
      r->res.item = r->s2;
      if (!r->s2) err = MOL_ENOMEM;
    }
  }
  mol_platform__finish(r, err);
}

int mol_platform__get_one(mol_platform_client *c, const char *path_fmt, const char *id,
                          const mol_platform_call *call, mol_platform_cb cb, void *arg,
                          mol_platform_req **out) {
  mol_platform_req *r = NULL;
  char *key = strdup(id);
  if (!key) return MOL_ENOMEM;
  char *url = mol_platform__url(c, path_fmt, c->ws_id);
  int rc = mol_platform__json_call(c, "GET", url, NULL, MOL_PLATFORM__RETRY,
                                   mol_platform__find_in_list, call, cb, arg, &r);
  if (rc) {
    free(key);
    return rc;
  }
  r->s1 = key; /* before any answer: the step runs on a later loop iteration */
  if (out) *out = r;
  return 0;
}

int mol_platform_delegation_status(mol_platform_client *c, const char *delegation_id,
                                   const mol_platform_call *call, mol_platform_cb cb, void *arg,
                                   mol_platform_req **out) {
  if (!c || !delegation_id || !*delegation_id) return MOL_EINVAL;
  /* ?delegation_id= narrows the list to that row where the platform knows the filter (ours);
   * elsewhere it is ignored and the row is looked for among the newest 50. */
  char *enc = mol_platform__pct_encode(delegation_id);
  size_t n = enc ? strlen(enc) : 0, k = 0;
  char *fmt = enc ? malloc(sizeof "/workspaces/%s/delegations?delegation_id=" + 2 * n) : NULL;
  if (fmt) {
    k = (size_t)sprintf(fmt, "/workspaces/%%s/delegations?delegation_id=");
    for (size_t i = 0; i < n; i++) { /* '%' of the encoding doubled for the format */
      if (enc[i] == '%') fmt[k++] = '%';
      fmt[k++] = enc[i];
    }
    fmt[k] = '\0';
  }
  int rc = fmt ? mol_platform__get_one(c, fmt, delegation_id, call, cb, arg, out) : MOL_ENOMEM;
  free(enc);
  free(fmt);
  return rc;
}
