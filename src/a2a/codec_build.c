/* codec_build.c - JSON-RPC bodies: server replies and client requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/json.h"
#include "molecule.h"

/* Dumps and releases `o` (NULL in, NULL out). Compact output escapes control characters, so a
 * body never contains a raw newline and fits one SSE data line. */
static char *dump_free(json_t *o) {
  if (!o) return NULL;
  char *s = mol_json_dump(o);
  json_decref(o);
  return s;
}

static json_t *id_or_null(const json_t *id) {
  return id ? json_incref((json_t *)id) : json_null();
}

#define LIT(b, s) mol_buf_append((b), (s), sizeof(s) - 1)

/* {"jsonrpc":"2.0","id":<id text>,"<member>":<value>} with the id written as given (the
 * request's own text, codec_id.c); value is released. NULL when out of memory. */
static char *envelope(const char *id, size_t id_len, const char *member, json_t *value) {
  mol_buf b = MOL_BUF_INIT;
  int rc = !value || LIT(&b, "{\"jsonrpc\":\"2.0\",\"id\":") || mol_buf_append(&b, id, id_len) ||
           LIT(&b, ",\"") || mol_buf_append_str(&b, member) || LIT(&b, "\":") ||
           mol_json_write(&b, value) || LIT(&b, "}");
  json_decref(value);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

/* The same for a jansson id (client-built and test bodies): its compact JSON text. */
static char *envelope_json_id(const json_t *id, const char *member, json_t *value) {
  if (!id) return envelope("null", 4, member, value);
  char *text = mol_json_dump(id);
  if (!text) {
    json_decref(value);
    return NULL;
  }
  char *out = envelope(text, strlen(text), member, value);
  free(text);
  return out;
}

char *mol_a2a_response_result(const json_t *id, json_t *result) {
  return envelope_json_id(id, "result", result ? result : json_null());
}

static json_t *error_data_v10(int code) {
  const char *reason = mol_a2a_error_reason(code);
  if (!reason) return NULL;
  return json_pack("[{s:s, s:s, s:s}]", "@type", "type.googleapis.com/google.rpc.ErrorInfo",
                   "reason", reason, "domain", "a2a-protocol.org");
}

/* {"code","message"[,"data"]}; NULL when out of memory or message is not UTF-8. */
static json_t *error_object(mol_a2a_version v, int code, const char *message) {
  json_t *err = json_pack("{s:i, s:s}", "code", code, "message",
                          message ? message : mol_a2a_error_default_message(code));
  json_t *data = v == MOL_A2A_V10 ? error_data_v10(code) : NULL;
  if (err && data) json_object_set_new(err, "data", data);
  else json_decref(data);
  return err;
}

char *mol_a2a_response_error(mol_a2a_version v, const json_t *id, int code, const char *message) {
  return envelope_json_id(id, "error", error_object(v, code, message));
}

static char *reply_error_body(const mol_a2a_request *req, int code, const char *message) {
  size_t n;
  const char *id = mol_a2a_request_id(req, &n);
  return envelope(id, n, "error", error_object(req->version, code, message));
}

char *mol_a2a_reply_request_error(const mol_a2a_request *req) {
  int code = req->error.code ? req->error.code : MOL_A2A_INTERNAL_ERROR;
  /* req->id is unset after -32700, and after -32600 for an id of the wrong type */
  return reply_error_body(req, code, req->error.message[0] ? req->error.message : NULL);
}

char *mol_a2a_reply_error(const mol_a2a_request *req, int code, const char *message) {
  return reply_error_body(req, code, message);
}

/* v1.0 wraps SendMessage and stream results in a oneof ({"task":…}); v0.3 never wraps, and
 * GetTask/CancelTask return the bare Task in both. */
static int wraps(const mol_a2a_request *req) {
  return req->version == MOL_A2A_V10 &&
         (req->method == MOL_A2A_M_SEND || mol_a2a_method_is_streaming(req->method));
}

static char *reply_result(const mol_a2a_request *req, json_t *result) {
  size_t n;
  const char *id = mol_a2a_request_id(req, &n);
  return envelope(id, n, "result", result ? result : json_null());
}

static char *reply_wrapped(const mol_a2a_request *req, const char *key, json_t *obj) {
  if (!obj) return NULL;
  if (wraps(req)) obj = json_pack("{s:o}", key, obj);
  return reply_result(req, obj);
}

/* {"jsonrpc":"2.0","id":<id>,"result":[{"<key>":]<what write() appends>[}]}: every reply the
 * engine's objects give, written straight from them (no tree), with the v1.0 wrapper when the
 * method has one. */
static char *reply_written(const mol_a2a_request *req, const char *key,
                           int (*write)(mol_buf *b, const void *obj, const mol_a2a_request *req),
                           const void *obj, size_t expect) {
  mol_buf b = MOL_BUF_INIT;
  int wrap = wraps(req);
  size_t id_len;
  const char *id = mol_a2a_request_id(req, &id_len);
  int rc = mol_buf_reserve(&b, expect) || LIT(&b, "{\"jsonrpc\":\"2.0\",\"id\":") ||
           mol_buf_append(&b, id, id_len) || LIT(&b, ",\"result\":");
  rc = rc || (wrap && (LIT(&b, "{\"") || mol_buf_append_str(&b, key) || LIT(&b, "\":"))) ||
       write(&b, obj, req) || (wrap && LIT(&b, "}")) || LIT(&b, "}");
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

static int write_message(mol_buf *b, const void *msg, const mol_a2a_request *req) {
  return mol_a2a_cmsg_write(b, msg, req->version);
}

/* SEND and STREAM trim the history to configuration.historyLength, the reads to theirs. */
static int reply_history_length(const mol_a2a_request *req) {
  return req->method == MOL_A2A_M_SEND || req->method == MOL_A2A_M_STREAM
             ? req->config.history_length : req->history_length;
}

static int write_task(mol_buf *b, const void *task, const mol_a2a_request *req) {
  return mol_a2a_task_write_wire(b, task, req->version, reply_history_length(req), 1);
}

static int write_event(mol_buf *b, const void *ev, const mol_a2a_request *req) {
  return mol_a2a_event_write(b, ev, req->version);
}

/* A compact reply never becomes a tree. Same bytes as
 * reply_wrapped(mol_a2a_message_to_wire(...)) would give. */
char *mol_a2a__reply_message_written(const mol_a2a_request *req, const mol_a2a_cmsg *msg) {
  return reply_written(req, "message", write_message, msg, 480);
}

/* The common answer from its template (codec_fast_reply.c), anything else written. */
char *mol_a2a_reply_message(const mol_a2a_request *req, const mol_a2a_cmsg *msg) {
  char *out = mol_a2a__reply_message_template(req, msg);
  return out ? out : mol_a2a__reply_message_written(req, msg);
}

/* Room for a task with a message or two and an event with its status message: growing the
 * buffer on the way cost a realloc per reply. */
#define TASK_REPLY_ROOM 1024

char *mol_a2a_reply_task(const mol_a2a_request *req, const mol_a2a_task *task) {
  return reply_written(req, "task", write_task, task, TASK_REPLY_ROOM);
}

char *mol_a2a_reply_event(const mol_a2a_request *req, const mol_a2a_event *ev) {
  if (ev->kind != MOL_A2A_EV_STATUS && ev->kind != MOL_A2A_EV_ARTIFACT) return NULL;
  const char *key = ev->kind == MOL_A2A_EV_ARTIFACT ? "artifactUpdate" : "statusUpdate";
  return reply_written(req, key, write_event, ev, TASK_REPLY_ROOM);
}

/* The same replies built as trees and serialised: the reference the writers are tested
 * against (codec_int.h). */
char *mol_a2a__reply_task_tree(const mol_a2a_request *req, const mol_a2a_task *task) {
  return reply_wrapped(req, "task", mol_a2a_task_to_json(task, req->version,
                                                         reply_history_length(req)));
}

char *mol_a2a__reply_event_tree(const mol_a2a_request *req, const mol_a2a_event *ev) {
  const char *key = ev->kind == MOL_A2A_EV_ARTIFACT ? "artifactUpdate" : "statusUpdate";
  return reply_wrapped(req, key, mol_a2a_event_to_json(ev, req->version));
}

char *mol_a2a_reply_result(const mol_a2a_request *req, json_t *result) {
  return reply_result(req, result);
}

char *mol_a2a_reply_task_list(const mol_a2a_request *req, mol_a2a_task *const *tasks, size_t n,
                              size_t total, const char *next_page_token) {
  json_t *list = json_array();
  for (size_t i = 0; list && i < n; i++) {
    json_t *t = mol_a2a_task_to_json(tasks[i], req->version, req->history_length);
    if (t && !req->include_artifacts) json_object_del(t, "artifacts");
    if (!t || json_array_append_new(list, t) != 0) {
      json_decref(list);
      list = NULL;
    }
  }
  if (!list) return NULL;
  json_t *r = json_pack("{s:o, s:s, s:I, s:I}", "tasks", list, "nextPageToken",
                        next_page_token ? next_page_token : "", "pageSize",
                        (json_int_t)(req->page_size > 0 ? req->page_size : 50),
                        "totalSize", (json_int_t)total);
  return r ? mol_a2a_reply_result(req, r) : NULL;
}

/* ---- client requests ------------------------------------------------------------------- */

char *mol_a2a_request_build(mol_a2a_version v, mol_a2a_method m, const json_t *id, json_t *params) {
  const char *name = mol_a2a_method_name(m, v);
  if (!name) {
    json_decref(params);
    return NULL;
  }
  return dump_free(json_pack("{s:s, s:o, s:s, s:o}", "jsonrpc", "2.0", "id", id_or_null(id),
                             "method", name, "params", params ? params : json_object()));
}

static json_t *send_config(mol_a2a_version v, const mol_a2a_send_config *cfg) {
  json_t *c = json_object();
  if (!c || !cfg) return c;
  int oom = 0;
  if (v == MOL_A2A_V10) {
    if (!cfg->blocking) oom |= json_object_set_new(c, "returnImmediately", json_true());
  } else {
    oom |= json_object_set_new(c, "blocking", json_boolean(cfg->blocking));
  }
  if (cfg->history_length >= 0)
    oom |= json_object_set_new(c, "historyLength", json_integer(cfg->history_length));
  if (cfg->accepted_output_modes)
    oom |= json_object_set_new(c, "acceptedOutputModes", json_deep_copy(cfg->accepted_output_modes));
  if (cfg->push_config) /* v1.0 names it after the TaskPushNotificationConfig it carries */
    oom |= json_object_set_new(c, v == MOL_A2A_V10 ? "taskPushNotificationConfig"
                                                   : "pushNotificationConfig",
                               json_deep_copy(cfg->push_config));
  if (oom) { /* a request without a setting the caller asked for is not sent */
    json_decref(c);
    return NULL;
  }
  return c;
}

/* Written as text around the message, its configuration and metadata: every A2A call the
 * client makes is one, and packing an envelope tree only to serialise it cost more than the
 * message itself. Same bytes as mol_a2a_request_build of the params object would give. */
char *mol_a2a_request_build_send(mol_a2a_version v, const json_t *id, int stream,
                                 const json_t *msg, const mol_a2a_send_config *cfg,
                                 const json_t *metadata) {
  const char *name = mol_a2a_method_name(stream ? MOL_A2A_M_STREAM : MOL_A2A_M_SEND, v);
  json_t *wire = mol_a2a_message_to_wire(msg, v);
  json_t *conf = cfg ? send_config(v, cfg) : NULL;
  mol_buf b = MOL_BUF_INIT;
  int rc = !name || !wire || (cfg && !conf) || mol_buf_reserve(&b, 384) ||
           LIT(&b, "{\"jsonrpc\":\"2.0\",\"id\":") ||
           (id ? mol_json_write(&b, id) : LIT(&b, "null")) || LIT(&b, ",\"method\":\"") ||
           mol_buf_append_str(&b, name) || LIT(&b, "\",\"params\":{\"message\":") ||
           mol_json_write(&b, wire);
  rc = rc || (conf && (LIT(&b, ",\"configuration\":") || mol_json_write(&b, conf))) ||
       (metadata && (LIT(&b, ",\"metadata\":") || mol_json_write(&b, metadata))) ||
       LIT(&b, "}}");
  json_decref(wire);
  json_decref(conf);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

char *mol_a2a_request_build_task(mol_a2a_version v, mol_a2a_method m, const json_t *id,
                                 const char *task_id, int history_length) {
  json_t *params = json_pack("{s:s}", "id", task_id ? task_id : "");
  if (!params) return NULL;
  if (history_length >= 0 &&
      json_object_set_new(params, "historyLength", json_integer(history_length))) {
    json_decref(params);
    return NULL;
  }
  return mol_a2a_request_build(v, m, id, params);
}
