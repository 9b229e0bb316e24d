/* The HTTP client through proxies and with the environment's trust store, over loopback.
 * A real forward proxy - Debian's tinyproxy, started per test in the foreground with its own
 * config, pid and log in a temporary directory, ready once its port accepts - carries an https
 * request in a CONNECT tunnel (TLS verified end to end, the tunnel pooled) and a plain one in
 * absolute form; its log shows which requests reached it, so NO_PROXY's bypass is seen.
 * Credentials in the proxy URL pass tinyproxy's BasicAuth, their absence is a 407 refusal.
 * A fake proxy (a canned-answer server) covers the other refusals: 403, an answer that is not
 * HTTP, bytes after the answer, a close, silence (the connect deadline) and a cancel. Then
 * SSL_CERT_FILE / SSL_CERT_DIR / REQUESTS_CA_BUNDLE as the trust store. Each callback fires
 * once and the loop closes with no handle left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client_env.h"
#include "tls_testcerts.h"

static mol_testcert ca, leaf, other_ca;

/* ---- tinyproxy ------------------------------------------------------------------------------ */

typedef struct {
  pid_t pid;
  int port;
  char dir[64], conf[96], log[96], pid_file[96];
  char url[64];
} tproxy;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

/* Polls the port (every 20 ms) until tinyproxy accepts, or fails if it exited. */
static void tproxy_start(tproxy *t, const char *extra) {
  memset(t, 0, sizeof(*t));
  snprintf(t->dir, sizeof(t->dir), "/tmp/molproxy-XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->conf, sizeof(t->conf), "%s/tp.conf", t->dir);
  snprintf(t->log, sizeof(t->log), "%s/tp.log", t->dir);
  snprintf(t->pid_file, sizeof(t->pid_file), "%s/tp.pid", t->dir);
  t->port = free_port();
  FILE *f = fopen(t->conf, "w");
  assert_non_null(f);
  fprintf(f, "Port %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
             "LogLevel Info\nLogFile \"%s\"\nPidFile \"%s\"\n%s\n",
          t->port, t->log, t->pid_file, extra ? extra : "");
  fclose(f);
  t->pid = fork();
  assert_true(t->pid >= 0);
  if (t->pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execlp("tinyproxy", "tinyproxy", "-d", "-c", t->conf, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 500 && !port_accepts(t->port); i++) {
    int st;
    if (waitpid(t->pid, &st, WNOHANG) == t->pid)
      fail_msg("tinyproxy exited (status %d): is it installed? (tools/setup.sh)", st);
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  }
  assert_true(port_accepts(t->port));
  snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", t->port);
}

static void tproxy_stop(tproxy *t) {
  kill(t->pid, SIGTERM);
  waitpid(t->pid, NULL, 0);
  unlink(t->conf);
  unlink(t->log);
  unlink(t->pid_file);
  rmdir(t->dir);
}

/* How many requests the proxy logged whose request line starts with `line`. */
static int tproxy_seen(const tproxy *t, const char *line) {
  FILE *f = fopen(t->log, "r");
  if (!f) return 0;
  char buf[1024];
  int n = 0;
  while (fgets(buf, sizeof(buf), f)) {
    const char *req = strstr(buf, "Request (file descriptor ");
    const char *colon = req ? strstr(req, "): ") : NULL;
    if (colon && strncmp(colon + 3, line, strlen(line)) == 0) n++;
  }
  fclose(f);
  return n;
}

/* ---- an https origin ------------------------------------------------------------------------ */

typedef struct {
  uv_tcp_t listener;
  uv_loop_t *loop;
  mol_tls_config *cfg;
  int port, nconns, nrequests, live;
} tls_srv;

typedef struct {
  mol_stream s;
  tls_srv *srv;
  mol_buf in;
} tls_peer;

static void peer_closed(mol_stream *s) {
  tls_peer *p = s->data;
  p->srv->live--;
  mol_buf_free(&p->in);
  free(p);
}

static void peer_read(mol_stream *s, ssize_t n, const char *data) {
  static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
  tls_peer *p = s->data;
  if (n < 0) {
    mol_stream_close(s, 0);
    return;
  }
  mol_buf_append(&p->in, data, (size_t)n);
  char *end;
  while ((end = memmem(p->in.data, p->in.len, "\r\n\r\n", 4))) {
    mol_buf_consume(&p->in, (size_t)(end - p->in.data) + 4);
    p->srv->nrequests++;
    mol_stream_write(s, resp, sizeof(resp) - 1, NULL, NULL);
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
  mol_stream_read_start(&p->s, peer_read);
}

static void tls_srv_start(tls_srv *srv, uv_loop_t *loop) {
  memset(srv, 0, sizeof(*srv));
  srv->loop = loop;
  mol_tls_server_opts o = {.cert_pem = leaf.cert_pem, .key_pem = leaf.key_pem};
  assert_int_equal(mol_tls_config_server(&o, &srv->cfg), 0);
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

/* ---- the environment of one test ------------------------------------------------------------ */

typedef struct {
  env e;
  tls_srv srv;
  char https_url[96];
} penv;

static const char *const OK_RESP = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void penv_setup(penv *p, const mol_http_proxy_opts *px, const mol_tls_client_opts *tls) {
  mol_http_client_opts co = {.proxy = px, .tls = tls};
  env_setup(&p->e, fs_canned, &co);
  p->e.fs.canned = OK_RESP;
  tls_srv_start(&p->srv, &p->e.loop);
  snprintf(p->https_url, sizeof(p->https_url), "https://localhost:%d/secure", p->srv.port);
}

/* A new client in place of the first, for options that name the servers' ports. */
static void penv_reclient(penv *p, const mol_http_proxy_opts *px, const mol_tls_client_opts *tls) {
  mol_http_client_close(p->e.c, on_client_closed, &p->e.closed);
  run_until(&p->e, &p->e.closed, 1);
  p->e.closed = 0;
  mol_http_client_opts co = {.proxy = px, .tls = tls};
  assert_int_equal(mol_http_client_new(&p->e.loop, &co, &p->e.c), 0);
}

static void penv_done(penv *p) {
  mol_http_client_close(p->e.c, on_client_closed, &p->e.closed);
  run_until(&p->e, &p->e.closed, 1);
  p->e.c = NULL;
  p->e.closed = 0;
  uv_close((uv_handle_t *)&p->srv.listener, NULL);
  while (p->srv.live) uv_run(&p->e.loop, UV_RUN_ONCE);
  mol_tls_config_free(p->srv.cfg);
  env_teardown(&p->e);
}

/* One request, run to its callback. */
static void fetch(penv *p, const char *url, result *res) {
  memset(res, 0, sizeof(*res));
  assert_int_equal(env_get(&p->e, url, res, NULL), 0);
  run_until(&p->e, &res->calls, 1);
}

static void expect_body(result *res, const char *body) {
  assert_int_equal(res->err, 0);
  assert_int_equal(res->status, 200);
  assert_int_equal(res->body.len, strlen(body));
  assert_memory_equal(res->body.data, body, strlen(body));
  mol_buf_free(&res->body);
}

static void expect_err(result *res, int err) {
  if (res->err != err) fail_msg("err %s, want %s", mol_err_name(res->err), mol_err_name(err));
  assert_int_equal(res->had_resp, 0);
  mol_buf_free(&res->body);
}

/* ---- through tinyproxy ---------------------------------------------------------------------- */

static void https_through_a_connect_tunnel(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, NULL);
  mol_http_proxy_opts px = {.https_proxy = t.url};
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  penv p;
  penv_setup(&p, &px, &tls);
  result a, b;
  fetch(&p, p.https_url, &a);
  expect_body(&a, "secure");
  fetch(&p, p.https_url, &b);
  expect_body(&b, "secure");
  assert_int_equal(p.srv.nrequests, 2);
  assert_int_equal(p.srv.nconns, 1); /* the tunnel was pooled and reused */
  char line[64];
  snprintf(line, sizeof(line), "CONNECT localhost:%d ", p.srv.port);
  assert_int_equal(tproxy_seen(&t, line), 1);
  assert_int_equal(p.e.fs.nrequests, 0);
  penv_done(&p);
  tproxy_stop(&t);
}

static void untrusted_origin_through_the_tunnel(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, NULL);
  mol_http_proxy_opts px = {.https_proxy = t.url};
  mol_tls_client_opts tls = {.ca_pem = other_ca.cert_pem}; /* not the origin's issuer */
  penv p;
  penv_setup(&p, &px, &tls);
  result r;
  fetch(&p, p.https_url, &r);
  expect_err(&r, MOL_ETLSVERIFY); /* the proxy changes nothing about verification */
  penv_done(&p);
  tproxy_stop(&t);
}

static void http_in_absolute_form(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, NULL);
  mol_http_proxy_opts px = {.http_proxy = t.url};
  penv p;
  penv_setup(&p, &px, NULL);
  result r;
  fetch(&p, NULL, &r);
  expect_body(&r, "ok");
  char line[96];
  snprintf(line, sizeof(line), "GET http://127.0.0.1:%d/path?q=1 ", p.e.fs.port);
  assert_int_equal(tproxy_seen(&t, line), 1);
  assert_int_equal(p.e.fs.nrequests, 1);
  assert_true(strncmp(p.e.fs.last_req, "GET /path?q=1 HTTP/1.", 21) == 0);
  penv_done(&p);
  tproxy_stop(&t);
}

static void no_proxy_goes_direct(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, NULL);
  penv p;
  char np[64];
  result r;
  /* Each list names the origin one way; the proxy must see none of these requests. */
  const char *lists[] = {"127.0.0.1", "*", "example.com, 127.0.0.0/8", "127.0.0.1:%d"};
  for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
    mol_http_proxy_opts px = {.http_proxy = t.url, .https_proxy = t.url, .no_proxy = np};
    penv_setup(&p, NULL, NULL);
    snprintf(np, sizeof(np), lists[i], p.e.fs.port);
    penv_reclient(&p, &px, NULL);
    fetch(&p, NULL, &r);
    expect_body(&r, "ok");
    penv_done(&p);
  }
  mol_http_proxy_opts px = {.https_proxy = t.url, .no_proxy = "localhost"};
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  penv_setup(&p, &px, &tls);
  fetch(&p, p.https_url, &r);
  expect_body(&r, "secure");
  penv_done(&p);
  assert_int_equal(tproxy_seen(&t, ""), 0);
  /* Another port, or another host: through the proxy. */
  mol_http_proxy_opts px2 = {.http_proxy = t.url, .no_proxy = "127.0.0.1:1,127.0.0.2"};
  penv_setup(&p, &px2, NULL);
  fetch(&p, NULL, &r);
  expect_body(&r, "ok");
  penv_done(&p);
  assert_int_equal(tproxy_seen(&t, "GET http://127.0.0.1:"), 1);
  tproxy_stop(&t);
}

static void proxy_from_the_environment(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, NULL);
  penv p;
  result r;
  setenv("http_proxy", t.url, 1);
  penv_setup(&p, NULL, NULL); /* NULL: the environment */
  fetch(&p, NULL, &r);
  expect_body(&r, "ok");
  penv_done(&p);
  assert_int_equal(tproxy_seen(&t, "GET http://127.0.0.1:"), 1);
  setenv("NO_PROXY", "127.0.0.1", 1);
  penv_setup(&p, NULL, NULL);
  fetch(&p, NULL, &r);
  expect_body(&r, "ok");
  penv_done(&p);
  assert_int_equal(tproxy_seen(&t, "GET http://127.0.0.1:"), 1); /* bypassed */
  unsetenv("NO_PROXY");
  unsetenv("http_proxy");
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  setenv("HTTPS_PROXY", t.url, 1);
  penv_setup(&p, NULL, &tls);
  fetch(&p, p.https_url, &r);
  expect_body(&r, "secure");
  fetch(&p, NULL, &r); /* http: HTTPS_PROXY is not for it */
  expect_body(&r, "ok");
  penv_done(&p);
  unsetenv("HTTPS_PROXY");
  assert_int_equal(tproxy_seen(&t, "CONNECT localhost:"), 1);
  assert_int_equal(tproxy_seen(&t, "GET http://127.0.0.1:"), 1);
  tproxy_stop(&t);
}

static void proxy_credentials(void **state) {
  (void)state;
  tproxy t;
  tproxy_start(&t, "BasicAuth alice s3cret");
  char with[96], wrong[96];
  snprintf(with, sizeof(with), "http://alice:s3cr%%65t@127.0.0.1:%d", t.port);
  snprintf(wrong, sizeof(wrong), "alice:nope@127.0.0.1:%d", t.port);
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  penv p;
  result r;
  mol_http_proxy_opts none = {.https_proxy = t.url, .http_proxy = t.url};
  penv_setup(&p, &none, &tls);
  fetch(&p, p.https_url, &r);
  expect_err(&r, MOL_EPROXY); /* 407 to the CONNECT */
  fetch(&p, NULL, &r);        /* plain http: the 407 is an ordinary response, as with curl */
  assert_int_equal(r.err, 0);
  assert_int_equal(r.status, 407);
  mol_buf_free(&r.body);
  penv_done(&p);
  mol_http_proxy_opts bad = {.https_proxy = wrong};
  penv_setup(&p, &bad, &tls);
  fetch(&p, p.https_url, &r);
  expect_err(&r, MOL_EPROXY);
  penv_done(&p);
  mol_http_proxy_opts good = {.https_proxy = with, .http_proxy = with};
  penv_setup(&p, &good, &tls);
  fetch(&p, p.https_url, &r);
  expect_body(&r, "secure");
  fetch(&p, NULL, &r);
  expect_body(&r, "ok");
  penv_done(&p);
  tproxy_stop(&t);
}

/* ---- proxies that fail ---------------------------------------------------------------------- */

static void unreachable_and_unusable_proxies(void **state) {
  (void)state;
  char dead[64];
  snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
  mol_http_proxy_opts px = {.https_proxy = dead, .http_proxy = "socks5://127.0.0.1:1080"};
  penv p;
  penv_setup(&p, &px, NULL);
  result r;
  fetch(&p, p.https_url, &r);
  expect_err(&r, MOL_EPROXY);
  mol_http_request_opts o = {.url = p.e.url};
  result never = {0};
  assert_int_equal(mol_http_request_send(p.e.c, &o, res_done, &never, NULL), MOL_EPROXY);
  penv_done(&p);
  assert_int_equal(never.calls, 0);
}

typedef struct {
  fake_server fs;
  char url[64];
} fake_proxy;

static void fake_proxy_start(fake_proxy *f, uv_loop_t *loop, fake_handler h, const char *canned) {
  assert_int_equal(fs_start(&f->fs, loop, h, "127.0.0.1"), 0);
  f->fs.canned = canned;
  snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->fs.port);
}

static void fake_close_now(fake_conn *fc, const char *req, size_t len) {
  (void)req;
  (void)len;
  fs_close(fc, 0);
}

/* Each answer to CONNECT that is not a plain 2xx fails the request with MOL_EPROXY. */
static void refusals_from_a_fake_proxy(void **state) {
  (void)state;
  static const char *const answers[] = {
      "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 407 Proxy Authentication Required\r\n\r\n",
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/1.1 200 Connection established\r\n\r\nstray",
      "HTTP/1.1 502 Bad Gateway\r\n\r\n",
  };
  for (size_t i = 0; i <= sizeof(answers) / sizeof(*answers); i++) {
    penv p;
    fake_proxy f;
    penv_setup(&p, NULL, NULL);
    int last = i == sizeof(answers) / sizeof(*answers);
    fake_proxy_start(&f, &p.e.loop, last ? fake_close_now : fs_canned, last ? NULL : answers[i]);
    mol_http_proxy_opts px = {.https_proxy = f.url};
    penv_reclient(&p, &px, NULL);
    result r;
    fetch(&p, p.https_url, &r);
    expect_err(&r, MOL_EPROXY);
    assert_int_equal(p.srv.nconns, 0);
    assert_true(strncmp(f.fs.last_req, "CONNECT localhost:", 18) == 0);
    fs_stop(&f.fs);
    penv_done(&p);
  }
}

static void silent_proxy_deadline_and_cancel(void **state) {
  (void)state;
  penv p;
  fake_proxy f;
  penv_setup(&p, NULL, NULL);
  fake_proxy_start(&f, &p.e.loop, fs_silent, NULL);
  mol_http_proxy_opts px = {.https_proxy = f.url};
  penv_reclient(&p, &px, NULL);
  result slow = {0}, cancelled = {0};
  mol_http_request_opts o = {.url = p.https_url, .connect_timeout_ms = 200};
  assert_int_equal(mol_http_request_send(p.e.c, &o, res_done, &slow, NULL), 0);
  run_until(&p.e, &slow.calls, 1);
  expect_err(&slow, MOL_ETIMEDOUT); /* the connect deadline covers the CONNECT exchange */
  mol_http_request *req;
  assert_int_equal(env_get(&p.e, p.https_url, &cancelled, &req), 0);
  while (f.fs.nrequests < 2) uv_run(&p.e.loop, UV_RUN_ONCE); /* the CONNECT is at the proxy */
  mol_http_request_cancel(req);
  assert_int_equal(cancelled.calls, 0);
  run_until(&p.e, &cancelled.calls, 1);
  expect_err(&cancelled, MOL_ECANCELED);
  fs_stop(&f.fs);
  penv_done(&p);
  assert_int_equal(slow.calls + cancelled.calls, 2);
}

/* ---- the environment's trust store ---------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void trust_store_from_the_environment(void **state) {
  (void)state;
  static const char *const vars[] = {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
                                     "CURL_CA_BUNDLE"};
  char dir[] = "/tmp/moltrust-XXXXXX", sub[64], file[64], other[64];
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof(file), "%s/ca.pem", dir);
  snprintf(other, sizeof(other), "%s/other.pem", dir);
  snprintf(sub, sizeof(sub), "%s/certs", dir);
  write_file(file, ca.cert_pem);
  write_file(other, other_ca.cert_pem);
  mkdir(sub, 0700);
  char in_sub[96];
  snprintf(in_sub, sizeof(in_sub), "%s/ca.pem", sub);
  write_file(in_sub, ca.cert_pem);
  struct {
    const char *var, *value;
    int err;
  } cases[] = {
      {"SSL_CERT_FILE", file, 0},          {"SSL_CERT_DIR", sub, 0},
      {"REQUESTS_CA_BUNDLE", file, 0},     {"CURL_CA_BUNDLE", file, 0},
      {"SSL_CERT_FILE", other, MOL_ETLSVERIFY}, {"SSL_CERT_FILE", "/nonexistent.pem", MOL_ENOENT},
      {"SSL_CERT_DIR", "/nonexistent-dir", MOL_ENOENT},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    for (size_t v = 0; v < sizeof(vars) / sizeof(*vars); v++) unsetenv(vars[v]);
    setenv(cases[i].var, cases[i].value, 1);
    mol_http_proxy_opts direct = {0};
    penv p;
    penv_setup(&p, &direct, NULL); /* tls NULL: the trust store comes from the environment */
    result r;
    fetch(&p, p.https_url, &r);
    if (cases[i].err) expect_err(&r, cases[i].err);
    else expect_body(&r, "secure");
    penv_done(&p);
  }
  /* SSL_CERT_FILE wins over REQUESTS_CA_BUNDLE; the caller's ca_pem over both. */
  for (size_t v = 0; v < sizeof(vars) / sizeof(*vars); v++) unsetenv(vars[v]);
  setenv("SSL_CERT_FILE", other, 1);
  setenv("REQUESTS_CA_BUNDLE", file, 1);
  mol_tls_client_opts tls = {.ca_pem = ca.cert_pem};
  penv p;
  result r;
  penv_setup(&p, &(mol_http_proxy_opts){0}, NULL);
  fetch(&p, p.https_url, &r);
  expect_err(&r, MOL_ETLSVERIFY);
  penv_done(&p);
  setenv("SSL_CERT_FILE", "/nonexistent.pem", 1);
  penv_setup(&p, &(mol_http_proxy_opts){0}, &tls);
  fetch(&p, p.https_url, &r);
  expect_body(&r, "secure");
  penv_done(&p);
  for (size_t v = 0; v < sizeof(vars) / sizeof(*vars); v++) unsetenv(vars[v]);
  unlink(in_sub);
  rmdir(sub);
  unlink(file);
  unlink(other);
  rmdir(dir);
}

static int certs_setup(void **state) {
  (void)state;
  static const char *const names[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                      "all_proxy",   "ALL_PROXY",   "no_proxy",   "NO_PROXY",
                                      "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
                                      "CURL_CA_BUNDLE"};
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) unsetenv(names[i]);
  if (mol_testcert_ca(&ca, "proxy test CA") || mol_testcert_ca(&other_ca, "unrelated CA"))
    return -1;
  return mol_testcert_leaf(&leaf, &ca, "localhost") ? -1 : 0;
}

static int certs_teardown(void **state) {
  (void)state;
  mol_testcert_free(&leaf);
  mol_testcert_free(&ca);
  mol_testcert_free(&other_ca);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(https_through_a_connect_tunnel),
      cmocka_unit_test(untrusted_origin_through_the_tunnel),
      cmocka_unit_test(http_in_absolute_form),
      cmocka_unit_test(no_proxy_goes_direct),
      cmocka_unit_test(proxy_from_the_environment),
      cmocka_unit_test(proxy_credentials),
      cmocka_unit_test(unreachable_and_unusable_proxies),
      cmocka_unit_test(refusals_from_a_fake_proxy),
      cmocka_unit_test(silent_proxy_deadline_and_cancel),
      cmocka_unit_test(trust_store_from_the_environment),
  };
  return cmocka_run_group_tests(tests, certs_setup, certs_teardown);
}
