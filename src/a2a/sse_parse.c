/* sse_parse.c - incremental event-stream parser (see sse_parse.h for the rules). */
#include "a2a/sse_parse.h"

#include <string.h>

#include "molecule.h"

#define DEFAULT_MAX_EVENT (4u * 1024u * 1024u)

static const unsigned char k_bom[3] = {0xEF, 0xBB, 0xBF};

void mol_a2a_sse_init(mol_a2a_sse_parser *p, size_t max_event, mol_a2a_sse_cb cb, void *arg) {
  memset(p, 0, sizeof(*p));
  p->cb = cb;
  p->arg = arg;
  p->max_event = max_event ? max_event : DEFAULT_MAX_EVENT;
  p->retry_ms = -1;
}

void mol_a2a_sse_free(mol_a2a_sse_parser *p) {
  mol_buf_free(&p->line);
  mol_buf_free(&p->data);
  mol_buf_free(&p->event);
  mol_buf_free(&p->id);
}

static int over_bound(const mol_a2a_sse_parser *p, size_t extra) {
  return p->line.len + p->data.len + extra > p->max_event;
}

/* ---- fields ---------------------------------------------------------------------------- */

static int field_is(const char *f, size_t n, const char *name) {
  return n == strlen(name) && memcmp(f, name, n) == 0;
}

static int set_buf(mol_buf *b, const char *v, size_t n) {
  mol_buf_reset(b);
  return mol_buf_append(b, v, n) == 0 && mol_buf_reserve(b, 0) == 0 ? 0 : MOL_ENOMEM;
}

static void set_retry(mol_a2a_sse_parser *p, const char *v, size_t n) {
  int64_t ms = 0;
  if (n == 0) return;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return;
    if (ms < INT64_MAX / 10 - 10) ms = ms * 10 + (v[i] - '0');
  }
  p->retry_ms = ms;
}

static int process_field(mol_a2a_sse_parser *p, const char *f, size_t fn, const char *v,
                         size_t vn) {
  if (field_is(f, fn, "event")) return set_buf(&p->event, v, vn);
  if (field_is(f, fn, "data")) {
    /* The line is being moved into data: count the event, not both copies. */
    if (p->data.len + vn + 1 > p->max_event) return MOL_ETOOBIG;
    if (mol_buf_append(&p->data, v, vn) != 0 || mol_buf_append(&p->data, "\n", 1) != 0)
      return MOL_ENOMEM;
    return 0;
  }
  if (field_is(f, fn, "id")) return memchr(v, '\0', vn) ? 0 : set_buf(&p->id, v, vn);
  if (field_is(f, fn, "retry")) set_retry(p, v, vn);
  return 0; /* unknown fields are ignored */
}

/* ---- lines and events ------------------------------------------------------------------ */

static int dispatch(mol_a2a_sse_parser *p) {
  if (p->data.len == 0) { /* no data: nothing to dispatch, but the event type resets */
    mol_buf_reset(&p->event);
    return 0;
  }
  p->data.len--; /* the '\n' after the last data line */
  p->data.data[p->data.len] = '\0';
  mol_a2a_sse_event ev = {
    .event = p->event.len ? p->event.data : "message",
    .data = p->data.data,
    .data_len = p->data.len,
    .id = p->id.len ? p->id.data : "",
    .retry_ms = p->retry_ms,
  };
  int rc = p->cb ? p->cb(&ev, p->arg) : 0;
  mol_buf_reset(&p->data);
  mol_buf_reset(&p->event);
  return rc;
}

static int process_line(mol_a2a_sse_parser *p) {
  const char *line = p->line.data;
  size_t n = p->line.len;
  int rc = 0;
  if (n == 0) {
    rc = dispatch(p);
  } else if (line[0] != ':') { /* ':' starts a comment */
    const char *colon = memchr(line, ':', n);
    size_t fn = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vn = n - fn - (colon ? 1 : 0);
    if (vn && *v == ' ') {
      v++;
      vn--;
    }
    rc = process_field(p, line, fn, v, vn);
  }
  mol_buf_reset(&p->line);
  return rc;
}

/* Consumes a leading UTF-8 BOM, which may arrive split across chunks. Returns the number of
 * input bytes used; bytes that started like a BOM but were not one go back into the line. */
static size_t skip_bom(mol_a2a_sse_parser *p, const char *data, size_t len) {
  size_t i = 0;
  while (p->bom_state < 3 && i < len) {
    if ((unsigned char)data[i] == k_bom[p->bom_state]) {
      p->bom_state++;
      i++;
      continue;
    }
    if (p->bom_state > 0) mol_buf_append(&p->line, k_bom, (size_t)p->bom_state);
    p->bom_state = 3;
  }
  return i;
}

static size_t find_eol(const char *data, size_t from, size_t len) {
  for (size_t j = from; j < len; j++)
    if (data[j] == '\n' || data[j] == '\r') return j;
  return len;
}

static int feed_lines(mol_a2a_sse_parser *p, const char *data, size_t i, size_t len) {
  while (i < len) {
    if (p->after_cr) {
      p->after_cr = 0;
      if (data[i] == '\n') { /* the LF of a CRLF */
        i++;
        continue;
      }
    }
    size_t j = find_eol(data, i, len);
    if (over_bound(p, j - i)) return MOL_ETOOBIG;
    if (mol_buf_append(&p->line, data + i, j - i) != 0) return MOL_ENOMEM;
    if (j == len) break;
    p->after_cr = data[j] == '\r';
    i = j + 1;
    int rc = process_line(p);
    if (rc != 0) return rc;
  }
  return 0;
}

int mol_a2a_sse_feed(mol_a2a_sse_parser *p, const char *data, size_t len) {
  if (p->failed) return p->failed;
  size_t i = skip_bom(p, data, len);
  int rc = feed_lines(p, data, i, len);
  if (rc != 0) p->failed = rc;
  return rc;
}
