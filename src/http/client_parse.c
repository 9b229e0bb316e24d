/* client_parse.c - I/O-free HTTP/1.1 response parser; see client_parse.h. */
#include "http/client_parse.h"

#include <string.h>

#include "molecule.h"

static mol_resp_parser *from(llhttp_t *h) { return (mol_resp_parser *)h->data; }

static int fail(mol_resp_parser *p, int err) {
  if (!p->err) p->err = err;
  return -1;
}

static int count_head(mol_resp_parser *p, size_t n) {
  p->head_bytes += n;
  return p->head_bytes > MOL_RESP_MAX_HEAD_BYTES ? MOL_ETOOBIG : 0;
}

/* A field is complete only when the next name (or the end of the head) starts, because llhttp
 * may hand a name or a value over in several pieces. The head's fields go into one buffer,
 * copied into the caller's list in one block once the head is complete (no allocation per
 * field). Trailers are dropped here. */
static int commit_field(mol_resp_parser *p) {
  if (!p->in_value) return 0;
  p->in_value = 0;
  if (p->head_done) return 0;
  if (p->nfields >= MOL_RESP_MAX_HEADERS) return MOL_ETOOBIG;
  p->nfields++;
  return mol_buf_append(&p->fields, "", 1);
}

static int on_field(llhttp_t *h, const char *at, size_t n) {
  mol_resp_parser *p = from(h);
  int rc = commit_field(p);
  if (!rc) rc = count_head(p, n);
  if (!rc && !p->head_done) rc = mol_buf_append(&p->fields, at, n);
  return rc ? fail(p, rc) : 0;
}

static int on_value(llhttp_t *h, const char *at, size_t n) {
  mol_resp_parser *p = from(h);
  int rc = count_head(p, n);
  /* The pairs are split at NULs: a NUL inside a value would shift every field after it. */
  if (!rc && memchr(at, 0, n)) rc = MOL_EBADRESP;
  if (!rc && !p->head_done && !p->in_value) rc = mol_buf_append(&p->fields, "", 1);
  if (!rc && !p->head_done) rc = mol_buf_append(&p->fields, at, n);
  p->in_value = 1;
  return rc ? fail(p, rc) : 0;
}

static int on_status(llhttp_t *h, const char *at, size_t n) {
  (void)at;
  mol_resp_parser *p = from(h);
  int rc = count_head(p, n);
  return rc ? fail(p, rc) : 0;
}

static int is_interim(int status) { return status >= 100 && status < 200 && status != 101; }

static int on_headers_complete(llhttp_t *h) {
  mol_resp_parser *p = from(h);
  int rc = commit_field(p);
  if (rc) return fail(p, rc);
  p->status = h->status_code;
  /* llhttp lets "HTTP/1.1  00" through; a status must have three digits (RFC 9110 §15). */
  if (p->status < 100 || p->status > 999) return fail(p, MOL_EBADRESP);
  if (is_interim(p->status)) { /* no body; llhttp goes on to the next head */
    mol_buf_reset(&p->fields);
    p->nfields = 0;
    return 0;
  }
  p->head_done = 1;
  rc = mol_http_headers_set_packed(p->headers, p->fields.data ? p->fields.data : "",
                                   p->fields.len, p->nfields);
  if (rc) return fail(p, rc);
  if (p->ev->on_head) {
    rc = p->ev->on_head(p->ctx, p->status, p->headers);
    if (rc) return fail(p, rc < 0 ? rc : MOL_ECANCELED);
  }
  /* 1 = "this message has no body": the answer to HEAD, 204 and 304 carry only a head
   * whatever Content-Length says (RFC 9110 §6.4.1); llhttp would otherwise wait for it. */
  return p->head_request || p->status == 204 || p->status == 304 ? 1 : 0;
}

static int on_body(llhttp_t *h, const char *at, size_t n) {
  mol_resp_parser *p = from(h);
  /* llhttp flushes an open span at the end of every execute, even an empty one. */
  if (!p->ev->on_body || n == 0) return 0;
  int rc = p->ev->on_body(p->ctx, at, n);
  if (rc == MOL_RESP_PAUSE) return HPE_PAUSED;
  return rc ? fail(p, rc < 0 ? rc : MOL_ECANCELED) : 0;
}

static int on_message_complete(llhttp_t *h) {
  mol_resp_parser *p = from(h);
  if (is_interim(p->status)) {
    mol_http_headers_clear(p->headers);
    p->status = 0;
    return 0;
  }
  /* Must be read here: llhttp clears its flags right after this callback. */
  p->keep_alive = llhttp_should_keep_alive(h) ? 1 : 0;
  p->done = 1;
  /* Pause so that execute stops exactly at the end of this response. */
  return HPE_PAUSED;
}

void mol_http__resp_init(mol_resp_parser *p, const mol_resp_events *ev, void *ctx) {
  memset(p, 0, sizeof(*p));
  llhttp_settings_init(&p->settings);
  p->settings.on_status = on_status;
  p->settings.on_header_field = on_field;
  p->settings.on_header_value = on_value;
  p->settings.on_headers_complete = on_headers_complete;
  p->settings.on_body = on_body;
  p->settings.on_message_complete = on_message_complete;
  p->ev = ev;
  p->ctx = ctx;
}

void mol_http__resp_reset(mol_resp_parser *p, mol_http_headers *headers, int head) {
  llhttp_init(&p->http, HTTP_RESPONSE, &p->settings);
  p->http.data = p;
  p->headers = headers;
  mol_buf_reset(&p->fields);
  p->nfields = 0;
  p->head_bytes = 0;
  p->status = 0;
  p->err = 0;
  p->in_value = p->head_done = p->done = p->keep_alive = p->started = 0;
  p->head_request = head ? 1 : 0;
}

static size_t pos_of(const mol_resp_parser *p, const char *data, size_t len) {
  const char *pos = llhttp_get_error_pos(&p->http);
  if (!pos || pos < data || pos > data + len) return len;
  return (size_t)(pos - data);
}

int mol_http__resp_feed(mol_resp_parser *p, const char *data, size_t len, size_t *consumed) {
  *consumed = 0;
  if (p->done) return MOL_RESP_DONE;
  if (p->err) return p->err;
  if (len) p->started = 1;
  llhttp_errno_t e = llhttp_execute(&p->http, data, len);
  if (e == HPE_OK) {
    *consumed = len;
    return MOL_RESP_MORE;
  }
  *consumed = pos_of(p, data, len);
  if (e == HPE_PAUSED) {
    if (p->done) return MOL_RESP_DONE;
    llhttp_resume(&p->http); /* a body pause: the next feed continues from here */
    return MOL_RESP_PAUSE;
  }
  if (e == HPE_PAUSED_UPGRADE) { /* 101: what follows is another protocol */
    p->done = 1;
    p->keep_alive = 0;
    return MOL_RESP_DONE;
  }
  if (!p->err) p->err = MOL_EBADRESP;
  return p->err;
}

int mol_http__resp_finish(mol_resp_parser *p) {
  if (p->done) return MOL_RESP_DONE;
  if (p->err) return p->err;
  if (p->started) llhttp_finish(&p->http);
  if (p->done) {
    p->keep_alive = 0;
    return MOL_RESP_DONE;
  }
  if (!p->err) p->err = MOL_ECONNRESET; /* cut short: the parser stays failed */
  return p->err;
}

void mol_http__resp_free(mol_resp_parser *p) {
  mol_buf_free(&p->fields);
}
