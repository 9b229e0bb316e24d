/* test_a2a_sse.c - the incremental event-stream parser: a table of streams, each fed whole,
 * byte by byte and in every two-piece split, must give the same events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/sse_parse.h"
#include "molecule.h"

typedef struct {
  char out[2048]; /* "event|data|id|retry\n" per event, data's '\n' shown as '/' */
  int stop_after; /* return 1 after this many events (0 = never) */
  int n;
} sink;

static int on_event(const mol_a2a_sse_event *ev, void *arg) {
  sink *k = arg;
  char data[512];
  size_t n = ev->data_len < sizeof(data) - 1 ? ev->data_len : sizeof(data) - 1;
  for (size_t i = 0; i < n; i++) data[i] = ev->data[i] == '\n' ? '/' : ev->data[i];
  data[n] = '\0';
  assert_int_equal(ev->data[ev->data_len], '\0');
  char line[700];
  snprintf(line, sizeof(line), "%s|%s|%s|%lld\n", ev->event, data, ev->id,
           (long long)ev->retry_ms);
  strncat(k->out, line, sizeof(k->out) - strlen(k->out) - 1);
  k->n++;
  return k->stop_after && k->n >= k->stop_after ? 1 : 0;
}

typedef struct {
  const char *name;
  const char *input;
  size_t len; /* 0 = strlen */
  const char *want;
} sse_case;

static const sse_case k_cases[] = {
  {"a2a-js event", "data: {\"id\":2,\"result\":{}}\n\n", 0, "message|{\"id\":2,\"result\":{}}||-1\n"},
  {"error event", "event: error\ndata: {\"e\":1}\n\n", 0, "error|{\"e\":1}||-1\n"},
  {"crlf", "data: a\r\ndata: b\r\n\r\n", 0, "message|a/b||-1\n"},
  {"cr only", "data: a\rdata: b\r\r", 0, "message|a/b||-1\n"},
  {"mixed endings", "data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n", 0,
   "message|1||-1\nmessage|2||-1\nmessage|3||-1\n"},
  {"comments ignored", ": keep-alive\n:\ndata: x\n: mid\n\n", 0, "message|x||-1\n"},
  {"bom at start", "\xEF\xBB\xBF" "data: bom\n\n", 0, "message|bom||-1\n"},
  {"bom only once", "\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", 0, ""},
  {"no space after colon", "data:tight\n\n", 0, "message|tight||-1\n"},
  {"only one space stripped", "data:  two\n\n", 0, "message| two||-1\n"},
  {"field without colon", "data\ndata\n\n", 0, "message|/||-1\n"},
  {"empty data", "data:\n\n", 0, "message|||-1\n"},
  {"no data, no event", "event: x\nid: 1\n\ndata: y\n\n", 0, "message|y|1|-1\n"},
  {"id persists", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", 0,
   "message|a|7|-1\nmessage|b|7|-1\nmessage|c||-1\n"},
  {"id with NUL ignored", "id: 5\n\nid: a\0b\ndata: z\n\n", 24, "message|z|5|-1\n"},
  {"retry", "retry: 3000\ndata: r\n\nretry: 12x\ndata: s\n\n", 0,
   "message|r||3000\nmessage|s||3000\n"},
  {"unknown fields", "foo: bar\ndata: k\nDATA: no\n\n", 0, "message|k||-1\n"},
  {"unterminated event dropped", "data: done\n\ndata: partial", 0, "message|done||-1\n"},
  {"colon in value", "data: a:b: c\n\n", 0, "message|a:b: c||-1\n"},
  {"event resets per event", "event: e1\ndata: 1\n\ndata: 2\n\n", 0,
   "e1|1||-1\nmessage|2||-1\n"},
};

static void run_chunks(const sse_case *c, size_t len, size_t split, int byte_by_byte) {
  mol_a2a_sse_parser p;
  sink k = {0};
  mol_a2a_sse_init(&p, 0, on_event, &k);
  if (byte_by_byte) {
    for (size_t i = 0; i < len; i++) assert_int_equal(mol_a2a_sse_feed(&p, c->input + i, 1), 0);
  } else {
    assert_int_equal(mol_a2a_sse_feed(&p, c->input, split), 0);
    assert_int_equal(mol_a2a_sse_feed(&p, c->input + split, len - split), 0);
  }
  if (strcmp(k.out, c->want) != 0)
    fprintf(stderr, "case '%s' (split %zu, bytewise %d)\n got: %s\nwant: %s\n", c->name, split,
            byte_by_byte, k.out, c->want);
  assert_string_equal(k.out, c->want);
  mol_a2a_sse_free(&p);
}

static void table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
    const sse_case *c = &k_cases[i];
    size_t len = c->len ? c->len : strlen(c->input);
    run_chunks(c, len, len, 0);
    run_chunks(c, len, 0, 1);
    for (size_t split = 0; split <= len; split++) run_chunks(c, len, split, 0);
  }
}

static void bom_prefix_not_bom(void **state) {
  (void)state;
  /* Bytes that start like a BOM but are not one belong to the first line. */
  mol_a2a_sse_parser p;
  sink k = {0};
  mol_a2a_sse_init(&p, 0, on_event, &k);
  assert_int_equal(mol_a2a_sse_feed(&p, "\xEF", 1), 0);
  assert_int_equal(mol_a2a_sse_feed(&p, "data: q\n\n", 9), 0);
  assert_string_equal(k.out, ""); /* field "\xEF" "data" is unknown */
  mol_a2a_sse_free(&p);
}

static void max_event_bound(void **state) {
  (void)state;
  mol_a2a_sse_parser p;
  sink k = {0};
  mol_a2a_sse_init(&p, 16, on_event, &k);
  assert_int_equal(mol_a2a_sse_feed(&p, "data: 12345\n\n", 13), 0);
  assert_int_equal(mol_a2a_sse_feed(&p, "data: 1234567890\n\n", 18), 0); /* line of 16 fits */
  assert_int_equal(mol_a2a_sse_feed(&p, "data: 12345678901\n", 18), MOL_ETOOBIG);
  assert_int_equal(mol_a2a_sse_feed(&p, "\n", 1), MOL_ETOOBIG); /* sticky */
  assert_string_equal(k.out, "message|12345||-1\nmessage|1234567890||-1\n");
  mol_a2a_sse_free(&p);
  /* Many data lines add up. */
  memset(&k, 0, sizeof(k));
  mol_a2a_sse_init(&p, 16, on_event, &k);
  int rc = 0;
  for (int i = 0; i < 10 && rc == 0; i++) rc = mol_a2a_sse_feed(&p, "data: abc\n", 10);
  assert_int_equal(rc, MOL_ETOOBIG);
  assert_int_equal(k.n, 0);
  mol_a2a_sse_free(&p);
  /* A line without a terminator is bounded too. */
  memset(&k, 0, sizeof(k));
  mol_a2a_sse_init(&p, 16, on_event, &k);
  rc = 0;
  for (int i = 0; i < 20 && rc == 0; i++) rc = mol_a2a_sse_feed(&p, "x", 1);
  assert_int_equal(rc, MOL_ETOOBIG);
  mol_a2a_sse_free(&p);
}

static void callback_stops(void **state) {
  (void)state;
  mol_a2a_sse_parser p;
  sink k = {.stop_after = 1};
  mol_a2a_sse_init(&p, 0, on_event, &k);
  const char *in = "data: 1\n\ndata: 2\n\n";
  assert_int_equal(mol_a2a_sse_feed(&p, in, strlen(in)), 1);
  assert_int_equal(k.n, 1);
  assert_int_equal(mol_a2a_sse_feed(&p, in, strlen(in)), 1);
  assert_int_equal(k.n, 1);
  mol_a2a_sse_free(&p);
}

/* A multi-megabyte a2a-js event below the 4 MiB default passes. */
static void large_event(void **state) {
  (void)state;
  size_t n = 3u * 1024u * 1024u;
  char *buf = malloc(n + 16);
  memcpy(buf, "data: ", 6);
  memset(buf + 6, 'x', n);
  memcpy(buf + 6 + n, "\n\n", 2);
  mol_a2a_sse_parser p;
  sink k = {0};
  mol_a2a_sse_init(&p, 0, on_event, &k);
  for (size_t off = 0; off < n + 8; off += 65536) {
    size_t len = n + 8 - off < 65536 ? n + 8 - off : 65536;
    assert_int_equal(mol_a2a_sse_feed(&p, buf + off, len), 0);
  }
  assert_int_equal(k.n, 1);
  mol_a2a_sse_free(&p);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table),
    cmocka_unit_test(bom_prefix_not_bom),
    cmocka_unit_test(max_event_bound),
    cmocka_unit_test(callback_stops),
    cmocka_unit_test(large_event),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
