/* exec_chat.c - the chat-completions bridge executor: the conversation, one model request per
 * round, reading its reply (plain or streamed) and ending the turn. The tool calls a reply asks
 * for are exec_chat_tools.c's. */
#include "runtime/exec_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/model.h"
#include "base/json.h"
#include "base/log.h"
#include "molecule.h"
#include "runtime/exec_chat_int.h"

#define DEFAULT_TOOL_ROUNDS 10
#define DEFAULT_TOOL_CALLS 50

static char *dup_or(const char *v, const char *env, const char *dflt) {
  const char *e = env ? getenv(env) : NULL;
  const char *s = v ? v : (e && *e ? e : dflt);
  return s ? strdup(s) : NULL;
}

/* ---- the conversation --------------------------------------------------------------------- */

/* The conversation is kept as the JSON text of its messages, comma-separated: each round adds
 * a few messages and a request is that text between a head and a tail, so nothing already said
 * is built or serialised again. */
void mol_chat__msg_text(mol_buf *b, const char *role, const char *content, size_t len) {
  size_t mark = b->len;
  /* Roles are ours (plain words): no escaping, and no printf on every message of every turn. */
  if ((b->len && mol_buf_append(b, ",", 1)) || mol_buf_append_str(b, "{\"role\":\"") ||
      mol_buf_append_str(b, role) || mol_buf_append_str(b, "\",\"content\":") ||
      mol_json_write_string(b, content, len) || mol_buf_append(b, "}", 1))
    mol_chat__msgs_truncate(b, mark);
}

void mol_chat__msgs_truncate(mol_buf *b, size_t mark) {
  b->len = mark; /* out of memory: the conversation stays valid JSON, short of one message */
  if (b->data) b->data[mark] = '\0';
}

static void add_history(mol_buf *msgs, const json_t *history) {
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
      mol_buf_append(&text, t, json_string_length(json_object_get(p, "text")));
    }
    mol_chat__msg_text(msgs, mapped, text.data ? text.data : "", text.len);
    mol_buf_free(&text);
  }
}

static const json_t *history_of(mol_a2a_turn *t) {
  const json_t *h = json_object_get(mol_a2a_turn_message_metadata(t), "history");
  if (json_is_array(h)) return h;
  h = json_object_get(mol_a2a_turn_request_metadata(t), "history");
  return json_is_array(h) ? h : NULL;
}

static void first_messages(chat *c, mol_a2a_turn *t, mol_buf *msgs) {
  if (c->system_prompt && *c->system_prompt)
    mol_chat__msg_text(msgs, "system", c->system_prompt, strlen(c->system_prompt));
  const json_t *h = history_of(t);
  const char *ctx = mol_a2a_turn_context_id(t);
  if (!h && c->history && ctx && *ctx) h = c->history(ctx, c->history_arg);
  if (h) add_history(msgs, h);
  const char *text = mol_a2a_turn_text(t);
  mol_chat__msg_text(msgs, "user", text, strlen(text));
}

/* {"model","messages","stream"}, plus the tools while the loop may still call them. */
static char *request_body(mol_chat__turn *ct) {
  mol_buf b = MOL_BUF_INIT;
  size_t model_len = strlen(ct->c->model);
  /* One allocation: the conversation and the tools are most of it. */
  size_t tools_len = ct->tools ? ct->tools->len : 0;
  int err = mol_buf_reserve(&b, ct->msgs.len + tools_len + model_len * 6 + 96);
  err |= mol_buf_append_str(&b, "{\"model\":");
  err |= mol_json_write_string(&b, ct->c->model, model_len);
  err |= mol_buf_append_str(&b, ",\"messages\":[");
  err |= mol_buf_append(&b, ct->msgs.data ? ct->msgs.data : "", ct->msgs.len);
  err |= mol_buf_append_str(&b, ct->streaming ? "],\"stream\":true" : "],\"stream\":false");
  if (ct->tools && !ct->last_call) {
    err |= mol_buf_append_str(&b, ",\"tools\":");
    err |= mol_buf_append(&b, ct->tools->text, ct->tools->len);
    err |= mol_buf_append_str(&b, ",\"tool_choice\":\"auto\"");
  }
  err |= mol_buf_append(&b, "}", 1);
  if (err) { /* a short body is never sent */
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

/* ---- the end of a turn -------------------------------------------------------------------- */

static void tools_text_release(mol_chat__tools_text *t) {
  if (t && --t->refs == 0) free(t);
}

static void turn_free(mol_chat__turn *ct) {
  mol_chat__calls_clear(ct);
  mol_buf_free(&ct->msgs);
  tools_text_release(ct->tools);
  mol_a2a_sse_free(&ct->sse);
  mol_buf_free(&ct->text);
  free(ct->stream_error);
  free(ct);
}

/* The one ending of a turn: canceled when asked to stop, else the reply (or a failed task). */
static void end_turn(mol_chat__turn *ct, int failed, const char *text) {
  mol_a2a_turn *t = ct->turn;
  if (ct->canceled) mol_a2a_turn_canceled(t);
  else if (failed) mol_a2a_turn_fail(t, text);
  else mol_a2a_turn_reply_text(t, text ? text : "");
  turn_free(ct);
}

static void report(chat *c, int ok, const char *why) {
  if (c->on_upstream) c->on_upstream(ok, why, c->upstream_arg);
}

static void end_unreachable(mol_chat__turn *ct, int err) {
  if (!ct->canceled) report(ct->c, 0, mol_strerror(err));
  mol_buf b = MOL_BUF_INIT;
  mol_buf_printf(&b, "[hermes-agent unreachable] %s", mol_strerror(err));
  end_turn(ct, 0, b.data ? b.data : "[hermes-agent unreachable]");
  mol_buf_free(&b);
}

static void end_error(mol_chat__turn *ct, int status, const char *body, size_t len) {
  mol_buf b = MOL_BUF_INIT;
  mol_buf_printf(&b, "[hermes-agent error %d] %.*s", status, (int)(len > 500 ? 500 : len),
                 body ? body : "");
  if (status >= 500 && !ct->canceled) report(ct->c, 0, b.data ? b.data : "hermes-agent error");
  end_turn(ct, 0, b.data ? b.data : "[hermes-agent error]");
  mol_buf_free(&b);
}

/* The reply has no tool calls (or may not have any): it is the answer. */
static void end_answer(mol_chat__turn *ct, const char *content) {
  report(ct->c, 1, NULL);
  if (ct->streaming && ct->chunks) mol_a2a_turn_artifact(ct->turn, NULL, "reply", "", 1, 1);
  if (ct->last_call && !*content) {
    mol_buf b = MOL_BUF_INIT;
    mol_buf_printf(&b, "no final answer after %u rounds of tool calls (the limit)", ct->rounds);
    end_turn(ct, 1, b.data ? b.data : "no final answer");
    mol_buf_free(&b);
    return;
  }
  end_turn(ct, 0, content);
}

/* ---- the reply ---------------------------------------------------------------------------- */

static void set_stream_error(mol_chat__turn *ct, const char *why) {
  free(ct->stream_error);
  ct->stream_error = strdup(why);
}

static int tools_allowed(const mol_chat__turn *ct) {
  return ct->tools && !ct->last_call;
}

static int on_sse(const mol_a2a_sse_event *ev, void *arg) {
  mol_chat__turn *ct = arg;
  if (strcmp(ev->data, "[DONE]") == 0) return 0;
  json_t *v = json_loadb(ev->data, ev->data_len, 0, NULL);
  json_t *err = json_object_get(v, "error");
  if (err) {
    const char *m = json_string_value(json_object_get(err, "message"));
    set_stream_error(ct, m ? m : "stream error");
  }
  json_t *delta = json_object_get(json_array_get(json_object_get(v, "choices"), 0), "delta");
  const char *piece = json_string_value(json_object_get(delta, "content"));
  if (piece && *piece) {
    mol_buf_append_str(&ct->text, piece);
    mol_a2a_turn_artifact(ct->turn, NULL, "reply", piece, ct->chunks++ > 0, 0);
  }
  json_t *fragments = json_object_get(delta, "tool_calls");
  const char *why;
  if (tools_allowed(ct) && json_is_array(fragments) &&
      mol_chat__calls_feed(ct, fragments, &why) < 0)
    set_stream_error(ct, why);
  json_decref(v);
  return 0;
}

static int on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)r;
  mol_chat__turn *ct = arg;
  mol_a2a_sse_feed(&ct->sse, data, len);
  return 0;
}

static void on_streamed(mol_chat__turn *ct) {
  if (ct->stream_error) {
    char *e = ct->stream_error;
    ct->stream_error = NULL;
    end_error(ct, 200, e, strlen(e));
    free(e);
  } else if (ct->ncalls) {
    mol_chat__tools_run(ct, ct->text.len ? ct->text.data : NULL);
  } else {
    end_answer(ct, ct->text.data ? ct->text.data : "");
  }
}

static void on_plain(mol_chat__turn *ct, const mol_http_response *resp) {
  mol_chat__reply rep;
  int rc = mol_chat__reply_read(ct, tools_allowed(ct), resp->body, resp->body_len, &rep);
  if (rc == 0) end_error(ct, resp->status, resp->body, resp->body_len);
  else if (rc < 0) end_error(ct, resp->status, rep.why, strlen(rep.why));
  else if (ct->ncalls)
    mol_chat__tools_run(ct, rep.content);
  else end_answer(ct, rep.content && *rep.content ? rep.content : rep.reasoning ? rep.reasoning : "");
  mol_chat__reply_free(&rep);
}

static void on_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  mol_chat__turn *ct = arg;
  ct->req = NULL;
  if (ct->canceled) end_turn(ct, 0, NULL);
  else if (err) end_unreachable(ct, err);
  else if (resp->status < 200 || resp->status > 299) end_error(ct, resp->status, resp->body, resp->body_len);
  else if (ct->streaming) on_streamed(ct);
  else on_plain(ct, resp);
}

/* ---- one round: a model request ----------------------------------------------------------- */

static void reply_reset(mol_chat__turn *ct) {
  mol_a2a_sse_free(&ct->sse);
  mol_a2a_sse_init(&ct->sse, 0, on_sse, ct);
  mol_buf_reset(&ct->text);
  free(ct->stream_error);
  ct->stream_error = NULL;
}

static int post(mol_chat__turn *ct) {
  chat *c = ct->c;
  char *body = request_body(ct);
  if (!body) return MOL_ENOMEM;
  mol_http_header hdrs[3] = {{"Content-Type", "application/json"},
                             {"Accept", ct->streaming ? "text/event-stream" : "application/json"}};
  size_t n = 2;
  if (c->auth) hdrs[n++] = (mol_http_header){"Authorization", c->auth};
  mol_http_request_opts o = {.method = "POST", .url = c->url, .headers = hdrs, .nheaders = n,
                             .body = body, .body_len = strlen(body),
                             .total_timeout_ms = c->timeout_ms,
                             .idle_timeout_ms = c->timeout_ms};
  if (ct->streaming) o.on_body = on_body;
  reply_reset(ct);
  int rc = mol_http_request_send(c->http, &o, on_done, ct, &ct->req);
  free(body);
  return rc;
}

/* Past the cap the model is asked once more, without tools, for the answer it has. */
static void ask_for_answer(mol_chat__turn *ct) {
  mol_buf b = MOL_BUF_INIT;
  mol_buf_printf(&b, "You have used the limit of %u rounds of tool calls for this request. "
                     "No more tools can be called: answer now with what you have.", ct->rounds);
  ct->last_call = 1;
  mol_chat__msg_text(&ct->msgs, "user", b.data ? b.data : "Answer now.", b.data ? b.len : 11);
  mol_buf_free(&b);
}

void mol_chat__next_round(mol_chat__turn *ct) {
  if (ct->canceled) {
    end_turn(ct, 0, NULL);
    return;
  }
  if (ct->rounds >= ct->c->max_tool_rounds) ask_for_answer(ct);
  int rc = post(ct);
  if (rc) end_unreachable(ct, rc);
}

/* ---- executor ----------------------------------------------------------------------------- */

/* The registry's tools as OpenAI "tools" JSON text: written again only when the registry has
 * changed since (packing and dumping the core set's schemas was most of a turn's CPU). Returns
 * a new reference, NULL when out of memory. */
static mol_chat__tools_text *tools_text(chat *c) {
  unsigned long changes = mol_tools_changes(c->tools);
  if (!c->tools_text || c->tools_changes != changes) {
    json_t *list = mol_tools_openai(c->tools);
    char *s = list ? mol_json_dump(list) : NULL;
    json_decref(list);
    size_t len = s ? strlen(s) : 0;
    mol_chat__tools_text *t = s ? malloc(sizeof *t + len + 1) : NULL;
    if (t) {
      t->refs = 1;
      t->len = len;
      memcpy(t->text, s, len + 1);
    }
    free(s);
    if (!t) return NULL;
    tools_text_release(c->tools_text);
    c->tools_text = t;
    c->tools_changes = changes;
  }
  c->tools_text->refs++;
  return c->tools_text;
}

static int chat_execute(void *self, mol_a2a_turn *t) {
  chat *c = self;
  if (!*mol_a2a_turn_text(t)) {
    mol_a2a_turn_reply_text(t, "(empty prompt — nothing to do)");
    return 0;
  }
  mol_chat__turn *ct = calloc(1, sizeof(*ct));
  if (!ct) return MOL_ENOMEM;
  ct->c = c;
  ct->turn = t;
  ct->streaming = mol_a2a_turn_streaming(t);
  mol_a2a_sse_init(&ct->sse, 0, on_sse, ct);
  first_messages(c, t, &ct->msgs);
  int rc = ct->msgs.data ? 0 : MOL_ENOMEM;
  if (!rc && c->tools && mol_tools_count(c->tools) && !(ct->tools = tools_text(c)))
    rc = MOL_ENOMEM;
  mol_a2a_turn_set_data(t, ct);
  if (!rc) rc = post(ct);
  if (rc) {
    mol_a2a_turn_set_data(t, NULL);
    turn_free(ct);
    return rc;
  }
  mol_a2a_turn_working(t, NULL);
  return 0;
}

static void chat_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  mol_chat__turn *ct = mol_a2a_turn_data(t);
  if (!ct || ct->canceled) return;
  ct->canceled = 1;
  /* Whatever is in flight ends with a callback that then ends the turn canceled. */
  if (ct->req) mol_http_request_cancel(ct->req);
  mol_chat__tools_cancel(ct);
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
  c->tools = o->tools;
  c->max_tool_rounds = o->max_tool_rounds ? o->max_tool_rounds : DEFAULT_TOOL_ROUNDS;
  c->max_tool_calls = o->max_tool_calls ? o->max_tool_calls : DEFAULT_TOOL_CALLS;
  c->tool_timeout_ms = o->tool_timeout_ms;
  c->on_upstream = o->on_upstream;
  c->upstream_arg = o->upstream_arg;
  c->history = o->history;
  c->history_arg = o->history_arg;
  c->models_url = malloc(bl + 16);
  if (c->models_url) snprintf(c->models_url, bl + 16, "%s/models", base ? base : "");
  free(base);
  free(key);
  ex->name = "chat-completions";
  ex->execute = chat_execute;
  ex->cancel = chat_cancel;
  ex->self = c;
  return c->url && c->model && c->models_url ? 0 : MOL_ENOMEM;
}

int mol_chat_executor_set_system_prompt(mol_a2a_executor *ex, const char *text) {
  chat *c = ex->self;
  char *copy = text && *text ? strdup(text) : NULL;
  if (text && *text && !copy) return MOL_ENOMEM;
  free(c->system_prompt);
  c->system_prompt = copy;
  return 0;
}

mol_tools *mol_chat_executor_tools(const mol_a2a_executor *ex) {
  const chat *c = ex->self;
  return c->tools;
}

void mol_chat_executor_set_tools(mol_a2a_executor *ex, mol_tools *tools) {
  chat *c = ex->self;
  if (!c->tools) c->tools = tools;
}

void mol_chat_executor_free(mol_a2a_executor *ex) {
  chat *c = ex->self;
  if (!c) return;
  free(c->url);
  free(c->models_url);
  free(c->auth);
  free(c->model);
  free(c->system_prompt);
  tools_text_release(c->tools_text); /* turns still running hold their own reference */
  free(c);
  ex->self = NULL;
}

const char *mol_chat_models_url(const mol_a2a_executor *ex) {
  return ((const chat *)ex->self)->models_url;
}
const char *mol_chat_auth(const mol_a2a_executor *ex) { return ((const chat *)ex->self)->auth; }

void mol_chat_executor_set_care(mol_a2a_executor *ex, mol_upstream_fn on_upstream,
                                void *upstream_arg, mol_history_fn history, void *history_arg) {
  chat *c = ex->self;
  c->on_upstream = on_upstream;
  c->upstream_arg = upstream_arg;
  c->history = history;
  c->history_arg = history_arg;
}
