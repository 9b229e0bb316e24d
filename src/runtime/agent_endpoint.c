/* agent_endpoint.c - an agent's A2A endpoint on the shared HTTP server: the A2A server at
 * /agents/<name>/ (or at the root) with its card (one skill named after the agent),
 * answering through the metering executor (agent_turns.c), and the transcript route beside
 * it. */
#include <stdio.h>

#include "a2a/card.h"
#include "runtime/agent_int.h"

int mol_agent__mount(mol_agent *a) {
  char prefix[96] = "";
  if (!a->o.at_root) snprintf(prefix, sizeof(prefix), "/agents/%s", a->name);
  mol_a2a_skill skill = {.id = a->name, .name = a->name, .description = a->description};
  mol_a2a_card card = {.name = a->name, .description = *a->description ? a->description : a->name,
                       .url = a->url, .streaming = 1, .skills = &skill, .n_skills = 1};
  mol_agent__meter_init(a);
  mol_a2a_server_opts so = {.card = &card, .executor = &a->meter, .prefix = prefix};
  int rc = mol_a2a_server_new(a->loop, a->http, &so, &a->a2a);
  if (rc) return rc;
  mol_holds_take(&a->holds); /* until the server has closed */
  char path[128];
  snprintf(path, sizeof(path), "%s/transcript", prefix);
  return mol_http_server_route(a->http, "GET", path, 0, mol_agent__transcript_serve, a);
}
