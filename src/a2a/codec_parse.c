/* codec_parse.c - JSON-RPC request parsing: envelope, version, method and params. Strict
 * where the spec is (envelope, required params), lenient where Molecule peers need it
 * (missing message.kind, "type" for "kind", unknown fields). */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "molecule.h"

#define INVALID(req, ...) mol_a2a_error_set(&(req)->error, MOL_A2A_INVALID_PARAMS, __VA_ARGS__)

/* ---- envelope -------------------------------------------------------------------------- */

static int valid_id(const json_t *id) {
  return !id || json_is_string(id) || json_is_number(id) || json_is_null(id);
}

/* The id to echo: its text as written when the scanner read the body; otherwise (a body only
 * jansson reads, nested deeper than the scanner goes) jansson's rendering of the same value. */
static int keep_id(mol_a2a_request *req, const json_t *id, const mol_a2a__prescan *pre) {
  if (!id || json_is_null(id) || !valid_id(id)) return 0;
  if (pre && pre->id) return mol_a2a__id_set(&req->id, pre->id, pre->id_len);
  char *text = mol_json_dump(id);
  int rc = text ? mol_a2a__id_set(&req->id, text, strlen(text)) : MOL_ENOMEM;
  free(text);
  return rc;
}

static int is_str(const json_t *v, const char *lit) {
  size_t n = strlen(lit);
  return json_is_string(v) && json_string_length(v) == n &&
         memcmp(json_string_value(v), lit, n) == 0;
}

/* -32700 is answered with id null; -32600 echoes the id when the id itself is valid
 * (JSON-RPC 2.0), so req->id is set as soon as that is known. jansson reads the body with
 * the numbers it cannot load written as 0 (codec_id.c): those are valid JSON, so they must not
 * make the request -32700; *big_in_params says whether params holds one. */
static int parse_envelope(mol_a2a_request *req, const char *body, size_t len, int *big_in_params) {
  mol_a2a__prescan pre;
  *big_in_params = 0;
  int scan = mol_a2a__prescan_body(body, len, &pre);
  if (scan == MOL_ENOMEM) {
    mol_a2a__prescan_free(&pre);
    return mol_a2a_error_set(&req->error, MOL_A2A_INTERNAL_ERROR, "out of memory");
  }
  req->root = body ? mol_json_parse(scan == 0 && pre.masked ? pre.masked : body, len, NULL, 0)
                   : NULL;
  *big_in_params = scan == 0 && pre.big_in_params;
  mol_a2a__prescan_free(&pre); /* the copy only: pre.id points into body, which stays */
  if (!req->root) {
    mol_a2a_error_set(&req->error, MOL_A2A_PARSE_ERROR, NULL);
    return MOL_EJSON;
  }
  if (json_is_array(req->root))
    return mol_a2a_error_set(&req->error, MOL_A2A_INVALID_REQUEST,
                             "Invalid Request: batch requests are not supported");
  if (!json_is_object(req->root))
    return mol_a2a_error_set(&req->error, MOL_A2A_INVALID_REQUEST,
                             "Invalid Request: the body must be a JSON object");
  json_t *id = json_object_get(req->root, "id");
  if (keep_id(req, id, scan == 0 ? &pre : NULL) != 0)
    return mol_a2a_error_set(&req->error, MOL_A2A_INTERNAL_ERROR, "out of memory");
  if (!is_str(json_object_get(req->root, "jsonrpc"), "2.0"))
    return mol_a2a_error_set(&req->error, MOL_A2A_INVALID_REQUEST,
                             "Invalid Request: jsonrpc must be \"2.0\"");
  if (!valid_id(id))
    return mol_a2a_error_set(&req->error, MOL_A2A_INVALID_REQUEST,
                             "Invalid Request: id must be a string, a number or null");
  json_t *method = json_object_get(req->root, "method");
  if (!json_is_string(method) || json_string_length(method) == 0)
    return mol_a2a_error_set(&req->error, MOL_A2A_INVALID_REQUEST,
                             "Invalid Request: method must be a non-empty string");
  return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static const char *nonempty_str(const json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

/* historyLength: absent/null -> -1; otherwise a non-negative integer. */
static int parse_history_length(mol_a2a_request *req, const json_t *o, int *out) {
  json_t *v = json_object_get(o, "historyLength");
  *out = -1;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
    return INVALID(req, "historyLength must be a non-negative integer");
  *out = (int)json_integer_value(v);
  return 0;
}

static int require_params(mol_a2a_request *req) {
  if (!req->params) return INVALID(req, "params is required");
  return 0;
}

/* ---- per-method params ----------------------------------------------------------------- */

static int parse_config(mol_a2a_request *req, const json_t *cfg) {
  if (!cfg || json_is_null(cfg)) return 0;
  if (!json_is_object(cfg)) return INVALID(req, "configuration must be an object");
  if (parse_history_length(req, cfg, &req->config.history_length) != 0) return MOL_EINVAL;
  json_t *modes = json_object_get(cfg, "acceptedOutputModes");
  if (json_is_array(modes)) req->config.accepted_output_modes = modes;
  if (req->version == MOL_A2A_V10) {
    /* v1.0 is blocking by default; returnImmediately opts out. */
    req->config.blocking = !json_is_true(json_object_get(cfg, "returnImmediately"));
    json_t *push = json_object_get(cfg, "pushNotificationConfig");
    if (!push) push = json_object_get(cfg, "taskPushNotificationConfig");
    if (json_is_object(push)) req->config.push_config = push;
  } else {
    req->config.blocking = !json_is_false(json_object_get(cfg, "blocking"));
    json_t *push = json_object_get(cfg, "pushNotificationConfig");
    if (json_is_object(push)) req->config.push_config = push;
  }
  return 0;
}

static int parse_send(mol_a2a_request *req) {
  if (require_params(req) != 0) return MOL_EINVAL;
  json_t *msg = json_object_get(req->params, "message");
  if (!msg) return INVALID(req, "params.message is required");
  json_t *canon;
  if (mol_a2a_message_from_wire(msg, req->version, &canon, &req->error) != 0) return MOL_EINVAL;
  if (!(req->message = mol_a2a_cmsg_wrap(canon)))
    return mol_a2a_error_set(&req->error, MOL_A2A_INTERNAL_ERROR, "out of memory");
  return parse_config(req, json_object_get(req->params, "configuration"));
}

static int parse_task_id_params(mol_a2a_request *req) {
  if (require_params(req) != 0) return MOL_EINVAL;
  req->task_id = nonempty_str(req->params, "id");
  if (!req->task_id) return INVALID(req, "params.id is required");
  return parse_history_length(req, req->params, &req->history_length);
}

/* Push-config params are read leniently and never fail: a server without push support must
 * answer every push method with -32003 whatever the params (test_a2a_conformance). v1.0
 * names the task `taskId` and the config `id`; v0.3 uses `id` and `pushNotificationConfigId`. */
static int parse_push(mol_a2a_request *req) {
  const json_t *p = req->params;
  const char *task = nonempty_str(p, "taskId");
  if (task) {
    req->task_id = task;
    req->push_config_id = nonempty_str(p, "id");
  } else {
    req->task_id = nonempty_str(p, "id");
  }
  if (!req->push_config_id) req->push_config_id = nonempty_str(p, "pushNotificationConfigId");
  json_t *cfg = json_object_get(p, "pushNotificationConfig");
  if (!cfg) cfg = json_object_get(p, "config");
  if (json_is_object(cfg)) req->push_config = cfg;
  else if (json_is_object(p) && json_object_get(p, "url")) req->push_config = p;
  return 0;
}

/* v1.0 ListTasks: pageSize 1..100 (absent: 50), includeArtifacts a boolean,
 * statusTimestampAfter an RFC 3339 date-time; the page token is checked by the binding. */
static int parse_list_tasks(mol_a2a_request *req) {
  const json_t *p = req->params;
  req->context_id = nonempty_str(p, "contextId");
  const char *status = nonempty_str(p, "status");
  if (status && mol_a2a_state_parse(status, &req->state_filter) != 0)
    return INVALID(req, "status is not a task state");
  json_t *size = json_object_get(p, "pageSize");
  if (size && !json_is_null(size)) {
    if (!json_is_integer(size) || json_integer_value(size) < 1 || json_integer_value(size) > 100)
      return INVALID(req, "pageSize must be an integer from 1 to 100");
    req->page_size = (int)json_integer_value(size);
  }
  req->page_token = nonempty_str(p, "pageToken");
  json_t *arts = json_object_get(p, "includeArtifacts");
  if (arts && !json_is_null(arts) && !json_is_boolean(arts))
    return INVALID(req, "includeArtifacts must be a boolean");
  req->include_artifacts = json_is_true(arts);
  json_t *after = json_object_get(p, "statusTimestampAfter");
  if (after && !json_is_null(after) &&
      (!json_is_string(after) ||
       mol_rfc3339_parse(json_string_value(after), &req->status_after_ms) != 0))
    return INVALID(req, "statusTimestampAfter must be an RFC 3339 date-time");
  return parse_history_length(req, p, &req->history_length);
}

/* Everything downstream (task ids, the executors' text, the metadata they read) takes strings
 * as C strings: a U+0000 inside one would cut it there, so the request is refused instead. */
static int refuse_nul(mol_a2a_request *req) {
  char path[160];
  if (!mol_a2a_json_find_nul(req->params, "params", path, sizeof(path))) return 0;
  return INVALID(req, "%s must not contain U+0000 (NUL)", path);
}

static int parse_params(mol_a2a_request *req, int big_in_params) {
  json_t *params = json_object_get(req->root, "params");
  int push = req->method >= MOL_A2A_M_PUSH_SET && req->method <= MOL_A2A_M_PUSH_DELETE;
  if (params && !json_is_null(params) && !json_is_object(params) && !push)
    return INVALID(req, "params must be an object");
  req->params = json_is_object(params) ? params : NULL;
  /* push methods and the extended card read nothing of their params (always -32003/-32007) */
  if (!push && req->method != MOL_A2A_M_GET_EXTENDED_CARD) {
    if (big_in_params) /* jansson holds a 0 where the client wrote it */
      return INVALID(req, "params holds a number beyond 64-bit integers and doubles");
    if (refuse_nul(req) != 0) return MOL_EINVAL;
  }
  json_t *meta = json_object_get(req->params, "metadata");
  req->metadata = json_is_object(meta) ? meta : NULL;
  switch (req->method) {
  case MOL_A2A_M_SEND:
  case MOL_A2A_M_STREAM:
    return parse_send(req);
  case MOL_A2A_M_GET:
  case MOL_A2A_M_CANCEL:
  case MOL_A2A_M_RESUBSCRIBE:
    return parse_task_id_params(req);
  case MOL_A2A_M_PUSH_SET:
  case MOL_A2A_M_PUSH_GET:
  case MOL_A2A_M_PUSH_LIST:
  case MOL_A2A_M_PUSH_DELETE:
    return parse_push(req);
  case MOL_A2A_M_LIST_TASKS:
    return parse_list_tasks(req);
  default:
    return 0; /* GET_EXTENDED_CARD takes no params */
  }
}

/* ---- entry ----------------------------------------------------------------------------- */

void mol_a2a__request_init(mol_a2a_request *req) {
  memset(req, 0, sizeof(*req));
  req->history_length = -1;
  req->config.history_length = -1;
  req->status_after_ms = INT64_MIN;
  req->config.blocking = 1; /* Molecule callers send no configuration and expect an answer */
}

int mol_a2a_request_parse(const char *body, size_t len, const char *version_header,
                          mol_a2a_request *req) {
  mol_a2a__request_init(req);
  mol_a2a_version v;
  /* the literal match of the common send first, then the scanner, then jansson */
  if (mol_a2a_version_parse(version_header, &v) == 0 &&
      ((v == MOL_A2A_V03 && mol_a2a__request_match_send(body, len, req)) ||
       mol_a2a__request_parse_fast(body, len, v, req)))
    return 0;
  return mol_a2a__request_parse_full(body, len, version_header, req);
}

int mol_a2a__request_parse_full(const char *body, size_t len, const char *version_header,
                                mol_a2a_request *req) {
  mol_a2a__request_init(req);
  int big_in_params;
  int rc = parse_envelope(req, body, len, &big_in_params);
  if (rc != 0) return rc;
  if (mol_a2a_version_parse(version_header, &req->version) != 0) {
    req->version = MOL_A2A_V10; /* -32009 is a v1.0 error: answer in the v1.0 error shape */
    return mol_a2a_error_set(&req->error, MOL_A2A_VERSION_NOT_SUPPORTED,
                             "A2A version %.32s is not supported. Supported versions: 1.0, 0.3",
                             version_header);
  }
  json_t *method = json_object_get(req->root, "method");
  const char *name = json_string_value(method);
  if (strlen(name) != json_string_length(method))
    return mol_a2a_error_set(&req->error, MOL_A2A_METHOD_NOT_FOUND,
                             "Method not found: the name contains U+0000 (NUL)");
  req->method = mol_a2a_method_parse(name, req->version);
  if (req->method == MOL_A2A_M_UNKNOWN)
    return mol_a2a_error_set(&req->error, MOL_A2A_METHOD_NOT_FOUND, "Method not found: %.64s",
                             name);
  return parse_params(req, big_in_params);
}

void mol_a2a_request_free(mol_a2a_request *req) {
  if (!req) return;
  mol_a2a__id_clear(&req->id);
  mol_a2a_cmsg_unref(req->message);
  json_decref(req->root);
  free(req->task_id_copy);
  req->task_id_copy = NULL;
  req->task_id = NULL;
  req->root = NULL;
  req->message = NULL;
  req->params = req->metadata = NULL;
}
