/* executor.h - the seam between the A2A server and whatever answers a turn.
 *
 * An executor receives a turn (the user's message, the task and context ids, the request's
 * metadata, whether the caller streams) and answers it asynchronously by emitting events:
 * progress (working), artifact chunks, and exactly one ending: a direct reply Message, a
 * completed/failed/input-required task, or canceled. The turn handle stays valid until the
 * ending call returns; after it, the turn must not be touched.
 *
 * Cancellation: cancel() asks the executor to stop (the caller sent tasks/cancel, the server
 * is shutting down, or another turn on the same task ended it, so nothing this one produces
 * can be recorded any more). It is called at most once per turn. The executor stops its work
 * for real (closes its upstream request, tells its backend) and ends the turn with
 * mol_a2a_turn_canceled(), from inside cancel() or later. An executor may also notice
 * mol_a2a_turn_cancel_requested() itself.
 *
 * All calls happen on the loop thread.
 */
#ifndef MOL_A2A_UV_EXECUTOR_H
#define MOL_A2A_UV_EXECUTOR_H

#include <jansson.h>
#include <uv.h>

typedef struct mol_a2a_turn mol_a2a_turn;

typedef struct {
  const char *name;
  /* Starts work on a turn. Returns 0, or a negative error: the task then fails with the
   * error's message and execute's turn is over (no ending call may follow). */
  int (*execute)(void *self, mol_a2a_turn *turn);
  /* Asks for the turn to stop; see above. May be NULL: the turn is then canceled at once. */
  void (*cancel)(void *self, mol_a2a_turn *turn);
  void *self;
} mol_a2a_executor;

/* ---- reading the turn ---------------------------------------------------------------------- */

uv_loop_t *mol_a2a_turn_loop(const mol_a2a_turn *t);
/* The user's message, canonical (a2a/model.h); borrowed. A message held compactly gets its
 * JSON built here, so prefer the accessors below when they say enough. NULL only when out of
 * memory. */
const json_t *mol_a2a_turn_message(const mol_a2a_turn *t);
/* The message's own metadata object (borrowed), NULL when it has none. */
const json_t *mol_a2a_turn_message_metadata(const mol_a2a_turn *t);
/* The concatenated text of the message's text parts, stripped (borrowed, never NULL). */
const char *mol_a2a_turn_text(const mol_a2a_turn *t);
const char *mol_a2a_turn_message_id(const mol_a2a_turn *t);
const char *mol_a2a_turn_task_id(const mol_a2a_turn *t);
const char *mol_a2a_turn_context_id(const mol_a2a_turn *t);
/* params.metadata of the request (borrowed; NULL when absent). Molecule's canvas puts the
 * conversation history there; the message's own metadata is on the message. */
const json_t *mol_a2a_turn_request_metadata(const mol_a2a_turn *t);
/* 1 when the caller receives events as they happen (message/stream, resubscribe): streaming
 * upstream is then worth it. */
int mol_a2a_turn_streaming(const mol_a2a_turn *t);
int mol_a2a_turn_cancel_requested(const mol_a2a_turn *t);
void mol_a2a_turn_set_data(mol_a2a_turn *t, void *data);
void *mol_a2a_turn_data(const mol_a2a_turn *t);

/* ---- progress ------------------------------------------------------------------------------ */

/* Task status working, with an optional agent status message. Returns 0 or an error
 * (MOL_EPROTO once the task is terminal). */
int mol_a2a_turn_working(mol_a2a_turn *t, const char *text);
/* An artifact chunk with one text part. artifact_id NULL = the turn's default artifact.
 * append = 0 starts or replaces the artifact; 1 adds to it; last_chunk closes it. */
int mol_a2a_turn_artifact(mol_a2a_turn *t, const char *artifact_id, const char *name,
                          const char *text, int append, int last_chunk);
/* The same with any canonical parts (a JSON array; the reference is stolen, NULL = none). */
int mol_a2a_turn_artifact_parts(mol_a2a_turn *t, const char *artifact_id, const char *name,
                                json_t *parts, int append, int last_chunk);

/* ---- endings: exactly one per turn --------------------------------------------------------- */

/* A direct reply: message/send answers with this Message (what Molecule callers read as
 * result.parts[0].text); the task completes with it as its status message. msg is an agent
 * message (canonical; the reference is stolen). */
int mol_a2a_turn_reply(mol_a2a_turn *t, json_t *msg);
/* The same with a plain text reply. */
int mol_a2a_turn_reply_text(mol_a2a_turn *t, const char *text);
/* The task ends completed / failed / in input-required, with an optional status text;
 * message/send then answers with the Task. */
int mol_a2a_turn_complete(mol_a2a_turn *t, const char *text);
int mol_a2a_turn_fail(mol_a2a_turn *t, const char *text);
int mol_a2a_turn_input_required(mol_a2a_turn *t, const char *text);
/* Ends the turn as canceled (after cancel(), or on the executor's own decision). */
int mol_a2a_turn_canceled(mol_a2a_turn *t);

#endif
