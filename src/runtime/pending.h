/* pending.h - replies awaited by message_id: the futures of the hermes plugin transport.
 *
 * Each entry is a completion waiting for a reply that arrives on another connection (the
 * reply-callback server). Entries are found in O(1) by message_id and each carries its own
 * deadline. An entry is resolved exactly once: by a final reply, its deadline, cancellation,
 * or the table closing; its callback then fires once with that outcome.
 *
 * Interim replies (an interrupt acknowledgement before the real answer) are delivered to the
 * entry's progress callback without resolving it. Replies for entries that are already gone
 * are remembered for an hour (bounded) by (message_id, sha256(content)), so a retried
 * delivery is recognised as a duplicate while a new orphan reply can still be relayed.
 */
#ifndef MOL_RUNTIME_PENDING_H
#define MOL_RUNTIME_PENDING_H

#include <stddef.h>
#include <uv.h>

typedef struct mol_pending mol_pending;

/* err: 0 with the reply text, or MOL_ETIMEDOUT, MOL_ECANCELED, MOL_ESHUTDOWN (text NULL). */
typedef void (*mol_pending_cb)(int err, const char *text, size_t len, void *arg);
/* An interim reply for a still-pending entry. */
typedef void (*mol_pending_progress_cb)(const char *text, size_t len, void *arg);

typedef struct {
  size_t max_entries;          /* 0 -> 100000; past it mol_pending_add returns MOL_ELIMIT */
  unsigned default_timeout_ms; /* 0 -> 600000 (600 s, upstream's plugin reply timeout) */
  size_t max_orphans;          /* remembered finished ids, 0 -> 2048 */
  unsigned orphan_ttl_ms;      /* 0 -> 3600000 */
} mol_pending_opts;

typedef enum {
  MOL_PENDING_RESOLVED = 0, /* a live entry took the reply */
  MOL_PENDING_INTERIM,      /* delivered to the progress callback; still pending */
  MOL_PENDING_DUPLICATE,    /* the same reply for a finished entry was seen before */
  MOL_PENDING_ORPHAN        /* no live entry, first time this reply is seen */
} mol_pending_outcome;

int mol_pending_new(uv_loop_t *loop, const mol_pending_opts *opts, mol_pending **out);

/* Registers message_id (copied; at most 128 bytes). timeout_ms 0 means the default. `origin`
 * is an opaque tag returned for orphans (e.g. canvas user vs peer). Returns 0, MOL_EEXIST
 * (already pending), MOL_ELIMIT, MOL_EINVAL, MOL_ESHUTDOWN or MOL_ENOMEM; on error cb never
 * fires. */
int mol_pending_add(mol_pending *p, const char *message_id, unsigned timeout_ms, int origin,
                    mol_pending_cb cb, mol_pending_progress_cb progress, void *arg);

/* Delivers a reply. Returns the outcome; for MOL_PENDING_ORPHAN, *origin (if non-NULL) is the
 * finished entry's origin tag, or -1 when the id was never seen. A final reply for a live
 * entry fires its callback (inside this call) and removes it. */
mol_pending_outcome mol_pending_deliver(mol_pending *p, const char *message_id,
                                        const char *text, size_t len, int final, int *origin);

/* Fails a live entry with MOL_ECANCELED. Returns 0 or MOL_ENOENT. */
int mol_pending_cancel(mol_pending *p, const char *message_id);

/* Number of live entries. */
size_t mol_pending_count(const mol_pending *p);

/* Fails every live entry with MOL_ESHUTDOWN, then frees the table once its timers have closed
 * and calls cb(arg) (never inside this call). */
void mol_pending_close(mol_pending *p, void (*cb)(void *arg), void *arg);

#endif
