/* test_oom_http_base.c - the HTTP response parser and the base JSON writer when an allocation
 * fails (failalloc.h): a response with many header fields, chunked, fed whole and byte by
 * byte, and a JSON value written compactly. Each run ends in MOL_ENOMEM or the full answer,
 * and frees everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "failalloc.h"
#include "http/client_parse.h"
#include "molecule.h"

static const int nomem[] = {MOL_ENOMEM, 0};

typedef struct {
  int heads, status;
  char server[64], last_field[64];
  mol_buf body;
} sink;

static int on_head(void *ctx, int status, const mol_http_headers *h) {
  sink *s = ctx;
  s->heads++;
  s->status = status;
  const char *v = mol_http_headers_get(h, "Server");
  snprintf(s->server, sizeof(s->server), "%s", v ? v : "(none)");
  v = mol_http_headers_get(h, "X-Field-29");
  snprintf(s->last_field, sizeof(s->last_field), "%s", v ? v : "(none)");
  return 0;
}

static int on_body(void *ctx, const char *data, size_t len) {
  sink *s = ctx;
  return mol_buf_append(&s->body, data, len) ? MOL_ENOMEM : 0;
}

static const mol_resp_events events = {on_head, on_body};

static char response[4096];
static size_t response_len;

static void make_response(void) {
  int n = snprintf(response, sizeof(response),
                   "HTTP/1.1 100 Continue\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nServer: fake/1.0\r\nTransfer-Encoding: chunked\r\n");
  for (int i = 0; i < 30; i++)
    n += snprintf(response + n, sizeof(response) - (size_t)n, "X-Field-%d: value number %d\r\n", i, i);
  n += snprintf(response + n, sizeof(response) - (size_t)n,
                "\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
  response_len = (size_t)n;
}

/* Feeds the response `step` bytes at a time (0: at once). */
static int parse(void *arg) {
  size_t step = *(size_t *)arg;
  mol_resp_parser p;
  mol_http_headers h;
  sink s;
  memset(&h, 0, sizeof(h));
  memset(&s, 0, sizeof(s));
  mol_http__resp_init(&p, &events, &s);
  mol_http__resp_reset(&p, &h, 0);
  int rc = MOL_RESP_MORE;
  for (size_t off = 0; off < response_len && rc == MOL_RESP_MORE;) {
    size_t n = step && response_len - off > step ? step : response_len - off, used;
    rc = mol_http__resp_feed(&p, response + off, n, &used);
    off += used;
  }
  if (rc == MOL_RESP_DONE) {
    assert_int_equal(s.heads, 1);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.server, "fake/1.0");
    assert_string_equal(s.last_field, "value number 29");
    assert_int_equal(s.body.len, 12);
    assert_memory_equal(s.body.data, "hello, world", 12);
    rc = 0;
  } else {
    assert_true(rc < 0); /* never MORE at the end of a whole response */
  }
  mol_http__resp_free(&p);
  mol_http_headers_free(&h);
  mol_buf_free(&s.body);
  return rc;
}

static void response_parser(void **st) {
  (void)st;
  make_response();
  size_t steps[] = {0, 1, 7};
  for (size_t i = 0; i < 3; i++) /* the head's fields, the header list, the body */
    assert_true(failalloc_sweep("response", parse, &steps[i], nomem) > 3);
}

typedef struct {
  json_t *v;
  char *want; /* its compact form by jansson, written before the sweep */
} dump_case;

static int write_json(void *arg) {
  dump_case *c = arg;
  char *out = mol_json_dump(c->v);
  mol_buf b = MOL_BUF_INIT;
  int rc = out ? mol_buf_append_str(&b, "x=") : MOL_ENOMEM;
  if (!rc) rc = mol_json_write(&b, c->v);
  if (!rc) {
    assert_string_equal(out, c->want);
    assert_int_equal(b.len, 2 + strlen(c->want));
    assert_memory_equal(b.data + 2, c->want, strlen(c->want));
  }
  free(out);
  mol_buf_free(&b);
  return rc;
}

static void json_writer(void **st) {
  (void)st;
  dump_case c;
  c.v = json_pack("{s:[i,f,s,{s:n,s:b}],s:s}", "a", 1, 2.5, "caf\xc3\xa9\n\x01", "b", "c", 1,
                  "long", "0123456789012345678901234567890123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789012345678901234567890123456789");
  assert_non_null(c.v);
  c.want = json_dumps(c.v, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_non_null(c.want);
  assert_true(failalloc_sweep("json dump", write_json, &c, nomem) > 2);
  free(c.want);
  json_decref(c.v);
}

int main(void) {
  failalloc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(response_parser),
      cmocka_unit_test(json_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
