/* Unit tests of the I/O-free HTTP/1.1 server core (server_conn.c, server_resp.c): malformed
 * input, byte-at-a-time parsing, pipelining order, streaming and SSE serialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "http/server_int.h"
#include "molecule.h"

typedef struct {
  mol_h1 c;
  mol_h1_limits lim;
  mol_h1_callbacks cb;
  int hold;                 /* keep requests instead of answering them */
  mol_http_req *held[32];
  int nheld;
  int nreq;
  int aborts;
  size_t sock_q;            /* what the "socket" has not written yet */
  mol_buf log;              /* what the handler saw */
} harness;

static void record(harness *h, mol_http_req *r) {
  size_t blen;
  const char *body = mol_http_req_body(r, &blen);
  const char *q = mol_http_req_query(r);
  mol_buf_printf(&h->log, "%s %s ?%s\n", mol_http_req_method(r), mol_http_req_path(r),
                 q ? q : "(none)");
  for (size_t i = 0; i < mol_http_req_header_count(r); i++) {
    const char *n, *v;
    mol_http_req_header_at(r, i, &n, &v);
    mol_buf_printf(&h->log, "  %s=[%s]\n", n, v);
  }
  mol_buf_printf(&h->log, "  body %zu [", blen);
  mol_buf_append(&h->log, body, blen);
  mol_buf_append_str(&h->log, "]\n");
}

static void on_req(mol_http_req *r, void *ctx) {
  harness *h = ctx;
  h->nreq++;
  record(h, r);
  if (h->hold) {
    h->held[h->nheld++] = r;
    return;
  }
  size_t blen;
  const char *body = mol_http_req_body(r, &blen);
  mol_http_respond(r, 200, "text/plain", body, blen);
}

static void on_output(void *ctx) { (void)ctx; }

static void h_init(harness *h, size_t max_header, size_t max_body) {
  memset(h, 0, sizeof(*h));
  mol_http_server_opts o = {0};
  o.max_header_bytes = max_header;
  o.max_body_bytes = max_body;
  mol_http__h1_limits_init(&h->lim, &o);
  h->cb.on_request = on_req;
  h->cb.on_output = on_output;
  mol_http__h1_init(&h->c, &h->lim, &h->cb, h);
}

static void h_free(harness *h) {
  mol_http__h1_free(&h->c);
  mol_buf_free(&h->log);
}

static void feed_all(harness *h, const char *in, size_t len, size_t step) {
  for (size_t off = 0; off < len; off += step)
    mol_http__h1_feed(&h->c, in + off, len - off < step ? len - off : step);
}

/* The output without Date lines, which may differ between runs across a second boundary. */
static char *out_nodate(harness *h) {
  mol_buf b = MOL_BUF_INIT;
  const char *p = h->c.out.data ? h->c.out.data : "";
  while (*p) {
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) + 2 : strlen(p);
    if (strncmp(p, "Date: ", 6) != 0) mol_buf_append(&b, p, n);
    p += n;
  }
  return mol_buf_steal(&b);
}

/* ---- malformed input table --------------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *in;
  size_t len;
  int status;
} bad_case;

#define BAD(n, s, st) {n, s, sizeof(s) - 1, st}

static const bad_case bad_cases[] = {
  BAD("no version", "GET\r\n\r\n", 400),
  BAD("bad method char", "G@T / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
  BAD("lowercase method", "get / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
  BAD("version 1.2", "GET / HTTP/1.2\r\n\r\n", 400),
  BAD("garbage version", "GET / HTTP/x.1\r\n\r\n", 400),
  BAD("HTTP/0.9 line", "GET /\r\n\r\n", 400),
  BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505),
  BAD("bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "zz\r\n", 400),
  BAD("chunk size overflow",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "fffffffffffffffffff\r\n", 400),
  BAD("chunk data overrun",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", 400),
  BAD("CL and TE", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
  BAD("TE then CL", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
      "Content-Length: 3\r\n\r\n0\r\n\r\n", 400),
  BAD("conflicting CL", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
      "Content-Length: 2\r\n\r\nab", 400),
  BAD("negative CL", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
  BAD("CL overflow",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
  BAD("TE not chunked", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
  BAD("NUL in value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n", 400),
  BAD("CR in value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400),
  BAD("CTL in value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\x01\r\n\r\n", 400),
  BAD("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400),
  BAD("space before colon", "GET / HTTP/1.1\r\nHost: t\r\nX : a\r\n\r\n", 400),
  BAD("bad header name", "GET / HTTP/1.1\r\nHost: t\r\nX@: a\r\n\r\n", 400),
  BAD("space inside name", "GET / HTTP/1.1\r\nHost: t\r\nX Y: a\r\n\r\n", 400),
  BAD("empty name", "GET / HTTP/1.1\r\nHost: t\r\n: a\r\n\r\n", 400),
  BAD("LF-only lines", "GET / HTTP/1.1\nHost: a\n\n", 400),
  BAD("space at line start", "GET / HTTP/1.1\r\nHost: t\r\n X: a\r\n\r\n", 400),
  BAD("control char in target", "GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
  BAD("relative target", "GET a HTTP/1.1\r\nHost: t\r\n\r\n", 400),
  BAD("authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
  BAD("unknown expectation", "POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n"
      "Content-Length: 1\r\n\r\na", 417),
  BAD("body over limit (CL)", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n", 413),
  BAD("body over limit (chunked)", "POST / HTTP/1.1\r\nHost: t\r\n"
      "Transfer-Encoding: chunked\r\n\r\n41\r\n", 413),
  /* RFC 9112 §3.2: Host exactly once in HTTP/1.1, at most once otherwise, and well formed. */
  BAD("no Host", "GET / HTTP/1.1\r\n\r\n", 400),
  BAD("no Host, absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400),
  BAD("no Host, with a body", "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\na", 400),
  BAD("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
  BAD("two Hosts, any case", "GET / HTTP/1.1\r\nhost: a\r\nX: y\r\nHOST: b\r\n\r\n", 400),
  BAD("two Hosts, HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
  BAD("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
  BAD("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
  BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
  BAD("Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
  BAD("Host with two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400),
  BAD("Host IPv6 unclosed", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
  BAD("Host IPv6 then junk", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400),
};

static char *big_case(size_t *len, const char *prefix, size_t fill, const char *suffix) {
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, prefix);
  for (size_t i = 0; i < fill; i++) mol_buf_append(&b, "a", 1);
  mol_buf_append_str(&b, suffix);
  *len = b.len;
  return mol_buf_steal(&b);
}

static void expect_refused(const char *name, const char *in, size_t len, int status,
                           size_t step) {
  harness h;
  h_init(&h, 1024, 64);
  feed_all(&h, in, len, step);
  char want[32];
  snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
  if (!h.c.out.data || strncmp(h.c.out.data, want, strlen(want)) != 0 ||
      !strstr(h.c.out.data, "Connection: close\r\n") || !h.c.done || h.nreq != 0)
    fail_msg("%s (step %zu): got [%s] done=%d nreq=%d", name, step,
             h.c.out.data ? h.c.out.data : "", h.c.done, h.nreq);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_CLOSING);
  h_free(&h);
}

static void malformed_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    expect_refused(bad_cases[i].name, bad_cases[i].in, bad_cases[i].len, bad_cases[i].status,
                   bad_cases[i].len);
    expect_refused(bad_cases[i].name, bad_cases[i].in, bad_cases[i].len, bad_cases[i].status,
                   1);
  }
}

static void oversized_heads(void **state) {
  (void)state;
  size_t len;
  char *in = big_case(&len, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ", 2000, "\r\n\r\n");
  expect_refused("header block over limit", in, len, 431, len);
  expect_refused("header block over limit", in, len, 431, 7);
  free(in);
  in = big_case(&len, "GET /", MOL_H1_MAX_URL + 1, " HTTP/1.1\r\nHost: t\r\n\r\n");
  expect_refused("target too long", in, len, 414, len);
  free(in);
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, "GET / HTTP/1.1\r\nHost: t\r\n");
  for (int i = 0; i <= MOL_H1_MAX_HEADERS; i++) mol_buf_append_str(&b, "A: b\r\n");
  mol_buf_append_str(&b, "\r\n");
  harness h;
  h_init(&h, 64 * 1024, 64);
  mol_http__h1_feed(&h.c, b.data, b.len);
  assert_non_null(strstr(h.c.out.data, "HTTP/1.1 431 "));
  h_free(&h);
  mol_buf_free(&b);
}

/* Host forms RFC 9112 §3.2 allows, and HTTP/1.0 without one. */
static void host_forms_accepted(void **state) {
  (void)state;
  static const char *const ok[] = {
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost:\r\n\r\n", /* empty: a target without authority */
    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET / HTTP/1.1\r\nhost: Example.COM:8080\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [::1]:9\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a-b_c~d.%41!$&'()*+,;=\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", /* port = *DIGIT */
    "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    for (size_t step = 1; step <= strlen(ok[i]); step += strlen(ok[i]) - 1) {
      harness h;
      h_init(&h, 0, 0);
      feed_all(&h, ok[i], strlen(ok[i]), step);
      if (h.nreq != 1 || strncmp(h.c.out.data, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("[%s] (step %zu): nreq=%d out=[%s]", ok[i], step, h.nreq,
                 h.c.out.data ? h.c.out.data : "");
      h_free(&h);
    }
  }
}

/* A request that was refused still lets the earlier pipelined ones be answered first. */
static void error_after_good_request(void **state) {
  (void)state;
  harness h;
  h_init(&h, 1024, 64);
  static const char in[] = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\nBAD\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_int_equal(h.nreq, 1);
  const char *second = strstr(h.c.out.data + 1, "HTTP/1.1 ");
  assert_true(strncmp(h.c.out.data, "HTTP/1.1 200 OK", 15) == 0);
  assert_non_null(second);
  assert_true(strncmp(second, "HTTP/1.1 400 ", 13) == 0);
  assert_true(h.c.done);
  h_free(&h);
}

/* ---- good input: byte boundaries don't matter ---------------------------------------------- */

static const char good_input[] =
    "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-Trim:  padded \t \r\nEmpty:\r\n\r\n"
    "POST /post HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
    "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
    "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET http://example/abs?q HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /last#frag HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    "GET /never HTTP/1.1\r\nHost: t\r\n\r\n";

static void run_good(size_t step, mol_buf *log, char **out) {
  harness h;
  h_init(&h, 0, 0);
  feed_all(&h, good_input, sizeof(good_input) - 1, step);
  assert_int_equal(h.nreq, 8);
  assert_true(h.c.done);
  mol_buf_append(log, h.log.data, h.log.len);
  *out = out_nodate(&h);
  h_free(&h);
}

static void split_anywhere_parses_the_same(void **state) {
  (void)state;
  mol_buf ref = MOL_BUF_INIT;
  char *ref_out;
  run_good(sizeof(good_input), &ref, &ref_out);
  assert_non_null(strstr(ref.data, "GET /a/b ?x=1&y=2\n"));
  assert_non_null(strstr(ref.data, "  X-Trim=[padded]\n"));
  assert_non_null(strstr(ref.data, "  Empty=[]\n"));
  assert_non_null(strstr(ref.data, "body 5 [abcde]"));
  assert_null(strstr(ref.data, "Trailer=")); /* trailers are not merged into headers */
  assert_non_null(strstr(ref.data, "GET /abs ?q\n"));
  assert_non_null(strstr(ref.data, "OPTIONS * ?(none)\n"));
  assert_non_null(strstr(ref.data, "GET /last ?(none)\n"));
  assert_null(strstr(ref.data, "/never"));
  assert_non_null(strstr(ref_out, "Content-Length: 0\r\nConnection: keep-alive\r\n"));
  for (size_t step = 1; step < 40; step++) {
    mol_buf log = MOL_BUF_INIT;
    char *out;
    run_good(step, &log, &out);
    assert_string_equal(log.data, ref.data);
    assert_string_equal(out, ref_out);
    mol_buf_free(&log);
    free(out);
  }
  mol_buf_free(&ref);
  free(ref_out);
}

/* Every split into two pieces, which covers each boundary of each token. */
static void split_in_two_everywhere(void **state) {
  (void)state;
  mol_buf ref = MOL_BUF_INIT;
  char *ref_out;
  run_good(sizeof(good_input), &ref, &ref_out);
  size_t len = sizeof(good_input) - 1;
  for (size_t cut = 1; cut < len; cut++) {
    harness h;
    h_init(&h, 0, 0);
    mol_http__h1_feed(&h.c, good_input, cut);
    mol_http__h1_feed(&h.c, good_input + cut, len - cut);
    assert_string_equal(h.log.data, ref.data);
    char *out = out_nodate(&h);
    assert_string_equal(out, ref_out);
    free(out);
    h_free(&h);
  }
  mol_buf_free(&ref);
  free(ref_out);
}

/* ---- responses -------------------------------------------------------------------------- */

static void pipelined_answers_in_order(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.hold = 1;
  static const char in[] = "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_int_equal(h.nheld, 3);
  assert_int_equal(mol_http_respond(h.held[2], 200, NULL, "three", 5), 0);
  assert_int_equal(mol_http_respond(h.held[1], 200, NULL, "two", 3), 0);
  assert_int_equal(h.c.out.len, 0);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_BUSY);
  assert_int_equal(mol_http_respond(h.held[0], 200, NULL, "one", 3), 0);
  const char *o = h.c.out.data;
  const char *p1 = strstr(o, "\r\n\r\none"), *p2 = strstr(o, "\r\n\r\ntwo");
  const char *p3 = strstr(o, "\r\n\r\nthree");
  assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_IDLE);
  h_free(&h);
}

static void pipeline_limit_holds_input_back(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.lim.max_pipelined = 2;
  h.hold = 1;
  static const char in[] = "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_int_equal(h.nheld, 2);
  assert_true(mol_http__h1_blocked(&h.c));
  mol_http_respond(h.held[0], 200, NULL, NULL, 0);
  mol_http__h1_resume(&h.c);
  assert_int_equal(h.nheld, 3);
  mol_http_respond(h.held[1], 200, NULL, NULL, 0);
  mol_http_respond(h.held[2], 200, NULL, NULL, 0);
  assert_false(mol_http__h1_blocked(&h.c));
  h_free(&h);
}

static size_t fake_socket_queued(void *ctx) { return ((harness *)ctx)->sock_q; }

/* While more than max_write_queue answered bytes wait for the peer (in the socket or in out),
 * no further request is parsed: a client that reads nothing cannot make the server queue an
 * answer per request it pipelines. */
static void write_backlog_holds_input_back(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.lim.max_write_queue = 150; /* an answer here is about 100 bytes */
  h.cb.socket_queued = fake_socket_queued;
  h.sock_q = 151;
  static const char in[] = "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_int_equal(h.nreq, 0);
  assert_true(mol_http__h1_blocked(&h.c));
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_BUSY); /* no read timeout while held back */
  h.sock_q = 0;
  mol_http__h1_resume(&h.c);
  assert_int_equal(h.nreq, 2); /* the second answer took out past 150 bytes */
  assert_true(h.c.out.len > 150);
  h.c.out.len = 0; /* written */
  mol_http__h1_resume(&h.c);
  assert_int_equal(h.nreq, 3);
  assert_false(mol_http__h1_blocked(&h.c));
  h_free(&h);
}

static void chunked_sse_and_head(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.hold = 1;
  static const char in[] = "GET /s HTTP/1.1\r\nHost: t\r\n\r\nHEAD /h HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_int_equal(mol_http_sse_start(h.held[0]), 0);
  assert_int_equal(mol_http_sse_send(h.held[0], "tick", "a\nb\r\nc", 6), 0);
  assert_int_equal(mol_http_sse_send(h.held[0], "bad\nname", "x", 1), MOL_EINVAL);
  assert_int_equal(mol_http_resp_write(h.held[0], "", 0), 0);
  assert_int_equal(mol_http_resp_end(h.held[0]), 0);
  assert_int_equal(mol_http_respond(h.held[1], 200, "text/plain", "body", 4), 0);
  char *o = out_nodate(&h);
  static const char want[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
      "Cache-Control: no-cache\r\n\r\n"
      "25\r\nevent: tick\ndata: a\ndata: b\ndata: c\n\n\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n";
  assert_string_equal(o, want);
  free(o);
  h_free(&h);
}

/* The reference framing, a byte at a time: each line of data (split at CR, LF or CRLF)
 * becomes "data: <line>\n", and a blank line ends the event. */
static size_t sse_reference(char *out, const char *data, size_t len) {
  size_t n = 0;
  n += (size_t)sprintf(out + n, "data: ");
  for (size_t i = 0; i < len; i++) {
    if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') continue;
    if (data[i] == '\r' || data[i] == '\n') n += (size_t)sprintf(out + n, "\ndata: ");
    else out[n++] = data[i];
  }
  n += (size_t)sprintf(out + n, "\n\n");
  return n;
}

static void sse_line_breaks_anywhere(void **state) {
  (void)state;
  static const char *const cases[] = {
      "", "x", "\n", "\r", "\r\n", "\n\r", "\r\r\n", "\n\n", "a\rb", "\ra", "a\r", "a\n",
      "{\"jsonrpc\":\"2.0\",\"result\":{\"text\":\"no break in JSON\"}}", "a\r\nb\rc\nd\r\n\r\ne\r",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    harness h;
    h_init(&h, 0, 0);
    h.hold = 1;
    static const char in[] = "GET /s HTTP/1.1\r\nHost: t\r\n\r\n";
    mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
    assert_int_equal(mol_http_sse_start(h.held[0]), 0);
    size_t len = strlen(cases[i]);
    assert_int_equal(mol_http_sse_send(h.held[0], NULL, len ? cases[i] : NULL, len), 0);
    assert_int_equal(mol_http_resp_end(h.held[0]), 0);
    char event[256], want[512];
    size_t n = sse_reference(event, cases[i], len);
    snprintf(want, sizeof(want),
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
             "Cache-Control: no-cache\r\n\r\n%zx\r\n%.*s\r\n0\r\n\r\n",
             n, (int)n, event);
    char *o = out_nodate(&h);
    assert_string_equal(o, want);
    free(o);
    h_free(&h);
  }
}

static void header_injection_refused(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.hold = 1;
  static const char in[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  mol_http_req *r = h.held[0];
  assert_int_equal(mol_http_resp_header(r, "X-A", "ok\r\nSet-Cookie: x"), MOL_EINVAL);
  assert_int_equal(mol_http_resp_header(r, "X A", "v"), MOL_EINVAL);
  assert_int_equal(mol_http_resp_header(r, "content-length", "1"), MOL_EINVAL);
  assert_int_equal(mol_http_resp_header(r, "Transfer-Encoding", "chunked"), MOL_EINVAL);
  assert_int_equal(mol_http_resp_header(r, "X-A", "v"), 0);
  assert_int_equal(mol_http_respond(r, 100, NULL, NULL, 0), MOL_EINVAL);
  assert_int_equal(mol_http_respond(r, 204, "text/plain", "x", 1), 0);
  char *o = out_nodate(&h);
  assert_string_equal(o, "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\nX-A: v\r\n\r\n");
  free(o);
  h_free(&h);
}

static void on_abort_cb(mol_http_req *r, void *arg) {
  harness *h = arg;
  h->aborts++;
  assert_string_equal(mol_http_req_path(r), "/a");
}

/* Requests still with the application survive the connection and are released by the
 * finishing call; already answered ones are freed with the connection. */
static void abort_orphans_held_requests(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  h.hold = 1;
  static const char in[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  mol_http_req_on_abort(h.held[0], on_abort_cb, &h);
  mol_http_respond(h.held[1], 200, NULL, NULL, 0);
  assert_int_equal(mol_http__h1_eof(&h.c), 1);
  mol_http__h1_abort(&h.c);
  mol_http__h1_abort(&h.c);
  assert_int_equal(h.aborts, 1);
  mol_http__h1_free(&h.c);
  assert_int_equal(mol_http_resp_write(h.held[0], "x", 1), MOL_EINVAL);
  assert_int_equal(mol_http_respond(h.held[0], 200, NULL, "late", 4), 0);
  mol_buf_free(&h.log);
}

static void expect_continue_and_http10(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  static const char in[] =
      "POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  mol_http__h1_feed(&h.c, in, sizeof(in) - 1);
  assert_string_equal(h.c.out.data, "HTTP/1.1 100 Continue\r\n\r\n");
  mol_http__h1_feed(&h.c, "ok", 2);
  assert_int_equal(h.nreq, 1);
  assert_non_null(strstr(h.c.out.data, "\r\n\r\nok"));
  h_free(&h);

  h_init(&h, 0, 0);
  static const char ten[] = "GET / HTTP/1.0\r\n\r\nGET /x HTTP/1.0\r\n\r\n";
  mol_http__h1_feed(&h.c, ten, sizeof(ten) - 1);
  assert_int_equal(h.nreq, 1);
  assert_non_null(strstr(h.c.out.data, "Connection: close\r\n"));
  assert_true(h.c.done);
  h_free(&h);
}

static void timeout_and_shutdown(void **state) {
  (void)state;
  harness h;
  h_init(&h, 0, 0);
  mol_http__h1_feed(&h.c, "GET / HT", 8);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_HEAD);
  mol_http__h1_fail(&h.c, 408);
  assert_true(strncmp(h.c.out.data, "HTTP/1.1 408 ", 13) == 0);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_CLOSING);
  h_free(&h);

  h_init(&h, 0, 0);
  h.hold = 1;
  static const char two[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HT";
  mol_http__h1_feed(&h.c, two, sizeof(two) - 1);
  mol_http__h1_shutdown(&h.c);
  assert_int_equal(mol_http__h1_phase(&h.c), MOL_H1_BUSY);
  mol_http_respond(h.held[0], 200, NULL, NULL, 0);
  assert_non_null(strstr(h.c.out.data, "Connection: close\r\n"));
  assert_true(h.c.done);
  h_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(malformed_table),
    cmocka_unit_test(host_forms_accepted),
    cmocka_unit_test(oversized_heads),
    cmocka_unit_test(error_after_good_request),
    cmocka_unit_test(split_anywhere_parses_the_same),
    cmocka_unit_test(split_in_two_everywhere),
    cmocka_unit_test(pipelined_answers_in_order),
    cmocka_unit_test(pipeline_limit_holds_input_back),
    cmocka_unit_test(write_backlog_holds_input_back),
    cmocka_unit_test(chunked_sse_and_head),
    cmocka_unit_test(sse_line_breaks_anywhere),
    cmocka_unit_test(header_injection_refused),
    cmocka_unit_test(abort_orphans_held_requests),
    cmocka_unit_test(expect_continue_and_http10),
    cmocka_unit_test(timeout_and_shutdown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
