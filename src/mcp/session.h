/* session.h - the MCP protocol core: one client's session over a tool registry, with no I/O.
 *
 * A binding (stdio, Streamable HTTP) feeds the session each message it receives, with a
 * context of its own (where the answer must go: stdout, one POST's response); the session
 * answers through the answer callback with that context. It speaks JSON-RPC 2.0 and MCP's
 * lifecycle: initialize with protocol-version negotiation (the client's revision when we
 * support it, else our latest), capabilities {tools}, ping, tools/list with a cursor,
 * tools/call into the registry, notifications/cancelled. Notifications and the peer's
 * responses are never answered; every request is answered exactly once, except one the
 * client canceled (no answer is due for it: the callback then carries no text).
 *
 * Requests are served concurrently: each tools/call runs on the loop and is answered when it
 * ends, in completion order, whatever came after it. Answers that need no tool (initialize,
 * tools/list, ping, errors) are given before mol_mcp_session_feed() returns; the bindings are
 * written for both. Batches (JSON arrays) are read only on sessions that negotiated a revision
 * that has them (2025-03-26 and earlier); their answer is one array, once every member is
 * done. All calls on the loop thread. */
#ifndef MOL_MCP_SESSION_H
#define MOL_MCP_SESSION_H

#include <jansson.h>
#include <stddef.h>

#include "tools/registry.h"

#define MCP_LATEST_VERSION "2025-11-25"

/* The revisions we speak, newest first, NULL-terminated. */
extern const char *const mol_mcp_versions[];
/* 1 when v is one of them. */
int mol_mcp_version_supported(const char *v);

typedef struct mol_mcp_session mol_mcp_session;

typedef struct {
  mol_tools *tools;            /* required; borrowed; must outlive the session */
  const char *name;            /* serverInfo.name; NULL -> "molecule" */
  const char *title;           /* serverInfo.title; NULL -> none */
  const char *instructions;    /* initialize's "instructions"; NULL -> none */
  unsigned call_timeout_ms;    /* each tools/call; 0 -> the registry's default */
  size_t page_size;            /* tools/list page; 0 -> 100 */
  unsigned max_inflight;       /* tools/call running at once; 0 -> 1024; past it -32000 */
} mol_mcp_session_opts;

/* The answer to the message fed with ctx: the JSON text of one response, or of a batch's
 * array (len bytes, NUL-terminated, no newline); or json NULL, len 0: the client canceled the
 * request, nothing is to be sent. Borrowed for the call. */
typedef void (*mol_mcp_answer_cb)(void *ctx, const char *json, size_t len, void *arg);

/* A new session (strings in o are copied). Returns 0, MOL_EINVAL or MOL_ENOMEM. */
int mol_mcp_session_new(const mol_mcp_session_opts *o, mol_mcp_answer_cb answer, void *arg,
                        mol_mcp_session **out);

typedef struct {
  int answer;                  /* 1: answer(ctx) fires exactly once for this message (maybe
                                  before the feed returns); 0: never (notifications and
                                  responses only) */
  int malformed;               /* the message is not JSON-RPC at all (parse error, not a
                                  request): its answer is the error */
} mol_mcp_feed_info;

/* Feeds one message: JSON text (one stdio line, one POST body) or a parsed value (borrowed).
 * Returns 0 (see info), or MOL_ESHUTDOWN after mol_mcp_session_close, MOL_ENOMEM: then no answer
 * fires. */
int mol_mcp_session_feed(mol_mcp_session *s, const char *text, size_t len, void *ctx,
                         mol_mcp_feed_info *info);
int mol_mcp_session_feed_json(mol_mcp_session *s, json_t *msg, void *ctx, mol_mcp_feed_info *info);

/* The negotiated revision; NULL until initialize succeeded. */
const char *mol_mcp_session_version(const mol_mcp_session *s);
/* tools/call requests running. */
unsigned mol_mcp_session_inflight(const mol_mcp_session *s);

/* Ends the session: no more messages. cancel != 0 cancels the calls in flight (each is still
 * answered: a result with isError, "canceled: the server is closing the session"); else they
 * run to their end. Every answer still due goes to the answer callback; then on_closed(arg)
 * fires (never inside this call; may be NULL) and the session is freed. Call it once. */
void mol_mcp_session_close(mol_mcp_session *s, int cancel, void (*on_closed)(void *arg), void *arg);

#endif
