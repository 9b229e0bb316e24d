/* fuzz_jscan.c - the scanner must never be more lenient than jansson: whenever a walk over the
 * input reaches MOL_JT_END, json_loadb (with mol_json_parse's flags) must accept the input and
 * give exactly the value rebuilt from the tokens. Inputs whose length is odd also skip the first
 * container with mol_jscan_skip, which must agree with the full walk. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JR_CHECK(c) \
  do {                 \
    if (!(c)) abort(); \
  } while (0)
#include "jscan_rebuild.h"


/* Reads up to the first container, skips it, then reads to the end: the outcome must match the
 * full walk (read = it reached MOL_JT_END). */
static void check_skip(const char *data, size_t len, int read) {
  mol_jscan s;
  mol_jtok t;
  mol_jtype ty;
  mol_jscan_init(&s, data, len);
  do ty = mol_jscan_next(&s, &t);
  while (ty != MOL_JT_OBJECT && ty != MOL_JT_ARRAY && ty != MOL_JT_FAIL && ty != MOL_JT_END);
  if (ty == MOL_JT_OBJECT || ty == MOL_JT_ARRAY) {
    if (mol_jscan_skip(&s) != 0) {
      if (read) abort();
      return;
    }
  }
  while (ty != MOL_JT_FAIL && ty != MOL_JT_END) ty = mol_jscan_next(&s, &t);
  if ((ty == MOL_JT_END) != read) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  json_t *got = jr_rebuild(text, size);
  if (got) {
    json_error_t err;
    json_t *want = json_loadb(text, size, JFLAGS, &err);
    if (!want || !json_equal(got, want)) abort(); /* the scanner was more lenient than jansson */
    json_decref(want);
    json_decref(got);
  }
  if (size & 1) check_skip(text, size, got != NULL);
  return 0;
}
