/* connect_int.h - what the files of `molecule connect` share: its options, the message queue,
 * and the state of one run. The calls point one way: cmd_connect.c (main and shutdown) uses
 * connect_setup.c (options, registration) and connect_delivery.c (inbound poll, handler runs,
 * replies, cursor), which uses connect_queue.c and connect_handler.c. connect_delivery.c tells
 * main that its work has drained through the on_drained pointer, never by name. Push mode
 * (--listen) is connect_push.c, which main hands the whole run to. */
#ifndef MOL_CLI_CONNECT_INT_H
#define MOL_CLI_CONNECT_INT_H

#include <stddef.h>
#include <uv.h>

#include "base/holds.h"
#include "cli/connect_handler.h"
#include "molecule.h"

#define CONNECT_MAX_QUEUED 1000 /* messages waiting for the handler, by default */
#define CONNECT_SEEN_IDS 256    /* activity ids remembered to skip rows the platform repeats */

/* ---- options (connect_setup.c) ------------------------------------------------------------ */

typedef struct {
  mol_platform_opts po;
  const char *handler, *agent_name, *token;
  unsigned interval_s, heartbeat_s, handler_timeout_s;
  int verbose;
  char cursor[1024];
  /* push mode: --listen (host and port parsed), --reported-url / MOLECULE_REPORTED_URL (with
   * its trailing '/'; "" = derived from the listener), --max-handlers (0 = the default) */
  const char *listen;
  char host[128];
  int port;
  char reported_url[2048];
  unsigned max_handlers;
  unsigned max_queued;            /* poll mode: messages waiting for the handler (0 = 1000) */
} connect_opts;

/* Reads the flags. Returns -1 to go on, or the exit status (0 after --help, 2 on misuse). */
int mol_cli__connect_parse_args(int argc, char **argv, connect_opts *o);
/* Fills what the flags left unset from the environment and the defaults. 0 or exit status. */
int mol_cli__connect_resolve_opts(connect_opts *o);
/* mol_platform_client_new, a refusal said with the argument at fault. 0 or exit status 2. */
int mol_cli__connect_client_new(uv_loop_t *loop, const connect_opts *o, mol_platform_client **out);
/* Registers the workspace (poll mode), running the loop until the answer. 0 or an error. */
int mol_cli__connect_register(uv_loop_t *loop, mol_platform_client *client, const connect_opts *o);

/* ---- push mode (connect_push.c) ------------------------------------------------------------ */

/* The whole run in push mode, on the default loop; returns the exit status. */
int mol_cli__connect_push_run(const connect_opts *o);

/* ---- the message queue and the ids already taken (connect_queue.c) ------------------------ */

typedef struct connect_msg {
  struct connect_msg *next;
  mol_platform_message m; /* every string is owned */
} connect_msg;

typedef struct {
  connect_msg *head, *tail;
  size_t n;
} connect_queue;

typedef struct {
  char ids[CONNECT_SEEN_IDS][64];
  size_t next;
} connect_seen;

/* A copy of a message that is borrowed only for the callback; NULL when out of memory. */
connect_msg *mol_cli__connect_msg_copy(const mol_platform_message *m);
void mol_cli__connect_msg_free(connect_msg *q);
void mol_cli__connect_queue_push(connect_queue *q, connect_msg *msg);
connect_msg *mol_cli__connect_queue_pop(connect_queue *q);
void mol_cli__connect_queue_clear(connect_queue *q);
int mol_cli__connect_seen_has(const connect_seen *s, const char *id);
void mol_cli__connect_seen_add(connect_seen *s, const char *id);

/* ---- one run (connect_delivery.c) --------------------------------------------------------- */

typedef struct connect_ctx connect_ctx;

struct connect_ctx {
  uv_loop_t *loop;
  mol_platform_client *client;
  const char *handler;
  unsigned handler_timeout_ms;
  connect_queue queue;
  connect_seen seen;
  connect_handler *running;       /* the handler of current, while it runs */
  connect_msg *current;
  uv_timer_t poll_timer;          /* the inbound poll (ours, not mol_platform_run's); the
                                     holds' last handle */
  mol_holds holds;                /* the delivery's own until stopped; the running handler, each
                                     reply and the poll in flight */
  mol_platform_req *fetch;        /* the inbound poll in flight */
  unsigned poll_interval_ms;
  size_t max_queued;              /* messages the queue holds at most */
  size_t batch;                   /* rows per inbound poll: 100, or max_queued when fewer */
  int paused;                     /* polls are skipped: the queue cannot take a whole batch */
  int ending;                     /* the platform loop has ended: drain, then close */
  char resume[64];                /* the cursor to leave behind: the last message whose handler
                                     finished ("" = the cursor was empty at start) */
  void (*on_drained)(connect_ctx *cx); /* once stopped and nothing is in flight (never inside
                                           mol_cli__connect_delivery_stop) */
  int closing;                    /* mol_platform_client_close has been called */
  int exit_code;
};

/* Starts the inbound poll (at once: the backlog) and the handler runs; at most max_queued
 * messages wait for the handler (0: CONNECT_MAX_QUEUED). */
void mol_cli__connect_delivery_start(connect_ctx *cx, unsigned interval_ms, unsigned max_queued);
/* The loop has ended: stop polling, leave the cursor after the last message handled, drop
 * the queue, stop the running handler. on_drained follows once the work has drained. */
void mol_cli__connect_delivery_stop(connect_ctx *cx);

#endif
