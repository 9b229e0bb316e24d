/* revive.c - the watch on a paused workspace (see revive.h): a platform client of its own, a
 * timer, one state poll at a time. The end closes the timer and the client; the callback fires
 * once both have closed. */
#include "runtime/revive.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "molecule/uv.h"
#include "runtime/agent_int.h"

#define SCOPE "revive"
#define DEFAULT_INTERVAL_MS 30000

struct mol_revive {
  mol_platform_client *pc;
  uv_timer_t timer;
  unsigned interval_ms;
  mol_revive_cb cb;
  void *arg;
  int done, resumed, closing;
  char ws[128];
};

static void closed_one(mol_revive *w) {
  if (--w->closing) return;
  mol_revive_cb cb = w->cb;
  void *arg = w->arg;
  int resumed = w->resumed;
  free(w);
  cb(resumed, arg);
}

static void on_timer_closed(uv_handle_t *h) { closed_one(h->data); }
static void on_client_closed(void *arg) { closed_one(arg); }

/* The end, once: the timer and the client close (a poll in flight ends with MOL_ESHUTDOWN). */
static void finish(mol_revive *w, int resumed) {
  if (w->done) return;
  w->done = 1;
  w->resumed = resumed;
  w->closing = 2;
  uv_close((uv_handle_t *)&w->timer, on_timer_closed);
  mol_platform_client_close(w->pc, on_client_closed, w);
}

static void on_state(int err, const mol_platform_result *res, void *arg) {
  mol_revive *w = arg;
  if (w->done) return;
  if (!err && res->deleted) {
    mol_logx(MOL_LOG_INFO, SCOPE, MOL_FIELDS(MOL_F_STR("workspace_id", w->ws), MOL_F_STR("status", "deleted")),
             "workspace %s was deleted while paused", w->ws);
    finish(w, 0);
  } else if (!err && !res->paused) {
    mol_logx(MOL_LOG_INFO, SCOPE, MOL_FIELDS(MOL_F_STR("workspace_id", w->ws), MOL_F_STR("status", res->status)),
             "workspace %s resumed (%s)", w->ws, res->status);
    finish(w, 1);
  } else {
    if (err)
      mol_logx(MOL_LOG_DEBUG, SCOPE,
               MOL_FIELDS(MOL_F_STR("workspace_id", w->ws), MOL_F_INT("status", res ? res->http_status : 0),
                          MOL_F_ERR(err)),
               "state of paused workspace %s: %s", w->ws, mol_strerror(err));
    uv_timer_again(&w->timer);
  }
}

static void on_tick(uv_timer_t *t) {
  mol_revive *w = t->data;
  uv_timer_stop(t); /* one poll at a time: its answer re-arms the timer */
  int rc = mol_platform_poll_state(w->pc, NULL, on_state, w, NULL);
  if (rc) {
    mol_logx(MOL_LOG_WARN, SCOPE, MOL_FIELDS(MOL_F_STR("workspace_id", w->ws), MOL_F_ERR(rc)),
             "cannot poll paused workspace %s: %s", w->ws, mol_strerror(rc));
    uv_timer_again(&w->timer);
  }
}

int mol_revive_start(uv_loop_t *loop, const mol_platform_opts *po, unsigned interval_ms,
                     mol_revive_cb cb, void *arg, mol_revive **out) {
  mol_revive *w = calloc(1, sizeof(*w));
  if (!w) return MOL_ENOMEM;
  int rc = mol_platform_client_new(loop, po, &w->pc);
  if (rc) {
    free(w);
    return rc;
  }
  w->interval_ms = interval_ms ? interval_ms : DEFAULT_INTERVAL_MS;
  w->cb = cb;
  w->arg = arg;
  snprintf(w->ws, sizeof(w->ws), "%s", po->workspace_id ? po->workspace_id : "");
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  /* Each poll's answer re-arms the timer (uv_timer_again, with the repeat as its timeout). */
  uv_timer_start(&w->timer, on_tick, w->interval_ms, w->interval_ms);
  *out = w;
  return 0;
}

int mol_revive_agent(mol_agent *a, const mol_platform_opts *more, mol_revive_cb cb, void *arg,
                     mol_revive **out) {
  mol_platform_opts po = more ? *more : (mol_platform_opts){0};
  po.platform_url = a->platform_url;
  po.workspace_id = a->workspace_id;
  po.token_dir = a->token_dir;
  unsigned every = a->o.state_poll_ms ? a->o.state_poll_ms : a->o.heartbeat_ms;
  return mol_revive_start(a->loop, &po, every, cb, arg, out);
}

void mol_revive_cancel(mol_revive *w) {
  if (w) finish(w, 0);
}
