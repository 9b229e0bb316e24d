/* codec_response.c - client side: JSON-RPC responses (and SSE event data) into canonical
 * objects, so the A2A client handles v0.3 and v1.0 peers the same way. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/buf.h"
#include "base/json.h"
#include "molecule.h"

/* ---- pieces ---------------------------------------------------------------------------- */

/* Out of memory while converting: the message says so, it is not a malformed answer. */
static int from_wire_err(const mol_a2a_error *err) {
  return err->code == MOL_A2A_INTERNAL_ERROR ? MOL_ENOMEM : MOL_EPROTO;
}

static int ids_into(json_t *dst, const json_t *src, const char *id_key) {
  const char *id = json_string_value(json_object_get(src, id_key));
  const char *ctx = json_string_value(json_object_get(src, "contextId"));
  if (!id || !ctx) return MOL_EPROTO;
  if (json_object_set_new(dst, id_key, json_string(id)) ||
      json_object_set_new(dst, "contextId", json_string(ctx)))
    return MOL_ENOMEM;
  return 0;
}

static int status_from_wire(const json_t *in, mol_a2a_version v, mol_a2a_task_state *state,
                            json_t **out) {
  if (!json_is_object(in)) return MOL_EPROTO;
  if (mol_a2a_state_parse(json_string_value(json_object_get(in, "state")), state) != 0)
    *state = MOL_A2A_STATE_UNKNOWN;
  json_t *msg = NULL;
  mol_a2a_error err;
  json_t *wire_msg = json_object_get(in, "message");
  if (json_is_object(wire_msg) && mol_a2a_message_from_wire(wire_msg, v, &msg, &err) != 0)
    return from_wire_err(&err);
  const char *ts = json_string_value(json_object_get(in, "timestamp"));
  *out = mol_a2a_status_to_wire(*state, msg, ts, MOL_A2A_V03);
  json_decref(msg);
  return *out ? 0 : MOL_ENOMEM;
}

/* History entries a peer got slightly wrong are dropped rather than failing the whole reply:
 * the caller wants the result, and history is informational. Running out of memory is not
 * such an entry: it fails the reply. */
static int history_from_wire(const json_t *in, mol_a2a_version v, json_t **out) {
  if (!(*out = json_array())) return MOL_ENOMEM;
  size_t i;
  json_t *m;
  mol_a2a_error err;
  json_array_foreach(in, i, m) {
    json_t *canon;
    int rc = mol_a2a_message_from_wire(m, v, &canon, &err);
    if ((rc && err.code == MOL_A2A_INTERNAL_ERROR) || (!rc && json_array_append_new(*out, canon)))
      return MOL_ENOMEM;
  }
  return 0;
}

static int artifacts_from_wire(const json_t *in, mol_a2a_version v, json_t **out) {
  if (!(*out = json_array())) return MOL_ENOMEM;
  size_t i;
  json_t *a;
  mol_a2a_error err;
  json_array_foreach(in, i, a) {
    json_t *canon;
    if (mol_a2a_artifact_from_wire(a, v, &canon, &err) != 0) return from_wire_err(&err);
    if (json_array_append_new(*out, canon)) return MOL_ENOMEM;
  }
  return 0;
}

/* Sets key to a new reference (NULL: out of memory). */
static int set_new(json_t *o, const char *key, json_t *v) {
  return json_object_set_new(o, key, v) ? MOL_ENOMEM : 0;
}

/* ---- results --------------------------------------------------------------------------- */

static int task_from_wire(const json_t *in, mol_a2a_version v, json_t **out) {
  json_t *t = json_pack("{s:s}", "kind", "task");
  if (!t) return MOL_ENOMEM;
  mol_a2a_task_state state;
  json_t *status = NULL, *hist = NULL, *arts = NULL;
  int rc = ids_into(t, in, "id");
  if (rc == 0) rc = status_from_wire(json_object_get(in, "status"), v, &state, &status);
  if (rc == 0) rc = set_new(t, "status", json_incref(status));
  json_t *wire_hist = json_object_get(in, "history");
  if (rc == 0 && json_is_array(wire_hist)) {
    rc = history_from_wire(wire_hist, v, &hist);
    if (rc == 0) rc = set_new(t, "history", json_incref(hist));
  }
  json_t *wire_arts = json_object_get(in, "artifacts");
  if (rc == 0 && json_is_array(wire_arts)) {
    rc = artifacts_from_wire(wire_arts, v, &arts);
    if (rc == 0) rc = set_new(t, "artifacts", json_incref(arts));
  }
  json_t *meta = json_object_get(in, "metadata");
  if (rc == 0 && json_is_object(meta)) rc = set_new(t, "metadata", json_deep_copy(meta));
  json_decref(status);
  json_decref(hist);
  json_decref(arts);
  if (rc != 0) json_decref(t);
  else *out = t;
  return rc;
}

static int status_event_from_wire(const json_t *in, mol_a2a_version v, json_t **out) {
  json_t *e = json_pack("{s:s}", "kind", "status-update");
  if (!e) return MOL_ENOMEM;
  mol_a2a_task_state state;
  json_t *status = NULL;
  int rc = ids_into(e, in, "taskId");
  if (rc == 0) rc = status_from_wire(json_object_get(in, "status"), v, &state, &status);
  if (rc == 0) rc = set_new(e, "status", status);
  /* v1.0 dropped `final`: the stream ends at a terminal or interrupted state. */
  json_t *final = json_object_get(in, "final");
  int is_final = rc == 0 && (v == MOL_A2A_V03 && json_is_boolean(final)
                                 ? json_is_true(final)
                                 : mol_a2a_state_is_terminal(state) ||
                                       mol_a2a_state_is_interrupted(state));
  if (rc == 0) rc = set_new(e, "final", json_boolean(is_final));
  json_t *meta = json_object_get(in, "metadata");
  if (rc == 0 && json_is_object(meta)) rc = set_new(e, "metadata", json_deep_copy(meta));
  if (rc != 0) {
    json_decref(e);
    return rc;
  }
  *out = e;
  return 0;
}

static int artifact_event_from_wire(const json_t *in, mol_a2a_version v, json_t **out) {
  json_t *e = json_pack("{s:s}", "kind", "artifact-update");
  if (!e) return MOL_ENOMEM;
  json_t *art = NULL;
  mol_a2a_error err;
  int rc = ids_into(e, in, "taskId");
  if (rc == 0 && mol_a2a_artifact_from_wire(json_object_get(in, "artifact"), v, &art, &err) != 0)
    rc = from_wire_err(&err);
  if (rc == 0) rc = set_new(e, "artifact", art);
  if (rc == 0) rc = set_new(e, "append", json_boolean(json_is_true(json_object_get(in, "append"))));
  if (rc == 0)
    rc = set_new(e, "lastChunk", json_boolean(json_is_true(json_object_get(in, "lastChunk"))));
  if (rc != 0) {
    json_decref(e);
    return rc;
  }
  *out = e;
  return 0;
}

static int convert(mol_a2a_response *r, const json_t *obj, mol_a2a_version v) {
  mol_a2a_error err;
  switch (r->kind) {
  case MOL_A2A_RESULT_MESSAGE:
    return mol_a2a_message_from_wire(obj, v, &r->result, &err) == 0 ? 0 : from_wire_err(&err);
  case MOL_A2A_RESULT_TASK:
    return task_from_wire(obj, v, &r->result);
  case MOL_A2A_RESULT_STATUS_UPDATE:
    return status_event_from_wire(obj, v, &r->result);
  case MOL_A2A_RESULT_ARTIFACT_UPDATE:
    return artifact_event_from_wire(obj, v, &r->result);
  default:
    r->result = json_incref((json_t *)obj);
    return 0;
  }
}

static mol_a2a_result_kind kind_by_tag(const char *kind) {
  if (!kind) return MOL_A2A_RESULT_OTHER;
  if (!strcmp(kind, "message")) return MOL_A2A_RESULT_MESSAGE;
  if (!strcmp(kind, "task")) return MOL_A2A_RESULT_TASK;
  if (!strcmp(kind, "status-update")) return MOL_A2A_RESULT_STATUS_UPDATE;
  if (!strcmp(kind, "artifact-update")) return MOL_A2A_RESULT_ARTIFACT_UPDATE;
  return MOL_A2A_RESULT_OTHER;
}

/* Untagged objects (v1.0 bare Task from GetTask, or a sloppy v0.3 peer): by their fields. */
static mol_a2a_result_kind kind_by_shape(const json_t *o) {
  if (json_object_get(o, "messageId") && json_object_get(o, "parts")) return MOL_A2A_RESULT_MESSAGE;
  if (json_object_get(o, "id") && json_object_get(o, "status")) return MOL_A2A_RESULT_TASK;
  return MOL_A2A_RESULT_OTHER;
}

static int classify(mol_a2a_response *r, json_t *result, mol_a2a_version v) {
  static const struct { const char *key; mol_a2a_result_kind kind; } wrappers[] = {
    {"task", MOL_A2A_RESULT_TASK}, {"message", MOL_A2A_RESULT_MESSAGE},
    {"statusUpdate", MOL_A2A_RESULT_STATUS_UPDATE},
    {"artifactUpdate", MOL_A2A_RESULT_ARTIFACT_UPDATE}};
  const json_t *obj = result;
  r->kind = MOL_A2A_RESULT_OTHER;
  if (json_is_object(result) && v == MOL_A2A_V10 && json_object_size(result) == 1) {
    for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
      json_t *inner = json_object_get(result, wrappers[i].key);
      if (json_is_object(inner)) {
        r->kind = wrappers[i].kind;
        obj = inner;
      }
    }
  }
  if (r->kind == MOL_A2A_RESULT_OTHER && json_is_object(result)) {
    json_t *tag = json_object_get(result, "kind");
    r->kind = tag ? kind_by_tag(json_string_value(tag)) : kind_by_shape(result);
  }
  return convert(r, obj, v);
}

/* ---- entry ----------------------------------------------------------------------------- */

static int parse_error_member(mol_a2a_response *r, const json_t *err) {
  r->is_error = 1;
  r->kind = MOL_A2A_RESULT_NONE;
  json_t *code = json_object_get(err, "code");
  const char *msg = json_string_value(json_object_get(err, "message"));
  if (!json_is_integer(code)) return MOL_EPROTO;
  mol_a2a_error_set(&r->error, (int)json_integer_value(code), "%s",
                    msg ? msg : mol_a2a_error_default_message((int)json_integer_value(code)));
  r->error_data = json_object_get(err, "data");
  return 0;
}

int mol_a2a__response_parse_full(const char *body, size_t len, mol_a2a_version v,
                                 mol_a2a_response *out) {
  memset(out, 0, sizeof(*out));
  out->id = json_null();
  out->root = body ? mol_json_parse(body, len, NULL, 0) : NULL;
  if (!out->root) return MOL_EJSON;
  if (!json_is_object(out->root)) return MOL_EPROTO;
  json_t *id = json_object_get(out->root, "id");
  if (id) {
    json_decref(out->id);
    out->id = json_incref(id);
  }
  /* The reply's text, ids and states are read as C strings: a U+0000 would cut them short. */
  char path[8];
  if (mol_a2a_json_find_nul(out->root, "", path, sizeof(path))) return MOL_EPROTO;
  json_t *err = json_object_get(out->root, "error");
  if (json_is_object(err)) return parse_error_member(out, err);
  json_t *result = json_object_get(out->root, "result");
  if (!result) return MOL_EPROTO;
  return classify(out, result, v);
}

/* v0.3 answers of the common shape (a Message or a Task) are read without a DOM first: on the
 * A2A client's path, jansson's tree of the body cost more than the rest of the call. */
int mol_a2a_response_parse(const char *body, size_t len, mol_a2a_version v,
                           mol_a2a_response *out) {
  if (v == MOL_A2A_V03 && mol_a2a__response_parse_fast(body, len, out)) return 0;
  return mol_a2a__response_parse_full(body, len, v, out);
}

void mol_a2a_response_free(mol_a2a_response *r) {
  if (!r) return;
  json_decref(r->id);
  json_decref(r->result);
  json_decref(r->root);
  memset(r, 0, sizeof(*r));
}

static int append_text(mol_buf *b, const json_t *obj) {
  char *t = mol_a2a_parts_text(obj);
  int rc = t ? mol_buf_append_str(b, t) : MOL_ENOMEM;
  free(t);
  return rc;
}

char *mol_a2a_response_text(const mol_a2a_response *r) {
  mol_buf b = MOL_BUF_INIT;
  const json_t *res = r->result;
  int rc = 0;
  size_t i;
  json_t *a;
  switch (r->kind) {
  case MOL_A2A_RESULT_MESSAGE:
    rc = append_text(&b, res);
    break;
  case MOL_A2A_RESULT_TASK:
    json_array_foreach(json_object_get(res, "artifacts"), i, a) rc |= append_text(&b, a);
    if (rc == 0 && b.len == 0) rc = append_text(&b, mol_json_path((json_t *)res, "status.message"));
    break;
  case MOL_A2A_RESULT_STATUS_UPDATE:
    rc = append_text(&b, mol_json_path((json_t *)res, "status.message"));
    break;
  case MOL_A2A_RESULT_ARTIFACT_UPDATE:
    rc = append_text(&b, json_object_get(res, "artifact"));
    break;
  default:
    break;
  }
  if (rc != 0) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}
