/* task.h - the A2A task engine: task objects, their state machine, a bounded store, listeners
 * and cancellation. I/O-free: no libuv handle, no clock read except through the store's
 * injected clock, so the server binding drives it from its callbacks and timers and the tests
 * drive it directly.
 *
 * Lifetime. Tasks belong to their store. A task is in use while anything holds it (a live
 * turn: mol_a2a_task_hold), listens to it, or is having events delivered; a task in use is
 * never freed. Only a terminal task that is not in use is ever evicted, and only inside
 * mol_a2a_store_create / mol_a2a_store_begin (room for a new task), mol_a2a_store_sweep (TTL)
 * and mol_a2a_store_remove. So a pointer stays valid while its holder holds the task; across
 * loop iterations anyone else keeps the task id and looks it up again. mol_a2a_store_free
 * frees every task: its owner ends every turn first (the server binding waits for them).
 *
 * Events. Every status change and every artifact update is delivered, in order, to each
 * listener registered on the task. A status event whose state is terminal or interrupted
 * (input-required, auth-required) has final = 1: it is the last event a listener receives, and
 * the engine drops every listener after it (an SSE stream ends there). Events
 * raised from inside a listener are queued and delivered after the current one, so all
 * listeners see the same order. mol_a2a_store_free delivers a final MOL_A2A_EV_CLOSED event to
 * listeners of live tasks, so every listener hears exactly one final event. */
#ifndef MOL_A2A_TASK_H
#define MOL_A2A_TASK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "a2a/model.h"
#include "a2a/msg.h"

/* Engine errors (negative MOL_* codes). */
#define MOL_A2A_ETERMINAL MOL_EPROTO /* the task is terminal: it cannot change any more */
#define MOL_A2A_EILLEGAL  MOL_EINVAL /* the state transition is not allowed */

typedef struct mol_a2a_task mol_a2a_task;
typedef struct mol_a2a_store mol_a2a_store;
typedef struct mol_a2a_listener mol_a2a_listener;
typedef struct mol_a2a_hold mol_a2a_hold;

typedef enum {
  MOL_A2A_EV_STATUS = 1, /* TaskStatusUpdateEvent */
  MOL_A2A_EV_ARTIFACT,   /* TaskArtifactUpdateEvent */
  MOL_A2A_EV_CLOSED      /* the store is going away; no JSON form (final = 1) */
} mol_a2a_event_kind;

/* One event, borrowed for the duration of the listener call. */
typedef struct {
  mol_a2a_event_kind kind;
  const char *task_id;
  const char *context_id;
  int final;                    /* the last event this listener will receive */
  /* MOL_A2A_EV_STATUS */
  mol_a2a_task_state state;
  const mol_a2a_cmsg *status_message; /* or NULL (mol_a2a_cmsg_json for its JSON) */
  const char *timestamp;        /* ISO-8601 */
  /* MOL_A2A_EV_ARTIFACT: the chunk as sent (not the accumulated artifact) */
  const json_t *artifact;
  int append;
  int last_chunk;
  const json_t *metadata;       /* event metadata or NULL */
} mol_a2a_event;

typedef void (*mol_a2a_listener_fn)(mol_a2a_task *task, const mol_a2a_event *ev, void *arg);
/* Asks a holder (a live turn) to stop. Called at most once per hold; the holder later ends its
 * work on the task (a turn ends canceled), possibly from inside the call. */
typedef void (*mol_a2a_cancel_fn)(mol_a2a_task *task, void *arg);
/* Wall-clock milliseconds since the Unix epoch. */
typedef int64_t (*mol_a2a_clock_fn)(void *arg);

/* The store is bounded by memory: max_bytes is a budget for what its tasks hold (their
 * messages, artifacts and bookkeeping, as mol_a2a_store_stats counts it). Creating a task past
 * the budget (or past max_tasks, when set) evicts terminal tasks, the one that ended first
 * first; when none is evictable the new task is refused (MOL_ELIMIT). */
typedef struct {
  size_t max_bytes;           /* memory budget; 0 = 64 MiB (MOL_A2A_STORE_DEFAULT_BYTES) */
  size_t max_tasks;           /* a cap on the number of tasks as well; 0 = none */
  int64_t terminal_ttl_ms;    /* how long a terminal task stays readable at most; 0 = 1 hour */
  size_t max_history;         /* messages kept per task, oldest dropped first; 0 = 256 */
  size_t max_listeners;       /* per task; 0 = 64 */
  mol_a2a_clock_fn clock;     /* NULL = mol_unix_ms */
  void *clock_arg;
  size_t max_push_per_task;   /* push-notification configs per task (push.h); 0 = 8 */
  size_t max_push_configs;    /* in the whole store; 0 = 10000 */
  /* Called for each event of a task that has push configs, after its listeners (push.h); a
   * task without configs never reaches it. NULL = none. */
  mol_a2a_listener_fn push_observer;
  void *push_observer_arg;
  /* Called whenever what a task holds changes (created, a status, an artifact, a history
   * message, metadata) and when it leaves the store (evicted, expired, removed): always
   * before any listener hears of the change, so a durable store (src/a2a_uv/durable.c) marks
   * the task dirty before a reply can report it. Called with the task still whole; the
   * journal keeps its id, not the pointer. NULL = none (the in-memory store). */
  void (*journal)(const mol_a2a_task *t, void *arg);
  void *journal_arg;
  /* Several stores behind one port (one per worker loop, `molecule serve --workers N`): with
   * tag_ids set, every new task id is a UUID whose first two hex digits are id_tag, so that any
   * worker can tell from an id alone which worker owns the task. 0 = plain UUIDs. */
  int tag_ids;
  unsigned char id_tag;
} mol_a2a_store_opts;

#define MOL_A2A_STORE_DEFAULT_BYTES ((size_t)64 << 20)

/* What a live turn keeps on its task (embedded in the turn: no allocation). */
struct mol_a2a_hold {
  mol_a2a_cancel_fn cancel; /* NULL once called or disarmed */
  void *arg;
  struct mol_a2a_hold *prev, *next; /* the task's armed holds */
  mol_a2a_task *task;       /* NULL once released */
};

/* ---- state machine --------------------------------------------------------------------- */

/* 1 when a task in `from` may move to `to`. Terminal states allow nothing; submitted may go
 * anywhere but back to submitted; working may repeat (progress updates) but not be rejected;
 * interrupted states resume to working or end. */
int mol_a2a_state_can_transition(mol_a2a_task_state from, mol_a2a_task_state to);

/* ---- store ----------------------------------------------------------------------------- */

/* opts may be NULL for the defaults. Returns 0, MOL_ENOMEM. */
int mol_a2a_store_new(const mol_a2a_store_opts *opts, mol_a2a_store **out);
/* Frees every task; live tasks' listeners receive MOL_A2A_EV_CLOSED first. */
void mol_a2a_store_free(mol_a2a_store *s);
size_t mol_a2a_store_count(const mol_a2a_store *s);

typedef struct {
  size_t tasks;                /* tasks stored */
  size_t bytes;                /* what they hold, as charged against max_bytes */
  unsigned long long evicted;  /* terminal tasks evicted to make room (budget or max_tasks) */
  unsigned long long expired;  /* terminal tasks dropped by the TTL sweep */
} mol_a2a_store_stats;
void mol_a2a_store_stats_get(const mol_a2a_store *s, mol_a2a_store_stats *out);
/* O(1) lookup; NULL when unknown (or evicted). */
mol_a2a_task *mol_a2a_store_get(mol_a2a_store *s, const char *task_id);
/* Creates a task in `submitted` with a fresh UUID id. context_id NULL = a fresh UUID. When the
 * store is full (budget or max_tasks) terminal tasks are evicted, the one that ended first
 * first, skipping any in use; when nothing can go it fails with MOL_ELIMIT.
 * Returns 0, MOL_ELIMIT or MOL_ENOMEM. */
int mol_a2a_store_create(mol_a2a_store *s, const char *context_id, mol_a2a_task **out);
/* Removes a terminal task at once, e.g. one whose id no client has seen. Returns 0, or
 * MOL_EBUSY (live or in use: held, listened to or delivering events; it stays). */
int mol_a2a_store_remove(mol_a2a_store *s, mol_a2a_task *t);
/* Evicts the terminal tasks whose TTL has run out at now_ms (same time base as the clock).
 * Returns how many were evicted. The binding calls this from a timer. */
size_t mol_a2a_store_sweep(mol_a2a_store *s, int64_t now_ms);
/* The store's current time (its clock). */
int64_t mol_a2a_store_now(const mol_a2a_store *s);

/* Starts a turn for an incoming message (message/send, message/stream):
 *  - no message.taskId: a new task (submitted) in the message's contextId, or a new context;
 *  - message.taskId: continues that task (test_a2a_conformance): unknown -> -32001,
 *    terminal or being canceled -> -32004, a contextId that disagrees -> -32602. The task's
 *    status message (the agent's question, for an interrupted task) moves into the history
 *    first, so the history stays in the order things were said. A task whose
 *    turn is still running may be continued: the new turn runs beside it (as the reference
 *    SDKs do), and the task's first ending ends it for both.
 * The message gets the task's taskId/contextId filled in (mol_a2a_cmsg_fill_ids: *msg may be
 * replaced by a completed copy, the caller's reference moving to it) and is appended to the
 * history. Returns 0 or MOL_EINVAL with *err set (-32603 when the store is full or out of
 * memory; *msg is then NULL if the copy failed). */
int mol_a2a_store_begin(mol_a2a_store *s, mol_a2a_cmsg **msg, mol_a2a_task **out,
                        mol_a2a_error *err);

/* Puts back a task a durable store saved: `task` is the task in the v0.3 wire shape
 * (mol_a2a_task_to_json with the whole history), ended_ms when it became terminal (ignored
 * for a live one). The task comes back with its id, context, status (message and timestamp),
 * history, artifacts and metadata; nothing is journaled and no event raised. Terminal tasks
 * must come in the order they ended, so that eviction and the TTL keep that order. Room is
 * made as for a new task. Returns 0, MOL_EINVAL (not a task this engine saved: *err says
 * what), MOL_EEXIST (that id is in the store), MOL_ELIMIT or MOL_ENOMEM. */
int mol_a2a_store_restore(mol_a2a_store *s, const json_t *task, int64_t ended_ms,
                          mol_a2a_task **out, mol_a2a_error *err);

/* v1.0 ListTasks: a filter and a cursor. Tasks come most recently updated first (status time,
 * then id, both descending), so a page token is the (time, id) of the last task of the page:
 * tasks created meanwhile do not shift later pages. */
typedef struct {
  const char *context_id;    /* NULL = any */
  mol_a2a_task_state state;  /* MOL_A2A_STATE_UNKNOWN = any */
  int64_t status_after_ms;   /* only tasks whose status time is at or after this; INT64_MIN = any */
  const char *after_id;      /* cursor: NULL = from the first; else only tasks ordered after */
  int64_t after_ms;          /* (after_ms, after_id) */
} mol_a2a_task_query;

/* Stores at most cap tasks of the query's next page into page (*n of them); *total is the
 * number of tasks matching the filter (before paging), *more whether more follow this page.
 * Returns 0 or MOL_ENOMEM. */
int mol_a2a_store_query(mol_a2a_store *s, const mol_a2a_task_query *q, mol_a2a_task **page,
                        size_t cap, size_t *n, size_t *total, int *more);

/* ---- task ------------------------------------------------------------------------------ */

const char *mol_a2a_task_id(const mol_a2a_task *t);
const char *mol_a2a_task_context_id(const mol_a2a_task *t);
mol_a2a_task_state mol_a2a_task_state_get(const mol_a2a_task *t);
const char *mol_a2a_task_timestamp(const mol_a2a_task *t);
/* The status time in milliseconds since the epoch (the store's clock). */
int64_t mol_a2a_task_status_ms(const mol_a2a_task *t);
/* When the task became terminal (the store's clock), 0 while it is live. */
int64_t mol_a2a_task_ended_ms(const mol_a2a_task *t);
/* Borrowed (NULL when unset). */
const mol_a2a_cmsg *mol_a2a_task_status_message(const mol_a2a_task *t);
/* The history, oldest first: its length and its i-th message (borrowed). */
size_t mol_a2a_task_history_len(const mol_a2a_task *t);
const mol_a2a_cmsg *mol_a2a_task_history_at(const mol_a2a_task *t, size_t i);
/* Array of canonical Artifacts (borrowed); NULL while the task has none. */
const json_t *mol_a2a_task_artifacts(const mol_a2a_task *t);
int mol_a2a_task_cancel_requested(const mol_a2a_task *t);

/* Moves the task to `state` with an optional status message (canonical, copied) and event
 * metadata (copied), stamps the time and delivers a status event. The previous status message,
 * if any, moves into the history (as the reference SDKs do).
 * Returns 0, MOL_A2A_ETERMINAL, MOL_A2A_EILLEGAL or MOL_ENOMEM. */
int mol_a2a_task_set_status(mol_a2a_task *t, mol_a2a_task_state state, const json_t *msg,
                            const json_t *metadata);
/* The same with a message handle (borrowed; a reference is taken). */
int mol_a2a_task_set_status_msg(mol_a2a_task *t, mol_a2a_task_state state, mol_a2a_cmsg *msg,
                                const json_t *metadata);
/* Adds an artifact chunk (canonical, copied) and delivers an artifact event.
 * append = 0 adds the artifact or replaces one with the same artifactId; append = 1 adds the
 * chunk's parts to the earlier artifact with that id (or adds it when there is none).
 * last_chunk = 1 closes the artifact: a later append to it fails with MOL_EINVAL until a
 * non-append update replaces it. Returns 0, MOL_A2A_ETERMINAL, MOL_EINVAL or MOL_ENOMEM. */
int mol_a2a_task_add_artifact(mol_a2a_task *t, const json_t *artifact, int append,
                              int last_chunk);
/* Appends a canonical message to the history (shared by reference: canonical objects are not
 * modified once handed over); no event. 0, ETERMINAL or ENOMEM. */
int mol_a2a_task_add_history(mol_a2a_task *t, const json_t *msg);
/* The same with a message handle (borrowed; a reference is taken). */
int mol_a2a_task_add_history_msg(mol_a2a_task *t, mol_a2a_cmsg *msg);
/* Replaces the task's metadata (object, copied; NULL clears). */
int mol_a2a_task_set_metadata(mol_a2a_task *t, const json_t *metadata);

/* Registers a listener. On a terminal task it fails with MOL_A2A_ETERMINAL (the binding answers
 * tasks/resubscribe with -32004); past max_listeners, MOL_ELIMIT. A listener added while events
 * are being delivered starts with the next event. `out` may be NULL. */
int mol_a2a_task_subscribe(mol_a2a_task *t, mol_a2a_listener_fn fn, void *arg,
                           mol_a2a_listener **out);
/* Removes a listener; safe from inside any listener callback (including its own). No final
 * event is delivered to a listener removed this way. A listener that has received its final
 * event is already gone: do not unsubscribe it afterwards. */
void mol_a2a_task_unsubscribe(mol_a2a_task *t, mol_a2a_listener *l);
size_t mol_a2a_task_listener_count(const mol_a2a_task *t);

/* Holds the task for a live turn: it is not freed until mol_a2a_task_release. cancel (may be
 * NULL) is called at most once, when the task is canceled (tasks/cancel) or when another turn
 * ends the task while this one still runs: the holder should stop, its work can no longer land.
 * h is the caller's (embedded in the turn) and must stay put until released. */
void mol_a2a_task_hold(mol_a2a_task *t, mol_a2a_hold *h, mol_a2a_cancel_fn cancel, void *arg);
/* No more cancel call for this hold; the task stays held. */
void mol_a2a_task_disarm(mol_a2a_hold *h);
/* Drops the hold (disarming it). Afterwards the task may be evicted: do not touch it again
 * unless something else keeps it. Releasing twice is harmless. */
void mol_a2a_task_release(mol_a2a_hold *h);
/* Holds in place (live turns). */
size_t mol_a2a_task_holds(const mol_a2a_task *t);
/* tasks/cancel: on a terminal task returns MOL_A2A_ETERMINAL (-> -32002). Otherwise marks the
 * task cancel-requested and calls every armed hold's cancel exactly once (later requests only
 * return 0). With no armed hold there is nothing to stop, so the task is canceled at once.
 * Afterwards the task is either canceled already or will be when a turn reports it. */
int mol_a2a_task_request_cancel(mol_a2a_task *t);
/* Ends the task as canceled (the executor's answer to the hook). Same as set_status. */
int mol_a2a_task_finish_canceled(mol_a2a_task *t, mol_a2a_cmsg *msg);

/* The task as JSON in the version's shape (v0.3 kind:"task"; v1.0 ProtoJSON enums, no kind).
 * history_length < 0 keeps the whole history, 0 leaves it out, n keeps the last n messages in
 * chronological order. NULL on allocation failure. */
json_t *mol_a2a_task_to_json(const mol_a2a_task *t, mol_a2a_version v, int history_length);
/* The same task as mol_a2a_task_to_json(t, MOL_A2A_V03, -1) gives, written straight into b as
 * compact JSON (no tree: what a durable store saves on every change). 0 or MOL_ENOMEM (b is
 * left as it was). */
int mol_a2a_task_write(mol_buf *b, const mol_a2a_task *t);
/* A status or artifact event as a result object: v0.3 {kind:"status-update"...,final} /
 * {kind:"artifact-update"...}; v1.0 the bare TaskStatusUpdateEvent / TaskArtifactUpdateEvent
 * (no final, no kind; the caller wraps it). NULL for MOL_A2A_EV_CLOSED. */
json_t *mol_a2a_event_to_json(const mol_a2a_event *ev, mol_a2a_version v);
/* What mol_a2a_task_to_json(t, v, history_length) serialises to, without the tree, and without
 * the artifacts unless with_artifacts: written straight into b as compact JSON (replies are
 * built on every tasks/get and stream). 0 or MOL_ENOMEM (b is left as it was). */
int mol_a2a_task_write_wire(mol_buf *b, const mol_a2a_task *t, mol_a2a_version v,
                            int history_length, int with_artifacts);
/* What mol_a2a_event_to_json(ev, v) serialises to, written straight into b. 0, MOL_EINVAL (an
 * event without a JSON form: MOL_A2A_EV_CLOSED) or MOL_ENOMEM (b is left as it was). */
int mol_a2a_event_write(mol_buf *b, const mol_a2a_event *ev, mol_a2a_version v);

#endif
