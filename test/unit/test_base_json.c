#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static void parse_and_paths(void **state) {
  (void)state;
  const char *doc = "{\"a\":{\"b\":{\"c\":\"deep\",\"n\":7}},\"s\":\"top\",\"arr\":[1]}";
  json_t *v = mol_json_parse(doc, strlen(doc), NULL, 0);
  assert_non_null(v);
  assert_string_equal(mol_json_str(v, "a.b.c"), "deep");
  assert_int_equal(mol_json_int(v, "a.b.n", -1), 7);
  assert_int_equal(mol_json_int(v, "a.b.c", -1), -1);
  assert_null(mol_json_str(v, "a.b.missing"));
  assert_null(mol_json_str(v, "arr.x"));
  assert_string_equal(mol_json_str(v, "s"), "top");
  char *out = mol_json_dump(v);
  assert_string_equal(out, doc);
  free(out);
  json_decref(v);
}

static void parse_errors_explained(void **state) {
  (void)state;
  char err[128] = "";
  assert_null(mol_json_parse("{\"a\":", 5, err, sizeof(err)));
  assert_true(strlen(err) > 0);
  json_t *scalar = mol_json_parse("42", 2, NULL, 0);
  assert_true(json_is_integer(scalar));
  json_decref(scalar);
}

static unsigned long long rnd_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return (unsigned)(rnd_state % n);
}

static json_t *random_string(void) {
  static const char *const pieces[] = {"a", "\"", "\\", "\n", "\t", "\x01", "\x1f", "/", "\x7f",
                                       "\xc3\xa9", "\xe2\x9a\xa1", "\xf0\x9f\x98\x80", "text", " "};
  char buf[256];
  size_t n = 0;
  unsigned parts = rnd(12);
  for (unsigned i = 0; i < parts; i++) {
    const char *p = pieces[rnd(14)];
    size_t l = strlen(p);
    memcpy(buf + n, p, l);
    n += l;
  }
  if (rnd(10) == 0) buf[n++] = '\0'; /* jansson allows NUL inside strings */
  return json_stringn(buf, n);
}

static json_t *random_value(int depth) {
  switch (depth > 4 ? rnd(6) : rnd(8)) {
    case 0: return json_integer((json_int_t)rnd(1000000) - 500000);
    case 1: return json_integer(rnd(2) ? INT64_MAX : INT64_MIN);
    case 2: return json_real(rnd(1000) / 7.0);
    case 3: return random_string();
    case 4: return rnd(2) ? json_true() : json_false();
    case 5: return json_null();
    case 6: {
      json_t *a = json_array();
      for (unsigned i = rnd(5); i > 0; i--) json_array_append_new(a, random_value(depth + 1));
      return a;
    }
    default: {
      json_t *o = json_object();
      for (unsigned i = rnd(5); i > 0; i--) {
        json_t *k = random_string();
        json_object_set_new(o, json_string_value(k), random_value(depth + 1));
        json_decref(k);
      }
      return o;
    }
  }
}

static void writer_matches_jansson(void **state) {
  (void)state;
  for (int i = 0; i < 3000; i++) {
    json_t *v = random_value(0);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *got = mol_json_dump(v);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(v);
  }
}

/* One byte to escape (or a UTF-8 sequence to pass through) at every position of every length
 * up to 48 bytes: wherever the writer's 16- and 8-byte steps fall, its bytes are jansson's. */
static void writer_every_position(void **state) {
  (void)state;
  static const char *const pieces[] = {"", "\"", "\\", "\n", "\x01", "\x1f", "\x7f", "/",
                                       "\xc3\xa9", "\xf0\x9f\x98\x80", "\"\"", "\n\\\t"};
  char s[64];
  for (size_t len = 0; len <= 48; len++) {
    for (size_t at = 0; at <= len; at++) {
      for (size_t k = 0; k < sizeof(pieces) / sizeof(*pieces); k++) {
        size_t n = 0, pl = strlen(pieces[k]);
        memset(s, 'a', at), n += at;
        memcpy(s + n, pieces[k], pl), n += pl;
        memset(s + n, 'b', len - at), n += len - at;
        json_t *v = json_stringn(s, n);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        mol_buf b = MOL_BUF_INIT;
        assert_int_equal(mol_buf_append(&b, "x", 1), 0); /* not at the buffer's start */
        assert_int_equal(mol_json_write_string(&b, s, n), 0);
        assert_string_equal(b.data + 1, want);
        assert_int_equal(b.len, strlen(want) + 1);
        mol_buf_free(&b);
        free(want);
        json_decref(v);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_and_paths),
    cmocka_unit_test(parse_errors_explained),
    cmocka_unit_test(writer_matches_jansson),
    cmocka_unit_test(writer_every_position),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
