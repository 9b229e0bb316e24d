/* api_exec.c - the public executor over the internal seam (see api_exec.h): the binding, the
 * turn handle's life, its progress calls and its endings.
 *
 * A mol_turn lives from execute() to its ending call, which frees it - except inside
 * execute(), where the handle stays until execute() returns, so a second ending or a non-zero
 * return after an ending is caught instead of touching freed memory. The caller's cancel is
 * called from a zero-delay timer of its own, so it never runs inside a call of the caller's
 * (mol_server_close, or an ending of another turn on the same task); a turn that ends before
 * the timer fires is simply no longer there for it. */
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "a2a_uv/api_exec_int.h"
#include "base/json.h"
#include "base/log.h"

#define SCOPE "executor"

struct api_cancel {
  uv_timer_t timer;
  mol_turn *t;                 /* NULL once the turn ended first */
};

/* ---- the turn's life ----------------------------------------------------------------------- */

static void turn_free(mol_turn *t) {
  if (t->cancel) t->cancel->t = NULL;
  t->x->live--;
  mol_a2a__api_turn_cache_free(&t->cache);
  free(t);
}

static void on_cancel_timer_closed(uv_handle_t *h) { free(h->data); }

static void on_cancel_due(uv_timer_t *timer) {
  api_cancel *c = timer->data;
  mol_turn *t = c->t;
  uv_close((uv_handle_t *)timer, on_cancel_timer_closed);
  if (!t) return;
  t->cancel = NULL;
  t->x->user.cancel(t, t->x->user.arg);
}

static int inner_execute(void *self, mol_a2a_turn *it) {
  mol_a2a_api_exec *x = self;
  mol_turn *t = calloc(1, sizeof(*t));
  if (!t) return MOL_ENOMEM;
  t->it = it;
  t->x = x;
  x->live++;
  mol_a2a_turn_set_data(it, t);
  t->in_execute = 1;
  int rc = x->user.execute(t, x->user.arg);
  t->in_execute = 0;
  if (t->ended) {
    if (rc) mol_logw(SCOPE, "%s: execute returned %s after ending its turn; ignored", x->name,
                     mol_err_name(rc));
    turn_free(t);
    return 0;
  }
  if (rc) { /* the internal turn fails the task; the handle goes now */
    mol_a2a_turn_set_data(it, NULL);
    turn_free(t);
    return rc < 0 ? rc : MOL_EINVAL;
  }
  return 0;
}

static void inner_cancel(void *self, mol_a2a_turn *it) {
  mol_a2a_api_exec *x = self;
  mol_turn *t = mol_a2a_turn_data(it);
  if (!t || !x->user.cancel) {
    if (t) mol_turn_canceled(t);
    else mol_a2a_turn_canceled(it);
    return;
  }
  if (t->cancel) return;
  api_cancel *c = malloc(sizeof(*c));
  if (!c) { /* no memory for the timer: cancel now rather than never */
    x->user.cancel(t, x->user.arg);
    return;
  }
  c->t = t;
  uv_timer_init(mol_a2a_turn_loop(it), &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, on_cancel_due, 0, 0);
  t->cancel = c;
}

/* ---- the binding --------------------------------------------------------------------------- */

int mol_a2a_api_exec_new(const mol_executor *ex, mol_a2a_api_exec **out) {
  if (!ex || !ex->execute || !out) return MOL_EINVAL;
  mol_a2a_api_exec *x = calloc(1, sizeof(*x));
  if (!x || !(x->name = strdup(ex->name ? ex->name : "custom"))) {
    free(x);
    return MOL_ENOMEM;
  }
  x->user = *ex;
  x->user.name = x->name;
  x->inner = (mol_a2a_executor){.name = x->name, .execute = inner_execute,
                                .cancel = inner_cancel, .self = x};
  *out = x;
  return 0;
}

const mol_a2a_executor *mol_a2a_api_exec_inner(const mol_a2a_api_exec *x) { return &x->inner; }

unsigned mol_a2a_api_exec_live(const mol_a2a_api_exec *x) { return x->live; }

void mol_a2a_api_exec_free(mol_a2a_api_exec *x, int call_close) {
  if (!x) return;
  if (x->live) mol_loge(SCOPE, "%s: closed with %u turns running", x->name, x->live);
  if (call_close && x->user.close) x->user.close(x->user.arg);
  free(x->name);
  free(x);
}

/* ---- progress ------------------------------------------------------------------------------ */

int mol_turn_working(mol_turn *t, const char *text) {
  if (!t) return MOL_EINVAL;
  return t->ended ? MOL_EPROTO : mol_a2a_turn_working(t->it, text);
}

/* A data part's value: an object, as A2A v0.3 callers require. */
static int parse_object(const char *s, json_t **out) {
  *out = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
  if (json_is_object(*out)) return 0;
  json_decref(*out);
  *out = NULL;
  return MOL_EINVAL;
}

int mol_turn_artifact(mol_turn *t, const mol_artifact_chunk *c) {
  if (!t || !c || (!c->text && !c->data_json)) return MOL_EINVAL;
  if (t->ended) return MOL_EPROTO;
  json_t *data = NULL;
  if (c->data_json && parse_object(c->data_json, &data)) return MOL_EINVAL;
  json_t *parts = json_array();
  int bad = !parts;
  if (!bad && c->text) bad = json_array_append_new(parts, mol_a2a_part_text(c->text));
  if (!bad && data) bad = json_array_append_new(parts, mol_a2a_part_data(data));
  else json_decref(data);
  if (bad) {
    json_decref(parts);
    return MOL_ENOMEM;
  }
  return mol_a2a_turn_artifact_parts(t->it, c->artifact_id, c->name, parts, c->append != 0,
                                     c->last_chunk != 0);
}

/* ---- endings ------------------------------------------------------------------------------- */

/* Marks the turn ended and hands back the internal turn (NULL when it already was). */
static mol_a2a_turn *begin_end(mol_turn *t) {
  if (!t || t->ended) return NULL;
  t->ended = 1;
  if (t->cancel) {
    t->cancel->t = NULL;
    t->cancel = NULL;
  }
  mol_a2a_turn *it = t->it;
  t->it = NULL;
  mol_a2a_turn_set_data(it, NULL);
  return it;
}

static int finish_end(mol_turn *t, int rc) {
  if (!t->in_execute) turn_free(t);
  return rc;
}

int mol_turn_reply_text(mol_turn *t, const char *text) {
  mol_a2a_turn *it = begin_end(t);
  return it ? finish_end(t, mol_a2a_turn_reply_text(it, text)) : t ? MOL_EPROTO : MOL_EINVAL;
}

int mol_turn_complete(mol_turn *t, const char *text) {
  mol_a2a_turn *it = begin_end(t);
  return it ? finish_end(t, mol_a2a_turn_complete(it, text)) : t ? MOL_EPROTO : MOL_EINVAL;
}

int mol_turn_fail(mol_turn *t, const char *text) {
  mol_a2a_turn *it = begin_end(t);
  return it ? finish_end(t, mol_a2a_turn_fail(it, text)) : t ? MOL_EPROTO : MOL_EINVAL;
}

int mol_turn_input_required(mol_turn *t, const char *text) {
  mol_a2a_turn *it = begin_end(t);
  return it ? finish_end(t, mol_a2a_turn_input_required(it, text)) : t ? MOL_EPROTO : MOL_EINVAL;
}

int mol_turn_canceled(mol_turn *t) {
  mol_a2a_turn *it = begin_end(t);
  return it ? finish_end(t, mol_a2a_turn_canceled(it)) : t ? MOL_EPROTO : MOL_EINVAL;
}

/* The caller's message, canonical: an agent message with the fields it may leave out filled
 * in. NULL when it is not a message object with parts. */
static json_t *reply_message(const char *message_json) {
  json_t *in = message_json ? json_loads(message_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (!json_is_object(in) || !json_is_array(json_object_get(in, "parts"))) {
    json_decref(in);
    return NULL;
  }
  json_t *fresh = mol_a2a_message_new(MOL_A2A_ROLE_AGENT, NULL);
  json_object_set_new(in, "kind", json_string("message"));
  json_object_set_new(in, "role", json_string("agent"));
  if (!json_is_string(json_object_get(in, "messageId")) && fresh)
    json_object_set(in, "messageId", json_object_get(fresh, "messageId"));
  json_decref(fresh);
  json_t *out = NULL;
  mol_a2a_error err = {0};
  mol_a2a_message_from_wire(in, MOL_A2A_V03, &out, &err);
  json_decref(in);
  return out;
}

int mol_turn_reply_message(mol_turn *t, const char *message_json) {
  if (!t) return MOL_EINVAL;
  if (t->ended) return MOL_EPROTO;
  json_t *msg = reply_message(message_json);
  if (!msg) return MOL_EINVAL; /* the turn goes on: nothing was ended */
  mol_a2a_turn *it = begin_end(t);
  return finish_end(t, mol_a2a_turn_reply(it, msg));
}
