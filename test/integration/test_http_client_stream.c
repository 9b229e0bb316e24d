/* Streaming mode: a 20 MB body delivered piece by piece with pauses and resumes. The client
 * must never buffer the body, and while it is paused the back-pressure must reach the server
 * (its write queue fills up because the client stops reading). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client_env.h"

enum {
  BODY = 20 * 1024 * 1024,
  PIECE = 64 * 1024,
  SERVER_QUEUE_CAP = 1024 * 1024,
  PAUSE_EVERY = 4 * 1024 * 1024
};

static char piece[PIECE];

/* Writes while the server's own queue is short; a 1 ms tick keeps it going. */
static void stream_tick(uv_timer_t *t) {
  fake_conn *fc = t->data;
  while (fc->remaining && fc->tcp.write_queue_size < SERVER_QUEUE_CAP) {
    size_t n = fc->remaining < PIECE ? fc->remaining : PIECE;
    fs_write_then(fc, piece, n, 0);
    fc->remaining -= n;
  }
  if (fc->tcp.write_queue_size > fc->fs->max_write_queue)
    fc->fs->max_write_queue = fc->tcp.write_queue_size;
  if (!fc->remaining) uv_timer_stop(t);
}

static void fs_stream(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  char head[128];
  snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BODY);
  fs_write(fc, head);
  fc->remaining = BODY;
  uv_timer_start(&fc->timer, stream_tick, 1, 1);
}

typedef struct {
  result res;
  env *e;
  mol_http_request *r;
  uv_timer_t timer;
  size_t got, next_pause, biggest_piece;
  int paused, pauses, resumes, body_while_paused, blocked_server, server_had_more;
  int external_pause;
  int headers_seen;
} stream_ctx;

static fake_conn *server_conn(stream_ctx *sc) { return sc->e->fs.conns[0]; }

static void resume_tick(uv_timer_t *t) {
  stream_ctx *sc = t->data;
  fake_conn *fc = server_conn(sc);
  /* The server cannot hand its bytes to the kernel while we are not reading. */
  if (fc && fc->remaining) {
    sc->server_had_more++;
    if (fc->tcp.write_queue_size > 0) sc->blocked_server++;
  }
  sc->paused = 0;
  sc->resumes++;
  mol_http_request_resume(sc->r);
}

static void pause_for_a_while(stream_ctx *sc) {
  sc->paused = 1;
  sc->pauses++;
  uv_timer_start(&sc->timer, resume_tick, 800, 0);
}

static int on_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)data;
  stream_ctx *sc = arg;
  if (sc->paused) sc->body_while_paused++;
  if (len > sc->biggest_piece) sc->biggest_piece = len;
  sc->got += len;
  if (sc->got < sc->next_pause) return 0;
  sc->next_pause += PAUSE_EVERY;
  pause_for_a_while(sc);
  if (!sc->external_pause) return 1;
  mol_http_request_pause(r);
  return 0;
}

static int on_headers(mol_http_request *r, const mol_http_response *resp, void *arg) {
  (void)r;
  stream_ctx *sc = arg;
  sc->headers_seen++;
  assert_int_equal(resp->status, 200);
  assert_null(resp->body);
  return 0;
}

static void stream_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  res_done(r, err, resp, &((stream_ctx *)arg)->res);
}

static void run_stream(int external_pause) {
  env e;
  env_setup(&e, fs_stream, NULL);
  stream_ctx sc = {.e = &e, .next_pause = PAUSE_EVERY, .external_pause = external_pause};
  uv_timer_init(&e.loop, &sc.timer);
  sc.timer.data = &sc;
  mol_http_request_opts o = {.url = e.url, .on_body = on_body, .on_headers = on_headers,
                             .idle_timeout_ms = 500, .max_body_bytes = 1024};
  assert_int_equal(mol_http_request_send(e.c, &o, stream_done, &sc, &sc.r), 0);
  run_until(&e, &sc.res.calls, 1);
  /* idle_timeout (500 ms) < pause (800 ms): a paused request is not idle. The idle timeout is
   * the one real-time bound here, so it is set far above a scheduling hiccup of a loaded
   * machine (at 100 ms, a 2-CPU machine at load 11 timed a running stream out). max_body_bytes
   * does not apply to streamed bodies. */
  assert_int_equal(sc.res.err, 0);
  assert_int_equal(sc.res.status, 200);
  assert_int_equal(sc.res.body_was_null, 1);
  assert_int_equal(sc.res.body.len, 0);
  assert_int_equal(sc.got, BODY);
  assert_int_equal(sc.headers_seen, 1);
  assert_true(sc.biggest_piece <= PIECE);
  assert_int_equal(sc.pauses, BODY / PAUSE_EVERY);
  assert_int_equal(sc.pauses, sc.resumes);
  /* Kernel buffers absorb a few MB, so the last pauses may find the server done; every pause
   * that found it with more to send found it blocked. */
  assert_true(sc.server_had_more >= 2);
  assert_int_equal(sc.blocked_server, sc.server_had_more);
  assert_int_equal(sc.body_while_paused, 0);
  uv_close((uv_handle_t *)&sc.timer, NULL);
  env_teardown(&e);
  assert_int_equal(sc.res.calls, 1);
}

static void streaming_pause_resume_20mb(void **state) {
  (void)state;
  run_stream(0);
}

/* mol_http_request_pause() called inside on_body works like returning non-zero. */
static void streaming_pause_call_20mb(void **state) {
  (void)state;
  run_stream(1);
}

static int count_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  (void)r;
  (void)data;
  *(size_t *)arg += len;
  return 0;
}

typedef struct {
  result res;
  size_t got;
} small_ctx;

static void small_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  res_done(r, err, resp, &((small_ctx *)arg)->res);
}

static int small_body(mol_http_request *r, const char *data, size_t len, void *arg) {
  return count_body(r, data, len, &((small_ctx *)arg)->got);
}

/* Paused before the connection even exists: nothing is read until resume. */
static void pause_before_connect(void **state) {
  (void)state;
  env e;
  env_setup(&e, fs_canned, NULL);
  e.fs.canned = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  small_ctx sc = {0};
  mol_http_request *r;
  mol_http_request_opts o = {.url = e.url, .on_body = small_body, .idle_timeout_ms = 500};
  assert_int_equal(mol_http_request_send(e.c, &o, small_done, &sc, &r), 0);
  mol_http_request_pause(r);
  run_for(&e, 800); /* longer than the idle timeout: paused is not idle */
  assert_int_equal(e.fs.nrequests, 1);
  assert_int_equal(sc.got, 0);
  assert_int_equal(sc.res.calls, 0);
  mol_http_request_resume(r);
  assert_int_equal(sc.got, 0); /* delivered later, not inside resume */
  run_until(&e, &sc.res.calls, 1);
  assert_int_equal(sc.res.err, 0);
  assert_int_equal(sc.got, 3);
  env_teardown(&e);
  assert_int_equal(sc.res.calls, 1);
}

int main(void) {
  memset(piece, 'z', sizeof(piece));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(streaming_pause_resume_20mb),
      cmocka_unit_test(streaming_pause_call_20mb),
      cmocka_unit_test(pause_before_connect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
