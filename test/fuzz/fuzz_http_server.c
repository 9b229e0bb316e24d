/* libFuzzer target: the I/O-free HTTP/1.1 server core (server_conn.c + server_resp.c).
 *
 * The first byte picks how the input is cut into reads and how the "application" answers
 * (at once, later in reverse order, streamed, SSE), so the fuzzer explores pipelining,
 * held-back input and every response path as well as the parser. Invariants are checked with
 * abort(): a dispatched request is complete and well-formed (one Host at most, exactly one on
 * HTTP/1.1), and output always starts with a status line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "http/server_int.h"

typedef struct {
  mol_h1 c;
  mol_h1_limits lim;
  mol_h1_callbacks cb;
  unsigned mode;
  mol_http_req *held[64];
  int nheld;
} fz;

static void check_req(mol_http_req *r) {
  const char *p = mol_http_req_path(r);
  if (!mol_http_req_method(r) || !p || (p[0] != '/' && p[0] != '*')) abort();
  int hosts = 0;
  for (size_t i = 0; i < mol_http_req_header_count(r); i++) {
    const char *n, *v;
    if (mol_http_req_header_at(r, i, &n, &v)) abort();
    if (!mol_http_valid_name(n, strlen(n)) || strpbrk(v, "\r\n")) abort();
    hosts += strcasecmp(n, "host") == 0;
  }
  if (hosts > 1 || (r->http_minor && hosts != 1)) abort();
  size_t len;
  mol_http_req_body(r, &len);
  if (len > r->conn->lim->max_body_bytes) abort();
}

static void answer(fz *f, mol_http_req *r) {
  size_t len;
  const char *body = mol_http_req_body(r, &len);
  switch (f->mode & 3) {
    case 0:
      mol_http_resp_header(r, "X-Fuzz", "1");
      mol_http_respond(r, 200, "text/plain", body, len);
      break;
    case 1:
      mol_http_resp_start(r, 201, NULL);
      mol_http_resp_write(r, body, len);
      mol_http_resp_end(r);
      break;
    case 2:
      mol_http_sse_start(r);
      mol_http_sse_send(r, len ? "e" : NULL, body, len);
      mol_http_resp_end(r);
      break;
    default:
      mol_http_respond(r, 204, NULL, NULL, 0);
  }
}

static void on_request(mol_http_req *r, void *ctx) {
  fz *f = ctx;
  check_req(r);
  if ((f->mode & 4) && f->nheld < 64) f->held[f->nheld++] = r;
  else answer(f, r);
}

static void on_output(void *ctx) { (void)ctx; }

static void take_output(fz *f) {
  if (f->c.out.len && memcmp(f->c.out.data, "HTTP/1.1 ", 9) != 0) abort();
  mol_buf_reset(&f->c.out);
}

static void answer_held(fz *f) {
  while (f->nheld) answer(f, f->held[--f->nheld]); /* reverse order */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fz f;
  memset(&f, 0, sizeof(f));
  f.mode = data[0];
  mol_http_server_opts o = {.max_header_bytes = 2048, .max_body_bytes = 4096,
                            .max_pipelined = 1 + (data[0] >> 6)};
  mol_http__h1_limits_init(&f.lim, &o);
  f.cb.on_request = on_request;
  f.cb.on_output = on_output;
  mol_http__h1_init(&f.c, &f.lim, &f.cb, &f);
  size_t step = 1 + ((data[0] >> 4) & 3) * 7;
  data++, size--;
  for (size_t off = 0; off < size; off += step) {
    mol_http__h1_feed(&f.c, (const char *)data + off, size - off < step ? size - off : step);
    take_output(&f);
    if (mol_http__h1_blocked(&f.c)) {
      answer_held(&f);
      mol_http__h1_resume(&f.c);
      take_output(&f);
    }
  }
  if (f.mode & 8) {
    mol_http__h1_fail(&f.c, 408);
  } else if (mol_http__h1_eof(&f.c)) {
    mol_http__h1_abort(&f.c); /* orphans what is held; answering below releases it */
  }
  answer_held(&f);
  take_output(&f);
  mol_http__h1_free(&f.c);
  return 0;
}
