/* scrub.h - removes credentials from text written to snapshots and memory.
 *
 * The rules and labels are upstream's (lib/snapshot_scrub.py), applied in the same order,
 * each match replaced by "[REDACTED:<LABEL>]", with two false positives fixed:
 *  - "sk-" must start a token: "task-management-dashboard" stays intact;
 *  - a BASE64_BLOB must mix upper case, lower case and digits and must not start with '/',
 *    so long file paths and identifiers stay intact;
 * and three false negatives closed with rules of their own, ahead of the blob rule:
 * Slack "xox?-" tokens, Google "AIza" keys and Stripe "sk_live_"/"rk_live_" keys.
 * Pure: no I/O, no global state.
 */
#ifndef MOL_RUNTIME_SCRUB_H
#define MOL_RUNTIME_SCRUB_H

#include <jansson.h>
#include <stddef.h>

/* Returns a newly allocated scrubbed copy of text (NULL only on allocation failure). */
char *mol_scrub_text(const char *text, size_t len);

/* True when a list item is sandbox output that snapshots drop entirely ("source=sandbox",
 * "tool=run_code", "[sandbox_output]", case-insensitive). */
int mol_scrub_is_sandbox(const char *text);

/* Returns a scrubbed deep copy of v: strings scrubbed, objects and arrays walked, sandbox
 * strings dropped from arrays. NULL on allocation failure. */
json_t *mol_scrub_json(const json_t *v);

#endif
