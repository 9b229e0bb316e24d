/* test_runtime_sessions_line.c - a sessions file line written as text
 * (mol_agent__sessions_format) is byte for byte what json_pack + mol_json_dump wrote, and a
 * string json_pack refuses (not UTF-8) gives no line: on a table of edge cases (every control
 * character, quotes, backslashes, multi-byte characters, every kind of malformed UTF-8) and on
 * 200,000 random strings of bytes and of code points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "runtime/agent_care.h"

/* What agent_sessions.c wrote before: NULL when json_pack refused the strings. */
static char *old_line(const char *ctx, const char *who, const char *text) {
  json_t *line = json_pack("{s:s,s:s,s:s}", "ctx", ctx ? ctx : "", "who", who, "text", text);
  char *j = line ? mol_json_dump(line) : NULL;
  json_decref(line);
  return j;
}

static void agree(const char *ctx, const char *who, const char *text) {
  mol_buf b = MOL_BUF_INIT;
  assert_int_equal(mol_buf_append_str(&b, "before"), 0); /* a line joins what is queued */
  int rc = mol_agent__sessions_format(&b, ctx, who, text);
  char *want = old_line(ctx, who, text);
  if (!want) {
    assert_int_equal(rc, MOL_EINVAL);
    assert_string_equal(b.data, "before");
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(b.len, 6 + strlen(want));
    assert_memory_equal(b.data, "before", 6);
    if (strcmp(b.data + 6, want) != 0) fail_msg("text %s: got %s want %s", text, b.data + 6, want);
  }
  free(want);
  mol_buf_free(&b);
}

static void edge_cases(void **state) {
  (void)state;
  static const char *texts[] = {
    "", "plain", "quote \" and backslash \\ and slash /", "\x7f delete", "tab\tnew\nline\rcr",
    "\b\f", "caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x98\x80 emoji", "\xef\xbf\xbf",
    "\xf4\x8f\xbf\xbf max", "\xed\x9f\xbf below surrogates", "\xee\x80\x80 above them",
    "\x80 stray continuation", "\xc0\x80 overlong nul", "\xc1\xbf overlong", "\xe0\x80\xaf",
    "\xe0\x9f\xbf", "\xed\xa0\x80 surrogate", "\xed\xbf\xbf", "\xf0\x80\x80\x80",
    "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80 past max", "\xf5\x80\x80\x80", "\xff", "\xfe",
    "cut \xc3", "cut \xe2\x82", "cut \xf0\x9f\x98", "\xc3\x28", "\xe2\x28\xa1",
    "long plain text that goes past eight bytes more than once, 0123456789abcdef",
    "\"\"\"\"\"\"\"\"\"\\\\\\\\\\\\\\\\\\",
  };
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    agree("ctx-1", "user", texts[i]);
    agree(texts[i], "agent", "t");
    agree(NULL, "agent", texts[i]);
  }
  char ctl[2] = {0, 0};
  for (int c = 1; c < 0x20; c++) {
    ctl[0] = (char)c;
    agree("c", "user", ctl);
  }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng >> 11);
}

/* Bytes mostly from the ones that matter to the writer and the UTF-8 check. */
static void random_bytes(char *s, size_t n) {
  static const unsigned char pick[] = {'a', ' ', '"', '\\', '/', '\n', '\t', 0x01, 0x1f, 0x7f,
                                       0x80, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
                                       0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90};
  for (size_t i = 0; i < n; i++) {
    unsigned r = next();
    s[i] = (char)(r & 1 ? pick[(r >> 1) % sizeof(pick)] : 1 + (r >> 1) % 255);
  }
  s[n] = '\0';
}

static size_t put_utf8(char *p, uint32_t cp) {
  if (cp < 0x80) return (size_t)(*p = (char)cp, 1);
  if (cp < 0x800) {
    p[0] = (char)(0xc0 | cp >> 6), p[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (char)(0xe0 | cp >> 12), p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    p[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  p[0] = (char)(0xf0 | cp >> 18), p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  p[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), p[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Code points of every width, surrogates and the edges of each range included. */
static void random_code_points(char *s, size_t max) {
  static const uint32_t edges[] = {0x1, 0x1f, 0x22, 0x5c, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff,
                                   0xd800, 0xdfff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff};
  size_t n = 0;
  while (n + 4 < max) {
    unsigned r = next();
    uint32_t cp = r & 1 ? edges[(r >> 1) % 16] : 1 + (r >> 1) % 0x10ffff;
    n += put_utf8(s + n, cp);
  }
  s[n] = '\0';
}

static void random_strings(void **state) {
  (void)state;
  char text[80], ctx[24];
  for (int i = 0; i < 100000; i++) {
    random_bytes(text, next() % 64);
    random_bytes(ctx, next() % 8);
    agree(i % 3 ? "ctx" : ctx, i & 1 ? "user" : "agent", text);
  }
  for (int i = 0; i < 100000; i++) {
    random_code_points(text, 5 + next() % 70);
    agree("ctx", "agent", text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(edge_cases),
    cmocka_unit_test(random_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
