/* snapshot.h - the pre-stop snapshot file (upstream lib/pre_stop.py format).
 *
 * Same field names as upstream so files stay interchangeable, plus "schema_version":
 *   {"schema_version":1, "workspace_id":"…", "timestamp":"2026-…+00:00", "current_task":"…",
 *    "active_tasks":0, "uptime_seconds":12, "session_id":"…", "adapter":{…}}
 * Differences from upstream, on purpose: the file is written atomically (temp file in the
 * same directory, fsync, rename) with mode 0600; restore reads the nested "adapter" object
 * (falling back to top-level keys of old files) and runs before the executor is created;
 * a restored snapshot is deleted so a stale one is not restored again on every boot.
 * These are blocking file operations on a small file: call them from uv_queue_work when the
 * loop must not stall.
 */
#ifndef MOL_RUNTIME_SNAPSHOT_H
#define MOL_RUNTIME_SNAPSHOT_H

#include <jansson.h>

#define MOL_SNAPSHOT_SCHEMA 1
#define MOL_SNAPSHOT_MAX_TRANSCRIPT 200
#define MOL_SNAPSHOT_DEFAULT_PATH "/configs/.agent_snapshot.json"

typedef struct {
  const char *workspace_id;   /* NULL -> "unknown" */
  const char *current_task;
  int active_tasks;
  long long uptime_seconds;   /* < 0 -> omitted */
  json_t *adapter;            /* the adapter's pre_stop_state (borrowed), may be NULL */
} mol_snapshot;

/* Scrubs (runtime/scrub.h), trims adapter.transcript_lines to the last 200 and writes the
 * snapshot atomically. Returns 0 or a negative errno. */
int mol_snapshot_write(const char *path, const mol_snapshot *s);

/* Reads a snapshot. Returns NULL for a missing or invalid file. */
json_t *mol_snapshot_read(const char *path);

/* The adapter state to restore: the nested "adapter" object, or for files written by older
 * upstream versions an object made of the top-level session_id / transcript_lines. Returns
 * a new reference, or NULL when there is nothing to restore. */
json_t *mol_snapshot_adapter_state(const json_t *snapshot);

/* Removes the file; a missing file is not an error. Returns 0 or a negative errno. */
int mol_snapshot_delete(const char *path);

#endif
