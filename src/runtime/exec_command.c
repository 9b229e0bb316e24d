/* exec_command.c - the command executor (see exec_command.h): the slots and the FIFO, the
 * message file, the handler's environment, and how a handler's end becomes the turn's. */
#include "runtime/exec_command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/holds.h"
#include "base/log.h"
#include "molecule.h"
#include "base/proc.h"

#define SCOPE "command"

extern char **environ;

typedef struct cmd_turn cmd_turn;

typedef struct {
  uv_loop_t *loop;
  char *handler, *tmp_dir, *agent_name, *platform_url, *workspace_id;
  unsigned timeout_ms, kill_grace_ms, max_running, max_queued;
  size_t max_output;
  cmd_turn *waiting_head, *waiting_tail;  /* FIFO of turns without a slot */
  cmd_turn *active;                       /* turns holding a slot */
  unsigned running, queued;
  uv_timer_t closer;                      /* the holds' last handle: only ever closed */
  mol_holds holds;                        /* its own until close; each turn until released */
  int closing;
  void (*close_cb)(void *arg);
  void *close_arg;
} cmd;

typedef enum { WAITING, PREPARING, RUNNING } turn_state;

struct cmd_turn {
  cmd *c;
  mol_a2a_turn *turn;
  cmd_turn *prev, *next;     /* in the FIFO while WAITING, else in c->active */
  turn_state state;
  int canceled, streaming, chunks;
  uv_work_t work;            /* writes the message file */
  char *msg_json;
  char *msg_path;            /* NULL until the file exists */
  int write_err;
  mol_proc *proc;
};

/* Never handed to a handler: the plugin transport's secret, the gateway key, the platform's
 * admin tokens, a workspace token given by environment (the token file is the way in). */
static const char *const scrubbed[] = {"MOLECULE_A2A_PLATFORM_SHARED_SECRET", "API_SERVER_KEY",
                                       "MOLECULE_ADMIN_TOKEN", "ADMIN_TOKEN",
                                       "MOLECULE_WORKSPACE_TOKEN", NULL};

/* ---- lists --------------------------------------------------------------------------------- */

static void list_push(cmd_turn **head, cmd_turn **tail, cmd_turn *ct) {
  ct->prev = tail ? *tail : NULL;
  ct->next = tail ? NULL : *head;
  if (tail) {
    if (*tail) (*tail)->next = ct;
    else *head = ct;
    *tail = ct;
  } else {
    if (*head) (*head)->prev = ct;
    *head = ct;
  }
}

static void list_remove(cmd_turn **head, cmd_turn **tail, cmd_turn *ct) {
  if (ct->prev) ct->prev->next = ct->next;
  else *head = ct->next;
  if (ct->next) ct->next->prev = ct->prev;
  else if (tail) *tail = ct->prev;
  ct->prev = ct->next = NULL;
}

/* ---- the executor's end -------------------------------------------------------------------- */

static void cmd_free(cmd *c) {
  free(c->handler);
  free(c->tmp_dir);
  free(c->agent_name);
  free(c->platform_url);
  free(c->workspace_id);
  free(c);
}

/* The holds' finish: closed, and every turn released. */
static void cmd_finish(void *arg) {
  cmd *c = arg;
  void (*cb)(void *) = c->close_cb;
  void *cb_arg = c->close_arg;
  cmd_free(c);
  if (cb) cb(cb_arg);
}

/* ---- ending a turn ------------------------------------------------------------------------- */

static void start_turn(cmd_turn *ct);

static void on_unlinked(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  free(req->data);
  free(req);
}

static void remove_message_file(cmd_turn *ct) {
  if (!ct->msg_path) return;
  uv_fs_t *req = malloc(sizeof(*req));
  if (req) {
    req->data = ct->msg_path;
    if (uv_fs_unlink(ct->c->loop, req, ct->msg_path, on_unlinked) == 0) {
      ct->msg_path = NULL;
      return;
    }
    free(req);
  }
  unlink(ct->msg_path); /* out of memory or queueing failed: the short blocking way */
  free(ct->msg_path);
  ct->msg_path = NULL;
}

/* The slot is free again: hand it to the oldest waiting turn. */
static void start_waiting(cmd *c) {
  while (c->waiting_head && c->running < c->max_running && !c->closing) {
    cmd_turn *ct = c->waiting_head;
    list_remove(&c->waiting_head, &c->waiting_tail, ct);
    c->queued--;
    start_turn(ct);
  }
}

static void turn_free(cmd_turn *ct) {
  remove_message_file(ct);
  free(ct->msg_json);
  free(ct);
}

/* Gives back the slot (or the FIFO place) and frees the turn's state; the turn has ended. */
static void release(cmd_turn *ct) {
  cmd *c = ct->c;
  if (ct->state == WAITING) {
    list_remove(&c->waiting_head, &c->waiting_tail, ct);
    c->queued--;
  } else {
    list_remove(&c->active, NULL, ct);
    c->running--;
  }
  turn_free(ct);
  start_waiting(c);
  mol_holds_drop(&c->holds); /* the turn's */
}

static void end_failed(cmd_turn *ct, const char *why) {
  mol_a2a_turn *t = ct->turn;
  mol_logi(SCOPE, "task %s failed: %s", mol_a2a_turn_task_id(t), why);
  release(ct);
  mol_a2a_turn_fail(t, why);
}

static void end_canceled(cmd_turn *ct) {
  mol_a2a_turn *t = ct->turn;
  release(ct);
  mol_a2a_turn_canceled(t);
}

static void end_replied(cmd_turn *ct, const mol_proc_result *r) {
  mol_a2a_turn *t = ct->turn;
  size_t n = r->out_len;
  while (n && (r->out[n - 1] == '\n' || r->out[n - 1] == '\r')) n--;
  char *text = strndup(r->out, n);
  if (ct->chunks) mol_a2a_turn_artifact(t, NULL, "output", "", 1, 1);
  release(ct);
  if (text) mol_a2a_turn_reply_text(t, text);
  else mol_a2a_turn_fail(t, "out of memory");
  free(text);
}

static void failure_text(const cmd *c, const mol_proc_result *r, char *out, size_t cap) {
  switch (r->end) {
    case MOL_PROC_TIMED_OUT:
      if (c->timeout_ms % 1000)
        snprintf(out, cap, "handler timed out after %u ms and was killed", c->timeout_ms);
      else
        snprintf(out, cap, "handler timed out after %u s and was killed", c->timeout_ms / 1000);
      return;
    case MOL_PROC_TOO_MUCH_OUTPUT:
      snprintf(out, cap, "handler output passed the limit of %zu bytes; the handler was killed",
               c->max_output);
      return;
    case MOL_PROC_KILLED:
      snprintf(out, cap, "executor shutting down");
      return;
    case MOL_PROC_EXITED:
      break;
  }
  if (r->term_signal)
    snprintf(out, cap, "handler killed by signal %d%s%s", r->term_signal,
             *r->err_line ? ": " : "", r->err_line);
  else if (*r->err_line)
    snprintf(out, cap, "%s", r->err_line);
  else
    snprintf(out, cap, "handler exit status %lld", (long long)r->exit_status);
}

static void on_handler_done(const mol_proc_result *r, void *arg) {
  cmd_turn *ct = arg;
  ct->proc = NULL;
  if (ct->canceled) {
    end_canceled(ct);
  } else if (r->end == MOL_PROC_EXITED && r->exit_status == 0 && r->term_signal == 0) {
    end_replied(ct, r);
  } else {
    char why[1200];
    failure_text(ct->c, r, why, sizeof(why));
    end_failed(ct, why);
  }
}

static void on_handler_line(const char *line, size_t len, void *arg) {
  cmd_turn *ct = arg;
  if (!ct->streaming || ct->canceled) return;
  char *chunk = strndup(line, len);
  if (!chunk) return;
  mol_a2a_turn_artifact(ct->turn, NULL, "output", chunk, ct->chunks++ > 0, 0);
  free(chunk);
}

/* stderr is the handler's diagnostics: the last line explains a failure; all of it goes to
 * the debug log (MOLECULE_LOG_LEVEL=debug), through the log's secret redaction. */
static void on_handler_err_line(const char *line, void *arg) {
  cmd_turn *ct = arg;
  mol_logd(SCOPE, "task %s stderr: %s", mol_a2a_turn_task_id(ct->turn), line);
}

/* ---- the handler's environment ------------------------------------------------------------- */

static int name_is(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int skipped(const char *entry, char *const *own, size_t n_own) {
  for (size_t i = 0; scrubbed[i]; i++)
    if (name_is(entry, scrubbed[i])) return 1;
  for (size_t i = 0; i < n_own; i++) { /* ours win over inherited ones of the same name */
    size_t k = strcspn(own[i], "=");
    if (strncmp(entry, own[i], k + 1) == 0) return 1;
  }
  return 0;
}

static int add_var(char **own, size_t *n, const char *name, const char *value) {
  if (!value) return 0;
  if (asprintf(&own[*n], "%s=%s", name, value) < 0) return MOL_ENOMEM;
  (*n)++;
  return 0;
}

static const char *message_id(mol_a2a_turn *t) {
  const char *id = json_string_value(json_object_get(mol_a2a_turn_message(t), "messageId"));
  return id ? id : "";
}

#define MAX_OWN_VARS 8 /* the add_var calls below */

/* environ without the scrubbed names, plus the turn's variables (own[MAX_OWN_VARS],
 * malloc'd; *n_own of them are set, also on failure). */
static char **handler_env(cmd_turn *ct, char **own, size_t *n_own) {
  cmd *c = ct->c;
  mol_a2a_turn *t = ct->turn;
  size_t n = 0;
  int rc = add_var(own, &n, "MOLECULE_TASK_ID", mol_a2a_turn_task_id(t));
  if (!rc) rc = add_var(own, &n, "MOLECULE_CONTEXT_ID", mol_a2a_turn_context_id(t));
  if (!rc) rc = add_var(own, &n, "MOLECULE_MESSAGE_ID", message_id(t));
  if (!rc) rc = add_var(own, &n, "MOLECULE_MESSAGE_FILE", ct->msg_path);
  if (!rc) rc = add_var(own, &n, "MOLECULE_STREAMING", ct->streaming ? "1" : "0");
  if (!rc) rc = add_var(own, &n, "MOLECULE_AGENT_NAME", c->agent_name);
  if (!rc) rc = add_var(own, &n, "PLATFORM_URL", c->platform_url);
  if (!rc) rc = add_var(own, &n, "WORKSPACE_ID", c->workspace_id);
  *n_own = n;
  if (rc) return NULL;
  size_t total = 0;
  while (environ[total]) total++;
  char **env = calloc(total + n + 1, sizeof(*env));
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < total; i++)
    if (!skipped(environ[i], own, n)) env[k++] = environ[i];
  for (size_t i = 0; i < n; i++) env[k++] = own[i];
  return env;
}

static int spawn_handler(cmd_turn *ct) {
  cmd *c = ct->c;
  char *own[MAX_OWN_VARS] = {0};
  size_t n_own = 0;
  char **env = handler_env(ct, own, &n_own);
  const char *text = mol_a2a_turn_text(ct->turn);
  mol_proc_opts po = {.cmd = c->handler, .env = env, .input = text, .input_len = strlen(text),
                      .timeout_ms = c->timeout_ms, .kill_grace_ms = c->kill_grace_ms,
                      .max_output = c->max_output, .on_line = on_handler_line,
                      .on_err_line = on_handler_err_line, .on_done = on_handler_done, .arg = ct};
  int rc = env ? mol_proc_start(c->loop, &po, &ct->proc) : MOL_ENOMEM;
  free(env);
  for (size_t i = 0; i < n_own; i++) free(own[i]);
  return rc;
}

/* ---- the message file (written in the thread pool) ----------------------------------------- */

static void write_message_file(uv_work_t *w) {
  cmd_turn *ct = w->data;
  const char *dir = ct->c->tmp_dir;
  char *path = NULL;
  if (asprintf(&path, "%s/molecule-msg-XXXXXX", dir) < 0) {
    ct->write_err = MOL_ENOMEM;
    return;
  }
  int fd = mkstemp(path); /* 0600 */
  if (fd < 0) {
    ct->write_err = -errno;
    free(path);
    return;
  }
  size_t len = strlen(ct->msg_json), off = 0;
  while (off < len) {
    ssize_t k = write(fd, ct->msg_json + off, len - off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      ct->write_err = -errno;
      break;
    }
    off += (size_t)k;
  }
  if (close(fd) != 0 && !ct->write_err) ct->write_err = -errno;
  ct->msg_path = path; /* removed with the turn, written or not */
}

static void on_message_file(uv_work_t *w, int status) {
  cmd_turn *ct = w->data;
  cmd *c = ct->c;
  char why[300];
  if (ct->canceled) {
    end_canceled(ct);
    return;
  }
  if (c->closing) {
    end_failed(ct, "executor shutting down");
    return;
  }
  int err = status ? status : ct->write_err;
  if (err) {
    snprintf(why, sizeof(why), "cannot write the message file in %s: %s", c->tmp_dir,
             mol_strerror(err));
    end_failed(ct, why);
    return;
  }
  int rc = spawn_handler(ct);
  if (rc) {
    snprintf(why, sizeof(why), "cannot start the handler: %s", mol_strerror(rc));
    end_failed(ct, why);
    return;
  }
  ct->state = RUNNING;
  mol_a2a_turn_working(ct->turn, NULL);
}

/* Takes a slot: the message file first, then the handler. */
static void start_turn(cmd_turn *ct) {
  cmd *c = ct->c;
  ct->state = PREPARING;
  list_push(&c->active, NULL, ct);
  c->running++;
  ct->msg_json = json_dumps(mol_a2a_turn_message(ct->turn), JSON_COMPACT);
  ct->work.data = ct;
  int rc = ct->msg_json ? uv_queue_work(c->loop, &ct->work, write_message_file, on_message_file)
                        : MOL_ENOMEM;
  if (rc) end_failed(ct, "cannot start the handler: out of memory");
}

/* ---- the executor -------------------------------------------------------------------------- */

static int command_execute(void *self, mol_a2a_turn *t) {
  cmd *c = self;
  if (c->closing) return MOL_ESHUTDOWN;
  if (c->running >= c->max_running && c->queued >= c->max_queued) {
    char why[200];
    snprintf(why, sizeof(why), "busy: %u handlers running and %u turns waiting; try again later",
             c->running, c->queued);
    mol_logw(SCOPE, "task %s refused: %s", mol_a2a_turn_task_id(t), why);
    mol_a2a_turn_fail(t, why);
    return 0;
  }
  cmd_turn *ct = calloc(1, sizeof(*ct));
  if (!ct) return MOL_ENOMEM;
  ct->c = c;
  ct->turn = t;
  ct->streaming = mol_a2a_turn_streaming(t);
  mol_a2a_turn_set_data(t, ct);
  mol_holds_take(&c->holds); /* until release() */
  if (c->running < c->max_running) {
    start_turn(ct);
  } else {
    ct->state = WAITING;
    list_push(&c->waiting_head, &c->waiting_tail, ct);
    c->queued++;
  }
  return 0;
}

static void command_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  cmd_turn *ct = mol_a2a_turn_data(t);
  if (!ct || ct->canceled) return;
  ct->canceled = 1;
  switch (ct->state) {
    case WAITING: end_canceled(ct); break;            /* nothing started */
    case PREPARING: break;                            /* on_message_file ends it */
    case RUNNING: mol_proc_kill(ct->proc); break;     /* on_handler_done ends it */
  }
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static unsigned default_max_running(void) {
  unsigned n = uv_available_parallelism();
  return 4 * (n ? n : 1);
}

int mol_command_executor_new(uv_loop_t *loop, const mol_command_opts *o, mol_a2a_executor *ex) {
  if (!loop || !o || !o->handler || !*o->handler || !ex) return MOL_EINVAL;
  cmd *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  const char *tmp = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
  c->loop = loop;
  c->handler = strdup(o->handler);
  c->tmp_dir = strdup(tmp && *tmp ? tmp : "/tmp");
  c->agent_name = dup_or_null(o->agent_name);
  c->platform_url = dup_or_null(o->platform_url);
  c->workspace_id = dup_or_null(o->workspace_id);
  if (!c->handler || !c->tmp_dir || (o->agent_name && !c->agent_name) ||
      (o->platform_url && !c->platform_url) || (o->workspace_id && !c->workspace_id)) {
    cmd_free(c);
    return MOL_ENOMEM;
  }
  c->timeout_ms = o->timeout_ms ? o->timeout_ms : MOL_COMMAND_DEFAULT_TIMEOUT_MS;
  c->kill_grace_ms = o->kill_grace_ms ? o->kill_grace_ms : 2000;
  c->max_running = o->max_running ? o->max_running : default_max_running();
  c->max_queued = o->max_queued ? o->max_queued : MOL_COMMAND_DEFAULT_MAX_QUEUED;
  c->max_output = o->max_output ? o->max_output : MOL_COMMAND_DEFAULT_MAX_OUTPUT;
  uv_timer_init(loop, &c->closer);
  mol_holds_init(&c->holds, (uv_handle_t *)&c->closer, cmd_finish, c);
  ex->name = "command";
  ex->execute = command_execute;
  ex->cancel = command_cancel;
  ex->self = c;
  return 0;
}

void mol_command_executor_counts(const mol_a2a_executor *ex, unsigned *running,
                                 unsigned *queued) {
  const cmd *c = ex->self;
  if (running) *running = c ? c->running : 0;
  if (queued) *queued = c ? c->queued : 0;
}

void mol_command_executor_close(mol_a2a_executor *ex, void (*cb)(void *arg), void *arg) {
  cmd *c = ex->self;
  ex->self = NULL;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  while (c->waiting_head) end_failed(c->waiting_head, "executor shutting down");
  for (cmd_turn *ct = c->active; ct; ct = ct->next)
    if (ct->state == RUNNING) mol_proc_kill(ct->proc); /* PREPARING ones end when written */
  mol_holds_drop(&c->holds); /* the executor's own: cb runs once every turn is released */
}
