/* task.c - one A2A task: state machine, history, artifacts, listeners and cancellation. */
#include <stdlib.h>
#include <string.h>

#include "a2a/task_int.h"
#include "base/clock.h"
#include "base/zalloc.h"
#include "molecule.h"

/* ---- state machine --------------------------------------------------------------------- */

int mol_a2a_state_can_transition(mol_a2a_task_state from, mol_a2a_task_state to) {
  if (mol_a2a_state_is_terminal(from) || to == MOL_A2A_STATE_UNKNOWN ||
      to == MOL_A2A_STATE_SUBMITTED)
    return 0;
  switch (from) {
  case MOL_A2A_STATE_SUBMITTED:
    return 1;
  case MOL_A2A_STATE_WORKING:
    /* rejected means "refused before work began", so it is only legal from submitted. */
    return to != MOL_A2A_STATE_REJECTED;
  case MOL_A2A_STATE_INPUT_REQUIRED:
  case MOL_A2A_STATE_AUTH_REQUIRED:
    return to == MOL_A2A_STATE_WORKING || to == MOL_A2A_STATE_COMPLETED ||
           to == MOL_A2A_STATE_CANCELED || to == MOL_A2A_STATE_FAILED;
  default:
    return 0;
  }
}

/* ---- allocation ------------------------------------------------------------------------ */

/* The status timestamp: ISO-8601 UTC with milliseconds and Z, from the store's clock. Formatting
 * a date costs more than the rest of a status change, so the store keeps the last one: within
 * its millisecond it is copied, within its second only the milliseconds are written. */
#define MOL_ISO8601_LAST_MS 253402300800000LL /* 10000-01-01: mol_iso8601 clamps from here */

static void stamp(mol_a2a_task *t) {
  mol_a2a_store *s = t->store;
  long long ms = mol_a2a_store_now(s);
  char *c = s->stamp; /* "YYYY-MM-DDTHH:MM:SS.mmmZ" once set */
  if (!c[0] || ms != s->stamp_ms) {
    if (c[0] && ms >= 0 && s->stamp_ms >= 0 && ms / 1000 == s->stamp_ms / 1000 &&
        ms < MOL_ISO8601_LAST_MS && c[23] == 'Z') {
      c[20] = (char)('0' + ms % 1000 / 100);
      c[21] = (char)('0' + ms % 100 / 10);
      c[22] = (char)('0' + ms % 10);
    } else {
      mol_iso8601(ms / 1000, (long)(ms % 1000) * 1000000, 3, "Z", c, sizeof(s->stamp));
    }
    s->stamp_ms = ms;
  }
  memcpy(t->timestamp, c, sizeof(t->timestamp));
}

mol_a2a_task *mol_a2a__task_alloc(mol_a2a_store *s, const char *id, const char *context_id) {
  mol_a2a_task *t = mol_zalloc(sizeof(*t));
  if (!t) return NULL;
  t->store = s;
  t->id = strdup(id);
  t->context_id = strdup(context_id);
  t->state = MOL_A2A_STATE_SUBMITTED;
  stamp(t);
  if (!t->id || !t->context_id) {
    mol_a2a__task_free(t);
    return NULL;
  }
  return t;
}

static void pending_free(pending_event *pe) {
  mol_a2a_cmsg_unref(pe->hold_msg);
  json_decref(pe->hold_artifact);
  json_decref(pe->hold_metadata);
  free(pe);
}

void mol_a2a__task_free(mol_a2a_task *t) {
  if (!t) return;
  for (mol_a2a_listener *l = t->listeners, *n; l; l = n) {
    n = l->next;
    free(l);
  }
  for (pending_event *pe = t->queue_head, *n; pe; pe = n) {
    n = pe->next;
    pending_free(pe);
  }
  mol_a2a_cmsg_unref(t->status_msg);
  for (size_t i = 0; i < t->history_len; i++) mol_a2a_cmsg_unref(t->history[i]);
  free(t->history);
  json_decref(t->artifacts);
  json_decref(t->closed);
  json_decref(t->metadata);
  if (t->store && t->store->push_count) mol_a2a__task_push_free(t);
  free(t->id);
  free(t->context_id);
  free(t);
}

/* ---- accessors ------------------------------------------------------------------------- */

const char *mol_a2a_task_id(const mol_a2a_task *t) { return t->id; }
const char *mol_a2a_task_context_id(const mol_a2a_task *t) { return t->context_id; }
mol_a2a_task_state mol_a2a_task_state_get(const mol_a2a_task *t) { return t->state; }
const char *mol_a2a_task_timestamp(const mol_a2a_task *t) { return t->timestamp; }
/* Read back from the timestamp rather than kept: 8 more bytes on every task would cost more
 * than parsing it when a ListTasks asks. */
int64_t mol_a2a_task_status_ms(const mol_a2a_task *t) {
  int64_t ms = 0;
  mol_rfc3339_parse(t->timestamp, &ms);
  return ms;
}
const mol_a2a_cmsg *mol_a2a_task_status_message(const mol_a2a_task *t) { return t->status_msg; }
int64_t mol_a2a_task_ended_ms(const mol_a2a_task *t) {
  return mol_a2a_state_is_terminal(t->state) ? t->ended_ms : 0;
}
size_t mol_a2a_task_history_len(const mol_a2a_task *t) { return t->history_len; }
const mol_a2a_cmsg *mol_a2a_task_history_at(const mol_a2a_task *t, size_t i) {
  return i < t->history_len ? t->history[i] : NULL;
}
const json_t *mol_a2a_task_artifacts(const mol_a2a_task *t) { return t->artifacts; }
int mol_a2a_task_cancel_requested(const mol_a2a_task *t) { return t->cancel_requested; }
size_t mol_a2a_task_listener_count(const mol_a2a_task *t) { return t->n_listeners; }
size_t mol_a2a_task_holds(const mol_a2a_task *t) { return t->holds; }
int mol_a2a__task_in_use(const mol_a2a_task *t) {
  return t->holds || t->n_listeners || t->dispatching || t->queue_head;
}

/* ---- listeners and dispatch ------------------------------------------------------------ */

static void listener_unlink(mol_a2a_task *t, mol_a2a_listener *l) {
  if (l->prev) l->prev->next = l->next;
  else t->listeners = l->next;
  if (l->next) l->next->prev = l->prev;
  free(l);
}

static void reap_removed(mol_a2a_task *t) {
  for (mol_a2a_listener *l = t->listeners, *n; l; l = n) {
    n = l->next;
    if (l->removed) listener_unlink(t, l);
  }
}

static void mark_removed(mol_a2a_task *t, mol_a2a_listener *l) {
  if (l->removed) return;
  l->removed = 1;
  t->n_listeners--;
}

int mol_a2a_task_subscribe(mol_a2a_task *t, mol_a2a_listener_fn fn, void *arg,
                           mol_a2a_listener **out) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  if (!fn) return MOL_EINVAL;
  if (t->n_listeners >= t->store->o.max_listeners) return MOL_ELIMIT;
  mol_a2a_listener *l = calloc(1, sizeof(*l));
  if (!l) return MOL_ENOMEM;
  l->fn = fn;
  l->arg = arg;
  l->start_seq = t->next_seq;
  /* Append, so listeners are called in subscription order. */
  mol_a2a_listener **pp = &t->listeners, *prev = NULL;
  while (*pp) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  l->prev = prev;
  *pp = l;
  t->n_listeners++;
  if (out) *out = l;
  return 0;
}

void mol_a2a_task_unsubscribe(mol_a2a_task *t, mol_a2a_listener *l) {
  if (!l) return;
  mark_removed(t, l);
  /* During a dispatch the loop still walks this node; it is unlinked when the loop is done. */
  if (!t->dispatching) reap_removed(t);
}

static void deliver(mol_a2a_task *t, pending_event *pe) {
  for (mol_a2a_listener *l = t->listeners; l; l = l->next) {
    if (l->removed || l->start_seq > pe->seq) continue;
    if (pe->ev.final) mark_removed(t, l); /* a final event is the listener's last */
    l->fn(t, &pe->ev, l->arg);
  }
}

/* Queues the event (taking ownership) and, unless a dispatch is already running further up the
 * stack, delivers the queue in order. Queuing nested events keeps one order for everyone. */
static void dispatch(mol_a2a_task *t, pending_event *pe) {
  pe->seq = t->next_seq++;
  pe->ev.task_id = t->id;
  pe->ev.context_id = t->context_id;
  if (t->queue_tail) t->queue_tail->next = pe;
  else t->queue_head = pe;
  t->queue_tail = pe;
  if (t->dispatching) return;
  t->dispatching = 1;
  while ((pe = t->queue_head) != NULL) {
    t->queue_head = pe->next;
    if (!t->queue_head) t->queue_tail = NULL;
    deliver(t, pe);
    if (t->store->push_count && t->store->o.push_observer && pe->ev.kind != MOL_A2A_EV_CLOSED &&
        mol_a2a__task_has_push(t))
      t->store->o.push_observer(t, &pe->ev, t->store->o.push_observer_arg);
    pending_free(pe);
  }
  t->dispatching = 0;
  reap_removed(t);
}

void mol_a2a__task_close_listeners(mol_a2a_task *t) {
  pending_event *pe = calloc(1, sizeof(*pe));
  if (!pe) return;
  pe->ev.kind = MOL_A2A_EV_CLOSED;
  pe->ev.state = t->state;
  pe->ev.final = 1;
  dispatch(t, pe);
}

static void cancel_armed(mol_a2a_task *t);

/* ---- mutations ------------------------------------------------------------------------- */

static int history_push(mol_a2a_task *t, mol_a2a_cmsg *msg /* stolen */) {
  if (!msg) return MOL_ENOMEM;
  if (t->history_len == t->store->o.max_history) { /* drop the oldest */
    mol_a2a_cmsg_unref(t->history[0]);
    memmove(t->history, t->history + 1, --t->history_len * sizeof(*t->history));
  }
  if (t->history_len == t->history_cap) {
    size_t cap = t->history_cap ? t->history_cap * 2 : 2;
    mol_a2a_cmsg **h = realloc(t->history, cap * sizeof(*h));
    if (!h) {
      mol_a2a_cmsg_unref(msg);
      return MOL_ENOMEM;
    }
    t->history = h;
    t->history_cap = cap;
  }
  t->history[t->history_len++] = msg;
  mol_a2a__journal(t);
  return 0;
}

int mol_a2a_task_add_history_msg(mol_a2a_task *t, mol_a2a_cmsg *msg) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  if (!msg) return MOL_EINVAL;
  return history_push(t, mol_a2a_cmsg_ref(msg)); /* shared messages are immutable */
}

int mol_a2a_task_add_history(mol_a2a_task *t, const json_t *msg) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  if (!json_is_object(msg)) return MOL_EINVAL;
  return history_push(t, mol_a2a_cmsg_wrap(json_incref((json_t *)msg)));
}

int mol_a2a__task_settle_status_msg(mol_a2a_task *t) {
  if (!t->status_msg) return 0;
  mol_a2a_cmsg *old = t->status_msg;
  t->status_msg = NULL;
  return old ? history_push(t, old) : 0;
}

int mol_a2a_task_set_metadata(mol_a2a_task *t, const json_t *metadata) {
  if (metadata && !json_is_object(metadata)) return MOL_EINVAL;
  json_t *copy = metadata ? json_deep_copy(metadata) : NULL;
  if (metadata && !copy) return MOL_ENOMEM;
  json_decref(t->metadata);
  t->metadata = copy;
  mol_a2a__journal(t);
  return 0;
}

/* An agent's status message belongs to this task: fill in the ids the SDKs expect. */
static mol_a2a_cmsg *own_message(const mol_a2a_task *t, mol_a2a_cmsg *msg) {
  return mol_a2a_cmsg_fill_ids(mol_a2a_cmsg_ref(msg), t->id, t->context_id);
}

/* Whether an event raised now reaches anyone: a listener, or the push observer. Outside a
 * dispatch an event is delivered at once, so one nobody hears needs no allocation (a message/send
 * answered directly has no listener: its reply comes from the turn). */
static int heard(const mol_a2a_task *t) {
  return t->dispatching || t->n_listeners ||
         (t->store->push_count && t->store->o.push_observer && mol_a2a__task_has_push(t));
}

static pending_event *status_event(mol_a2a_task *t, const json_t *metadata) {
  pending_event *pe = calloc(1, sizeof(*pe));
  if (!pe) return NULL;
  pe->ev.kind = MOL_A2A_EV_STATUS;
  pe->ev.state = t->state;
  pe->ev.final = mol_a2a_state_is_terminal(t->state) || mol_a2a_state_is_interrupted(t->state);
  memcpy(pe->timestamp, t->timestamp, sizeof(pe->timestamp));
  pe->ev.timestamp = pe->timestamp;
  pe->hold_msg = mol_a2a_cmsg_ref(t->status_msg);
  pe->ev.status_message = pe->hold_msg;
  pe->hold_metadata = metadata ? json_deep_copy(metadata) : NULL;
  pe->ev.metadata = pe->hold_metadata;
  return pe;
}

int mol_a2a_task_set_status(mol_a2a_task *t, mol_a2a_task_state state, const json_t *msg,
                            const json_t *metadata) {
  if (msg && !json_is_object(msg)) return MOL_EINVAL;
  mol_a2a_cmsg *m = msg ? mol_a2a_cmsg_wrap(json_incref((json_t *)msg)) : NULL;
  if (msg && !m) return MOL_ENOMEM;
  int rc = mol_a2a_task_set_status_msg(t, state, m, metadata);
  mol_a2a_cmsg_unref(m);
  return rc;
}

int mol_a2a_task_set_status_msg(mol_a2a_task *t, mol_a2a_task_state state, mol_a2a_cmsg *msg,
                                const json_t *metadata) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  if (!mol_a2a_state_can_transition(t->state, state)) return MOL_A2A_EILLEGAL;
  mol_a2a_cmsg *m = msg ? own_message(t, msg) : NULL;
  int rc = 0;
  if (msg && !m) return MOL_ENOMEM;
  mol_a2a_cmsg *old = t->status_msg;
  t->status_msg = m;
  if (old && history_push(t, old) != 0) return MOL_ENOMEM;
  t->state = state;
  stamp(t);
  int terminal = mol_a2a_state_is_terminal(state);
  if (terminal) mol_a2a__store_note_terminal(t->store, t);
  if (terminal || mol_a2a_state_is_interrupted(state)) mol_a2a__store_recharge(t->store, t);
  mol_a2a__journal(t);
  if (!heard(t)) {
    t->next_seq++; /* the sequence still counts it, as if it had been delivered to no one */
  } else {
    pending_event *pe = status_event(t, metadata);
    if (pe) dispatch(t, pe); /* else the state did change; only the event is lost */
    else rc = MOL_ENOMEM;
  }
  /* Turns still running on the task can no longer record anything: ask them to stop. */
  if (terminal) cancel_armed(t);
  return rc;
}

static int artifact_index(const mol_a2a_task *t, const char *id) {
  size_t i;
  json_t *a;
  json_array_foreach(t->artifacts, i, a) {
    const char *aid = json_string_value(json_object_get(a, "artifactId"));
    if (aid && strcmp(aid, id) == 0) return (int)i;
  }
  return -1;
}

static int artifact_merge(mol_a2a_task *t, const json_t *chunk, const char *id, int append) {
  if (!t->artifacts && !(t->artifacts = json_array())) return MOL_ENOMEM;
  int idx = artifact_index(t, id);
  if (append && idx >= 0) {
    if (json_object_get(t->closed, id)) return MOL_EINVAL; /* lastChunk already seen */
    json_t *parts = json_object_get(json_array_get(t->artifacts, (size_t)idx), "parts");
    json_t *more = json_deep_copy(json_object_get(chunk, "parts"));
    int rc = more ? json_array_extend(parts, more) : -1;
    json_decref(more);
    return rc == 0 ? 0 : MOL_ENOMEM;
  }
  json_t *copy = json_deep_copy(chunk);
  if (!copy) return MOL_ENOMEM;
  int rc = idx >= 0 ? json_array_set_new(t->artifacts, (size_t)idx, copy)
                    : json_array_append_new(t->artifacts, copy);
  json_object_del(t->closed, id); /* a replacement starts a new chunk sequence */
  return rc == 0 ? 0 : MOL_ENOMEM;
}

int mol_a2a_task_add_artifact(mol_a2a_task *t, const json_t *artifact, int append,
                              int last_chunk) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  const char *id = json_string_value(json_object_get(artifact, "artifactId"));
  if (!id || !json_is_array(json_object_get(artifact, "parts"))) return MOL_EINVAL;
  int rc = artifact_merge(t, artifact, id, append);
  if (rc != 0) return rc;
  if (last_chunk && !t->closed && !(t->closed = json_object())) return MOL_ENOMEM;
  if (last_chunk) json_object_set_new(t->closed, id, json_true());
  mol_a2a__journal(t);
  pending_event *pe = calloc(1, sizeof(*pe));
  if (!pe) return MOL_ENOMEM;
  pe->ev.kind = MOL_A2A_EV_ARTIFACT;
  pe->ev.state = t->state;
  pe->hold_artifact = json_deep_copy(artifact);
  pe->ev.artifact = pe->hold_artifact;
  pe->ev.append = append ? 1 : 0;
  pe->ev.last_chunk = last_chunk ? 1 : 0;
  dispatch(t, pe);
  return 0;
}

/* ---- holds and cancellation ------------------------------------------------------------ */

static void disarm(mol_a2a_task *t, mol_a2a_hold *h) {
  if (!h->cancel) return;
  h->cancel = NULL;
  if (h->prev) h->prev->next = h->next;
  else t->armed = h->next;
  if (h->next) h->next->prev = h->prev;
  h->prev = h->next = NULL;
}

void mol_a2a_task_hold(mol_a2a_task *t, mol_a2a_hold *h, mol_a2a_cancel_fn cancel, void *arg) {
  *h = (mol_a2a_hold){.cancel = cancel, .arg = arg, .task = t};
  t->holds++;
  if (!cancel) return;
  h->next = t->armed;
  if (t->armed) t->armed->prev = h;
  t->armed = h;
}

void mol_a2a_task_disarm(mol_a2a_hold *h) {
  if (h->task) disarm(h->task, h);
}

void mol_a2a_task_release(mol_a2a_hold *h) {
  mol_a2a_task *t = h->task;
  if (!t) return;
  disarm(t, h);
  h->task = NULL;
  t->holds--;
}

/* Calls each armed hold once. A call may end turns (disarming and releasing their holds) or
 * the task itself, which comes back here: taking holds off the head one at a time keeps every
 * hold called exactly once however the calls nest. A hold of our own keeps the task allocated
 * until the last call has returned, whatever the turns' endings do. */
static void cancel_armed(mol_a2a_task *t) {
  if (!t->armed) return;
  mol_a2a_hold self, *h;
  mol_a2a_task_hold(t, &self, NULL, NULL);
  while ((h = t->armed) != NULL) {
    mol_a2a_cancel_fn fn = h->cancel;
    disarm(t, h);
    fn(t, h->arg);
  }
  mol_a2a_task_release(&self);
}

int mol_a2a_task_request_cancel(mol_a2a_task *t) {
  if (mol_a2a_state_is_terminal(t->state)) return MOL_A2A_ETERMINAL;
  if (t->cancel_requested) return 0;
  t->cancel_requested = 1;
  if (!t->armed) return mol_a2a_task_finish_canceled(t, NULL); /* nothing runs: cancel now */
  cancel_armed(t);
  return 0;
}

int mol_a2a_task_finish_canceled(mol_a2a_task *t, mol_a2a_cmsg *msg) {
  return mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_CANCELED, msg, NULL);
}
