/* card.h - the agent card (v0.3, the v0.3+v1.0 hybrid, or v1.0: docs/a2a.md "Card"), built from
 * a plain C description. Served at /.well-known/agent-card.json and /.well-known/agent.json. */
#ifndef MOL_A2A_CARD_H
#define MOL_A2A_CARD_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
  const char *id;          /* required */
  const char *name;        /* required */
  const char *description; /* NULL = "" */
  const char *const *tags; /* the card always carries a tags array, empty when n_tags = 0 */
  size_t n_tags;
  const char *const *examples;
  size_t n_examples;
  const char *const *input_modes; /* 0 = inherit the card's defaults (field left out) */
  size_t n_input_modes;
  const char *const *output_modes;
  size_t n_output_modes;
} mol_a2a_skill;

typedef struct {
  const char *url;
  const char *transport; /* NULL = "JSONRPC" */
} mol_a2a_interface;

typedef struct {
  const char *name;             /* required */
  const char *description;      /* NULL = "" */
  const char *url;              /* required: the JSON-RPC endpoint */
  const char *version;          /* the agent's version; NULL = "1.0.0" */
  const char *protocol_version; /* NULL = "0.3.0" */
  const char *provider_organization, *provider_url; /* provider is left out when org is NULL */
  const char *documentation_url, *icon_url;         /* optional */
  int streaming;
  int push_notifications;
  int state_transition_history;
  int extended_card; /* supportsAuthenticatedExtendedCard / capabilities.extendedAgentCard */
  const char *const *default_input_modes; /* 0 = ["text/plain"] */
  size_t n_default_input_modes;
  const char *const *default_output_modes; /* 0 = ["text/plain"] */
  size_t n_default_output_modes;
  const mol_a2a_skill *skills;
  size_t n_skills;
  /* 0 = [{url, "JSONRPC"}]: always present, since some validators reject a card without a
   * declared transport (preferredTransport). */
  const mol_a2a_interface *additional_interfaces;
  size_t n_additional_interfaces;
  /* The v1.0 HTTP+JSON (REST) endpoint, listed in supportedInterfaces after the JSON-RPC ones
   * (JSON-RPC stays first, so clients that speak both keep to it); NULL = none. */
  const char *http_json_url;
} mol_a2a_card;

typedef enum {
  MOL_A2A_CARD_V03 = 0, /* plain v0.3 card */
  MOL_A2A_CARD_HYBRID,  /* v0.3 top level + supportedInterfaces for 1.0 and 0.3 (a2a-js
                           legacyCompat, served when A2A-Version is absent on a dual stack) */
  MOL_A2A_CARD_V10      /* pure v1.0 card (A2A-Version: 1.0) */
} mol_a2a_card_flavor;

/* The flavor to serve for a request's A2A-Version header: 1.0[.x] -> V10; otherwise HYBRID on
 * a dual-stack server, V03 on a v0.3-only one. The binding sets `Vary: A2A-Version`. */
mol_a2a_card_flavor mol_a2a_card_flavor_for(const char *version_header, int dual_stack);
/* The card as JSON (new reference) or NULL (missing required field, or out of memory). */
json_t *mol_a2a_card_to_json(const mol_a2a_card *card, mol_a2a_card_flavor flavor);
/* The same, serialised (malloc'd). */
char *mol_a2a_card_build(const mol_a2a_card *card, mol_a2a_card_flavor flavor);

#endif
