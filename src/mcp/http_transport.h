/* http_transport.h - MCP's Streamable HTTP transport at one endpoint (e.g. /agents/<name>/mcp)
 * of a shared HTTP server.
 *
 * Every request is checked first: an Origin header that is not a loopback origin nor one of
 * allowed_origins gets 403 (DNS rebinding); then the Authorization header goes to authorize()
 * (the workspace bearer, compared in constant time by the caller's check): 401 otherwise.
 *
 * POST carries one JSON-RPC message (a batch on sessions whose revision has them).
 * initialize without Mcp-Session-Id opens a session: its answer carries the new
 * Mcp-Session-Id, which every later request must send (400 without it, 404 once the session
 * is gone). A body of notifications or responses only: 202, empty. A request answered at once
 * (initialize, tools/list, ping, errors): 200 application/json. A tools/call: when the client
 * accepts text/event-stream, a 200 SSE stream at once, a comment every keepalive_ms so that
 * proxies and client timeouts see progress, then the answer as one "message" event, then the
 * end; otherwise 200 JSON when it ends. A call the client canceled ends its stream with no
 * event (JSON: 202). A message that is not JSON-RPC: 400 with the JSON-RPC error. An
 * MCP-Protocol-Version header naming a revision we do not speak: 400. Content-Type other than
 * application/json: 415; an Accept that allows neither JSON nor SSE: 406.
 * GET: 405 (no server-initiated stream is offered). DELETE with the session id ends the
 * session (its calls are canceled, each still answered): 204.
 * A client that disconnects does not cancel its call (the spec asks for an explicit cancel);
 * the answer is dropped when it comes. Sessions idle for session_idle_ms with nothing in
 * flight are closed; past max_sessions the least recently used idle one is closed to make
 * room, and when none is idle initialize gets 503. All calls on the loop thread. */
#ifndef MOL_MCP_HTTP_TRANSPORT_H
#define MOL_MCP_HTTP_TRANSPORT_H

#include <uv.h>

#include "http/server.h"
#include "mcp/session.h"

typedef struct mol_mcp_http mol_mcp_http;

typedef struct {
  mol_mcp_session_opts session; /* for every session; .tools required */
  const char *path;            /* required: the endpoint, e.g. "/agents/a/mcp" */
  /* 1 when an Authorization header value (NULL when absent) may use the endpoint. Required:
   * the endpoint fails closed. */
  int (*authorize)(const char *authorization, void *arg);
  void *auth_arg;
  /* Comma-separated origins ("https://agents.example", no path) a browser page may call from,
   * besides loopback ones; NULL: loopback only. */
  const char *allowed_origins;
  unsigned max_sessions;       /* 0 -> 1000 */
  unsigned session_idle_ms;    /* 0 -> 30 minutes */
  unsigned keepalive_ms;       /* 0 -> 15000 */
  /* 1: path is not routed; the caller routes it and hands each request to
   * mol_mcp_http_handle (so it can mount on the first request: thousands of agents in one
   * host hold no endpoint until an MCP client calls). */
  int unrouted;
} mol_mcp_http_opts;

/* Routes path on http (any method), unless unrouted. Returns 0, MOL_EINVAL or MOL_ENOMEM. */
int mol_mcp_http_mount(uv_loop_t *loop, mol_http_server *http, const mol_mcp_http_opts *o,
                       mol_mcp_http **out);

/* Answers a request for the endpoint's path that the caller routed (opts.unrouted), exactly
 * as a routed one. */
void mol_mcp_http_handle(mol_mcp_http *m, mol_http_req *r);

/* Unroutes, closes every session (calls in flight canceled, each POST still answered) and
 * calls cb(arg) once everything is gone (never inside this call; cb may be NULL). */
void mol_mcp_http_close(mol_mcp_http *m, void (*cb)(void *arg), void *arg);

#endif
