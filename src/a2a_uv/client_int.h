/* client_int.h - internals shared by client.c (lifecycle, unary calls, card) and
 * client_stream.c (SSE streams). Not a public header. */
#ifndef MOL_A2A_UV_CLIENT_INT_H
#define MOL_A2A_UV_CLIENT_INT_H

#include <stdint.h>

#include "a2a/sse_parse.h"
#include "a2a_uv/client.h"
#include "base/buf.h"
#include "base/holds.h"

typedef enum { CALL_UNARY, CALL_STREAM, CALL_CARD } a2a_call_kind;

/* One parsed SSE event waiting for delivery (held while the consumer has paused). */
typedef struct a2a_event {
  struct a2a_event *next;
  int is_error; /* `event: error` */
  size_t len;
  char data[];
} a2a_event;

struct mol_a2a_client {
  uv_loop_t *loop;
  mol_http_client *http;
  char *base_url; /* without trailing '/', for the card paths */
  char *rpc_url;
  mol_a2a_version version;
  mol_http_header *headers; /* caller's extra headers, copied */
  size_t nheaders;
  unsigned timeout_ms, connect_timeout_ms, idle_timeout_ms;
  size_t max_body_bytes, max_event_bytes;
  int insecure;
  mol_a2a_call *calls; /* calls whose done callback has not fired yet */
  mol_holds holds;     /* the client's own until close, and one per call not yet freed */
  uv_timer_t defer;    /* the holds' last handle: only ever closed */
  int closing;
  void (*close_cb)(void *arg);
  void *close_arg;
};

struct mol_a2a_call {
  mol_a2a_client *c;
  mol_a2a_call *prev, *next;
  a2a_call_kind kind;
  mol_a2a_method method;
  json_t *id;             /* our JSON-RPC id; the answer must echo it */
  mol_http_request *http; /* NULL once the HTTP request completed */
  uv_timer_t timer;       /* deferred completion, resumed delivery, deadline while held */
  mol_a2a_done_cb cb;
  mol_a2a_event_cb on_event;
  void *arg;
  uint64_t deadline; /* uv_now() based */
  int abort_err;     /* set once: the call ends with this when the HTTP side is done */
  int finished;      /* the done callback fired */

  mol_a2a_result res;
  mol_buf detail, text;
  mol_buf raw; /* the start of an answer that is not JSON-RPC (res->body) */
  char *task_id;
  mol_a2a_response resp; /* the answer, or the last event delivered */
  json_t *card;
  char *card_url;
  int card_fallback; /* already tried /.well-known/agent.json */

  /* streams */
  mol_a2a_sse_parser sse;
  a2a_event *q_head, *q_tail;
  int paused, is_sse, http_done, final_seen;
  int open_snapshot; /* final_seen came from a resubscribe's snapshot of an interrupted task:
                        a peer may close there (a2a-js) or stream the task's next turn (we do) */
  mol_buf body; /* a non-SSE answer to a stream request */
};

/* client_push.c: reads a push method's answer into the v0.3 shape (client.h). 0 or
 * MOL_EBADRESP / MOL_ENOMEM. */
int mol_a2a__client_push_answer(mol_a2a_call *call);
/* client_push.c: the PushNotificationConfig object to send inline in version v. */
json_t *mol_a2a__client_push_inline(const mol_a2a_push_config *cfg, mol_a2a_version v);

/* client.c */
int mol_a2a__client_call_new(mol_a2a_client *c, a2a_call_kind kind, mol_a2a_method m,
                             const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                             mol_a2a_call **out);
/* Frees a call whose HTTP request could not be started (its callback never fires). */
void mol_a2a__client_call_discard(mol_a2a_call *call);
/* A JSON-RPC error answer: fills res.rpc_* and returns MOL_ERPC (MOL_EBADRESP when the error
 * is for another request id). */
int mol_a2a__client_rpc_error(mol_a2a_call *call, const mol_a2a_response *r);
void mol_a2a__client_finish(mol_a2a_call *call, int err);
/* Ends the call with err (the first reason wins): cancels the HTTP request, or, when it is
 * already done, completes on the next loop iteration. Returns err. */
int mol_a2a__client_fail(mol_a2a_call *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads a complete JSON-RPC answer into call->resp; 0 or the MOL_E* the call ends with. */
int mol_a2a__client_read_answer(mol_a2a_call *call, int status, const char *body, size_t len);
/* 1 when a message/send answer's body is the platform proxy's hand-off ({"queued":true} or
 * {"status":"queued",...}, no "jsonrpc"). Read with the scanner; _dom: with jansson (the
 * agreement test holds them to the same verdict). */
int mol_a2a__proxy_queued(const char *body, size_t len);
int mol_a2a__proxy_queued_dom(const char *body, size_t len);
/* Records the task id and text of a result or event. */
void mol_a2a__client_note_result(mol_a2a_call *call, const mol_a2a_response *r, int append_text);
int mol_a2a__client_send_http(mol_a2a_call *call, const char *method, const char *url,
                              const char *body, int stream);
void mol_a2a__client_arm_deadline(mol_a2a_call *call);

/* client_calls.c */
void mol_a2a__client_card_done(mol_a2a_call *call, const mol_http_response *resp);

/* client_stream.c */
void mol_a2a__client_stream_init(mol_a2a_call *call);
void mol_a2a__client_stream_free(mol_a2a_call *call);
int mol_a2a__client_stream_on_headers(mol_http_request *r, const mol_http_response *resp,
                                      void *arg);
int mol_a2a__client_stream_on_body(mol_http_request *r, const char *data, size_t len, void *arg);
void mol_a2a__client_stream_http_done(mol_a2a_call *call, int err, const mol_http_response *resp);
/* Delivers held events while not paused; ends the call when the stream is over. */
void mol_a2a__client_stream_drain(mol_a2a_call *call);

#endif
