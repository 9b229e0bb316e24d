/* cmd_connect.c - `molecule connect`: a remote agent in one command. This file is its main and
 * its shutdown in poll mode, the default; the other jobs live beside it (see connect_int.h),
 * push mode (--listen) among them, in connect_push.c.
 *
 * Registers the workspace in poll mode (remote://no-inbound, connect_setup.c), then runs the
 * platform client's loop (heartbeat, state poll) and its own inbound poll, which pauses while
 * the queue cannot take a whole batch, so nothing fetched is ever dropped (connect_delivery.c).
 * Each inbound message is handed to a handler command (`/bin/sh -c CMD`, connect_handler.c):
 * the message text on its stdin, its stdout (trailing newlines stripped) is the reply, sent
 * back with mol_platform_reply (to the peer's A2A proxy, or to the canvas through notify).
 * Messages are handled one at a time, in order. Pause, delete, SIGINT and SIGTERM end it with
 * exit status 0.
 *
 * Where the Python SDK's `python -m molecule_agent connect` is wrong, this does otherwise
 * (docs/connect.md lists each case): the environment really does satisfy --platform-url
 * and --workspace-id (PLATFORM_URL / MOLECULE_PLATFORM_URL, WORKSPACE_ID /
 * MOLECULE_WORKSPACE_ID); the token directory, org id and heartbeat interval are flags; the
 * workspace re-registers with its saved token on every start (the platform's hijack guard
 * passes), so a restart works; the inbound cursor is kept in <token-dir>/.inbound_cursor by
 * default, and on the way out it is set back to the last message whose handler finished, so a
 * restart neither replays handled messages nor skips unhandled ones; a signal stops the loop
 * between requests instead of raising inside one. See docs/connect.md.
 */
#include <stdio.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/connect_int.h"
#include "cli/verbs_env.h"
#include "molecule.h"
#include "molecule/uv.h"

/* ---- shutdown ----------------------------------------------------------------------------- */

static void on_client_closed(void *arg) {
  (void)arg;
  mol_cli__signals_close(); /* nothing is left on the loop: uv_run returns */
}

/* Closes the client once nothing is left that needs it: the handler has finished and the
 * replies already sent have been answered (closing earlier would cut them off). */
static void close_client(connect_ctx *cx) {
  cx->closing = 1;
  mol_platform_client_close(cx->client, on_client_closed, cx);
}

static const char *status_name(mol_platform_status st) {
  switch (st) {
  case MOL_PLATFORM_PAUSED: return "paused";
  case MOL_PLATFORM_DELETED: return "deleted";
  case MOL_PLATFORM_STOPPED: return "stopped";
  case MOL_PLATFORM_ERROR: return "error";
  default: return "ended";
  }
}

static void on_loop_end(mol_platform_status st, int err, const char *server_status, void *arg) {
  connect_ctx *cx = arg;
  if (st == MOL_PLATFORM_STOPPED) {
    printf("[molecule] received signal - shutting down cleanly\n");
  } else if (st == MOL_PLATFORM_ERROR) {
    fprintf(stderr, "[molecule] platform loop failed: %s\n", mol_strerror(err));
    cx->exit_code = 1;
  } else {
    printf("[molecule] platform reports workspace %s - exiting\n",
           server_status && *server_status ? server_status : status_name(st));
  }
  fflush(stdout);
  mol_cli__connect_delivery_stop(cx);
}

static void on_stop_signal(void *arg) {
  connect_ctx *cx = arg;
  if (!cx->ending) mol_platform_stop(cx->client);
}

/* ---- main --------------------------------------------------------------------------------- */

static int run_agent(connect_ctx *cx, const connect_opts *o) {
  /* the loop heartbeats and polls the state; the inbound poll is connect_delivery.c's */
  mol_platform_run_opts ro = {.heartbeat_interval_ms = o->heartbeat_s * 1000,
                              .state_poll_interval_ms = o->interval_s * 1000,
                              .task_supplier = mol_cli__connect_status_supplier};
  int rc = mol_platform_run(cx->client, &ro, on_loop_end, cx);
  if (rc) {
    fprintf(stderr, "[molecule] cannot start the loop: %s\n", mol_strerror(rc));
    return 1;
  }
  mol_cli__connect_delivery_start(cx, o->interval_s * 1000, o->max_queued);
  printf("[molecule] connected as %s (platform=%s, delivery=poll, interval=%us)\n",
         o->po.workspace_id, o->po.platform_url, o->interval_s);
  fflush(stdout);
  mol_cli__on_stop_signal(cx->loop, on_stop_signal, cx);
  uv_run(cx->loop, UV_RUN_DEFAULT);
  return cx->exit_code;
}

int mol_cli__cmd_connect(int argc, char **argv) {
  connect_opts o = {0};
  int rc = mol_cli__connect_parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  if ((rc = mol_cli__connect_resolve_opts(&o))) return rc;
  /* the handler's `molecule peers` etc. run as this workspace */
  mol_cli__connect_export_env(&o.po);
  mol_cli__log_from_env();
  if (o.verbose) mol_log_set_level(MOL_LOG_INFO);
  if (o.listen) return mol_cli__connect_push_run(&o);
  connect_ctx cx = {.loop = uv_default_loop(), .handler = o.handler,
                    .handler_timeout_ms = o.handler_timeout_s * 1000, .on_drained = close_client};
  rc = mol_cli__connect_client_new(cx.loop, &o, &cx.client);
  if (rc) return rc;
  if (o.token && (rc = mol_platform_save_token(cx.client, o.token)))
    fprintf(stderr, "molecule connect: cannot save the token: %s\n", mol_strerror(rc));
  if (!rc && !(rc = mol_cli__connect_register(cx.loop, cx.client, &o))) rc = run_agent(&cx, &o);
  else rc = 2;
  if (!cx.closing) mol_platform_client_close(cx.client, NULL, NULL); /* register failed */
  mol_cli__signals_close();
  uv_run(cx.loop, UV_RUN_DEFAULT);
  uv_loop_close(cx.loop);
  return rc;
}
