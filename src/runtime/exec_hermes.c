/* exec_hermes.c - the hermes plugin transport executor (see exec_hermes.h). */
#include "runtime/exec_hermes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/holds.h"
#include "base/log.h"
#include "http/server.h"
#include "molecule.h"
#include "runtime/pending.h"

#define ORIGIN_PEER 0
#define ORIGIN_USER 1
#define INTERRUPT_ACK "\xe2\x9a\xa1 Interrupting" /* "⚡ Interrupting current task" */
#define SECRET_ENV "MOLECULE_A2A_PLATFORM_SHARED_SECRET"

typedef struct {
  uv_loop_t *loop;
  mol_http_client *http;
  mol_http_server *server;
  mol_pending *pending;
  char *inbound_url;
  char *health_url;
  char *callback_url;
  char *secret;             /* as configured (any length up to MOL_HERMES_SECRET_MAX) */
  mol_hermes_orphan_fn on_orphan;
  void *orphan_arg;
  mol_upstream_fn on_upstream;
  void *upstream_arg;
  unsigned timeout_ms;
  int port;
  int closing;
  mol_holds_shared turns;   /* where ended turns wait to be freed; also the holds' last handle */
  mol_holds holds;          /* its own until close; the pending table and the server while
                               they close; each turn until freed */
  void (*close_cb)(void *);
  void *close_arg;
} hermes;

/* Freed when both the pending entry has resolved and the inbound POST has completed (each
 * holds it until then): the plugin may reply before its own 200 reaches us. Turns share the
 * executor's handle rather than own one: ten thousand pending turns are ten thousand of these. */
typedef struct {
  hermes *h;
  mol_a2a_turn *turn;       /* NULL once the turn has been ended */
  mol_http_request *post;   /* NULL once the POST has completed */
  mol_holds holds;
  char message_id[33];
} hermes_turn;

static void turn_free(void *arg) {
  hermes_turn *ht = arg;
  hermes *h = ht->h;
  free(ht);
  mol_holds_drop(&h->holds); /* the turn's */
}

static const char *env_or(const char *v, const char *name, const char *dflt) {
  const char *e = getenv(name);
  return v ? v : (e && *e ? e : dflt);
}

static int env_int(int v, const char *name, int dflt) {
  const char *e = getenv(name);
  return v ? v : (e && *e ? atoi(e) : dflt);
}

/* ---- turn completion --------------------------------------------------------------------- */

static void report(hermes *h, int ok, const char *why) {
  if (h->on_upstream) h->on_upstream(ok, why, h->upstream_arg);
}

static void on_pending_done(int err, const char *text, size_t len, void *arg) {
  hermes_turn *ht = arg;
  mol_a2a_turn *t = ht->turn;
  char buf[160];
  ht->turn = NULL;
  if (!t) {
    /* the POST failed and is ending the turn itself */
  } else if (err == MOL_ECANCELED) {
    mol_a2a_turn_canceled(t);
  } else if (err == MOL_ETIMEDOUT) {
    snprintf(buf, sizeof(buf), "[hermes plugin reply timeout after %us]", ht->h->timeout_ms / 1000);
    report(ht->h, 0, buf);
    mol_a2a_turn_reply_text(t, buf);
  } else if (err == MOL_ESHUTDOWN) {
    mol_a2a_turn_fail(t, "executor shutting down");
  } else if (err == 0) {
    report(ht->h, 1, NULL);
    char *s = strndup(text, len);
    mol_a2a_turn_reply_text(t, s ? s : "");
    free(s);
  }
  mol_holds_drop(&ht->holds); /* the pending entry's */
}

static void on_progress(const char *text, size_t len, void *arg) {
  hermes_turn *ht = arg;
  char *s = strndup(text, len);
  if (s && ht->turn) mol_a2a_turn_working(ht->turn, s);
  free(s);
}

/* ---- inbound POST ------------------------------------------------------------------------ */

/* The plugin did not take the turn: it ends with the POST's error. */
static void post_failed(hermes_turn *ht, int err, const mol_http_response *resp) {
  char buf[700];
  if (err) snprintf(buf, sizeof(buf), "[hermes plugin POST error] %s", mol_strerror(err));
  else snprintf(buf, sizeof(buf), "[hermes plugin POST error] HTTP %d %.*s", resp->status,
                (int)(resp->body_len > 500 ? 500 : resp->body_len), resp->body ? resp->body : "");
  if (err || resp->status >= 500) report(ht->h, 0, buf);
  mol_a2a_turn *t = ht->turn;
  ht->turn = NULL;
  mol_pending_cancel(ht->h->pending, ht->message_id); /* drops the entry (and its hold) */
  mol_a2a_turn_reply_text(t, buf);
}

static void on_post_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  hermes_turn *ht = arg;
  ht->post = NULL;
  /* Unless the turn ended first (reply, cancel, shutdown), or waits for a reply. */
  if (ht->turn && (err || resp->status != 200)) post_failed(ht, err, resp);
  mol_holds_drop(&ht->holds); /* the POST's */
}

static json_t *history_of(mol_a2a_turn *t) {
  const json_t *h = json_object_get(mol_a2a_turn_message_metadata(t), "history");
  if (!json_is_array(h)) h = json_object_get(mol_a2a_turn_request_metadata(t), "history");
  return json_is_array(h) ? json_deep_copy(h) : json_array();
}

static char *inbound_body(hermes *h, hermes_turn *ht, const char *chat_id) {
  mol_a2a_turn *t = ht->turn;
  const json_t *meta = mol_a2a_turn_message_metadata(t);
  const char *peer_id = json_string_value(json_object_get(meta, "peer_id"));
  const char *peer_name = json_string_value(json_object_get(meta, "peer_name"));
  json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "chat_id", chat_id, "peer_id",
                        peer_id ? peer_id : "", "peer_name", peer_name ? peer_name : "",
                        "content", mol_a2a_turn_text(t), "message_id", ht->message_id,
                        "callback_url", h->callback_url, "messages_history", history_of(t));
  char *s = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  return s;
}

static int hermes_execute(void *self, mol_a2a_turn *t) {
  hermes *h = self;
  if (h->closing) return MOL_ESHUTDOWN;
  hermes_turn *ht = calloc(1, sizeof(*ht));
  if (!ht) return MOL_ENOMEM;
  ht->h = h;
  ht->turn = t;
  mol_random_hex(ht->message_id, 16);
  const char *chat_id = mol_a2a_turn_context_id(t);
  if (!chat_id || !*chat_id) chat_id = mol_a2a_turn_task_id(t);
  const json_t *meta = mol_a2a_turn_message_metadata(t);
  const char *peer = json_string_value(json_object_get(meta, "peer_id"));
  int origin = peer && *peer ? ORIGIN_PEER : ORIGIN_USER;
  int rc = mol_pending_add(h->pending, ht->message_id, h->timeout_ms, origin, on_pending_done,
                           on_progress, ht);
  if (rc) {
    free(ht);
    return rc;
  }
  mol_holds_init_shared(&ht->holds, &h->turns, turn_free, ht); /* the entry's */
  mol_holds_take(&h->holds); /* the turn's, until turn_free */
  mol_a2a_turn_set_data(t, ht);
  char *body = inbound_body(h, ht, chat_id);
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"}, {"X-Molecule-A2A-Secret", h->secret}};
  mol_http_request_opts o = {.method = "POST", .url = h->inbound_url, .headers = hdrs,
                             .nheaders = 2, .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = 10000};
  rc = body ? mol_http_request_send(h->http, &o, on_post_done, ht, &ht->post) : MOL_ENOMEM;
  free(body);
  if (rc) {
    ht->turn = NULL;
    ht->post = NULL;
    mol_pending_cancel(h->pending, ht->message_id); /* drops the entry's hold: ht goes later */
    return rc;
  }
  mol_holds_take(&ht->holds); /* the POST's, until on_post_done */
  mol_a2a_turn_working(t, NULL);
  return 0;
}

static void hermes_cancel(void *self, mol_a2a_turn *t) {
  hermes *h = self;
  hermes_turn *ht = mol_a2a_turn_data(t);
  if (!ht || !ht->turn) return;
  mol_pending_cancel(h->pending, ht->message_id); /* ends the turn canceled */
}

/* ---- reply server ------------------------------------------------------------------------ */

static void reply_json(mol_http_req *r, int status, const char *body) {
  mol_http_respond(r, status, "application/json", body, strlen(body));
}

static int is_interim(const json_t *body, const char *content) {
  const json_t *meta = json_object_get(body, "metadata");
  if (json_is_true(json_object_get(meta, "interim"))) return 1;
  if (json_is_false(json_object_get(meta, "final"))) return 1;
  return strncmp(content, INTERRUPT_ACK, strlen(INTERRUPT_ACK)) == 0;
}

static void deliver(hermes *h, mol_http_req *r, const json_t *body, const char *reply_to,
                    const char *content, size_t len) {
  int origin = -1;
  mol_pending_outcome out = mol_pending_deliver(h->pending, reply_to, content, len,
                                                !is_interim(body, content), &origin);
  if (out == MOL_PENDING_RESOLVED || out == MOL_PENDING_INTERIM) {
    reply_json(r, 200, "{\"ok\":true}");
    return;
  }
  if (out == MOL_PENDING_ORPHAN && origin == ORIGIN_USER && h->on_orphan) {
    const char *chat = json_string_value(json_object_get(body, "chat_id"));
    if (h->on_orphan(chat ? chat : "", content, h->orphan_arg) != 0) {
      reply_json(r, 503, "{\"ok\":false,\"error\":\"relay failed, retry\"}");
      return;
    }
  }
  reply_json(r, 200, "{\"ok\":true,\"stale\":true}");
}

static void on_reply(mol_http_req *r, void *arg) {
  hermes *h = arg;
  const char *secret = mol_http_req_header(r, "X-Molecule-A2A-Secret");
  if (!mol_ct_streq(secret, h->secret)) {
    reply_json(r, 401, "{\"ok\":false,\"error\":\"unauthorized\"}");
    return;
  }
  size_t len;
  const char *raw = mol_http_req_body(r, &len);
  json_t *body = json_loadb(raw, len, 0, NULL);
  if (!json_is_object(body)) {
    json_decref(body);
    reply_json(r, 400, "{\"ok\":false,\"error\":\"invalid json\"}");
    return;
  }
  const char *reply_to = json_string_value(json_object_get(body, "reply_to"));
  json_t *content = json_object_get(body, "content");
  if (!reply_to || !*reply_to || !json_is_string(content)) {
    reply_json(r, 400, "{\"ok\":false,\"error\":\"reply_to and content required\"}");
  } else {
    deliver(h, r, body, reply_to, json_string_value(content), json_string_length(content));
  }
  json_decref(body);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int listen_reply(hermes *h, const char *host, int port) {
  int rc = mol_http_server_new(h->loop, NULL, &h->server);
  if (!rc) rc = mol_http_server_route(h->server, "POST", "/a2a/reply", 0, on_reply, h);
  if (!rc) rc = mol_http_server_listen(h->server, host, port < 0 ? 0 : port);
  if (rc) return rc;
  h->port = mol_http_server_port(h->server);
  size_t n = strlen(host) + 48;
  h->callback_url = malloc(n);
  if (!h->callback_url) return MOL_ENOMEM;
  snprintf(h->callback_url, n, strchr(host, ':') ? "http://[%s]:%d/a2a/reply" : "http://%s:%d/a2a/reply",
           host, h->port);
  return 0;
}

/* Why a configured secret cannot work, or NULL. It travels as a header value both ways, so it
 * must survive one: no control characters (CR/LF would split the header), no blank at either
 * end (parsers strip it, so it would never compare equal), and small enough for the plugin's
 * and our own header limits. */
static const char *secret_problem(const char *s) {
  size_t n = strlen(s);
  if (n == 0) return "is set but empty (unset it to have one generated)";
  if (n > MOL_HERMES_SECRET_MAX) return "is longer than " MOL_HERMES_SECRET_MAX_STR " bytes";
  if (s[0] == ' ' || s[n - 1] == ' ') return "starts or ends with a space";
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return "contains a control character";
  return NULL;
}

/* The configured secret is used as it is; only an unset one is generated, since the plugin is
 * configured with the same value and anything else makes it answer 401 to every turn. */
static int take_secret(hermes *h, const mol_hermes_opts *o) {
  const char *env = getenv(SECRET_ENV);
  const char *secret = o->secret ? o->secret : env;
  if (!secret) {
    char gen[65];
    if (mol_random_hex(gen, 32)) return MOL_EIO;
    h->secret = strdup(gen);
  } else {
    const char *why = secret_problem(secret);
    if (why) {
      mol_loge("hermes", "%s %s", o->secret ? "the secret option" : SECRET_ENV, why);
      return MOL_EINVAL;
    }
    h->secret = strdup(secret);
  }
  if (!h->secret) return MOL_ENOMEM;
  mol_log_add_secret(h->secret);
  return 0;
}

static int setup(hermes *h, const mol_hermes_opts *o) {
  int rc = take_secret(h, o);
  if (rc) return rc;
  const char *phost = env_or(o->plugin_host, "MOLECULE_A2A_PLATFORM_HOST", "127.0.0.1");
  int pport = env_int(o->plugin_port, "MOLECULE_A2A_PLATFORM_PORT", 8645);
  size_t n = strlen(phost) + 48;
  h->inbound_url = malloc(n);
  if (!h->inbound_url) return MOL_ENOMEM;
  snprintf(h->inbound_url, n, strchr(phost, ':') ? "http://[%s]:%d/a2a/inbound" : "http://%s:%d/a2a/inbound",
           phost, pport);
  if (!(h->health_url = strdup(h->inbound_url))) return MOL_ENOMEM;
  strcpy(h->health_url + strlen(h->health_url) - strlen("inbound"), "health"); /* same length */
  h->timeout_ms = o->reply_timeout_ms ? o->reply_timeout_ms
                                      : (unsigned)env_int(0, "MOLECULE_A2A_REPLY_TIMEOUT_SECONDS", 600) * 1000u;
  mol_pending_opts po = {.max_entries = o->max_pending, .default_timeout_ms = h->timeout_ms};
  rc = mol_pending_new(h->loop, &po, &h->pending);
  if (rc) return rc;
  const char *rhost = env_or(o->reply_host, "MOLECULE_A2A_REPLY_HOST", "127.0.0.1");
  return listen_reply(h, rhost, o->reply_port ? o->reply_port : env_int(0, "MOLECULE_A2A_REPLY_PORT", 8646));
}

static void on_part_closed(void *arg) {
  hermes *h = arg;
  mol_holds_drop(&h->holds);
}

/* The holds' finish: closed, and the pending table and the server have closed too. */
static void hermes_free(void *arg) {
  hermes *h = arg;
  mol_holds_shared_flush(&h->turns); /* none waits: each turn held h until freed */
  void (*cb)(void *) = h->close_cb;
  void *cb_arg = h->close_arg;
  free(h->inbound_url);
  free(h->health_url);
  free(h->callback_url);
  free(h->secret);
  free(h);
  if (cb) cb(cb_arg);
}

void mol_hermes_executor_close(mol_a2a_executor *ex, void (*cb)(void *arg), void *arg) {
  hermes *h = ex->self;
  ex->self = NULL;
  h->closing = 1;
  h->close_cb = cb;
  h->close_arg = arg;
  if (h->pending) {
    mol_holds_take(&h->holds);
    mol_pending_close(h->pending, on_part_closed, h);
  }
  if (h->server) {
    mol_holds_take(&h->holds);
    mol_http_server_close(h->server, 1000, on_part_closed, h);
  }
  mol_holds_drop(&h->holds); /* the executor's own: cb runs later, never inside */
}

int mol_hermes_executor_new(uv_loop_t *loop, const mol_hermes_opts *o, mol_a2a_executor *ex) {
  if (!o || !o->http) return MOL_EINVAL;
  hermes *h = calloc(1, sizeof(*h));
  if (!h) return MOL_ENOMEM;
  h->loop = loop;
  mol_holds_shared_init(loop, &h->turns);
  mol_holds_init(&h->holds, mol_holds_shared_handle(&h->turns), hermes_free, h);
  h->http = o->http;
  h->on_orphan = o->on_orphan;
  h->orphan_arg = o->orphan_arg;
  h->on_upstream = o->on_upstream;
  h->upstream_arg = o->upstream_arg;
  ex->name = "hermes-plugin";
  ex->execute = hermes_execute;
  ex->cancel = hermes_cancel;
  ex->self = h;
  int rc = setup(h, o);
  if (rc) {
    mol_logw("hermes", "cannot start: %s", mol_strerror(rc));
    mol_hermes_executor_close(ex, NULL, NULL);
  }
  return rc;
}

const char *mol_hermes_secret(const mol_a2a_executor *ex) { return ((hermes *)ex->self)->secret; }
int mol_hermes_reply_port(const mol_a2a_executor *ex) { return ((hermes *)ex->self)->port; }
const char *mol_hermes_callback_url(const mol_a2a_executor *ex) {
  return ((hermes *)ex->self)->callback_url;
}
size_t mol_hermes_pending(const mol_a2a_executor *ex) {
  return mol_pending_count(((hermes *)ex->self)->pending);
}
const char *mol_hermes_health_url(const mol_a2a_executor *ex) {
  return ((hermes *)ex->self)->health_url;
}
