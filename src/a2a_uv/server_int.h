/* server_int.h - shared by server.c (routes, lifecycle) and server_call.c (requests). */
#ifndef MOL_A2A_UV_SERVER_INT_H
#define MOL_A2A_UV_SERVER_INT_H

#include "a2a/codec.h"
#include "a2a_uv/durable.h"
#include "a2a_uv/server.h"
#include "a2a_uv/turn.h"
#include "base/holds.h"

typedef struct a2a_call a2a_call;

/* The card, serialised once per mol_a2a_card_flavor, with its ETag. */
typedef struct {
  char *text[3];
  char etag[3][24];            /* "\"<16 hex of sha256>\"" */
} mol_a2a__cards;

struct mol_a2a_server {
  uv_loop_t *loop;
  const mol_a2a_executor *executor;
  mol_a2a_store *store;
  mol_http_server *http;       /* the routes this server added live there */
  mol_a2a__cards *cards;       /* serialised at creation; NULL: built per request (card_fill) */
  int (*card_fill)(void *arg, mol_a2a_card *card, mol_a2a_skill *skill);
  void *card_arg;
  int extended;                /* an extended card is configured */
  int streaming;               /* the card advertises streaming */
  size_t prefix_len;           /* of the routes' path prefix */
  json_t *ext_card[2];         /* the extended card per version (v0.3, v1.0), or NULL */
  json_t *pub_card[2];         /* the public card, for callers without the credentials */
  char *ext_token;             /* the bearer token the extended card wants, or NULL */
  mol_a2a_push_opts push;      /* push.http NULL: push notifications are off */
  mol_a2a_pusher *pusher;      /* made on first use (mol_a2a__pusher); NULL before, or closed */
  mol_a2a_durable *durable;    /* the durable task store, or NULL (in memory only) */
  mol_a2a_push_stats push_last;/* the pusher's counters when it closed */
  uv_timer_t sweep;            /* also the holds' last handle */
  mol_holds holds;             /* the server's own until close, and one per live turn */
  unsigned cancel_wait_ms;
  unsigned worker, workers;    /* see mol_a2a_server_opts */
  int (*forward)(mol_http_req *r, unsigned owner, void *arg);
  void *forward_arg;
  unsigned long long requests, turns;
  unsigned live_turns, open_streams;
  int draining, closing;
  a2a_call *running;           /* calls whose turn is running */
  void (*close_cb)(void *);
  void *close_arg;
};

/* Answers with a body (malloc'd, freed here; NULL answers a JSON-RPC internal error). */
void mol_a2a__answer_body(mol_http_req *r, char *body);
/* Answers with a body that reports the state of task_id (NULL: of any task): held until the
 * durable store has committed it (durable.h), sent at once otherwise. */
void mol_a2a__answer_state(mol_a2a_server *s, mol_http_req *r, const char *task_id, char *body);
/* durable.c's release: sends a held reply (saved 0: as an error, what it reports is not saved). */
void mol_a2a__release(mol_a2a_held_kind kind, mol_http_req *r, const char *event, char *body,
                      int saved);
/* Answers req with a JSON-RPC error and frees req. */
void mol_a2a__answer_error(mol_http_req *r, mol_a2a_request *req, int code, const char *message);

/* Each takes ownership of req. */
void mol_a2a__call_send(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
void mol_a2a__call_get(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
void mol_a2a__call_cancel(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
void mol_a2a__call_resubscribe(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
void mol_a2a__call_list(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
/* server_push.c: the pusher, made on first use (most agents of a host never see a push
 * config): 0, MOL_A2A_PUSH_NOT_SUPPORTED (push off, or the server closing) or
 * MOL_A2A_INTERNAL_ERROR (out of memory). */
int mol_a2a__pusher(mol_a2a_server *s);
/* server_push.c: the push-config methods (set, get, list, delete). */
void mol_a2a__call_push(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);
/* server_push.c: a config given inline with message/send. Before the task exists: 0, or an
 * error code (with err) to answer instead. */
int mol_a2a__push_inline_check(mol_a2a_server *s, mol_a2a_request *req, mol_a2a_push_config *cfg,
                               mol_a2a_error *err);
/* ... and once the task exists (takes cfg's strings). 0 or an error code (with err). */
int mol_a2a__push_inline_attach(mol_a2a_server *s, mol_a2a_task *t, mol_a2a_push_config *cfg,
                                mol_a2a_error *err);
/* server_push.c: the store's push observer. */
void mol_a2a__push_on_event(mol_a2a_task *t, const mol_a2a_event *ev, void *arg);

void mol_a2a__calls_cancel_all(mol_a2a_server *s);

/* server.c: routes a parsed request to its method (takes ownership of req). */
void mol_a2a__dispatch(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req);

/* server_rest.c: the HTTP+JSON binding at <prefix>/v1/. An HTTP request it took is answered
 * the REST way: mol_a2a__answer_body and the stream writes look here. */
int mol_a2a__rest_routes(mol_a2a_server *s, mol_http_server *http, const char *prefix);
extern const char mol_a2a__rest_marker; /* the data of an HTTP request taken by REST */
static inline int mol_a2a__is_rest(mol_http_req *r) {
  return mol_http_req_data(r) == &mol_a2a__rest_marker;
}
/* Answers a JSON-RPC answer body (taken) as REST: its result, or its error as a status. */
void mol_a2a__rest_answer(mol_http_req *r, char *body);
/* A stream event's JSON-RPC body as REST (malloc'd; NULL out of memory); *is_error when it
 * carried an error. */
char *mol_a2a__rest_event(const char *body, int *is_error);

#endif
