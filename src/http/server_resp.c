/* server_resp.c - response serialisation: complete responses, chunked streams and SSE.
 *
 * Heads are written with one reservation and plain copies (no printf) because this is the
 * hottest path of a keep-alive benchmark. A response goes straight into the connection's
 * output buffer when it is next in line, otherwise into the request's own buffer until the
 * responses ahead of it are out (see promote() in server_conn.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "http/http.h"
#include "http/server_int.h"
#include "molecule.h"

/* One formatted Date per second per thread (one loop per thread). */
static __thread struct {
  time_t sec;
  char text[32];
} date_cache;

static const char *http_date(void) {
  time_t now = time(NULL);
  if (now != date_cache.sec || !date_cache.text[0]) {
    mol_http_date((int64_t)now, date_cache.text);
    date_cache.sec = now;
  }
  return date_cache.text;
}

static void put(mol_buf *b, const char *s, size_t n) {
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

#define PUT_LIT(b, s) put((b), (s), sizeof(s) - 1)

static void put_str(mol_buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_dec(mol_buf *b, size_t v) {
  char tmp[24];
  int i = sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_hex(mol_buf *b, size_t v) {
  char tmp[24];
  int i = sizeof(tmp);
  do {
    tmp[--i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_status_line(mol_buf *b, int status) {
  char code[4] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
                  (char)('0' + status % 10), ' '};
  PUT_LIT(b, "HTTP/1.1 ");
  put(b, code, 4);
  put_str(b, mol_http_reason(status));
  PUT_LIT(b, "\r\nDate: ");
  put(b, http_date(), 29);
  PUT_LIT(b, "\r\n");
}

int mol_http__h1_write_error(mol_buf *b, int status) {
  if (mol_buf_reserve(b, 160)) return MOL_ENOMEM;
  put_status_line(b, status);
  PUT_LIT(b, "Content-Length: 0\r\nConnection: close\r\n\r\n");
  b->data[b->len] = '\0';
  return 0;
}

static int no_body_status(int status) { return status == 204 || status == 304; }

/* Whether the connection ends after r's response, which must then say so. */
static int closes_after(const mol_http_req *r) {
  const mol_h1 *c = r->conn;
  return !r->keep_alive || (c->close_after && !c->err_status && r == c->tail && !c->cur);
}

/* Appends the status line and headers; reserves `extra` more bytes for the caller. */
static int write_head(mol_http_req *r, int status, const char *ctype, int mode, size_t clen,
                      size_t extra) {
  mol_buf *b = mol_http__h1_req_sink(r);
  size_t ctlen = ctype ? strlen(ctype) : 0;
  if (r->conn && r->conn->cb->on_status) r->conn->cb->on_status(r, status, r->conn->ctx);
  if (ctype && !mol_http_valid_value(ctype, ctlen)) return MOL_EINVAL;
  if (mode == BODY_CLOSE) r->keep_alive = 0;
  if (mol_buf_reserve(b, 256 + ctlen + r->rhdr.len + extra)) return MOL_ENOMEM;
  put_status_line(b, status);
  if (ctype) {
    PUT_LIT(b, "Content-Type: ");
    put(b, ctype, ctlen);
    PUT_LIT(b, "\r\n");
  }
  if (mode == BODY_LENGTH) {
    PUT_LIT(b, "Content-Length: ");
    put_dec(b, clen);
    PUT_LIT(b, "\r\n");
  } else if (mode == BODY_CHUNKED) {
    PUT_LIT(b, "Transfer-Encoding: chunked\r\n");
  }
  if (closes_after(r)) PUT_LIT(b, "Connection: close\r\n");
  else if (r->http_minor == 0) PUT_LIT(b, "Connection: keep-alive\r\n");
  if (r->rhdr.len) put(b, r->rhdr.data, r->rhdr.len);
  PUT_LIT(b, "\r\n");
  b->data[b->len] = '\0';
  r->mode = (uint8_t)mode;
  return 0;
}

/* An orphaned request (client gone) is only released by the finishing calls. */
static int release_orphan(mol_http_req *r) {
  mol_http__h1_req_free(r);
  return 0;
}

/* Framing is the server's: a second Content-Length or Transfer-Encoding from the application
 * would make the response ambiguous to the client (response splitting). */
static int framing_header(const char *name) {
  return strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
         strcasecmp(name, "Connection") == 0 || strcasecmp(name, "Date") == 0;
}

int mol_http_resp_header(mol_http_req *r, const char *name, const char *value) {
  if (!r || !name || !value) return MOL_EINVAL;
  size_t nl = strlen(name), vl = strlen(value);
  if (!mol_http_valid_name(name, nl) || !mol_http_valid_value(value, vl)) return MOL_EINVAL;
  if (framing_header(name)) return MOL_EINVAL;
  if (r->state != REQ_DISPATCHED) return MOL_EINVAL;
  if (!r->conn) return 0;
  if (mol_buf_reserve(&r->rhdr, nl + vl + 4)) return MOL_ENOMEM;
  put(&r->rhdr, name, nl);
  PUT_LIT(&r->rhdr, ": ");
  put(&r->rhdr, value, vl);
  PUT_LIT(&r->rhdr, "\r\n");
  return 0;
}

int mol_http_respond(mol_http_req *r, int status, const char *content_type, const void *body,
                     size_t len) {
  if (!r || r->state != REQ_DISPATCHED) return MOL_EINVAL;
  if (!r->conn) return release_orphan(r);
  if (status < 200 || status > 999 || (len && !body)) return MOL_EINVAL;
  int mode = no_body_status(status) ? BODY_NONE : BODY_LENGTH;
  int send_body = mode == BODY_LENGTH && !r->is_head;
  int rc = write_head(r, status, content_type, mode, len, send_body ? len : 0);
  if (rc) return rc;
  if (send_body && len) put(mol_http__h1_req_sink(r), body, len);
  mol_http__h1_req_finish(r);
  return 0;
}

int mol_http_resp_start(mol_http_req *r, int status, const char *content_type) {
  if (!r || r->state != REQ_DISPATCHED) return MOL_EINVAL;
  if (status < 200 || status > 999) return MOL_EINVAL;
  if (!r->conn) {
    r->state = REQ_STREAMING;
    return 0;
  }
  int mode = no_body_status(status) ? BODY_NONE : r->http_minor ? BODY_CHUNKED : BODY_CLOSE;
  int rc = write_head(r, status, content_type, mode, 0, 0);
  if (rc) return rc;
  r->state = REQ_STREAMING;
  mol_http__h1_notify(r->conn);
  return 0;
}

size_t mol_http_req_queued(const mol_http_req *r) {
  const mol_h1 *c = r->conn;
  if (!c) return 0;
  if (r != c->head) return r->out.len;
  return c->out.len + (c->cb->socket_queued ? c->cb->socket_queued(c->ctx) : 0);
}

/* Checks that a body piece of n bytes may be queued now. */
static int may_write(mol_http_req *r, size_t n) {
  if (r->state != REQ_STREAMING) return MOL_EINVAL;
  if (!r->conn) return MOL_EPIPE;
  if (mol_http_req_queued(r) + n > r->conn->lim->max_write_queue) return MOL_ETOOBIG;
  return 0;
}

static int silent(const mol_http_req *r) { return r->is_head || r->mode == BODY_NONE; }

int mol_http_resp_write(mol_http_req *r, const void *data, size_t len) {
  if (!r) return MOL_EINVAL;
  int rc = may_write(r, len);
  if (rc || len == 0 || silent(r)) return rc;
  mol_buf *b = mol_http__h1_req_sink(r);
  if (mol_buf_reserve(b, len + 24)) return MOL_ENOMEM;
  if (r->mode == BODY_CHUNKED) {
    put_hex(b, len);
    PUT_LIT(b, "\r\n");
  }
  put(b, data, len);
  if (r->mode == BODY_CHUNKED) PUT_LIT(b, "\r\n");
  b->data[b->len] = '\0';
  mol_http__h1_notify(r->conn);
  return 0;
}

int mol_http_resp_end(mol_http_req *r) {
  if (!r || r->state != REQ_STREAMING) return MOL_EINVAL;
  if (!r->conn) return release_orphan(r);
  if (r->mode == BODY_CHUNKED && !r->is_head) {
    mol_buf *b = mol_http__h1_req_sink(r);
    if (mol_buf_append(b, "0\r\n\r\n", 5)) return MOL_ENOMEM;
  }
  mol_http__h1_req_finish(r);
  return 0;
}

int mol_http_sse_start(mol_http_req *r) {
  if (!r || r->state != REQ_DISPATCHED) return MOL_EINVAL;
  int rc = mol_http_resp_header(r, "Cache-Control", "no-cache");
  return rc ? rc : mol_http_resp_start(r, 200, "text/event-stream");
}

/* The next line break (CR or LF) in data[from, len), or len. memchr finds each a word or a
 * vector at a time: an event is a few hundred bytes of JSON, which has no raw line break at
 * all, and a loop over its bytes cost more than the rest of the framing. */
static size_t next_break(const char *data, size_t from, size_t len) {
  if (from >= len) return len;
  const char *lf = memchr(data + from, '\n', len - from);
  size_t end = lf ? (size_t)(lf - data) : len;
  const char *cr = memchr(data + from, '\r', end - from);
  return cr ? (size_t)(cr - data) : end;
}

/* Where the line after the break at i begins (CRLF is one break). */
static size_t after_break(const char *data, size_t i, size_t len) {
  return data[i] == '\r' && i + 1 < len && data[i + 1] == '\n' ? i + 2 : i + 1;
}

/* Size of the event text; each line of data (split at CR, LF or CRLF) becomes "data: ...\n". */
static size_t sse_size(const char *event, const char *data, size_t len) {
  size_t n = (event ? strlen(event) + 8 : 0) + 6 + 2 + len; /* "data: " ... "\n\n" */
  for (size_t i = next_break(data, 0, len); i < len; i = next_break(data, i, len)) {
    size_t next = after_break(data, i, len);
    n += 7 - (next - i); /* the break's byte(s) become "\ndata: " */
    i = next;
  }
  return n;
}

static void put_sse(mol_buf *b, const char *event, const char *data, size_t len) {
  if (event) {
    PUT_LIT(b, "event: ");
    put_str(b, event);
    PUT_LIT(b, "\n");
  }
  PUT_LIT(b, "data: ");
  size_t from = 0;
  for (size_t i = next_break(data, 0, len); i < len; i = next_break(data, from, len)) {
    put(b, data + from, i - from);
    PUT_LIT(b, "\ndata: ");
    from = after_break(data, i, len);
  }
  if (len > from) put(b, data + from, len - from);
  PUT_LIT(b, "\n\n");
}

int mol_http_sse_send(mol_http_req *r, const char *event, const char *data, size_t len) {
  if (!r || (len && !data)) return MOL_EINVAL;
  if (event && (!mol_http_valid_value(event, strlen(event)) || strchr(event, '\n')))
    return MOL_EINVAL;
  size_t n = sse_size(event, data, len);
  int rc = may_write(r, n);
  if (rc || silent(r)) return rc;
  mol_buf *b = mol_http__h1_req_sink(r);
  if (mol_buf_reserve(b, n + 24)) return MOL_ENOMEM;
  if (r->mode == BODY_CHUNKED) {
    put_hex(b, n);
    PUT_LIT(b, "\r\n");
  }
  put_sse(b, event, data, len);
  if (r->mode == BODY_CHUNKED) PUT_LIT(b, "\r\n");
  b->data[b->len] = '\0';
  mol_http__h1_notify(r->conn);
  return 0;
}

void mol_http_req_on_drain(mol_http_req *r, mol_http_req_cb cb, void *arg) {
  r->on_drain = cb;
  r->drain_arg = arg;
}

void mol_http_req_on_abort(mol_http_req *r, mol_http_req_cb cb, void *arg) {
  r->on_abort = cb;
  r->abort_arg = arg;
}
