/* codec_fast_answer.c - v0.3 answers (a Message or a Task result) read without a DOM.
 *
 * The A2A client reads an answer for every call it makes; a coordinator fanning a turn out to
 * its peers reads thousands a second. jansson's tree of a 300-byte answer cost more than the
 * rest of the call, and the canonical objects were then built from it again. This path scans
 * the body once (base/jscan, which validates all of it) and builds the canonical result
 * (model.h) straight from the tokens; only extras the canonical objects keep as JSON (metadata,
 * extensions, referenceTaskIds) go to jansson, each on its own.
 *
 * It answers only what it is sure of, exactly as codec_response.c + model_wire.c would: the
 * members are the ones they read, in the order they write them. Anything else (an error
 * answer, a result of another kind or without a kind tag, file or data parts, a history entry
 * the full path would drop, a duplicated member, an escaped key, an id that is not a string or
 * an integer, a U+0000 anywhere, any JSON error) makes it decline, and the full parser has the
 * last word. The agreement test (test_a2a_answer_fast) and the fuzz target fuzz_a2a_answer
 * check that whatever it takes, the full parser reads the same. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/jscan.h"
#include "base/json.h"
#include "molecule.h"

/* One member's value: its first token and, for an object or array, where its text ends. */
typedef struct {
  mol_jtok tok;
  const char *end;
  int set;
} slot;

/* ---- scanning ------------------------------------------------------------------------------ */

/* Reads the members of the object whose '{' s just returned: the value of keys[i] into
 * slots[i] (skipped over, validated), any other member skipped. -1 on anything to decline:
 * invalid JSON, an escaped key (it might spell a known one), a known key twice. */
static int read_object(mol_jscan *s, const char *const *keys, slot *slots, size_t n) {
  memset(slots, 0, n * sizeof(*slots));
  mol_jtok t;
  for (;;) {
    mol_jtype k = mol_jscan_next(s, &t);
    if (k == MOL_JT_OBJECT_END) return 0;
    if (k != MOL_JT_KEY || t.escaped) return -1;
    size_t i = 0;
    while (i < n && !(t.len == strlen(keys[i]) && memcmp(t.start, keys[i], t.len) == 0)) i++;
    mol_jtype v = mol_jscan_next(s, &t);
    if (v == MOL_JT_FAIL || v == MOL_JT_END || v == MOL_JT_OBJECT_END || v == MOL_JT_ARRAY_END)
      return -1;
    if (mol_jscan_skip(s) != 0) return -1;
    if (i == n) continue;
    if (slots[i].set) return -1;
    slots[i] = (slot){.tok = t, .end = s->p, .set = 1};
  }
}

static mol_jtype type(const slot *v) { return v->set ? v->tok.type : MOL_JT_FAIL; }

/* Starts a scanner over a container member's text; returns its first token's type. */
static mol_jtype open_slot(const slot *v, mol_jscan *s) {
  mol_jtok t;
  mol_jscan_init(s, v->tok.start, (size_t)(v->end - v->tok.start));
  return mol_jscan_next(s, &t);
}

/* An object slot's members (declining unless it is an object). */
static int object_slot(const slot *v, const char *const *keys, slot *slots, size_t n) {
  mol_jscan s;
  if (type(v) != MOL_JT_OBJECT || open_slot(v, &s) != MOL_JT_OBJECT) return -1;
  return read_object(&s, keys, slots, n);
}

/* A STRING token as a jansson string (the scanner validated its UTF-8). */
static json_t *string_of(const mol_jtok *t) {
  if (!t->escaped) return json_stringn_nocheck(t->start, t->len);
  char small[256];
  char *buf = t->len < sizeof(small) ? small : malloc(t->len + 1);
  if (!buf) return NULL;
  size_t n = mol_jscan_string(t, buf);
  json_t *v = json_stringn_nocheck(buf, n);
  if (buf != small) free(buf);
  return v;
}

/* Sets key to a new value; -1 when the value could not be made. */
static int put(json_t *o, const char *key, json_t *v) {
  return v && json_object_set_new_nocheck(o, key, v) == 0 ? 0 : -1;
}

static int put_string(json_t *o, const char *key, const slot *v) {
  return put(o, key, string_of(&v->tok));
}

/* model_wire.c's copy_typed: the member as JSON when it has the type, else nothing. */
static int put_typed(json_t *o, const char *key, const slot *v, mol_jtype want) {
  if (type(v) != want) return 0;
  return put(o, key, mol_json_parse(v->tok.start, (size_t)(v->end - v->tok.start), NULL, 0));
}

/* model_wire.c's copy_str: a non-empty string, else nothing. */
static int put_nonempty(json_t *o, const char *key, const slot *v) {
  return type(v) == MOL_JT_STRING && v->tok.len ? put_string(o, key, v) : 0;
}

/* The array slot's elements, each an object read by each(s, out) onto the array out. */
static int each_element(const slot *v, int (*each)(mol_jscan *s, json_t *out), json_t *out) {
  mol_jscan s;
  if (open_slot(v, &s) != MOL_JT_ARRAY) return -1;
  for (;;) {
    mol_jtok t;
    mol_jtype e = mol_jscan_next(&s, &t);
    if (e == MOL_JT_ARRAY_END) return 0;
    if (e != MOL_JT_OBJECT || each(&s, out) != 0) return -1;
  }
}

/* ---- messages and artifacts ------------------------------------------------------------------ */

enum { PT_KIND, PT_TYPE, PT_TEXT, PT_META, PT_N };
static const char *const k_part[PT_N] = {"kind", "type", "text", "metadata"};

/* A text part; any other kind is the full parser's. */
static int part(mol_jscan *s, json_t *parts) {
  slot v[PT_N];
  if (read_object(s, k_part, v, PT_N) != 0) return -1;
  const slot *kind = v[PT_KIND].set ? &v[PT_KIND] : &v[PT_TYPE];
  if (type(kind) != MOL_JT_STRING || !mol_jscan_eq(&kind->tok, "text")) return -1;
  if (type(&v[PT_TEXT]) != MOL_JT_STRING) return -1;
  json_t *p = json_object();
  int rc = p ? put(p, "kind", json_string_nocheck("text")) : -1;
  if (rc == 0) rc = put_string(p, "text", &v[PT_TEXT]);
  if (rc == 0) rc = put_typed(p, "metadata", &v[PT_META], MOL_JT_OBJECT);
  if (rc == 0) rc = json_array_append_new(parts, p) == 0 ? 0 : -1;
  else json_decref(p);
  return rc;
}

static int put_parts(json_t *o, const slot *v) {
  json_t *parts = json_array();
  if (!parts || type(v) != MOL_JT_ARRAY || each_element(v, part, parts) != 0) {
    json_decref(parts);
    return -1;
  }
  return put(o, "parts", parts);
}

/* A ProtoJSON id member: absent, null or "" leave it out; another string is kept. */
static int put_opt_id(json_t *o, const char *key, const slot *v) {
  mol_jtype t = type(v);
  if (t == MOL_JT_FAIL || t == MOL_JT_NULL) return 0;
  return t == MOL_JT_STRING ? put_nonempty(o, key, v) : -1;
}

static mol_a2a_role role_of(const slot *v) {
  if (type(v) != MOL_JT_STRING) return MOL_A2A_ROLE_UNSPECIFIED;
  if (mol_jscan_eq(&v->tok, "user") || mol_jscan_eq(&v->tok, "ROLE_USER")) return MOL_A2A_ROLE_USER;
  if (mol_jscan_eq(&v->tok, "agent") || mol_jscan_eq(&v->tok, "ROLE_AGENT"))
    return MOL_A2A_ROLE_AGENT;
  return MOL_A2A_ROLE_UNSPECIFIED;
}

enum { M_KIND, M_ID, M_CTX, M_TASK, M_ROLE, M_PARTS, M_REFS, M_EXT, M_META, M_N };
static const char *const k_message[M_N] = {"kind", "messageId", "contextId", "taskId", "role",
                                           "parts", "referenceTaskIds", "extensions", "metadata"};

/* The canonical Message of an object's members (model_wire.c's message_fill); v holds at least
 * the M_N slots of k_message, in its order. */
static json_t *message_of(const slot *v) {
  if (v[M_KIND].set && !(type(&v[M_KIND]) == MOL_JT_STRING && mol_jscan_eq(&v[M_KIND].tok, "message")))
    return NULL;
  mol_a2a_role role = role_of(&v[M_ROLE]);
  if (type(&v[M_ID]) != MOL_JT_STRING || !v[M_ID].tok.len || role == MOL_A2A_ROLE_UNSPECIFIED)
    return NULL;
  json_t *m = json_object();
  int rc = m ? put(m, "kind", json_string_nocheck("message")) : -1;
  if (rc == 0) rc = put_string(m, "messageId", &v[M_ID]);
  if (rc == 0) rc = put_opt_id(m, "contextId", &v[M_CTX]);
  if (rc == 0) rc = put_opt_id(m, "taskId", &v[M_TASK]);
  if (rc == 0) rc = put(m, "role", json_string_nocheck(mol_a2a_role_name(role, MOL_A2A_V03)));
  if (rc == 0) rc = put_parts(m, &v[M_PARTS]);
  if (rc == 0) rc = put_typed(m, "referenceTaskIds", &v[M_REFS], MOL_JT_ARRAY);
  if (rc == 0) rc = put_typed(m, "extensions", &v[M_EXT], MOL_JT_ARRAY);
  if (rc == 0) rc = put_typed(m, "metadata", &v[M_META], MOL_JT_OBJECT);
  if (rc == 0) return m;
  json_decref(m);
  return NULL;
}

/* The canonical Message of the object whose '{' s just returned. */
static json_t *message(mol_jscan *s) {
  slot v[M_N];
  return read_object(s, k_message, v, M_N) == 0 ? message_of(v) : NULL;
}

static int history_entry(mol_jscan *s, json_t *history) {
  json_t *m = message(s);
  return m && json_array_append_new(history, m) == 0 ? 0 : -1;
}

enum { A_ID, A_PARTS, A_NAME, A_DESC, A_META, A_EXT, A_N };
static const char *const k_artifact[A_N] = {"artifactId", "parts", "name", "description",
                                            "metadata", "extensions"};

static int artifact(mol_jscan *s, json_t *artifacts) {
  slot v[A_N];
  if (read_object(s, k_artifact, v, A_N) != 0) return -1;
  if (type(&v[A_ID]) != MOL_JT_STRING || !v[A_ID].tok.len) return -1;
  json_t *a = json_object();
  int rc = a ? put_string(a, "artifactId", &v[A_ID]) : -1;
  if (rc == 0) rc = put_parts(a, &v[A_PARTS]);
  if (rc == 0) rc = put_nonempty(a, "name", &v[A_NAME]);
  if (rc == 0) rc = put_nonempty(a, "description", &v[A_DESC]);
  if (rc == 0) rc = put_typed(a, "metadata", &v[A_META], MOL_JT_OBJECT);
  if (rc == 0) rc = put_typed(a, "extensions", &v[A_EXT], MOL_JT_ARRAY);
  if (rc == 0) rc = json_array_append_new(artifacts, a) == 0 ? 0 : -1;
  else json_decref(a);
  return rc;
}

/* An array member read element by element (declining on any element the full path would
 * refuse or drop); a member of another type is left out, as the full path does. */
static int put_list(json_t *o, const char *key, const slot *v, int (*each)(mol_jscan *, json_t *)) {
  if (type(v) != MOL_JT_ARRAY) return 0;
  json_t *list = json_array();
  if (!list || each_element(v, each, list) != 0) {
    json_decref(list);
    return -1;
  }
  return put(o, key, list);
}

/* ---- tasks ----------------------------------------------------------------------------------- */

enum { S_STATE, S_MSG, S_TS, S_N };
static const char *const k_status[S_N] = {"state", "message", "timestamp"};

/* codec_response.c's status_from_wire: the v0.3 status of a Task. */
static json_t *status(const slot *sv) {
  slot v[S_N];
  if (object_slot(sv, k_status, v, S_N) != 0) return NULL;
  mol_a2a_task_state state = MOL_A2A_STATE_UNKNOWN;
  char name[64]; /* longer than any state name unless escapes spell one: then decline */
  const mol_jtok *st = &v[S_STATE].tok;
  if (type(&v[S_STATE]) == MOL_JT_STRING && st->len >= sizeof(name) && st->escaped) return NULL;
  if (type(&v[S_STATE]) == MOL_JT_STRING && st->len < sizeof(name)) {
    mol_jscan_string(st, name);
    if (mol_a2a_state_parse(name, &state) != 0) state = MOL_A2A_STATE_UNKNOWN;
  }
  json_t *msg = NULL;
  if (type(&v[S_MSG]) == MOL_JT_OBJECT) {
    mol_jscan s;
    open_slot(&v[S_MSG], &s);
    if (!(msg = message(&s))) return NULL;
  }
  char small[64];
  char *ts = NULL;
  if (type(&v[S_TS]) == MOL_JT_STRING) {
    ts = v[S_TS].tok.len < sizeof(small) ? small : malloc(v[S_TS].tok.len + 1);
    if (ts) mol_jscan_string(&v[S_TS].tok, ts);
  }
  json_t *out = type(&v[S_TS]) != MOL_JT_STRING || ts
                    ? mol_a2a_status_to_wire(state, msg, ts, MOL_A2A_V03)
                    : NULL;
  if (ts != small) free(ts);
  json_decref(msg);
  return out;
}

/* A result's members: a Message's (k_message, in its order) followed by a Task's others, read
 * in one pass before the kind is known. A member twice declines, even one the kind ignores. */
enum { R_ID = M_N, R_STATUS, R_HIST, R_ARTS, R_N };
static const char *const k_result[R_N] = {"kind", "messageId", "contextId", "taskId", "role",
                                          "parts", "referenceTaskIds", "extensions", "metadata",
                                          "id", "status", "history", "artifacts"};

/* codec_response.c's task_from_wire. */
static json_t *task_of(const slot *v) {
  if (type(&v[R_ID]) != MOL_JT_STRING || type(&v[M_CTX]) != MOL_JT_STRING) return NULL;
  json_t *st = status(&v[R_STATUS]);
  json_t *t = st ? json_object() : NULL;
  int rc = t ? put(t, "kind", json_string_nocheck("task")) : -1;
  if (rc == 0) rc = put_string(t, "id", &v[R_ID]);
  if (rc == 0) rc = put_string(t, "contextId", &v[M_CTX]);
  if (rc == 0) rc = put(t, "status", json_incref(st));
  if (rc == 0) rc = put_list(t, "history", &v[R_HIST], history_entry);
  if (rc == 0) rc = put_list(t, "artifacts", &v[R_ARTS], artifact);
  if (rc == 0) rc = put_typed(t, "metadata", &v[M_META], MOL_JT_OBJECT);
  json_decref(st);
  if (rc == 0) return t;
  json_decref(t);
  return NULL;
}

/* ---- the answer ------------------------------------------------------------------------------ */

/* The id as the full parser keeps it: a string or an integer (null when absent or null). */
static json_t *id_of(const slot *v) {
  switch (type(v)) {
    case MOL_JT_FAIL:
    case MOL_JT_NULL: return json_null();
    case MOL_JT_STRING: return string_of(&v->tok);
    case MOL_JT_INT: return json_integer(v->tok.ival);
    default: return NULL; /* reals: the full parser's */
  }
}

/* The result: a Message or a Task by its kind tag; anything else declines. */
static json_t *result_of(const slot *v, mol_a2a_result_kind *kind) {
  if (type(&v[M_KIND]) != MOL_JT_STRING) return NULL;
  if (mol_jscan_eq(&v[M_KIND].tok, "task")) {
    *kind = MOL_A2A_RESULT_TASK;
    return task_of(v);
  }
  if (!mol_jscan_eq(&v[M_KIND].tok, "message")) return NULL;
  *kind = MOL_A2A_RESULT_MESSAGE;
  return message_of(v);
}

/* The envelope: "id" and "error" as slots, the "result" object's members read in place (one
 * pass over the body). -1 to decline. */
static int read_envelope(mol_jscan *s, slot *id, slot *result) {
  mol_jtok t;
  int have_id = 0, have_result = 0;
  for (;;) {
    mol_jtype k = mol_jscan_next(s, &t);
    if (k == MOL_JT_OBJECT_END) break;
    if (k != MOL_JT_KEY || t.escaped) return -1;
    int is_id = t.len == 2 && !memcmp(t.start, "id", 2);
    int is_result = t.len == 6 && !memcmp(t.start, "result", 6);
    if (t.len == 5 && !memcmp(t.start, "error", 5)) return -1; /* errors: the full parser's */
    mol_jtype v = mol_jscan_next(s, &t);
    if (is_result) {
      if (have_result++ || v != MOL_JT_OBJECT || read_object(s, k_result, result, R_N) != 0)
        return -1;
      continue;
    }
    if (v == MOL_JT_FAIL || v == MOL_JT_END || v == MOL_JT_OBJECT_END || v == MOL_JT_ARRAY_END ||
        mol_jscan_skip(s) != 0)
      return -1;
    if (is_id && have_id++) return -1;
    if (is_id) *id = (slot){.tok = t, .end = s->p, .set = 1};
  }
  return have_result ? 0 : -1;
}

int mol_a2a__response_parse_fast(const char *body, size_t len, mol_a2a_response *out) {
  if (!body) return 0;
  mol_jscan s;
  mol_jtok t;
  slot id = {0}, v[R_N];
  mol_jscan_init(&s, body, len);
  if (mol_jscan_next(&s, &t) != MOL_JT_OBJECT || read_envelope(&s, &id, v) != 0 ||
      mol_jscan_next(&s, &t) != MOL_JT_END || mol_jscan_saw_nul(&s))
    return 0; /* the text is invalid, deeper than the scanner goes, or holds a U+0000 */
  mol_a2a_result_kind kind;
  json_t *result = result_of(v, &kind);
  json_t *value = result ? id_of(&id) : NULL;
  if (!value) {
    json_decref(result);
    return 0;
  }
  memset(out, 0, sizeof(*out));
  out->id = value;
  out->kind = kind;
  out->result = result;
  return 1;
}
