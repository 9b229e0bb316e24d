/* card.c - agent card JSON for v0.3, the hybrid served by dual-stack servers, and v1.0. */
#include "a2a/card.h"

#include "a2a/codec.h"
#include "base/json.h"

static const char *const k_text_plain[] = {"text/plain"};

static json_t *str_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (v[i]) json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *modes(const char *const *v, size_t n) {
  return n ? str_array(v, n) : str_array(k_text_plain, 1);
}

static void set_opt_str(json_t *o, const char *key, const char *v) {
  if (v) json_object_set_new(o, key, json_string(v));
}

static json_t *skill_json(const mol_a2a_skill *s, int v1) {
  if (!s->id || !s->name) return NULL;
  json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", s->id, "name", s->name, "description",
                        s->description ? s->description : "", "tags",
                        str_array(s->tags, s->n_tags));
  if (!o) return NULL;
  if (s->n_examples || v1) json_object_set_new(o, "examples", str_array(s->examples, s->n_examples));
  if (s->n_input_modes || v1)
    json_object_set_new(o, "inputModes", str_array(s->input_modes, s->n_input_modes));
  if (s->n_output_modes || v1)
    json_object_set_new(o, "outputModes", str_array(s->output_modes, s->n_output_modes));
  return o;
}

static json_t *skills_json(const mol_a2a_card *c, int v1) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < c->n_skills; i++) {
    json_t *s = skill_json(&c->skills[i], v1);
    if (!s || json_array_append_new(a, s) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static json_t *additional_interfaces(const mol_a2a_card *c) {
  if (!c->n_additional_interfaces)
    return json_pack("[{s:s, s:s}]", "url", c->url, "transport", "JSONRPC");
  json_t *a = json_array();
  for (size_t i = 0; a && i < c->n_additional_interfaces; i++) {
    const mol_a2a_interface *it = &c->additional_interfaces[i];
    json_array_append_new(a, json_pack("{s:s, s:s}", "url", it->url ? it->url : c->url,
                                       "transport", it->transport ? it->transport : "JSONRPC"));
  }
  return a;
}

/* The v1.0 interface list; 1.0 first so a v1 client picks it, 0.3 for legacy clients, then
 * the REST endpoint when there is one. */
static json_t *supported_interfaces(const mol_a2a_card *c) {
  json_t *a = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "url", c->url, "protocolBinding",
                        "JSONRPC", "protocolVersion", "1.0", "url", c->url, "protocolBinding",
                        "JSONRPC", "protocolVersion", "0.3");
  if (a && c->http_json_url)
    json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "url", c->http_json_url,
                                       "protocolBinding", "HTTP+JSON", "protocolVersion", "1.0"));
  return a;
}

static void add_provider(json_t *o, const mol_a2a_card *c) {
  if (!c->provider_organization) return;
  json_t *p = json_pack("{s:s}", "organization", c->provider_organization);
  set_opt_str(p, "url", c->provider_url);
  json_object_set_new(o, "provider", p);
}

static json_t *card_v03(const mol_a2a_card *c) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:o}", "protocolVersion",
      c->protocol_version ? c->protocol_version : "0.3.0", "name", c->name, "description",
      c->description ? c->description : "", "url", c->url, "preferredTransport", "JSONRPC",
      "additionalInterfaces", additional_interfaces(c));
  if (!o) return NULL;
  add_provider(o, c);
  set_opt_str(o, "iconUrl", c->icon_url);
  json_object_set_new(o, "version", json_string(c->version ? c->version : "1.0.0"));
  set_opt_str(o, "documentationUrl", c->documentation_url);
  json_object_set_new(o, "capabilities",
                      json_pack("{s:b, s:b, s:b}", "streaming", c->streaming, "pushNotifications",
                                c->push_notifications, "stateTransitionHistory",
                                c->state_transition_history));
  json_object_set_new(o, "defaultInputModes",
                      modes(c->default_input_modes, c->n_default_input_modes));
  json_object_set_new(o, "defaultOutputModes",
                      modes(c->default_output_modes, c->n_default_output_modes));
  json_object_set_new(o, "skills", skills_json(c, 0));
  json_object_set_new(o, "supportsAuthenticatedExtendedCard", json_boolean(c->extended_card));
  return o;
}

static json_t *card_v10(const mol_a2a_card *c) {
  json_t *o = json_pack("{s:s, s:s, s:o}", "name", c->name, "description",
                        c->description ? c->description : "", "supportedInterfaces",
                        supported_interfaces(c));
  if (!o) return NULL;
  add_provider(o, c);
  json_object_set_new(o, "version", json_string(c->version ? c->version : "1.0.0"));
  set_opt_str(o, "documentationUrl", c->documentation_url);
  json_object_set_new(o, "capabilities",
                      json_pack("{s:b, s:b, s:[], s:b}", "streaming", c->streaming,
                                "pushNotifications", c->push_notifications, "extensions",
                                "extendedAgentCard", c->extended_card));
  json_object_set_new(o, "securitySchemes", json_object());
  json_object_set_new(o, "securityRequirements", json_array());
  json_object_set_new(o, "defaultInputModes",
                      modes(c->default_input_modes, c->n_default_input_modes));
  json_object_set_new(o, "defaultOutputModes",
                      modes(c->default_output_modes, c->n_default_output_modes));
  json_object_set_new(o, "skills", skills_json(c, 1));
  set_opt_str(o, "iconUrl", c->icon_url);
  return o;
}

/* Every member above is required by some client; a NULL member means a skill was invalid or
 * memory ran out, and a card missing it would be rejected downstream, so fail here. */
static json_t *complete_or_null(json_t *o) {
  const char *keys[] = {"capabilities", "skills", "defaultInputModes", "defaultOutputModes"};
  for (size_t i = 0; o && i < sizeof(keys) / sizeof(keys[0]); i++) {
    if (!json_object_get(o, keys[i])) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

json_t *mol_a2a_card_to_json(const mol_a2a_card *c, mol_a2a_card_flavor flavor) {
  if (!c || !c->name || !c->url) return NULL;
  if (flavor == MOL_A2A_CARD_V10) return complete_or_null(card_v10(c));
  json_t *o = complete_or_null(card_v03(c));
  if (o && flavor == MOL_A2A_CARD_HYBRID)
    json_object_set_new(o, "supportedInterfaces", supported_interfaces(c));
  return o;
}

char *mol_a2a_card_build(const mol_a2a_card *c, mol_a2a_card_flavor flavor) {
  json_t *o = mol_a2a_card_to_json(c, flavor);
  if (!o) return NULL;
  char *s = mol_json_dump(o);
  json_decref(o);
  return s;
}

mol_a2a_card_flavor mol_a2a_card_flavor_for(const char *version_header, int dual_stack) {
  mol_a2a_version v;
  if (dual_stack && mol_a2a_version_parse(version_header, &v) == 0 && v == MOL_A2A_V10)
    return MOL_A2A_CARD_V10;
  return dual_stack ? MOL_A2A_CARD_HYBRID : MOL_A2A_CARD_V03;
}
