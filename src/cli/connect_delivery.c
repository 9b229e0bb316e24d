/* connect_delivery.c - how `molecule connect` moves messages: its own inbound poll (paused
 * while the queue cannot take a whole batch), the queue feeding one handler at a time, the
 * reply of each, and the cursor: moved past a batch only once all of it is queued, and set
 * back on the way out to the last message whose handler finished, so that a restart delivers
 * the rest (at least once) and replays nothing handled. */
#include <signal.h>
#include <stdio.h>

#include "cli/connect_int.h"

#define FETCH_BATCH 100 /* rows per inbound poll (fewer if the queue holds fewer); one is
                          made only when all would fit */

static void start_next(connect_ctx *cx);

/* The holds' finish: stopped, and no handler, reply or poll is in flight. */
static void drained(void *arg) {
  connect_ctx *cx = arg;
  cx->on_drained(cx);
}

/* ---- replies ------------------------------------------------------------------------------ */

static void on_replied(int err, const mol_platform_result *res, void *arg) {
  connect_ctx *cx = arg;
  if (err)
    fprintf(stderr, "[molecule] reply failed: %s (HTTP %d)\n", mol_strerror(err), res->http_status);
  mol_holds_drop(&cx->holds); /* the reply's */
}

static void send_reply(connect_ctx *cx, const connect_msg *q, char *text, size_t len) {
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
  int rc = mol_platform_reply(cx->client, &q->m, text, NULL, on_replied, cx, NULL);
  if (rc == 0) mol_holds_take(&cx->holds); /* until on_replied */
  else if (rc != MOL_EINVAL || len) /* EINVAL with blank output just means "no reply" */
    fprintf(stderr, "[molecule] cannot reply to %s: %s\n", q->m.activity_id, mol_strerror(rc));
}

/* ---- handler runs, one at a time ------------------------------------------------------------ */

/* The outcome of a handler that ran (one that could not even start has been logged; nothing
 * else happens): while running normally, reply, count it for the heartbeat's error rate and
 * move the resume point past the message; on the way out, the message is left for a restart. */
static void on_handled(const connect_handler_result *res, void *arg) {
  connect_ctx *cx = arg;
  connect_msg *q = cx->current;
  if (res->started && !res->ok)
    fprintf(stderr, "[molecule] handler %s for %s (status %lld, signal %d); no reply\n",
            res->timed_out ? "timed out" : "failed", q->m.activity_id,
            (long long)res->exit_status, res->term_signal);
  if (res->started && !cx->ending) {
    if (res->ok) send_reply(cx, q, res->output, res->len);
    mol_platform_record_outcome(cx->client, res->ok, res->ok ? NULL : "handler failed");
    snprintf(cx->resume, sizeof cx->resume, "%s", q->m.activity_id);
  }
  mol_cli__connect_msg_free(q);
  cx->current = NULL;
  cx->running = NULL;
  start_next(cx); /* nothing while ending */
  mol_holds_drop(&cx->holds); /* the handler's */
}

static void start_next(connect_ctx *cx) {
  connect_msg *q;
  while (!cx->running && !cx->ending && (q = mol_cli__connect_queue_pop(&cx->queue))) {
    cx->current = q;
    if (mol_cli__connect_handler_start(cx->loop, cx->handler, cx->handler_timeout_ms, &q->m,
                                       on_handled, cx, &cx->running) == 0) {
      mol_holds_take(&cx->holds); /* until on_handled */
      return;
    }
    fprintf(stderr, "[molecule] cannot start the handler for %s: out of memory; skipped\n",
            q->m.activity_id);
    mol_cli__connect_msg_free(q);
    cx->current = NULL;
    cx->running = NULL;
  }
}

/* ---- the inbound poll --------------------------------------------------------------------- */

/* 1 when the message is taken care of (queued, or skipped as a repeat or a row without id);
 * 0 when it cannot be queued now: the cursor must then stay before it. */
static int take_message(connect_ctx *cx, const mol_platform_message *m) {
  if (!m->activity_id || !*m->activity_id || mol_cli__connect_seen_has(&cx->seen, m->activity_id))
    return 1;
  connect_msg *q = cx->queue.n < cx->max_queued ? mol_cli__connect_msg_copy(m) : NULL;
  if (!q) return 0;
  mol_cli__connect_seen_add(&cx->seen, m->activity_id);
  mol_cli__connect_queue_push(&cx->queue, q);
  start_next(cx);
  return 1;
}

/* Queues a fetched batch (oldest first) and moves the cursor past what was queued, never past
 * a message that was not: it is fetched again by a later poll. */
static void take_batch(connect_ctx *cx, const mol_platform_result *res) {
  size_t n = 0;
  while (n < res->nmessages && take_message(cx, &res->messages[n])) n++;
  if (n < res->nmessages)
    fprintf(stderr, "[molecule] cannot queue %s now (out of memory); it will be fetched again\n",
            res->messages[n].activity_id);
  if (n) mol_platform_set_cursor(cx->client, res->messages[n - 1].activity_id);
}

static void on_poll_due(uv_timer_t *t);

static void poll_later(connect_ctx *cx) {
  if (!cx->ending) uv_timer_start(&cx->poll_timer, on_poll_due, cx->poll_interval_ms, 0);
}

static void on_fetched(int err, const mol_platform_result *res, void *arg) {
  connect_ctx *cx = arg;
  cx->fetch = NULL;
  if (!cx->ending) {
    if (!err) take_batch(cx, res);
    else if (!res->cursor_lost) /* a lost cursor is reset by the client and logged there */
      fprintf(stderr, "[molecule] inbound poll failed: %s (HTTP %d); retrying\n",
              mol_strerror(err), res->http_status);
    poll_later(cx);
  }
  mol_holds_drop(&cx->holds); /* the poll's */
}

/* A poll is made only when the queue can take a whole batch: while the handler is behind, the
 * messages wait on the platform instead of being fetched and dropped. Without a cursor (the
 * first start) the platform answers with the newest rows; they come oldest first. */
static void on_poll_due(uv_timer_t *t) {
  connect_ctx *cx = t->data;
  if (cx->ending || cx->fetch) return;
  if (cx->max_queued - cx->queue.n < cx->batch) {
    if (!cx->paused)
      fprintf(stderr, "[molecule] %zu messages waiting for the handler; fetching paused until "
                      "it catches up\n", cx->queue.n);
    cx->paused = 1;
    poll_later(cx);
    return;
  }
  cx->paused = 0;
  mol_platform_fetch_opts fo = {.limit = (unsigned)cx->batch};
  int rc = mol_platform_fetch_inbound(cx->client, &fo, NULL, on_fetched, cx, &cx->fetch);
  if (!rc) {
    mol_holds_take(&cx->holds); /* until on_fetched */
    return;
  }
  cx->fetch = NULL;
  fprintf(stderr, "[molecule] cannot poll the inbound messages: %s\n", mol_strerror(rc));
  poll_later(cx);
}

/* A restart resumes after the cursor left behind; until a handler finishes, that is also the
 * cursor to leave behind on exit. */
void mol_cli__connect_delivery_start(connect_ctx *cx, unsigned interval_ms, unsigned max_queued) {
  const char *cursor = mol_platform_cursor(cx->client);
  cx->max_queued = max_queued ? max_queued : CONNECT_MAX_QUEUED;
  cx->batch = cx->max_queued < FETCH_BATCH ? cx->max_queued : FETCH_BATCH;
  snprintf(cx->resume, sizeof cx->resume, "%s", cursor ? cursor : "");
  cx->poll_interval_ms = interval_ms;
  uv_timer_init(cx->loop, &cx->poll_timer);
  cx->poll_timer.data = cx;
  mol_holds_init(&cx->holds, (uv_handle_t *)&cx->poll_timer, drained, cx);
  uv_timer_start(&cx->poll_timer, on_poll_due, 0, 0); /* the backlog, at once */
}

void mol_cli__connect_delivery_stop(connect_ctx *cx) {
  cx->ending = 1;
  uv_timer_stop(&cx->poll_timer);
  mol_platform_cancel(cx->fetch); /* its callback comes later */
  /* The cursor is past messages not handled yet (queued, or the one being killed now):
   * leave it after the last one handled, so a restart delivers them (at least once). */
  if (cx->queue.head || cx->running)
    mol_platform_set_cursor(cx->client, cx->resume[0] ? cx->resume : NULL);
  mol_cli__connect_queue_clear(&cx->queue);
  if (cx->running) mol_cli__connect_handler_kill(cx->running, SIGTERM);
  mol_holds_drop(&cx->holds); /* the delivery's own: on_drained once the rest has let go */
}
