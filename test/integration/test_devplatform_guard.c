/* The dev platform against a hostile neighbour, over raw HTTP on loopback sockets: agent URLs
 * whose IPv6 form embeds a private or metadata IPv4 address are refused at register and at
 * dispatch. Every request here is written byte for byte, so the headers are exactly those
 * named in the test. */
#include <sqlite3.h>

#include "test_devplatform_util.h"

/* ---- a raw HTTP/1.1 exchange: one request, Connection: close, read to EOF ------------------ */

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  mol_buf in;
  char *out;
  int failed, eof, closed;
} raw_conn;

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  static char buf[64 * 1024];
  (void)hint;
  *b = uv_buf_init(buf, sizeof buf);
}

static void raw_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  raw_conn *c = s->data;
  if (n > 0) mol_buf_append(&c->in, b->base, (size_t)n);
  if (n < 0) {
    c->eof = 1;
    uv_read_stop(s);
  }
}

static void raw_on_written(uv_write_t *w, int status) {
  raw_conn *c = w->data;
  if (status) c->failed = c->eof = 1;
}

static void raw_on_connect(uv_connect_t *req, int status) {
  raw_conn *c = req->data;
  if (status) {
    c->failed = c->eof = 1;
    return;
  }
  uv_buf_t b = uv_buf_init(c->out, (unsigned)strlen(c->out));
  c->wr.data = c;
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, raw_on_written);
  uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_on_read);
}

static void raw_on_closed(uv_handle_t *h) { ((raw_conn *)h->data)->closed = 1; }

typedef struct {
  int status;
  char body[2048];
} raw_res;

/* Sends "METHOD path" with exactly these header lines (each "Name: value\r\n"; host NULL means
 * Host: 127.0.0.1:<port>) plus Content-Length and Connection: close; returns the status. */
static int raw_call(env *e, const char *method, const char *path, const char *host,
                    const char *headers, const char *body, raw_res *res) {
  char hostbuf[64];
  if (!host) {
    snprintf(hostbuf, sizeof hostbuf, "127.0.0.1:%d", e->port);
    host = hostbuf;
  }
  mol_buf req = MOL_BUF_INIT;
  assert_int_equal(mol_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n"
                                        "Connection: close\r\n\r\n%s",
                                  method, path, host, headers ? headers : "",
                                  body ? strlen(body) : 0, body ? body : ""),
                   0);
  raw_conn c;
  memset(&c, 0, sizeof c);
  c.out = req.data;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", e->port, &sa);
  uv_tcp_init(&e->loop, &c.tcp);
  c.tcp.data = c.conn.data = &c;
  assert_int_equal(uv_tcp_connect(&c.conn, &c.tcp, (struct sockaddr *)&sa, raw_on_connect), 0);
  run_until(e, &c.eof, 20000);
  assert_true(c.eof);
  uv_close((uv_handle_t *)&c.tcp, raw_on_closed);
  run_until(e, &c.closed, 5000);
  mol_buf_free(&req);
  assert_false(c.failed);
  raw_res local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  mol_buf_append(&c.in, "", 1);
  assert_int_equal(sscanf(c.in.data, "HTTP/1.1 %d", &res->status), 1);
  const char *b = strstr(c.in.data, "\r\n\r\n");
  snprintf(res->body, sizeof res->body, "%s", b ? b + 4 : "");
  mol_buf_free(&c.in);
  return res->status;
}

#define JSON_CT "Content-Type: application/json\r\n"

static void expect_raw(env *e, int want, const char *method, const char *path, const char *host,
                       const char *headers, const char *body) {
  raw_res r;
  int got = raw_call(e, method, path, host, headers, body, &r);
  if (got != want)
    print_error("%s %s [host %s] [%s]: want %d, got %d %s\n", method, path, host ? host : "-",
                headers ? headers : "", want, got, r.body);
  assert_int_equal(got, want);
}

/* ---- SSRF: IPv6 forms embedding a private or metadata IPv4 --------------------------------- */

static void register_raw(env *e, const char *ws, const char *url, int want) {
  char body[512];
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"%s\",\"agent_card\":{}}", ws, url);
  expect_raw(e, want, "POST", "/registry/register", NULL, JSON_CT, body);
}

/* Points ws's stored URL at url behind the platform's back (as a row written before the
 * guard existed would be); the platform must be closed. */
static void set_url_in_db(env *e, const char *ws, const char *url) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE workspaces SET url = ?1 WHERE id = ?2", -1, &st,
                                      NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, ws, -1, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* Dispatch: a stored URL of that kind (a row written before the guard) is never called. */
static void test_ssrf_embedded_dispatch(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  responder agent;
  responder_start(&e, &agent, R_ECHO);
  char W[64], path[256], url[128];
  snprintf(W, sizeof W, "%s", create_ws(&e, NULL, "w", NULL));
  register_ws(&e, W, agent.url, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/a2a", W);
  expect_drop(&e, 200, "POST", path, NULL, NULL, MSG_BODY);
  assert_int_equal(agent.received, 1);
  const char *const embedded[] = {"[64:ff9b::7f00:1]", "[::127.0.0.1]", "[2002:7f00:1::1]",
                                  "[64:ff9b::a9fe:a9fe]", NULL};
  for (int i = 0; embedded[i]; i++) {
    env_close_platform(&e);
    snprintf(url, sizeof url, "http://%s:%d/a2a", embedded[i], agent.port);
    set_url_in_db(&e, W, url);
    env_open(&e);
    json_t *j = expect(&e, 502, "POST", path, NULL, NULL, MSG_BODY);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "workspace URL is not publicly routable");
    json_decref(j);
  }
  assert_int_equal(agent.received, 1);
  responder_stop(&e, &agent);
  env_stop(&e);
}

/* Register and create refuse them, with and without --dev. */
static void test_ssrf_embedded_register(void **state) {
  (void)state;
  static const char *const urls[] = {
      "http://[::10.0.0.1]:8000/a2a", "http://[::ffff:10.0.0.1]/", "http://[::ffff:0:a9fe:a9fe]/",
      "http://[64:ff9b::a9fe:a9fe]/latest", "http://[64:ff9b::127.0.0.1]:8000/",
      "http://[64:ff9b:1::a00:1]/", "http://[2002:a9fe:a9fe::1]/",
      "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", NULL};
  for (int dev = 0; dev < 2; dev++) {
    env e;
    env_start(&e, dev);
    env_open(&e);
    const char *admin = mol_devplatform_admin_token(e.dp);
    char W[64], body[256];
    snprintf(W, sizeof W, "%s", create_ws(&e, admin, "w", NULL));
    for (int i = 0; urls[i]; i++) {
      register_raw(&e, W, urls[i], 400);
      snprintf(body, sizeof body, "{\"name\":\"x\",\"url\":\"%s\"}", urls[i]);
      expect_drop(&e, 400, "POST", "/workspaces", admin, NULL, body);
    }
    env_stop(&e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ssrf_embedded_dispatch),
      cmocka_unit_test(test_ssrf_embedded_register),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
