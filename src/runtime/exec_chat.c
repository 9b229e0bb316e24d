/* exec_chat.c - the chat-completions bridge executor. */
#include "runtime/exec_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "a2a/sse_parse.h"
#include "base/buf.h"
#include "base/log.h"
#include "molecule.h"

typedef struct {
  mol_http_client *http;
  char *url;
  char *auth;       /* "Bearer …" or NULL */
  char *model;
  char *system_prompt;
  unsigned timeout_ms;
} chat;

typedef struct {
  chat *c;
  mol_a2a_turn *turn;
  mol_http_request *req;
  int streaming;
  int canceled;
  mol_a2a_sse_parser sse;
  mol_buf text;     /* streamed deltas so far */
  int chunks;
  char *stream_error;
} chat_turn;

static char *dup_or(const char *v, const char *env, const char *dflt) {
  const char *e = env ? getenv(env) : NULL;
  const char *s = v ? v : (e && *e ? e : dflt);
  return s ? strdup(s) : NULL;
}

/* ---- request ------------------------------------------------------------------------------ */

static void add_history(json_t *messages, const json_t *history) {
  size_t i;
  json_t *h;
  json_array_foreach(history, i, h) {
    const char *role = json_string_value(json_object_get(h, "role"));
    const char *mapped = !role ? NULL : strcmp(role, "user") == 0 ? "user"
                                      : strcmp(role, "agent") == 0 ? "assistant" : NULL;
    if (!mapped) continue;
    mol_buf text = MOL_BUF_INIT;
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(h, "parts"), k, p) {
      const char *t = json_string_value(json_object_get(p, "text"));
      if (!t) continue;
      if (text.len) mol_buf_append_str(&text, "\n");
      mol_buf_append_str(&text, t);
    }
    json_array_append_new(messages, json_pack("{s:s,s:s}", "role", mapped, "content",
                                              text.data ? text.data : ""));
    mol_buf_free(&text);
  }
}

static const json_t *history_of(mol_a2a_turn *t) {
  const json_t *h = json_object_get(mol_a2a_turn_message_metadata(t), "history");
  if (json_is_array(h)) return h;
  h = json_object_get(mol_a2a_turn_request_metadata(t), "history");
  return json_is_array(h) ? h : NULL;
}

static char *request_body(chat *c, mol_a2a_turn *t, int stream) {
  json_t *messages = json_array();
  if (c->system_prompt && *c->system_prompt)
    json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "system", "content", c->system_prompt));
  const json_t *h = history_of(t);
  if (h) add_history(messages, h);
  json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", mol_a2a_turn_text(t)));
  json_t *body = json_pack("{s:s,s:o,s:b}", "model", c->model, "messages", messages, "stream", stream);
  char *s = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return s;
}

/* ---- response ----------------------------------------------------------------------------- */

static void end_turn(chat_turn *ct, const char *text) {
  mol_a2a_turn *t = ct->turn;
  if (ct->canceled) mol_a2a_turn_canceled(t);
  else mol_a2a_turn_reply_text(t, text);
  mol_a2a_sse_free(&ct->sse);
  mol_buf_free(&ct->text);
  free(ct->stream_error);
  free(ct);
}

static char *content_of(const json_t *msg) {
  const char *s = json_string_value(json_object_get(msg, "content"));
  if (!s || !*s) s = json_string_value(json_object_get(msg, "reasoning_content"));
  return strdup(s ? s : "");
}

static char *reply_from_body(const char *body, size_t len) {
  json_t *v = json_loadb(body, len, 0, NULL);
  json_t *msg = json_object_get(json_array_get(json_object_get(v, "choices"), 0), "message");
  char *s = msg ? content_of(msg) : NULL;
  json_decref(v);
  return s;
}

static char *error_text(int status, const char *body, size_t len) {
  mol_buf b = MOL_BUF_INIT;
  mol_buf_printf(&b, "[hermes-agent error %d] %.*s", status, (int)(len > 500 ? 500 : len),
                 body ? body : "");
  return mol_buf_steal(&b);
}

static int on_sse(const mol_a2a_sse_event *ev, void *arg) {
  chat_turn *ct = arg;
  if (strcmp(ev->data, "[DONE]") == 0) return 0;
  json_t *v = json_loadb(ev->data, ev->data_len, 0, NULL);
  json_t *err = json_object_get(v, "error");
  if (err) {
    const char *m = json_string_value(json_object_get(err, "message"));
    free(ct->stream_error);
    ct->stream_error = strdup(m ? m : "stream error");
  }
  json_t *delta = json_object_get(json_array_get(json_object_get(v, "choices"), 0), "delta");
  const char *piece = json_string_value(json_object_get(delta, "content"));
  if (piece && *piece) {
    mol_buf_append_str(&ct->text, piece);
    mol_a2a_turn_artifact(ct->turn, NULL, "reply", piece, ct->chunks++ > 0, 0);
  }
  json_decref(v);
  return 0;
}

static int on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)r;
  chat_turn *ct = arg;
  mol_a2a_sse_feed(&ct->sse, data, len);
  return 0;
}

static void on_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  chat_turn *ct = arg;
  ct->req = NULL;
  char *text = NULL;
  if (err && !ct->canceled) {
    mol_buf b = MOL_BUF_INIT;
    mol_buf_printf(&b, "[hermes-agent unreachable] %s", mol_strerror(err));
    text = mol_buf_steal(&b);
  } else if (!err && (resp->status < 200 || resp->status > 299)) {
    text = error_text(resp->status, resp->body, resp->body_len);
  } else if (!err && ct->streaming) {
    if (ct->chunks) mol_a2a_turn_artifact(ct->turn, NULL, "reply", "", 1, 1);
    text = ct->stream_error ? error_text(200, ct->stream_error, strlen(ct->stream_error))
                            : strdup(ct->text.data ? ct->text.data : "");
  } else if (!err) {
    text = reply_from_body(resp->body, resp->body_len);
    if (!text) text = error_text(resp->status, resp->body, resp->body_len);
  }
  end_turn(ct, text ? text : "");
  free(text);
}

/* ---- executor ----------------------------------------------------------------------------- */

static int chat_execute(void *self, mol_a2a_turn *t) {
  chat *c = self;
  if (!*mol_a2a_turn_text(t)) {
    mol_a2a_turn_reply_text(t, "(empty prompt — nothing to do)");
    return 0;
  }
  chat_turn *ct = calloc(1, sizeof(*ct));
  if (!ct) return MOL_ENOMEM;
  ct->c = c;
  ct->turn = t;
  ct->streaming = mol_a2a_turn_streaming(t);
  mol_a2a_sse_init(&ct->sse, 0, on_sse, ct);
  char *body = request_body(c, t, ct->streaming);
  mol_http_header hdrs[3] = {{"Content-Type", "application/json"}, {"Accept", ct->streaming ? "text/event-stream" : "application/json"}};
  size_t n = 2;
  if (c->auth) hdrs[n++] = (mol_http_header){"Authorization", c->auth};
  mol_http_request_opts o = {.method = "POST", .url = c->url, .headers = hdrs, .nheaders = n,
                             .body = body, .body_len = body ? strlen(body) : 0,
                             .total_timeout_ms = c->timeout_ms,
                             .idle_timeout_ms = c->timeout_ms};
  if (ct->streaming) o.on_body = on_body;
  mol_a2a_turn_set_data(t, ct);
  int rc = body ? mol_http_request_send(c->http, &o, on_done, ct, &ct->req) : MOL_ENOMEM;
  free(body);
  if (rc) {
    mol_a2a_sse_free(&ct->sse);
    free(ct);
    return rc;
  }
  mol_a2a_turn_working(t, NULL);
  return 0;
}

static void chat_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  chat_turn *ct = mol_a2a_turn_data(t);
  if (!ct || ct->canceled) return;
  ct->canceled = 1;
  if (ct->req) mol_http_request_cancel(ct->req); /* on_done then ends the turn canceled */
}

int mol_chat_executor_new(const mol_chat_opts *o, mol_a2a_executor *ex) {
  chat *c = calloc(1, sizeof(*c));
  if (!c || !o || !o->http) {
    free(c);
    return MOL_EINVAL;
  }
  char *base = dup_or(o->api_base, "HERMES_API_BASE", "http://127.0.0.1:8642/v1");
  char *key = dup_or(o->api_key, "API_SERVER_KEY", NULL);
  size_t bl = base ? strlen(base) : 0;
  while (bl && base[bl - 1] == '/') base[--bl] = '\0';
  c->http = o->http;
  c->url = malloc(bl + 32);
  if (c->url) snprintf(c->url, bl + 32, "%s/chat/completions", base ? base : "");
  if (key && *key) {
    c->auth = malloc(strlen(key) + 8);
    if (c->auth) sprintf(c->auth, "Bearer %s", key);
    mol_log_add_secret(key);
  }
  c->model = dup_or(o->model, NULL, "hermes-agent");
  c->system_prompt = o->system_prompt ? strdup(o->system_prompt) : NULL;
  c->timeout_ms = o->timeout_ms ? o->timeout_ms : 600000;
  free(base);
  free(key);
  ex->name = "chat-completions";
  ex->execute = chat_execute;
  ex->cancel = chat_cancel;
  ex->self = c;
  return c->url && c->model ? 0 : MOL_ENOMEM;
}

void mol_chat_executor_free(mol_a2a_executor *ex) {
  chat *c = ex->self;
  if (!c) return;
  free(c->url);
  free(c->auth);
  free(c->model);
  free(c->system_prompt);
  free(c);
  ex->self = NULL;
}
