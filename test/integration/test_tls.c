/* test_tls.c - mol_stream over TLS on loopback: handshakes, verification failures, the
 * insecure opt-out, broken peers, large transfers with back-pressure, and the configs.
 * Certificates are generated for each run (tls_testcerts.h); nothing is committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "http/stream.h"
#include "http/tls.h"
#include "integration/tls_testcerts.h"
#include "molecule.h"

#define PAYLOAD (1024 * 1024)
#define GREETING "HELLO\n"
#define HIGH_WATER (64 * 1024)

/* ---- fixtures: certificates and files made once per run ------------------------------ */

static mol_testcert ca, other_ca, leaf, other_leaf;
static char tmpdir[] = "/tmp/mol-tls-XXXXXX";
static char ca_path[64], cert_path[64], key_path[64];
static int insecure_warnings;

static void log_sink(mol_log_level level, const char *line, void *arg) {
  (void)arg;
  if (level == MOL_LOG_WARN && strstr(line, "insecure_skip_verify")) insecure_warnings++;
  fprintf(stderr, "%s\n", line);
}

static void write_file(char *path, size_t cap, const char *name, const char *text) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state) {
  (void)state;
  mol_log_set_sink(log_sink, NULL);
  if (mol_testcert_ca(&ca, "molecule test CA") || mol_testcert_ca(&other_ca, "other CA") ||
      mol_testcert_leaf(&leaf, &ca, "localhost") ||
      mol_testcert_leaf(&other_leaf, &other_ca, "localhost"))
    return -1;
  if (!mkdtemp(tmpdir)) return -1;
  write_file(ca_path, sizeof(ca_path), "ca.pem", ca.cert_pem);
  write_file(cert_path, sizeof(cert_path), "cert.pem", leaf.cert_pem);
  write_file(key_path, sizeof(key_path), "key.pem", leaf.key_pem);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  unlink(ca_path);
  unlink(cert_path);
  unlink(key_path);
  rmdir(tmpdir);
  mol_testcert_free(&ca);
  mol_testcert_free(&other_ca);
  mol_testcert_free(&leaf);
  mol_testcert_free(&other_leaf);
  mol_log_set_sink(NULL, NULL);
  return 0;
}

/* ---- the harness: one loop, a listener, a server stream and a client stream ----------- */

typedef struct ctx ctx;

typedef struct {
  mol_stream s;
  ctx *t;
  int connects, connect_status;
  int closes, terminals;
  ssize_t terminal;
  int writes_ok, writes_failed, write_status;
  int drains, paused, pauses;
  mol_buf got;
} side;

enum server_mode { MODE_ECHO, CLOSE_AT_DATA, ABORT_AT_DATA, CLOSE_CLIENT_AT_DATA };

struct ctx {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_timer_t guard, delay;
  struct sockaddr_in addr;
  mol_tls_config *server_cfg, *client_cfg; /* server_cfg NULL: a plain TCP server */
  enum server_mode mode;
  int accepted;
  int greet;             /* 1: the server writes GREETING right after accept; 2: and shuts down */
  int delay_read;        /* the client starts reading 20 ms after on_connect */
  void (*client_ready)(ctx *t);
  mol_buf expect;        /* what the client waits for before shutting down */
  side server, client;
};

static void on_side_close(mol_stream *s) {
  side *x = s->data;
  x->closes++;
  /* A client closed before the server accepted: the listener would keep the loop alive. */
  uv_handle_t *l = (uv_handle_t *)&x->t->listener;
  if (!uv_is_closing(l)) uv_close(l, NULL);
}

static void on_side_write(mol_stream *s, int status, void *arg) {
  (void)s;
  side *x = arg;
  if (status == 0) {
    x->writes_ok++;
  } else {
    x->writes_failed++;
    x->write_status = status;
  }
}

static void on_server_read(mol_stream *s, ssize_t n, const char *data);

static void on_server_drain(mol_stream *s) {
  side *x = s->data;
  x->drains++;
  if (x->paused) {
    x->paused = 0;
    assert_int_equal(mol_stream_read_start(s, on_server_read), 0);
  }
}

static void echo(side *x, const char *data, size_t n) {
  assert_int_equal(mol_stream_write(&x->s, data, n, on_side_write, x), 0);
  if (mol_stream_queued(&x->s) > HIGH_WATER) { /* back-pressure: wait for on_drain */
    x->paused = 1;
    x->pauses++;
    mol_stream_read_stop(&x->s);
  }
}

static void on_server_read(mol_stream *s, ssize_t n, const char *data) {
  side *x = s->data;
  if (n < 0) {
    x->terminals++;
    x->terminal = n;
    mol_stream_close(s, 0);
    return;
  }
  assert_int_equal(mol_buf_append(&x->got, data, (size_t)n), 0);
  if (x->t->mode == CLOSE_AT_DATA || x->t->mode == ABORT_AT_DATA) {
    mol_stream_close(s, x->t->mode == ABORT_AT_DATA);
  } else if (x->t->mode == CLOSE_CLIENT_AT_DATA) {
    mol_stream_close(&x->t->client.s, 0);
  } else {
    echo(x, data, (size_t)n);
  }
}

static void on_connection(uv_stream_t *l, int status) {
  ctx *t = l->data;
  side *x = &t->server;
  assert_int_equal(status, 0);
  assert_int_equal(mol_stream_accept(&t->loop, l, &x->s, t->server_cfg, on_side_close), 0);
  x->s.data = x;
  x->s.on_drain = on_server_drain;
  t->accepted = 1;
  uv_close((uv_handle_t *)l, NULL); /* one connection per test */
  assert_int_equal(mol_stream_read_start(&x->s, on_server_read), 0);
  if (t->greet)
    assert_int_equal(mol_stream_write(&x->s, GREETING, strlen(GREETING), on_side_write, x), 0);
  if (t->greet == 2) assert_int_equal(mol_stream_shutdown(&x->s), 0);
}

static void on_client_read(mol_stream *s, ssize_t n, const char *data) {
  side *x = s->data;
  if (n < 0) {
    x->terminals++;
    x->terminal = n;
    mol_stream_close(s, 0);
    mol_stream_close(s, 1); /* idempotent: still one on_close */
    return;
  }
  assert_int_equal(mol_buf_append(&x->got, data, (size_t)n), 0);
  mol_buf *want = &x->t->expect;
  if (want->len && x->got.len == want->len) {
    assert_memory_equal(x->got.data, want->data, want->len);
    assert_int_equal(mol_stream_shutdown(s), 0);
    assert_int_equal(mol_stream_write(s, "late", 4, on_side_write, x), MOL_EPIPE);
  }
}

static void on_client_drain(mol_stream *s) {
  side *x = s->data;
  x->drains++;
  assert_int_equal(mol_stream_queued(s), 0);
}

static void on_delay(uv_timer_t *h) {
  ctx *t = h->data;
  uv_close((uv_handle_t *)h, NULL);
  assert_int_equal(mol_stream_read_start(&t->client.s, on_client_read), 0);
}

static void on_client_connect(mol_stream *s, int status) {
  side *x = s->data;
  ctx *t = x->t;
  x->connects++;
  x->connect_status = status;
  if (status) {
    mol_stream_close(s, 0);
    return;
  }
  s->on_drain = on_client_drain;
  if (t->delay_read) {
    uv_timer_init(&t->loop, &t->delay);
    t->delay.data = t;
    uv_timer_start(&t->delay, on_delay, 20, 0);
  } else {
    assert_int_equal(mol_stream_read_start(s, on_client_read), 0);
  }
  if (t->client_ready) t->client_ready(t);
}

static void on_guard(uv_timer_t *h) {
  (void)h;
  fail_msg("the loop is still running after 20 s");
}

static ctx *ctx_new(mol_tls_config *server_cfg) {
  ctx *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  assert_int_equal(uv_loop_init(&t->loop), 0);
  t->server_cfg = server_cfg;
  t->server.t = t->client.t = t;
  uv_timer_init(&t->loop, &t->guard);
  uv_timer_start(&t->guard, on_guard, 20000, 0);
  uv_unref((uv_handle_t *)&t->guard);
  uv_tcp_init(&t->loop, &t->listener);
  t->listener.data = t;
  uv_ip4_addr("127.0.0.1", 0, &t->addr);
  assert_int_equal(uv_tcp_bind(&t->listener, (struct sockaddr *)&t->addr, 0), 0);
  int len = sizeof(t->addr);
  uv_tcp_getsockname(&t->listener, (struct sockaddr *)&t->addr, &len);
  assert_int_equal(uv_listen((uv_stream_t *)&t->listener, 16, on_connection), 0);
  return t;
}

static void connect_client(ctx *t, mol_tls_config *cfg, const char *host) {
  side *x = &t->client;
  t->client_cfg = cfg;
  int rc = mol_stream_connect(&t->loop, &x->s, (struct sockaddr *)&t->addr, cfg, host,
                              on_client_connect);
  x->s.data = x;
  x->s.on_close = on_side_close;
  assert_int_equal(rc, 0);
}

/* Runs the loop until every handle is closed, then checks the once-only callbacks: each
 * stream closed once, at most one terminal read, exactly one on_connect. */
static void run(ctx *t) {
  uv_run(&t->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t->guard, NULL);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&t->loop), 0);
  assert_int_equal(t->client.closes, 1);
  assert_int_equal(t->client.connects, 1);
  assert_true(t->client.terminals <= 1);
  assert_true(t->server.terminals <= 1);
  assert_int_equal(t->server.closes, t->accepted);
}

static void ctx_free(ctx *t) {
  mol_tls_config_free(t->client_cfg);
  mol_tls_config_free(t->server_cfg);
  mol_buf_free(&t->client.got);
  mol_buf_free(&t->server.got);
  mol_buf_free(&t->expect);
  free(t);
}

static mol_tls_config *server_config_pem(const mol_testcert *id) {
  mol_tls_server_opts o = {.cert_pem = id->cert_pem, .key_pem = id->key_pem};
  mol_tls_config *cfg = NULL;
  assert_int_equal(mol_tls_config_server(&o, &cfg), 0);
  return cfg;
}

static mol_tls_config *client_config(const char *ca_file, const char *ca_pem, int insecure) {
  mol_tls_client_opts o = {.ca_file = ca_file, .ca_pem = ca_pem,
                           .insecure_skip_verify = insecure};
  mol_tls_config *cfg = NULL;
  assert_int_equal(mol_tls_config_client(&o, &cfg), 0);
  return cfg;
}

/* ---- (1) a good handshake and a 1 MB echo --------------------------------------------- */

static char *make_payload(void) {
  char *p = malloc(PAYLOAD);
  assert_non_null(p);
  for (size_t i = 0; i < PAYLOAD; i++) p[i] = (char)(i * 31 + (i >> 11));
  return p;
}

static void send_hello_and_payload(ctx *t) {
  mol_stream *s = &t->client.s;
  assert_int_equal(mol_stream_write(s, "hello", 5, on_side_write, &t->client), 0);
  assert_int_equal(mol_stream_write(s, "", 0, on_side_write, &t->client), 0);
  char *payload = make_payload();
  mol_buf_append(&t->expect, payload, PAYLOAD);
  assert_int_equal(mol_stream_write_owned(s, payload, PAYLOAD, on_side_write, &t->client), 0);
  /* Completions are asynchronous, so everything just accepted is still counted. */
  assert_int_equal(mol_stream_queued(s), 5 + PAYLOAD);
}

static void good_handshake_echo_1mb(void **state) {
  (void)state;
  mol_tls_server_opts so = {.cert_file = cert_path, .key_file = key_path};
  mol_tls_config *server_cfg = NULL;
  assert_int_equal(mol_tls_config_server(&so, &server_cfg), 0);
  ctx *t = ctx_new(server_cfg);
  t->greet = 1; /* written before the handshake ends: sent once the keys exist */
  t->client_ready = send_hello_and_payload;
  mol_buf_append_str(&t->expect, GREETING "hello");
  connect_client(t, client_config(ca_path, NULL, 0), "localhost");
  assert_int_equal(mol_stream_write(&t->client.s, "x", 1, NULL, NULL), MOL_EPIPE);
  run(t);
  side *c = &t->client, *sv = &t->server;
  assert_int_equal(c->connect_status, 0);
  assert_int_equal(c->got.len, t->expect.len);
  assert_int_equal(sv->got.len, 5 + PAYLOAD);
  assert_int_equal(c->terminal, MOL_EOF); /* the server's close_notify */
  assert_int_equal(sv->terminal, MOL_EOF); /* the client's shutdown */
  assert_int_equal(c->writes_ok, 3);
  assert_int_equal(c->writes_failed + sv->writes_failed, 0);
  assert_true(sv->writes_ok > 2);
  assert_true(c->drains >= 1);
  assert_true(sv->pauses >= 1); /* the echo outran the socket and resumed on drain */
  assert_int_equal(t->accepted, 1);
  ctx_free(t);
}

/* ---- (2, 3) verification failures ----------------------------------------------------- */

static void expect_rejected(mol_tls_config *client_cfg, const char *host) {
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->greet = 1;
  connect_client(t, client_cfg, host);
  run(t);
  assert_int_equal(t->client.connect_status, MOL_ETLSVERIFY);
  assert_int_equal(t->client.terminals, 0);
  assert_int_equal(t->server.terminals, 1);
  assert_int_equal(t->server.terminal, MOL_ETLS); /* the client's alert */
  assert_int_equal(t->server.writes_failed, 1);   /* the greeting never had keys */
  assert_int_equal(t->server.write_status, MOL_ETLS);
  ctx_free(t);
}

static void wrong_hostname(void **state) {
  (void)state;
  expect_rejected(client_config(NULL, ca.cert_pem, 0), "wrong.example");
}

static void untrusted_ca(void **state) {
  (void)state;
  expect_rejected(client_config(NULL, other_ca.cert_pem, 0), "localhost");
}

/* ---- (4) the insecure opt-out --------------------------------------------------------- */

static void send_hello(ctx *t) {
  assert_int_equal(mol_stream_write(&t->client.s, "hello", 5, on_side_write, &t->client), 0);
}

static void insecure_skip_verify_connects(void **state) {
  (void)state;
  insecure_warnings = 0;
  mol_tls_config *cfg = client_config(NULL, other_ca.cert_pem, 1);
  assert_int_equal(insecure_warnings, 1);
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->greet = 1;
  t->delay_read = 1; /* the greeting waits in the session until the client reads */
  t->client_ready = send_hello;
  mol_buf_append_str(&t->expect, GREETING "hello");
  connect_client(t, cfg, "wrong.example"); /* neither chain nor name is checked */
  run(t);
  assert_int_equal(t->client.connect_status, 0);
  assert_int_equal(t->client.got.len, t->expect.len);
  assert_int_equal(t->client.terminal, MOL_EOF);
  assert_int_equal(t->server.terminal, MOL_EOF);
  ctx_free(t);
}

/* ---- (5, 6) broken peers -------------------------------------------------------------- */

static void send_http_request(ctx *t) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  assert_int_equal(mol_stream_write(&t->client.s, req, sizeof(req) - 1, NULL, NULL), 0);
}

static void plain_client_against_tls_server(void **state) {
  (void)state;
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->client_ready = send_http_request;
  connect_client(t, NULL, NULL);
  run(t);
  assert_int_equal(t->client.connect_status, 0);
  assert_int_equal(t->client.terminals, 1);
  assert_true(t->client.terminal < 0);
  assert_int_equal(t->server.terminal, MOL_ETLS);
  ctx_free(t);
}

static void on_partial_sent(mol_stream *s, int status, void *arg) {
  on_side_write(s, status, arg);
  mol_stream_close(s, 0);
}

static void send_partial_client_hello(ctx *t) {
  /* A handshake record header announcing 128 bytes, then the peer goes away. */
  static const char partial[] = "\x16\x03\x01\x00\x80\x01\x00";
  assert_int_equal(mol_stream_write(&t->client.s, partial, sizeof(partial) - 1,
                                    on_partial_sent, &t->client), 0);
}

static void client_leaves_mid_handshake(void **state) {
  (void)state;
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->greet = 1;
  t->client_ready = send_partial_client_hello;
  connect_client(t, NULL, NULL);
  run(t);
  assert_int_equal(t->client.writes_ok, 1);
  assert_int_equal(t->server.terminals, 1);
  assert_int_equal(t->server.terminal, MOL_ETLS);
  assert_int_equal(t->server.writes_failed, 1);
  ctx_free(t);
}

static void server_leaves_mid_handshake(void **state) {
  (void)state;
  ctx *t = ctx_new(NULL); /* a plain TCP server that hangs up at the ClientHello */
  t->mode = CLOSE_AT_DATA;
  connect_client(t, client_config(NULL, ca.cert_pem, 0), "localhost");
  run(t);
  assert_int_equal(t->client.connect_status, MOL_ETLS);
  assert_int_equal(t->client.terminals, 0);
  assert_true(t->server.got.len > 0);
  ctx_free(t);
}

static void owner_closes_mid_handshake(void **state) {
  (void)state;
  ctx *t = ctx_new(NULL); /* the server closes the client stream at the ClientHello */
  t->mode = CLOSE_CLIENT_AT_DATA;
  connect_client(t, client_config(NULL, ca.cert_pem, 0), "localhost");
  run(t);
  assert_int_equal(t->client.connect_status, MOL_ECANCELED);
  assert_int_equal(t->client.terminals, 0);
  assert_int_equal(t->server.terminals, 1);
  ctx_free(t);
}

/* A reset after the handshake, without close_notify: the reader sees the socket's error. */
static void server_resets_after_handshake(void **state) {
  (void)state;
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->mode = ABORT_AT_DATA;
  t->client_ready = send_hello;
  connect_client(t, client_config(NULL, ca.cert_pem, 0), "localhost");
  run(t);
  assert_int_equal(t->client.connect_status, 0);
  assert_int_equal(t->client.terminal, MOL_ECONNRESET);
  assert_int_equal(t->server.got.len, 5);
  ctx_free(t);
}

static void owner_closes_before_tcp_connect(void **state) {
  (void)state;
  ctx *t = ctx_new(server_config_pem(&leaf));
  connect_client(t, client_config(NULL, ca.cert_pem, 0), "localhost");
  mol_stream_close(&t->client.s, 0);
  run(t);
  assert_int_equal(t->client.connect_status, MOL_ECANCELED);
  ctx_free(t);
}

/* A server that writes and shuts down before its handshake ends: the greeting, then the
 * close_notify, go out once the keys exist. */
static void server_shutdown_before_handshake(void **state) {
  (void)state;
  ctx *t = ctx_new(server_config_pem(&leaf));
  t->greet = 2;
  connect_client(t, client_config(NULL, ca.cert_pem, 0), "localhost");
  run(t);
  assert_int_equal(t->client.connect_status, 0);
  assert_int_equal(t->client.got.len, strlen(GREETING));
  assert_int_equal(t->client.terminal, MOL_EOF);
  assert_int_equal(t->server.writes_ok, 1);
  assert_int_equal(t->server.terminals, 1);
  ctx_free(t);
}

/* ---- (7) configs and misuse ----------------------------------------------------------- */

static void client_configs(void **state) {
  (void)state;
  mol_tls_config *cfg = (mol_tls_config *)&cfg; /* not NULL: failures must reset it */
  mol_tls_client_opts missing = {.ca_file = "/nonexistent/ca.pem"};
  assert_int_equal(mol_tls_config_client(&missing, &cfg), MOL_ENOENT);
  assert_null(cfg);
  mol_tls_client_opts garbage = {.ca_pem = "not a certificate"};
  assert_int_equal(mol_tls_config_client(&garbage, &cfg), MOL_ETLS);
  /* No options: the system bundle (MOL_CA_BUNDLE_DEFAULT). */
  assert_int_equal(mol_tls_config_client(NULL, &cfg), 0);
  mol_tls_config_free(cfg);
  mol_tls_client_opts both = {.ca_file = ca_path, .ca_pem = other_ca.cert_pem};
  assert_int_equal(mol_tls_config_client(&both, &cfg), 0);
  mol_tls_config_free(cfg);
  mol_tls_config_free(NULL);
}

static void server_configs(void **state) {
  (void)state;
  mol_tls_config *cfg = NULL;
  assert_int_equal(mol_tls_config_server(NULL, &cfg), MOL_EINVAL);
  mol_tls_server_opts no_cert = {.key_pem = leaf.key_pem};
  assert_int_equal(mol_tls_config_server(&no_cert, &cfg), MOL_EINVAL);
  mol_tls_server_opts missing = {.cert_file = cert_path, .key_file = "/nonexistent/key.pem"};
  assert_int_equal(mol_tls_config_server(&missing, &cfg), MOL_ENOENT);
  mol_tls_server_opts mismatch = {.cert_pem = leaf.cert_pem, .key_pem = other_leaf.key_pem};
  assert_int_equal(mol_tls_config_server(&mismatch, &cfg), MOL_ETLS);
  assert_null(cfg);
}

static int misuse_closes;
static void on_misuse_connect(mol_stream *s, int status) {
  (void)s, (void)status;
  fail_msg("on_connect must not fire when mol_stream_connect fails");
}
static void on_misuse_close(mol_stream *s) { (void)s, misuse_closes++; }

/* A verifying client needs a host name, and a server config cannot connect. */
static void connect_misuse(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 9, &addr);
  mol_tls_config *client = client_config(NULL, ca.cert_pem, 0);
  mol_tls_config *server = server_config_pem(&leaf);
  mol_stream a, b;
  assert_int_equal(mol_stream_connect(&loop, &a, (struct sockaddr *)&addr, client, NULL,
                                      on_misuse_connect), MOL_EINVAL);
  assert_int_equal(mol_stream_connect(&loop, &b, (struct sockaddr *)&addr, server,
                                      "localhost", on_misuse_connect), MOL_EINVAL);
  a.on_close = b.on_close = on_misuse_close;
  mol_stream_close(&a, 0);
  mol_stream_close(&b, 1);
  misuse_closes = 0;
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(misuse_closes, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
  mol_tls_config_free(client);
  mol_tls_config_free(server);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_handshake_echo_1mb),
      cmocka_unit_test(wrong_hostname),
      cmocka_unit_test(untrusted_ca),
      cmocka_unit_test(insecure_skip_verify_connects),
      cmocka_unit_test(plain_client_against_tls_server),
      cmocka_unit_test(client_leaves_mid_handshake),
      cmocka_unit_test(server_leaves_mid_handshake),
      cmocka_unit_test(owner_closes_mid_handshake),
      cmocka_unit_test(server_resets_after_handshake),
      cmocka_unit_test(owner_closes_before_tcp_connect),
      cmocka_unit_test(server_shutdown_before_handshake),
      cmocka_unit_test(client_configs),
      cmocka_unit_test(server_configs),
      cmocka_unit_test(connect_misuse),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
