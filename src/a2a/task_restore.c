/* task_restore.c - puts a saved task back into a store (mol_a2a_store_restore): the other half
 * of a durable store, which saves each task as mol_a2a_task_to_json writes it (v0.3 shape).
 * I/O-free like the rest of the engine: the caller reads the bytes, this rebuilds the task.
 *
 * Messages that were compact when saved (a role, ids and text parts) come back compact, so a
 * restored task costs what it cost before the restart, and the store's memory budget holds the
 * same number of them. */
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "a2a/task_int.h"
#include "base/clock.h"
#include "molecule.h"

/* 1 when the canonical message has nothing a compact one cannot say. */
static int compactable(const json_t *m) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)m, key, v) {
    if (strcmp(key, "kind") && strcmp(key, "messageId") && strcmp(key, "role") &&
        strcmp(key, "parts") && strcmp(key, "contextId") && strcmp(key, "taskId"))
      return 0;
  }
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(m, "parts"), i, p) {
    if (json_object_size(p) != 2 || !json_is_string(json_object_get(p, "text"))) return 0;
  }
  return json_array_size(json_object_get(m, "parts")) <= 64;
}

static mol_a2a_cmsg *compact(const json_t *m) {
  mol_a2a_text_span spans[64];
  size_t i, n = json_array_size(json_object_get(m, "parts"));
  json_t *p;
  json_array_foreach(json_object_get(m, "parts"), i, p) {
    json_t *text = json_object_get(p, "text");
    spans[i] = (mol_a2a_text_span){json_string_value(text), json_string_length(text)};
  }
  return mol_a2a_cmsg_new_text(mol_a2a_msg_role(m), mol_a2a_msg_id(m), mol_a2a_msg_context_id(m),
                               mol_a2a_msg_task_id(m), spans, n);
}

/* A saved wire message as the engine holds it: NULL (with err) when it is not one. */
static mol_a2a_cmsg *message_back(const json_t *wire, int *rc, mol_a2a_error *err) {
  json_t *canonical = NULL;
  if (mol_a2a_message_from_wire(wire, MOL_A2A_V03, &canonical, err) != 0) {
    *rc = MOL_EINVAL;
    return NULL;
  }
  mol_a2a_cmsg *m = compactable(canonical) ? compact(canonical) : NULL;
  if (m) json_decref(canonical);
  else m = mol_a2a_cmsg_wrap(canonical); /* takes the reference */
  if (!m) *rc = MOL_ENOMEM;
  return m;
}

static int status_back(mol_a2a_task *t, const json_t *status, mol_a2a_error *err) {
  const char *state = json_string_value(json_object_get(status, "state"));
  const char *ts = json_string_value(json_object_get(status, "timestamp"));
  int64_t ms;
  if (!state || mol_a2a_state_parse(state, &t->state) != 0 || !ts ||
      strlen(ts) >= sizeof(t->timestamp) || mol_rfc3339_parse(ts, &ms) != 0)
    return mol_a2a_error_set(err, MOL_A2A_INVALID_PARAMS, "saved task has no valid status");
  memcpy(t->timestamp, ts, strlen(ts) + 1);
  const json_t *msg = json_object_get(status, "message");
  int rc = 0;
  if (msg && !(t->status_msg = message_back(msg, &rc, err))) return rc;
  return 0;
}

static int history_back(mol_a2a_task *t, const json_t *history, mol_a2a_error *err) {
  size_t i, n = json_array_size(history);
  json_t *w;
  if (!n) return 0;
  if (!(t->history = calloc(n, sizeof(*t->history)))) return MOL_ENOMEM;
  t->history_cap = n;
  json_array_foreach(history, i, w) {
    int rc = 0;
    if (!(t->history[t->history_len] = message_back(w, &rc, err))) return rc;
    t->history_len++;
  }
  return 0;
}

static int artifacts_back(mol_a2a_task *t, const json_t *artifacts, mol_a2a_error *err) {
  size_t i;
  json_t *w;
  if (!json_array_size(artifacts)) return 0;
  if (!(t->artifacts = json_array())) return MOL_ENOMEM;
  json_array_foreach(artifacts, i, w) {
    json_t *a = NULL;
    if (mol_a2a_artifact_from_wire(w, MOL_A2A_V03, &a, err) != 0) return MOL_EINVAL;
    if (json_array_append_new(t->artifacts, a) != 0) return MOL_ENOMEM;
  }
  return 0;
}

static int task_back(mol_a2a_task *t, const json_t *task, mol_a2a_error *err) {
  int rc = status_back(t, json_object_get(task, "status"), err);
  if (!rc) rc = history_back(t, json_object_get(task, "history"), err);
  if (!rc) rc = artifacts_back(t, json_object_get(task, "artifacts"), err);
  const json_t *md = json_object_get(task, "metadata");
  if (!rc && json_is_object(md) && !(t->metadata = json_deep_copy(md))) rc = MOL_ENOMEM;
  return rc;
}

int mol_a2a_store_restore(mol_a2a_store *s, const json_t *task, int64_t ended_ms,
                          mol_a2a_task **out, mol_a2a_error *err) {
  const char *id = json_string_value(json_object_get(task, "id"));
  const char *ctx = json_string_value(json_object_get(task, "contextId"));
  if (!id || !ctx || !*id || !*ctx)
    return mol_a2a_error_set(err, MOL_A2A_INVALID_PARAMS, "saved task has no id or contextId");
  if (mol_a2a_store_get(s, id)) return MOL_EEXIST;
  mol_a2a_task *t = mol_a2a__task_alloc(s, id, ctx);
  if (!t) return MOL_ENOMEM;
  int rc = task_back(t, task, err);
  if (!rc) rc = mol_a2a__store_link(s, t);
  if (rc) {
    mol_a2a__task_free(t);
    return rc;
  }
  if (mol_a2a_state_is_terminal(t->state)) {
    t->ended_ms = ended_ms;
    DL_APPEND2(s->terminal, t, term_prev, term_next);
  }
  *out = t;
  return 0;
}
