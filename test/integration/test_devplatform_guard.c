/* The dev platform against a hostile neighbour, over raw HTTP on loopback sockets: one agent's
 * token (or any made-up bearer) never opens an admin route, even with --dev; a browser page
 * cannot reach the platform by DNS rebinding (Host), cross-origin requests (Origin) or a
 * text/plain form POST (Content-Type); and agent URLs whose IPv6 form embeds a private or
 * metadata IPv4 address are refused at register and at dispatch. Every request here is written
 * byte for byte, so the headers are exactly those named in the test. */
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

/* Number of non-removed workspaces, read with the admin token. */
static size_t count_workspaces(env *e) {
  json_t *j = expect(e, 200, "GET", "/workspaces", mol_devplatform_admin_token(e->dp), NULL, NULL);
  size_t n = json_array_size(j);
  json_decref(j);
  return n;
}

static void auth_header(char *out, size_t cap, const char *tok) {
  snprintf(out, cap, JSON_CT "Authorization: Bearer %s\r\n", tok);
}

/* ---- admin routes: only the admin token, or (dev + loopback) no credentials at all ---------- */

#define EVIL_SECRET "{\"key\":\"EVIL\",\"value\":\"x\"}"

static void check_admin_refusals(env *e, const char *W, const char *tokW, const char *S) {
  char hdr[256], path[256];
  const char *const creds[] = {tokW, "garbage", NULL};
  for (int i = 0; creds[i]; i++) {
    auth_header(hdr, sizeof hdr, creds[i]);
    snprintf(path, sizeof path, "/workspaces/%s?confirm=true", S);
    expect_raw(e, 401, "DELETE", path, NULL, hdr, NULL);
    expect_raw(e, 401, "POST", "/settings/secrets", NULL, hdr, EVIL_SECRET);
    expect_raw(e, 401, "PUT", "/settings/secrets", NULL, hdr, EVIL_SECRET);
    expect_raw(e, 401, "POST", "/workspaces", NULL, hdr, "{\"name\":\"intruder\"}");
    expect_raw(e, 401, "GET", "/workspaces", NULL, hdr, NULL);
  }
  /* an Authorization header that is not a bearer is a wrong credential too, not "none" */
  expect_raw(e, 401, "POST", "/workspaces", NULL, JSON_CT "Authorization: Basic Zm9vOmJhcg==\r\n",
             "{\"name\":\"intruder\"}");
  expect_raw(e, 401, "POST", "/workspaces", NULL, JSON_CT "Authorization: Bearer \r\n",
             "{\"name\":\"intruder\"}");
  /* the sibling survived, and no global secret reached the agent */
  snprintf(path, sizeof path, "/workspaces/%s", S);
  json_t *j = expect(e, 200, "GET", path, NULL, NULL, NULL);
  assert_string_not_equal(json_string_value(json_object_get(j, "status")), "removed");
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/secrets/values", W);
  j = expect(e, 200, "GET", path, tokW, NULL, NULL);
  assert_null(json_object_get(j, "EVIL"));
  json_decref(j);
}

static void test_admin_routes_refuse_other_bearers(void **state) {
  (void)state;
  for (int dev = 1; dev >= 0; dev--) {
    env e;
    env_start(&e, dev);
    env_open(&e);
    const char *admin = mol_devplatform_admin_token(e.dp);
    char W[64], S[64], tokW[64], hdr[256];
    snprintf(W, sizeof W, "%s", create_ws(&e, admin, "w", NULL));
    snprintf(S, sizeof S, "%s", create_ws(&e, admin, "sibling", NULL));
    snprintf(tokW, sizeof tokW, "%s", register_ws(&e, W, "remote://no-inbound", NULL));
    register_ws(&e, S, "remote://no-inbound", NULL);
    size_t before = count_workspaces(&e);
    check_admin_refusals(&e, W, tokW, S);
    assert_int_equal(count_workspaces(&e), before);
    /* the legitimate paths: the admin token always; no credentials only with --dev on loopback */
    auth_header(hdr, sizeof hdr, admin);
    expect_raw(&e, 201, "POST", "/workspaces", NULL, hdr, "{\"name\":\"by-admin\"}");
    expect_raw(&e, 200, "POST", "/settings/secrets", NULL, hdr, "{\"key\":\"G\",\"value\":\"1\"}");
    expect_raw(&e, dev ? 201 : 401, "POST", "/workspaces", NULL, JSON_CT, "{\"name\":\"open\"}");
    expect_raw(&e, dev ? 200 : 401, "GET", "/workspaces", NULL, NULL, NULL);
    /* operator routes on one workspace: its own token, never a sibling's */
    char path[256];
    snprintf(path, sizeof path, "/workspaces/%s/pause", S);
    auth_header(hdr, sizeof hdr, tokW);
    expect_raw(&e, 401, "POST", path, NULL, hdr, NULL);
    snprintf(path, sizeof path, "/workspaces/%s/secrets", W);
    expect_raw(&e, 200, "POST", path, NULL, hdr, "{\"key\":\"MINE\",\"value\":\"1\"}");
    env_stop(&e);
  }
}

/* ---- Host: loopback names and addresses, IP literals, and the configured public names ------- */

static void test_host_header(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  e.opts.public_host = "Platform.Example.com, agents.internal";
  env_open(&e);
  char host[128];
  static const char *const good[] = {"127.0.0.1", "localhost", "LOCALHOST", "127.9.8.7", "[::1]",
                                     "platform.example.com", "PLATFORM.example.COM",
                                     "agents.internal", "192.0.2.10", "[2001:db8::5]", NULL};
  for (int i = 0; good[i]; i++) {
    snprintf(host, sizeof host, "%s:%d", good[i], e.port);
    expect_raw(&e, 200, "GET", "/health", host, NULL, NULL);
    expect_raw(&e, 200, "GET", "/health", good[i], NULL, NULL); /* port-less */
  }
  static const char *const bad[] = {"evil.example", "localhost.evil.example", "evil.localhost",
                                    "platform.example.com.evil.example", "example.com",
                                    "localhost.", "127.0.0.1.nip.io", "", NULL};
  for (int i = 0; bad[i]; i++) {
    snprintf(host, sizeof host, "%s:%d", bad[i], e.port);
    expect_raw(&e, 403, "GET", "/health", host, NULL, NULL);
  }
  /* not a host at all: the HTTP layer refuses it before any route (RFC 9112 §3.2) */
  static const char *const malformed[] = {"a/b", "x@127.0.0.1", NULL};
  for (int i = 0; malformed[i]; i++) {
    snprintf(host, sizeof host, "%s:%d", malformed[i], e.port);
    expect_raw(&e, 400, "GET", "/health", host, NULL, NULL);
  }
  /* a rebound name cannot create a workspace either */
  size_t before = count_workspaces(&e);
  snprintf(host, sizeof host, "evil.example:%d", e.port);
  expect_raw(&e, 403, "POST", "/workspaces", host, JSON_CT, "{\"name\":\"rebound\"}");
  assert_int_equal(count_workspaces(&e), before);
  env_stop(&e);
}

/* ---- Origin: only the platform's own, on every route -------------------------------------- */

static void test_origin_header(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  e.opts.public_host = "platform.example.com";
  env_open(&e);
  char W[64], tokW[64], hdr[1024], path[256], host[64];
  snprintf(W, sizeof W, "%s", create_ws(&e, NULL, "w", NULL));
  snprintf(tokW, sizeof tokW, "%s", register_ws(&e, W, "remote://no-inbound", NULL));
  snprintf(path, sizeof path, "/workspaces/%s/secrets/values", W);
  size_t before = count_workspaces(&e);
  static const char *const cross[] = {"http://evil.example", "null", "http://localhost:1",
                                      "http://127.0.0.1", "https://evil.example:443",
                                      "http://127.0.0.1.evil.example", "not a url", NULL};
  for (int i = 0; cross[i]; i++) {
    snprintf(hdr, sizeof hdr, JSON_CT "Origin: %s\r\n", cross[i]);
    expect_raw(&e, 403, "GET", "/health", NULL, hdr, NULL);
    expect_raw(&e, 403, "POST", "/workspaces", NULL, hdr, "{\"name\":\"cross\"}");
    snprintf(hdr, sizeof hdr, JSON_CT "Origin: %s\r\nAuthorization: Bearer %s\r\n", cross[i], tokW);
    expect_raw(&e, 403, "GET", path, NULL, hdr, NULL);
  }
  assert_int_equal(count_workspaces(&e), before);
  /* same origin: what the platform client sends (scheme://host:port), what the Python SDK
   * sends (the platform URL, path included), the other loopback spelling with the same Host,
   * and a TLS front end named by --public-host */
  char same[4][128];
  snprintf(same[0], sizeof same[0], "http://127.0.0.1:%d", e.port);
  snprintf(same[1], sizeof same[1], "http://127.0.0.1:%d/", e.port);
  snprintf(same[2], sizeof same[2], "https://platform.example.com");
  snprintf(same[3], sizeof same[3], "http://platform.example.com:%d", e.port);
  for (int i = 0; i < 4; i++) {
    snprintf(hdr, sizeof hdr, JSON_CT "Origin: %s\r\nAuthorization: Bearer %s\r\n", same[i], tokW);
    expect_raw(&e, 200, "GET", path, NULL, hdr, NULL);
  }
  snprintf(host, sizeof host, "localhost:%d", e.port);
  snprintf(hdr, sizeof hdr, JSON_CT "Origin: http://localhost:%d\r\n", e.port);
  expect_raw(&e, 201, "POST", "/workspaces", host, hdr, "{\"name\":\"same\"}");
  /* the same port on another loopback spelling is another origin for a browser */
  snprintf(hdr, sizeof hdr, JSON_CT "Origin: http://127.0.0.1:%d\r\n", e.port);
  expect_raw(&e, 403, "POST", "/workspaces", host, hdr, "{\"name\":\"other\"}");
  env_stop(&e);
}

/* ---- Content-Type on state-changing requests ----------------------------------------------- */

static void test_content_type(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  char W[64], path[256];
  snprintf(W, sizeof W, "%s", create_ws(&e, NULL, "w", NULL));
  size_t before = count_workspaces(&e);
  static const char *const refused[] = {
      "Content-Type: text/plain\r\n", "Content-Type: text/plain;charset=UTF-8\r\n",
      "Content-Type: application/x-www-form-urlencoded\r\n",
      "Content-Type: multipart/form-data; boundary=x\r\n", "Content-Type: application/jsonx\r\n",
      "Content-Type: application/json-seq\r\n", "", NULL};
  for (int i = 0; refused[i]; i++) {
    expect_raw(&e, 415, "POST", "/workspaces", NULL, refused[i], "{\"name\":\"form\"}");
    expect_raw(&e, 415, "PUT", "/settings/secrets", NULL, refused[i], "{\"key\":\"K\"}");
  }
  assert_int_equal(count_workspaces(&e), before);
  static const char *const accepted[] = {
      JSON_CT, "Content-Type: application/json; charset=utf-8\r\n",
      "Content-Type: Application/JSON\r\n", "Content-Type:application/json ;charset=UTF-8\r\n",
      NULL};
  for (int i = 0; accepted[i]; i++)
    expect_raw(&e, 201, "POST", "/workspaces", NULL, accepted[i], "{\"name\":\"json\"}");
  /* a body-less call needs no Content-Type (curl -X POST), but a text/plain one is a form */
  snprintf(path, sizeof path, "/workspaces/%s/pause", W);
  expect_raw(&e, 415, "POST", path, NULL, "Content-Type: text/plain\r\n", NULL);
  expect_raw(&e, 200, "POST", path, NULL, NULL, NULL);
  snprintf(path, sizeof path, "/workspaces/%s/resume", W);
  expect_raw(&e, 200, "POST", path, NULL, NULL, NULL);
  /* reads are not state-changing */
  expect_raw(&e, 200, "GET", "/health", NULL, "Content-Type: text/plain\r\n", NULL);
  env_stop(&e);
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
      cmocka_unit_test(test_admin_routes_refuse_other_bearers),
      cmocka_unit_test(test_host_header),
      cmocka_unit_test(test_origin_header),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(test_ssrf_embedded_dispatch),
      cmocka_unit_test(test_ssrf_embedded_register),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
