/* http_transport.c - Streamable HTTP (see http_transport.h): the checks every request passes,
 * sessions by Mcp-Session-Id, and one exchange per POST that waits for its answer.
 *
 * The endpoint lives while anything holds it: its owner until mol_mcp_http_close, each open
 * session (a session's calls answer their POSTs before it closes), and the ticker, which sends
 * SSE keep-alives and closes idle sessions. */
#include "mcp/http_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "base/holds.h"
#include "base/log.h"
#include "molecule.h"

#define SCOPE "mcp"
#define DEFAULT_MAX_SESSIONS 1000
#define DEFAULT_IDLE_MS (30u * 60u * 1000u)
#define DEFAULT_KEEPALIVE_MS 15000
#define SESSION_ID_BYTES 16

typedef struct exchange exchange;

typedef struct http_session {
  struct http_session *next, *prev;
  mol_mcp_http *m;
  mol_mcp_session *s;
  char id[SESSION_ID_BYTES * 2 + 1];
  uint64_t last_used;
  unsigned exchanges;            /* POSTs waiting for an answer from it */
  int listed;                    /* in m->sessions (routable) */
} http_session;

/* One POST waiting for its answer. */
struct exchange {
  exchange *next, *prev;         /* m->streams while an SSE response is open */
  mol_mcp_http *m;
  http_session *hs;
  mol_http_req *req;
  int sse, in_feed, answered;
  char *early;                   /* an answer given inside the feed */
  size_t early_len;
};

struct mol_mcp_http {
  uv_loop_t *loop;
  mol_http_server *http;
  mol_mcp_http_opts o; /* strings below owned */
  char *path, *allowed_origins, *name, *title, *instructions;
  http_session *sessions;        /* most recently used first */
  unsigned n_sessions;
  exchange *streams;
  mol_holds holds;
  uv_timer_t ticker;
  void (*on_closed)(void *arg);
  void *closed_arg;
  int closing;
};

/* ---- responses -------------------------------------------------------------------------------- */

static void respond_error(mol_http_req *r, int status, int code, const char *message) {
  char body[384];
  int n = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,"
                   "\"message\":\"%s\"}}", code, message);
  mol_http_respond(r, status, "application/json", body, (size_t)n);
}

/* ---- checks every request passes ------------------------------------------------------------ */

static int loopback_host(const char *h, size_t n) {
  if (n == 9 && strncasecmp(h, "localhost", 9) == 0) return 1;
  if (n == 5 && strncmp(h, "[::1]", 5) == 0) return 1;
  return n >= 4 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n;
}

/* The host of an origin's "host[:port]", brackets of an IPv6 literal included. */
static size_t host_len(const char *host) {
  if (host[0] != '[') return strcspn(host, ":/");
  const char *end = strchr(host, ']');
  return end ? (size_t)(end - host) + 1 : strlen(host);
}

/* An origin is "scheme://host[:port]". Loopback ones are always allowed (a page served by the
 * machine itself is as trusted as a local client); others only when listed. */
static int origin_allowed(const mol_mcp_http *m, const char *origin) {
  const char *host = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                     : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                               : NULL;
  if (!host) return 0; /* "null" (sandboxed pages, file://) included */
  if (loopback_host(host, host_len(host))) return 1;
  size_t olen = strlen(origin);
  for (const char *p = m->allowed_origins; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    if (len == olen && strncasecmp(p, origin, len) == 0) return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

static int accepts(const char *accept, const char *type) {
  return !accept || strcasestr(accept, type) || strstr(accept, "*/*");
}

/* 0 when the request may go on; else it has been answered. */
static int check_request(mol_mcp_http *m, mol_http_req *r) {
  const char *origin = mol_http_req_header(r, "Origin");
  if (origin && !origin_allowed(m, origin)) {
    mol_logw(SCOPE, "%s: refused a request from origin %s", m->path, origin);
    respond_error(r, 403, -32000, "Forbidden: this origin may not use the MCP endpoint");
    return -1;
  }
  if (!m->o.authorize(mol_http_req_header(r, "Authorization"), m->o.auth_arg)) {
    mol_http_resp_header(r, "WWW-Authenticate", "Bearer");
    respond_error(r, 401, -32001, "Unauthorized: send Authorization: Bearer <workspace token>");
    return -1;
  }
  const char *version = mol_http_req_header(r, "MCP-Protocol-Version");
  if (version && !mol_mcp_version_supported(version)) {
    respond_error(r, 400, -32600, "Bad Request: unsupported MCP-Protocol-Version");
    return -1;
  }
  return 0;
}

/* ---- sessions --------------------------------------------------------------------------------- */

static void unlist(mol_mcp_http *m, http_session *hs) {
  if (!hs->listed) return;
  hs->listed = 0;
  if (hs->prev) hs->prev->next = hs->next;
  else m->sessions = hs->next;
  if (hs->next) hs->next->prev = hs->prev;
  hs->next = hs->prev = NULL;
  m->n_sessions--;
}

static void list_first(mol_mcp_http *m, http_session *hs) {
  hs->listed = 1;
  hs->prev = NULL;
  hs->next = m->sessions;
  if (m->sessions) m->sessions->prev = hs;
  m->sessions = hs;
  m->n_sessions++;
}

static void on_session_closed(void *arg) {
  http_session *hs = arg;
  mol_mcp_http *m = hs->m;
  free(hs);
  mol_holds_drop(&m->holds);
}

/* Ends a session: no longer routable, its calls canceled (each POST still answered). */
static void session_end(mol_mcp_http *m, http_session *hs) {
  unlist(m, hs);
  mol_mcp_session_close(hs->s, 1, on_session_closed, hs);
}

static http_session *session_find(mol_mcp_http *m, const char *id) {
  for (http_session *hs = m->sessions; hs; hs = hs->next)
    if (strcmp(hs->id, id) == 0) return hs;
  return NULL;
}

static int session_idle(const http_session *hs) {
  return hs->exchanges == 0 && mol_mcp_session_inflight(hs->s) == 0;
}

/* Room for one more session: closes the least recently used idle one when at the bound. */
static int make_room(mol_mcp_http *m) {
  if (m->n_sessions < m->o.max_sessions) return 0;
  http_session *victim = NULL;
  for (http_session *hs = m->sessions; hs; hs = hs->next)
    if (session_idle(hs)) victim = hs; /* the list is most recent first: keep the last one */
  if (!victim) return -1;
  mol_logi(SCOPE, "%s: %u sessions: closing the least recently used idle one", m->path,
           m->n_sessions);
  session_end(m, victim);
  return 0;
}

static void on_answer(void *ctx, const char *json, size_t len, void *arg);

static http_session *session_new(mol_mcp_http *m) {
  http_session *hs = calloc(1, sizeof *hs);
  if (!hs) return NULL;
  hs->m = m;
  mol_mcp_session_opts so = m->o.session;
  so.name = m->name;
  so.title = m->title;
  so.instructions = m->instructions;
  if (mol_random_hex(hs->id, SESSION_ID_BYTES) < 0 ||
      mol_mcp_session_new(&so, on_answer, hs, &hs->s) < 0) {
    free(hs);
    return NULL;
  }
  mol_holds_take(&m->holds);
  return hs;
}

/* ---- exchanges -------------------------------------------------------------------------------- */

static void stream_unlink(mol_mcp_http *m, exchange *e) {
  if (e->prev) e->prev->next = e->next;
  else if (m->streams == e) m->streams = e->next;
  if (e->next) e->next->prev = e->prev;
  e->next = e->prev = NULL;
}

static void exchange_free(exchange *e) {
  if (e->hs) {
    e->hs->exchanges--;
    e->hs->last_used = uv_now(e->m->loop);
  }
  free(e->early);
  free(e);
}

/* An answer the stream cannot take (past the server's write bound): the client still gets an
 * answer for its id, an error saying why, rather than a stream that ends with nothing. */
static void send_too_big(exchange *e, const char *json, size_t len, int err) {
  json_t *a = json_loadb(json, len, 0, NULL);
  json_t *id = json_object_get(a, "id");
  json_t *msg = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                          id ? id : json_null(), "error", "code", -32603, "message",
                          "Internal error: the answer is too large for the stream");
  char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  mol_loge(SCOPE, "%s: an answer of %zu bytes could not be streamed: %s", e->m->path, len,
           mol_strerror(err));
  if (text) mol_http_sse_send(e->req, "message", text, strlen(text));
  free(text);
  json_decref(msg);
  json_decref(a);
}

/* The answer goes out now: as the SSE stream's one event, or as the response. */
static void deliver(exchange *e, const char *json, size_t len) {
  if (e->sse) {
    stream_unlink(e->m, e);
    int rc = json ? mol_http_sse_send(e->req, "message", json, len) : 0;
    if (rc == MOL_ETOOBIG || rc == MOL_ENOMEM) send_too_big(e, json, len, rc);
    mol_http_resp_end(e->req);
  } else if (json) {
    mol_http_respond(e->req, 200, "application/json", json, len);
  } else {
    mol_http_respond(e->req, 202, NULL, NULL, 0); /* canceled: nothing to say */
  }
  exchange_free(e);
}

static void on_answer(void *ctx, const char *json, size_t len, void *arg) {
  (void)arg;
  exchange *e = ctx;
  e->answered = 1;
  if (!e->in_feed) {
    deliver(e, json, len);
  } else if (json && (e->early = malloc(len + 1))) {
    memcpy(e->early, json, len + 1);
    e->early_len = len;
  }
}

static void on_aborted(mol_http_req *r, void *arg) {
  (void)r;
  exchange *e = arg;
  mol_logd(SCOPE, "%s: a client went away while its call runs; its answer will be dropped",
           e->m->path);
}

/* ---- POST --------------------------------------------------------------------------------- */

static int is_initialize(json_t *msg) {
  const char *method = json_string_value(json_object_get(msg, "method"));
  return method && strcmp(method, "initialize") == 0 && json_object_get(msg, "id");
}

/* The session a message goes to; NULL when the request has been answered. */
static http_session *route(mol_mcp_http *m, mol_http_req *r, json_t *msg) {
  const char *sid = mol_http_req_header(r, "Mcp-Session-Id");
  if (sid) {
    http_session *hs = session_find(m, sid);
    if (!hs) respond_error(r, 404, -32001, "Not Found: no such session (initialize again)");
    return hs;
  }
  if (!is_initialize(msg)) {
    respond_error(r, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
    return NULL;
  }
  if (make_room(m) < 0) {
    respond_error(r, 503, -32000, "Service Unavailable: too many sessions are busy");
    return NULL;
  }
  http_session *hs = session_new(m);
  if (!hs) respond_error(r, 500, -32603, "Internal error: out of memory");
  return hs;
}

static void answer_now(mol_mcp_http *m, exchange *e, http_session *hs, int fresh,
                       const mol_mcp_feed_info *info) {
  mol_http_req *r = e->req;
  if (fresh) { /* initialize: the session exists only if it succeeded */
    if (mol_mcp_session_version(hs->s)) {
      list_first(m, hs);
      mol_http_resp_header(r, "Mcp-Session-Id", hs->id);
      mol_logi(SCOPE, "%s: session %.8s... opened (%s)", m->path, hs->id,
               mol_mcp_session_version(hs->s));
    } else {
      e->hs = NULL;
      mol_mcp_session_close(hs->s, 1, on_session_closed, hs);
    }
  }
  if (!info->answer) mol_http_respond(r, 202, NULL, NULL, 0);
  else if (!e->early) respond_error(r, 503, -32603, "Internal error: the message was not served");
  else mol_http_respond(r, info->malformed ? 400 : 200, "application/json", e->early,
                        e->early_len);
  exchange_free(e);
}

/* The answer comes later: open the SSE stream now when the client takes one. */
static void answer_later(mol_mcp_http *m, exchange *e) {
  mol_http_req_on_abort(e->req, on_aborted, e);
  const char *accept = mol_http_req_header(e->req, "Accept");
  if (!accept || !strcasestr(accept, "text/event-stream")) return; /* JSON when it ends */
  if (mol_http_sse_start(e->req) < 0) return; /* answered as JSON then */
  e->sse = 1;
  e->next = m->streams;
  if (m->streams) m->streams->prev = e;
  m->streams = e;
}

static void on_post(mol_mcp_http *m, mol_http_req *r) {
  const char *ctype = mol_http_req_header(r, "Content-Type");
  const char *accept = mol_http_req_header(r, "Accept");
  if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
    respond_error(r, 415, -32000, "Unsupported Media Type: send application/json");
    return;
  }
  if (!accepts(accept, "application/json") && !accepts(accept, "text/event-stream")) {
    respond_error(r, 406, -32000, "Not Acceptable: accept application/json or "
                  "text/event-stream");
    return;
  }
  size_t len;
  const char *body = mol_http_req_body(r, &len);
  json_error_t jerr;
  json_t *msg = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
  if (!msg) {
    respond_error(r, 400, -32700, "Parse error: the body is not JSON");
    return;
  }
  http_session *hs = route(m, r, msg);
  int fresh = hs && !hs->listed;
  exchange *e = hs ? calloc(1, sizeof *e) : NULL;
  if (hs && !e) respond_error(r, 500, -32603, "Internal error: out of memory");
  if (!e) {
    if (fresh) mol_mcp_session_close(hs->s, 1, on_session_closed, hs);
    json_decref(msg);
    return;
  }
  e->m = m;
  e->hs = hs;
  e->req = r;
  hs->exchanges++;
  hs->last_used = uv_now(m->loop);
  if (hs->listed) { /* most recently used first */
    unlist(m, hs);
    list_first(m, hs);
  }
  mol_mcp_feed_info info;
  e->in_feed = 1;
  int rc = mol_mcp_session_feed_json(hs->s, msg, e, &info);
  e->in_feed = 0;
  json_decref(msg);
  if (rc < 0) {
    info.answer = 1;
    info.malformed = 0;
    e->answered = 1;
  }
  if (!info.answer || e->answered) answer_now(m, e, hs, fresh, &info);
  else answer_later(m, e);
}

/* ---- DELETE, dispatch --------------------------------------------------------------------- */

static void on_delete(mol_mcp_http *m, mol_http_req *r) {
  const char *sid = mol_http_req_header(r, "Mcp-Session-Id");
  http_session *hs = sid ? session_find(m, sid) : NULL;
  if (!sid) respond_error(r, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
  else if (!hs) respond_error(r, 404, -32001, "Not Found: no such session");
  else {
    mol_logi(SCOPE, "%s: session %.8s... ended by the client", m->path, hs->id);
    session_end(m, hs);
    mol_http_respond(r, 204, NULL, NULL, 0);
  }
}

static void on_request(mol_http_req *r, void *arg) {
  mol_mcp_http *m = arg;
  if (check_request(m, r)) return;
  const char *method = mol_http_req_method(r);
  if (strcmp(method, "POST") == 0) {
    on_post(m, r);
  } else if (strcmp(method, "DELETE") == 0) {
    on_delete(m, r);
  } else {
    mol_http_resp_header(r, "Allow", "POST, DELETE");
    respond_error(r, 405, -32000, "Method Not Allowed: this server offers no stream on GET");
  }
}

void mol_mcp_http_handle(mol_mcp_http *m, mol_http_req *r) { on_request(r, m); }

/* ---- the ticker: keep-alives, idle sessions -------------------------------------------------- */

static void on_tick(uv_timer_t *t) {
  mol_mcp_http *m = t->data;
  static const char comment[] = ": keep-alive\n\n";
  for (exchange *e = m->streams; e; e = e->next)
    mol_http_resp_write(e->req, comment, sizeof comment - 1); /* a gone client: ignored */
  uint64_t now = uv_now(m->loop);
  http_session *hs = m->sessions, *next;
  for (; hs; hs = next) {
    next = hs->next;
    if (session_idle(hs) && now - hs->last_used >= m->o.session_idle_ms) {
      mol_logi(SCOPE, "%s: session %.8s... closed after %u ms idle", m->path, hs->id,
               m->o.session_idle_ms);
      session_end(m, hs);
    }
  }
}

/* ---- mount and close ---------------------------------------------------------------------- */

static void http_free(void *data) {
  mol_mcp_http *m = data;
  void (*cb)(void *) = m->on_closed;
  void *arg = m->closed_arg;
  free(m->path);
  free(m->allowed_origins);
  free(m->name);
  free(m->title);
  free(m->instructions);
  free(m);
  if (cb) cb(arg);
}

static char *dup_opt(const char *s, int *bad) {
  char *d = s ? strdup(s) : NULL;
  if (s && !d) *bad = 1;
  return d;
}

int mol_mcp_http_mount(uv_loop_t *loop, mol_http_server *http, const mol_mcp_http_opts *o,
                       mol_mcp_http **out) {
  if (!loop || !http || !o || !o->session.tools || !o->path || o->path[0] != '/' ||
      !o->authorize)
    return MOL_EINVAL;
  mol_mcp_http *m = calloc(1, sizeof *m);
  if (!m) return MOL_ENOMEM;
  int bad = 0;
  m->loop = loop;
  m->http = http;
  m->o = *o;
  m->path = dup_opt(o->path, &bad);
  m->allowed_origins = dup_opt(o->allowed_origins, &bad);
  m->name = dup_opt(o->session.name, &bad);
  m->title = dup_opt(o->session.title, &bad);
  m->instructions = dup_opt(o->session.instructions, &bad);
  if (!m->o.max_sessions) m->o.max_sessions = DEFAULT_MAX_SESSIONS;
  if (!m->o.session_idle_ms) m->o.session_idle_ms = DEFAULT_IDLE_MS;
  if (!m->o.keepalive_ms) m->o.keepalive_ms = DEFAULT_KEEPALIVE_MS;
  uv_timer_init(loop, &m->ticker);
  m->ticker.data = m;
  mol_holds_init(&m->holds, (uv_handle_t *)&m->ticker, http_free, m);
  int rc = bad ? MOL_ENOMEM
           : o->unrouted ? 0 : mol_http_server_route(http, NULL, m->path, 0, on_request, m);
  if (rc < 0) {
    mol_http_server_unroute(http, m);
    mol_holds_drop(&m->holds);
    return rc;
  }
  uv_timer_start(&m->ticker, on_tick, m->o.keepalive_ms, m->o.keepalive_ms);
  uv_unref((uv_handle_t *)&m->ticker);
  *out = m;
  return 0;
}

void mol_mcp_http_close(mol_mcp_http *m, void (*cb)(void *arg), void *arg) {
  if (!m || m->closing) return;
  m->closing = 1;
  m->on_closed = cb;
  m->closed_arg = arg;
  mol_http_server_unroute(m->http, m);
  uv_timer_stop(&m->ticker);
  while (m->sessions) session_end(m, m->sessions);
  mol_holds_drop(&m->holds); /* the owner's */
}
