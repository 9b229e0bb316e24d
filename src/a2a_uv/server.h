/* server.h - the A2A server binding: JSON-RPC and SSE over the HTTP server, turns over the
 * task engine, the agent card.
 *
 * Routes, under an optional path prefix (so many agents can share one listener):
 *   POST <prefix>/                              JSON-RPC (v0.3; v1.0 with A2A-Version: 1.0)
 *   GET  <prefix>/.well-known/agent-card.json   the card (also at /.well-known/agent.json)
 *   GET  <prefix>/health                        {"status":"ok"}
 * Every JSON-RPC answer, errors included, goes out with HTTP 200 and echoes the request id
 * with its JSON type. message/stream and tasks/resubscribe answer with SSE: the task first,
 * then each event as `data: <one-line JSON>\n\n`, closed after the final event.
 *
 * message/send answers with the executor's Message when it replied directly, otherwise with
 * the Task once its turn is over (or at once with configuration.blocking false). A client that
 * disconnects does not cancel its task; tasks/cancel does, ending every turn running on it.
 * Terminal tasks are kept for the store's TTL, and evicted earlier (the one that ended first
 * first) when the store's memory budget is needed for new tasks; never while live or in use.
 */
#ifndef MOL_A2A_UV_SERVER_H
#define MOL_A2A_UV_SERVER_H

#include <uv.h>

#include "a2a/card.h"
#include "a2a_uv/executor.h"
#include "a2a_uv/pusher.h"
#include "a2a/task.h"
#include "a2a/task_backend.h"
#include "http/server.h"

typedef struct mol_a2a_server mol_a2a_server;

typedef struct {
  const mol_a2a_card *card;        /* required (or card_fill); copied (as JSON) at creation */
  /* Instead of card: the card written afresh for each request for it (and once at creation,
   * to check it) from what card_fill(card_arg, card, skill) puts in *card (zeroed first; it
   * may point card->skills at *skill, room for one). Returns 0, or non-zero when it cannot
   * (answered 500). For many servers in one process: each then keeps no serialised card. The
   * strings it points to need only last until the call that asked for them has returned. */
  int (*card_fill)(void *arg, mol_a2a_card *card, mol_a2a_skill *skill);
  void *card_arg;
  const mol_a2a_executor *executor;/* required; must outlive the server */
  mol_a2a_store_opts store;        /* bounds of the task store (zero = defaults) */
  const char *prefix;              /* "" or NULL = routes at the root; else "/agents/x" */
  unsigned sweep_interval_ms;      /* TTL sweep of terminal tasks, 0 -> 30 s */
  unsigned cancel_wait_ms;         /* tasks/cancel waits this long for the executor to stop
                                      before answering with the task as it is, 0 -> 10 s */
  /* The extended card (agent/getAuthenticatedExtendedCard, GetExtendedAgentCard); NULL = none
   * (-32007). Copied at creation; its url defaults to the public card's. The public card then
   * says supportsAuthenticatedExtendedCard / capabilities.extendedAgentCard. */
  const mol_a2a_card *extended_card;
  /* When set, only a request carrying `Authorization: Bearer <token>` gets the extended card;
   * others get the public card (as the reference SDK answers an unauthenticated caller). */
  const char *extended_card_token;
  /* Push notifications (pusher.h): push.http set turns them on (the card then says
   * pushNotifications:true and the push-config methods work); NULL answers them -32003. */
  mol_a2a_push_opts push;
  /* A durable task store (durable.h): tasks saved in data_dir through data_backend (NULL:
   * mol_a2a_task_backend_default(); the `molecule` command gives SQLite's), read back
   * at start, replies held until what they report is committed. NULL = in memory only.
   * sync_full: every commit on stable storage (survives a power loss), else it survives a
   * process crash. */
  const char *data_dir;
  const mol_a2a_task_backend *data_backend;
  int sync_full;
  /* Several servers behind one port, one per worker loop (`molecule serve --workers N`): this
   * is worker `worker` of `workers` (0 or 1 = alone). Its task ids carry `worker` (store.h's
   * tag_ids), and a request naming a task of another worker (tasks/get, tasks/cancel,
   * tasks/resubscribe, the push-config methods, a message continuing a task; JSON-RPC or
   * REST) goes to forward(r, owner, arg) untouched: forward answers r (by passing it on to
   * the owner) and returns 0, or returns non-zero and the request is answered here.
   * tasks/list (ListTasks) only sees one worker's tasks: it is refused (-32004) then. */
  unsigned worker, workers;
  int (*forward)(mol_http_req *r, unsigned owner, void *arg);
  void *forward_arg;
} mol_a2a_server_opts;

/* Registers the routes on http (which the caller listens on and closes). Returns 0,
 * MOL_EINVAL (missing card or executor, bad card) or MOL_ENOMEM. */
int mol_a2a_server_new(uv_loop_t *loop, mol_http_server *http, const mol_a2a_server_opts *opts,
                       mol_a2a_server **out);

/* Counters, for metrics and tests. */
typedef struct {
  unsigned long long requests;     /* JSON-RPC requests answered */
  unsigned long long turns;        /* turns started */
  unsigned live_turns;
  unsigned open_streams;
  size_t tasks;                    /* tasks in the store */
  size_t task_bytes;               /* what they hold, against the store's max_bytes */
  unsigned long long tasks_evicted;/* terminal tasks evicted early to make room */
  unsigned long long tasks_expired;/* terminal tasks dropped at the end of their TTL */
  size_t push_configs;             /* push-notification configs stored */
  mol_a2a_push_stats push;         /* deliveries (all zero when push is off) */
} mol_a2a_server_stats;
void mol_a2a_server_stats_get(const mol_a2a_server *s, mol_a2a_server_stats *out);

/* The task of that id in the server's store, or NULL: for an executor wrapping another that
 * listens on its turns' tasks (mol_a2a_task_subscribe; mol_a2a_turn_task_id names the task). */
mol_a2a_task *mol_a2a_server_task(const mol_a2a_server *s, const char *task_id);

/* Stops admitting turns: message/send and message/stream get -32603 "server shutting down";
 * reads (tasks/get, cancel, resubscribe) still work. Live turns go on. */
void mol_a2a_server_drain(mol_a2a_server *s);

/* Removes this server's routes from the HTTP server (which may keep serving others), asks
 * every live turn to cancel, waits for them to end (their blocking sends and streams are
 * answered then), frees the store and the server, then calls cb(arg) once (never inside this
 * call). The HTTP server must still be alive: to stop both, close this one first and the HTTP
 * server in cb. For a graceful stop, drain first and close once the live turns are done. */
void mol_a2a_server_close(mol_a2a_server *s, void (*cb)(void *arg), void *arg);

#endif
