/* model_wire.c - converts messages, parts and artifacts between the wire shapes of v0.3 and
 * v1.0 and the canonical shape (model.h). Input is validated here, so the rest of the engine
 * can trust canonical objects. */
#include <string.h>

#include "a2a/model.h"
#include "molecule.h"

#define INVALID(err, ...) mol_a2a_error_set((err), MOL_A2A_INVALID_PARAMS, __VA_ARGS__)
/* Out of memory: an internal error, never a message with a member silently missing. */
#define NO_MEMORY(err) mol_a2a_error_set((err), MOL_A2A_INTERNAL_ERROR, NULL)

/* ProtoJSON clients send "" for unset strings: treat "" like absent. */
static const char *opt_str(const json_t *o, const char *key, int *bad) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return NULL;
  if (!json_is_string(v)) {
    *bad = 1;
    return NULL;
  }
  return json_string_length(v) ? json_string_value(v) : NULL;
}

/* Both copy a member when present: 0, or -1 when out of memory. */
static int copy_str(json_t *dst, const char *dkey, const json_t *src, const char *skey) {
  json_t *v = json_object_get(src, skey);
  if (json_is_string(v) && json_string_length(v))
    return json_object_set_new(dst, dkey, json_string(json_string_value(v)));
  return 0;
}

/* Copies an optional member when it has the expected JSON type; anything else is ignored,
 * because unknown or mistyped optional extras must not fail a request. */
static int copy_typed(json_t *dst, const json_t *src, const char *key, json_type type) {
  json_t *v = json_object_get(src, key);
  if (v && json_typeof(v) == type) return json_object_set_new(dst, key, json_deep_copy(v));
  return 0;
}

/* ---- parts ----------------------------------------------------------------------------- */

static int file_part_v03(const json_t *in, json_t *out, mol_a2a_error *err) {
  json_t *file = json_object_get(in, "file");
  if (!json_is_object(file)) return INVALID(err, "file part needs a 'file' object");
  json_t *f = json_object();
  if (!f || copy_str(f, "bytes", file, "bytes") || copy_str(f, "uri", file, "uri")) {
    json_decref(f);
    return NO_MEMORY(err);
  }
  if (!json_object_get(f, "bytes") && !json_object_get(f, "uri")) {
    json_decref(f);
    return INVALID(err, "file part needs 'bytes' or 'uri'");
  }
  if (copy_str(f, "name", file, "name") || copy_str(f, "mimeType", file, "mimeType")) {
    json_decref(f);
    return NO_MEMORY(err);
  }
  return json_object_set_new(out, "file", f) ? NO_MEMORY(err) : 0;
}

static int part_v03(const json_t *in, const char *kind, json_t *out, mol_a2a_error *err) {
  if (json_object_set_new(out, "kind", json_string(kind))) return NO_MEMORY(err);
  if (strcmp(kind, "text") == 0) {
    json_t *text = json_object_get(in, "text");
    if (!json_is_string(text)) return INVALID(err, "text part needs a string 'text'");
    return json_object_set(out, "text", text) ? NO_MEMORY(err) : 0;
  }
  if (strcmp(kind, "file") == 0) return file_part_v03(in, out, err);
  if (strcmp(kind, "data") == 0) {
    json_t *data = json_object_get(in, "data");
    if (!json_is_object(data)) return INVALID(err, "data part needs an object 'data'");
    return json_object_set_new(out, "data", json_deep_copy(data)) ? NO_MEMORY(err) : 0;
  }
  return INVALID(err, "Invalid v0.3 part kind: %.64s", kind);
}

/* v1.0 Part is a oneof: text | raw (base64) | url | data, plus mediaType and filename. */
static int part_v10(const json_t *in, json_t *out, mol_a2a_error *err) {
  json_t *text = json_object_get(in, "text"), *data = json_object_get(in, "data");
  const char *raw = json_string_value(json_object_get(in, "raw"));
  const char *url = json_string_value(json_object_get(in, "url"));
  int oom;
  if (json_is_string(text)) {
    oom = json_object_set_new(out, "kind", json_string("text")) ||
          json_object_set(out, "text", text);
  } else if (raw || url) {
    json_t *f = json_pack("{s:s}", raw ? "bytes" : "uri", raw ? raw : url);
    oom = !f || copy_str(f, "name", in, "filename") || copy_str(f, "mimeType", in, "mediaType");
    if (oom) json_decref(f);
    else oom = json_object_set_new(out, "kind", json_string("file")) ||
               json_object_set_new(out, "file", f);
  } else if (data && !json_is_null(data)) {
    oom = json_object_set_new(out, "kind", json_string("data")) ||
          json_object_set_new(out, "data", json_deep_copy(data));
  } else {
    return INVALID(err, "part must carry one of text, raw, url or data");
  }
  return oom ? NO_MEMORY(err) : 0;
}

int mol_a2a_part_from_wire(const json_t *in, mol_a2a_version v, json_t **out, mol_a2a_error *err) {
  if (!json_is_object(in)) return INVALID(err, "part must be an object");
  /* "type" is the v0.1 spelling still sent by Molecule scripts: an alias of "kind". */
  json_t *kind = json_object_get(in, "kind");
  if (!kind) kind = json_object_get(in, "type");
  json_t *p = json_object();
  if (!p) return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, NULL);
  int rc;
  if (json_is_string(kind))
    rc = part_v03(in, json_string_value(kind), p, err);
  else if (v == MOL_A2A_V10 && !kind)
    rc = part_v10(in, p, err);
  else
    rc = INVALID(err, "Invalid v0.3 part kind: %s", kind ? "not a string" : "undefined");
  if (rc == 0 && copy_typed(p, in, "metadata", JSON_OBJECT)) rc = NO_MEMORY(err);
  if (rc != 0) {
    json_decref(p);
    return rc;
  }
  *out = p;
  return 0;
}

static json_t *file_part_to_v10(const json_t *part) {
  json_t *file = json_object_get(part, "file");
  const char *bytes = json_string_value(json_object_get(file, "bytes"));
  const char *uri = json_string_value(json_object_get(file, "uri"));
  json_t *o = json_pack("{s:s}", bytes ? "raw" : "url", bytes ? bytes : uri ? uri : "");
  if (o && (copy_str(o, "mediaType", file, "mimeType") || copy_str(o, "filename", file, "name"))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* Canonical objects are immutable once built and the canonical shape is v0.3's, so the v0.3
 * wire form shares them by reference instead of copying (callers only embed the result in a
 * new container and serialise it). */
json_t *mol_a2a_part_to_wire(const json_t *part, mol_a2a_version v) {
  if (v == MOL_A2A_V03) return json_incref((json_t *)part);
  const char *kind = json_string_value(json_object_get(part, "kind"));
  json_t *o;
  if (kind && strcmp(kind, "file") == 0)
    o = file_part_to_v10(part);
  else if (kind && strcmp(kind, "data") == 0)
    o = json_pack("{s:O}", "data", json_object_get(part, "data"));
  else
    o = json_pack("{s:O}", "text", json_object_get(part, "text"));
  if (o && copy_typed(o, part, "metadata", JSON_OBJECT)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---- part lists ------------------------------------------------------------------------ */

static int parts_from_wire(const json_t *in, mol_a2a_version v, const char *what, json_t *out,
                           mol_a2a_error *err) {
  json_t *parts = json_object_get(in, "parts");
  if (!json_is_array(parts)) return INVALID(err, "%s.parts must be an array", what);
  json_t *list = json_array();
  if (!list) return NO_MEMORY(err);
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    json_t *canon;
    if (mol_a2a_part_from_wire(p, v, &canon, err) != 0) {
      json_decref(list);
      return MOL_EINVAL;
    }
    if (json_array_append_new(list, canon)) {
      json_decref(list);
      return NO_MEMORY(err);
    }
  }
  return json_object_set_new(out, "parts", list) ? NO_MEMORY(err) : 0;
}

static json_t *parts_to_wire(const json_t *obj, mol_a2a_version v) {
  json_t *list = json_array();
  if (!list) return NULL;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(obj, "parts"), i, p) {
    json_t *w = mol_a2a_part_to_wire(p, v);
    if (!w || json_array_append_new(list, w) != 0) {
      json_decref(list);
      return NULL;
    }
  }
  return list;
}

/* ---- messages -------------------------------------------------------------------------- */

static int message_ids(const json_t *in, json_t *m, mol_a2a_error *err) {
  int bad = 0;
  const char *id = opt_str(in, "messageId", &bad);
  if (!id) return INVALID(err, "message.messageId is required");
  const char *ctx = opt_str(in, "contextId", &bad);
  if (bad) return INVALID(err, "message.contextId must be a string");
  const char *task = opt_str(in, "taskId", &bad);
  if (bad) return INVALID(err, "message.taskId must be a string");
  if (json_object_set_new(m, "messageId", json_string(id)) ||
      (ctx && json_object_set_new(m, "contextId", json_string(ctx))) ||
      (task && json_object_set_new(m, "taskId", json_string(task))))
    return NO_MEMORY(err);
  return 0;
}

static int message_fill(const json_t *in, mol_a2a_version v, json_t *m, mol_a2a_error *err) {
  json_t *kind = json_object_get(in, "kind");
  if (kind && !(json_is_string(kind) && strcmp(json_string_value(kind), "message") == 0))
    return INVALID(err, "message.kind must be 'message'");
  if (message_ids(in, m, err) != 0) return MOL_EINVAL;
  mol_a2a_role role = mol_a2a_role_parse(json_string_value(json_object_get(in, "role")));
  if (role == MOL_A2A_ROLE_UNSPECIFIED) return INVALID(err, "message.role must be user or agent");
  if (json_object_set_new(m, "role", json_string(mol_a2a_role_name(role, MOL_A2A_V03))))
    return NO_MEMORY(err);
  if (parts_from_wire(in, v, "message", m, err) != 0) return MOL_EINVAL;
  if (copy_typed(m, in, "referenceTaskIds", JSON_ARRAY) ||
      copy_typed(m, in, "extensions", JSON_ARRAY) || copy_typed(m, in, "metadata", JSON_OBJECT))
    return NO_MEMORY(err);
  return 0;
}

int mol_a2a_message_from_wire(const json_t *in, mol_a2a_version v, json_t **out,
                              mol_a2a_error *err) {
  if (!json_is_object(in)) return INVALID(err, "message must be an object");
  json_t *m = json_pack("{s:s}", "kind", "message");
  if (!m) return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, NULL);
  if (message_fill(in, v, m, err) != 0) {
    json_decref(m);
    return MOL_EINVAL;
  }
  *out = m;
  return 0;
}

json_t *mol_a2a_message_to_wire(const json_t *msg, mol_a2a_version v) {
  if (v == MOL_A2A_V03) return json_incref((json_t *)msg);
  json_t *parts = parts_to_wire(msg, v);
  json_t *o = json_pack("{s:O?, s:s, s:o}", "messageId", json_object_get(msg, "messageId"),
                        "role", mol_a2a_role_name(mol_a2a_msg_role(msg), v), "parts", parts);
  if (!o) return NULL;
  if (copy_str(o, "contextId", msg, "contextId") || copy_str(o, "taskId", msg, "taskId") ||
      copy_typed(o, msg, "referenceTaskIds", JSON_ARRAY) ||
      copy_typed(o, msg, "extensions", JSON_ARRAY) || copy_typed(o, msg, "metadata", JSON_OBJECT)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---- artifacts ------------------------------------------------------------------------- */

int mol_a2a_artifact_from_wire(const json_t *in, mol_a2a_version v, json_t **out,
                               mol_a2a_error *err) {
  if (!json_is_object(in)) return INVALID(err, "artifact must be an object");
  int bad = 0;
  const char *id = opt_str(in, "artifactId", &bad);
  if (!id) return INVALID(err, "artifact.artifactId is required");
  json_t *a = json_pack("{s:s}", "artifactId", id);
  if (!a) return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, NULL);
  if (parts_from_wire(in, v, "artifact", a, err) != 0) {
    json_decref(a);
    return MOL_EINVAL;
  }
  if (copy_str(a, "name", in, "name") || copy_str(a, "description", in, "description") ||
      copy_typed(a, in, "metadata", JSON_OBJECT) || copy_typed(a, in, "extensions", JSON_ARRAY)) {
    json_decref(a);
    return NO_MEMORY(err);
  }
  *out = a;
  return 0;
}

json_t *mol_a2a_artifact_to_wire(const json_t *artifact, mol_a2a_version v) {
  if (v == MOL_A2A_V03) return json_deep_copy(artifact);
  json_t *o = json_deep_copy(artifact);
  json_t *parts = parts_to_wire(artifact, v);
  if (!o || !parts) { /* neither may outlive the other's failure */
    json_decref(o);
    json_decref(parts);
    return NULL;
  }
  if (json_object_set_new(o, "parts", parts) != 0) { /* takes parts either way */
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *mol_a2a_status_to_wire(mol_a2a_task_state s, const json_t *msg, const char *timestamp,
                               mol_a2a_version v) {
  json_t *o = json_pack("{s:s}", "state", mol_a2a_state_name(s, v));
  if (!o) return NULL;
  if ((msg && json_object_set_new(o, "message", mol_a2a_message_to_wire(msg, v))) ||
      (timestamp && *timestamp && json_object_set_new(o, "timestamp", json_string(timestamp)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}
