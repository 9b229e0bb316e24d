/* snapshot.c - the pre-stop snapshot file. */
#include "runtime/snapshot.h"

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/file.h"
#include "runtime/scrub.h"

/* Upstream's datetime.isoformat(): microseconds and an explicit +00:00. */
static void iso_now(char *out, size_t n) { mol_iso8601_now(6, "+00:00", out, n); }

static void trim_transcript(json_t *adapter) {
  json_t *lines = json_object_get(adapter, "transcript_lines");
  if (!json_is_array(lines)) return;
  while (json_array_size(lines) > MOL_SNAPSHOT_MAX_TRANSCRIPT) json_array_remove(lines, 0);
}

static json_t *build(const mol_snapshot *s) {
  char ts[64];
  iso_now(ts, sizeof(ts));
  json_t *o = json_object();
  json_object_set_new(o, "schema_version", json_integer(MOL_SNAPSHOT_SCHEMA));
  json_object_set_new(o, "workspace_id", json_string(s->workspace_id ? s->workspace_id : "unknown"));
  json_object_set_new(o, "timestamp", json_string(ts));
  json_object_set_new(o, "current_task", json_string(s->current_task ? s->current_task : ""));
  json_object_set_new(o, "active_tasks", json_integer(s->active_tasks));
  if (s->uptime_seconds >= 0) json_object_set_new(o, "uptime_seconds", json_integer(s->uptime_seconds));
  json_t *adapter = s->adapter ? json_deep_copy(s->adapter) : json_object();
  if (!json_is_string(json_object_get(adapter, "session_id")))
    json_object_set_new(o, "session_id", json_string(""));
  trim_transcript(adapter);
  json_object_set_new(o, "adapter", adapter);
  json_t *scrubbed = mol_scrub_json(o);
  json_decref(o);
  return scrubbed;
}

int mol_snapshot_write(const char *path, const mol_snapshot *s) {
  json_t *o = build(s);
  char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  if (!text) return -ENOMEM;
  int rc = mol_write_file_atomic(path, text, strlen(text), 0600);
  free(text);
  return rc;
}

json_t *mol_snapshot_read(const char *path) {
  json_error_t e;
  json_t *o = json_load_file(path, 0, &e);
  if (o && !json_is_object(o)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *mol_snapshot_adapter_state(const json_t *snap) {
  json_t *adapter = json_object_get(snap, "adapter");
  if (json_is_object(adapter)) return json_incref(adapter);
  json_t *sid = json_object_get(snap, "session_id"), *lines = json_object_get(snap, "transcript_lines");
  if (!(json_is_string(sid) && json_string_length(sid)) && !json_is_array(lines)) return NULL;
  json_t *o = json_object();
  if (json_is_string(sid)) json_object_set(o, "session_id", sid);
  if (json_is_array(lines)) json_object_set(o, "transcript_lines", lines);
  return o;
}

int mol_snapshot_delete(const char *path) {
  if (unlink(path) < 0 && errno != ENOENT) return -errno;
  return 0;
}
