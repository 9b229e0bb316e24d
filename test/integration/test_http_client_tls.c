/* HTTPS through the client: a TLS peer built on mol_stream with throw-away certificates,
 * checking verification on by default, a caller CA, insecure_skip_verify kept in its own
 * pool, keep-alive over TLS, and a plain-text peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client_env.h"
#include "tls_testcerts.h"

typedef struct tls_srv tls_srv;

typedef struct {
  mol_stream s;
  tls_srv *srv;
  mol_buf in;
  int served;
} tls_peer;

struct tls_srv {
  uv_tcp_t listener;
  uv_loop_t *loop;
  mol_tls_config *cfg; /* NULL: answer in plain text */
  int port, nconns, nrequests, live;
};

static mol_testcert ca, leaf;

static void peer_closed(mol_stream *s) {
  tls_peer *p = s->data;
  p->srv->live--;
  mol_buf_free(&p->in);
  free(p);
}

static const char *const SECURE_RESP = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";

static void peer_read(mol_stream *s, ssize_t n, const char *data) {
  tls_peer *p = s->data;
  if (n < 0) {
    mol_stream_close(s, 0);
    return;
  }
  mol_buf_append(&p->in, data, (size_t)n);
  char *end;
  while ((end = memmem(p->in.data, p->in.len, "\r\n\r\n", 4))) {
    mol_buf_consume(&p->in, (size_t)(end - p->in.data) + 4);
    p->served++;
    p->srv->nrequests++;
    mol_stream_write(s, SECURE_RESP, strlen(SECURE_RESP), NULL, NULL);
  }
}

static void on_peer(uv_stream_t *l, int status) {
  tls_srv *srv = l->data;
  if (status) return;
  tls_peer *p = calloc(1, sizeof(*p));
  p->srv = srv;
  srv->nconns++;
  srv->live++;
  if (mol_stream_accept(srv->loop, l, &p->s, srv->cfg, peer_closed)) return;
  p->s.data = p;
  if (!srv->cfg) { /* a plain HTTP server where TLS was expected */
    mol_stream_write(&p->s, "HTTP/1.1 400 Bad Request\r\n\r\n", 28, NULL, NULL);
    mol_stream_shutdown(&p->s);
  }
  mol_stream_read_start(&p->s, peer_read);
}

static void tls_srv_start(tls_srv *srv, uv_loop_t *loop, int plain) {
  memset(srv, 0, sizeof(*srv));
  srv->loop = loop;
  if (!plain) {
    mol_tls_server_opts o = {.cert_pem = leaf.cert_pem, .key_pem = leaf.key_pem};
    assert_int_equal(mol_tls_config_server(&o, &srv->cfg), 0);
  }
  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  assert_int_equal(uv_tcp_bind(&srv->listener, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&srv->listener, 64, on_peer), 0);
  int len = sizeof(a);
  uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&a, &len);
  srv->port = ntohs(a.sin_port);
}

/* Runs after the client is closed: its connections are gone, the peers see EOF. */
static void tls_srv_stop(env *e, tls_srv *srv) {
  uv_close((uv_handle_t *)&srv->listener, NULL);
  while (srv->live) uv_run(&e->loop, UV_RUN_ONCE);
  if (srv->cfg) mol_tls_config_free(srv->cfg);
}

/* The fake server of the env is unused here; only its loop and client matter. */
static void tls_env(env *e, tls_srv *srv, const mol_tls_client_opts *tls, int plain) {
  mol_http_client_opts co = {.tls = tls};
  env_setup(e, fs_silent, &co);
  tls_srv_start(srv, &e->loop, plain);
  snprintf(e->url, sizeof(e->url), "https://localhost:%d/secure", srv->port);
}

static void tls_env_done(env *e, tls_srv *srv) {
  mol_http_client_close(e->c, on_client_closed, &e->closed);
  run_until(e, &e->closed, 1);
  e->c = NULL;
  e->closed = 0;
  tls_srv_stop(e, srv);
  env_teardown(e);
}

static void trusted_ca_and_keepalive(void **state) {
  (void)state;
  env e;
  tls_srv srv;
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  tls_env(&e, &srv, &tls, 0);
  result a = {0}, b = {0};
  assert_int_equal(env_get(&e, NULL, &a, NULL), 0);
  run_until(&e, &a.calls, 1);
  assert_int_equal(env_get(&e, NULL, &b, NULL), 0);
  run_until(&e, &b.calls, 1);
  assert_int_equal(a.err, 0);
  assert_int_equal(b.err, 0);
  assert_int_equal(a.status, 200);
  assert_int_equal(b.body.len, 6);
  assert_memory_equal(b.body.data, "secure", 6);
  assert_int_equal(srv.nconns, 1); /* the TLS session was pooled and reused */
  assert_int_equal(srv.nrequests, 2);
  tls_env_done(&e, &srv);
  assert_int_equal(a.calls + b.calls, 2);
  mol_buf_free(&a.body);
  mol_buf_free(&b.body);
}

static void untrusted_fails_and_insecure_is_separate(void **state) {
  (void)state;
  env e;
  tls_srv srv;
  tls_env(&e, &srv, NULL, 0); /* the system bundle does not know our test CA */
  result bad = {0}, lax = {0}, bad2 = {0};
  assert_int_equal(env_get(&e, NULL, &bad, NULL), 0);
  run_until(&e, &bad.calls, 1);
  assert_int_equal(bad.err, MOL_ETLSVERIFY);
  assert_int_equal(bad.had_resp, 0);
  mol_http_request_opts o = {.url = e.url, .insecure_skip_verify = 1};
  assert_int_equal(mol_http_request_send(e.c, &o, res_done, &lax, NULL), 0);
  run_until(&e, &lax.calls, 1);
  assert_int_equal(lax.err, 0);
  assert_int_equal(lax.status, 200);
  /* The unverified connection sits in the pool, but never serves a verified request. */
  assert_int_equal(env_get(&e, NULL, &bad2, NULL), 0);
  run_until(&e, &bad2.calls, 1);
  assert_int_equal(bad2.err, MOL_ETLSVERIFY);
  assert_int_equal(srv.nrequests, 1);
  tls_env_done(&e, &srv);
  assert_int_equal(bad.calls + lax.calls + bad2.calls, 3);
  mol_buf_free(&lax.body);
}

static void plain_text_peer_is_tls_error(void **state) {
  (void)state;
  env e;
  tls_srv srv;
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  tls_env(&e, &srv, &tls, 1);
  result res = {0};
  assert_int_equal(env_get(&e, NULL, &res, NULL), 0);
  run_until(&e, &res.calls, 1);
  assert_int_equal(res.err, MOL_ETLS);
  assert_int_equal(res.had_resp, 0);
  tls_env_done(&e, &srv);
  assert_int_equal(res.calls, 1);
}

static int certs_setup(void **state) {
  (void)state;
  if (mol_testcert_ca(&ca, "client test CA")) return -1;
  return mol_testcert_leaf(&leaf, &ca, "localhost") ? -1 : 0;
}

static int certs_teardown(void **state) {
  (void)state;
  mol_testcert_free(&leaf);
  mol_testcert_free(&ca);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(trusted_ca_and_keepalive),
      cmocka_unit_test(untrusted_fails_and_insecure_is_separate),
      cmocka_unit_test(plain_text_peer_is_tls_error),
  };
  return cmocka_run_group_tests(tests, certs_setup, certs_teardown);
}
