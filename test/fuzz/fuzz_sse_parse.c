/* fuzz_sse_parse.c - the event-stream parser fed the input in chunks whose sizes come from the
 * input itself must never crash or leak, and must give the same events as one whole feed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/sse_parse.h"

typedef struct {
  uint64_t hash;
  size_t events;
} digest;

static int on_event(const mol_a2a_sse_event *ev, void *arg) {
  digest *d = arg;
  const char *parts[] = {ev->event, ev->id};
  for (size_t i = 0; i < ev->data_len; i++) d->hash = d->hash * 131 + (uint8_t)ev->data[i];
  for (int p = 0; p < 2; p++)
    for (const char *c = parts[p]; *c; c++) d->hash = d->hash * 131 + (uint8_t)*c;
  d->hash += (uint64_t)ev->retry_ms;
  d->events++;
  return 0;
}

static int run(const uint8_t *data, size_t size, size_t step, digest *d) {
  mol_a2a_sse_parser p;
  mol_a2a_sse_init(&p, 4096, on_event, d);
  int rc = 0;
  for (size_t off = 0; off < size && rc == 0; off += step) {
    size_t n = size - off < step ? size - off : step;
    rc = mol_a2a_sse_feed(&p, (const char *)data + off, n);
  }
  mol_a2a_sse_free(&p);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t step = (size_t)data[0] % 7 + 1;
  digest whole = {0}, chunked = {0};
  int rc1 = run(data + 1, size - 1, size, &whole);
  int rc2 = run(data + 1, size - 1, step, &chunked);
  /* Chunking must not change the outcome. */
  if (rc1 != rc2 || whole.events != chunked.events || whole.hash != chunked.hash) abort();
  return 0;
}
