/* model.c - enums, errors and canonical-object helpers of the A2A model. */
#include "a2a/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "molecule.h"

/* ---- errors ---------------------------------------------------------------------------- */

typedef struct {
  int code;
  const char *message;
  const char *reason; /* v1.0 google.rpc.ErrorInfo reason */
} error_info;

static const error_info k_errors[] = {
  {MOL_A2A_PARSE_ERROR, "Invalid JSON payload", NULL},
  {MOL_A2A_INVALID_REQUEST, "Invalid Request", NULL},
  {MOL_A2A_METHOD_NOT_FOUND, "Method not found", NULL},
  {MOL_A2A_INVALID_PARAMS, "Invalid params", NULL},
  {MOL_A2A_INTERNAL_ERROR, "Internal error", NULL},
  {MOL_A2A_TASK_NOT_FOUND, "Task not found", "TASK_NOT_FOUND"},
  {MOL_A2A_TASK_NOT_CANCELABLE, "Task cannot be canceled", "TASK_NOT_CANCELABLE"},
  {MOL_A2A_PUSH_NOT_SUPPORTED, "Push Notification is not supported",
   "PUSH_NOTIFICATION_NOT_SUPPORTED"},
  {MOL_A2A_UNSUPPORTED_OPERATION, "This operation is not supported", "UNSUPPORTED_OPERATION"},
  {MOL_A2A_CONTENT_TYPE_NOT_SUPPORTED, "Incompatible content types",
   "CONTENT_TYPE_NOT_SUPPORTED"},
  {MOL_A2A_INVALID_AGENT_RESPONSE, "Invalid agent response", "INVALID_AGENT_RESPONSE"},
  {MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED, "Authenticated Extended Card is not configured",
   "EXTENDED_AGENT_CARD_NOT_CONFIGURED"},
  {MOL_A2A_EXTENSION_SUPPORT_REQUIRED, "Extension support required",
   "EXTENSION_SUPPORT_REQUIRED"},
  {MOL_A2A_VERSION_NOT_SUPPORTED, "Version not supported", "VERSION_NOT_SUPPORTED"},
};

static const error_info *error_find(int code) {
  for (size_t i = 0; i < sizeof(k_errors) / sizeof(k_errors[0]); i++)
    if (k_errors[i].code == code) return &k_errors[i];
  return NULL;
}

const char *mol_a2a_error_default_message(int code) {
  const error_info *e = error_find(code);
  return e ? e->message : "Server error";
}

const char *mol_a2a_error_reason(int code) {
  const error_info *e = error_find(code);
  return e ? e->reason : NULL;
}

/* Length of the UTF-8 sequence at s (strict: no overlongs, surrogates or code points past
 * U+10FFFF, as jansson checks), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
      (c == 0xF4 && s[1] > 0x8F))
    return 0;
  return n;
}

static void utf8_scrub(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    size_t n = utf8_seq(p);
    if (n == 0) *p++ = '?';
    else p += n;
  }
}

int mol_a2a_error_set(mol_a2a_error *err, int code, const char *fmt, ...) {
  if (!err) return MOL_EINVAL;
  err->code = code;
  if (!fmt) {
    snprintf(err->message, sizeof(err->message), "%s", mol_a2a_error_default_message(code));
    return MOL_EINVAL;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  utf8_scrub(err->message);
  return MOL_EINVAL;
}

/* ---- enums ----------------------------------------------------------------------------- */

static const char *const k_state_v03[] = {
  "unknown", "submitted", "working", "input-required", "auth-required",
  "completed", "canceled", "failed", "rejected"};
static const char *const k_state_v10[] = {
  "TASK_STATE_UNSPECIFIED", "TASK_STATE_SUBMITTED", "TASK_STATE_WORKING",
  "TASK_STATE_INPUT_REQUIRED", "TASK_STATE_AUTH_REQUIRED", "TASK_STATE_COMPLETED",
  "TASK_STATE_CANCELED", "TASK_STATE_FAILED", "TASK_STATE_REJECTED"};
#define N_STATES (sizeof(k_state_v03) / sizeof(k_state_v03[0]))

const char *mol_a2a_state_name(mol_a2a_task_state s, mol_a2a_version v) {
  if ((size_t)s >= N_STATES) s = MOL_A2A_STATE_UNKNOWN;
  return v == MOL_A2A_V10 ? k_state_v10[s] : k_state_v03[s];
}

int mol_a2a_state_parse(const char *name, mol_a2a_task_state *out) {
  if (!name) return MOL_EINVAL;
  for (size_t i = 0; i < N_STATES; i++) {
    if (strcmp(name, k_state_v03[i]) == 0 || strcmp(name, k_state_v10[i]) == 0) {
      *out = (mol_a2a_task_state)i;
      return 0;
    }
  }
  /* v1.0 spells CANCELED with one L, but some proto generations used CANCELLED. */
  if (strcmp(name, "TASK_STATE_CANCELLED") == 0) {
    *out = MOL_A2A_STATE_CANCELED;
    return 0;
  }
  return MOL_EINVAL;
}

int mol_a2a_state_is_terminal(mol_a2a_task_state s) {
  return s == MOL_A2A_STATE_COMPLETED || s == MOL_A2A_STATE_CANCELED ||
         s == MOL_A2A_STATE_FAILED || s == MOL_A2A_STATE_REJECTED;
}

int mol_a2a_state_is_interrupted(mol_a2a_task_state s) {
  return s == MOL_A2A_STATE_INPUT_REQUIRED || s == MOL_A2A_STATE_AUTH_REQUIRED;
}

const char *mol_a2a_role_name(mol_a2a_role r, mol_a2a_version v) {
  if (v == MOL_A2A_V10)
    return r == MOL_A2A_ROLE_AGENT ? "ROLE_AGENT"
           : r == MOL_A2A_ROLE_USER ? "ROLE_USER" : "ROLE_UNSPECIFIED";
  return r == MOL_A2A_ROLE_AGENT ? "agent" : "user";
}

mol_a2a_role mol_a2a_role_parse(const char *name) {
  if (!name) return MOL_A2A_ROLE_UNSPECIFIED;
  if (!strcmp(name, "user") || !strcmp(name, "ROLE_USER")) return MOL_A2A_ROLE_USER;
  if (!strcmp(name, "agent") || !strcmp(name, "ROLE_AGENT")) return MOL_A2A_ROLE_AGENT;
  return MOL_A2A_ROLE_UNSPECIFIED;
}

/* ---- constructors ---------------------------------------------------------------------- */

/* Member by member rather than json_pack: every outgoing A2A call builds a message, and
 * parsing the format string cost more than the objects. set_new steals v even on failure. */
static int set_new(json_t *o, const char *key, json_t *v) {
  return json_object_set_new_nocheck(o, key, v);
}

json_t *mol_a2a_message_new(mol_a2a_role role, const char *text) {
  char id[MOL_UUID_LEN + 1];
  if (mol_uuid4(id) != 0) return NULL;
  json_t *m = json_object();
  if (m && (set_new(m, "kind", json_string_nocheck("message")) ||
            set_new(m, "messageId", json_string_nocheck(id)) ||
            set_new(m, "role", json_string_nocheck(mol_a2a_role_name(role, MOL_A2A_V03))) ||
            set_new(m, "parts", json_array()))) {
    json_decref(m);
    return NULL;
  }
  if (m && text && mol_a2a_parts_append(m, mol_a2a_part_text(text)) != 0) {
    json_decref(m);
    return NULL;
  }
  return m;
}

int mol_a2a_parts_append(json_t *obj, json_t *part) {
  json_t *parts = json_object_get(obj, "parts");
  if (!part || !json_is_array(parts) || json_array_append_new(parts, part) != 0) {
    if (part) json_decref(part);
    return MOL_ENOMEM;
  }
  return 0;
}

json_t *mol_a2a_part_text(const char *text) {
  json_t *t = json_string(text ? text : ""); /* NULL when text is not UTF-8 */
  json_t *p = t ? json_object() : NULL;
  if (p && set_new(p, "kind", json_string_nocheck("text")) == 0) {
    if (set_new(p, "text", t) == 0) return p; /* t is p's now, or freed */
    json_decref(p);
    return NULL;
  }
  json_decref(t);
  json_decref(p);
  return NULL;
}

json_t *mol_a2a_part_data(json_t *data) {
  if (!data) return NULL;
  return json_pack("{s:s, s:o}", "kind", "data", "data", data);
}

json_t *mol_a2a_part_file_uri(const char *uri, const char *name, const char *mime) {
  json_t *file = json_pack("{s:s}", "uri", uri ? uri : "");
  if (!file) return NULL;
  if (name) json_object_set_new(file, "name", json_string(name));
  if (mime) json_object_set_new(file, "mimeType", json_string(mime));
  return json_pack("{s:s, s:o}", "kind", "file", "file", file);
}

json_t *mol_a2a_artifact_new(const char *artifact_id, const char *name, json_t *parts) {
  char id[MOL_UUID_LEN + 1];
  if (!artifact_id) {
    if (mol_uuid4(id) != 0) goto fail;
    artifact_id = id;
  }
  json_t *a = json_pack("{s:s, s:o}", "artifactId", artifact_id, "parts",
                        parts ? parts : json_array());
  parts = NULL; /* json_pack's "o" steals even on failure */
  if (a && name) json_object_set_new(a, "name", json_string(name));
  return a;
fail:
  if (parts) json_decref(parts);
  return NULL;
}

/* ---- readers --------------------------------------------------------------------------- */

static const char *str_field(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

const char *mol_a2a_msg_id(const json_t *msg) { return str_field(msg, "messageId"); }
const char *mol_a2a_msg_task_id(const json_t *msg) { return str_field(msg, "taskId"); }
const char *mol_a2a_msg_context_id(const json_t *msg) { return str_field(msg, "contextId"); }

mol_a2a_role mol_a2a_msg_role(const json_t *msg) {
  return mol_a2a_role_parse(str_field(msg, "role"));
}

/* Where a path now ends after snprintf wrote n more bytes at `at` (cut at cap). */
static size_t path_end(size_t cap, size_t at, int n) {
  return n < 0 ? at : at + (size_t)n >= cap ? cap - 1 : at + (size_t)n;
}

static size_t path_key(char *path, size_t cap, size_t at, const char *key) {
  return at + 1 >= cap ? at : path_end(cap, at, snprintf(path + at, cap - at, ".%s", key));
}

static size_t path_index(char *path, size_t cap, size_t at, size_t i) {
  return at + 1 >= cap ? at : path_end(cap, at, snprintf(path + at, cap - at, "[%zu]", i));
}

static int find_nul(const json_t *v, char *path, size_t cap, size_t at) {
  const char *key;
  json_t *item;
  size_t i;
  switch (json_typeof(v)) {
    case JSON_STRING:
      return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    case JSON_OBJECT:
      json_object_foreach((json_t *)v, key, item)
        if (find_nul(item, path, cap, path_key(path, cap, at, key))) return 1;
      return 0;
    case JSON_ARRAY:
      json_array_foreach(v, i, item)
        if (find_nul(item, path, cap, path_index(path, cap, at, i))) return 1;
      return 0;
    default:
      return 0;
  }
}

int mol_a2a_json_find_nul(const json_t *v, const char *name, char *path, size_t cap) {
  if (!v || cap == 0) return 0;
  return find_nul(v, path, cap, path_end(cap, 0, snprintf(path, cap, "%s", name)));
}

char *mol_a2a_parts_text(const json_t *obj) {
  mol_buf b = MOL_BUF_INIT;
  size_t i;
  json_t *part;
  json_array_foreach(json_object_get(obj, "parts"), i, part) {
    const char *kind = str_field(part, "kind");
    const char *text = str_field(part, "text");
    if (kind && strcmp(kind, "text") == 0 && text && mol_buf_append_str(&b, text) != 0) {
      mol_buf_free(&b);
      return NULL;
    }
  }
  return mol_buf_steal(&b);
}
