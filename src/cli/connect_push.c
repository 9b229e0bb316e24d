/* connect_push.c - `molecule connect --listen`: push mode. The workspace becomes an agent
 * (runtime/agent.h) alone at the root of its own listener, answering through the command
 * executor (runtime/exec_command.h) that runs the handler once per A2A turn. The agent
 * registers the URL (--reported-url, else http://HOST:PORT/ of the listener) with its card,
 * heartbeats and polls the state; the platform's A2A proxy POSTs each message to the URL and
 * gets the handler's reply in its answer. Nothing is polled but the state: no inbound feed,
 * no cursor.
 *
 * What stays as in poll mode: the flags and the environment, the token saved before the
 * first call, a failed registration exits 2 at once (no retries), pause and delete end it with
 * 0, a lost platform with 1; the handler gets the workspace identity connect exported
 * (mol_cli__connect_export_env), so the platform verbs work in it, and `molecule status` is what
 * the heartbeats report. What differs: SIGINT/SIGTERM let the running handlers finish (the
 * agent's grace period) before they are stopped; handlers run concurrently (--max-handlers);
 * the caller's identity is not passed to the handler (the executor seam does not carry the
 * request's X-Workspace-ID header). */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "cli/cli_util.h"
#include "cli/connect_int.h"
#include "cli/verbs_env.h"
#include "http/server.h"
#include "molecule.h"
#include "molecule/uv.h"
#include "runtime/agent.h"

typedef struct {
  uv_loop_t *loop;
  mol_http_server *http;
  mol_agent *agent;     /* NULL once it has ended */
  const connect_opts *o;
  const char *url;
  int registered, exit_code;
} push_ctx;

/* ---- the agent's life ------------------------------------------------------------------------ */

static void on_registered(mol_agent *a, void *arg) {
  (void)a;
  push_ctx *px = arg;
  px->registered = 1;
  printf("[molecule] connected as %s (platform=%s, delivery=push, url=%s)\n",
         px->o->po.workspace_id, px->o->po.platform_url, px->url);
  fflush(stdout);
}

/* The task `molecule status` left in the token dir wins; without one the agent reports the
 * turn it is running. */
static void keep_status(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg) {
  (void)a;
  (void)arg;
  mol_platform_heartbeat_payload mine = {0};
  mol_cli__connect_status_supplier(NULL, &mine, NULL);
  if (mine.current_task && *mine.current_task) p->current_task = mine.current_task;
}

static void on_http_closed(void *arg) {
  (void)arg;
  mol_cli__signals_close(); /* nothing is left on the loop: uv_run returns */
}

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  push_ctx *px = arg;
  mol_agent_stats st;
  mol_agent_stats_get(a, &st);
  const char *status = *st.platform_status && strcmp(st.platform_status, "online") != 0
                           ? st.platform_status : why == MOL_AGENT_PAUSED ? "paused" : "deleted";
  switch (why) {
    case MOL_AGENT_STOPPED: break; /* said when the signal came */
    case MOL_AGENT_PAUSED:
    case MOL_AGENT_DELETED:
      printf("[molecule] platform reports workspace %s - exiting\n", status);
      break;
    case MOL_AGENT_FAILED:
      if (px->registered) {
        fprintf(stderr, "[molecule] platform loop failed: %s\n", mol_strerror(err));
        px->exit_code = 1;
      } else {
        fprintf(stderr, "[molecule] register failed: %s\n", mol_strerror(err));
        px->exit_code = 2;
      }
      break;
  }
  fflush(stdout);
  px->agent = NULL;
  mol_http_server_close(px->http, 1000, on_http_closed, px); /* the agent's routes are gone */
}

static void on_stop_signal(void *arg) {
  push_ctx *px = arg;
  if (!px->agent) return;
  mol_agent_stats st;
  mol_agent_stats_get(px->agent, &st);
  printf("[molecule] received signal - shutting down cleanly\n");
  if (st.live_turns)
    printf("[molecule] letting %u running handler%s finish\n", st.live_turns,
           st.live_turns == 1 ? "" : "s");
  fflush(stdout);
  mol_agent_stop(px->agent);
}

/* ---- start ----------------------------------------------------------------------------------- */

/* A token handed over by flag or environment goes to the token file first: the agent's client
 * and the handler's platform verbs read it there. 0 or the exit status. */
static int save_token(uv_loop_t *loop, const connect_opts *o) {
  if (!o->token) return 0;
  mol_platform_client *c;
  int rc = mol_cli__connect_client_new(loop, o, &c);
  if (rc) return rc;
  rc = mol_platform_save_token(c, o->token);
  if (rc) fprintf(stderr, "molecule connect: cannot save the token: %s\n", mol_strerror(rc));
  mol_platform_client_close(c, NULL, NULL);
  return rc ? 2 : 0;
}

static int listen_on(push_ctx *px, char *url, size_t cap) {
  const connect_opts *o = px->o;
  int rc = mol_http_server_new(px->loop, NULL, &px->http);
  if (!rc) rc = mol_http_server_listen(px->http, o->host, o->port);
  if (rc) {
    fprintf(stderr, "molecule connect: cannot listen on %s: %s\n", o->listen, mol_strerror(rc));
    return 2;
  }
  if (o->reported_url[0])
    snprintf(url, cap, "%s", o->reported_url);
  else /* resolve_push refused wildcards: the listener's own address is reachable */
    snprintf(url, cap, strchr(o->host, ':') ? "http://[%s]:%d/" : "http://%s:%d/", o->host,
             mol_http_server_port(px->http));
  px->url = url;
  return 0;
}

static int start_agent(push_ctx *px) {
  const connect_opts *o = px->o;
  char name[64];
  snprintf(name, sizeof name, "remote-agent-%.8s", o->po.workspace_id); /* as in poll mode */
  mol_agent_opts ao = {
    .name = o->agent_name ? o->agent_name : name,
    .platform_url = o->po.platform_url,
    .workspace_id = o->po.workspace_id,
    .token_dir = o->po.token_dir,
    .public_url = px->url,
    .at_root = 1,
    .platform_opts = &o->po,
    .register_attempts = 1, /* as in poll mode: a refused registration is for the user to fix */
    .on_registered = on_registered,
    .on_heartbeat = keep_status,
    .exec = MOL_AGENT_EXEC_COMMAND,
    .command = {.handler = o->handler, .timeout_ms = o->handler_timeout_s * 1000,
                .max_running = o->max_handlers},
    .heartbeat_ms = o->heartbeat_s * 1000,
    .state_poll_ms = o->interval_s * 1000,
  };
  int rc = mol_agent_start(px->loop, px->http, NULL, &ao, on_agent_end, px, &px->agent);
  if (rc) fprintf(stderr, "molecule connect: cannot start the agent: %s\n", mol_strerror(rc));
  return rc ? 2 : 0;
}

int mol_cli__connect_push_run(const connect_opts *o) {
  char url[2100];
  push_ctx px = {.loop = uv_default_loop(), .o = o};
  int rc = save_token(px.loop, o);
  if (!rc) rc = listen_on(&px, url, sizeof url);
  if (!rc) rc = start_agent(&px);
  if (rc) {
    /* A failed mol_agent_start has already taken its routes off (the rest of its teardown
     * needs only the loop), so the listener can go now. */
    if (px.http) mol_http_server_close(px.http, 0, NULL, NULL);
  } else {
    mol_cli__on_stop_signal(px.loop, on_stop_signal, &px);
  }
  uv_run(px.loop, UV_RUN_DEFAULT);
  uv_loop_close(px.loop);
  return rc ? rc : px.exit_code;
}
