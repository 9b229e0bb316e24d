/* api_client.c - the public A2A client (molecule/a2a.h) over the internal one (client.h), with
 * an HTTP client of its own. Each public call wraps one internal call: its arguments go in as
 * canonical JSON, its results and events come out as JSON text and plain fields, built just
 * for the callback and freed after it. Closing: the internal client (its calls end with
 * MOL_ESHUTDOWN), then the HTTP client, then the caller's callback. */
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "a2a_uv/client.h"
#include "base/json.h"
#include "molecule/uv.h"

#define MAX_HEADERS 64

struct mol_client {
  mol_http_client *http;
  mol_a2a_client *a2a;
  int closing;
  void (*close_cb)(void *arg);
  void *close_arg;
};

struct mol_client_req {
  mol_a2a_call *inner;
  mol_client_cb cb;
  mol_client_event_cb on_event;
  void *arg;
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* A header the HTTP client will send as given: a token name, a value without CR, LF or NUL. */
static int valid_header(const mol_header *h) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";
  if (!h->name || !*h->name || !h->value || strpbrk(h->value, "\r\n")) return 0;
  for (const char *c = h->name; *c; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          strchr(tchar, *c)))
      return 0;
  return 1;
}

int mol_client_new(uv_loop_t *loop, const mol_client_opts *o, mol_client **out) {
  if (!loop || !o || !out || !o->url || o->n_headers > MAX_HEADERS ||
      (o->n_headers && !o->headers))
    return MOL_EINVAL;
  mol_http_header hs[MAX_HEADERS];
  for (size_t i = 0; i < o->n_headers; i++) {
    if (!valid_header(&o->headers[i])) return MOL_EINVAL;
    hs[i] = (mol_http_header){.name = o->headers[i].name, .value = o->headers[i].value};
  }
  mol_client *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  int rc = mol_http_client_new(loop, NULL, &c->http);
  if (rc) {
    free(c);
    return rc;
  }
  mol_a2a_client_opts ao = {
    .url = o->url, .version = o->a2a_v1 ? MOL_A2A_V10 : MOL_A2A_V03, .headers = hs,
    .nheaders = o->n_headers, .timeout_ms = o->timeout_ms,
    .connect_timeout_ms = o->connect_timeout_ms, .idle_timeout_ms = o->idle_timeout_ms,
    .max_body_bytes = o->max_body_bytes, .max_event_bytes = o->max_event_bytes,
    .insecure_skip_verify = o->insecure_skip_verify};
  rc = mol_a2a_client_new(loop, c->http, &ao, &c->a2a);
  if (rc) {
    mol_http_client_close(c->http, free, c);
    return rc;
  }
  *out = c;
  return 0;
}

static void on_http_closed(void *arg) {
  mol_client *c = arg;
  void (*cb)(void *) = c->close_cb;
  void *cb_arg = c->close_arg;
  free(c);
  if (cb) cb(cb_arg);
}

static void on_a2a_closed(void *arg) {
  mol_client *c = arg;
  mol_http_client_close(c->http, on_http_closed, c);
}

void mol_client_close(mol_client *c, void (*cb)(void *arg), void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  mol_a2a_client_close(c->a2a, on_a2a_closed, c);
}

int mol_client_set_rpc_url(mol_client *c, const char *url) {
  return c ? mol_a2a_client_set_rpc_url(c->a2a, url) : MOL_EINVAL;
}

void mol_client_abort(mol_client_req *req) {
  if (req) mol_a2a_client_cancel(req->inner);
}

void mol_client_resume(mol_client_req *req) {
  if (req) mol_a2a_client_resume(req->inner);
}

/* ---- results and events -------------------------------------------------------------------- */

static mol_task_state state_of(const json_t *status) {
  mol_a2a_task_state s = MOL_A2A_STATE_UNKNOWN;
  const char *name = json_string_value(json_object_get(status, "state"));
  if (name && mol_a2a_state_parse(name, &s)) s = MOL_A2A_STATE_UNKNOWN;
  return (mol_task_state)s; /* the same order, from unknown to rejected */
}

/* The task state a result carries: a Task's or a status update's. */
static mol_task_state result_state(mol_a2a_result_kind kind, const json_t *r) {
  if (kind == MOL_A2A_RESULT_TASK || kind == MOL_A2A_RESULT_STATUS_UPDATE)
    return state_of(json_object_get(r, "status"));
  return MOL_TASK_UNKNOWN;
}

static void on_done(mol_a2a_call *call, int err, const mol_a2a_result *r, void *arg) {
  (void)call;
  mol_client_req *req = arg;
  char *json = r->result ? mol_json_dump(r->result) : NULL;
  char *data = r->rpc_data ? mol_json_dump(r->rpc_data) : NULL;
  char *card = r->card ? mol_json_dump(r->card) : NULL;
  mol_client_result res = {
    .http_status = r->http_status, .rpc_code = r->rpc_code, .rpc_message = r->rpc_message,
    .rpc_data_json = data, .detail = r->detail, .kind = (mol_result_kind)r->kind, .json = json,
    .text = r->text, .task_id = r->task_id, .state = result_state(r->kind, r->result),
    .events = r->events, .card_json = card, .rpc_url = r->rpc_url};
  req->cb(req, err, &res, req->arg);
  free(json);
  free(data);
  free(card);
  free(req);
}

static const char *str_at(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* One event's fields; *text is malloc'd (the caller frees it). */
static void event_fields(const mol_a2a_response *ev, mol_client_event *e, char **text) {
  const json_t *r = ev->result;
  const json_t *status = json_object_get(r, "status");
  const json_t *artifact = json_object_get(r, "artifact");
  e->kind = (mol_result_kind)ev->kind;
  e->context_id = str_at(r, "contextId");
  e->state = result_state(ev->kind, r);
  switch (ev->kind) {
    case MOL_A2A_RESULT_MESSAGE:
      e->task_id = str_at(r, "taskId");
      e->final = 1;
      *text = mol_a2a_parts_text(r);
      break;
    case MOL_A2A_RESULT_TASK:
      e->task_id = str_at(r, "id");
      e->final = mol_a2a_state_is_terminal((mol_a2a_task_state)e->state) ||
                 mol_a2a_state_is_interrupted((mol_a2a_task_state)e->state);
      *text = mol_a2a_parts_text(json_object_get(status, "message"));
      break;
    case MOL_A2A_RESULT_STATUS_UPDATE:
      e->task_id = str_at(r, "taskId");
      e->final = json_is_true(json_object_get(r, "final"));
      *text = mol_a2a_parts_text(json_object_get(status, "message"));
      break;
    case MOL_A2A_RESULT_ARTIFACT_UPDATE:
      e->task_id = str_at(r, "taskId");
      e->artifact_id = str_at(artifact, "artifactId");
      e->append = json_is_true(json_object_get(r, "append"));
      e->last_chunk = json_is_true(json_object_get(r, "lastChunk"));
      *text = mol_a2a_parts_text(artifact);
      break;
    default:
      *text = NULL;
  }
}

static int on_event(mol_a2a_call *call, const mol_a2a_response *ev, void *arg) {
  (void)call;
  mol_client_req *req = arg;
  mol_client_event e = {0};
  char *text = NULL;
  event_fields(ev, &e, &text);
  char *json = ev->result ? mol_json_dump(ev->result) : NULL;
  e.json = json;
  e.text = text ? text : "";
  int rc = req->on_event(req, &e, req->arg);
  free(text);
  free(json);
  return rc;
}

/* ---- calls --------------------------------------------------------------------------------- */

/* Internal per-call options; *meta (when set) must be released after the call started. */
static int call_opts(const mol_client_call_opts *o, mol_a2a_call_opts *out, json_t **meta) {
  *meta = NULL;
  memset(out, 0, sizeof(*out));
  if (!o) return 0;
  if (o->metadata_json) {
    *meta = json_loads(o->metadata_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*meta)) {
      json_decref(*meta);
      *meta = NULL;
      return MOL_EINVAL;
    }
  }
  *out = (mol_a2a_call_opts){.timeout_ms = o->timeout_ms,
                             .return_immediately = o->return_immediately,
                             .history_length = o->history_length,
                             .has_history_length = o->has_history_length, .metadata = *meta};
  return 0;
}

/* The message to send, canonical: o->message_json completed, or one text part. */
static json_t *user_message(const char *text, const mol_client_call_opts *o) {
  json_t *msg = NULL;
  if (o && o->message_json) {
    json_t *in = json_loads(o->message_json, JSON_REJECT_DUPLICATES, NULL);
    json_t *fresh = mol_a2a_message_new(MOL_A2A_ROLE_USER, NULL);
    if (json_is_object(in) && fresh) {
      json_object_set_new(in, "kind", json_string("message"));
      if (!json_object_get(in, "role")) json_object_set_new(in, "role", json_string("user"));
      if (!json_is_string(json_object_get(in, "messageId")))
        json_object_set(in, "messageId", json_object_get(fresh, "messageId"));
      mol_a2a_error err = {0};
      mol_a2a_message_from_wire(in, MOL_A2A_V03, &msg, &err);
    }
    json_decref(fresh);
    json_decref(in);
  } else if (text) {
    msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, text);
  }
  if (msg && o && o->context_id) json_object_set_new(msg, "contextId", json_string(o->context_id));
  if (msg && o && o->task_id) json_object_set_new(msg, "taskId", json_string(o->task_id));
  return msg;
}

typedef enum { API_CARD, API_SEND, API_STREAM, API_GET, API_CANCEL, API_RESUB } api_call;

static int start(mol_client *c, api_call what, const char *text_or_id,
                 const mol_client_call_opts *o, mol_client_event_cb on_event_cb,
                 mol_client_cb cb, void *arg, mol_client_req **out) {
  int streams = what == API_STREAM || what == API_RESUB;
  int about_task = what == API_GET || what == API_CANCEL || what == API_RESUB;
  if (!c || !cb || (streams && !on_event_cb) || (about_task && !text_or_id)) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  mol_a2a_call_opts ao;
  json_t *meta, *msg = NULL;
  int rc = call_opts(o, &ao, &meta);
  if (!rc && (what == API_SEND || what == API_STREAM) && !(msg = user_message(text_or_id, o)))
    rc = MOL_EINVAL;
  mol_client_req *req = rc ? NULL : calloc(1, sizeof(*req));
  if (!req) {
    json_decref(meta);
    json_decref(msg);
    return rc ? rc : MOL_ENOMEM;
  }
  *req = (mol_client_req){.cb = cb, .on_event = on_event_cb, .arg = arg};
  mol_a2a_client *a = c->a2a;
  switch (what) {
    case API_CARD: rc = mol_a2a_fetch_card(a, &ao, on_done, req, &req->inner); break;
    case API_SEND: rc = mol_a2a_send(a, msg, &ao, on_done, req, &req->inner); break;
    case API_STREAM: rc = mol_a2a_stream(a, msg, &ao, on_event, on_done, req, &req->inner); break;
    case API_GET: rc = mol_a2a_get_task(a, text_or_id, &ao, on_done, req, &req->inner); break;
    case API_CANCEL: rc = mol_a2a_cancel_task(a, text_or_id, &ao, on_done, req, &req->inner); break;
    case API_RESUB:
      rc = mol_a2a_resubscribe(a, text_or_id, &ao, on_event, on_done, req, &req->inner);
      break;
  }
  json_decref(meta);
  json_decref(msg);
  if (rc) {
    free(req);
    return rc;
  }
  if (out) *out = req;
  return 0;
}

int mol_client_card(mol_client *c, const mol_client_call_opts *o, mol_client_cb cb, void *arg,
                    mol_client_req **out) {
  return start(c, API_CARD, NULL, o, NULL, cb, arg, out);
}

int mol_client_send(mol_client *c, const char *text, const mol_client_call_opts *o,
                    mol_client_cb cb, void *arg, mol_client_req **out) {
  return start(c, API_SEND, text, o, NULL, cb, arg, out);
}

int mol_client_stream(mol_client *c, const char *text, const mol_client_call_opts *o,
                      mol_client_event_cb on_event_cb, mol_client_cb cb, void *arg,
                      mol_client_req **out) {
  return start(c, API_STREAM, text, o, on_event_cb, cb, arg, out);
}

int mol_client_get_task(mol_client *c, const char *task_id, const mol_client_call_opts *o,
                        mol_client_cb cb, void *arg, mol_client_req **out) {
  return start(c, API_GET, task_id, o, NULL, cb, arg, out);
}

int mol_client_cancel_task(mol_client *c, const char *task_id, const mol_client_call_opts *o,
                           mol_client_cb cb, void *arg, mol_client_req **out) {
  return start(c, API_CANCEL, task_id, o, NULL, cb, arg, out);
}

int mol_client_resubscribe(mol_client *c, const char *task_id, const mol_client_call_opts *o,
                           mol_client_event_cb on_event_cb, mol_client_cb cb, void *arg,
                           mol_client_req **out) {
  return start(c, API_RESUB, task_id, o, on_event_cb, cb, arg, out);
}

