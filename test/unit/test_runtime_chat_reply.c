/* test_runtime_chat_reply.c - the chat executor reads a plain reply with the scanner and
 * falls back to jansson: the two must agree on every body the scanner reads (content,
 * reasoning_content, every tool call's id, name and arguments), on hand-written shapes and on
 * tens of thousands of mutations of them; and the scanner must take the usual shapes itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec_chat_int.h"

static const char *const shapes[] = {
  /* mock-llm's answer */
  ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"mock\",\"choices\":[{\"index\":0,"
  "\"message\":{\"role\":\"assistant\",\"content\":\"say \\\"hi\\\"\\nplease\"},\"finish_reason\":\"stop\"}],"
  "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}"),
  /* tool calls, escapes in the arguments, unicode */
  ("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
  "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":\\\"x\\\\ny\\\"}\"}},"
  "{\"type\":\"function\",\"id\":\"call_\\u00e9\\ud83d\\ude00\",\"function\":{\"arguments\":\"\",\"name\":\"n\"}}]},"
  "\"finish_reason\":\"tool_calls\"}]}"),
  /* reasoning only, unknown members everywhere, several choices */
  ("{\"x\":[1,2,{\"y\":null}],\"choices\":[{\"logprobs\":{\"a\":[true,false]},\"message\":{\"refusal\":null,"
  "\"reasoning_content\":\"thinking\",\"content\":\"\"},\"z\":1.5e3},{\"message\":{\"content\":\"second\"}}],\"w\":\"v\"}"),
  /* empty id and name, null arguments, extra call members */
  "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"\",\"index\":0,\"function\":{\"name\":\"\",\"arguments\":null}}]}}]}",
  /* left to jansson: duplicate content, object arguments, a non-string id, NUL in a string */
  "{\"choices\":[{\"message\":{\"content\":\"a\",\"content\":\"b\"}}]}",
  "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":{\"k\":[1]}}}]}}]}",
  "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":7,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
  "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}",
  /* not a reply */
  "{\"choices\":[]}",
  "{\"choices\":[{\"message\":\"hi\"}]}",
  "{\"error\":{\"message\":\"overloaded\"}}",
  "[{\"choices\":[{\"message\":{\"content\":\"x\"}}]}]",
  "{\"choices\":[{\"message\":{\"content\":\"x\"}}]} trailing",
  "",
};

/* shapes[i] the scanner must read itself (1) or leave to jansson (0). */
static const int fast_expected[] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static int same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Reads body both ways; when the scanner read it, every field must match. Returns what the
 * scanner did. */
static int read_both(const char *body, size_t len, int want_calls) {
  mol_chat__turn a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  mol_chat__reply ra, rb;
  int fast = mol_chat__reply_scan(&a, want_calls, body, len, &ra);
  int dom = mol_chat__reply_dom(&b, want_calls, body, len, &rb);
  if (fast) {
    if (dom != 1 || ra.has_message != rb.has_message || !same_str(ra.content, rb.content) ||
        !same_str(ra.reasoning, rb.reasoning) || a.ncalls != b.ncalls) {
      fprintf(stderr, "disagree on: %.*s\n", (int)len, body);
      fail();
    }
    for (size_t i = 0; i < a.ncalls; i++) {
      mol_chat__call *x = &a.calls[i], *y = &b.calls[i];
      if (x->index != y->index || !same_str(x->id, y->id) || !same_str(x->name, y->name) ||
          x->args.len != y->args.len || (x->args.len && memcmp(x->args.data, y->args.data, x->args.len))) {
        fprintf(stderr, "disagree on call %zu of: %.*s\n", i, (int)len, body);
        fail();
      }
    }
  } else {
    assert_int_equal(a.ncalls, 0);
    assert_null(ra.content);
  }
  mol_chat__reply_free(&ra);
  mol_chat__reply_free(&rb);
  mol_chat__calls_clear(&a);
  mol_chat__calls_clear(&b);
  return fast;
}

static void shapes_agree(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    assert_int_equal(read_both(shapes[i], strlen(shapes[i]), 1), fast_expected[i]);
    read_both(shapes[i], strlen(shapes[i]), 0);
  }
}

static void the_fields_are_right(void **state) {
  (void)state;
  mol_chat__turn t;
  memset(&t, 0, sizeof t);
  mol_chat__reply r;
  assert_int_equal(mol_chat__reply_read(&t, 1, shapes[1], strlen(shapes[1]), &r), 1);
  assert_null(r.content);
  assert_int_equal(t.ncalls, 2);
  assert_string_equal(t.calls[0].id, "call_1");
  assert_string_equal(t.calls[0].args.data, "{\"a\":2,\"b\":\"x\\ny\"}");
  assert_string_equal(t.calls[1].id, "call_\xc3\xa9\xf0\x9f\x98\x80");
  assert_string_equal(t.calls[1].name, "n");
  assert_int_equal(t.calls[1].args.len, 0);
  mol_chat__reply_free(&r);
  mol_chat__calls_clear(&t);
  assert_int_equal(mol_chat__reply_read(&t, 1, shapes[8], strlen(shapes[8]), &r), 0);
  mol_chat__reply_free(&r);
}

/* 129 calls: both ways end at the bound with the same words. */
static void too_many_calls(void **state) {
  (void)state;
  char body[16384];
  size_t n = (size_t)snprintf(body, sizeof body, "{\"choices\":[{\"message\":{\"tool_calls\":[");
  for (int i = 0; i <= 128; i++)
    n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"id\":\"c%d\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}", i ? "," : "", i);
  n += (size_t)snprintf(body + n, sizeof body - n, "]}}]}");
  mol_chat__turn t;
  memset(&t, 0, sizeof t);
  mol_chat__reply r;
  assert_int_equal(mol_chat__reply_read(&t, 1, body, n, &r), -1);
  assert_string_equal(r.why, mol_chat__too_many_calls);
  mol_chat__reply_free(&r);
  mol_chat__calls_clear(&t);
  assert_int_equal(mol_chat__reply_read(&t, 0, body, n, &r), 1); /* without tools: just a reply */
  assert_int_equal(t.ncalls, 0);
  mol_chat__reply_free(&r);
}

/* Random edits of the shapes: wherever the scanner reads, jansson reads the same. */
static void mutations_agree(void **state) {
  (void)state;
  static const char alphabet[] = "{}[]\":,\\ nul0123456789.eE+-abtrfsx\x00\xc3\xa9\xff";
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int fast = 0;
  char buf[2048];
  for (int iter = 0; iter < 40000; iter++) {
    const char *src = shapes[iter % 4]; /* the shapes the scanner reads */
    size_t len = strlen(src);
    memcpy(buf, src, len);
    for (int edits = 1 + iter % 3; edits > 0 && len > 1; edits--) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      size_t at = (size_t)(seed >> 8) % len;
      char c = alphabet[(seed >> 40) % (sizeof alphabet - 1)];
      switch ((seed >> 56) % 3) {
      case 0: buf[at] = c; break;
      case 1: memmove(buf + at, buf + at + 1, len - at - 1), len--; break;
      default:
        if (len + 1 < sizeof buf) memmove(buf + at + 1, buf + at, len - at), buf[at] = c, len++;
      }
    }
    fast += read_both(buf, len, (int)(seed & 1));
  }
  assert_true(fast > 1000); /* the scanner still reads many of them: the test compares */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(shapes_agree),
    cmocka_unit_test(the_fields_are_right),
    cmocka_unit_test(too_many_calls),
    cmocka_unit_test(mutations_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
