/* adapter.h - what an agent runtime declares about itself, and its small state hooks.
 *
 *  - capabilities: the seven wire flags sent in every heartbeat's runtime_metadata;
 *  - the idle-timeout override (seconds; sent only when positive);
 *  - a bounded transcript ring served as transcript_lines(since, limit);
 *  - append_to_memory with one marker per block carrying a content hash, so a changed
 *    plugin replaces its block instead of being skipped forever (upstream's defect), and
 *    uninstall removes whole blocks rather than only their header lines.
 */
#ifndef MOL_RUNTIME_ADAPTER_H
#define MOL_RUNTIME_ADAPTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  unsigned heartbeat : 1;
  unsigned scheduler : 1;
  unsigned session : 1;
  unsigned status_mgmt : 1;
  unsigned retry : 1;
  unsigned activity_decoration : 1;
  unsigned channel_dispatch : 1;
} mol_capabilities;

/* {"heartbeat":false,"scheduler":false,"session":true,...}: all seven keys, always. */
json_t *mol_capabilities_json(const mol_capabilities *c);

/* runtime_metadata for a heartbeat: {"capabilities":{…}} plus "idle_timeout_seconds" only
 * when idle_timeout_s > 0 (absence tells the platform to clear its override). */
json_t *mol_runtime_metadata(const mol_capabilities *c, int idle_timeout_s);

/* ---- transcript ring ---------------------------------------------------------------------- */

typedef struct mol_transcript mol_transcript;

/* A ring of at most `cap` lines (0 -> 1000). Line numbers (cursors) count from 0 and keep
 * growing; old lines fall off the front. */
mol_transcript *mol_transcript_new(size_t cap);
void mol_transcript_free(mol_transcript *t);
int mol_transcript_append(mol_transcript *t, const char *line);
/* The upstream result shape: {"runtime","supported":true,"lines":[…],"cursor":N,"more":bool,
 * "source":"ring"}. `since` older than the oldest kept line starts at the oldest; limit 0 ->
 * 100, capped at 1000. */
json_t *mol_transcript_lines(const mol_transcript *t, const char *runtime, uint64_t since,
                             size_t limit);
/* The last n lines as a JSON array of strings (for snapshots). */
json_t *mol_transcript_tail(const mol_transcript *t, size_t n);

/* ---- memory file -------------------------------------------------------------------------- */

/* Adds or replaces the block `label` ("rule: style.md") of plugin `plugin` in the memory file
 * at path. The block starts with "# Plugin: <plugin> / <label> sha256:<hex of content>" and
 * ends with "<!-- end plugin: <plugin> / <label> -->". Same hash present: nothing is written
 * (idempotent). Returns 1 if the file changed, 0 if not, or a negative errno. */
int mol_memory_put_block(const char *path, const char *plugin, const char *label,
                         const char *content);
/* Removes every block of `plugin`. Returns the number of blocks removed or a negative errno. */
int mol_memory_remove_plugin(const char *path, const char *plugin);

#endif
