/* tool_inbox.c - the inbox tools of a poll-mode agent (the MCP set): wait_for_message,
 * inbox_peek and inbox_pop, on the platform client's poll-mode inbound calls
 * (mol_platform_fetch_inbound, GET /workspaces/<self>/activity?since_id=) and its persisted
 * cursor.
 *
 * One inbox per platform client holds the messages fetched and not yet popped, oldest first.
 * Fetches are shared: a call that needs fresh rows while one is in flight waits for that one.
 * The persisted cursor advances only over the popped prefix of the inbox, so a message fetched
 * but not popped when the process dies is fetched again after a restart (at least once, never
 * lost); a ring of popped ids keeps a replay after a lost cursor (410) from showing a popped
 * message twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "tools/builtin_int.h"

#define INBOX_MAX 1000
#define POPPED_RING 256
#define FETCH_LIMIT 100

typedef struct {
  char *id;
  json_t *view;
} inbox_msg;

typedef struct waiter {
  struct waiter *next;
  mol_tools__op *op;
  void (*fetched)(mol_tools__op *op, int err);
} waiter;

struct mol_tools__inbox {
  mol_tools__inbox *next;
  mol_tools_builtin *b;
  mol_platform_client *pc;
  inbox_msg *msgs;
  size_t n, cap;
  char *since;               /* the last activity id fetched; NULL: the client's cursor */
  int fetching;
  waiter *waiters;
  char *popped[POPPED_RING];
  size_t popped_next;
};

static mol_tools__inbox *inbox_of(mol_tools_builtin *b, mol_platform_client *pc) {
  for (mol_tools__inbox *in = b->inboxes; in; in = in->next)
    if (in->pc == pc) return in;
  mol_tools__inbox *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  in->b = b;
  in->pc = pc;
  in->next = b->inboxes;
  b->inboxes = in;
  return in;
}

void mol_tools__inboxes_free(mol_tools_builtin *b) {
  while (b->inboxes) {
    mol_tools__inbox *in = b->inboxes;
    b->inboxes = in->next;
    for (size_t i = 0; i < in->n; i++) {
      free(in->msgs[i].id);
      json_decref(in->msgs[i].view);
    }
    for (size_t i = 0; i < POPPED_RING; i++) free(in->popped[i]);
    free(in->msgs);
    free(in->since);
    free(in);
  }
}

/* ---- fetching -------------------------------------------------------------------------------- */

static int known(const mol_tools__inbox *in, const char *id) {
  for (size_t i = 0; i < in->n; i++)
    if (!strcmp(in->msgs[i].id, id)) return 1;
  for (size_t i = 0; i < POPPED_RING; i++)
    if (in->popped[i] && !strcmp(in->popped[i], id)) return 1;
  return 0;
}

static json_t *view_of(const mol_platform_message *m) {
  static const char *const sources[] = {"unknown", "canvas_user", "peer_agent"};
  json_t *v = json_pack("{s:s,s:s,s:s}", "activity_id", m->activity_id, "source",
                        sources[m->source <= MOL_PLATFORM_SRC_PEER_AGENT ? m->source : 0],
                        "text", m->text ? m->text : "");
  const char *keys[] = {"source_id", "peer_name", "peer_role", "agent_card_url"};
  const char *vals[] = {m->source_id, m->peer_name, m->peer_role, m->agent_card_url};
  for (size_t i = 0; v && i < 4; i++)
    if (vals[i] && *vals[i]) json_object_set_new(v, keys[i], json_string(vals[i]));
  return v;
}

static void take(mol_tools__inbox *in, const mol_platform_result *res) {
  for (size_t i = 0; i < res->nmessages; i++) {
    const mol_platform_message *m = &res->messages[i];
    if (!known(in, m->activity_id)) {
      if (in->n == INBOX_MAX) return; /* the rest is fetched again once there is room */
      if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 16;
        inbox_msg *grown = realloc(in->msgs, cap * sizeof *grown);
        if (!grown) return;
        in->msgs = grown;
        in->cap = cap;
      }
      inbox_msg *q = &in->msgs[in->n];
      if (!(q->id = strdup(m->activity_id)) || !(q->view = view_of(m))) {
        free(q->id);
        return;
      }
      in->n++;
    }
    char *since = strdup(m->activity_id); /* only past what the inbox holds */
    if (!since) return;
    free(in->since);
    in->since = since;
  }
}

static void on_fetched(int err, const mol_platform_result *res, void *arg) {
  mol_tools__inbox *in = arg;
  mol_tools_builtin *b = in->b;
  in->fetching = 0;
  if (!err) take(in, res);
  else if (res && res->cursor_lost) { /* the platform pruned the cursor: start from the newest */
    free(in->since);
    in->since = NULL;
  }
  waiter *w = in->waiters;
  in->waiters = NULL;
  while (w) {
    waiter *next = w->next;
    mol_tools__op *op = w->op;
    void (*fetched)(mol_tools__op *, int) = w->fetched;
    free(w);
    op->x_cancel = NULL;
    if (mol_tool_call_stopping(op->call))
      mol_tools__done(op, "canceled");
    else fetched(op, err);
    w = next;
  }
  mol_tools__release(b); /* the fetch's hold */
}

/* A waiter's cancel: leaves the list and ends the call now (the shared fetch goes on). */
static void leave(mol_tools__op *op) {
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  for (waiter **p = in ? &in->waiters : NULL; p && *p; p = &(*p)->next) {
    if ((*p)->op != op) continue;
    waiter *w = *p;
    *p = w->next;
    free(w);
    op->x_cancel = NULL;
    mol_tools__done(op, "canceled");
    return;
  }
}

/* Fresh rows, then fetched(op, err): joins the fetch in flight or starts one. A full inbox
 * fetches nothing more until messages are popped: what it holds comes first. */
static void fetch(mol_tools__op *op, mol_tools__inbox *in,
                  void (*fetched)(mol_tools__op *op, int err)) {
  waiter *w = in->n < INBOX_MAX ? calloc(1, sizeof *w) : NULL;
  if (!w) {
    fetched(op, in->n < INBOX_MAX ? MOL_ENOMEM : 0);
    return;
  }
  w->op = op;
  w->fetched = fetched;
  w->next = in->waiters;
  in->waiters = w;
  op->x_cancel = leave;
  if (in->fetching) return;
  mol_platform_fetch_opts o = {.limit = FETCH_LIMIT, .since_id = in->since};
  mol_tools__hold(in->b);
  in->fetching = 1;
  int rc = mol_platform_fetch_inbound(in->pc, &o, NULL, on_fetched, in, NULL);
  if (rc) {
    mol_platform_result none = {0};
    on_fetched(rc, &none, in);
  }
}

/* ---- the tools -------------------------------------------------------------------------------- */

static json_t *unpopped(const mol_tools__inbox *in, size_t limit) {
  json_t *list = json_array();
  for (size_t i = 0; i < in->n && i < limit; i++) json_array_append(list, in->msgs[i].view);
  return list;
}

static void peeked(mol_tools__op *op, int err) {
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  long long limit = json_integer_value(json_object_get(op->args, "limit"));
  if (limit <= 0) limit = 10;
  json_t *v = json_pack("{s:o,s:I}", "messages", unpopped(in, (size_t)limit), "count",
                        (json_int_t)in->n);
  if (v && err) json_object_set_new(v, "warning", json_string(mol_strerror(err)));
  mol_tools__done_json(op, v);
}

static void wait_poll(mol_tools__op *op, int err, const mol_platform_result *res);

static void waited(mol_tools__op *op, int err) {
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  if (in->n) {
    mol_tools__done_json(op, json_pack("{s:O}", "message", in->msgs[0].view));
    return;
  }
  uint64_t now = uv_now(mol_tool_call_env(op->call)->loop), deadline = *(uint64_t *)op->x;
  if (now >= deadline) {
    json_t *v = json_pack("{s:n,s:b}", "message", "timed_out", 1);
    if (v && err) json_object_set_new(v, "warning", json_string(mol_strerror(err)));
    mol_tools__done_json(op, v);
    return;
  }
  uint64_t pause = op->b->o.inbox_poll_ms;
  mol_tools__after(op, pause < deadline - now ? pause : deadline - now, wait_poll);
}

static void wait_poll(mol_tools__op *op, int err, const mol_platform_result *res) {
  (void)err, (void)res;
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  if (in) fetch(op, in, waited);
  else
    mol_tools__fail(op, "Error: out of memory");
}

static const char wait_desc[] =
    "Wait for the next message to this workspace (from the user or a peer agent) and return "
    "it without removing it; after handling it, remove it with inbox_pop. Returns "
    "{\"message\":null,\"timed_out\":true} when none arrives in time.";
static const char wait_schema[] =
    "{\"type\":\"object\",\"properties\":{\"timeout_secs\":{\"type\":\"number\",\"description\":"
    "\"How long to wait, 1-300 seconds (default 60)\"}," BT_SOURCE_PROP "}}";

static int wait_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  uint64_t *deadline = op ? malloc(sizeof *deadline) : NULL;
  if (!op) return 0;
  if (!deadline) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  double secs = json_number_value(json_object_get(args, "timeout_secs"));
  if (secs <= 0) secs = 60;
  if (secs > 300) secs = 300;
  *deadline = uv_now(mol_tool_call_env(call)->loop) + (uint64_t)(secs * 1000);
  op->x = deadline;
  op->x_free = free;
  wait_poll(op, 0, NULL);
  return 0;
}

static const char peek_desc[] =
    "List the messages waiting in this workspace's inbox (oldest first) without removing them.";
static const char peek_schema[] =
    "{\"type\":\"object\",\"properties\":{\"limit\":{\"type\":\"integer\",\"description\":"
    "\"At most this many (default 10)\"}," BT_SOURCE_PROP "}}";

static int peek_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  if (in) fetch(op, in, peeked);
  else
    mol_tools__fail(op, "Error: out of memory");
  return 0;
}

static const char pop_desc[] =
    "Remove a handled message from the inbox by its activity_id, so it is not delivered again.";
static const char pop_schema[] =
    "{\"type\":\"object\",\"properties\":{\"activity_id\":{\"type\":\"string\"}," BT_SOURCE_PROP
    "},\"required\":[\"activity_id\"]}";

/* Removes message i. When it was the oldest, the persisted cursor moves to it (or, when the
 * inbox is then empty, to the last row fetched: everything up to it was popped). */
static void pop_at(mol_tools__inbox *in, size_t i) {
  if (i == 0) mol_platform_set_cursor(in->pc, in->n == 1 && in->since ? in->since : in->msgs[0].id);
  free(in->popped[in->popped_next]);
  in->popped[in->popped_next] = in->msgs[i].id;
  in->popped_next = (in->popped_next + 1) % POPPED_RING;
  json_decref(in->msgs[i].view);
  memmove(&in->msgs[i], &in->msgs[i + 1], (in->n - i - 1) * sizeof *in->msgs);
  in->n--;
}

static int pop_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  mol_tools__inbox *in = inbox_of(op->b, op->pc);
  const char *id = mol_tools__arg(op, "activity_id", "");
  for (size_t i = 0; in && i < in->n; i++) {
    if (strcmp(in->msgs[i].id, id)) continue;
    pop_at(in, i);
    mol_tools__done_json(op, json_pack("{s:s,s:b,s:I}", "activity_id", id, "removed", 1,
                                       "remaining", (json_int_t)in->n));
    return 0;
  }
  mol_tools__fail(op, "Error: no message %s in the inbox (see inbox_peek)", id);
  return 0;
}

int mol_tools__add_inbox(mol_tools *reg, mol_tools_builtin *b) {
  int rc = mol_tools__add(reg, b, "wait_for_message", wait_desc, wait_schema, wait_start);
  if (!rc) rc = mol_tools__add(reg, b, "inbox_peek", peek_desc, peek_schema, peek_start);
  if (!rc) rc = mol_tools__add(reg, b, "inbox_pop", pop_desc, pop_schema, pop_start);
  return rc;
}
