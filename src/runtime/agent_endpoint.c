/* agent_endpoint.c - an agent's endpoints on the shared HTTP server: the A2A server at
 * /agents/<name>/ (or at the root) with its card (one skill named after the agent, written
 * on request), answering through the metering executor (agent_turns.c), the transcript
 * route beside it, and the MCP endpoint (<prefix>/mcp) over the agent's tools, for the workspace's bearer,
 * made on its first request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/card.h"
#include "base/log.h"
#include "mcp/toolset.h"
#include "runtime/agent_int.h"
#include "runtime/setup.h"

#define SCOPE "agent"

/* ---- MCP ----------------------------------------------------------------------------------- */

/* A call's deadline: a delegation waits up to 300 s for its peer. */
#define MCP_CALL_TIMEOUT_MS 300000u

/* The workspace's own token, compared in constant time; a standalone agent has none, so its
 * endpoint refuses everyone. Every request passes here before it can open a session or touch
 * a tool, so the first one let through fills the registry (mol_mcp_toolset_fill): an agent no
 * MCP client uses never holds the built-in tools. A fill that fails (out of memory) refuses
 * the request and the next one tries again. */
static int mcp_authorize(const char *authorization, void *arg) {
  mol_agent *a = arg;
  if (!a->pc || !mol_platform_check_bearer(a->pc, authorization)) return 0;
  int rc = mol_mcp_toolset_fill(&a->tools);
  if (rc) mol_loge(SCOPE, "%s: MCP tools: %s", a->name, mol_strerror(rc));
  return !rc;
}

/* The public URL's origin ("scheme://host[:port]"), then MOLECULE_MCP_ALLOWED_ORIGINS. */
static char *allowed_origins(const mol_agent *a) {
  const char *url = a->url, *sep = strstr(url, "://");
  size_t n = sep ? (size_t)(sep + 3 - url) + strcspn(sep + 3, "/") : 0;
  const char *more = getenv("MOLECULE_MCP_ALLOWED_ORIGINS");
  char *out = NULL;
  if (asprintf(&out, "%.*s%s%s", (int)n, url, more && *more ? "," : "",
               more && *more ? more : "") < 0)
    return NULL;
  return out;
}

/* Where the agent's endpoints live: "/agents/<name>", or "" at the root. */
static const char *endpoint_prefix(const mol_agent *a, char buf[96]) {
  if (a->o.at_root) return "";
  snprintf(buf, 96, "/agents/%s", a->name);
  return buf;
}

/* The endpoint itself, made on the first request to <prefix>/mcp (unrouted: the agent's
 * route hands it every request). */
static int mcp_open(mol_agent *a) {
  char path[128];
  snprintf(path, sizeof(path), "%s/mcp", endpoint_prefix(a, (char[96]){0}));
  char *origins = allowed_origins(a);
  mol_mcp_http_opts mo = {
      .session = {.tools = a->tools.reg,
                  .name = "molecule",
                  .title = a->name,
                  .call_timeout_ms = MCP_CALL_TIMEOUT_MS},
      .path = path,
      .authorize = mcp_authorize,
      .auth_arg = a,
      .allowed_origins = origins,
      .unrouted = 1,
  };
  int rc = origins ? mol_mcp_http_mount(a->loop, a->http, &mo, &a->mcp) : MOL_ENOMEM;
  free(origins);
  if (!rc) mol_holds_take(&a->holds); /* until the endpoint has closed */
  return rc;
}

/* An ending agent's endpoint is gone (closed by mol_agent__mcp_close): its path answers as
 * one no route serves, until the agent's routes go with the A2A server's close. */
static void on_mcp(mol_http_req *r, void *arg) {
  mol_agent *a = arg;
  if (a->ending) {
    mol_http_respond(r, 404, "text/plain", "Not Found", 9);
    return;
  }
  int rc = a->mcp ? 0 : mcp_open(a);
  if (rc) {
    mol_loge(SCOPE, "%s: MCP endpoint: %s", a->name, mol_strerror(rc));
    static const char err[] =
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"out of memory\"}}";
    mol_http_respond(r, 503, "application/json", err, sizeof(err) - 1);
    return;
  }
  mol_mcp_http_handle(a->mcp, r);
}

static int mount_mcp(mol_agent *a, const char *prefix) {
  a->tool_env.loop = a->loop;
  a->tool_env.workspace_id = a->workspace_id;
  a->tool_env.user = a;
  int rc = mol_mcp_toolset_open(&a->tools, &a->tool_env);
  if (rc) return rc;
  char path[128];
  snprintf(path, sizeof(path), "%s/mcp", prefix);
  return mol_http_server_route(a->http, NULL, path, 0, on_mcp, a);
}

static void on_mcp_closed(void *arg) {
  mol_agent *a = arg;
  a->mcp = NULL;
  mol_holds_drop(&a->holds);
}

void mol_agent__mcp_close(mol_agent *a) {
  if (a->mcp) mol_mcp_http_close(a->mcp, on_mcp_closed, a);
}

/* ---- mount --------------------------------------------------------------------------------- */

/* The card (one skill named after the agent, or the config dir's), written afresh for each
 * request for it: thousands of agents in one host keep no serialised cards. */
static int fill_card(void *arg, mol_a2a_card *card, mol_a2a_skill *skill) {
  mol_agent *a = arg;
  *skill = (mol_a2a_skill){.id = a->name, .name = a->name, .description = a->description};
  *card = (mol_a2a_card){.name = a->name, .url = a->url, .streaming = 1, .skills = skill,
                         .n_skills = 1,
                         .description = *a->description ? a->description : a->name};
  size_t n_loaded;
  const mol_a2a_skill *loaded = mol_agent__setup_card_skills(a, &n_loaded);
  if (n_loaded) card->skills = loaded, card->n_skills = n_loaded; /* the config dir's skills */
  return 0;
}

int mol_agent__mount(mol_agent *a) {
  char buf[96];
  const char *prefix = endpoint_prefix(a, buf);
  mol_agent__meter_init(a);
  mol_a2a_server_opts so = {.card_fill = fill_card, .card_arg = a, .executor = &a->meter,
                            .prefix = prefix,
                            .push = {.http = a->client,
                                     .allow_private = a->o.allow_private_webhooks},
                            .data_dir = a->o.data_dir, .data_backend = a->o.data_backend,
                            .sync_full = a->o.data_sync_full};
  int rc = mol_a2a_server_new(a->loop, a->http, &so, &a->a2a);
  if (rc) return rc;
  mol_holds_take(&a->holds); /* until the server has closed */
  char path[128];
  snprintf(path, sizeof(path), "%s/transcript", prefix);
  rc = mol_http_server_route(a->http, "GET", path, 0, mol_agent__transcript_serve, a);
  return rc ? rc : mount_mcp(a, prefix);
}
