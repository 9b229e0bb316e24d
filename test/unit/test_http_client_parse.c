/* The I/O-free response parser: whole vs byte-by-byte feeding, every body framing, interim
 * responses, trailers, pauses, bounds and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/client_parse.h"
#include "molecule.h"

typedef struct {
  int heads;
  int status;
  mol_buf body;
  int pause_every;   /* pause after each body piece when set */
  int head_rc;       /* returned by on_head */
  int pieces;
} sink;

static int on_head(void *ctx, int status, const mol_http_headers *h) {
  (void)h;
  sink *s = ctx;
  s->heads++;
  s->status = status;
  return s->head_rc;
}

static int on_body(void *ctx, const char *data, size_t len) {
  sink *s = ctx;
  s->pieces++;
  if (mol_buf_append(&s->body, data, len)) return MOL_ENOMEM;
  return s->pause_every ? MOL_RESP_PAUSE : 0;
}

static const mol_resp_events events = {on_head, on_body};

typedef struct {
  mol_resp_parser p;
  mol_http_headers h;
  sink s;
} fixture;

static void fx_init(fixture *f, int head) {
  memset(f, 0, sizeof(*f));
  mol_http__resp_init(&f->p, &events, &f->s);
  mol_http__resp_reset(&f->p, &f->h, head);
}

static void fx_free(fixture *f) {
  mol_http__resp_free(&f->p);
  mol_http_headers_free(&f->h);
  mol_buf_free(&f->s.body);
}

/* Feeds `step` bytes at a time (0 = all at once), resuming after pauses. Returns the last
 * result; *used is the total consumed. */
static int feed_steps(fixture *f, const char *data, size_t len, size_t step, size_t *used) {
  size_t off = 0;
  int rc = MOL_RESP_MORE;
  while (off < len) {
    size_t n = step && len - off > step ? step : len - off, got;
    rc = mol_http__resp_feed(&f->p, data + off, n, &got);
    off += got;
    if (rc == MOL_RESP_PAUSE) continue;
    if (rc != MOL_RESP_MORE) break;
  }
  if (rc == MOL_RESP_PAUSE) { /* a pause on the very last byte: an empty feed completes */
    size_t got;
    rc = mol_http__resp_feed(&f->p, data + off, 0, &got);
  }
  *used = off;
  return rc;
}

typedef struct {
  const char *name;
  const char *wire;
  int head;          /* the request was HEAD */
  int needs_eof;     /* body ends with the connection */
  int status;
  const char *body;
  int keep_alive;
  size_t nheaders;
} resp_case;

static const resp_case cases[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", 0, 0, 200,
     "hello", 1, 2},
    {"chunked+ext+trailers",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;name=value\r\nhello\r\n1;a;b\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\nX-T2: u\r\n\r\n",
     0, 0, 200, "hello world", 1, 1},
    {"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 0, 1, 200,
     "until the end", 0, 1},
    {"http/1.0 no length", "HTTP/1.0 200 OK\r\n\r\nold style", 0, 1, 200, "old style", 0, 0},
    {"head", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 1, 0, 200, "", 1, 1},
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, "", 1, 0},
    {"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, 0, 304,
     "", 1, 1},
    {"100 then 200",
     "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
     0, 0, 201, "ok", 1, 1},
    {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 0,
     0, 200, "x", 0, 2},
    {"redirect", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", 0, 0, 302, "",
     1, 2},
};

static void run_case(const resp_case *c, size_t step, int pause) {
  fixture f;
  fx_init(&f, c->head);
  f.s.pause_every = pause;
  size_t used;
  int rc = feed_steps(&f, c->wire, strlen(c->wire), step, &used);
  if (c->needs_eof) {
    if (rc != MOL_RESP_MORE) fail_msg("%s: %d before EOF", c->name, rc);
    rc = mol_http__resp_finish(&f.p);
  }
  if (rc != MOL_RESP_DONE) fail_msg("%s (step %zu): rc %d", c->name, step, rc);
  assert_int_equal(used, strlen(c->wire));
  assert_int_equal(f.s.heads, 1);
  assert_int_equal(f.s.status, c->status);
  assert_int_equal(f.s.body.len, strlen(c->body));
  if (f.s.body.len) assert_memory_equal(f.s.body.data, c->body, f.s.body.len);
  assert_int_equal(f.p.keep_alive, c->keep_alive);
  assert_int_equal(f.h.len, c->nheaders);
  fx_free(&f);
}

static void framings_whole_and_byte_by_byte(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    run_case(&cases[i], 0, 0);
    run_case(&cases[i], 1, 0);
    run_case(&cases[i], 7, 0);
    run_case(&cases[i], 0, 1);
    run_case(&cases[i], 3, 1);
  }
}

static void headers_are_exact(void **state) {
  (void)state;
  const char *w = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Long: a b  c\r\n"
                  "Content-Length: 0\r\n\r\n";
  for (size_t step = 0; step < 3; step++) {
    fixture f;
    fx_init(&f, 0);
    size_t used;
    assert_int_equal(feed_steps(&f, w, strlen(w), step, &used), MOL_RESP_DONE);
    assert_int_equal(f.h.len, 3);
    assert_string_equal(mol_http_headers_get(&f.h, "content-type"), "text/plain");
    assert_string_equal(mol_http_headers_get(&f.h, "x-long"), "a b  c");
    assert_string_equal(f.h.items[2].name, "Content-Length");
    fx_free(&f);
  }
}

static void trailers_do_not_become_headers(void **state) {
  (void)state;
  const char *w = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n";
  fixture f;
  fx_init(&f, 0);
  size_t used;
  assert_int_equal(feed_steps(&f, w, strlen(w), 1, &used), MOL_RESP_DONE);
  assert_null(mol_http_headers_get(&f.h, "x-t"));
  fx_free(&f);
}

static void stops_at_end_of_response(void **state) {
  (void)state;
  const char *w = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
  fixture f;
  fx_init(&f, 0);
  size_t used;
  assert_int_equal(mol_http__resp_feed(&f.p, w, strlen(w), &used), MOL_RESP_DONE);
  assert_int_equal(used, strlen(w) - 5);
  fx_free(&f);
}

static void reset_reuses_parser(void **state) {
  (void)state;
  fixture f;
  fx_init(&f, 0);
  const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
  const char *b = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n";
  size_t used;
  assert_int_equal(mol_http__resp_feed(&f.p, a, strlen(a), &used), MOL_RESP_DONE);
  mol_http_headers_clear(&f.h);
  mol_http__resp_reset(&f.p, &f.h, 0);
  assert_int_equal(mol_http__resp_feed(&f.p, b, strlen(b), &used), MOL_RESP_DONE);
  assert_int_equal(f.s.status, 404);
  assert_int_equal(f.s.body.len, 2);
  assert_int_equal(f.h.len, 1);
  fx_free(&f);
}

static const char *const malformed[] = {
    "garbage\r\n\r\n",
    "HTTP/1.1 abc OK\r\n\r\n",
    "HTTP/1.1  00 OK\r\n\r\n",
    "HTTP/9.9 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX\x01Y: z\r\n\r\n",
};

static void malformed_is_ebadresp(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
    for (size_t step = 0; step < 2; step++) {
      fixture f;
      fx_init(&f, 0);
      size_t used;
      int rc = feed_steps(&f, malformed[i], strlen(malformed[i]), step, &used);
      if (rc != MOL_EBADRESP) fail_msg("case %zu step %zu: %d", i, step, rc);
      /* Once failed, the parser stays failed. */
      assert_int_equal(mol_http__resp_feed(&f.p, "x", 1, &used), MOL_EBADRESP);
      fx_free(&f);
    }
  }
}

static void truncated_is_reset(void **state) {
  (void)state;
  const char *cuts[] = {"", "HTTP/1.1 200", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                        "HTTP/1.1 100 Continue\r\n\r\n"};
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    fixture f;
    fx_init(&f, 0);
    size_t used;
    assert_int_equal(feed_steps(&f, cuts[i], strlen(cuts[i]), 0, &used), MOL_RESP_MORE);
    assert_int_equal(mol_http__resp_finish(&f.p), MOL_ECONNRESET);
    fx_free(&f);
  }
}

static void head_too_big_is_etoobig(void **state) {
  (void)state;
  mol_buf w = MOL_BUF_INIT;
  mol_buf_append_str(&w, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < 2000; i++) mol_buf_printf(&w, "X-H%d: %040d\r\n", i, i);
  fixture f;
  fx_init(&f, 0);
  size_t used;
  assert_int_equal(mol_http__resp_feed(&f.p, w.data, w.len, &used), MOL_ETOOBIG);
  fx_free(&f);
  mol_buf_reset(&w);
  mol_buf_append_str(&w, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < MOL_RESP_MAX_HEADERS + 1; i++) mol_buf_printf(&w, "X: %d\r\n", i);
  mol_buf_append_str(&w, "\r\n");
  fx_init(&f, 0);
  assert_int_equal(mol_http__resp_feed(&f.p, w.data, w.len, &used), MOL_ETOOBIG);
  fx_free(&f);
  mol_buf_free(&w);
}

static void on_head_error_stops(void **state) {
  (void)state;
  const char *w = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  fixture f;
  fx_init(&f, 0);
  f.s.head_rc = MOL_ETOOBIG;
  size_t used;
  assert_int_equal(mol_http__resp_feed(&f.p, w, strlen(w), &used), MOL_ETOOBIG);
  assert_int_equal(f.s.body.len, 0);
  fx_free(&f);
}

static void pause_returns_exact_position(void **state) {
  (void)state;
  const char *w = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  fixture f;
  fx_init(&f, 0);
  f.s.pause_every = 1;
  size_t used;
  size_t head = strlen(w) - 10;
  assert_int_equal(mol_http__resp_feed(&f.p, w, head + 4, &used), MOL_RESP_PAUSE);
  assert_int_equal(used, head + 4);
  assert_int_equal(mol_http__resp_feed(&f.p, w + used, 6, &used), MOL_RESP_PAUSE);
  assert_int_equal(used, 6);
  assert_int_equal(mol_http__resp_feed(&f.p, w, 0, &used), MOL_RESP_DONE);
  assert_int_equal(f.s.body.len, 10);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(framings_whole_and_byte_by_byte),
      cmocka_unit_test(headers_are_exact),
      cmocka_unit_test(trailers_do_not_become_headers),
      cmocka_unit_test(stops_at_end_of_response),
      cmocka_unit_test(reset_reuses_parser),
      cmocka_unit_test(malformed_is_ebadresp),
      cmocka_unit_test(truncated_is_reset),
      cmocka_unit_test(head_too_big_is_etoobig),
      cmocka_unit_test(on_head_error_stops),
      cmocka_unit_test(pause_returns_exact_position),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
