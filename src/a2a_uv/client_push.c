/* client_push.c - the A2A client's push-notification config calls (client.h): requests in the
 * peer's version, answers read back into the v0.3 shape; and the other methods without a call
 * of their own (ListTasks, the extended card), answered as they come. */
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/client_int.h"
#include "base/json.h"
#include "molecule.h"

/* ---- requests ------------------------------------------------------------------------------ */

json_t *mol_a2a__client_push_inline(const mol_a2a_push_config *cfg, mol_a2a_version v) {
  json_t *w = mol_a2a_push_config_to_wire("", cfg, v);
  if (!w || v == MOL_A2A_V10) {
    if (w) json_object_del(w, "taskId"); /* the task is the one the message makes */
    return w;
  }
  json_t *inner = json_incref(json_object_get(w, "pushNotificationConfig"));
  json_decref(w);
  return inner;
}

/* v0.3 names the task `id` and the config `pushNotificationConfigId`; v1.0 `taskId` and `id`. */
static json_t *task_params(mol_a2a_version v, const char *task_id, const char *config_id) {
  json_t *p = json_pack("{s:s}", v == MOL_A2A_V10 ? "taskId" : "id", task_id);
  if (p && config_id)
    json_object_set_new(p, v == MOL_A2A_V10 ? "id" : "pushNotificationConfigId",
                        json_string(config_id));
  return p;
}

static int start(mol_a2a_client *c, mol_a2a_method m, json_t *params, const mol_a2a_call_opts *o,
                 mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  if (!params) return MOL_ENOMEM;
  mol_a2a_call *call;
  int rc = mol_a2a__client_call_new(c, CALL_UNARY, m, o, cb, arg, &call);
  if (rc != 0) {
    json_decref(params);
    return rc;
  }
  char *body = mol_a2a_request_build(c->version, m, call->id, params);
  rc = body ? mol_a2a__client_send_http(call, "POST", c->rpc_url, body, 0) : MOL_ENOMEM;
  free(body);
  if (rc != 0) {
    mol_a2a__client_call_discard(call);
    return rc;
  }
  if (out) *out = call;
  return 0;
}

int mol_a2a_push_set(mol_a2a_client *c, const char *task_id, const mol_a2a_push_config *cfg,
                     const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                     mol_a2a_call **out) {
  if (!task_id || !*task_id || !cfg || !cfg->url) return MOL_EINVAL;
  return start(c, MOL_A2A_M_PUSH_SET, mol_a2a_push_config_to_wire(task_id, cfg, c->version), o, cb,
               arg, out);
}

int mol_a2a_push_get(mol_a2a_client *c, const char *task_id, const char *config_id,
                     const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                     mol_a2a_call **out) {
  if (!task_id || !*task_id) return MOL_EINVAL;
  return start(c, MOL_A2A_M_PUSH_GET, task_params(c->version, task_id, config_id), o, cb, arg,
               out);
}

int mol_a2a_push_list(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                      mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  if (!task_id || !*task_id) return MOL_EINVAL;
  return start(c, MOL_A2A_M_PUSH_LIST, task_params(c->version, task_id, NULL), o, cb, arg, out);
}

int mol_a2a_push_delete(mol_a2a_client *c, const char *task_id, const char *config_id,
                        const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out) {
  if (!task_id || !*task_id) return MOL_EINVAL;
  /* v0.3 delete names the config; the task's own id is its default */
  if (!config_id && c->version == MOL_A2A_V03) config_id = task_id;
  return start(c, MOL_A2A_M_PUSH_DELETE, task_params(c->version, task_id, config_id), o, cb, arg,
               out);
}

int mol_a2a_call_method(mol_a2a_client *c, mol_a2a_method m, json_t *params,
                        const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out) {
  if ((m != MOL_A2A_M_LIST_TASKS && m != MOL_A2A_M_GET_EXTENDED_CARD) ||
      !mol_a2a_method_name(m, c->version)) {
    json_decref(params);
    return MOL_EINVAL;
  }
  return start(c, m, params ? params : json_object(), o, cb, arg, out);
}

/* ---- answers ------------------------------------------------------------------------------- */

/* One TaskPushNotificationConfig of either version into the v0.3 shape. */
static json_t *one_config(const json_t *w, mol_a2a_version v) {
  const char *task = json_string_value(json_object_get(w, "taskId"));
  const json_t *inner = json_object_get(w, "pushNotificationConfig");
  if (!inner) inner = w; /* v1.0 is flat */
  mol_a2a_push_config cfg;
  mol_a2a_error err;
  if (!task || mol_a2a_push_config_from_wire(inner, v, &cfg, &err) != 0) return NULL;
  json_t *out = mol_a2a_push_config_to_wire(task, &cfg, MOL_A2A_V03);
  mol_a2a_push_config_clear(&cfg);
  return out;
}

static int bad(mol_a2a_call *call, const char *what) {
  mol_buf_printf(&call->detail, "%s", what);
  return MOL_EBADRESP;
}

int mol_a2a__client_push_answer(mol_a2a_call *call) {
  mol_a2a_response *r = &call->resp;
  mol_a2a_version v = call->c->version;
  json_t *got = r->result, *norm = NULL;
  if (call->method == MOL_A2A_M_PUSH_DELETE) return 0; /* null, or whatever the peer says */
  if (call->method == MOL_A2A_M_PUSH_LIST) {
    const json_t *list = json_is_array(got) ? got : json_object_get(got, "configs");
    if (!list && json_is_object(got)) list = json_array(); /* v1.0 leaves an empty list out */
    else if (list) json_incref((json_t *)list);
    if (!json_is_array(list)) {
      json_decref((json_t *)list);
      return bad(call, "the push config list is not a list");
    }
    norm = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(list, i, w) {
      json_t *one = one_config(w, v);
      if (!one || json_array_append_new(norm, one) != 0) {
        json_decref(norm);
        norm = NULL;
        break;
      }
    }
    json_decref((json_t *)list);
    if (!norm) return bad(call, "a push config in the list is not one");
  } else if (!(norm = one_config(got, v))) {
    return bad(call, "the answer is not a push notification config");
  }
  json_decref(r->result);
  r->result = norm;
  return 0;
}
