/* turn.c - one executor turn over the task engine.
 *
 * A turn holds its task from start to end (mol_a2a_task_hold), so the task is never evicted
 * under an executor that still writes to it, and its hold's cancel reaches this turn whether
 * tasks/cancel came or another turn on the same task ended it. */
#include "a2a_uv/turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "base/crypto.h"
#include "base/str.h"
#include "base/zalloc.h"
#include "molecule.h"

struct mol_a2a_turn {
  uv_loop_t *loop;
  mol_a2a_task *task;          /* held until the ending call */
  mol_a2a_hold hold;
  mol_a2a_cmsg *message;
  json_t *req_metadata;
  char *text;
  int own_text;           /* text is a copy (else it is the message's own, borrowed) */
  int streaming;
  int ended;
  const mol_a2a_executor *ex;
  mol_a2a_turn_hooks hooks;
  void *data;
  char artifact_id[MOL_UUID_LEN + 1];
};

uv_loop_t *mol_a2a_turn_loop(const mol_a2a_turn *t) { return t->loop; }
mol_a2a_task *mol_a2a_turn_task(const mol_a2a_turn *t) { return t->task; }
const json_t *mol_a2a_turn_message(const mol_a2a_turn *t) { return mol_a2a_cmsg_json(t->message); }
const json_t *mol_a2a_turn_message_metadata(const mol_a2a_turn *t) {
  return mol_a2a_cmsg_metadata(t->message);
}
const char *mol_a2a_turn_text(const mol_a2a_turn *t) { return t->text; }
const char *mol_a2a_turn_message_id(const mol_a2a_turn *t) { return mol_a2a_cmsg_id(t->message); }
const char *mol_a2a_turn_task_id(const mol_a2a_turn *t) { return mol_a2a_task_id(t->task); }
const char *mol_a2a_turn_context_id(const mol_a2a_turn *t) {
  return mol_a2a_task_context_id(t->task);
}
const json_t *mol_a2a_turn_request_metadata(const mol_a2a_turn *t) { return t->req_metadata; }
int mol_a2a_turn_streaming(const mol_a2a_turn *t) { return t->streaming; }
int mol_a2a_turn_cancel_requested(const mol_a2a_turn *t) {
  return mol_a2a_task_cancel_requested(t->task);
}
void mol_a2a_turn_set_data(mol_a2a_turn *t, void *data) { t->data = data; }
void *mol_a2a_turn_data(const mol_a2a_turn *t) { return t->data; }

static void turn_free(mol_a2a_turn *t) {
  mol_a2a_cmsg_unref(t->message);
  json_decref(t->req_metadata);
  if (t->own_text) free(t->text);
  free(t);
}

/* Moves the task to its last state of this turn, then tells the binding and frees the turn. */
static int end_turn(mol_a2a_turn *t, mol_a2a_task_state state, mol_a2a_cmsg *msg) {
  if (t->ended) {
    mol_a2a_cmsg_unref(msg);
    return MOL_EPROTO;
  }
  t->ended = 1;
  mol_a2a_task_disarm(&t->hold); /* ending may cancel the task's other turns, not this one */
  int rc = state == MOL_A2A_STATE_CANCELED ? mol_a2a_task_finish_canceled(t->task, msg)
                                           : mol_a2a_task_set_status_msg(t->task, state, msg, NULL);
  mol_a2a_cmsg_unref(msg);
  /* Released only now, and on_end follows at once: the task is still there inside on_end,
   * which may remove it (a Message-only exchange keeps no task). */
  mol_a2a_task_release(&t->hold);
  if (t->hooks.on_end) t->hooks.on_end(t, t->hooks.arg);
  turn_free(t);
  return rc;
}

static mol_a2a_cmsg *agent_text(const char *text) {
  return text ? mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_AGENT, text) : NULL;
}

int mol_a2a_turn_working(mol_a2a_turn *t, const char *text) {
  if (t->ended) return MOL_EPROTO;
  mol_a2a_cmsg *msg = agent_text(text);
  int rc = mol_a2a_task_set_status_msg(t->task, MOL_A2A_STATE_WORKING, msg, NULL);
  mol_a2a_cmsg_unref(msg);
  return rc;
}

int mol_a2a_turn_artifact_parts(mol_a2a_turn *t, const char *artifact_id, const char *name,
                                json_t *parts, int append, int last_chunk) {
  if (t->ended) {
    json_decref(parts);
    return MOL_EPROTO;
  }
  if (!artifact_id && !t->artifact_id[0]) mol_uuid4(t->artifact_id); /* only when used */
  json_t *a = mol_a2a_artifact_new(artifact_id ? artifact_id : t->artifact_id, name, parts);
  if (!a) return MOL_ENOMEM;
  int rc = mol_a2a_task_add_artifact(t->task, a, append, last_chunk);
  json_decref(a);
  return rc;
}

int mol_a2a_turn_artifact(mol_a2a_turn *t, const char *artifact_id, const char *name,
                          const char *text, int append, int last_chunk) {
  json_t *parts = json_array();
  if (!parts || json_array_append_new(parts, mol_a2a_part_text(text ? text : ""))) {
    json_decref(parts);
    return t->ended ? MOL_EPROTO : MOL_ENOMEM;
  }
  return mol_a2a_turn_artifact_parts(t, artifact_id, name, parts, append, last_chunk);
}

static int reply_msg(mol_a2a_turn *t, mol_a2a_cmsg *msg) {
  if (t->ended) {
    mol_a2a_cmsg_unref(msg);
    return MOL_EPROTO;
  }
  msg = mol_a2a_cmsg_fill_ids(msg, mol_a2a_task_id(t->task), mol_a2a_task_context_id(t->task));
  if (!msg) return end_turn(t, MOL_A2A_STATE_FAILED, agent_text("out of memory"));
  if (t->hooks.on_reply) t->hooks.on_reply(t, msg, t->hooks.arg);
  return end_turn(t, MOL_A2A_STATE_COMPLETED, msg);
}

int mol_a2a_turn_reply(mol_a2a_turn *t, json_t *msg) {
  if (!msg) return t->ended ? MOL_EPROTO : MOL_EINVAL;
  mol_a2a_cmsg *m = mol_a2a_cmsg_wrap(msg);
  return m ? reply_msg(t, m) : MOL_ENOMEM;
}

/* The common case: held compactly, with the task's ids from the start, and written to the
 * caller without building a tree. */
int mol_a2a_turn_reply_text(mol_a2a_turn *t, const char *text) {
  if (t->ended) return MOL_EPROTO;
  mol_a2a_text_span span = {text ? text : "", text ? strlen(text) : 0};
  mol_a2a_cmsg *m = mol_a2a_cmsg_new_text(MOL_A2A_ROLE_AGENT, NULL,
                                          mol_a2a_task_context_id(t->task),
                                          mol_a2a_task_id(t->task), &span, 1);
  return m ? reply_msg(t, m) : MOL_ENOMEM;
}

int mol_a2a_turn_complete(mol_a2a_turn *t, const char *text) {
  return end_turn(t, MOL_A2A_STATE_COMPLETED, agent_text(text));
}
int mol_a2a_turn_fail(mol_a2a_turn *t, const char *text) {
  return end_turn(t, MOL_A2A_STATE_FAILED, agent_text(text));
}
int mol_a2a_turn_input_required(mol_a2a_turn *t, const char *text) {
  return end_turn(t, MOL_A2A_STATE_INPUT_REQUIRED, agent_text(text));
}
int mol_a2a_turn_canceled(mol_a2a_turn *t) {
  return end_turn(t, MOL_A2A_STATE_CANCELED, NULL);
}

static void on_cancel_hook(mol_a2a_task *task, void *arg) {
  (void)task;
  mol_a2a_turn *t = arg;
  if (t->ex->cancel) t->ex->cancel(t->ex->self, t);
  else mol_a2a_turn_canceled(t);
}

/* The message's text without surrounding blanks: the message's own bytes when that is what
 * they already are (one text part, nothing to strip), else a copy. */
static char *stripped_text(const mol_a2a_cmsg *msg, int *own) {
  size_t len;
  const char *only = mol_a2a_cmsg_only_text(msg, &len);
  if (only && strlen(only) == len &&
      (len == 0 || (!mol_is_blank(only[0]) && !mol_is_blank(only[len - 1])))) {
    *own = 0;
    return (char *)only;
  }
  *own = 1;
  return mol_str_strip(mol_a2a_cmsg_text(msg)); /* NULL (out of memory) stays NULL */
}

int mol_a2a_turn_start(uv_loop_t *loop, mol_a2a_task *task, mol_a2a_cmsg *message,
                       const json_t *req_metadata, int streaming, const mol_a2a_executor *ex,
                       const mol_a2a_turn_hooks *hooks, mol_a2a_turn **out) {
  mol_a2a_turn *t = mol_zalloc(sizeof(*t));
  if (!t) return MOL_ENOMEM;
  t->loop = loop;
  t->task = task;
  mol_a2a_task_hold(task, &t->hold, on_cancel_hook, t);
  t->message = mol_a2a_cmsg_ref(message); /* shared messages are immutable */
  t->req_metadata = req_metadata ? json_incref((json_t *)req_metadata) : NULL;
  t->text = stripped_text(message, &t->own_text);
  t->streaming = streaming;
  t->ex = ex;
  if (hooks) t->hooks = *hooks;
  if (!t->message || !t->text) {
    end_turn(t, MOL_A2A_STATE_FAILED, agent_text("out of memory"));
    return MOL_ENOMEM;
  }
  if (out) *out = t;
  int rc = ex->execute(ex->self, t);
  if (rc) {
    char why[160];
    snprintf(why, sizeof(why), "executor %s failed to start: %s", ex->name ? ex->name : "?",
             mol_strerror(rc));
    end_turn(t, MOL_A2A_STATE_FAILED, agent_text(why));
  }
  return rc;
}
