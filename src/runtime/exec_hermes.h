/* exec_hermes.h - the hermes plugin transport: each A2A turn is POSTed to the hermes plugin's
 * inbound endpoint and answered later, on another connection, at our reply-callback server;
 * the two are matched by message_id in a pending-replies table (runtime/pending.h).
 *
 * Per turn: message_id = 32 lowercase hex; chat_id = the A2A context id (the task id when
 * there is none), so one conversation keeps one hermes session while separate conversations
 * do not interleave; POST {chat_id, peer_id, peer_name, content, message_id, callback_url,
 * messages_history} to http://HOST:PORT/a2a/inbound with X-Molecule-A2A-Secret (10 s).
 * The reply server answers POST /a2a/reply exactly as upstream's handler, in this order:
 * wrong secret 401 {"ok":false,"error":"unauthorized"} (constant-time compare); bad JSON 400
 * {"ok":false,"error":"invalid json"}; no reply_to or non-string content 400 {"ok":false,
 * "error":"reply_to and content required"}; unknown or finished id 200 {"ok":true,
 * "stale":true}; else 200 {"ok":true}. Beyond upstream: an interim reply (metadata.interim
 * true, or the gateway's "⚡ Interrupting" acknowledgement) is shown as progress and the turn
 * keeps waiting for the real answer; a first-time reply for a finished turn that a canvas
 * user started is relayed through on_orphan, and a failed relay answers 503 so the plugin
 * retries; duplicates are recognised by (message_id, sha256(content)).
 * Timeout (600 s) -> "[hermes plugin reply timeout after 600s]"; POST failure -> "[hermes
 * plugin POST error] …"; shutdown -> the turn fails with "executor shutting down"; cancel
 * drops the pending entry and ends the turn canceled.
 *
 * Environment (upstream names where upstream has them): MOLECULE_A2A_PLATFORM_SHARED_SECRET
 * (used as configured, any length up to MOL_HERMES_SECRET_MAX; generated at start when unset,
 * so the listener never runs without one; set but empty, longer, with a control character or
 * a leading/trailing space it is refused at start with an error naming the variable),
 * MOLECULE_A2A_PLATFORM_HOST/_PORT (127.0.0.1:8645), MOLECULE_A2A_REPLY_HOST/_PORT
 * (127.0.0.1:8646), MOLECULE_A2A_REPLY_TIMEOUT_SECONDS (600). */
#ifndef MOL_RUNTIME_EXEC_HERMES_H
#define MOL_RUNTIME_EXEC_HERMES_H

#include "a2a_uv/executor.h"
#include "http/client.h"

/* The longest secret accepted: it travels as a header value, and the plugin's HTTP server
 * (like ours) refuses header fields of about 8 KiB. */
#define MOL_HERMES_SECRET_MAX 4096
#define MOL_HERMES_SECRET_MAX_STR "4096"

/* Relays an orphan reply to a canvas user; returns 0 when relayed. */
typedef int (*mol_hermes_orphan_fn)(const char *chat_id, const char *text, void *arg);

typedef struct {
  mol_http_client *http;    /* shared; required */
  const char *plugin_host;  /* NULL -> env or 127.0.0.1 */
  int plugin_port;          /* 0 -> env or 8645 */
  const char *reply_host;   /* NULL -> env or 127.0.0.1 */
  int reply_port;           /* 0 -> env or 8646; -1 -> an ephemeral port (tests) */
  const char *secret;       /* NULL -> env or generated; see above for what is refused */
  unsigned reply_timeout_ms;/* 0 -> env or 600 s */
  size_t max_pending;       /* 0 -> 100000 */
  mol_hermes_orphan_fn on_orphan;
  void *orphan_arg;
} mol_hermes_opts;

/* Creates the executor and starts its reply server. Returns 0 or an error: MOL_EINVAL for a
 * secret that cannot work (logged with the variable's name), MOL_EADDRINUSE when the reply
 * port is taken, ... */
int mol_hermes_executor_new(uv_loop_t *loop, const mol_hermes_opts *opts, mol_a2a_executor *ex);
/* The shared secret in use (to hand to the plugin's configuration). */
const char *mol_hermes_secret(const mol_a2a_executor *ex);
/* The reply server's port and callback URL. */
int mol_hermes_reply_port(const mol_a2a_executor *ex);
const char *mol_hermes_callback_url(const mol_a2a_executor *ex);
/* Turns waiting for a reply. */
size_t mol_hermes_pending(const mol_a2a_executor *ex);
/* Fails pending turns ("executor shutting down"), closes the reply server, frees the
 * executor, then cb(arg) (never inside this call). */
void mol_hermes_executor_close(mol_a2a_executor *ex, void (*cb)(void *arg), void *arg);

#endif
