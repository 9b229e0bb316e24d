/* server.c - the A2A server binding (see server.h): routes, JSON-RPC dispatch, lifecycle.
 * The per-request work (answering, streaming, waiting for a task) is in server_call.c. */
#include "a2a_uv/server_int.h"

#include "a2a/push.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "molecule.h"

/* ---- card and health ---------------------------------------------------------------------- */

/* The public card as served: what the server does (extended card, push, the REST binding
 * under the url) over what it was given. rest is room for the REST url. */
static void card_served(const mol_a2a_server *s, mol_a2a_card *pub, char rest[1100]) {
  if (s->extended) pub->extended_card = 1;
  pub->push_notifications = s->push.http != NULL; /* what it does, whatever was asked */
  /* the HTTP+JSON binding lives at <url>v1 (the url ends with '/') */
  if (!pub->http_json_url && pub->url && *pub->url && strlen(pub->url) < 1100 - 3) {
    snprintf(rest, 1100, "%s%sv1", pub->url, pub->url[strlen(pub->url) - 1] == '/' ? "" : "/");
    pub->http_json_url = rest;
  }
}

/* The card in one flavor from card_fill (malloc'd), or NULL. */
static char *card_text(const mol_a2a_server *s, mol_a2a_card_flavor f) {
  mol_a2a_card card = {0};
  mol_a2a_skill skill = {0};
  char rest[1100];
  if (s->card_fill(s->card_arg, &card, &skill)) return NULL;
  card_served(s, &card, rest);
  return mol_a2a_card_build(&card, f);
}

static void card_etag(const char *text, char etag[24]) {
  uint8_t d[MOL_SHA256_LEN];
  char hex[MOL_SHA256_HEX_LEN + 1];
  mol_sha256_once(text, strlen(text), d);
  mol_hex(d, sizeof(d), hex);
  snprintf(etag, 24, "\"%.16s\"", hex);
}

/* A card written per request gets a cheaper ETag than the kept card's SHA-256 (which cost
 * 40% of such a request): FNV-1a 64 of the text. Any change of the text changes it, which
 * is all an If-None-Match needs. */
static void card_etag_fast(const char *text, char etag[24]) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    h = (h ^ *p) * 0x100000001b3ull;
  snprintf(etag, 24, "\"%016llx\"", (unsigned long long)h);
}

static void on_card(mol_http_req *r, void *arg) {
  mol_a2a_server *s = arg;
  mol_a2a_card_flavor f = mol_a2a_card_flavor_for(mol_http_req_header(r, "A2A-Version"), 1);
  char *built = s->cards ? NULL : card_text(s, f), etag_built[24];
  const char *text = s->cards ? s->cards->text[f] : built, *etag = etag_built;
  if (!text) {
    static const char err[] = "{\"error\":\"the agent card could not be built\"}";
    mol_http_respond(r, 500, "application/json", err, sizeof(err) - 1);
    return;
  }
  if (s->cards) etag = s->cards->etag[f];
  else card_etag_fast(text, etag_built);
  mol_http_resp_header(r, "Vary", "A2A-Version");
  mol_http_resp_header(r, "Cache-Control", "public, max-age=300");
  mol_http_resp_header(r, "ETag", etag);
  const char *inm = mol_http_req_header(r, "If-None-Match");
  if (inm && strcmp(inm, etag) == 0) mol_http_respond(r, 304, NULL, NULL, 0);
  else mol_http_respond(r, 200, "application/json", text, strlen(text));
  free(built);
}

static void on_health(mol_http_req *r, void *arg) {
  (void)arg;
  static const char ok[] = "{\"status\":\"ok\"}";
  mol_http_respond(r, 200, "application/json", ok, sizeof(ok) - 1);
}

/* ---- JSON-RPC ----------------------------------------------------------------------------- */

/* The extended card to a caller with the credentials (or to anyone when no token is set);
 * the public card otherwise, as the reference SDK answers; -32007 when none is configured. */
static void answer_extended_card(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  int v = req->version == MOL_A2A_V10;
  if (!s->ext_card[v]) {
    mol_a2a__answer_error(r, req, MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED, NULL);
    return;
  }
  int ok = !s->ext_token;
  const char *auth = mol_http_req_header(r, "Authorization");
  if (!ok && auth && strncasecmp(auth, "Bearer ", 7) == 0)
    ok = mol_ct_equal(auth + 7, strlen(auth + 7), s->ext_token, strlen(s->ext_token));
  json_t *card = ok ? s->ext_card[v] : s->pub_card[v];
  mol_a2a__answer_body(r, mol_a2a_reply_result(req, json_incref(card)));
  mol_a2a_request_free(req);
}

/* The worker whose task the request names (its id's first two hex digits), or -1 when it
 * names none or names this worker's. */
static int foreign_owner(const mol_a2a_server *s, const mol_a2a_request *req) {
  const char *id = req->task_id;
  if (req->method == MOL_A2A_M_SEND || req->method == MOL_A2A_M_STREAM)
    id = req->message ? mol_a2a_cmsg_task_id(req->message) : NULL;
  if (!id) return -1;
  static const char hex[] = "0123456789abcdef";
  const char *hi = id[0] ? strchr(hex, id[0]) : NULL, *lo = hi && id[1] ? strchr(hex, id[1]) : NULL;
  if (!lo) return -1;
  unsigned owner = (unsigned)((hi - hex) << 4 | (lo - hex));
  return owner < s->workers && owner != s->worker ? (int)owner : -1;
}

/* With several workers: another worker's task is its business (server.h). */
static int handed_over(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  if (req->method == MOL_A2A_M_LIST_TASKS) {
    mol_a2a__answer_error(r, req, MOL_A2A_UNSUPPORTED_OPERATION,
                          "listing tasks is not available with several workers");
    return 1;
  }
  int owner = foreign_owner(s, req);
  if (owner < 0 || s->forward(r, (unsigned)owner, s->forward_arg) != 0) return 0;
  s->requests--; /* the owner counts it */
  mol_a2a_request_free(req);
  return 1;
}

static void dispatch(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  if (s->forward && handed_over(s, r, req)) return;
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
      mol_a2a__call_push(s, r, req);
      return;
    case MOL_A2A_M_GET_EXTENDED_CARD:
      answer_extended_card(s, r, req);
      return;
    default:
      mol_a2a__answer_error(r, req, MOL_A2A_METHOD_NOT_FOUND, NULL);
      return;
  }
}

/* The REST binding's way in; JSON-RPC keeps the static one, which the compiler inlines. */
void mol_a2a__dispatch(mol_a2a_server *s, mol_http_req *r, mol_a2a_request *req) {
  dispatch(s, r, req);
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

/* The extended card keeps the public card's url when it names none. */
static int build_extended(mol_a2a_server *s, const mol_a2a_server_opts *o, const mol_a2a_card *pub) {
  if (!o->extended_card) return 0;
  mol_a2a_card ext = *o->extended_card;
  if (!ext.url) ext.url = pub->url;
  ext.extended_card = 1;
  ext.push_notifications = pub->push_notifications;
  if (!ext.http_json_url && !o->extended_card->url) ext.http_json_url = pub->http_json_url;
  static const mol_a2a_card_flavor fl[2] = {MOL_A2A_CARD_V03, MOL_A2A_CARD_V10};
  for (int v = 0; v < 2; v++) {
    s->ext_card[v] = mol_a2a_card_to_json(&ext, fl[v]);
    s->pub_card[v] = mol_a2a_card_to_json(pub, fl[v]);
    if (!s->ext_card[v] || !s->pub_card[v]) return MOL_EINVAL;
  }
  if (o->extended_card_token && !(s->ext_token = strdup(o->extended_card_token))) return MOL_ENOMEM;
  return 0;
}

/* Serialises the card once per flavor (kept, or with card_fill only checked); then the
 * extended card. */
static int build_cards(mol_a2a_server *s, const mol_a2a_server_opts *o) {
  mol_a2a_card pub = {0};
  mol_a2a_skill skill = {0};
  char rest[1100];
  if (o->card) pub = *o->card;
  else if (o->card_fill(o->card_arg, &pub, &skill)) return MOL_EINVAL;
  s->push = o->push;
  s->extended = o->extended_card != NULL;
  card_served(s, &pub, rest);
  mol_a2a__cards *c = o->card ? calloc(1, sizeof(*c)) : NULL;
  if (o->card && !c) return MOL_ENOMEM;
  s->cards = c;
  for (int f = 0; f < 3; f++) {
    char *text = mol_a2a_card_build(&pub, (mol_a2a_card_flavor)f);
    if (!text) return MOL_EINVAL;
    if (!c) {
      free(text);
      continue;
    }
    c->text[f] = text;
    card_etag(text, c->etag[f]);
  }
  s->streaming = pub.streaming;
  return build_extended(s, o, &pub);
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
  if (!rc) rc = mol_a2a__rest_routes(s, http, prefix);
  return rc;
}

static void free_server(mol_a2a_server *s) {
  if (s->cards)
    for (int f = 0; f < 3; f++) free(s->cards->text[f]);
  free(s->cards);
  for (int v = 0; v < 2; v++) {
    json_decref(s->ext_card[v]);
    json_decref(s->pub_card[v]);
  }
  free(s->ext_token);
  if (s->durable) mol_a2a__durable_close(s->durable); /* commits the last changes first */
  if (s->store) mol_a2a_store_free(s->store);
  free(s);
}

/* The pusher has closed: its hold on the server goes (server_push.c took it). */
static void on_pusher_closed(void *arg) {
  mol_a2a_server *s = arg;
  s->pusher = NULL; /* its last counters are in s->push_last */
  mol_holds_drop(&s->holds);
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
  if (!o || !(o->card || o->card_fill) || !o->executor) return MOL_EINVAL;
  const char *prefix = o->prefix ? o->prefix : "";
  if (strlen(prefix) > 256 || (*prefix && (prefix[0] != '/' || prefix[strlen(prefix) - 1] == '/')))
    return MOL_EINVAL;
  mol_a2a_server *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  s->loop = loop;
  s->http = http;
  s->executor = o->executor;
  s->card_fill = o->card ? NULL : o->card_fill;
  s->card_arg = o->card_arg;
  s->cancel_wait_ms = o->cancel_wait_ms ? o->cancel_wait_ms : 10000;
  if (o->workers > 1 && o->forward) {
    if (o->worker >= o->workers || o->workers > 256 || o->data_dir) {
      free(s);
      return MOL_EINVAL; /* a tag is two hex digits; a durable store is one worker's */
    }
    s->worker = o->worker;
    s->workers = o->workers;
    s->forward = o->forward;
    s->forward_arg = o->forward_arg;
  }
  s->prefix_len = strlen(prefix);
  mol_a2a_store_opts so = o->store;
  so.tag_ids = s->forward != NULL;
  so.id_tag = (unsigned char)s->worker;
  so.push_observer = mol_a2a__push_on_event;
  so.push_observer_arg = s;
  int rc = build_cards(s, o);
  if (!rc && o->data_dir) {
    rc = mol_a2a__durable_new(loop, o->data_backend, o->data_dir,
                              o->sync_full ? MOL_A2A_SYNC_FULL : MOL_A2A_SYNC_NORMAL,
                              mol_a2a__release, &s->durable);
    so.journal = mol_a2a__durable_note;
    so.journal_arg = s->durable;
  }
  if (!rc) rc = mol_a2a_store_new(&so, &s->store);
  if (!rc && s->durable) rc = mol_a2a__durable_load(s->durable, s->store);
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
  out->push_configs = mol_a2a_store_push_count(s->store);
  if (s->pusher) mol_a2a_pusher_stats(s->pusher, &out->push);
  else out->push = s->push_last;
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
  if (s->pusher) mol_a2a_pusher_close(s->pusher, &s->push_last, on_pusher_closed, s);
  mol_holds_drop(&s->holds); /* the live turns' holds keep it until they end */
}
