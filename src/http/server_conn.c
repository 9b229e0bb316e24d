/* server_conn.c - the I/O-free HTTP/1.1 server core of one connection.
 *
 * Bytes go in through mol_http__h1_feed; llhttp parses them into a request object whose strings
 * live in per-request buffers that are recycled across requests (no allocation per request
 * on a keep-alive connection in the steady state). Each complete request is dispatched from
 * outside llhttp_execute (on_message_complete pauses the parser), so handlers may respond,
 * close the server or anything else without re-entering the parser. Response bytes are
 * collected in c->out in request order; the socket layer writes that buffer in one go.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "http/http.h"
#include "http/server_int.h"
#include "molecule.h"

#define SHRINK_ABOVE (64 * 1024) /* recycled buffers larger than this are released */

void mol_http__h1_limits_init(mol_h1_limits *lim, const mol_http_server_opts *o) {
  lim->max_header_bytes = o && o->max_header_bytes ? o->max_header_bytes : 16 * 1024;
  lim->max_body_bytes = o && o->max_body_bytes ? o->max_body_bytes : 1024 * 1024;
  lim->max_write_queue = o && o->max_write_queue ? o->max_write_queue : 8 * 1024 * 1024;
  lim->max_pipelined = o && o->max_pipelined ? o->max_pipelined : 16;
}

/* ---- request objects ------------------------------------------------------------------ */

static void buf_recycle(mol_buf *b) {
  if (b->cap > SHRINK_ABOVE) mol_buf_free(b);
  b->len = 0;
}

void mol_http__h1_req_free(mol_http_req *r) {
  mol_buf_free(&r->head);
  mol_buf_free(&r->body);
  mol_buf_free(&r->out);
  mol_buf_free(&r->rhdr);
  free(r->hdrs);
  free(r);
}

static mol_http_req *req_get(mol_h1 *c) {
  mol_http_req *r = c->pool;
  if (r) {
    c->pool = r->next;
    c->npool--;
  } else {
    r = calloc(1, sizeof(*r));
    if (!r) return NULL;
  }
  mol_buf hb = r->head, bb = r->body, ob = r->out, rb = r->rhdr;
  mol_h1_hdr *hdrs = r->hdrs;
  uint32_t cap = r->hdr_cap;
  memset(r, 0, offsetof(mol_http_req, peer));
  r->head = hb, r->body = bb, r->out = ob, r->rhdr = rb, r->hdrs = hdrs, r->hdr_cap = cap;
  r->conn = c;
  r->query_off = -1;
  return r;
}

static void req_put(mol_h1 *c, mol_http_req *r) {
  if (c->npool >= MOL_H1_POOL) {
    mol_http__h1_req_free(r);
    return;
  }
  buf_recycle(&r->head);
  buf_recycle(&r->body);
  buf_recycle(&r->out);
  buf_recycle(&r->rhdr);
  r->next = c->pool;
  c->pool = r;
  c->npool++;
}

/* ---- llhttp callbacks ------------------------------------------------------------------ */

static int cb_fail(llhttp_t *p, int status, const char *why) {
  mol_h1 *c = p->data;
  if (!c->err_status) c->err_status = status;
  llhttp_set_error_reason(p, why);
  return HPE_USER;
}

static int count_head(llhttp_t *p, size_t n) {
  mol_h1 *c = p->data;
  c->head_bytes += n;
  return c->head_bytes > c->lim->max_header_bytes ? cb_fail(p, 431, "header block too large")
                                                  : 0;
}

static int append(llhttp_t *p, mol_buf *b, const char *at, size_t n) {
  return mol_buf_append(b, at, n) ? cb_fail(p, 503, "out of memory") : 0;
}

static int on_message_begin(llhttp_t *p) {
  mol_h1 *c = p->data;
  c->cur = req_get(c);
  if (!c->cur) return cb_fail(p, 503, "out of memory");
  c->head_bytes = 0;
  c->msg_seq++;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  mol_h1 *c = p->data;
  if (c->cur->head.len + n > MOL_H1_MAX_URL) return cb_fail(p, 414, "target too long");
  int rc = count_head(p, n);
  return rc ? rc : append(p, &c->cur->head, at, n);
}

static int on_url_complete(llhttp_t *p) {
  mol_h1 *c = p->data;
  return append(p, &c->cur->head, "", 1);
}

static int grow_hdrs(llhttp_t *p, mol_http_req *r) {
  if (r->nhdrs >= MOL_H1_MAX_HEADERS) return cb_fail(p, 431, "too many headers");
  if (r->nhdrs < r->hdr_cap) return 0;
  uint32_t cap = r->hdr_cap ? r->hdr_cap * 2 : 16;
  mol_h1_hdr *h = realloc(r->hdrs, cap * sizeof(*h));
  if (!h) return cb_fail(p, 503, "out of memory");
  r->hdrs = h;
  r->hdr_cap = cap;
  return 0;
}

/* Chunked trailers arrive through the same callbacks after the head. They are counted
 * against the header limit but never stored: merging them into the headers the handler
 * trusts would let a client add fields after the body (RFC 9110 §6.5.1). */
static int in_trailer(llhttp_t *p, size_t n) {
  mol_http_req *r = ((mol_h1 *)p->data)->cur;
  return r->headers_done ? (count_head(p, n) ? HPE_USER : 1) : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  mol_h1 *c = p->data;
  mol_http_req *r = c->cur;
  int t = in_trailer(p, n + 4);
  if (t) return t == 1 ? 0 : t;
  int rc = count_head(p, r->in_field ? n : n + 4); /* ": " and CRLF */
  if (!rc && !r->in_field) {
    rc = grow_hdrs(p, r);
    r->hdrs[r->nhdrs].name = (uint32_t)r->head.len;
    r->in_field = 1;
  }
  return rc ? rc : append(p, &r->head, at, n);
}

/* RFC 9110 §5.6.2 tchar as a 256-bit set: this runs for every header of every request. */
static int is_token(const char *s, size_t n) {
  static const uint64_t tchar[4] = {0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull, 0, 0};
  if (!n) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (!(tchar[ch >> 6] >> (ch & 63) & 1)) return 0;
  }
  return 1;
}

static int on_header_field_complete(llhttp_t *p) {
  mol_http_req *r = ((mol_h1 *)p->data)->cur;
  if (r->headers_done) return 0;
  mol_h1_hdr *h = &r->hdrs[r->nhdrs];
  h->nlen = (uint32_t)(r->head.len - h->name);
  /* llhttp lets "Name :", "A B:" and ":" through; RFC 9112 §5.1 requires rejecting them. */
  if (!is_token(r->head.data + h->name, h->nlen))
    return cb_fail(p, 400, "invalid header name");
  r->in_field = 0;
  r->in_value = 0;
  return append(p, &r->head, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  mol_h1 *c = p->data;
  mol_http_req *r = c->cur;
  int t = in_trailer(p, n);
  if (t) return t == 1 ? 0 : t;
  uint64_t pos = c->fed + (uint64_t)(at - c->seg);
  if (!r->in_value) {
    r->hdrs[r->nhdrs].value = (uint32_t)r->head.len;
    r->in_value = 1;
  } else if (pos != r->span_end) {
    /* A gap inside one value means llhttp skipped a CRLF: obs-fold, refused (RFC 9112 §5.2). */
    return cb_fail(p, 400, "obsolete line folding");
  }
  r->span_end = pos + n;
  int rc = count_head(p, n);
  return rc ? rc : append(p, &r->head, at, n);
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t'; }

/* One Host at most, checked as it completes; a missing one is refused with the head. */
static int check_host(llhttp_t *p, mol_http_req *r, const mol_h1_hdr *h) {
  if (r->has_host) return cb_fail(p, 400, "more than one Host");
  if (!mol_http_valid_host(r->head.data + h->value, h->vlen))
    return cb_fail(p, 400, "invalid Host");
  r->has_host = 1;
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  mol_http_req *r = ((mol_h1 *)p->data)->cur;
  if (r->headers_done) return 0;
  mol_h1_hdr *h = &r->hdrs[r->nhdrs];
  if (!r->in_value) h->value = (uint32_t)r->head.len;
  while (r->head.len > h->value && is_ws(r->head.data[r->head.len - 1])) r->head.len--;
  h->vlen = (uint32_t)(r->head.len - h->value);
  if (h->nlen == 6 && strncasecmp(r->head.data + h->name, "expect", 6) == 0) r->expect = 1;
  if (h->nlen == 4 && strncasecmp(r->head.data + h->name, "host", 4) == 0) {
    int rc = check_host(p, r, h);
    if (rc) return rc;
  }
  r->nhdrs++;
  r->in_value = 0;
  return append(p, &r->head, "", 1);
}

/* Splits the target in place into path and query. Accepts origin-form, absolute-form and
 * "*" (for OPTIONS); anything else (authority-form, CONNECT) is refused. */
static int split_target(mol_http_req *r) {
  char *u = r->head.data;
  if (!u) return -1;
  size_t off = 0;
  if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
    char *slash = strchr(u + (u[4] == ':' ? 7 : 8), '/');
    if (!slash) return -1;
    off = (size_t)(slash - u);
  } else if (u[0] != '/' && !(u[0] == '*' && u[1] == '\0')) {
    return -1;
  }
  r->path_off = (uint32_t)off;
  char *q = strpbrk(u + off, "?#");
  if (q && *q == '?') {
    *q = '\0';
    r->query_off = (int32_t)(q + 1 - u);
    char *frag = strchr(q + 1, '#');
    if (frag) *frag = '\0';
  } else if (q) {
    *q = '\0';
  }
  return 0;
}

/* The 100 Continue goes out only when nothing is ahead of it; otherwise the client's own
 * expect timeout makes it send the body anyway. */
static int handle_expect(llhttp_t *p, mol_http_req *r) {
  mol_h1 *c = p->data;
  const char *v = mol_http_req_header(r, "expect");
  if (strcasecmp(v, "100-continue") != 0) return cb_fail(p, 417, "unsupported expectation");
  int body_follows = (p->flags & F_CHUNKED) || p->content_length > 0;
  if (!body_follows || r->http_minor == 0 || c->head || c->err_status) return 0;
  static const char k100[] = "HTTP/1.1 100 Continue\r\n\r\n";
  return append(p, &c->out, k100, sizeof(k100) - 1);
}

static int on_headers_complete(llhttp_t *p) {
  mol_h1 *c = p->data;
  mol_http_req *r = c->cur;
  if (p->http_major == 2) return cb_fail(p, 505, "HTTP/2 over HTTP/1 connection");
  if (p->http_major != 1) return cb_fail(p, 400, "bad version");
  r->http_minor = p->http_minor;
  /* RFC 9112 §3.2: HTTP/1.1 requires Host (HTTP/1.0 predates it). */
  if (r->http_minor >= 1 && !r->has_host) return cb_fail(p, 400, "missing Host");
  r->method = llhttp_method_name((llhttp_method_t)p->method);
  if (split_target(r)) return cb_fail(p, 400, "bad request target");
  r->is_head = p->method == HTTP_HEAD;
  r->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
  /* RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means closing after it. */
  if (r->http_minor == 0 && (p->flags & F_TRANSFER_ENCODING)) r->keep_alive = 0;
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->lim->max_body_bytes)
    return cb_fail(p, 413, "body too large");
  r->headers_done = 1;
  return r->expect ? handle_expect(p, r) : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  mol_http_req *r = ((mol_h1 *)p->data)->cur;
  if (r->body.len + n > ((mol_h1 *)p->data)->lim->max_body_bytes)
    return cb_fail(p, 413, "body too large");
  return append(p, &r->body, at, n);
}

/* Refuses an oversized chunk before its bytes arrive. */
static int on_chunk_header(llhttp_t *p) {
  mol_http_req *r = ((mol_h1 *)p->data)->cur;
  if (p->content_length > ((mol_h1 *)p->data)->lim->max_body_bytes - r->body.len)
    return cb_fail(p, 413, "body too large");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  (void)p;
  return HPE_PAUSED; /* dispatch outside llhttp_execute */
}

static const llhttp_settings_t settings = {
  .on_message_begin = on_message_begin,
  .on_url = on_url,
  .on_url_complete = on_url_complete,
  .on_header_field = on_header_field,
  .on_header_field_complete = on_header_field_complete,
  .on_header_value = on_header_value,
  .on_header_value_complete = on_header_value_complete,
  .on_headers_complete = on_headers_complete,
  .on_body = on_body,
  .on_chunk_header = on_chunk_header,
  .on_message_complete = on_message_complete,
};

/* ---- the queue of requests ------------------------------------------------------------- */

void mol_http__h1_init(mol_h1 *c, const mol_h1_limits *lim, const mol_h1_callbacks *cb, void *ctx) {
  memset(c, 0, sizeof(*c));
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  c->lim = lim;
  c->cb = cb;
  c->ctx = ctx;
  c->peer = "";
}

void mol_http__h1_notify(mol_h1 *c) {
  if (!c->in_feed && (c->out.len || c->done) && c->cb->on_output) c->cb->on_output(c->ctx);
}

static void drop_cur(mol_h1 *c) {
  if (!c->cur) return;
  req_put(c, c->cur);
  c->cur = NULL;
}

static void finish_conn(mol_h1 *c) {
  if (c->done) return;
  if (c->err_status) mol_http__h1_write_error(&c->out, c->err_status);
  c->done = 1;
  c->close_after = 1;
  drop_cur(c);
}

/* The new head's held-back bytes join out; a swap avoids the copy when out is empty. */
static void promote(mol_h1 *c, mol_http_req *r) {
  if (!r->out.len) return;
  if (!c->out.len) {
    mol_buf t = c->out;
    c->out = r->out;
    r->out = t;
  } else {
    mol_buf_append(&c->out, r->out.data, r->out.len);
  }
  r->out.len = 0;
}

static void advance(mol_h1 *c) {
  while (c->head && c->head->state == REQ_DONE) {
    mol_http_req *r = c->head;
    int last = !r->keep_alive;
    c->head = r->next;
    if (!c->head) c->tail = NULL;
    c->nqueued--;
    req_put(c, r);
    if (last) {
      finish_conn(c);
      return;
    }
    if (c->head) promote(c, c->head);
  }
  if (!c->head && c->close_after) finish_conn(c);
}

static void dispatch(mol_h1 *c) {
  mol_http_req *r = c->cur;
  c->cur = NULL;
  r->state = REQ_DISPATCHED;
  if (!r->keep_alive) c->close_after = 1;
  if (c->tail) c->tail->next = r;
  else c->head = r;
  c->tail = r;
  c->nqueued++;
  c->cb->on_request(r, c->ctx);
}

static void parse_error(mol_h1 *c, llhttp_errno_t e) {
  int status = c->err_status ? c->err_status : 400;
  c->err_status = status;
  mol_logd("http", "request refused with %d: %s (%s)", status, llhttp_errno_name(e),
           llhttp_get_error_reason(&c->parser));
  c->close_after = 1;
  drop_cur(c);
  advance(c);
}

static int accepting(const mol_h1 *c) { return !c->close_after && !c->dead; }

/* Response bytes the peer has not taken yet. Past max_write_queue no further request is
 * parsed (its bytes wait in pending), so a client that pipelines requests and reads no
 * answers holds a bounded backlog, not one answer per request it sent. */
static int backlogged(const mol_h1 *c) {
  size_t q = c->out.len;
  if (q <= c->lim->max_write_queue && c->cb->socket_queued) q += c->cb->socket_queued(c->ctx);
  return q > c->lim->max_write_queue;
}

int mol_http__h1_blocked(const mol_h1 *c) {
  return c->pending.len > 0 || c->nqueued >= c->lim->max_pipelined;
}

/* Returns how many bytes were consumed; stops early when the pipeline is full or too many
 * answered bytes wait for the peer. */
static size_t parse(mol_h1 *c, const char *data, size_t len) {
  size_t off = 0;
  while (off < len && accepting(c) && c->nqueued < c->lim->max_pipelined && !backlogged(c)) {
    c->seg = data + off;
    llhttp_errno_t e = llhttp_execute(&c->parser, data + off, len - off);
    size_t n = e == HPE_OK ? len - off : (size_t)(llhttp_get_error_pos(&c->parser) - c->seg);
    c->fed += n;
    off += n;
    if (e == HPE_OK) break;
    if (e == HPE_PAUSED_UPGRADE) {
      llhttp_resume_after_upgrade(&c->parser); /* upgrade requests close the connection */
      continue;
    }
    if (e != HPE_PAUSED) {
      parse_error(c, e);
      break;
    }
    llhttp_resume(&c->parser);
    dispatch(c);
  }
  return off;
}

void mol_http__h1_feed(mol_h1 *c, const char *data, size_t len) {
  if (!accepting(c)) return;
  if (c->pending.len) {
    mol_buf_append(&c->pending, data, len);
    mol_http__h1_resume(c);
    return;
  }
  c->in_feed++;
  size_t used = parse(c, data, len);
  if (used < len && accepting(c)) mol_buf_append(&c->pending, data + used, len - used);
  c->in_feed--;
}

void mol_http__h1_resume(mol_h1 *c) {
  if (!c->pending.len || c->in_feed) return;
  if (!accepting(c)) {
    mol_buf_reset(&c->pending);
    return;
  }
  c->in_feed++;
  size_t used = parse(c, c->pending.data, c->pending.len);
  mol_buf_consume(&c->pending, used);
  if (!accepting(c)) mol_buf_reset(&c->pending);
  c->in_feed--;
}

int mol_http__h1_phase(const mol_h1 *c) {
  if (c->done || c->dead) return MOL_H1_CLOSING;
  if (c->cur) return c->cur->headers_done ? MOL_H1_BODY : MOL_H1_HEAD;
  if (c->head || c->pending.len) return MOL_H1_BUSY;
  return MOL_H1_IDLE;
}

static int user_holds_any(const mol_h1 *c) {
  for (mol_http_req *r = c->head; r; r = r->next)
    if (r->state == REQ_DISPATCHED || r->state == REQ_STREAMING) return 1;
  return 0;
}

int mol_http__h1_eof(mol_h1 *c) {
  if (user_holds_any(c)) return 1;
  c->close_after = 1;
  drop_cur(c);
  mol_buf_reset(&c->pending);
  advance(c);
  return 0;
}

void mol_http__h1_fail(mol_h1 *c, int status) {
  if (c->done || c->dead) return;
  if (!c->err_status) c->err_status = status;
  c->close_after = 1;
  drop_cur(c);
  mol_buf_reset(&c->pending);
  advance(c);
  mol_http__h1_notify(c);
}

void mol_http__h1_shutdown(mol_h1 *c) {
  if (c->done || c->dead) return;
  c->close_after = 1;
  drop_cur(c);
  mol_buf_reset(&c->pending);
  advance(c);
}

static void orphan(mol_h1 *c, mol_http_req *r) {
  r->conn = NULL;
  r->next = NULL;
  size_t n = strlen(c->peer);
  if (n >= sizeof(r->peer)) n = sizeof(r->peer) - 1;
  memcpy(r->peer, c->peer, n);
  r->peer[n] = '\0';
  mol_buf_free(&r->out);
  if (r->on_abort) r->on_abort(r, r->abort_arg); /* may finish (and free) r */
}

void mol_http__h1_abort(mol_h1 *c) {
  if (c->dead) return;
  c->dead = 1;
  c->close_after = 1;
  drop_cur(c);
  mol_http_req *r = c->head;
  c->head = c->tail = NULL;
  c->nqueued = 0;
  while (r) {
    mol_http_req *next = r->next;
    if (r->state == REQ_DISPATCHED || r->state == REQ_STREAMING) orphan(c, r);
    else mol_http__h1_req_free(r);
    r = next;
  }
}

void mol_http__h1_free(mol_h1 *c) {
  mol_http__h1_abort(c);
  while (c->pool) {
    mol_http_req *r = c->pool;
    c->pool = r->next;
    mol_http__h1_req_free(r);
  }
  c->npool = 0;
  mol_buf_free(&c->out);
  mol_buf_free(&c->pending);
}

void mol_http__h1_drained(mol_h1 *c) {
  mol_http_req *r = c->head;
  if (r && r->state == REQ_STREAMING && r->on_drain) r->on_drain(r, r->drain_arg);
}

mol_buf *mol_http__h1_req_sink(mol_http_req *r) {
  return r == r->conn->head ? &r->conn->out : &r->out;
}

void mol_http__h1_req_finish(mol_http_req *r) {
  mol_h1 *c = r->conn;
  r->state = REQ_DONE;
  if (r != c->head) return;
  advance(c);
  mol_http__h1_notify(c);
}

/* ---- request accessors ------------------------------------------------------------------ */

const char *mol_http_req_method(const mol_http_req *r) { return r->method; }
const char *mol_http_req_path(const mol_http_req *r) { return r->head.data + r->path_off; }

const char *mol_http_req_query(const mol_http_req *r) {
  return r->query_off < 0 ? NULL : r->head.data + r->query_off;
}

const char *mol_http_req_header(const mol_http_req *r, const char *name) {
  for (uint32_t i = 0; i < r->nhdrs; i++)
    if (strcasecmp(r->head.data + r->hdrs[i].name, name) == 0)
      return r->head.data + r->hdrs[i].value;
  return NULL;
}

size_t mol_http_req_header_count(const mol_http_req *r) { return r->nhdrs; }

int mol_http_req_header_at(const mol_http_req *r, size_t i, const char **name,
                           const char **value) {
  if (i >= r->nhdrs) return MOL_ERANGE;
  *name = r->head.data + r->hdrs[i].name;
  *value = r->head.data + r->hdrs[i].value;
  return 0;
}

const char *mol_http_req_body(const mol_http_req *r, size_t *len) {
  if (len) *len = r->body.len;
  return r->body.data ? r->body.data : "";
}

const char *mol_http_req_peer(const mol_http_req *r) { return r->conn ? r->conn->peer : r->peer; }
void mol_http_req_set_data(mol_http_req *r, void *data) { r->data = data; }
void *mol_http_req_data(const mol_http_req *r) { return r->data; }
