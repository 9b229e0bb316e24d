/* molecule/a2a.h - your own logic behind an A2A endpoint, and the A2A client.
 *
 * Included by molecule.h. Three parts:
 *  - the executor: a vtable you write (execute, cancel, close) and the turn handle it receives,
 *    which reads the caller's message and answers it: status updates, artifact chunks, and
 *    exactly one ending (a reply, completed, failed, input-required or canceled);
 *  - the A2A server: an endpoint on your loop, its agent card built from a plain struct, that
 *    runs your executor for every message/send and message/stream;
 *  - the A2A client: the card, send, stream (an event callback per SSE event), get, cancel.
 * The constructors take your libuv loop and live in <molecule/uv.h>: mol_server_new(),
 * mol_client_new(), and mol_turn_loop() for the timers an executor starts.
 *
 * Conventions of molecule.h apply: negative MOL_E* errors, option structs zero-initialised
 * (new fields are only ever appended; zero stays the default), strings copied on entry, every
 * completion callback exactly once and never inside the call that started it, everything on
 * the loop thread. JSON crosses this API as text (UTF-8, the A2A v0.3 shapes), never as a
 * parser's objects. Structs the library hands out (const pointers) are read-only and valid for
 * as long as each one says.
 */
/* Before the guard: molecule.h includes this header itself, at its end. */
#include "../molecule.h"

#ifndef MOLECULE_A2A_H
#define MOLECULE_A2A_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Executor and turn ------------------------------------------------------------------
 *
 * A turn is one message to answer. execute() starts the work and returns; the answer follows
 * from any loop callback of yours (a timer, an HTTP reply, a child process), through the
 * mol_turn_* emit calls below. Progress: mol_turn_working() and mol_turn_artifact() as often
 * as you like. Then exactly one ending: mol_turn_reply_text() / mol_turn_reply_message() (a
 * direct answer: message/send returns this Message), mol_turn_complete(),
 * mol_turn_fail(), mol_turn_input_required() (message/send returns the Task) or
 * mol_turn_canceled(). The handle is freed by the ending call: after it returns, do not touch
 * the turn again (clear your pointer to it, as you would after uv_close).
 *
 * Cancel: cancel() is called at most once per turn, on a later loop iteration than the event
 * that asked for it (a tasks/cancel, the server or agent closing, or another turn ending the
 * same task), never inside one of your own calls. Stop your work for real and end the turn
 * with mol_turn_canceled(), there or later. A NULL cancel ends the turn canceled at once.
 * mol_turn_cancel_requested() tells whether a cancel was asked for.
 *
 * A turn outlives the A2A call that started it safely: the caller may go away, send with
 * blocking false, or only stream; the task stays in the server's store while the turn runs,
 * the emit calls keep working, and tasks/get, tasks/resubscribe and tasks/cancel reach it.
 */

typedef struct mol_turn mol_turn;

typedef struct {
  /* Starts work on turn. Return 0; or a negative error without having ended the turn: the
   * task then fails with the error's text, and the handle is gone (no ending may follow). If
   * the turn was already ended inside execute, a non-zero return is ignored. Required. */
  int (*execute)(mol_turn *turn, void *arg);
  /* Asks a running turn to stop (see above). NULL: the turn is canceled at once. */
  void (*cancel)(mol_turn *turn, void *arg);
  /* Called once, when the server or agent the executor was given to is closed and no turn
   * can reach the executor any more, before that server's or agent's own callback. Free
   * what arg holds here. May be NULL. */
  void (*close)(void *arg);
  void *arg;                 /* passed to the three functions */
  const char *name;          /* for logs; NULL -> "custom" (copied) */
} mol_executor;

/* ---- reading the turn (all valid until the turn's ending call) ---- */

/* The text of the message's text parts, joined, without surrounding blanks ("" when none). */
MOL_EXTERN const char *mol_turn_text(const mol_turn *t);
/* The ids: the caller's message id, the task (created for this message or continued), the
 * context (conversation). Never NULL. */
MOL_EXTERN const char *mol_turn_message_id(const mol_turn *t);
MOL_EXTERN const char *mol_turn_task_id(const mol_turn *t);
MOL_EXTERN const char *mol_turn_context_id(const mol_turn *t);
/* The message's own metadata and the request's params.metadata (Molecule's canvas puts the
 * conversation history there) as JSON objects; NULL when absent. */
MOL_EXTERN const char *mol_turn_message_metadata(const mol_turn *t);
MOL_EXTERN const char *mol_turn_request_metadata(const mol_turn *t);
/* The whole message as JSON (A2A v0.3 shape: kind, messageId, role, parts, ...); NULL only
 * when out of memory. */
MOL_EXTERN const char *mol_turn_message_json(const mol_turn *t);

typedef enum {
  MOL_PART_TEXT = 1,
  MOL_PART_FILE,
  MOL_PART_DATA
} mol_part_kind;

/* One part of the message. Fields that do not apply, or were not sent, are NULL. */
typedef struct {
  mol_part_kind kind;
  const char *text;          /* MOL_PART_TEXT */
  const char *data_json;     /* MOL_PART_DATA: the data (a JSON object) */
  const char *file_name;     /* MOL_PART_FILE: name, media type, and either a URI or the */
  const char *file_mime_type;/* content as base64 (as sent) */
  const char *file_uri;
  const char *file_bytes;
  const char *metadata_json; /* the part's metadata object */
} mol_part;

/* Number of parts of the message. */
MOL_EXTERN size_t mol_turn_part_count(const mol_turn *t);
/* Part i (0 <= i < count), owned by the turn; NULL when i is out of range or out of memory. */
MOL_EXTERN const mol_part *mol_turn_part(const mol_turn *t, size_t i);

/* 1 when the caller receives events as they happen (message/stream, tasks/resubscribe):
 * artifact chunks then reach it one by one. Otherwise it sees the finished task. */
MOL_EXTERN int mol_turn_streaming(const mol_turn *t);
/* 1 once a cancel was asked for (cancel() is due or has been called). */
MOL_EXTERN int mol_turn_cancel_requested(const mol_turn *t);
/* One pointer of yours per turn. */
MOL_EXTERN void mol_turn_set_data(mol_turn *t, void *data);
MOL_EXTERN void *mol_turn_data(const mol_turn *t);

/* ---- progress (any number, before the ending) ----
 * Each returns 0, MOL_EINVAL (bad argument), MOL_ENOMEM, or MOL_EPROTO once the task can no
 * longer change (it was canceled under the turn: end it with mol_turn_canceled()). */

/* Task status working, with an optional status text (NULL: none). */
MOL_EXTERN int mol_turn_working(mol_turn *t, const char *text);

/* One artifact chunk. With append = 0 the chunk starts (or replaces) the artifact; with 1 its
 * parts are added to it; last_chunk = 1 closes it. At least one of text and data_json. */
typedef struct {
  const char *artifact_id;   /* NULL: the turn's own artifact (one id per turn) */
  const char *name;          /* NULL: none */
  const char *text;          /* a text part, or NULL */
  const char *data_json;     /* a data part (a JSON object), or NULL */
  int append;
  int last_chunk;
} mol_artifact_chunk;
MOL_EXTERN int mol_turn_artifact(mol_turn *t, const mol_artifact_chunk *chunk);

/* ---- endings: exactly one per turn; each frees the turn ----
 * Each returns 0, MOL_EINVAL (bad argument: the turn is NOT ended, try again), MOL_ENOMEM, or
 * MOL_EPROTO when the task could not take the state any more (it was canceled meanwhile; the
 * turn is ended all the same). A second ending inside execute() returns MOL_EPROTO; after
 * execute() has returned, a second ending is a use after free, as in libuv. */

/* A direct answer with one text part: message/send returns it as a Message, and the task
 * completes with it as its status message (which is how a streaming caller sees it: for one,
 * send the answer as an artifact and complete, see mol_turn_streaming). */
MOL_EXTERN int mol_turn_reply_text(mol_turn *t, const char *text);
/* The same with a whole message (A2A v0.3 JSON object with "parts"; role, messageId, kind,
 * taskId and contextId are filled in). MOL_EINVAL when it is not such a message. */
MOL_EXTERN int mol_turn_reply_message(mol_turn *t, const char *message_json);
/* The task ends completed / failed / input-required, with an optional status text; message/
 * send then returns the Task (its artifacts included). */
MOL_EXTERN int mol_turn_complete(mol_turn *t, const char *text);
MOL_EXTERN int mol_turn_fail(mol_turn *t, const char *text);
MOL_EXTERN int mol_turn_input_required(mol_turn *t, const char *text);
/* The task ends canceled (after cancel(), or your own decision). */
MOL_EXTERN int mol_turn_canceled(mol_turn *t);

/* ---- A2A server -------------------------------------------------------------------------
 *
 * An A2A endpoint (JSON-RPC v0.3, and v1.0 when a request says A2A-Version: 1.0) listening on
 * one address, with its card at <prefix>/.well-known/agent-card.json (and agent.json), health
 * at <prefix>/health, and JSON-RPC at <prefix>/: message/send, message/stream (SSE),
 * tasks/get, tasks/cancel, tasks/resubscribe, tasks/list. Every message runs one turn of the
 * executor. Tasks live in a store bounded by memory; terminal tasks stay readable for a TTL.
 * Create it with mol_server_new() (molecule/uv.h). */

typedef struct mol_server mol_server;

typedef struct {
  const char *id;            /* required */
  const char *name;          /* required */
  const char *description;   /* NULL: "" */
  const char *const *tags;
  size_t n_tags;
  const char *const *examples;
  size_t n_examples;
} mol_skill;

/* The agent card, as plain C. Only name is required. */
typedef struct {
  const char *name;
  const char *description;   /* NULL: "" */
  const char *url;           /* the JSON-RPC URL callers use; NULL: http://<host>:<port><prefix>/
                                of the listener (set it when callers reach you by another name) */
  const char *version;       /* the agent's own version; NULL: "1.0.0" */
  const char *provider_organization, *provider_url; /* provider left out when NULL */
  const char *documentation_url, *icon_url;         /* optional */
  int no_streaming;          /* 1: the card says no streaming, message/stream is refused */
  const char *const *input_modes;  /* media types; 0: ["text/plain"] */
  size_t n_input_modes;
  const char *const *output_modes; /* 0: ["text/plain"] */
  size_t n_output_modes;
  const mol_skill *skills;   /* 0: one skill named after the agent */
  size_t n_skills;
} mol_card;

typedef struct {
  const mol_card *card;           /* required; copied */
  const mol_executor *executor;   /* required; the vtable is copied */
  const char *host;               /* NULL: "127.0.0.1"; "0.0.0.0" or "::" needs card->url */
  int port;                       /* 0: chosen by the system (see mol_server_port) */
  const char *prefix;             /* NULL or "": routes at the root; else "/x" or "/x/y" */
  size_t max_task_bytes;          /* memory budget of the task store, 0 -> 64 MiB */
  size_t max_tasks;               /* 0: no cap besides the budget */
  unsigned task_ttl_ms;           /* terminal tasks stay readable, 0 -> 1 hour */
  unsigned cancel_wait_ms;        /* tasks/cancel waits this long for the turn to end
                                     before answering with the task as it is, 0 -> 10 s */
  size_t max_body_bytes;          /* a request's body, 0 -> 1 MiB */
  unsigned max_connections;       /* 0 -> 10000 */
} mol_server_opts;

/* The port it listens on. */
MOL_EXTERN int mol_server_port(const mol_server *s);
/* The JSON-RPC URL its card names (ends in '/'). */
MOL_EXTERN const char *mol_server_url(const mol_server *s);

/* Closes the server: its routes go at once (new requests get 404), every running turn is asked
 * to cancel and waited for (their callers get their answers), the executor's close is called,
 * the listener and connections close (answers still being written get a second to flush),
 * then cb(arg) fires (never inside this call; cb may be NULL). Call it once. */
MOL_EXTERN void mol_server_close(mol_server *s, void (*cb)(void *arg), void *arg);

/* ---- A2A client -------------------------------------------------------------------------
 *
 * Calls one agent's A2A endpoint. Every call returns 0 and later fires its done callback
 * exactly once (success, error, timeout, mol_client_abort or close), never inside the call
 * that started it; a negative return means the callback will never fire: MOL_EINVAL,
 * MOL_ENOMEM, MOL_ESHUTDOWN (client closing), MOL_EURL, MOL_ELIMIT.
 * Errors in the done callback: MOL_ERPC (the agent answered with a JSON-RPC error:
 * res->rpc_code, rpc_message, rpc_data_json), MOL_EHTTP (an HTTP error status without one),
 * MOL_EJSON, MOL_EBADRESP (not the answer expected: res->detail says why), MOL_ETIMEDOUT,
 * MOL_ECANCELED, MOL_ESHUTDOWN, and transport errors (MOL_ECONNREFUSED, MOL_ECONNRESET,
 * MOL_ETLS, ...). Create it with mol_client_new() (molecule/uv.h). */

typedef struct mol_client mol_client;
typedef struct mol_client_req mol_client_req; /* one call in flight */

typedef struct {
  const char *name, *value;
} mol_header;

typedef struct {
  const char *url;            /* required: the agent's base URL (http or https) */
  int a2a_v1;                 /* 1: speak A2A 1.0 (A2A-Version: 1.0, PascalCase methods); 0:
                                 v0.3, what every Molecule caller speaks */
  const mol_header *headers;  /* extra headers on every request (e.g. Authorization) */
  size_t n_headers;
  unsigned timeout_ms;        /* a call's deadline, 0 -> 60 s */
  unsigned connect_timeout_ms;/* 0 -> 10 s */
  unsigned idle_timeout_ms;   /* longest silence of the agent, 0 -> 60 s */
  size_t max_body_bytes;      /* an answer, 0 -> 16 MiB */
  size_t max_event_bytes;     /* one stream event, 0 -> 4 MiB */
  int insecure_skip_verify;   /* https without certificate checks */
} mol_client_opts;

/* Per call; NULL means all defaults. */
typedef struct {
  unsigned timeout_ms;        /* 0: the client's */
  int return_immediately;     /* send: answer with the task at once (blocking false) */
  int has_history_length;     /* 1: send history_length */
  int history_length;
  const char *metadata_json;  /* params.metadata (a JSON object), or NULL */
  /* send and stream: */
  const char *context_id;     /* continue a conversation, or NULL */
  const char *task_id;        /* continue a task (after input-required), or NULL */
  const char *message_json;   /* the whole message (v0.3 JSON with "parts"), used instead of
                                 the text argument; role, kind and messageId filled in */
} mol_client_call_opts;

typedef enum {
  MOL_RESULT_NONE = 0,
  MOL_RESULT_MESSAGE,
  MOL_RESULT_TASK,
  MOL_RESULT_STATUS_UPDATE,
  MOL_RESULT_ARTIFACT_UPDATE,
  MOL_RESULT_OTHER            /* a card, a task list, ... */
} mol_result_kind;

typedef enum {                /* A2A task states */
  MOL_TASK_UNKNOWN = 0,
  MOL_TASK_SUBMITTED,
  MOL_TASK_WORKING,
  MOL_TASK_INPUT_REQUIRED,
  MOL_TASK_AUTH_REQUIRED,
  MOL_TASK_COMPLETED,
  MOL_TASK_CANCELED,
  MOL_TASK_FAILED,
  MOL_TASK_REJECTED
} mol_task_state;

/* One stream event; valid during the event callback only. */
typedef struct {
  mol_result_kind kind;
  const char *json;           /* the event (v0.3 shape, whichever version the agent spoke) */
  const char *text;           /* its text: a message's parts, a status update's message, an
                                 artifact chunk's parts, a task's status message; "" if none */
  const char *task_id;        /* NULL when none */
  const char *context_id;     /* NULL when none */
  mol_task_state state;       /* TASK and STATUS_UPDATE; else MOL_TASK_UNKNOWN */
  int final;                  /* the last event of the stream */
  const char *artifact_id;    /* ARTIFACT_UPDATE: the artifact, and how the chunk applies */
  int append, last_chunk;
} mol_client_event;

/* What a call produced; valid during the done callback only. */
typedef struct {
  int http_status;            /* 0 when no HTTP response arrived */
  int rpc_code;               /* the JSON-RPC error code when err is MOL_ERPC, else 0 */
  const char *rpc_message;    /* "" when none */
  const char *rpc_data_json;  /* error.data, or NULL */
  const char *detail;         /* why it failed, in words ("" on success) */
  mol_result_kind kind;       /* of json: the result, or a stream's last event */
  const char *json;           /* NULL when none */
  /* The answer's text: a Message's parts; a Task's artifacts, else its status message; for a
   * stream, the text of its message and artifact events, else of its last status message. */
  const char *text;
  const char *task_id;        /* the task the call is about, or NULL */
  mol_task_state state;       /* of a Task result, or of a stream's last task event */
  size_t events;              /* streams: events delivered */
  const char *card_json;      /* mol_client_card: the card as served */
  const char *rpc_url;        /* mol_client_card: the JSON-RPC URL the card names, or NULL */
} mol_client_result;

typedef void (*mol_client_cb)(mol_client_req *req, int err, const mol_client_result *res,
                              void *arg);
/* Return 0 to go on, or non-zero to pause the stream (the agent is held back through TCP)
 * until mol_client_resume(). May call mol_client_abort(). */
typedef int (*mol_client_event_cb)(mol_client_req *req, const mol_client_event *ev, void *arg);

/* In every call: o may be NULL; *out (may be NULL) receives the handle for mol_client_abort,
 * valid until the done callback returns. */

/* GET the agent card (/.well-known/agent-card.json, then agent.json on 404): res->card_json,
 * res->rpc_url. Use mol_client_set_rpc_url() to call the URL it names. */
MOL_EXTERN int mol_client_card(mol_client *c, const mol_client_call_opts *o, mol_client_cb cb,
                               void *arg, mol_client_req **out);
/* message/send with text as one text part (or o->message_json): res->kind is MESSAGE or TASK,
 * res->text the answer's text. */
MOL_EXTERN int mol_client_send(mol_client *c, const char *text, const mol_client_call_opts *o,
                               mol_client_cb cb, void *arg, mol_client_req **out);
/* message/stream: on_event per event, then cb once. It succeeds when the stream ends after
 * its final event (a Message, a final status update, or a Task already done). */
MOL_EXTERN int mol_client_stream(mol_client *c, const char *text, const mol_client_call_opts *o,
                                 mol_client_event_cb on_event, mol_client_cb cb, void *arg,
                                 mol_client_req **out);
/* tasks/get: res->json is the Task, res->state its state. */
MOL_EXTERN int mol_client_get_task(mol_client *c, const char *task_id,
                                   const mol_client_call_opts *o, mol_client_cb cb, void *arg,
                                   mol_client_req **out);
/* tasks/cancel: res->json is the Task as the agent left it (canceled once its turn stopped).
 * A task already done is the agent's JSON-RPC error -32002 (MOL_ERPC). */
MOL_EXTERN int mol_client_cancel_task(mol_client *c, const char *task_id,
                                      const mol_client_call_opts *o, mol_client_cb cb,
                                      void *arg, mol_client_req **out);
/* tasks/resubscribe: a stream of a running task's events, as mol_client_stream. */
MOL_EXTERN int mol_client_resubscribe(mol_client *c, const char *task_id,
                                      const mol_client_call_opts *o,
                                      mol_client_event_cb on_event, mol_client_cb cb, void *arg,
                                      mol_client_req **out);

/* Aborts a call: its done callback fires with MOL_ECANCELED on a later loop iteration,
 * unless it already fired. Safe inside the event callback. */
MOL_EXTERN void mol_client_abort(mol_client_req *req);
/* Delivers a paused stream's held events (on a later loop iteration) and reads on. */
MOL_EXTERN void mol_client_resume(mol_client_req *req);
/* Makes url the JSON-RPC endpoint (for instance res->rpc_url of mol_client_card). Returns 0,
 * MOL_EINVAL or MOL_ENOMEM. */
MOL_EXTERN int mol_client_set_rpc_url(mol_client *c, const char *url);
/* Closes the client: calls in flight complete with MOL_ESHUTDOWN, then cb(arg) fires (never
 * inside this call; cb may be NULL). Call it once. */
MOL_EXTERN void mol_client_close(mol_client *c, void (*cb)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_A2A_H */
