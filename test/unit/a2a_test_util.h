/* a2a_test_util.h - shared helpers for the A2A unit tests (header-only). */
#ifndef MOL_TEST_A2A_UTIL_H
#define MOL_TEST_A2A_UTIL_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Compares two JSON texts structurally (key order ignored, types exact: 1 != "1" != 1.0). */
static inline int json_text_equal(const char *got, const char *want) {
  json_error_t e;
  json_t *a = got ? json_loads(got, JSON_DECODE_ANY, &e) : NULL;
  json_t *b = json_loads(want, JSON_DECODE_ANY, &e);
  int eq = a && b && json_equal(a, b);
  if (!eq) fprintf(stderr, "JSON mismatch\n  got:  %s\n  want: %s\n", got ? got : "(null)", want);
  json_decref(a);
  json_decref(b);
  return eq;
}

#define assert_json(got, want) assert_true(json_text_equal((got), (want)))

/* Frees got after comparing. */
#define assert_json_free(got, want)           \
  do {                                        \
    char *got_ = (got);                       \
    assert_true(json_text_equal(got_, want)); \
    free(got_);                               \
  } while (0)

static inline json_t *jparse(const char *s) {
  json_error_t e;
  json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
  if (!v) fprintf(stderr, "bad test JSON: %s (%s)\n", s, e.text);
  return v;
}

#endif
