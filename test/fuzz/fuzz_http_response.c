/* fuzz_http_response.c - libFuzzer target for the I/O-free HTTP response parser.
 *
 * The first input byte picks how the rest is split (feed size) and whether the response
 * answers a HEAD request and whether the body is paused after each piece; the remainder is
 * the byte stream from the "server". Checks the parser's contract: consumed never exceeds
 * what was fed, a finished or failed parser stays so, and nothing leaks (under ASan). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "http/client_parse.h"
#include "molecule.h"

typedef struct {
  size_t body;
  int pause;
} sink;

static int on_head(void *ctx, int status, const mol_http_headers *h) {
  (void)ctx;
  if (status < 100 || status > 999 || !h) abort();
  return 0;
}

static int on_body(void *ctx, const char *data, size_t len) {
  sink *s = ctx;
  (void)data;
  s->body += len;
  return s->pause ? MOL_RESP_PAUSE : 0;
}

static const mol_resp_events events = {on_head, on_body};

static int feed_all(mol_resp_parser *p, const uint8_t *data, size_t len, size_t step) {
  size_t off = 0;
  int rc = MOL_RESP_MORE;
  while (off < len) {
    size_t n = len - off < step ? len - off : step, used = 0;
    rc = mol_http__resp_feed(p, (const char *)data + off, n, &used);
    if (used > n) abort();
    off += used;
    if (rc == MOL_RESP_PAUSE) continue;
    if (rc != MOL_RESP_MORE) break;
    if (used != n) abort();
  }
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  size_t step = (size_t)(mode & 0x1f) + 1;
  sink s = {0, (mode & 0x40) != 0};
  mol_http_headers h = {0};
  mol_resp_parser p;
  mol_http__resp_init(&p, &events, &s);
  mol_http__resp_reset(&p, &h, (mode & 0x20) != 0);
  int rc = feed_all(&p, data + 1, size - 1, step);
  if (rc == MOL_RESP_MORE || rc == MOL_RESP_PAUSE) rc = mol_http__resp_finish(&p);
  size_t used = 0;
  int again = mol_http__resp_feed(&p, "x", 1, &used);
  if (rc == MOL_RESP_DONE && again != MOL_RESP_DONE) abort();
  if (rc < 0 && again != rc) abort();
  mol_http__resp_free(&p);
  mol_http_headers_free(&h);
  return 0;
}
