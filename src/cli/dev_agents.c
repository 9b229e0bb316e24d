/* dev_agents.c - the coordinator and worker executors of the `molecule dev` demo. */
#include "cli/dev_agents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"

/* ---- coordinator -------------------------------------------------------------------------- */

typedef struct coord_turn coord_turn;

typedef struct {
  coord_turn *ct;
  int index;
  mol_platform_req *req;   /* NULL once answered */
  char *reply;
} worker_call;

struct coord_turn {
  dev_coordinator *c;
  mol_a2a_turn *turn;
  worker_call calls[DEV_MAX_WORKERS];
  int outstanding;
  int canceled;
};

static void coord_finish(coord_turn *ct) {
  mol_buf out = MOL_BUF_INIT;
  mol_buf_printf(&out, "Coordinator asked %d workers about \"%s\":", ct->c->n_workers,
                 mol_a2a_turn_text(ct->turn));
  for (int i = 0; i < ct->c->n_workers; i++) {
    const char *r = ct->calls[i].reply;
    mol_buf_printf(&out, "\n- %s: %s", ct->c->worker_name[i], r ? r : "(no answer)");
    free(ct->calls[i].reply);
  }
  if (ct->canceled) mol_a2a_turn_canceled(ct->turn);
  else mol_a2a_turn_reply_text(ct->turn, out.data);
  mol_buf_free(&out);
  free(ct);
}

static void on_worker_reply(int err, const mol_platform_result *res, void *arg) {
  worker_call *wc = arg;
  coord_turn *ct = wc->ct;
  wc->req = NULL;
  ct->c->calls++;
  if (err) {
    char buf[200];
    ct->c->failures++;
    snprintf(buf, sizeof(buf), "(failed: %s%s%s)", mol_strerror(err),
             res && res->error ? ": " : "", res && res->error ? res->error : "");
    wc->reply = strdup(buf);
  } else {
    wc->reply = strdup(res->text ? res->text : "");
  }
  if (--ct->outstanding == 0) coord_finish(ct);
}

static int coord_execute(void *self, mol_a2a_turn *t) {
  dev_coordinator *c = self;
  coord_turn *ct = calloc(1, sizeof(*ct));
  if (!ct) return MOL_ENOMEM;
  ct->c = c;
  ct->turn = t;
  mol_a2a_turn_set_data(t, ct);
  mol_a2a_turn_working(t, "asking the workers");
  mol_platform_call_peer_opts po = {.proxy_only = 1}; /* every hop shows in the platform */
  mol_platform_call call = {.deadline_ms = 60000};
  ct->outstanding = c->n_workers;
  for (int i = 0; i < c->n_workers; i++) {
    worker_call *wc = &ct->calls[i];
    wc->ct = ct;
    wc->index = i;
    int rc = mol_platform_call_peer(c->platform, c->worker_id[i], mol_a2a_turn_text(t), &po,
                                    &call, on_worker_reply, wc, &wc->req);
    if (rc) on_worker_reply(rc, NULL, wc); /* counted like any other answer */
  }
  return 0;
}

static void coord_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  coord_turn *ct = mol_a2a_turn_data(t);
  ct->canceled = 1;
  for (int i = 0; i < ct->c->n_workers; i++)
    if (ct->calls[i].req) mol_platform_cancel(ct->calls[i].req); /* each answers ECANCELED */
}

int mol_cli__dev_coordinator_executor(dev_coordinator *c, mol_a2a_executor *ex) {
  if (c->n_workers < 1 || c->n_workers > DEV_MAX_WORKERS || !c->platform) return MOL_EINVAL;
  ex->name = "coordinator";
  ex->execute = coord_execute;
  ex->cancel = coord_cancel;
  ex->self = c;
  return 0;
}

/* ---- worker ------------------------------------------------------------------------------- */

typedef struct {
  uv_timer_t timer;
  mol_a2a_turn *turn;
  dev_worker *w;
} worker_turn;

static void worker_timer_closed(uv_handle_t *h) { free(h->data); }

static void worker_answer(uv_timer_t *t) {
  worker_turn *wt = t->data;
  char buf[600];
  snprintf(buf, sizeof(buf), "as the %s, my take on \"%.400s\" is ready", wt->w->role,
           mol_a2a_turn_text(wt->turn));
  mol_a2a_turn *turn = wt->turn;
  wt->turn = NULL;
  uv_close((uv_handle_t *)&wt->timer, worker_timer_closed);
  mol_a2a_turn_reply_text(turn, buf);
}

static int worker_execute(void *self, mol_a2a_turn *t) {
  worker_turn *wt = calloc(1, sizeof(*wt));
  if (!wt) return MOL_ENOMEM;
  wt->turn = t;
  wt->w = self;
  uv_timer_init(mol_a2a_turn_loop(t), &wt->timer);
  wt->timer.data = wt;
  mol_a2a_turn_set_data(t, wt);
  mol_a2a_turn_working(t, NULL);
  uv_timer_start(&wt->timer, worker_answer, wt->w->delay_ms, 0);
  return 0;
}

static void worker_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  worker_turn *wt = mol_a2a_turn_data(t);
  wt->turn = NULL;
  uv_close((uv_handle_t *)&wt->timer, worker_timer_closed);
  mol_a2a_turn_canceled(t);
}

int mol_cli__dev_worker_executor(dev_worker *w, mol_a2a_executor *ex) {
  ex->name = "worker";
  ex->execute = worker_execute;
  ex->cancel = worker_cancel;
  ex->self = w;
  return 0;
}
