/* inbound.c - poll-mode inbound: fetch_inbound with the since_id cursor (kept by cursor.c),
 * reply and notify.
 *
 * Differences from the Python SDK:
 *  - a 429 is retried through the ordinary GET policy, so the first response's Retry-After is
 *    honoured and a 410 arriving during the retries still resets the cursor; every attempt uses
 *    the same timeout. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "platform/platform_int.h"

/* ---- row parsing ------------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key) {
  const char *s = mol_json_str(o, key);
  return s ? s : "";
}

static mol_platform_source classify(const char *kind, const char *source_id) {
  if (!strcmp(kind, "canvas_user") || !strcmp(kind, "user")) return MOL_PLATFORM_SRC_CANVAS_USER;
  if (!strcmp(kind, "peer_agent")) return MOL_PLATFORM_SRC_PEER_AGENT;
  if (*source_id && strcmp(source_id, "user")) return MOL_PLATFORM_SRC_PEER_AGENT;
  if (!strcmp(source_id, "user")) return MOL_PLATFORM_SRC_CANVAS_USER;
  return MOL_PLATFORM_SRC_UNKNOWN;
}

/* The legacy activity shape (no `data` envelope) keeps the text in request_body's parts. */
static const char *legacy_text(json_t *row) {
  json_t *parts = mol_json_path(row, "request_body.params.message.parts");
  size_t i;
  json_t *p;
  json_array_foreach(parts, i, p) {
    const char *t = mol_json_str(p, "text");
    if (t) return t;
  }
  return "";
}

/* Normalises the id to a string inside the row (upstream does str(row.id)). */
static const char *row_id(json_t *row) {
  json_t *id = json_object_get(row, "id");
  if (json_is_integer(id)) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
    json_object_set_new(row, "id", json_string(buf));
  }
  return mol_json_str(row, "id");
}

int mol_platform__parse_activity_row(json_t *row, mol_platform_message *m, char **raw) {
  *raw = NULL;
  if (!json_is_object(row)) return MOL_EINVAL;
  if (!(*raw = mol_json_dump(row))) return MOL_ENOMEM;
  const char *id = row_id(row);
  if (!id || !*id) return MOL_EINVAL;
  json_t *data = json_object_get(row, "data");
  int legacy = !json_is_object(data);
  if (legacy) data = NULL;
  const char *kind = *jstr(data, "source") ? jstr(data, "source") : jstr(row, "source");
  const char *sid = *jstr(row, "source_id") ? jstr(row, "source_id") : jstr(data, "source_id");
  const char *text = *jstr(data, "text") ? jstr(data, "text") : jstr(data, "message");
  *m = (mol_platform_message){.activity_id = id, .source = classify(kind, sid), .source_id = sid,
                              .text = legacy ? legacy_text(row) : text,
                              .peer_name = jstr(data, "peer_name"),
                              .peer_role = jstr(data, "peer_role"),
                              .agent_card_url = jstr(data, "agent_card_url"), .raw_json = *raw};
  return 0;
}

/* ---- fetch_inbound ----------------------------------------------------------------------- */

typedef struct {
  mol_platform_message *msgs;
  char **raws;
  size_t n;
} inbound_op;

static void inbound_op_free(mol_platform_req *r) {
  inbound_op *op = r->op;
  if (!op) return;
  for (size_t i = 0; i < op->n; i++) free(op->raws[i]);
  free(op->raws);
  free(op->msgs);
}

static int fill_messages(mol_platform_req *r) {
  json_t *rows = json_is_array(r->json) ? r->json : mol_json_path(r->json, "items");
  size_t n = json_is_array(rows) ? json_array_size(rows) : 0; /* anything else: no rows */
  inbound_op *op = r->op = calloc(1, sizeof(*op));
  r->op_free = inbound_op_free;
  if (!op || !(op->msgs = calloc(n + 1, sizeof(*op->msgs))) ||
      !(op->raws = calloc(n + 1, sizeof(char *))))
    return MOL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char *raw;
    if (mol_platform__parse_activity_row(json_array_get(rows, i), &op->msgs[op->n], &raw)) {
      free(raw); /* not an object, or no id: skipped, as upstream */
      continue;
    }
    op->raws[op->n++] = raw;
  }
  /* Without since_id the platform answers newest first (upstream's legacy order); the
   * caller always gets oldest first, so the last message is the one to keep as cursor and
   * nothing is handled out of order or twice. */
  for (size_t i = 0; r->newest_first && i < op->n / 2; i++) {
    size_t j = op->n - 1 - i;
    mol_platform_message m = op->msgs[i];
    op->msgs[i] = op->msgs[j];
    op->msgs[j] = m;
    char *raw = op->raws[i];
    op->raws[i] = op->raws[j];
    op->raws[j] = raw;
  }
  r->res.messages = op->msgs;
  r->res.nmessages = op->n;
  return 0;
}

static void fetch_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (err == MOL_EHTTP && resp->status == 410) {
    r->res.cursor_lost = 1;
    mol_logi(MOL_PLATFORM__SCOPE,
             "activity cursor %s is gone (410); restarting from the newest rows",
             r->c->cursor ? r->c->cursor : "-");
    mol_platform__cursor_store(r->c, NULL);
  } else if (!err) {
    err = mol_platform__parse_body(r, resp);
    if (!err) err = fill_messages(r);
  }
  mol_platform__finish(r, err);
}

static int add_param(mol_buf *b, const char *name, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  if (!value || !*value) return 0; /* empty filters are never sent */
  int rc = mol_buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', name);
  for (const unsigned char *p = (const unsigned char *)value; !rc && *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~", *p)) {
      rc = mol_buf_append(b, p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      rc = mol_buf_append(b, e, 3);
    }
  }
  return rc;
}

static const char *since_of(const mol_platform_client *c, const mol_platform_fetch_opts *o) {
  return o && o->since_id ? o->since_id : (o && o->ignore_cursor ? NULL : c->cursor);
}

static char *activity_url(const mol_platform_client *c, const mol_platform_fetch_opts *o) {
  char limit[16];
  snprintf(limit, sizeof(limit), "%u", o && o->limit ? o->limit : 100);
  const char *since = since_of(c, o);
  mol_buf b = MOL_BUF_INIT;
  int rc = mol_buf_printf(&b, "%s/workspaces/%s/activity", c->base_url, c->ws_id);
  if (!rc) rc = add_param(&b, "type", o && o->type ? o->type : "a2a_receive");
  if (!rc) rc = add_param(&b, "limit", limit);
  if (!rc) rc = add_param(&b, "since_id", since);
  if (!rc) rc = add_param(&b, "peer_id", o ? o->peer_id : NULL);
  if (!rc) rc = add_param(&b, "before_ts", o ? o->before_ts : NULL);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

static int fetch_start(mol_platform_req *r, const void *o) {
  mol_platform_client *c = r->c;
  const char *since = since_of(c, o);
  r->newest_first = !since || !*since;
  return mol_platform__exchange(r, "GET", activity_url(c, o), NULL, 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH, c->inbound_timeout_ms,
                                fetch_done);
}

int mol_platform_fetch_inbound(mol_platform_client *c, const mol_platform_fetch_opts *o,
                               const mol_platform_call *call, mol_platform_cb cb, void *arg,
                               mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, fetch_start, o, out);
}

/* ---- reply and notify -------------------------------------------------------------------- */

static void post_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  mol_platform__finish(r, mol_platform__response_err(r, err, resp));
}

/* A notify, or a reply to a peer (message/send through the platform's A2A proxy). */
typedef struct {
  const char *peer_id; /* NULL: notify the canvas user */
  const char *text;
} post_args;

static char *notify_body(const char *text) {
  json_t *v = json_pack("{s:s}", "message", text);
  char *body = v ? mol_json_dump(v) : NULL;
  json_decref(v);
  return body;
}

static int post_start(mol_platform_req *r, const void *ctx) {
  const post_args *p = ctx;
  mol_platform_client *c = r->c;
  char *body = p->peer_id ? mol_platform__message_send_body(p->text, "agent",
                                                            NULL) : notify_body(p->text);
  if (!body) return MOL_ENOMEM;
  char *url = p->peer_id ? mol_platform__url(c, "/workspaces/%s/a2a", p->peer_id)
                         : mol_platform__url(c, "/workspaces/%s/notify", c->ws_id);
  unsigned flags = p->peer_id ? MOL_PLATFORM__H_SOURCE | MOL_PLATFORM__H_WS : 0;
  return mol_platform__exchange(r, "POST", url, body, strlen(body),
                                flags | MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                MOL_PLATFORM__H_JSON | MOL_PLATFORM__REAUTH, c->inbound_timeout_ms,
                                post_done);
}

int mol_platform_notify(mol_platform_client *c, const char *text, const mol_platform_call *call,
                        mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c || mol_str_is_blank(text)) return MOL_EINVAL;
  post_args p = {NULL, text};
  return mol_platform__call(c, call, cb, arg, post_start, &p, out);
}

int mol_platform_reply(mol_platform_client *c, const mol_platform_message *m, const char *text,
                       const mol_platform_call *call, mol_platform_cb cb, void *arg,
                       mol_platform_req **out) {
  if (!c || !m || mol_str_is_blank(text)) return MOL_EINVAL;
  if (m->source == MOL_PLATFORM_SRC_CANVAS_USER)
    return mol_platform_notify(c, text, call, cb, arg, out);
  if (m->source != MOL_PLATFORM_SRC_PEER_AGENT) {
    mol_logw(MOL_PLATFORM__SCOPE, "cannot auto-route a reply to activity %s: unknown source",
             m->activity_id ? m->activity_id : "-");
    return MOL_EINVAL;
  }
  /* a peer message with no source_id */
  if (!mol_platform__valid_id(m->source_id)) return MOL_EINVAL;
  post_args p = {m->source_id, text};
  return mol_platform__call(c, call, cb, arg, post_start, &p, out);
}
