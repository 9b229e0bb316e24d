/* dev_agents.c - the coordinator and worker executors of the `molecule dev` demo, acting
 * through the agent tools (see dev_agents.h). */
#include "cli/dev_agents.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "base/holds.h"
#include "base/json.h"

static void notef(dev_note_fn note, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notef(dev_note_fn note, void *arg, const char *fmt, ...) {
  if (!note) return;
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  note(arg, line);
}

/* Arguments as JSON text: {"k1": v1, ...} from string pairs. Malloc'd. */
static char *args_json(const char *k1, const char *v1, const char *k2, const char *v2) {
  json_t *o = json_object();
  json_object_set_new(o, k1, json_string(v1));
  if (k2) json_object_set_new(o, k2, json_string(v2));
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

/* ---- coordinator -------------------------------------------------------------------------- */

typedef struct coord_turn coord_turn;

typedef struct {
  coord_turn *ct;
  int index;
  char task_id[64];
  mol_tool_call *call;     /* the tool call in flight, NULL between calls */
  char *reply;
  int done;
} worker_call;

/* A turn lives while its turn runs and while any tool call or poll timer is in flight. */
struct coord_turn {
  dev_coordinator *c;
  mol_a2a_turn *turn;
  mol_holds holds;
  uv_timer_t poll;         /* the holds' last handle */
  worker_call calls[DEV_MAX_WORKERS];
  int outstanding;
  int canceled;
};

static void coord_turn_free(void *arg) {
  coord_turn *ct = arg;
  for (int i = 0; i < ct->c->n_workers; i++) free(ct->calls[i].reply);
  free(ct);
}

static void coord_finish(coord_turn *ct) {
  mol_a2a_turn *t = ct->turn;
  ct->turn = NULL;
  if (ct->canceled) {
    mol_a2a_turn_canceled(t);
  } else {
    mol_buf out = MOL_BUF_INIT;
    mol_buf_printf(&out, "Coordinator delegated \"%s\" to %d workers:", mol_a2a_turn_text(t),
                   ct->c->n_workers);
    for (int i = 0; i < ct->c->n_workers; i++) {
      const char *r = ct->calls[i].reply;
      mol_buf_printf(&out, "\n- %s: %s", ct->c->worker_name[i], r ? r : "(no answer)");
    }
    mol_a2a_turn_reply_text(t, out.data ? out.data : "out of memory");
    mol_buf_free(&out);
  }
  mol_holds_drop(&ct->holds); /* the turn's hold */
}

static void worker_done(worker_call *wc, const char *reply) {
  coord_turn *ct = wc->ct;
  wc->done = 1;
  free(wc->reply);
  wc->reply = strdup(reply);
  if (--ct->outstanding == 0) coord_finish(ct);
}

static void check_status(worker_call *wc);

static void on_poll(uv_timer_t *t) {
  coord_turn *ct = t->data;
  for (int i = 0; i < ct->c->n_workers; i++) {
    worker_call *wc = &ct->calls[i];
    if (!wc->done && !wc->call && wc->task_id[0]) check_status(wc);
  }
}

static void poll_soon(coord_turn *ct) {
  if (!uv_is_active((uv_handle_t *)&ct->poll))
    uv_timer_start(&ct->poll, on_poll, ct->c->poll_ms ? ct->c->poll_ms : 200, 0);
}

static void call_tool(worker_call *wc, const char *name, char *args, mol_tool_cb cb) {
  coord_turn *ct = wc->ct;
  mol_tool_call_opts o = {.timeout_ms = 60000, .cb = cb, .arg = wc};
  mol_holds_take(&ct->holds);
  int rc = args ? mol_tools_call(ct->c->tools, name, args, &o, &wc->call) : MOL_ENOMEM;
  free(args);
  if (rc) {
    mol_holds_drop(&ct->holds);
    wc->call = NULL;
    ct->c->failures++;
    worker_done(wc, mol_strerror(rc));
  }
}

static void on_status(const mol_tool_result *r, void *arg) {
  worker_call *wc = arg;
  coord_turn *ct = wc->ct;
  wc->call = NULL;
  json_t *v = r->status == MOL_TOOL_OK ? json_loads(r->text, 0, NULL) : NULL;
  const char *status = mol_json_str(v, "status");
  if (ct->canceled) {
    worker_done(wc, "canceled");
  } else if (status && strcmp(status, "completed") == 0) {
    const char *result = mol_json_str(v, "result");
    notef(ct->c->note, ct->c->note_arg, "[coordinator] check_delegation_status %s: completed",
          ct->c->worker_name[wc->index]);
    worker_done(wc, result ? result : "(empty reply)");
  } else if (!v || (status && strcmp(status, "failed") == 0)) {
    ct->c->failures++;
    const char *err = mol_json_str(v, "error");
    worker_done(wc, err ? err : r->text);
  } else {
    poll_soon(ct); /* dispatched, pending or queued: read the ledger again */
  }
  json_decref(v);
  mol_holds_drop(&ct->holds);
}

static void check_status(worker_call *wc) {
  call_tool(wc, "check_delegation_status", args_json("task_id", wc->task_id, NULL, NULL),
            on_status);
}

static void on_delegated(const mol_tool_result *r, void *arg) {
  worker_call *wc = arg;
  coord_turn *ct = wc->ct;
  wc->call = NULL;
  ct->c->calls++;
  json_t *v = r->status == MOL_TOOL_OK ? json_loads(r->text, 0, NULL) : NULL;
  const char *task_id = mol_json_str(v, "task_id");
  if (ct->canceled) {
    worker_done(wc, "canceled");
  } else if (!task_id) {
    ct->c->failures++;
    worker_done(wc, r->text);
  } else {
    snprintf(wc->task_id, sizeof(wc->task_id), "%s", task_id);
    notef(ct->c->note, ct->c->note_arg, "[coordinator] delegate_to_workspace -> %s: task %s",
          ct->c->worker_name[wc->index], wc->task_id);
    poll_soon(ct);
  }
  json_decref(v);
  mol_holds_drop(&ct->holds);
}

static int coord_execute(void *self, mol_a2a_turn *t) {
  dev_coordinator *c = self;
  if (!c->tools) return mol_a2a_turn_fail(t, "the coordinator's tools are not ready yet");
  coord_turn *ct = calloc(1, sizeof(*ct));
  if (!ct) return MOL_ENOMEM;
  ct->c = c;
  ct->turn = t;
  uv_timer_init(mol_a2a_turn_loop(t), &ct->poll);
  ct->poll.data = ct;
  mol_holds_init(&ct->holds, (uv_handle_t *)&ct->poll, coord_turn_free, ct);
  mol_a2a_turn_set_data(t, ct);
  mol_a2a_turn_working(t, "delegating to the workers");
  ct->outstanding = c->n_workers;
  for (int i = 0; i < c->n_workers; i++) {
    worker_call *wc = &ct->calls[i];
    wc->ct = ct;
    wc->index = i;
  }
  for (int i = 0; i < c->n_workers && ct->turn; i++)
    call_tool(&ct->calls[i], "delegate_to_workspace",
              args_json("workspace_id", c->worker_id[i], "task", mol_a2a_turn_text(t)),
              on_delegated);
  return 0;
}

static void coord_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  coord_turn *ct = mol_a2a_turn_data(t);
  ct->canceled = 1;
  uv_timer_stop(&ct->poll);
  int waiting = 0;
  for (int i = 0; i < ct->c->n_workers; i++) {
    worker_call *wc = &ct->calls[i];
    if (wc->call) mol_tool_call_cancel(wc->call); /* its callback ends the worker's part */
    else if (!wc->done) waiting = 1;
  }
  /* Parts between two ledger reads have no call to cancel: end them here. */
  for (int i = 0; waiting && i < ct->c->n_workers && ct->turn; i++)
    if (!ct->calls[i].done && !ct->calls[i].call) worker_done(&ct->calls[i], "canceled");
}

int mol_cli__dev_coordinator_executor(dev_coordinator *c, mol_a2a_executor *ex) {
  if (c->n_workers < 1 || c->n_workers > DEV_MAX_WORKERS) return MOL_EINVAL;
  ex->name = "coordinator";
  ex->execute = coord_execute;
  ex->cancel = coord_cancel;
  ex->self = c;
  return 0;
}

/* ---- worker ------------------------------------------------------------------------------- */

typedef struct {
  mol_a2a_turn *turn;
  dev_worker *w;
  mol_tool_call *call;
  char memory_id[64];
  int canceled;
} worker_turn;

static void worker_end(worker_turn *wt, const char *reply) {
  mol_a2a_turn *t = wt->turn;
  if (wt->canceled) mol_a2a_turn_canceled(t);
  else mol_a2a_turn_reply_text(t, reply);
  free(wt);
}

static void on_recalled(const mol_tool_result *r, void *arg) {
  worker_turn *wt = arg;
  wt->call = NULL;
  json_t *v = r->status == MOL_TOOL_OK ? json_loads(r->text, 0, NULL) : NULL;
  json_t *mems = json_object_get(v, "memories");
  const char *newest = mol_json_str(json_array_get(mems, 0), "content");
  char reply[900];
  if (!v) {
    snprintf(reply, sizeof(reply), "as the %s, I could not recall: %.300s", wt->w->role, r->text);
  } else {
    notef(wt->w->note, wt->w->note_arg, "[%s] search_memory: %zu memories", wt->w->role,
          json_array_size(mems));
    snprintf(reply, sizeof(reply), "as the %s, I noted it (memory %s) and recall %zu "
             "memories, the newest: \"%.400s\"", wt->w->role, wt->memory_id,
             json_array_size(mems), newest ? newest : "");
  }
  json_decref(v);
  worker_end(wt, reply);
}

static void on_committed(const mol_tool_result *r, void *arg) {
  worker_turn *wt = arg;
  wt->call = NULL;
  json_t *v = r->status == MOL_TOOL_OK ? json_loads(r->text, 0, NULL) : NULL;
  const char *id = mol_json_str(v, "id");
  snprintf(wt->memory_id, sizeof(wt->memory_id), "%s", id ? id : "?");
  json_decref(v);
  if (wt->canceled || !id) {
    char reply[600];
    snprintf(reply, sizeof(reply), "as the %s, I could not take a note: %.400s", wt->w->role,
             r->text);
    worker_end(wt, reply);
    return;
  }
  notef(wt->w->note, wt->w->note_arg, "[%s] commit_memory: memory %s", wt->w->role,
        wt->memory_id);
  mol_tool_call_opts o = {.timeout_ms = 30000, .cb = on_recalled, .arg = wt};
  char *args = args_json("query", "", NULL, NULL);
  int rc = args ? mol_tools_call(wt->w->tools, "search_memory", args, &o, &wt->call) : MOL_ENOMEM;
  free(args);
  if (rc) worker_end(wt, mol_strerror(rc));
}

static int worker_execute(void *self, mol_a2a_turn *t) {
  dev_worker *w = self;
  if (!w->tools) return mol_a2a_turn_fail(t, "the worker's tools are not ready yet");
  worker_turn *wt = calloc(1, sizeof(*wt));
  if (!wt) return MOL_ENOMEM;
  wt->turn = t;
  wt->w = w;
  mol_a2a_turn_set_data(t, wt);
  mol_a2a_turn_working(t, NULL);
  char note[700];
  snprintf(note, sizeof(note), "the %s was asked: %.600s", w->role, mol_a2a_turn_text(t));
  mol_tool_call_opts o = {.timeout_ms = 30000, .cb = on_committed, .arg = wt};
  char *args = args_json("content", note, NULL, NULL);
  int rc = args ? mol_tools_call(w->tools, "commit_memory", args, &o, &wt->call) : MOL_ENOMEM;
  free(args);
  if (rc) free(wt);
  return rc;
}

static void worker_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  worker_turn *wt = mol_a2a_turn_data(t);
  wt->canceled = 1;
  if (wt->call) mol_tool_call_cancel(wt->call); /* its callback ends the turn canceled */
}

int mol_cli__dev_worker_executor(dev_worker *w, mol_a2a_executor *ex) {
  ex->name = "worker";
  ex->execute = worker_execute;
  ex->cancel = worker_cancel;
  ex->self = w;
  return 0;
}
