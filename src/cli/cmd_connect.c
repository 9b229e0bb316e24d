/* cmd_connect.c - `molecule connect`: a poll-mode remote agent in one command.
 *
 * Registers the workspace in poll mode (remote://no-inbound), then runs the platform client's
 * loop: heartbeat, state poll and inbound poll. Each inbound message is handed to a handler
 * command (`/bin/sh -c CMD`, uv_spawn): the message text on its stdin, its stdout (trailing
 * newlines stripped) is the reply, sent back with mol_platform_reply (to the peer's A2A proxy,
 * or to the canvas through notify). Messages are handled one at a time, in order. Pause,
 * delete, SIGINT and SIGTERM end it with exit status 0.
 *
 * Where the Python SDK's `python -m molecule_agent connect` is wrong, this does otherwise
 * (contracts/sdk-parity.md §4.1, §9.3-13): the environment really does satisfy --platform-url
 * and --workspace-id (PLATFORM_URL / MOLECULE_PLATFORM_URL, WORKSPACE_ID /
 * MOLECULE_WORKSPACE_ID); the token directory, org id and heartbeat interval are flags; the
 * workspace re-registers with its saved token on every start (the platform's hijack guard
 * passes), so a restart works; the inbound cursor is kept in <token-dir>/.inbound_cursor by
 * default, and on the way out it is set back to the last message whose handler finished, so a
 * restart neither replays handled messages nor skips unhandled ones; a signal stops the loop
 * between requests instead of raising inside one. See docs/connect.md.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/verbs_env.h"
#include "molecule.h"
#include "molecule/uv.h"

#define MAX_QUEUED 1000           /* messages waiting for the handler; past it, dropped */
#define MAX_REPLY (1024 * 1024)   /* handler output kept as the reply */
#define SEEN_IDS 256              /* activity ids remembered to drop redeliveries */

extern char **environ;

typedef struct queued_msg {
  struct queued_msg *next;
  mol_platform_message m;         /* every string below is owned */
} queued_msg;

typedef struct handler_run handler_run;

typedef struct {
  uv_loop_t *loop;
  mol_platform_client *client;
  const char *handler;
  unsigned handler_timeout_ms;
  queued_msg *head, *tail;
  size_t nqueued;
  handler_run *running;
  unsigned replies_in_flight;
  int ending;                     /* the platform loop has ended: drain, then close */
  int closing;                    /* mol_platform_client_close has been called */
  int primed;                     /* the backlog read at start has completed */
  char seen[SEEN_IDS][64];        /* ring of the latest activity ids handed to the handler */
  char resume[64];                /* the cursor to leave behind: the last message whose handler
                                     finished ("" = the cursor was empty at start) */
  size_t seen_next;
  int exit_code;
} connect_ctx;

struct handler_run {
  connect_ctx *cx;
  queued_msg *msg;
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_write_t wr;
  uv_timer_t timer;
  char *buf;
  size_t len;
  int exited, out_done, handles_open, timed_out;
  int64_t exit_status;
  int term_signal;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: molecule connect --handler CMD [--platform-url URL] [--workspace-id ID]\n"
          "                        [--token-dir DIR] [--token TOKEN] [--agent-name NAME]\n"
          "                        [--interval-s N] [--heartbeat-s N] [--cursor-file F]\n"
          "                        [--org-id ID] [--handler-timeout-s N] [--verbose]\n"
          "\n"
          "Registers WORKSPACE in poll mode, heartbeats, polls its state and its inbound\n"
          "messages, and runs CMD (with /bin/sh -c) once per message: the message text on\n"
          "stdin, the reply on stdout (empty output or a non-zero exit: no reply). The handler\n"
          "also gets MOLECULE_MESSAGE_SOURCE (canvas_user|peer_agent), MOLECULE_SOURCE_ID,\n"
          "MOLECULE_ACTIVITY_ID, MOLECULE_PEER_NAME, MOLECULE_PEER_ROLE, MOLECULE_PEER_CARD_URL,\n"
          "MOLECULE_MESSAGE_FILE (the raw message JSON) and the workspace identity, so that\n"
          "`molecule peers|delegate|notify|secrets|status` work in it. Exits 0 when the\n"
          "workspace is paused or deleted, or on SIGINT/SIGTERM; 2 when registration fails;\n"
          "1 on a persistent auth error.\n"
          "\n"
          "Environment: PLATFORM_URL (or MOLECULE_PLATFORM_URL), WORKSPACE_ID (or\n"
          "MOLECULE_WORKSPACE_ID), MOLECULE_WORKSPACE_TOKEN, MOLECULE_TOKEN_DIR, MOLECULE_ORG_ID,\n"
          "MOLECULE_ORIGIN, MOLECULE_CURSOR_FILE, MOLECULE_AGENT_NAME, MOLECULE_POLL_INTERVAL.\n"
          "Defaults: --token-dir ~/.molecule/<id>, --cursor-file <token-dir>/.inbound_cursor,\n"
          "--interval-s 5 (inbound and state polls), --heartbeat-s 30, --handler-timeout-s 300.\n");
}

/* ---- the message queue -------------------------------------------------------------------- */

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void msg_free(queued_msg *q) {
  if (!q) return;
  free((char *)q->m.activity_id);
  free((char *)q->m.source_id);
  free((char *)q->m.text);
  free((char *)q->m.peer_name);
  free((char *)q->m.peer_role);
  free((char *)q->m.agent_card_url);
  free((char *)q->m.raw_json);
  free(q);
}

/* The message is borrowed for the callback only, and the handler runs later: keep a copy. */
static queued_msg *msg_copy(const mol_platform_message *m) {
  queued_msg *q = calloc(1, sizeof(*q));
  if (!q) return NULL;
  q->m.source = m->source;
  q->m.activity_id = dup_or_empty(m->activity_id);
  q->m.source_id = dup_or_empty(m->source_id);
  q->m.text = dup_or_empty(m->text);
  q->m.peer_name = dup_or_empty(m->peer_name);
  q->m.peer_role = dup_or_empty(m->peer_role);
  q->m.agent_card_url = dup_or_empty(m->agent_card_url);
  q->m.raw_json = dup_or_empty(m->raw_json);
  if (!q->m.activity_id || !q->m.source_id || !q->m.text || !q->m.peer_name ||
      !q->m.peer_role || !q->m.agent_card_url || !q->m.raw_json) {
    msg_free(q);
    return NULL;
  }
  return q;
}

static queued_msg *queue_pop(connect_ctx *cx) {
  queued_msg *q = cx->head;
  if (!q) return NULL;
  cx->head = q->next;
  if (!cx->head) cx->tail = NULL;
  cx->nqueued--;
  return q;
}

static void queue_clear(connect_ctx *cx) {
  queued_msg *q;
  while ((q = queue_pop(cx))) msg_free(q);
}

/* ---- shutdown ----------------------------------------------------------------------------- */

static void on_client_closed(void *arg) {
  (void)arg;
  cli_signals_close(); /* nothing is left on the loop: uv_run returns */
}

/* Closes the client once nothing is left that needs it: the handler has finished and the
 * replies already sent have been answered (closing earlier would cut them off). */
static void maybe_close(connect_ctx *cx) {
  if (!cx->ending || cx->running || cx->replies_in_flight || cx->closing) return;
  cx->closing = 1;
  mol_platform_client_close(cx->client, on_client_closed, cx);
}

static const char *status_name(mol_platform_status st) {
  switch (st) {
  case MOL_PLATFORM_PAUSED: return "paused";
  case MOL_PLATFORM_DELETED: return "deleted";
  case MOL_PLATFORM_STOPPED: return "stopped";
  case MOL_PLATFORM_ERROR: return "error";
  default: return "ended";
  }
}

static void kill_handler(handler_run *hr, int signum);

static void on_loop_end(mol_platform_status st, int err, const char *server_status, void *arg) {
  connect_ctx *cx = arg;
  if (st == MOL_PLATFORM_STOPPED) {
    printf("[molecule] received signal - shutting down cleanly\n");
  } else if (st == MOL_PLATFORM_ERROR) {
    fprintf(stderr, "[molecule] platform loop failed: %s\n", mol_strerror(err));
    cx->exit_code = 1;
  } else {
    printf("[molecule] platform reports workspace %s - exiting\n",
           server_status && *server_status ? server_status : status_name(st));
  }
  fflush(stdout);
  cx->ending = 1;
  /* The loop's cursor is past messages not handled yet (queued, or the one being killed now):
   * leave it after the last one handled, so a restart delivers them (at least once). */
  if (cx->head || cx->running)
    mol_platform_set_cursor(cx->client, cx->resume[0] ? cx->resume : NULL);
  queue_clear(cx);
  if (cx->running) kill_handler(cx->running, SIGTERM);
  maybe_close(cx);
}

static void on_stop_signal(void *arg) {
  connect_ctx *cx = arg;
  if (!cx->ending) mol_platform_stop(cx->client);
}

/* ---- replies ------------------------------------------------------------------------------ */

static void on_replied(int err, const mol_platform_result *res, void *arg) {
  connect_ctx *cx = arg;
  cx->replies_in_flight--;
  if (err)
    fprintf(stderr, "[molecule] reply failed: %s (HTTP %d)\n", mol_strerror(err), res->http_status);
  maybe_close(cx);
}

static void send_reply(connect_ctx *cx, const queued_msg *q, char *text, size_t len) {
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
  int rc = mol_platform_reply(cx->client, &q->m, text, NULL, on_replied, cx, NULL);
  if (rc == 0) cx->replies_in_flight++;
  else if (rc != MOL_EINVAL || len) /* EINVAL with blank output just means "no reply" */
    fprintf(stderr, "[molecule] cannot reply to %s: %s\n", q->m.activity_id, mol_strerror(rc));
}

/* ---- the handler process ------------------------------------------------------------------ */

static void start_next(connect_ctx *cx);

static void run_free(handler_run *hr) {
  connect_ctx *cx = hr->cx;
  msg_free(hr->msg);
  free(hr->buf);
  free(hr);
  cx->running = NULL;
  if (cx->ending) maybe_close(cx);
  else start_next(cx);
}

static void on_handle_closed(uv_handle_t *h) {
  handler_run *hr = h->data;
  if (--hr->handles_open == 0) run_free(hr);
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, on_handle_closed);
}

/* Both the exit status and the end of stdout are in: reply, then release the handles. */
static void run_finish(handler_run *hr) {
  connect_ctx *cx = hr->cx;
  int ok = hr->exit_status == 0 && hr->term_signal == 0;
  if (ok && !cx->ending) send_reply(cx, hr->msg, hr->buf ? hr->buf : "", hr->len);
  if (!ok)
    fprintf(stderr, "[molecule] handler %s for %s (status %lld, signal %d); no reply\n",
            hr->timed_out ? "timed out" : "failed", hr->msg->m.activity_id,
            (long long)hr->exit_status, hr->term_signal);
  if (!cx->ending) {
    mol_platform_record_outcome(cx->client, ok, ok ? NULL : "handler failed");
    snprintf(cx->resume, sizeof cx->resume, "%s", hr->msg->m.activity_id);
  }
  uv_timer_stop(&hr->timer);
  close_handle((uv_handle_t *)&hr->timer);
  close_handle((uv_handle_t *)&hr->proc);
  close_handle((uv_handle_t *)&hr->in);
  close_handle((uv_handle_t *)&hr->out);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  handler_run *hr = p->data;
  hr->exited = 1;
  hr->exit_status = status;
  hr->term_signal = term_signal;
  if (hr->out_done) run_finish(hr);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  handler_run *hr = h->data;
  size_t want = hr->len + suggested + 1;
  char *nb = hr->len + 1 < MAX_REPLY ? realloc(hr->buf, want) : NULL;
  if (nb) hr->buf = nb;
  *b = uv_buf_init(nb ? nb + hr->len : NULL, nb ? (unsigned)suggested : 0);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  handler_run *hr = s->data;
  (void)b;
  if (n > 0) {
    hr->len += (size_t)n;
    hr->buf[hr->len] = '\0';
    if (hr->len < MAX_REPLY) return;
  } else if (n == 0) {
    return;
  }
  /* EOF, a read error, an allocation failure (no buffer) or the size bound: stop reading */
  uv_read_stop(s);
  hr->out_done = 1;
  if (hr->exited) run_finish(hr);
}

static void on_stdin_written(uv_write_t *w, int status) {
  handler_run *hr = w->data;
  (void)status; /* a handler that does not read its input is allowed (EPIPE) */
  close_handle((uv_handle_t *)&hr->in); /* EOF on the handler's stdin */
}

/* Signals the handler's whole process group (it may have exited while its children live). */
static void kill_handler(handler_run *hr, int signum) {
  if (!hr->out_done || !hr->exited) uv_kill(-hr->proc.pid, signum);
}

static void on_handler_timeout(uv_timer_t *t) {
  handler_run *hr = t->data;
  hr->timed_out = 1;
  kill_handler(hr, SIGKILL);
}

/* environ plus what the handler needs to know about the message. */
static char **handler_env(const mol_platform_message *m, char extra[6][1200]) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 7, sizeof(*env));
  if (!env) return NULL;
  memcpy(env, environ, n * sizeof(*env));
  const char *src = m->source == MOL_PLATFORM_SRC_CANVAS_USER ? "canvas_user"
                    : m->source == MOL_PLATFORM_SRC_PEER_AGENT ? "peer_agent" : "unknown";
  snprintf(extra[0], 1200, "MOLECULE_MESSAGE_SOURCE=%s", src);
  snprintf(extra[1], 1200, "MOLECULE_SOURCE_ID=%s", m->source_id);
  snprintf(extra[2], 1200, "MOLECULE_ACTIVITY_ID=%s", m->activity_id);
  snprintf(extra[3], 1200, "MOLECULE_PEER_NAME=%s", m->peer_name);
  snprintf(extra[4], 1200, "MOLECULE_PEER_ROLE=%s", m->peer_role);
  snprintf(extra[5], 1200, "MOLECULE_PEER_CARD_URL=%s", m->agent_card_url);
  for (int i = 0; i < 6; i++) env[n + i] = extra[i];
  return env;
}

static int spawn_handler(handler_run *hr) {
  connect_ctx *cx = hr->cx;
  char extra[6][1200];
  cli_connect_message_file(&hr->msg->m);
  char **env = handler_env(&hr->msg->m, extra);
  if (!env) return MOL_ENOMEM;
  char *args[] = {"/bin/sh", "-c", (char *)cx->handler, NULL};
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&hr->in},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&hr->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  /* Its own process group (setsid), so a timeout or a shutdown also reaches what the shell
   * started: a surviving grandchild would hold stdout open and the reply would never end. */
  uv_process_options_t po = {.exit_cb = on_exit_cb, .file = args[0], .args = args, .env = env,
                             .stdio_count = 3, .stdio = stdio, .flags = UV_PROCESS_DETACHED};
  int rc = uv_spawn(cx->loop, &hr->proc, &po);
  free(env);
  return rc;
}

static int feed_stdin(handler_run *hr) {
  const char *text = hr->msg->m.text;
  uv_buf_t b = uv_buf_init((char *)text, (unsigned)strlen(text));
  hr->wr.data = hr;
  return uv_write(&hr->wr, (uv_stream_t *)&hr->in, &b, 1, on_stdin_written);
}

static void start_handler(connect_ctx *cx, queued_msg *q) {
  handler_run *hr = calloc(1, sizeof(*hr));
  if (!hr) {
    msg_free(q);
    return;
  }
  hr->cx = cx;
  hr->msg = q;
  uv_pipe_init(cx->loop, &hr->in, 0);
  uv_pipe_init(cx->loop, &hr->out, 0);
  uv_timer_init(cx->loop, &hr->timer);
  hr->in.data = hr->out.data = hr->timer.data = hr->proc.data = hr;
  hr->handles_open = 3;
  cx->running = hr;
  int rc = spawn_handler(hr);
  if (rc) {
    fprintf(stderr, "[molecule] cannot start the handler: %s\n", uv_strerror(rc));
    hr->exited = hr->out_done = 1;
    hr->exit_status = 127;
    close_handle((uv_handle_t *)&hr->timer); /* no process handle to close */
    close_handle((uv_handle_t *)&hr->in);
    close_handle((uv_handle_t *)&hr->out);
    return;
  }
  hr->handles_open = 4;
  uv_timer_start(&hr->timer, on_handler_timeout, cx->handler_timeout_ms, 0);
  if (feed_stdin(hr)) close_handle((uv_handle_t *)&hr->in);
  uv_read_start((uv_stream_t *)&hr->out, on_alloc, on_read);
}

static void start_next(connect_ctx *cx) {
  if (cx->running || cx->ending) return;
  queued_msg *q = queue_pop(cx);
  if (q) start_handler(cx, q);
}

/* 1 when the id was handed over before; else remembers it: at-least-once delivery (a batch
 * replayed after a crash, or a cursor moved back on exit) must not reach the handler twice. */
static int seen_before(connect_ctx *cx, const char *id) {
  for (size_t i = 0; i < SEEN_IDS; i++)
    if (strcmp(cx->seen[i], id) == 0) return 1;
  snprintf(cx->seen[cx->seen_next++ % SEEN_IDS], sizeof cx->seen[0], "%s", id);
  return 0;
}

static void on_message(mol_platform_client *c, const mol_platform_message *m, void *arg) {
  connect_ctx *cx = arg;
  (void)c;
  if (!m->activity_id || !*m->activity_id || seen_before(cx, m->activity_id)) return;
  if (cx->nqueued >= MAX_QUEUED) {
    fprintf(stderr, "[molecule] %zu messages waiting for the handler; dropping %s\n",
            cx->nqueued, m->activity_id);
    return;
  }
  queued_msg *q = msg_copy(m);
  if (!q) return;
  if (cx->tail) cx->tail->next = q;
  else cx->head = q;
  cx->tail = q;
  cx->nqueued++;
  start_next(cx);
}

/* ---- options, registration, main ---------------------------------------------------------- */

typedef struct {
  mol_platform_opts po;
  const char *agent_name, *token;
  unsigned interval_s, heartbeat_s, handler_timeout_s;
  int verbose;
  char cursor[1024];
} connect_opts;

static unsigned env_seconds(const char *name, unsigned dflt) {
  const char *v = getenv(name);
  double d = v && *v ? atof(v) : 0;
  return d >= 1 ? (unsigned)d : dflt;
}

static int parse_args(int argc, char **argv, connect_opts *o, const char **handler) {
  static const struct option longopts[] = {
      {"platform-url", required_argument, NULL, 'u'}, {"workspace-id", required_argument, NULL, 'w'},
      {"token-dir", required_argument, NULL, 'd'},    {"token", required_argument, NULL, 't'},
      {"handler", required_argument, NULL, 'H'},      {"interval-s", required_argument, NULL, 'i'},
      {"heartbeat-s", required_argument, NULL, 'b'},  {"agent-name", required_argument, NULL, 'n'},
      {"cursor-file", required_argument, NULL, 'c'},  {"org-id", required_argument, NULL, 'o'},
      {"handler-timeout-s", required_argument, NULL, 'T'}, {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
    switch (c) {
    case 'u': o->po.platform_url = optarg; break;
    case 'w': o->po.workspace_id = optarg; break;
    case 'd': o->po.token_dir = optarg; break;
    case 't': o->token = optarg; break;
    case 'H': *handler = optarg; break;
    case 'i': o->interval_s = (unsigned)atoi(optarg); break;
    case 'b': o->heartbeat_s = (unsigned)atoi(optarg); break;
    case 'n': o->agent_name = optarg; break;
    case 'c': o->po.cursor_file = optarg; break;
    case 'o': o->po.org_id = optarg; break;
    case 'T': o->handler_timeout_s = (unsigned)atoi(optarg); break;
    case 'v': o->verbose = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "molecule connect: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  return -1;
}

/* Fills what the flags left unset from the environment and the defaults. 0 or exit status. */
static int resolve_opts(connect_opts *o, const char *handler) {
  if (!handler || !*handler) {
    fprintf(stderr, "molecule connect: --handler CMD is required\n");
    return 2;
  }
  if (mol_platform_opts_from_env(&o->po)) {
    fprintf(stderr, "molecule connect: the platform URL and workspace id are required "
                    "(--platform-url / PLATFORM_URL, --workspace-id / WORKSPACE_ID)\n");
    return 2;
  }
  if (!o->agent_name) o->agent_name = getenv("MOLECULE_AGENT_NAME");
  /* A token handed over by flag or environment is saved, as upstream's --token does, so a
   * restart without it still authenticates. */
  if (!o->token) o->token = o->po.token;
  if (!o->interval_s) o->interval_s = env_seconds("MOLECULE_POLL_INTERVAL", 5);
  if (!o->heartbeat_s) o->heartbeat_s = 30;
  if (!o->handler_timeout_s) o->handler_timeout_s = 300;
  if (!o->po.cursor_file) { /* a restart resumes after the last handled message */
    const char *home = getenv("HOME");
    if (o->po.token_dir) snprintf(o->cursor, sizeof o->cursor, "%s/.inbound_cursor", o->po.token_dir);
    else if (home) snprintf(o->cursor, sizeof o->cursor, "%s/.molecule/%s/.inbound_cursor", home, o->po.workspace_id);
    if (o->cursor[0]) o->po.cursor_file = o->cursor;
  }
  return 0;
}

typedef struct {
  int done, err, status;
} reg_result;

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  reg_result *r = arg;
  r->done = 1;
  r->err = err;
  r->status = res->http_status;
}

static int register_workspace(connect_ctx *cx, const connect_opts *o) {
  json_t *card = o->agent_name ? json_pack("{s:s}", "name", o->agent_name) : NULL;
  char *card_json = card ? json_dumps(card, JSON_COMPACT) : NULL;
  json_decref(card);
  mol_platform_register_opts ro = {.agent_card_json = card_json}; /* NULL: the default card */
  reg_result r = {0};
  int rc = mol_platform_register(cx->client, &ro, NULL, on_registered, &r, NULL);
  free(card_json);
  while (!rc && !r.done) uv_run(cx->loop, UV_RUN_ONCE);
  rc = rc ? rc : r.err;
  if (rc && r.status)
    fprintf(stderr, "[molecule] register failed: %s (HTTP %d)\n", mol_strerror(rc), r.status);
  else if (rc)
    fprintf(stderr, "[molecule] register failed: %s\n", mol_strerror(rc));
  return rc;
}

/* The backlog is read once at start, before the loop, so that the handler sees it in order
 * and the cursor is saved before the first poll (the client hands rows over oldest first). */
static void on_backlog(int err, const mol_platform_result *res, void *arg) {
  connect_ctx *cx = arg;
  cx->primed = 1;
  if (err) {
    fprintf(stderr, "[molecule] reading the inbound backlog failed: %s\n", mol_strerror(err));
    return;
  }
  if (res->nmessages) mol_platform_set_cursor(cx->client, res->messages[res->nmessages - 1].activity_id);
  for (size_t i = 0; i < res->nmessages; i++) on_message(cx->client, &res->messages[i], cx);
}

static void read_backlog(connect_ctx *cx) {
  const char *cursor = mol_platform_cursor(cx->client);
  if (cursor) {
    snprintf(cx->resume, sizeof cx->resume, "%s", cursor);
    return;
  }
  if (mol_platform_fetch_inbound(cx->client, NULL, NULL, on_backlog, cx, NULL)) return;
  while (!cx->primed) uv_run(cx->loop, UV_RUN_ONCE);
}

static int run_agent(connect_ctx *cx, const connect_opts *o) {
  read_backlog(cx);
  mol_platform_run_opts ro = {.heartbeat_interval_ms = o->heartbeat_s * 1000,
                              .state_poll_interval_ms = o->interval_s * 1000,
                              .inbound_interval_ms = o->interval_s * 1000,
                              .on_message = on_message, .message_arg = cx,
                              .task_supplier = cli_connect_status_supplier};
  int rc = mol_platform_run(cx->client, &ro, on_loop_end, cx);
  if (rc) {
    fprintf(stderr, "[molecule] cannot start the loop: %s\n", mol_strerror(rc));
    return 1;
  }
  printf("[molecule] connected as %s (platform=%s, delivery=poll, interval=%us)\n",
         o->po.workspace_id, o->po.platform_url, o->interval_s);
  fflush(stdout);
  cli_on_stop_signal(cx->loop, on_stop_signal, cx);
  uv_run(cx->loop, UV_RUN_DEFAULT);
  return cx->exit_code;
}

int cmd_connect(int argc, char **argv) {
  connect_opts o = {0};
  const char *handler = NULL;
  int rc = parse_args(argc, argv, &o, &handler);
  if (rc >= 0) return rc;
  if ((rc = resolve_opts(&o, handler))) return rc;
  cli_connect_export_env(&o.po); /* the handler's `molecule peers` etc. run as this workspace */
  cli_log_from_env();
  if (o.verbose) mol_log_set_level(MOL_LOG_INFO);
  connect_ctx cx = {.loop = uv_default_loop(), .handler = handler,
                    .handler_timeout_ms = o.handler_timeout_s * 1000};
  rc = mol_platform_client_new(cx.loop, &o.po, &cx.client);
  if (rc) {
    fprintf(stderr, "molecule connect: %s\n", mol_strerror(rc));
    return 2;
  }
  if (o.token && (rc = mol_platform_save_token(cx.client, o.token)))
    fprintf(stderr, "molecule connect: cannot save the token: %s\n", mol_strerror(rc));
  if (!rc && !(rc = register_workspace(&cx, &o))) rc = run_agent(&cx, &o);
  else rc = 2;
  if (!cx.closing) mol_platform_client_close(cx.client, NULL, NULL); /* register failed */
  cli_signals_close();
  uv_run(cx.loop, UV_RUN_DEFAULT);
  uv_loop_close(cx.loop);
  return rc;
}
