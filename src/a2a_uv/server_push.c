/* server_push.c - the A2A server's push-notification methods: v0.3
 * tasks/pushNotificationConfig/set|get|list|delete and the v1.0
 * Create|Get|List|DeleteTaskPushNotificationConfig, a config given inline with message/send,
 * and the store's observer that hands every update of a task with configs to the pusher.
 *
 * Answers (the reference SDKs' where the spec leaves room): -32003 for every method when push
 * notifications are off; -32001 for an unknown task, and for a config that get cannot find;
 * -32602 for a config without a usable url, one the SSRF policy refuses, or past the per-task
 * bound; -32603 past the store-wide bound. delete of a config that is not there succeeds (as
 * a2a-js). A config set on a task is sent the task as it is at once, then every update: a
 * client that sets it after a fast task ended still hears how it ended. */
#include <stdlib.h>
#include <string.h>

#include "a2a/push.h"
#include "a2a_uv/server_int.h"
#include "molecule.h"

int mol_a2a__pusher(mol_a2a_server *s) {
  if (s->pusher) return 0;
  if (!s->push.http || s->closing) return MOL_A2A_PUSH_NOT_SUPPORTED;
  if (mol_a2a_pusher_new(s->loop, &s->push, &s->pusher)) return MOL_A2A_INTERNAL_ERROR;
  mol_holds_take(&s->holds); /* until the pusher has closed (server.c) */
  return 0;
}

/* Only tasks with push configs come here: a task read back from a durable store may have
 * some before any push method made the pusher. */
void mol_a2a__push_on_event(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  (void)ev;
  mol_a2a_server *s = arg;
  if (mol_a2a__pusher(s) == 0) mol_a2a_pusher_notify(s->pusher, t, NULL);
}

static int fail(mol_a2a_error *err, int code, const char *why) {
  mol_a2a_error_set(err, code, "%s", why ? why : mol_a2a_error_default_message(code));
  return code;
}

/* Reads and checks a config: shape (a2a/push.h), then the URL (http/ssrf.h). */
static int read_config(mol_a2a_server *s, const json_t *wire, mol_a2a_version v,
                       mol_a2a_push_config *cfg, mol_a2a_error *err) {
  if (mol_a2a_push_config_from_wire(wire, v, cfg, err) != 0) return err->code;
  const char *why;
  if (!mol_a2a_pusher_url_ok(s->pusher, cfg->url, &why)) {
    mol_a2a_push_config_clear(cfg);
    return fail(err, MOL_A2A_INVALID_PARAMS, why);
  }
  return 0;
}

static int store_config(mol_a2a_server *s, mol_a2a_task *t, mol_a2a_push_config *cfg,
                        const mol_a2a_push_config **stored, mol_a2a_error *err) {
  if (mol_a2a_task_push_put(t, cfg, stored, err) != 0) {
    mol_a2a_push_config_clear(cfg);
    return err->code;
  }
  mol_a2a_pusher_notify(s->pusher, t, *stored);
  return 0;
}

/* ---- inline with message/send ------------------------------------------------------------ */

int mol_a2a__push_inline_check(mol_a2a_server *s, mol_a2a_request *req, mol_a2a_push_config *cfg,
                               mol_a2a_error *err) {
  int code = mol_a2a__pusher(s);
  if (code) return fail(err, code, NULL);
  code = read_config(s, req->config.push_config, req->version, cfg, err);
  if (code) return code;
  /* room for it, before a task is created or continued for nothing */
  const char *tid = mol_a2a_cmsg_task_id(req->message);
  mol_a2a_task *t = tid ? mol_a2a_store_get(s->store, tid) : NULL;
  if (mol_a2a_store_push_room(s->store, t, cfg->id, err) != 0) {
    mol_a2a_push_config_clear(cfg);
    return err->code;
  }
  return 0;
}

int mol_a2a__push_inline_attach(mol_a2a_server *s, mol_a2a_task *t, mol_a2a_push_config *cfg,
                                mol_a2a_error *err) {
  const mol_a2a_push_config *stored;
  return store_config(s, t, cfg, &stored, err);
}

/* ---- the methods ----------------------------------------------------------------------------- */

static void answer_json(mol_http_req *r, mol_a2a_request *req, json_t *result) {
  if (!result) {
    mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "out of memory");
    return;
  }
  mol_a2a__answer_body(r, mol_a2a_reply_result(req, result));
  mol_a2a_request_free(req);
}

static void push_set(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req, mol_a2a_task *t) {
  mol_a2a_push_config cfg;
  mol_a2a_error err = {0};
  const mol_a2a_push_config *stored;
  if (!req->push_config) {
    mol_a2a__answer_error(r, req, MOL_A2A_INVALID_PARAMS, "pushNotificationConfig is required");
    return;
  }
  int code = read_config(s, req->push_config, req->version, &cfg, &err);
  if (!code) code = store_config(s, t, &cfg, &stored, &err);
  if (code) {
    mol_a2a__answer_error(r, req, code, err.message[0] ? err.message : NULL);
    return;
  }
  answer_json(r, req, mol_a2a_push_config_to_wire(mol_a2a_task_id(t), stored, req->version));
}

static void push_get(mol_http_req *r, mol_a2a_request *req, mol_a2a_task *t) {
  const mol_a2a_push_config *c = mol_a2a_task_push_find(t, req->push_config_id);
  if (!c) {
    mol_a2a__answer_error(r, req, MOL_A2A_TASK_NOT_FOUND,
                          "push notification config not found for this task");
    return;
  }
  answer_json(r, req, mol_a2a_push_config_to_wire(mol_a2a_task_id(t), c, req->version));
}

/* v0.3: an array; v1.0: {configs, nextPageToken} (every config fits one page: a task holds a
 * handful). */
static void push_list(mol_http_req *r, mol_a2a_request *req, mol_a2a_task *t) {
  json_t *list = json_array();
  for (size_t i = 0; list && i < mol_a2a_task_push_count(t); i++) {
    json_t *c = mol_a2a_push_config_to_wire(mol_a2a_task_id(t), mol_a2a_task_push_at(t, i),
                                            req->version);
    if (!c || json_array_append_new(list, c) != 0) {
      json_decref(list);
      list = NULL;
    }
  }
  if (list && req->version == MOL_A2A_V10)
    list = json_pack("{s:o, s:s}", "configs", list, "nextPageToken", "");
  answer_json(r, req, list);
}

void mol_a2a__call_push(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  int code = mol_a2a__pusher(s);
  if (code) {
    mol_a2a__answer_error(r, req, code, NULL);
    return;
  }
  char path[160];
  if (mol_a2a_json_find_nul(req->params, "params", path, sizeof(path))) {
    mol_a2a__answer_error(r, req, MOL_A2A_INVALID_PARAMS, "a string in params holds U+0000 (NUL)");
    return;
  }
  if (!req->task_id) {
    mol_a2a__answer_error(r, req, MOL_A2A_INVALID_PARAMS,
                          req->method == MOL_A2A_M_PUSH_SET || req->version == MOL_A2A_V10
                              ? "params.taskId is required"
                              : "params.id is required");
    return;
  }
  mol_a2a_task *t = mol_a2a_store_get(s->store, req->task_id);
  if (!t) {
    mol_a2a__answer_error(r, req, MOL_A2A_TASK_NOT_FOUND, NULL);
    return;
  }
  switch (req->method) {
    case MOL_A2A_M_PUSH_SET:
      push_set(s, r, req, t);
      return;
    case MOL_A2A_M_PUSH_GET:
      push_get(r, req, t);
      return;
    case MOL_A2A_M_PUSH_LIST:
      push_list(r, req, t);
      return;
    default: /* delete; a config that is not there is gone already */
      mol_a2a_task_push_remove(t, req->push_config_id);
      answer_json(r, req, json_null());
      return;
  }
}
