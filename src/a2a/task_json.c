/* task_json.c - a task and its events in the wire shape of v0.3 or v1.0: as trees
 * (mol_a2a_task_to_json, mol_a2a_event_to_json), and written straight into a buffer without a
 * tree, for replies and stream events (mol_a2a_task_write_wire, mol_a2a_event_write) and for a
 * durable store (mol_a2a_task_write). The writers give the same bytes the trees serialise to;
 * test_a2a_fast_paths checks it. */
#include <string.h>

#include "a2a/task_int.h"
#include "base/buf.h"
#include "base/json.h"
#include "molecule.h"

/* A message in wire shape, built for this answer only. A compact message is written and read
 * back rather than asked for its canonical tree: the message would keep that tree (some 1.5 KB)
 * for as long as the task is stored, several times what the task holds otherwise. */
static json_t *message_to_wire(const mol_a2a_cmsg *m, mol_a2a_version v) {
  if (!mol_a2a_cmsg_is_compact(m)) {
    const json_t *canonical = mol_a2a_cmsg_json(m);
    return canonical ? mol_a2a_message_to_wire(canonical, v) : NULL;
  }
  mol_buf b = MOL_BUF_INIT;
  json_t *w = mol_a2a_cmsg_write(&b, m, v) == 0 ? json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL)
                                                : NULL;
  mol_buf_free(&b);
  return w;
}

/* The last n messages of the history, chronological (n < 0: all). */
static json_t *history_to_wire(const mol_a2a_task *t, mol_a2a_version v, int n) {
  size_t total = t->history_len;
  size_t from = (n >= 0 && (size_t)n < total) ? total - (size_t)n : 0;
  json_t *out = json_array();
  for (size_t i = from; out && i < total; i++) {
    json_t *w = message_to_wire(t->history[i], v);
    if (!w || json_array_append_new(out, w) != 0) {
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

static json_t *artifacts_to_wire(const json_t *artifacts, mol_a2a_version v) {
  json_t *out = json_array();
  size_t i;
  json_t *a;
  json_array_foreach(artifacts, i, a) {
    json_t *w = mol_a2a_artifact_to_wire(a, v);
    if (!w || json_array_append_new(out, w) != 0) {
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

static int set_new(json_t *o, const char *key, json_t *v) {
  return v ? json_object_set_new(o, key, v) : -1;
}

static json_t *status_json(mol_a2a_task_state state, const mol_a2a_cmsg *msg, const char *ts,
                           mol_a2a_version v) {
  json_t *o = mol_a2a_status_to_wire(state, NULL, ts, v);
  if (!o || !msg) return o;
  json_t *w = message_to_wire(msg, v);
  if (!w || json_object_set_new(o, "message", w) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *mol_a2a_task_to_json(const mol_a2a_task *t, mol_a2a_version v, int history_length) {
  json_t *o = json_object();
  if (!o) return NULL;
  int rc = 0;
  if (v == MOL_A2A_V03) rc |= json_object_set_new(o, "kind", json_string("task"));
  rc |= json_object_set_new(o, "id", json_string(t->id));
  rc |= json_object_set_new(o, "contextId", json_string(t->context_id));
  rc |= set_new(o, "status", status_json(t->state, t->status_msg, t->timestamp, v));
  if (history_length != 0 && t->history_len > 0)
    rc |= set_new(o, "history", history_to_wire(t, v, history_length));
  if (json_array_size(t->artifacts) > 0)
    rc |= set_new(o, "artifacts", artifacts_to_wire(t->artifacts, v));
  if (t->metadata) rc |= json_object_set_new(o, "metadata", json_deep_copy(t->metadata));
  if (rc != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *status_event_json(const mol_a2a_event *ev, mol_a2a_version v) {
  json_t *o = json_object();
  int rc = 0;
  if (v == MOL_A2A_V03) rc |= json_object_set_new(o, "kind", json_string("status-update"));
  rc |= json_object_set_new(o, "taskId", json_string(ev->task_id));
  rc |= json_object_set_new(o, "contextId", json_string(ev->context_id));
  rc |= set_new(o, "status", status_json(ev->state, ev->status_message, ev->timestamp, v));
  /* v1.0 removed `final`: the stream simply ends at a terminal or interrupted state. */
  if (v == MOL_A2A_V03) rc |= json_object_set_new(o, "final", json_boolean(ev->final));
  if (rc != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *artifact_event_json(const mol_a2a_event *ev, mol_a2a_version v) {
  json_t *o = json_object();
  int rc = 0;
  if (v == MOL_A2A_V03) rc |= json_object_set_new(o, "kind", json_string("artifact-update"));
  rc |= json_object_set_new(o, "taskId", json_string(ev->task_id));
  rc |= json_object_set_new(o, "contextId", json_string(ev->context_id));
  rc |= set_new(o, "artifact", mol_a2a_artifact_to_wire(ev->artifact, v));
  rc |= json_object_set_new(o, "append", json_boolean(ev->append));
  rc |= json_object_set_new(o, "lastChunk", json_boolean(ev->last_chunk));
  if (rc != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *mol_a2a_event_to_json(const mol_a2a_event *ev, mol_a2a_version v) {
  json_t *o = NULL;
  if (ev->kind == MOL_A2A_EV_STATUS) o = status_event_json(ev, v);
  else if (ev->kind == MOL_A2A_EV_ARTIFACT) o = artifact_event_json(ev, v);
  if (o && ev->metadata) json_object_set_new(o, "metadata", json_deep_copy(ev->metadata));
  return o;
}

/* ---- straight into a buffer (a durable store's row) -------------------------------------- */

#define LIT(b, s) mol_buf_append((b), (s), sizeof(s) - 1)

static int write_str(mol_buf *b, const char *s) { return mol_json_write_string(b, s, strlen(s)); }

/* v0.3 is the canonical shape: artifacts and metadata are written as they are held. */
static int write_artifacts(mol_buf *b, const json_t *artifacts) {
  int rc = LIT(b, ",\"artifacts\":[");
  size_t i;
  json_t *a;
  json_array_foreach(artifacts, i, a) {
    json_t *w = rc ? NULL : mol_a2a_artifact_to_wire(a, MOL_A2A_V03);
    rc = rc || !w || (i && LIT(b, ",")) || mol_json_write(b, w);
    json_decref(w);
  }
  return rc || LIT(b, "]");
}

int mol_a2a_task_write(mol_buf *b, const mol_a2a_task *t) {
  size_t mark = b->len;
  int rc = LIT(b, "{\"kind\":\"task\",\"id\":") || write_str(b, t->id) ||
           LIT(b, ",\"contextId\":") || write_str(b, t->context_id) ||
           LIT(b, ",\"status\":{\"state\":") ||
           write_str(b, mol_a2a_state_name(t->state, MOL_A2A_V03));
  if (!rc && t->status_msg)
    rc = LIT(b, ",\"message\":") || mol_a2a_cmsg_write(b, t->status_msg, MOL_A2A_V03);
  rc = rc || LIT(b, ",\"timestamp\":") || write_str(b, t->timestamp) || LIT(b, "}");
  if (!rc && t->history_len) {
    rc = LIT(b, ",\"history\":[");
    for (size_t i = 0; !rc && i < t->history_len; i++)
      rc = (i && LIT(b, ",")) || mol_a2a_cmsg_write(b, t->history[i], MOL_A2A_V03);
    rc = rc || LIT(b, "]");
  }
  if (!rc && json_array_size(t->artifacts)) rc = write_artifacts(b, t->artifacts);
  if (!rc && t->metadata) rc = LIT(b, ",\"metadata\":") || mol_json_write(b, t->metadata);
  rc = rc || LIT(b, "}");
  if (rc) {
    b->len = mark;
    return MOL_ENOMEM;
  }
  return 0;
}

/* ---- straight into a buffer, either version (replies and stream events) ---------------- */

/* The same bytes as status_json: state, the timestamp when there is one, then the message. */
static int write_status(mol_buf *b, mol_a2a_task_state state, const mol_a2a_cmsg *msg,
                        const char *ts, mol_a2a_version v) {
  int rc = LIT(b, "{\"state\":") || write_str(b, mol_a2a_state_name(state, v));
  if (!rc && ts && *ts) rc = LIT(b, ",\"timestamp\":") || write_str(b, ts);
  if (!rc && msg) rc = LIT(b, ",\"message\":") || mol_a2a_cmsg_write(b, msg, v);
  return rc || LIT(b, "}");
}

/* v0.3 is the canonical shape, written as held; v1.0 renames the parts (rare: built). */
static int write_artifact(mol_buf *b, const json_t *a, mol_a2a_version v) {
  if (v == MOL_A2A_V03) return mol_json_write(b, a);
  json_t *w = mol_a2a_artifact_to_wire(a, v);
  int rc = w ? mol_json_write(b, w) : MOL_ENOMEM;
  json_decref(w);
  return rc;
}

static int write_history(mol_buf *b, const mol_a2a_task *t, mol_a2a_version v, int n) {
  size_t total = t->history_len;
  size_t from = (n >= 0 && (size_t)n < total) ? total - (size_t)n : 0;
  int rc = LIT(b, ",\"history\":[");
  for (size_t i = from; !rc && i < total; i++)
    rc = (i > from && LIT(b, ",")) || mol_a2a_cmsg_write(b, t->history[i], v);
  return rc || LIT(b, "]");
}

/* Leaves b as it was when rc says the write failed. */
static int settle(mol_buf *b, size_t mark, int rc) {
  if (!rc) return 0;
  b->len = mark;
  if (b->data) b->data[mark] = '\0';
  return MOL_ENOMEM;
}

int mol_a2a_task_write_wire(mol_buf *b, const mol_a2a_task *t, mol_a2a_version v,
                            int history_length, int with_artifacts) {
  size_t mark = b->len;
  int rc = (v == MOL_A2A_V03 ? LIT(b, "{\"kind\":\"task\",\"id\":") : LIT(b, "{\"id\":")) ||
           write_str(b, t->id) || LIT(b, ",\"contextId\":") || write_str(b, t->context_id) ||
           LIT(b, ",\"status\":") || write_status(b, t->state, t->status_msg, t->timestamp, v);
  if (!rc && history_length != 0 && t->history_len > 0)
    rc = write_history(b, t, v, history_length);
  if (!rc && with_artifacts && json_array_size(t->artifacts) > 0) {
    rc = LIT(b, ",\"artifacts\":[");
    for (size_t i = 0; !rc && i < json_array_size(t->artifacts); i++)
      rc = (i && LIT(b, ",")) || write_artifact(b, json_array_get(t->artifacts, i), v);
    rc = rc || LIT(b, "]");
  }
  if (!rc && t->metadata) rc = LIT(b, ",\"metadata\":") || mol_json_write(b, t->metadata);
  return settle(b, mark, rc || LIT(b, "}"));
}

#define BOOL(b, key, on) ((on) ? LIT(b, key "true") : LIT(b, key "false"))

int mol_a2a_event_write(mol_buf *b, const mol_a2a_event *ev, mol_a2a_version v) {
  int v03 = v == MOL_A2A_V03;
  if ((ev->kind != MOL_A2A_EV_STATUS && ev->kind != MOL_A2A_EV_ARTIFACT) || !ev->task_id ||
      !ev->context_id || (ev->kind == MOL_A2A_EV_ARTIFACT && !ev->artifact))
    return MOL_EINVAL; /* what the tree would not have either */
  size_t mark = b->len;
  int rc;
  if (ev->kind == MOL_A2A_EV_STATUS) {
    rc = (v03 ? LIT(b, "{\"kind\":\"status-update\",\"taskId\":") : LIT(b, "{\"taskId\":")) ||
         write_str(b, ev->task_id) || LIT(b, ",\"contextId\":") || write_str(b, ev->context_id) ||
         LIT(b, ",\"status\":") ||
         write_status(b, ev->state, ev->status_message, ev->timestamp, v) ||
         (v03 && BOOL(b, ",\"final\":", ev->final));
  } else {
    rc = (v03 ? LIT(b, "{\"kind\":\"artifact-update\",\"taskId\":") : LIT(b, "{\"taskId\":")) ||
         write_str(b, ev->task_id) || LIT(b, ",\"contextId\":") || write_str(b, ev->context_id) ||
         LIT(b, ",\"artifact\":") || write_artifact(b, ev->artifact, v) ||
         BOOL(b, ",\"append\":", ev->append) || BOOL(b, ",\"lastChunk\":", ev->last_chunk);
  }
  if (!rc && ev->metadata) rc = LIT(b, ",\"metadata\":") || mol_json_write(b, ev->metadata);
  return settle(b, mark, rc || LIT(b, "}"));
}
