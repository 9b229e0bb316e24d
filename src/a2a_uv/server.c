/* server.c - the A2A server binding (see server.h): routes, JSON-RPC dispatch, lifecycle.
 * The per-request work (answering, streaming, waiting for a task) is in server_call.c. */
#include "a2a_uv/server_int.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "molecule.h"

/* ---- card and health ---------------------------------------------------------------------- */

static void on_card(mol_http_req *r, void *arg) {
  mol_a2a_server *s = arg;
  mol_a2a_card_flavor f = mol_a2a_card_flavor_for(mol_http_req_header(r, "A2A-Version"), 1);
  mol_http_resp_header(r, "Vary", "A2A-Version");
  mol_http_resp_header(r, "Cache-Control", "public, max-age=300");
  mol_http_resp_header(r, "ETag", s->etag[f]);
  const char *inm = mol_http_req_header(r, "If-None-Match");
  if (inm && strcmp(inm, s->etag[f]) == 0) {
    mol_http_respond(r, 304, NULL, NULL, 0);
    return;
  }
  mol_http_respond(r, 200, "application/json", s->card[f], strlen(s->card[f]));
}

static void on_health(mol_http_req *r, void *arg) {
  (void)arg;
  static const char ok[] = "{\"status\":\"ok\"}";
  mol_http_respond(r, 200, "application/json", ok, sizeof(ok) - 1);
}

/* ---- JSON-RPC ----------------------------------------------------------------------------- */

static void dispatch(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  switch (req->method) {
    case MOL_A2A_M_SEND:
    case MOL_A2A_M_STREAM:
      if (req->method == MOL_A2A_M_STREAM && !s->streaming) {
        mol_a2a__answer_error(r, req, MOL_A2A_UNSUPPORTED_OPERATION, "streaming is not supported");
      } else if (s->draining) {
        mol_a2a__answer_error(r, req, MOL_A2A_INTERNAL_ERROR, "server shutting down");
      } else {
        mol_a2a__call_send(s, r, req);
      }
      return;
    case MOL_A2A_M_GET:
      mol_a2a__call_get(s, r, req);
      return;
    case MOL_A2A_M_CANCEL:
      mol_a2a__call_cancel(s, r, req);
      return;
    case MOL_A2A_M_RESUBSCRIBE:
      mol_a2a__call_resubscribe(s, r, req);
      return;
    case MOL_A2A_M_LIST_TASKS:
      mol_a2a__call_list(s, r, req);
      return;
    case MOL_A2A_M_PUSH_SET:
    case MOL_A2A_M_PUSH_GET:
    case MOL_A2A_M_PUSH_LIST:
    case MOL_A2A_M_PUSH_DELETE:
      mol_a2a__answer_error(r, req, MOL_A2A_PUSH_NOT_SUPPORTED, NULL);
      return;
    case MOL_A2A_M_GET_EXTENDED_CARD:
      mol_a2a__answer_error(r, req, MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED, NULL);
      return;
    default:
      mol_a2a__answer_error(r, req, MOL_A2A_METHOD_NOT_FOUND, NULL);
      return;
  }
}

static void on_rpc(mol_http_req *r, void *arg) {
  mol_a2a_server *s = arg;
  s->requests++;
  size_t len;
  const char *body = mol_http_req_body(r, &len);
  mol_a2a_request req;
  if (mol_a2a_request_parse(body, len, mol_http_req_header(r, "A2A-Version"), &req)) {
    char *out = mol_a2a_reply_request_error(&req);
    mol_a2a__answer_body(r, out);
    mol_a2a_request_free(&req);
    return;
  }
  dispatch(s, r, &req); /* takes the request (a call keeps it, or it is freed) */
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void on_sweep(uv_timer_t *t) {
  mol_a2a_server *s = t->data;
  mol_a2a_store_sweep(s->store, mol_a2a_store_now(s->store));
}

static int build_cards(mol_a2a_server *s, const mol_a2a_card *card) {
  for (int f = 0; f < 3; f++) {
    if (!(s->card[f] = mol_a2a_card_build(card, (mol_a2a_card_flavor)f))) return MOL_EINVAL;
    uint8_t d[MOL_SHA256_LEN];
    char hex[MOL_SHA256_HEX_LEN + 1];
    mol_sha256_once(s->card[f], strlen(s->card[f]), d);
    mol_hex(d, sizeof(d), hex);
    snprintf(s->etag[f], sizeof(s->etag[f]), "\"%.16s\"", hex);
  }
  s->streaming = card->streaming;
  return 0;
}

static int add_routes(mol_a2a_server *s, mol_http_server *http, const char *prefix) {
  static const struct {
    const char *method, *path;
    mol_http_handler h;
  } routes[] = {
    {"POST", "/", on_rpc},
    {"GET", "/.well-known/agent-card.json", on_card},
    {"GET", "/.well-known/agent.json", on_card},
    {"GET", "/health", on_health},
  };
  char path[512];
  int rc = 0;
  for (size_t i = 0; i < sizeof(routes) / sizeof(*routes) && !rc; i++) {
    snprintf(path, sizeof(path), "%s%s", prefix, routes[i].path);
    rc = mol_http_server_route(http, routes[i].method, path, 0, routes[i].h, s);
  }
  if (!rc && *prefix) rc = mol_http_server_route(http, "POST", prefix, 0, on_rpc, s);
  return rc;
}

static void free_server(mol_a2a_server *s) {
  for (int f = 0; f < 3; f++) free(s->card[f]);
  if (s->store) mol_a2a_store_free(s->store);
  free(s);
}

/* The holds' finish: closed, and the last live turn has ended. */
static void server_finish(void *arg) {
  mol_a2a_server *s = arg;
  void (*cb)(void *) = s->close_cb;
  void *cb_arg = s->close_arg;
  free_server(s);
  if (cb) cb(cb_arg);
}

int mol_a2a_server_new(uv_loop_t *loop, mol_http_server *http, const mol_a2a_server_opts *o,
                       mol_a2a_server **out) {
  if (!o || !o->card || !o->executor) return MOL_EINVAL;
  const char *prefix = o->prefix ? o->prefix : "";
  if (strlen(prefix) > 256 || (*prefix && (prefix[0] != '/' || prefix[strlen(prefix) - 1] == '/')))
    return MOL_EINVAL;
  mol_a2a_server *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  s->loop = loop;
  s->http = http;
  s->executor = o->executor;
  s->cancel_wait_ms = o->cancel_wait_ms ? o->cancel_wait_ms : 10000;
  int rc = build_cards(s, o->card);
  if (!rc) rc = mol_a2a_store_new(&o->store, &s->store);
  if (!rc) rc = add_routes(s, http, prefix);
  if (rc) {
    mol_http_server_unroute(http, s); /* add_routes may have got half way */
    free_server(s);
    return rc;
  }
  uv_timer_init(loop, &s->sweep);
  s->sweep.data = s;
  mol_holds_init(&s->holds, (uv_handle_t *)&s->sweep, server_finish, s);
  unsigned every = o->sweep_interval_ms ? o->sweep_interval_ms : 30000;
  uv_timer_start(&s->sweep, on_sweep, every, every);
  uv_unref((uv_handle_t *)&s->sweep);
  *out = s;
  return 0;
}

mol_a2a_task *mol_a2a_server_task(const mol_a2a_server *s, const char *task_id) {
  return mol_a2a_store_get(s->store, task_id);
}

void mol_a2a_server_stats_get(const mol_a2a_server *s, mol_a2a_server_stats *out) {
  out->requests = s->requests;
  out->turns = s->turns;
  out->live_turns = s->live_turns;
  out->open_streams = s->open_streams;
  mol_a2a_store_stats st;
  mol_a2a_store_stats_get(s->store, &st);
  out->tasks = st.tasks;
  out->task_bytes = st.bytes;
  out->tasks_evicted = st.evicted;
  out->tasks_expired = st.expired;
}

void mol_a2a_server_drain(mol_a2a_server *s) { s->draining = 1; }

void mol_a2a_server_close(mol_a2a_server *s, void (*cb)(void *arg), void *arg) {
  if (s->http) mol_http_server_unroute(s->http, s); /* nothing new reaches us from here on */
  s->draining = 1;
  s->close_cb = cb;
  s->close_arg = arg;
  mol_a2a__calls_cancel_all(s);
  if (s->closing) return;
  s->closing = 1;
  mol_holds_drop(&s->holds); /* the live turns' holds keep it until they end */
}
