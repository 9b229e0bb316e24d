/* exec_hermes.h - the hermes plugin transport: each A2A turn is POSTed to the hermes plugin's
 * inbound endpoint and answered later, on another connection, at our reply-callback server;
 * the two are matched by message_id in a pending-replies table (runtime/pending.h).
 * The wire (the POST, the reply server's answers, how a turn ends) and the environment:
 * docs/runtime.md, "The hermes plugin transport". */
#ifndef MOL_RUNTIME_EXEC_HERMES_H
#define MOL_RUNTIME_EXEC_HERMES_H

#include "a2a_uv/executor.h"
#include "http/client.h"
#include "runtime/upstream.h"

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
  const char *secret;       /* NULL -> env or generated; docs/runtime.md says what is refused */
  unsigned reply_timeout_ms;/* 0 -> env or 600 s */
  size_t max_pending;       /* 0 -> 100000 */
  mol_hermes_orphan_fn on_orphan;
  void *orphan_arg;
  /* Each reply, refused POST (connection error or 5xx) and reply timeout is reported here
   * (may be NULL). */
  mol_upstream_fn on_upstream;
  void *upstream_arg;
} mol_hermes_opts;

/* Creates the executor and starts its reply server. Returns 0 or an error: MOL_EINVAL for a
 * secret that cannot work (logged with the variable's name), MOL_EADDRINUSE when the reply
 * port is taken, ... On an error, what was built is released on the loop's next turns. */
int mol_hermes_executor_new(uv_loop_t *loop, const mol_hermes_opts *opts, mol_a2a_executor *ex);
/* The shared secret in use (to hand to the plugin's configuration). */
const char *mol_hermes_secret(const mol_a2a_executor *ex);
/* The reply server's port and callback URL. */
int mol_hermes_reply_port(const mol_a2a_executor *ex);
const char *mol_hermes_callback_url(const mol_a2a_executor *ex);
/* The plugin's health endpoint (http://<plugin host>:<port>/a2a/health) its probe GETs. */
const char *mol_hermes_health_url(const mol_a2a_executor *ex);
/* Turns waiting for a reply. */
size_t mol_hermes_pending(const mol_a2a_executor *ex);
/* Fails pending turns ("executor shutting down"), closes the reply server, frees the
 * executor, then cb(arg) (never inside this call). */
void mol_hermes_executor_close(mol_a2a_executor *ex, void (*cb)(void *arg), void *arg);

#endif
