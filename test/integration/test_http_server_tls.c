/* HTTPS: the HTTP server over mol_stream's TLS, driven by a TLS mol_stream client on the
 * same loop; a plain-text client on the TLS port is refused without disturbing others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "http/tls.h"
#include "test_http_server_util.h"
#include "tls_testcerts.h"

static mol_testcert ca, leaf;

typedef struct {
  mol_stream s;
  tclient view; /* in/eof, for tc_responses */
  int connected, closed;
} tls_client;

static void h_echo(mol_http_req *r, void *arg) {
  (void)arg;
  size_t n;
  const char *body = mol_http_req_body(r, &n);
  mol_http_respond(r, 200, "application/json", body, n);
}

static void tls_on_read(mol_stream *s, ssize_t n, const char *data) {
  tls_client *c = s->data;
  if (n > 0) mol_buf_append(&c->view.in, data, (size_t)n);
  else c->view.eof = 1;
}

static void tls_on_connect(mol_stream *s, int status) {
  tls_client *c = s->data;
  c->connected = status == 0 ? 1 : -1;
  if (status == 0) mol_stream_read_start(s, tls_on_read);
}

static void tls_on_close(mol_stream *s) { ((tls_client *)s->data)->closed = 1; }

static int tls_ready(void *arg) { return ((tls_client *)arg)->connected != 0; }
static int tls_closed(void *arg) { return ((tls_client *)arg)->closed; }

typedef struct {
  tls_client *c;
  int n;
} want;

static int tls_has(void *arg) {
  want *w = arg;
  tresp r[4];
  int n = tc_responses(&w->c->view, r, 4);
  tresp_free(r, n < 4 ? n : 4);
  return n >= w->n;
}

static void https_keep_alive_and_pipelining(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_tls_server_opts so = {.cert_pem = leaf.cert_pem, .key_pem = leaf.key_pem};
  mol_tls_client_opts co = {.ca_pem = ca.cert_pem};
  mol_tls_config *scfg, *ccfg;
  assert_int_equal(mol_tls_config_server(&so, &scfg), 0);
  assert_int_equal(mol_tls_config_client(&co, &ccfg), 0);
  mol_http_server_opts o = {.tls = scfg};
  mol_http_server *s;
  assert_int_equal(mol_http_server_new(&loop, &o, &s), 0);
  assert_int_equal(mol_http_server_route(s, "POST", "/echo", 0, h_echo, NULL), 0);
  assert_int_equal(mol_http_server_listen(s, "127.0.0.1", 0), 0);

  /* A plain-text client on the TLS port only loses its own connection. */
  tclient *plain = tc_open(&loop, "127.0.0.1", mol_http_server_port(s), 0);
  assert_true(run_until(&loop, is_connected, plain, 2000));
  tc_send_str(plain, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&loop, has_eof, plain, 3000));
  tc_close(plain);

  tls_client c;
  memset(&c, 0, sizeof(c));
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", mol_http_server_port(s), &addr);
  int rc = mol_stream_connect(&loop, &c.s, (struct sockaddr *)&addr, ccfg, "localhost",
                              tls_on_connect);
  c.s.data = &c;
  c.s.on_close = tls_on_close;
  assert_int_equal(rc, 0);
  assert_true(run_until(&loop, tls_ready, &c, 3000));
  assert_int_equal(c.connected, 1);
  static const char two[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
                            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\ntwo";
  mol_stream_write(&c.s, two, sizeof(two) - 1, NULL, NULL);
  want w = {&c, 2};
  assert_true(run_until(&loop, tls_has, &w, 3000));
  static const char three[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nthree";
  mol_stream_write(&c.s, three, sizeof(three) - 1, NULL, NULL);
  w.n = 3;
  assert_true(run_until(&loop, tls_has, &w, 3000));
  tresp r[3];
  assert_int_equal(tc_responses(&c.view, r, 3), 3);
  assert_string_equal(r[0].body.data, "one");
  assert_string_equal(r[1].body.data, "two");
  assert_string_equal(r[2].body.data, "three");
  assert_true(r[2].keep_alive);
  tresp_free(r, 3);

  mol_stream_close(&c.s, 0);
  assert_true(run_until(&loop, tls_closed, &c, 2000));
  mol_buf_free(&c.view.in);
  close_server_and_loop(&loop, s);
  mol_tls_config_free(scfg);
  mol_tls_config_free(ccfg);
}

static int setup_certs(void **state) {
  (void)state;
  if (mol_testcert_ca(&ca, "molecule server test CA") ||
      mol_testcert_leaf(&leaf, &ca, "localhost"))
    return -1;
  return 0;
}

static int free_certs(void **state) {
  (void)state;
  mol_testcert_free(&ca);
  mol_testcert_free(&leaf);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(https_keep_alive_and_pipelining),
  };
  return cmocka_run_group_tests(tests, setup_certs, free_certs);
}
