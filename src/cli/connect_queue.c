/* connect_queue.c - the plain data of `molecule connect`'s delivery: owned copies of inbound
 * messages, the FIFO of those waiting for the handler, and the ring of activity ids already
 * taken in this run. No I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/connect_int.h"

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

void mol_cli__connect_msg_free(connect_msg *q) {
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
connect_msg *mol_cli__connect_msg_copy(const mol_platform_message *m) {
  connect_msg *q = calloc(1, sizeof(*q));
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
    mol_cli__connect_msg_free(q);
    return NULL;
  }
  return q;
}

void mol_cli__connect_queue_push(connect_queue *q, connect_msg *msg) {
  msg->next = NULL;
  if (q->tail) q->tail->next = msg;
  else q->head = msg;
  q->tail = msg;
  q->n++;
}

connect_msg *mol_cli__connect_queue_pop(connect_queue *q) {
  connect_msg *msg = q->head;
  if (!msg) return NULL;
  q->head = msg->next;
  if (!q->head) q->tail = NULL;
  q->n--;
  return msg;
}

void mol_cli__connect_queue_clear(connect_queue *q) {
  connect_msg *msg;
  while ((msg = mol_cli__connect_queue_pop(q))) mol_cli__connect_msg_free(msg);
}

/* 1 when the id was taken before in this run. The platform can bring a row again: one that
 * lost the cursor row answers 410, and the newest-first listing that follows repeats rows
 * already handled (at most a batch of them, which the ring covers). */
int mol_cli__connect_seen_has(const connect_seen *s, const char *id) {
  for (size_t i = 0; i < CONNECT_SEEN_IDS; i++)
    if (strcmp(s->ids[i], id) == 0) return 1;
  return 0;
}

void mol_cli__connect_seen_add(connect_seen *s, const char *id) {
  snprintf(s->ids[s->next++ % CONNECT_SEEN_IDS], sizeof s->ids[0], "%s", id);
}
