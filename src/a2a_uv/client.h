/* client.h - asynchronous A2A JSON-RPC client (v0.3 and v1.0, docs/a2a.md) on the shared HTTP
 * client (http/client.h), one libuv loop.
 *
 * A mol_a2a_client is bound to one agent: a base URL (the JSON-RPC endpoint unless the card
 * says otherwise, see mol_a2a_client_set_rpc_url) and a protocol version. v0.3 (the default)
 * sends slash method names and no A2A-Version header, as every Molecule caller does; v1.0 sends
 * `A2A-Version: 1.0` and PascalCase names. Both are read back into the canonical objects of
 * model.h, so callers never see which one the peer spoke.
 *
 * Every call:
 *  - gets a fresh JSON-RPC id (a UUID string) and checks that the answer echoes it;
 *  - has a deadline (the call's timeout_ms, else the client's; MOL_ETIMEDOUT);
 *  - returns 0 and then completes EXACTLY once through its done callback - on success, error,
 *    timeout, cancel or client close - never from inside the function that started or
 *    cancelled it. A non-zero return means the callback will never fire: MOL_EINVAL (bad
 *    arguments), MOL_ESHUTDOWN (client closing), MOL_ENOMEM, or the HTTP client's refusal
 *    (MOL_EURL, MOL_ELIMIT);
 *  - can be cancelled with mol_a2a_client_cancel (done callback with MOL_ECANCELED).
 *
 * Errors reported to the done callback (negative MOL_E* codes):
 *    MOL_ERPC       the peer answered with a JSON-RPC error: res->rpc_code / rpc_message /
 *                   rpc_data (a stream's `event: error` too)
 *    MOL_EHTTP      a non-2xx status whose body is not a JSON-RPC error (res->http_status)
 *    MOL_EJSON      the body (or an event's data) is not JSON
 *    MOL_EBADRESP   JSON, but not the JSON-RPC answer expected: not a response object, a
 *                   result of the wrong kind, an id that is not ours, a stream that ended
 *                   mid-event or before its final event
 *    MOL_ETIMEDOUT, MOL_ECANCELED, MOL_ESHUTDOWN, MOL_ECONNREFUSED, MOL_ECONNRESET,
 *    MOL_ETOOBIG, MOL_ETLS... as the HTTP client reports them (http/client.h)
 * res->detail always says why in words.
 *
 * All functions must be called on the loop thread. Strings and JSON passed in are copied. */
#ifndef MOL_A2A_UV_CLIENT_H
#define MOL_A2A_UV_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "a2a/codec.h"
#include "a2a/model.h"
#include "a2a/push.h"
#include "http/client.h"

typedef struct mol_a2a_client mol_a2a_client;
typedef struct mol_a2a_call mol_a2a_call; /* one call in flight; the handle for cancel */

typedef struct {
  const char *url;                /* required: the agent's base URL (http or https) */
  mol_a2a_version version;        /* MOL_A2A_V03 (default) or MOL_A2A_V10 */
  const mol_http_header *headers; /* extra headers on every request (e.g. Authorization) */
  size_t nheaders;
  unsigned timeout_ms;            /* default deadline of a call, 0 -> 60 s */
  unsigned connect_timeout_ms;    /* 0 -> the HTTP client's default (10 s) */
  unsigned idle_timeout_ms;       /* max silence of the peer, 0 -> the HTTP default (60 s) */
  size_t max_body_bytes;          /* unary answers, 0 -> the HTTP default (16 MiB) */
  size_t max_event_bytes;         /* one SSE event, 0 -> 4 MiB */
  int insecure_skip_verify;       /* https without certificate checks */
} mol_a2a_client_opts;

/* Per-call options; a NULL pointer or zeroed struct means the defaults. */
typedef struct {
  unsigned timeout_ms;                 /* 0 = the client's default deadline */
  int return_immediately;              /* v0.3 blocking:false / v1.0 returnImmediately */
  int history_length;                  /* sent only when has_history_length */
  int has_history_length;
  const json_t *accepted_output_modes; /* array of media types, or NULL */
  const json_t *metadata;              /* params.metadata, or NULL */
  /* send / stream: a push-notification config for the task, sent inline (v0.3
   * configuration.pushNotificationConfig, v1.0 configuration.taskPushNotificationConfig);
   * its version field is ignored. NULL = none. */
  const mol_a2a_push_config *push_config;
} mol_a2a_call_opts;

/* What a call produced. Everything here is borrowed and valid only during the callback. */
typedef struct {
  int http_status;          /* 0 when no HTTP response arrived */
  int rpc_code;             /* the JSON-RPC error code when err == MOL_ERPC, else 0 */
  const char *rpc_message;  /* the JSON-RPC error message ("" when none) */
  const json_t *rpc_data;   /* error.data, or NULL */
  const char *detail;       /* why the call failed, in words ("" on success) */
  /* Unary calls: the result. Streams: the last event delivered (NONE if none). */
  mol_a2a_result_kind kind;
  const json_t *result;     /* canonical (model.h / codec.h mol_a2a_response.result) */
  /* The reply text a Molecule caller reads: of the result; for a stream the text of its message and
   * artifact-update events, else of the last status message. "" when none. */
  const char *text;
  const char *task_id;      /* the task the result or stream is about, or NULL */
  size_t events;            /* streams: events delivered to on_event */
  const json_t *card;       /* mol_a2a_fetch_card: the card as served */
  const char *rpc_url;      /* mol_a2a_fetch_card: the JSON-RPC URL the card names for the
                               client's version (NULL if it names none) */
  /* message/send through the Molecule platform's A2A proxy, answered with its queued hand-off
   * (HTTP 202 {"queued":true}, or the poll-mode {"status":"queued","delivery_mode":"poll",…}):
   * the platform took the message and will deliver it later. A success (err 0) with no result
   * (kind NONE), not terminal; never to be sent again, which would deliver it twice. */
  int queued;
  const char *body;         /* MOL_EHTTP, MOL_EJSON, MOL_EBADRESP from an answer that is not
                               JSON-RPC, and a queued hand-off: its first 4 KiB as received (an
                               HTTP error's text, the platform's queued envelope); "" otherwise */
} mol_a2a_result;

typedef void (*mol_a2a_done_cb)(mol_a2a_call *call, int err, const mol_a2a_result *res,
                                void *arg);
/* One stream event, in arrival order, its result already canonical (ev->kind, ev->result;
 * never an error - errors end the stream through the done callback). Return 0 to go on, or
 * non-zero to pause the stream (back-pressure reaches the peer through TCP) until
 * mol_a2a_client_resume. The callback may call mol_a2a_client_cancel. */
typedef int (*mol_a2a_event_cb)(mol_a2a_call *call, const mol_a2a_response *ev, void *arg);

/* Creates a client on loop, sharing http (which must outlive it). Returns 0, MOL_EINVAL (no or
 * bad URL) or MOL_ENOMEM. */
int mol_a2a_client_new(uv_loop_t *loop, mol_http_client *http, const mol_a2a_client_opts *opts,
                       mol_a2a_client **out);

/* Makes url the JSON-RPC endpoint (e.g. res->rpc_url of a card fetch). 0, MOL_EINVAL or
 * MOL_ENOMEM. */
int mol_a2a_client_set_rpc_url(mol_a2a_client *c, const char *url);

/* Shuts the client down: calls in flight complete with MOL_ESHUTDOWN, then cb(arg) (cb may be
 * NULL) fires once everything is freed - never inside this call. A second call is ignored. */
void mol_a2a_client_close(mol_a2a_client *c, void (*cb)(void *arg), void *arg);

/* GET <base>/.well-known/agent-card.json, falling back to /.well-known/agent.json on 404.
 * res->card is the card; res->rpc_url the endpoint for the client's version: v0.3 the card's
 * `url` (or its JSONRPC additionalInterfaces / supportedInterfaces entry), v1.0 the JSONRPC
 * entry of supportedInterfaces with protocolVersion 1.x. A card that is not a JSON object is
 * MOL_EJSON / MOL_EBADRESP; a non-2xx status is MOL_EHTTP. */
int mol_a2a_fetch_card(mol_a2a_client *c, const mol_a2a_call_opts *o, mol_a2a_done_cb cb,
                       void *arg, mol_a2a_call **out);

/* message/send (SendMessage) of a canonical message (mol_a2a_message_new). The result is a
 * Message or a Task (res->kind); anything else is MOL_EBADRESP. */
int mol_a2a_send(mol_a2a_client *c, const json_t *message, const mol_a2a_call_opts *o,
                 mol_a2a_done_cb cb, void *arg, mol_a2a_call **out);

/* message/stream (SendStreamingMessage): on_event per SSE event, then done once. The stream
 * succeeds when it ends after its final event: a Message, a status-update with final:true (in
 * v1.0 a terminal or interrupted state), or a Task already terminal or interrupted. Events after
 * the final one are dropped. A non-SSE answer is read as one JSON-RPC response (an error, or a
 * single result delivered as the only event). */
int mol_a2a_stream(mol_a2a_client *c, const json_t *message, const mol_a2a_call_opts *o,
                   mol_a2a_event_cb on_event, mol_a2a_done_cb cb, void *arg, mol_a2a_call **out);

/* tasks/get (GetTask): res->result is the Task. o->history_length is honoured. */
int mol_a2a_get_task(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                     mol_a2a_done_cb cb, void *arg, mol_a2a_call **out);

/* tasks/cancel (CancelTask): res->result is the Task (state canceled). Cancelling a task that
 * is already terminal is the peer's -32002, surfaced as MOL_ERPC. */
int mol_a2a_cancel_task(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                        mol_a2a_done_cb cb, void *arg, mol_a2a_call **out);

/* tasks/resubscribe (SubscribeToTask): a stream, as for mol_a2a_stream, except that a first
 * event snapshotting an interrupted task ends it only when the peer closes there: the events
 * of the task's next turn, when they follow, are delivered too. */
int mol_a2a_resubscribe(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                        mol_a2a_event_cb on_event, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out);

/* Push-notification configs of a task on the peer (v0.3 tasks/pushNotificationConfig/set etc., v1.0
 * Create|Get|List|DeleteTaskPushNotificationConfig). res->result is read into one shape
 * whatever the peer's version: for set and get the v0.3 TaskPushNotificationConfig
 * {taskId, pushNotificationConfig: {id, url, token?, authentication?}}, for list an array of
 * them, for delete null. A peer without push notifications answers -32003 (MOL_ERPC).
 * config_id NULL: the peer's default (get), or the config named after the task (delete).
 * cfg->version is ignored. */
int mol_a2a_push_set(mol_a2a_client *c, const char *task_id, const mol_a2a_push_config *cfg,
                     const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                     mol_a2a_call **out);
int mol_a2a_push_get(mol_a2a_client *c, const char *task_id, const char *config_id,
                     const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                     mol_a2a_call **out);
int mol_a2a_push_list(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                      mol_a2a_done_cb cb, void *arg, mol_a2a_call **out);
int mol_a2a_push_delete(mol_a2a_client *c, const char *task_id, const char *config_id,
                        const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out);

/* Any other method with params as given (the reference is stolen; NULL = {}): v1.0 ListTasks
 * (MOL_A2A_M_LIST_TASKS) or the extended card (MOL_A2A_M_GET_EXTENDED_CARD). res->result is the
 * peer's result as it came. MOL_EINVAL for a method the version does not have, or one with a
 * call of its own above. */
int mol_a2a_call_method(mol_a2a_client *c, mol_a2a_method m, json_t *params,
                        const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out);

/* Aborts a call: its done callback fires with MOL_ECANCELED on a later loop iteration, unless
 * it already fired. Safe inside on_event. The handle must not be used after done returned. */
void mol_a2a_client_cancel(mol_a2a_call *call);

/* Stream back-pressure: pause holds further events (and stops reading); resume delivers the
 * held events on a later loop iteration and reads again. No-ops on unary calls. */
void mol_a2a_client_pause(mol_a2a_call *call);
void mol_a2a_client_resume(mol_a2a_call *call);

#endif
