/* The response parser's allocations: a head of many fields costs a fixed number of heap
 * allocations (the field list and one block for its strings), not one or two per field.
 * malloc and friends are counted by interposing them over glibc's own; under a sanitizer,
 * which owns malloc itself, the test reports itself skipped (exit 77). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client_parse.h"
#include "molecule.h"

#if defined(__SANITIZE_ADDRESS__)
#define MOL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOL_TEST_SANITIZED 1
#endif
#endif

#ifndef MOL_TEST_SANITIZED
static int counting;
static unsigned allocs;

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n) {
  if (counting) allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
  if (counting) allocs++;
  return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
  if (counting) allocs++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static int on_head(void *ctx, int status, const mol_http_headers *h) {
  (void)ctx;
  (void)status;
  (void)h;
  return 0;
}

static const mol_resp_events events = {on_head, NULL};

/* A response with 24 header fields and a small body. */
static size_t make_response(char *out, size_t cap) {
  size_t n = (size_t)snprintf(out, cap, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
  for (int i = 0; i < 24; i++)
    n += (size_t)snprintf(out + n, cap - n, "X-Field-%02d: value number %d\r\n", i, i);
  n += (size_t)snprintf(out + n, cap - n, "\r\nok");
  return n;
}

static void many_fields_cost_fixed_allocations(void **state) {
  (void)state;
  char wire[4096];
  size_t len = make_response(wire, sizeof(wire));
  mol_resp_parser p;
  mol_http__resp_init(&p, &events, NULL);
  for (int round = 0; round < 2; round++) { /* the first round warms the parser's buffers */
    mol_http_headers h = {0};
    mol_http__resp_reset(&p, &h, 0);
    size_t used;
    allocs = 0;
    counting = round == 1;
    int rc = mol_http__resp_feed(&p, wire, len, &used);
    counting = 0;
    assert_int_equal(rc, MOL_RESP_DONE);
    assert_int_equal(used, len);
    assert_int_equal(h.len, 25);
    assert_string_equal(mol_http_headers_get(&h, "x-field-23"), "value number 23");
    assert_string_equal(mol_http_headers_get(&h, "content-length"), "2");
    if (round == 1) {
      printf("allocations for a head of 25 fields: %u\n", allocs);
      assert_true(allocs <= 2);
    }
    mol_http_headers_free(&h);
  }
  mol_http__resp_free(&p);
}
#endif

int main(void) {
#ifdef MOL_TEST_SANITIZED
  printf("SKIP: a sanitizer owns malloc here; the allocation count runs in the plain build\n");
  return 77;
#else
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(many_fields_cost_fixed_allocations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
