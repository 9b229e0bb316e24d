/* exec_chat_int.h - what exec_chat.c (the requests and the turn) and exec_chat_tools.c (the
 * tool calls of a reply) share. */
#ifndef MOL_RUNTIME_EXEC_CHAT_INT_H
#define MOL_RUNTIME_EXEC_CHAT_INT_H

#include <jansson.h>

#include "a2a/sse_parse.h"
#include "base/buf.h"
#include "runtime/exec_chat.h"

/* One reply asks for at most this many tool calls, their arguments at most this many bytes:
 * past either the reply is an error (bounded memory whatever the model sends). */
#define CHAT_MAX_CALLS_PER_REPLY 128
#define CHAT_MAX_ARGS_BYTES (1u << 20)
/* A tool result the model reads is cut past this many bytes. */
#define CHAT_MAX_RESULT_BYTES (1u << 20)

/* The tools' OpenAI "tools" JSON text, written once and shared by the executor and its turns:
 * every request of a turn offers the same tools, whatever the registry does meanwhile. */
typedef struct {
  unsigned refs;
  size_t len;
  char text[];
} mol_chat__tools_text;

typedef struct {
  mol_http_client *http;
  char *url;
  char *auth;       /* "Bearer …" or NULL */
  char *model;
  char *system_prompt;
  unsigned timeout_ms;
  mol_tools *tools;
  mol_chat__tools_text *tools_text; /* of tools as they were at tools_changes; NULL: not yet */
  unsigned long tools_changes;
  unsigned max_tool_rounds;
  unsigned max_tool_calls;
  unsigned tool_timeout_ms;
  char *models_url;
  mol_upstream_fn on_upstream;
  void *upstream_arg;
  mol_history_fn history;
  void *history_arg;
} chat;

typedef struct mol_chat__turn mol_chat__turn;

/* One tool call of a reply: collected from the reply, then run. */
typedef struct {
  mol_chat__turn *ct;
  long index;             /* streamed: delta.tool_calls[].index; plain: position */
  char *id;
  char *name;
  mol_buf args;           /* the arguments JSON text, as the model sent it */
  mol_tool_call *call;    /* while the tool runs */
  char *result;           /* the role:"tool" content, once known */
  size_t result_len;
} mol_chat__call;

struct mol_chat__turn {
  chat *c;
  mol_a2a_turn *turn;
  mol_http_request *req;  /* the model request in flight */
  int streaming;
  int canceled;
  mol_buf msgs;           /* the conversation: its messages' JSON text, comma-separated */
  mol_chat__tools_text *tools; /* this turn's tools (a reference), NULL without the loop */
  unsigned rounds;        /* replies whose tool calls ran */
  unsigned calls_made;    /* tool calls run this turn */
  int last_call;          /* the request after the cap, without tools */
  /* The reply being read. */
  mol_a2a_sse_parser sse;
  mol_buf text;           /* its streamed content */
  int chunks;             /* artifact chunks sent this turn */
  char *stream_error;
  mol_chat__call *calls; /* its tool calls */
  size_t ncalls, cap_calls;
  size_t args_bytes;
  size_t running;         /* tool calls whose result has not arrived */
};

/* ---- exec_chat_reply.c -------------------------------------------------------------------- */

/* What a plain reply says (its tool calls go to the turn's calls). */
typedef struct {
  int has_message;        /* choices[0].message is an object */
  char *content;          /* NULL: null, absent or not a string */
  char *reasoning;        /* reasoning_content, the same way */
  const char *why;        /* past a bound: which (static text) */
} mol_chat__reply;

/* Reads a plain reply; want_calls: collect message.tool_calls into ct. 1: read; 0: not a
 * reply with choices[0].message (the body is the error); -1: past a bound (why). */
int mol_chat__reply_read(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                         mol_chat__reply *out);
/* The two ways it reads, for the agreement test: the scanner (0: left to jansson) and jansson. */
int mol_chat__reply_scan(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                         mol_chat__reply *out);
int mol_chat__reply_dom(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                        mol_chat__reply *out);
void mol_chat__reply_free(mol_chat__reply *r);

/* ---- exec_chat_tools.c -------------------------------------------------------------------- */

extern const char mol_chat__too_many_calls[];
/* A new call for the reply being read; NULL past CHAT_MAX_CALLS_PER_REPLY or out of memory. */
mol_chat__call *mol_chat__call_add(mol_chat__turn *ct, long index);
/* Appends a piece of the call's arguments. 0, or -1 past CHAT_MAX_ARGS_BYTES (*why). */
int mol_chat__call_args(mol_chat__call *k, const char *s, size_t n, const char **why);

/* The tool calls of a plain reply's message. 0, or -1 with *why set (static text). */
int mol_chat__calls_from_message(mol_chat__turn *ct, const json_t *message, const char **why);
/* One streamed chunk's delta.tool_calls fragments, accumulated by index. 0 or -1 (*why). */
int mol_chat__calls_feed(mol_chat__turn *ct, const json_t *fragments, const char **why);
/* Appends the assistant message (content may be NULL) with the collected calls, then runs
 * them concurrently; mol_chat__next_round() follows once every call has its result (maybe at once
 * when none could start). */
void mol_chat__tools_run(mol_chat__turn *ct, const char *content);
/* Cancels every running tool call (their results still arrive, then mol_chat__next_round). */
void mol_chat__tools_cancel(mol_chat__turn *ct);
void mol_chat__calls_clear(mol_chat__turn *ct);

/* ---- exec_chat.c -------------------------------------------------------------------------- */

/* Appends {"role","content"} to the conversation text b. */
void mol_chat__msg_text(mol_buf *b, const char *role, const char *content, size_t len);
/* Drops what was appended past mark (a message that could not be written whole). */
void mol_chat__msgs_truncate(mol_buf *b, size_t mark);

/* Every call of the round has its result and the tool messages are appended: ask the model
 * again (or end the turn canceled). */
void mol_chat__next_round(mol_chat__turn *ct);

#endif
