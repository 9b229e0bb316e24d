/* http_client_env.h - per-test loop, fake server and client, plus a result collector. */
#ifndef TEST_HTTP_CLIENT_ENV_H
#define TEST_HTTP_CLIENT_ENV_H

#include "http/client.h"
#include "http_fake_server.h"
#include "molecule.h"

typedef struct {
  int calls;
  int err;
  int status;
  int had_resp;
  int body_was_null;
  mol_buf body;
  char header[128];       /* value of the response header named in want_header */
  const char *want_header;
  int *counter;           /* optional shared completion counter */
} result;

typedef struct {
  uv_loop_t loop;
  uv_timer_t tick;        /* keeps UV_RUN_ONCE from sleeping forever */
  fake_server fs;
  mol_http_client *c;
  int closed;
  char url[128];
} env;

static inline void res_done(mol_http_request *r, int err, const mol_http_response *resp,
                            void *arg) {
  (void)r;
  result *res = arg;
  res->calls++;
  res->err = err;
  res->had_resp = resp != NULL;
  res->status = resp ? resp->status : 0;
  res->body_was_null = resp && !resp->body;
  if (resp && resp->body) mol_buf_append(&res->body, resp->body, resp->body_len);
  if (resp && res->want_header) {
    const char *v = mol_http_headers_get(resp->headers, res->want_header);
    snprintf(res->header, sizeof(res->header), "%s", v ? v : "");
  }
  if (res->counter) (*res->counter)++;
}

static inline void tick_cb(uv_timer_t *t) { (void)t; }

static inline void env_setup(env *e, fake_handler h, const mol_http_client_opts *opts) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 50, 50);
  assert_int_equal(fs_start(&e->fs, &e->loop, h, "127.0.0.1"), 0);
  assert_int_equal(mol_http_client_new(&e->loop, opts, &e->c), 0);
  snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%d/path?q=1", e->fs.port);
}

/* Runs the loop until *n reaches want; fails after 30 s. */
static inline void run_until(env *e, const int *n, int want) {
  uint64_t start = uv_now(&e->loop);
  while (*n < want) {
    uv_run(&e->loop, UV_RUN_ONCE);
    if (uv_now(&e->loop) - start > 30000) fail_msg("timed out waiting: %d < %d", *n, want);
  }
}

static inline void run_for(env *e, unsigned ms) {
  uint64_t end = uv_now(&e->loop) + ms;
  while (uv_now(&e->loop) < end) uv_run(&e->loop, UV_RUN_ONCE);
}

static inline void on_client_closed(void *arg) { (*(int *)arg)++; }

/* Closes the client (every callback must already have fired or fire now), the server, and
 * checks that no handle was left behind. */
static inline void env_teardown(env *e) {
  if (e->c) {
    mol_http_client_close(e->c, on_client_closed, &e->closed);
    assert_int_equal(e->closed, 0); /* never inside the close call */
    run_until(e, &e->closed, 1);
  }
  fs_stop(&e->fs);
  uv_close((uv_handle_t *)&e->tick, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(e->closed, e->c ? 1 : 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
}

static inline int env_get(env *e, const char *url, result *res, mol_http_request **out) {
  mol_http_request_opts o = {.url = url ? url : e->url};
  return mol_http_request_send(e->c, &o, res_done, res, out);
}

#endif
