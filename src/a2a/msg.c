/* msg.c - canonical messages held compactly or as jansson objects (msg.h). */
#include "a2a/msg.h"

#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/json.h"
#include "molecule.h"

struct mol_a2a_cmsg {
  unsigned refs;
  mol_a2a_role role;
  int compact;
  json_t *json;               /* wrapped: the message; compact: built on first use */
  char *id;                   /* compact: in tail */
  char *context_id, *task_id; /* compact: in tail, or owned when filled in later */
  char *ctx_slot, *task_slot; /* compact: room in tail for a UUID filled in later, or NULL */
  unsigned own_ctx : 1, own_task : 1;
  size_t n_parts;
  mol_a2a_text_span *parts;   /* compact: in tail */
  /* tail: parts[n_parts], then the strings */
};

/* ---- construction ------------------------------------------------------------------------- */

static size_t opt_len(const char *s) { return s && *s ? strlen(s) + 1 : 0; }

static char *put(char **cursor, const char *s, size_t n) {
  char *at = *cursor;
  memcpy(at, s, n);
  at[n] = '\0';
  *cursor += n + 1;
  return at;
}

mol_a2a_cmsg *mol_a2a_cmsg_new_text(mol_a2a_role role, const char *id, const char *context_id,
                                    const char *task_id, const mol_a2a_text_span *parts,
                                    size_t n) {
  char fresh[MOL_UUID_LEN + 1];
  if (!id || !*id) {
    if (mol_uuid4(fresh) != 0) return NULL;
    id = fresh;
  }
  /* A message without a task is about to get the task's ids (UUIDs): room for them now saves
   * two allocations per turn. */
  size_t slots = (opt_len(context_id) ? 0 : MOL_UUID_LEN + 1) + (opt_len(task_id) ? 0 : MOL_UUID_LEN + 1);
  size_t need = sizeof(mol_a2a_cmsg) + n * sizeof(mol_a2a_text_span) + strlen(id) + 1 +
                opt_len(context_id) + opt_len(task_id) + slots;
  for (size_t i = 0; i < n; i++) {
    if (!mol_json_utf8_valid(parts[i].text, parts[i].len)) return NULL;
    need += parts[i].len + 1;
  }
  mol_a2a_cmsg *m = malloc(need); /* not calloc: see base/zalloc.h; the rest is written */
  if (!m) return NULL;
  memset(m, 0, sizeof(*m));
  m->refs = 1;
  m->role = role;
  m->compact = 1;
  m->n_parts = n;
  m->parts = (mol_a2a_text_span *)(m + 1);
  char *cur = (char *)(m->parts + n);
  m->id = put(&cur, id, strlen(id));
  if (opt_len(context_id)) m->context_id = put(&cur, context_id, strlen(context_id));
  else m->ctx_slot = cur, cur += MOL_UUID_LEN + 1;
  if (opt_len(task_id)) m->task_id = put(&cur, task_id, strlen(task_id));
  else m->task_slot = cur, cur += MOL_UUID_LEN + 1;
  for (size_t i = 0; i < n; i++) {
    m->parts[i].text = put(&cur, parts[i].text, parts[i].len);
    m->parts[i].len = parts[i].len;
  }
  return m;
}

mol_a2a_cmsg *mol_a2a_cmsg_new_text1(mol_a2a_role role, const char *text) {
  mol_a2a_text_span span = {text, text ? strlen(text) : 0};
  return mol_a2a_cmsg_new_text(role, NULL, NULL, NULL, &span, text ? 1 : 0);
}

mol_a2a_cmsg *mol_a2a_cmsg_wrap(json_t *msg) {
  mol_a2a_cmsg *m = json_is_object(msg) ? calloc(1, sizeof(*m)) : NULL;
  if (!m) {
    json_decref(msg);
    return NULL;
  }
  m->refs = 1;
  m->json = msg;
  m->role = mol_a2a_msg_role(msg);
  return m;
}

mol_a2a_cmsg *mol_a2a_cmsg_ref(mol_a2a_cmsg *m) {
  if (m) m->refs++;
  return m;
}

void mol_a2a_cmsg_unref(mol_a2a_cmsg *m) {
  if (!m || --m->refs > 0) return;
  json_decref(m->json);
  if (m->own_ctx) free(m->context_id);
  if (m->own_task) free(m->task_id);
  free(m);
}

/* ---- reading ------------------------------------------------------------------------------ */

int mol_a2a_cmsg_is_compact(const mol_a2a_cmsg *m) { return m->compact; }
mol_a2a_role mol_a2a_cmsg_role(const mol_a2a_cmsg *m) { return m->role; }

const char *mol_a2a_cmsg_id(const mol_a2a_cmsg *m) {
  return m->compact ? m->id : mol_a2a_msg_id(m->json);
}
const char *mol_a2a_cmsg_context_id(const mol_a2a_cmsg *m) {
  return m->compact ? m->context_id : mol_a2a_msg_context_id(m->json);
}
const char *mol_a2a_cmsg_task_id(const mol_a2a_cmsg *m) {
  return m->compact ? m->task_id : mol_a2a_msg_task_id(m->json);
}
const json_t *mol_a2a_cmsg_metadata(const mol_a2a_cmsg *m) {
  if (m->compact) return NULL;
  json_t *meta = json_object_get(m->json, "metadata");
  return json_is_object(meta) ? meta : NULL;
}

const char *mol_a2a_cmsg_only_text(const mol_a2a_cmsg *m, size_t *len) {
  if (!m->compact || m->n_parts != 1) return NULL;
  *len = m->parts[0].len;
  return m->parts[0].text;
}

char *mol_a2a_cmsg_text(const mol_a2a_cmsg *m) {
  if (!m->compact) return mol_a2a_parts_text(m->json);
  size_t n = 0;
  for (size_t i = 0; i < m->n_parts; i++) n += m->parts[i].len;
  char *s = malloc(n + 1), *p = s;
  if (!s) return NULL;
  for (size_t i = 0; i < m->n_parts; i++) {
    memcpy(p, m->parts[i].text, m->parts[i].len);
    p += m->parts[i].len;
  }
  *p = '\0';
  return s;
}

/* The tree of a compact message, in the order mol_a2a_message_new + the task's ids give. */
static json_t *build_json(const mol_a2a_cmsg *m) {
  json_t *parts = json_array();
  json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "kind", "message", "messageId", m->id, "role",
                        mol_a2a_role_name(m->role, MOL_A2A_V03), "parts", parts);
  if (!o) return NULL;
  for (size_t i = 0; i < m->n_parts; i++) {
    json_t *p = json_pack("{s:s, s:s%}", "kind", "text", "text", m->parts[i].text,
                          m->parts[i].len);
    if (!p || json_array_append_new(parts, p) != 0) {
      json_decref(o);
      return NULL;
    }
  }
  if ((m->context_id && json_object_set_new(o, "contextId", json_string(m->context_id))) ||
      (m->task_id && json_object_set_new(o, "taskId", json_string(m->task_id)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

const json_t *mol_a2a_cmsg_json(const mol_a2a_cmsg *m) {
  mol_a2a_cmsg *w = (mol_a2a_cmsg *)m; /* a cache: the message itself does not change */
  if (!w->json) w->json = build_json(m);
  return w->json;
}

/* ---- ids ---------------------------------------------------------------------------------- */

/* Into the slot reserved at creation when the id fits, else a copy of its own. */
static char *fill_one(char *slot, const char *id, unsigned *owned) {
  size_t n = strlen(id);
  if (slot && n <= MOL_UUID_LEN) return memcpy(slot, id, n + 1);
  *owned = 1;
  return strdup(id);
}

static int fill_compact(mol_a2a_cmsg *m, const char *task_id, const char *context_id) {
  unsigned own = 0;
  if (!m->context_id && context_id) {
    if (!(m->context_id = fill_one(m->ctx_slot, context_id, &own))) return MOL_ENOMEM;
    m->own_ctx = own;
  }
  own = 0;
  if (!m->task_id && task_id) {
    if (!(m->task_id = fill_one(m->task_slot, task_id, &own))) return MOL_ENOMEM;
    m->own_task = own;
  }
  json_decref(m->json); /* a cached tree no longer matches: rebuilt when asked */
  m->json = NULL;
  return 0;
}

static int fill_json(json_t *o, const char *task_id, const char *context_id) {
  if (task_id && !json_object_get(o, "taskId") &&
      json_object_set_new(o, "taskId", json_string(task_id)))
    return MOL_ENOMEM;
  if (context_id && !json_object_get(o, "contextId") &&
      json_object_set_new(o, "contextId", json_string(context_id)))
    return MOL_ENOMEM;
  return 0;
}

static mol_a2a_cmsg *copy_with_ids(const mol_a2a_cmsg *m, const char *task_id,
                                   const char *context_id) {
  if (m->compact)
    return mol_a2a_cmsg_new_text(m->role, m->id, m->context_id ? m->context_id : context_id,
                                 m->task_id ? m->task_id : task_id, m->parts, m->n_parts);
  json_t *o = json_deep_copy(m->json);
  if (!o || fill_json(o, task_id, context_id)) {
    json_decref(o);
    return NULL;
  }
  return mol_a2a_cmsg_wrap(o);
}

mol_a2a_cmsg *mol_a2a_cmsg_fill_ids(mol_a2a_cmsg *m, const char *task_id,
                                    const char *context_id) {
  const char *t = mol_a2a_cmsg_task_id(m), *c = mol_a2a_cmsg_context_id(m);
  if ((t || !task_id) && (c || !context_id)) return m; /* nothing to add */
  int alone = m->refs == 1 && (m->compact || m->json->refcount == 1);
  if (alone) {
    int rc = m->compact ? fill_compact(m, task_id, context_id)
                        : fill_json(m->json, task_id, context_id);
    if (rc == 0) return m;
    mol_a2a_cmsg_unref(m);
    return NULL;
  }
  mol_a2a_cmsg *copy = copy_with_ids(m, task_id, context_id);
  mol_a2a_cmsg_unref(m);
  return copy;
}

/* ---- writing ------------------------------------------------------------------------------ */

#define LIT(b, s) mol_buf_append((b), (s), sizeof(s) - 1)

static int write_key_str(mol_buf *b, const char *key, const char *s) {
  return mol_buf_append_str(b, key) || mol_json_write_string(b, s, strlen(s));
}

static int write_compact(mol_buf *b, const mol_a2a_cmsg *m, mol_a2a_version v) {
  int v03 = v == MOL_A2A_V03;
  int rc = v03 ? LIT(b, "{\"kind\":\"message\",\"messageId\":") : LIT(b, "{\"messageId\":");
  rc = rc || mol_json_write_string(b, m->id, strlen(m->id)) ||
       write_key_str(b, ",\"role\":", mol_a2a_role_name(m->role, v)) || LIT(b, ",\"parts\":[");
  for (size_t i = 0; !rc && i < m->n_parts; i++)
    rc = (i && LIT(b, ",")) ||
         (v03 ? LIT(b, "{\"kind\":\"text\",\"text\":") : LIT(b, "{\"text\":")) ||
         mol_json_write_string(b, m->parts[i].text, m->parts[i].len) || LIT(b, "}");
  rc = rc || LIT(b, "]");
  if (!rc && m->context_id) rc = write_key_str(b, ",\"contextId\":", m->context_id);
  if (!rc && m->task_id) rc = write_key_str(b, ",\"taskId\":", m->task_id);
  return rc || LIT(b, "}");
}

int mol_a2a_cmsg_write(mol_buf *b, const mol_a2a_cmsg *m, mol_a2a_version v) {
  size_t mark = b->len;
  int rc;
  if (m->compact) {
    rc = write_compact(b, m, v);
  } else {
    json_t *w = mol_a2a_message_to_wire(m->json, v);
    rc = w ? mol_json_write(b, w) : MOL_ENOMEM;
    json_decref(w);
  }
  if (rc) {
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
    return MOL_ENOMEM;
  }
  return 0;
}
