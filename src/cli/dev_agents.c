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
  char id[64], name[64];
  mol_tool_call *call;     /* the tool call in flight, NULL before and after it */
  char *reply;
  int done;
} member_call;

/* A turn lives while its turn runs and while any tool call is in flight. */
struct coord_turn {
  dev_coordinator *c;
  mol_a2a_turn *turn;
  mol_holds holds;
  uv_timer_t handle;       /* the holds' last handle (no timer runs) */
  mol_tool_call *list;     /* route_task_to_team listing the team, while in flight */
  member_call m[DEV_MAX_WORKERS];
  int n, outstanding;
  int canceled;
};

static void coord_turn_free(void *arg) {
  coord_turn *ct = arg;
  for (int i = 0; i < ct->n; i++) free(ct->m[i].reply);
  free(ct);
}

static void coord_finish(coord_turn *ct, const char *failure) {
  mol_a2a_turn *t = ct->turn;
  ct->turn = NULL;
  if (ct->canceled) {
    mol_a2a_turn_canceled(t);
  } else if (failure) {
    mol_a2a_turn_fail(t, failure);
  } else {
    mol_buf out = MOL_BUF_INIT;
    mol_buf_printf(&out, "Coordinator routed \"%s\" to its %d team members:",
                   mol_a2a_turn_text(t), ct->n);
    for (int i = 0; i < ct->n; i++) {
      const char *r = ct->m[i].reply;
      mol_buf_printf(&out, "\n- %s: %s", ct->m[i].name, r ? r : "(no answer)");
    }
    mol_a2a_turn_reply_text(t, out.data ? out.data : "out of memory");
    mol_buf_free(&out);
  }
  mol_holds_drop(&ct->holds); /* the turn's hold */
}

static void member_done(member_call *mc, const char *reply) {
  coord_turn *ct = mc->ct;
  mc->done = 1;
  free(mc->reply);
  mc->reply = strdup(reply);
  if (--ct->outstanding == 0) coord_finish(ct, NULL);
}

static void on_routed(const mol_tool_result *r, void *arg) {
  member_call *mc = arg;
  coord_turn *ct = mc->ct;
  mc->call = NULL;
  ct->c->calls++;
  if (ct->canceled) {
    member_done(mc, "canceled");
  } else {
    if (r->status != MOL_TOOL_OK) ct->c->failures++;
    notef(ct->c->note, ct->c->note_arg, "[coordinator] route_task_to_team -> %s: %s", mc->name,
          r->status == MOL_TOOL_OK ? "answered" : "failed");
    member_done(mc, r->text);
  }
  mol_holds_drop(&ct->holds);
}

static void route_to(member_call *mc) {
  coord_turn *ct = mc->ct;
  mol_tool_call_opts o = {.timeout_ms = 120000, .cb = on_routed, .arg = mc};
  char *args = args_json("task", mol_a2a_turn_text(ct->turn), "preferred_member_id", mc->id);
  mol_holds_take(&ct->holds);
  int rc = args ? mol_tools_call(ct->c->tools, "route_task_to_team", args, &o, &mc->call)
                : MOL_ENOMEM;
  free(args);
  if (rc) {
    mol_holds_drop(&ct->holds);
    mc->call = NULL;
    ct->c->failures++;
    member_done(mc, mol_strerror(rc));
  }
}

/* The team, as route_task_to_team lists it: each member gets the task. */
static void on_team(const mol_tool_result *r, void *arg) {
  coord_turn *ct = arg;
  ct->list = NULL;
  json_t *v = r->status == MOL_TOOL_OK ? json_loads(r->text, 0, NULL) : NULL;
  json_t *members = json_object_get(v, "members");
  size_t i;
  json_t *m;
  json_array_foreach(members, i, m) {
    const char *id = mol_json_str(m, "id"), *name = mol_json_str(m, "name");
    if (ct->n == DEV_MAX_WORKERS || !id) continue;
    member_call *mc = &ct->m[ct->n++];
    mc->ct = ct;
    snprintf(mc->id, sizeof mc->id, "%s", id);
    snprintf(mc->name, sizeof mc->name, "%s", name ? name : id);
  }
  if (ct->canceled || ct->n == 0) {
    const char *e = mol_json_str(v, "error");
    if (!ct->canceled) ct->c->failures++;
    coord_finish(ct, ct->canceled ? NULL : e ? e : r->text);
  } else {
    notef(ct->c->note, ct->c->note_arg, "[coordinator] route_task_to_team: %d team members",
          ct->n);
    ct->outstanding = ct->n;
    for (int k = 0, n = ct->n; k < n && ct->turn; k++) route_to(&ct->m[k]);
  }
  json_decref(v);
  mol_holds_drop(&ct->holds);
}

static int coord_execute(void *self, mol_a2a_turn *t) {
  dev_coordinator *c = self;
  if (!c->tools) return mol_a2a_turn_fail(t, "the coordinator's tools are not ready yet");
  coord_turn *ct = calloc(1, sizeof(*ct));
  char *args = ct ? args_json("task", mol_a2a_turn_text(t), NULL, NULL) : NULL;
  if (!args) {
    free(ct);
    return MOL_ENOMEM;
  }
  ct->c = c;
  ct->turn = t;
  uv_timer_init(mol_a2a_turn_loop(t), &ct->handle);
  mol_holds_init(&ct->holds, (uv_handle_t *)&ct->handle, coord_turn_free, ct);
  mol_a2a_turn_set_data(t, ct);
  mol_a2a_turn_working(t, "routing to the team");
  mol_tool_call_opts o = {.timeout_ms = 30000, .cb = on_team, .arg = ct};
  mol_holds_take(&ct->holds);
  int rc = mol_tools_call(c->tools, "route_task_to_team", args, &o, &ct->list);
  free(args);
  if (rc) {
    mol_holds_drop(&ct->holds);
    coord_finish(ct, mol_strerror(rc));
  }
  return 0;
}

static void coord_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  coord_turn *ct = mol_a2a_turn_data(t);
  ct->canceled = 1;
  if (ct->list) mol_tool_call_cancel(ct->list); /* its callback ends the turn */
  for (int i = 0; i < ct->n; i++)
    if (ct->m[i].call) mol_tool_call_cancel(ct->m[i].call); /* each callback ends its part */
}

int mol_cli__dev_coordinator_executor(dev_coordinator *c, mol_a2a_executor *ex) {
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
