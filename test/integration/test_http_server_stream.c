/* HTTP server streaming and lifecycle over loopback: chunked responses, SSE with
 * back-pressure, client disconnects (on_abort) and graceful close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "test_http_server_util.h"

#define PIECE (1024 * 1024)

typedef struct {
  uv_loop_t loop;
  mol_http_server *s;
  int port;
  mol_http_req *held;
  int aborts, drains, closed;
  size_t peak_queued;
  char *piece;
} fixture;

static void h_hold(mol_http_req *r, void *arg) { ((fixture *)arg)->held = r; }

static void h_chunks(mol_http_req *r, void *arg) {
  (void)arg;
  mol_http_resp_start(r, 200, "text/plain");
  mol_http_resp_write(r, "one,", 4);
  mol_http_resp_write(r, "two,", 4);
  mol_http_resp_write(r, "three", 5);
  mol_http_resp_end(r);
}

static void on_drain(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->drains++;
  if (mol_http_req_queued(r) == 0 && f->held) {
    mol_http_sse_send(r, "end", "bye", 3);
    mol_http_resp_end(r);
    f->held = NULL;
  }
}

static void abort_and_end(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->aborts++;
  assert_int_equal(mol_http_sse_send(r, NULL, "x", 1), MOL_EPIPE);
  assert_int_equal(mol_http_resp_end(r), 0); /* releases it */
  f->held = NULL;
}

/* Sends 16 MiB of events to a client that does not read. */
static void h_sse(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->held = r;
  assert_int_equal(mol_http_sse_start(r), 0);
  mol_http_req_on_drain(r, on_drain, f);
  mol_http_req_on_abort(r, abort_and_end, f);
  for (int i = 0; i < 16; i++) assert_int_equal(mol_http_sse_send(r, NULL, f->piece, PIECE), 0);
}

static void on_abort(mol_http_req *r, void *arg) {
  (void)r;
  ((fixture *)arg)->aborts++;
}

static void count_closed(void *arg);

/* Closing the server from inside a handler, as a /shutdown endpoint would. */
static void h_quit(mol_http_req *r, void *arg) {
  fixture *f = arg;
  mol_http_server_close(f->s, 1000, count_closed, f);
  assert_int_equal(mol_http_respond(r, 200, "text/plain", "bye", 3), 0);
}

static void setup(fixture *f, const mol_http_server_opts *o) {
  memset(f, 0, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(mol_http_server_new(&f->loop, o, &f->s), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/hold", 0, h_hold, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/chunks", 0, h_chunks, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "GET", "/sse", 0, h_sse, f), 0);
  assert_int_equal(mol_http_server_route(f->s, "POST", "/quit", 0, h_quit, f), 0);
  assert_int_equal(mol_http_server_listen(f->s, "127.0.0.1", 0), 0);
  f->port = mol_http_server_port(f->s);
}

static tclient *connect_ok(fixture *f, int rcvbuf) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", f->port, rcvbuf);
  assert_true(run_until(&f->loop, is_connected, c, 2000));
  assert_int_equal(c->connected, 1);
  return c;
}

static void chunked_response(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, 0);
  tc_send_str(c, "GET /chunks HTTP/1.1\r\nHost: t\r\n\r\nGET /chunks HTTP/1.0\r\n\r\n");
  assert_true(run_until(&f.loop, has_eof, c, 2000));
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 2);
  assert_string_equal(r[0].body.data, "one,two,three");
  assert_string_equal(r[1].body.data, "one,two,three"); /* close-delimited on HTTP/1.0 */
  tresp_free(r, 2);
  assert_non_null(strstr(c->in.data, "Transfer-Encoding: chunked\r\n"));
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static int sse_ended(void *arg) {
  tclient *c = arg;
  return c->in.len >= 5 && memcmp(c->in.data + c->in.len - 5, "0\r\n\r\n", 5) == 0;
}

static void sse_back_pressure(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.max_write_queue = 20 * PIECE};
  setup(&f, &o);
  f.piece = malloc(PIECE);
  memset(f.piece, 'e', PIECE);
  tclient *c = connect_ok(&f, 4096);
  tc_send_str(c, "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  uv_read_stop((uv_stream_t *)&c->tcp); /* a client that does not read */
  run_for(&f.loop, 300);
  assert_non_null(f.held);
  size_t q = mol_http_req_queued(f.held);
  assert_true(q > 4 * PIECE);
  assert_int_equal(f.drains, 0);
  size_t over = 20 * PIECE - q + 1;
  char *big = calloc(1, over);
  assert_int_equal(mol_http_sse_send(f.held, NULL, big, over), MOL_ETOOBIG);
  free(big);
  uv_read_start((uv_stream_t *)&c->tcp, tc_alloc, tc_on_read);
  assert_true(run_until(&f.loop, sse_ended, c, 10000));
  assert_true(f.drains >= 1);
  assert_null(f.held);
  assert_non_null(strstr(c->in.data, "Content-Type: text/event-stream\r\n"));
  assert_non_null(strstr(c->in.data, "event: end\ndata: bye\n\n"));
  assert_true(c->in.len > 16 * PIECE);
  free(f.piece);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}

static int aborted(void *arg) { return ((fixture *)arg)->aborts > 0; }

/* A reader that stalls for the send timeout loses its connection. */
static void stalled_reader_dropped(void **state) {
  (void)state;
  fixture f;
  mol_http_server_opts o = {.max_write_queue = 20 * PIECE, .send_timeout_ms = 300};
  setup(&f, &o);
  f.piece = malloc(PIECE);
  memset(f.piece, 'e', PIECE);
  tclient *c = connect_ok(&f, 4096);
  tc_send_str(c, "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  uv_read_stop((uv_stream_t *)&c->tcp);
  uint64_t t0 = uv_now(&f.loop);
  assert_true(run_until(&f.loop, aborted, &f, 3000));
  assert_true(uv_now(&f.loop) - t0 >= 250);
  assert_int_equal(f.aborts, 1);
  assert_null(f.held);
  free(f.piece);
  tc_close(c);
  close_server_and_loop(&f.loop, f.s);
}
static int held(void *arg) { return ((fixture *)arg)->held != NULL; }

static void disconnect_fires_on_abort_once(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, 0);
  tc_send_str(c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, held, &f, 2000));
  mol_http_req_on_abort(f.held, on_abort, &f);
  assert_string_equal(mol_http_req_path(f.held), "/hold");
  tc_close(c);
  assert_true(run_until(&f.loop, aborted, &f, 2000));
  run_for(&f.loop, 50);
  assert_int_equal(f.aborts, 1);
  /* The request outlives its connection until it is finished. */
  assert_string_equal(mol_http_req_path(f.held), "/hold");
  assert_true(strncmp(mol_http_req_peer(f.held), "127.0.0.1:", 10) == 0);
  assert_int_equal(mol_http_respond(f.held, 200, NULL, "late", 4), 0);
  close_server_and_loop(&f.loop, f.s);
}

static void respond_held(uv_timer_t *t) {
  fixture *f = t->data;
  mol_http_respond(f->held, 200, "text/plain", "finished", 8);
  f->held = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static void count_closed(void *arg) { ((fixture *)arg)->closed++; }
static int server_closed(void *arg) { return ((fixture *)arg)->closed > 0; }

static void graceful_close_finishes_in_flight(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *busy = connect_ok(&f, 0), *idle = connect_ok(&f, 0);
  tc_send_str(idle, "GET /chunks HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f.loop, idle, 1, 2000));
  tc_send_str(busy, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, held, &f, 2000));
  mol_http_req_on_abort(f.held, on_abort, &f);
  uv_timer_t t;
  uv_timer_init(&f.loop, &t);
  t.data = &f;
  uv_timer_start(&t, respond_held, 150, 0);
  mol_http_server_close(f.s, 5000, count_closed, &f);
  assert_true(run_until(&f.loop, has_eof, idle, 100)); /* idle: closed at once */
  assert_false(busy->eof);
  assert_true(run_until(&f.loop, server_closed, &f, 3000));
  assert_true(busy->eof);
  tresp r[1];
  assert_int_equal(tc_responses(busy, r, 1), 1);
  assert_string_equal(r[0].body.data, "finished");
  assert_false(r[0].keep_alive);
  tresp_free(r, 1);
  assert_int_equal(f.aborts, 0);
  tc_close(busy);
  tc_close(idle);
  uv_run(&f.loop, UV_RUN_DEFAULT);
  assert_int_equal(f.closed, 1);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void abort_and_release(mol_http_req *r, void *arg) {
  fixture *f = arg;
  f->aborts++;
  mol_http_respond(r, 200, NULL, NULL, 0); /* only releases it */
  f->held = NULL;
}

static void graceful_close_grace_expires(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, 0);
  tc_send_str(c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, held, &f, 2000));
  mol_http_req_on_abort(f.held, abort_and_release, &f);
  uint64_t t0 = uv_now(&f.loop);
  mol_http_server_close(f.s, 100, count_closed, &f);
  assert_true(run_until(&f.loop, server_closed, &f, 2000));
  assert_true(uv_now(&f.loop) - t0 >= 90);
  assert_int_equal(f.aborts, 1);
  assert_true(run_until(&f.loop, has_eof, c, 1000));
  tc_close(c);
  uv_run(&f.loop, UV_RUN_DEFAULT);
  assert_int_equal(f.closed, 1);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void close_from_handler(void **state) {
  (void)state;
  fixture f;
  setup(&f, NULL);
  tclient *c = connect_ok(&f, 0);
  tc_send_str(c, "POST /quit HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
                 "GET /chunks HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f.loop, has_eof, c, 2000));
  tresp r[2];
  assert_int_equal(tc_responses(c, r, 2), 1);
  assert_string_equal(r[0].body.data, "bye");
  assert_false(r[0].keep_alive);
  tresp_free(r, 1);
  tc_close(c);
  uv_run(&f.loop, UV_RUN_DEFAULT);
  assert_int_equal(f.closed, 1);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(chunked_response),
    cmocka_unit_test(sse_back_pressure),
    cmocka_unit_test(disconnect_fires_on_abort_once),
    cmocka_unit_test(stalled_reader_dropped),
    cmocka_unit_test(graceful_close_finishes_in_flight),
    cmocka_unit_test(graceful_close_grace_expires),
    cmocka_unit_test(close_from_handler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
