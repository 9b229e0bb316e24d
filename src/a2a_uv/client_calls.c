/* client_calls.c - the A2A client's calls: the agent card, message/send, message/stream,
 * tasks/get, tasks/cancel and tasks/resubscribe (v1.0 names under A2A-Version: 1.0). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a2a_uv/client_int.h"
#include "base/json.h"
#include "molecule.h"

/* ---- agent card ------------------------------------------------------------------------ */

static int is_jsonrpc(const char *binding) { return !binding || !strcasecmp(binding, "JSONRPC"); }

/* The JSONRPC entry of supportedInterfaces whose protocolVersion starts with prefix. */
static const char *interface_url(const json_t *card, const char *prefix) {
  size_t i;
  json_t *itf;
  json_array_foreach(json_object_get(card, "supportedInterfaces"), i, itf) {
    const char *url = json_string_value(json_object_get(itf, "url"));
    const char *pv = json_string_value(json_object_get(itf, "protocolVersion"));
    const char *binding = json_string_value(json_object_get(itf, "protocolBinding"));
    if (url && pv && !strncmp(pv, prefix, strlen(prefix)) && is_jsonrpc(binding)) return url;
  }
  return NULL;
}

static const char *v03_url(const json_t *card) {
  const char *url = json_string_value(json_object_get(card, "url"));
  const char *preferred = json_string_value(json_object_get(card, "preferredTransport"));
  if (url && is_jsonrpc(preferred)) return url;
  const char *itf = interface_url(card, "0.");
  if (itf) return itf;
  size_t i;
  json_t *add;
  json_array_foreach(json_object_get(card, "additionalInterfaces"), i, add) {
    const char *u = json_string_value(json_object_get(add, "url"));
    const char *t = json_string_value(json_object_get(add, "transport"));
    if (u && t && !strcasecmp(t, "JSONRPC")) return u;
  }
  return NULL;
}

static int send_card_request(mol_a2a_call *call, const char *path) {
  mol_buf url = MOL_BUF_INIT;
  int rc = mol_buf_printf(&url, "%s%s", call->c->base_url, path);
  if (rc == 0) rc = mol_a2a__client_send_http(call, "GET", url.data, NULL, 0);
  mol_buf_free(&url);
  return rc;
}

static int card_read(mol_a2a_call *call, const mol_http_response *resp) {
  if (resp->status < 200 || resp->status > 299) {
    mol_buf_printf(&call->detail, "HTTP %d fetching the agent card", resp->status);
    return MOL_EHTTP;
  }
  call->card = mol_json_parse(resp->body, resp->body_len, NULL, 0);
  if (!call->card) {
    mol_buf_append_str(&call->detail, "the agent card is not JSON");
    return MOL_EJSON;
  }
  if (!json_is_object(call->card)) {
    mol_buf_append_str(&call->detail, "the agent card is not a JSON object");
    return MOL_EBADRESP;
  }
  const char *url = call->c->version == MOL_A2A_V10 ? interface_url(call->card, "1.")
                                                    : v03_url(call->card);
  if (url && !(call->card_url = strdup(url))) return MOL_ENOMEM;
  return 0;
}

void mol_a2a__client_card_done(mol_a2a_call *call, const mol_http_response *resp) {
  if (resp->status == 404 && !call->card_fallback) {
    /* Molecule's readiness check and pre-0.3 agents use the older path. */
    call->card_fallback = 1;
    int rc = send_card_request(call, "/.well-known/agent.json");
    if (rc != 0) {
      mol_buf_printf(&call->detail, "could not request /.well-known/agent.json: %s",
                     mol_strerror(rc));
      mol_a2a__client_finish(call, rc);
    }
    return;
  }
  mol_a2a__client_finish(call, card_read(call, resp));
}

/* The HTTP request could not start: nothing will call back, so the call is dropped. */
static int started(mol_a2a_call *call, int rc, mol_a2a_call **out) {
  if (rc != 0) {
    mol_a2a__client_call_discard(call);
    return rc;
  }
  if (out) *out = call;
  return 0;
}

int mol_a2a_fetch_card(mol_a2a_client *c, const mol_a2a_call_opts *o, mol_a2a_done_cb cb,
                       void *arg, mol_a2a_call **out) {
  mol_a2a_call *call;
  int rc = mol_a2a__client_call_new(c, CALL_CARD, MOL_A2A_M_UNKNOWN, o, cb, arg, &call);
  if (rc != 0) return rc;
  return started(call, send_card_request(call, "/.well-known/agent-card.json"), out);
}

/* ---- JSON-RPC calls -------------------------------------------------------------------- */

static char *build_send(const mol_a2a_call *call, const json_t *msg, const mol_a2a_call_opts *o,
                        int stream) {
  mol_a2a_send_config cfg = {.blocking = 1, .history_length = -1};
  if (o) {
    cfg.blocking = !o->return_immediately;
    cfg.history_length = o->has_history_length ? o->history_length : -1;
    cfg.accepted_output_modes = o->accepted_output_modes;
  }
  json_t *push = o && o->push_config ? mol_a2a__client_push_inline(o->push_config, call->c->version)
                                     : NULL;
  if (o && o->push_config && !push) return NULL;
  cfg.push_config = push;
  char *body = mol_a2a_request_build_send(call->c->version, call->id, stream, msg, &cfg,
                                          o ? o->metadata : NULL);
  json_decref(push);
  return body;
}

static int start_rpc(mol_a2a_call *call, char *body, mol_a2a_call **out) {
  int stream = call->kind == CALL_STREAM;
  int rc = body ? mol_a2a__client_send_http(call, "POST", call->c->rpc_url, body, stream)
                : MOL_ENOMEM;
  free(body);
  return started(call, rc, out);
}

static int start_send(mol_a2a_client *c, const json_t *message, const mol_a2a_call_opts *o,
                      int stream, mol_a2a_event_cb on_event, mol_a2a_done_cb cb, void *arg,
                      mol_a2a_call **out) {
  if (!json_is_object(message)) return MOL_EINVAL;
  mol_a2a_call *call;
  int rc = mol_a2a__client_call_new(c, stream ? CALL_STREAM : CALL_UNARY,
                                    stream ? MOL_A2A_M_STREAM : MOL_A2A_M_SEND, o, cb, arg, &call);
  if (rc != 0) return rc;
  call->on_event = on_event;
  return start_rpc(call, build_send(call, message, o, stream), out);
}

int mol_a2a_send(mol_a2a_client *c, const json_t *message, const mol_a2a_call_opts *o,
                 mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  return start_send(c, message, o, 0, NULL, cb, arg, out);
}

int mol_a2a_stream(mol_a2a_client *c, const json_t *message, const mol_a2a_call_opts *o,
                   mol_a2a_event_cb on_event, mol_a2a_done_cb cb, void *arg,
                   mol_a2a_call **out) {
  return start_send(c, message, o, 1, on_event, cb, arg, out);
}

static int start_task_call(mol_a2a_client *c, mol_a2a_method m, const char *task_id,
                           const mol_a2a_call_opts *o, mol_a2a_event_cb on_event,
                           mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  if (!task_id || !*task_id) return MOL_EINVAL;
  mol_a2a_call *call;
  int kind = mol_a2a_method_is_streaming(m) ? CALL_STREAM : CALL_UNARY;
  int rc = mol_a2a__client_call_new(c, kind, m, o, cb, arg, &call);
  if (rc != 0) return rc;
  call->on_event = on_event;
  /* v0.3 tasks/cancel and tasks/resubscribe take no historyLength. */
  int hl = o && o->has_history_length && m == MOL_A2A_M_GET ? o->history_length : -1;
  return start_rpc(call, mol_a2a_request_build_task(c->version, m, call->id, task_id, hl), out);
}

int mol_a2a_get_task(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                     mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  return start_task_call(c, MOL_A2A_M_GET, task_id, o, NULL, cb, arg, out);
}

int mol_a2a_cancel_task(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                        mol_a2a_done_cb cb, void *arg, mol_a2a_call **out) {
  return start_task_call(c, MOL_A2A_M_CANCEL, task_id, o, NULL, cb, arg, out);
}

int mol_a2a_resubscribe(mol_a2a_client *c, const char *task_id, const mol_a2a_call_opts *o,
                        mol_a2a_event_cb on_event, mol_a2a_done_cb cb, void *arg,
                        mol_a2a_call **out) {
  return start_task_call(c, MOL_A2A_M_RESUBSCRIBE, task_id, o, on_event, cb, arg, out);
}
