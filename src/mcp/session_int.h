/* session_int.h - what session.c (messages, lifecycle, batches, tools/list) and
 * session_call.c (tools/call and its cancellation) share. */
#ifndef MOL_MCP_SESSION_INT_H
#define MOL_MCP_SESSION_INT_H

#include <uv.h>

#include "base/holds.h"
#include "mcp/session.h"

/* A batch's answer: one array, sent once every member is answered. due counts the members
 * not answered yet, plus one while the batch is being read. */
typedef struct {
  void *ctx;
  json_t *answers;
  unsigned due;
} mol_mcp__batch;

/* Where one request's answer goes: straight to the binding, or into a batch. */
typedef struct {
  void *ctx;
  mol_mcp__batch *batch;
} mol_mcp__sink;

typedef struct mol_mcp__pending mol_mcp__pending;

struct mol_mcp_session {
  mol_tools *tools;
  char *name, *title, *instructions;
  unsigned call_timeout_ms, max_inflight;
  size_t page_size;
  mol_mcp_answer_cb answer;
  void *arg;
  char version[16];             /* "" until initialize */
  int closed;
  mol_mcp__pending *pending; /* tools/call in flight */
  unsigned n_pending;
  /* The session lives while its owner has not closed it and while calls run. */
  mol_holds holds;
  uv_timer_t last;              /* never started: the holds' last handle */
  void (*on_closed)(void *arg);
  void *closed_arg;
};

/* session.c: answers a request through k (resp stolen; NULL: nothing is sent for it). */
void mol_mcp__reply(mol_mcp_session *s, const mol_mcp__sink *k, json_t *resp);
/* Out of memory while building an answer: still exactly one answer (an internal error). */
void mol_mcp__reply_oom(mol_mcp_session *s, const mol_mcp__sink *k);

/* session_call.c */
/* Starts a tools/call; answers at once with an error when it cannot start. */
void mol_mcp__call(mol_mcp_session *s, const mol_mcp__sink *k, json_t *id, json_t *params);
/* notifications/cancelled: the call with that requestId ends without an answer. */
void mol_mcp__cancel(mol_mcp_session *s, json_t *params);
/* Every call in flight is canceled; each is still answered (isError). */
void mol_mcp__cancel_all(mol_mcp_session *s);

#endif
