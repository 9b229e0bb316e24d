/* codec.h - the I/O-free A2A JSON-RPC codec, v0.3 and v1.0 (docs/a2a.md).
 *
 * Server side: mol_a2a_request_parse turns a POST body plus the A2A-Version header into a typed
 * mol_a2a_request, or into a ready-to-send JSON-RPC error; the mol_a2a_reply_* builders turn
 * engine objects into response bodies shaped for the request's version and method, echoing
 * the request id with its exact JSON type. Every body is one line of compact JSON (newlines in
 * strings are escaped), so it can go straight into an SSE `data:` line. The binding sends every
 * JSON-RPC response, errors included, with HTTP 200.
 *
 * Client side: mol_a2a_request_build* build request bodies; mol_a2a_response_parse reads a
 * response body or one SSE event's data into canonical objects (model.h).
 *
 * Returned char* bodies are malloc'd, NUL-terminated; the caller frees them. NULL means out of
 * memory. */
#ifndef MOL_A2A_CODEC_H
#define MOL_A2A_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "a2a/model.h"
#include "a2a/msg.h"
#include "a2a/task.h"
#include "base/buf.h"

typedef enum {
  MOL_A2A_M_UNKNOWN = 0,
  MOL_A2A_M_SEND,              /* message/send                      SendMessage */
  MOL_A2A_M_STREAM,            /* message/stream                    SendStreamingMessage */
  MOL_A2A_M_GET,               /* tasks/get                         GetTask */
  MOL_A2A_M_CANCEL,            /* tasks/cancel                      CancelTask */
  MOL_A2A_M_RESUBSCRIBE,       /* tasks/resubscribe                 SubscribeToTask */
  MOL_A2A_M_PUSH_SET,          /* tasks/pushNotificationConfig/set  CreateTaskPushNotificationConfig */
  MOL_A2A_M_PUSH_GET,          /* tasks/pushNotificationConfig/get  GetTaskPushNotificationConfig */
  MOL_A2A_M_PUSH_LIST,         /* tasks/pushNotificationConfig/list ListTaskPushNotificationConfigs */
  MOL_A2A_M_PUSH_DELETE,       /* tasks/pushNotificationConfig/delete DeleteTaskPushNotificationConfig */
  MOL_A2A_M_GET_EXTENDED_CARD, /* agent/getAuthenticatedExtendedCard GetExtendedAgentCard */
  MOL_A2A_M_LIST_TASKS         /* (v1.0 only)                       ListTasks */
} mol_a2a_method;

/* The wire name of a method in a version; NULL when the version has no such method. */
const char *mol_a2a_method_name(mol_a2a_method m, mol_a2a_version v);
/* MOL_A2A_M_UNKNOWN when `name` is not a method of version v (PascalCase names exist only in
 * v1.0, slash names only in v0.3: SendMessage without A2A-Version is -32601). */
mol_a2a_method mol_a2a_method_parse(const char *name, mol_a2a_version v);
/* 1 for the methods answered with an SSE stream (STREAM, RESUBSCRIBE). */
int mol_a2a_method_is_streaming(mol_a2a_method m);
/* The A2A-Version header: NULL, "" or 0.3[.x] -> v0.3; 1.0[.x] -> v1.0 (surrounding blanks
 * ignored). Anything else -> MOL_EINVAL (the caller answers -32009). */
int mol_a2a_version_parse(const char *header, mol_a2a_version *out);

/* ---- requests (server side) ------------------------------------------------------------ */

typedef struct {
  int blocking;                        /* 1 unless v0.3 blocking:false / v1.0 returnImmediately */
  int history_length;                  /* -1 when not given */
  const json_t *accepted_output_modes; /* borrowed array, or NULL */
  const json_t *push_config;           /* borrowed object, or NULL */
} mol_a2a_send_config;

/* A JSON-RPC id exactly as the client wrote it: the raw JSON text of a string or a number,
 * escapes and spelling kept ("a\/b", 1e3, -0, 18446744073709551616), so every reply echoes it
 * byte for byte whatever a C type could hold. Read it with mol_a2a_request_id. */
typedef struct {
  size_t len;     /* 0: no id to echo (absent, null, or not usable): replies say null */
  char *heap;     /* the text when it does not fit inline (owned) */
  char small[48]; /* the text otherwise (a quoted UUID fits), NUL-terminated */
} mol_a2a_rpc_id;

typedef struct {
  mol_a2a_version version;
  mol_a2a_method method;
  /* The request id, echoed by every reply. After a parse error it is set when the request was
   * a JSON object whose id is a string or a number (so -32600 echoes it, as JSON-RPC asks); never
   * for -32700. */
  mol_a2a_rpc_id id;
  json_t *params;   /* borrowed from the body; NULL when absent */
  json_t *metadata; /* params.metadata, borrowed; NULL when absent */

  /* SEND, STREAM: the message (one reference owned by the request; mol_a2a_store_begin fills
   * in its taskId/contextId). */
  mol_a2a_cmsg *message;
  mol_a2a_send_config config;

  /* GET, CANCEL, RESUBSCRIBE, PUSH_*: the task id (params.id; params.taskId for push set). */
  const char *task_id;
  int history_length;         /* GET, RESUBSCRIBE (v1.0); -1 when not given */
  const char *push_config_id; /* PUSH_GET, PUSH_DELETE; NULL when not given */
  const json_t *push_config;  /* PUSH_SET: the config object, borrowed */

  /* LIST_TASKS filters */
  const char *context_id;          /* NULL = any */
  mol_a2a_task_state state_filter; /* MOL_A2A_STATE_UNKNOWN = any */
  int page_size;                   /* 1..100; 0 = not given (50) */
  const char *page_token;          /* NULL = first page */
  int include_artifacts;           /* includeArtifacts (default false) */
  int64_t status_after_ms;         /* statusTimestampAfter; INT64_MIN = not given */

  mol_a2a_error error; /* code != 0 when parsing failed */
  json_t *root;        /* private: the parsed body */
  char *task_id_copy;  /* private: task_id when it is not in root (read without a DOM) */
} mol_a2a_request;

/* 1 when output of media type `mime` is acceptable under cfg->accepted_output_modes: a
 * missing or empty list accepts anything; otherwise an exact match (case-insensitive), a
 * subtype wildcard ("text/" followed by a star) or the full wildcard. When the agent can
 * produce nothing acceptable the binding answers -32005. */
int mol_a2a_accepts_output(const mol_a2a_send_config *cfg, const char *mime);

/* Parses one JSON-RPC request. version_header is the A2A-Version header value (NULL if absent).
 * Returns 0, or MOL_EJSON / MOL_EINVAL with req->error set (-32700, -32600, -32601, -32602 or
 * -32009) and req->id set, so mol_a2a_reply_request_error(req) is the answer. Errors follow
 * JSON-RPC 2.0 and the A2A specification: -32700 (id null) for bad JSON; -32600 for a non-object
 * (batches included, id null), an id of the wrong type (id null), jsonrpc != "2.0" or a
 * missing method (the id echoed). Any number is a valid id, however large.
 * A string holding U+0000 anywhere in the params of a method that reads them is -32602: the
 * engine and the executors read text as C strings and would cut it there.
 * Always call mol_a2a_request_free afterwards. */
int mol_a2a_request_parse(const char *body, size_t len, const char *version_header,
                          mol_a2a_request *req);
void mol_a2a_request_free(mol_a2a_request *req);
/* The id's JSON text ("null" when there is none to echo); *len gets its length. */
const char *mol_a2a_request_id(const mol_a2a_request *req, size_t *len);

/* ---- replies (server side) ------------------------------------------------------------- */

/* {"jsonrpc":"2.0","id":<id>,"result":<result>}; result is stolen (NULL -> null). */
char *mol_a2a_response_result(const json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":<id>,"error":{"code","message"[,"data"]}}. message NULL = the code's
 * standard message. In v1.0 the A2A codes (-32001..-32009) carry
 * data:[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":…,"domain":"a2a-protocol.org"}]. */
char *mol_a2a_response_error(mol_a2a_version v, const json_t *id, int code, const char *message);

/* The answer to a request that failed to parse (uses req->error and req->id). */
char *mol_a2a_reply_request_error(const mol_a2a_request *req);
/* An error answer to a parsed request (id echoed, version's error shape). */
char *mol_a2a_reply_error(const mol_a2a_request *req, int code, const char *message);
/* Message result: v0.3 the Message; v1.0 {"message":…}. Executors may add Molecule's extras
 * (metadata.tool_trace, usage) to the canonical message; they are kept in v0.3. */
char *mol_a2a_reply_message(const mol_a2a_request *req, const mol_a2a_cmsg *msg);
/* Task result: v1.0 wraps it in {"task":…} for SEND/STREAM/RESUBSCRIBE, bare for GET/CANCEL.
 * History is trimmed to the request's historyLength. */
char *mol_a2a_reply_task(const mol_a2a_request *req, const mol_a2a_task *task);
/* A stream event: v0.3 status-update/artifact-update; v1.0 {"statusUpdate":…} /
 * {"artifactUpdate":…}. NULL for MOL_A2A_EV_CLOSED. */
char *mol_a2a_reply_event(const mol_a2a_request *req, const mol_a2a_event *ev);
/* Any other result (card, push config, null); result is stolen. */
char *mol_a2a_reply_result(const mol_a2a_request *req, json_t *result);
/* v1.0 ListTasks: {"tasks":[…],"nextPageToken":…,"pageSize":…,"totalSize":total}; the tasks'
 * history trimmed to historyLength, their artifacts left out unless includeArtifacts. */
char *mol_a2a_reply_task_list(const mol_a2a_request *req, mol_a2a_task *const *tasks, size_t n,
                              size_t total, const char *next_page_token);

/* Appends one SSE event carrying a reply body: "data: <body>\n\n", or with is_error
 * "event: error\ndata: <body>\n\n" (how an error after the stream started is sent).
 * Returns 0, MOL_EINVAL (body contains a newline) or MOL_ENOMEM. */
int mol_a2a_sse_frame(mol_buf *out, const char *body, int is_error);

/* ---- requests (client side) ------------------------------------------------------------ */

/* {"jsonrpc":"2.0","id":<id>,"method":<name>,"params":<params>}; params stolen (NULL -> {}).
 * NULL when the method does not exist in v (or out of memory). */
char *mol_a2a_request_build(mol_a2a_version v, mol_a2a_method m, const json_t *id, json_t *params);
/* message/send or message/stream (SendMessage / SendStreamingMessage) for a canonical message;
 * cfg and metadata may be NULL. v0.3 writes configuration.blocking, v1.0 returnImmediately. */
char *mol_a2a_request_build_send(mol_a2a_version v, const json_t *id, int stream,
                                 const json_t *msg, const mol_a2a_send_config *cfg,
                                 const json_t *metadata);
/* tasks/get, tasks/cancel, tasks/resubscribe (and v1.0 names): {id[, historyLength]};
 * history_length < 0 leaves it out. */
char *mol_a2a_request_build_task(mol_a2a_version v, mol_a2a_method m, const json_t *id,
                                 const char *task_id, int history_length);

/* ---- responses (client side) ----------------------------------------------------------- */

typedef enum {
  MOL_A2A_RESULT_NONE = 0, /* an error response */
  MOL_A2A_RESULT_MESSAGE,
  MOL_A2A_RESULT_TASK,
  MOL_A2A_RESULT_STATUS_UPDATE,
  MOL_A2A_RESULT_ARTIFACT_UPDATE,
  MOL_A2A_RESULT_OTHER /* anything else (card, push config, task list, null): raw JSON */
} mol_a2a_result_kind;

typedef struct {
  json_t *id;               /* the echoed id (null when absent) */
  int is_error;
  mol_a2a_error error;      /* when is_error */
  json_t *error_data;       /* borrowed error.data, or NULL */
  mol_a2a_result_kind kind;
  /* MESSAGE: canonical Message. TASK: canonical v0.3-shaped Task (kind "task", v0.3 state
   * names, canonical messages and artifacts). STATUS_UPDATE / ARTIFACT_UPDATE: the v0.3 event
   * shape (v1.0 events get `final` computed from the state). OTHER: the raw result. Owned. */
  json_t *result;
  json_t *root;             /* private */
} mol_a2a_response;

/* Parses a JSON-RPC response body (or one SSE event's data) of version v. Returns 0 for a
 * success or an error response (see is_error), MOL_EJSON when the body is not JSON, MOL_EPROTO
 * when it is not a JSON-RPC response, the result does not have the shape its kind needs, or a
 * string in it holds U+0000 (its text would be cut short where it is read), MOL_ENOMEM when
 * out of memory. Always call mol_a2a_response_free afterwards. */
int mol_a2a_response_parse(const char *body, size_t len, mol_a2a_version v,
                           mol_a2a_response *out);
void mol_a2a_response_free(mol_a2a_response *r);
/* The reply text a Molecule caller reads: a Message's text parts; for a Task the
 * text of its artifacts, else of its status message. malloc'd ("" when none), NULL on OOM. */
char *mol_a2a_response_text(const mol_a2a_response *r);

#endif
