/* The proxy settings as pure functions: proxy URLs (schemes, default port, credentials turned
 * into Proxy-Authorization), the environment read in curl's order, and NO_PROXY's forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http/proxy.h"
#include "molecule.h"

static void parse_ok(const char *spec, const char *name, const char *auth) {
  mol_http_proxy p = {.source = "test"};
  assert_int_equal(mol_http__proxy_parse(spec, &p), 0);
  assert_true(p.set);
  assert_false(p.bad);
  assert_string_equal(p.name, name);
  assert_string_equal(p.source, "test");
  if (auth) assert_string_equal(p.auth, auth);
  else assert_null(p.auth);
  mol_http__proxy_free(&p);
}

static void test_parse(void **state) {
  (void)state;
  parse_ok("http://proxy.example:3128", "proxy.example:3128", NULL);
  parse_ok("HTTP://Proxy.Example:3128/", "proxy.example:3128", NULL);
  parse_ok("proxy.example:8080", "proxy.example:8080", NULL);
  parse_ok("proxy.example", "proxy.example:1080", NULL); /* curl's default port */
  parse_ok("http://[::1]:3128", "[::1]:3128", NULL);
  /* "alice:s3cret" */
  parse_ok("http://alice:s3cret@127.0.0.1:3128", "127.0.0.1:3128", "Basic YWxpY2U6czNjcmV0");
  /* percent-encoded, and an '@' in the password: "alice:p@ss" */
  parse_ok("http://alice:p%40ss@127.0.0.1:3128", "127.0.0.1:3128", "Basic YWxpY2U6cEBzcw==");
  parse_ok("http://alice:p@ss@127.0.0.1:3128", "127.0.0.1:3128", "Basic YWxpY2U6cEBzcw==");
  /* a user alone: "alice:" */
  parse_ok("http://alice@127.0.0.1:3128", "127.0.0.1:3128", "Basic YWxpY2U6");
}

static void test_parse_refused(void **state) {
  (void)state;
  static const char *const bad[] = {"https://proxy:443", "socks5://proxy:1080", "http://",
                                    "http://proxy:0", "http://proxy:99999", "http://pro xy:1",
                                    "http://alice:pw@", "", "ftp://proxy"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    mol_http_proxy p = {0};
    assert_int_equal(mol_http__proxy_parse(bad[i], &p), MOL_EURL);
    assert_true(p.set);
    assert_true(p.bad);
    mol_http__proxy_free(&p);
  }
}

static void clear_env(void) {
  static const char *const names[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                      "all_proxy",   "ALL_PROXY",   "no_proxy",   "NO_PROXY",
                                      "REQUEST_METHOD"};
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) unsetenv(names[i]);
}

static void test_env(void **state) {
  (void)state;
  const char *var;
  clear_env();
  assert_null(mol_http__proxy_env(1, &var));
  assert_null(mol_http__no_proxy_env());
  setenv("HTTPS_PROXY", "upper:1", 1);
  assert_string_equal(mol_http__proxy_env(1, &var), "upper:1");
  assert_string_equal(var, "HTTPS_PROXY");
  setenv("https_proxy", "lower:1", 1); /* lower case first, as curl */
  assert_string_equal(mol_http__proxy_env(1, &var), "lower:1");
  assert_string_equal(var, "https_proxy");
  assert_null(mol_http__proxy_env(0, &var)); /* not for http */
  setenv("ALL_PROXY", "all:1", 1);
  assert_string_equal(mol_http__proxy_env(0, &var), "all:1");
  setenv("HTTP_PROXY", "http:1", 1);
  assert_string_equal(mol_http__proxy_env(0, &var), "http:1");
  setenv("REQUEST_METHOD", "GET", 1); /* CGI: HTTP_PROXY may come from a request header */
  assert_string_equal(mol_http__proxy_env(0, &var), "all:1");
  setenv("https_proxy", "", 1); /* empty = unset */
  assert_string_equal(mol_http__proxy_env(1, &var), "upper:1");
  setenv("NO_PROXY", "a", 1);
  assert_string_equal(mol_http__no_proxy_env(), "a");
  setenv("no_proxy", "b", 1);
  assert_string_equal(mol_http__no_proxy_env(), "b");
  clear_env();
}

typedef struct {
  const char *list, *host;
  unsigned port;
  int match;
} np_case;

static void test_no_proxy(void **state) {
  (void)state;
  static const np_case cases[] = {
      {NULL, "example.com", 80, 0},
      {"", "example.com", 80, 0},
      {"*", "example.com", 80, 1},
      {"*", "10.1.2.3", 443, 1},
      {"example.com", "example.com", 80, 1},
      {"example.com", "api.example.com", 80, 1},   /* subdomains too */
      {"example.com", "badexample.com", 80, 0},    /* not a suffix of a label */
      {".example.com", "api.example.com", 80, 1},
      {".example.com", "example.com", 80, 1},
      {"*.example.com", "a.b.example.com", 80, 1},
      {"EXAMPLE.com", "example.com", 80, 1},
      {"other.org, example.com", "example.com", 80, 1},
      {" other.org ,\texample.com ", "example.com", 80, 1},
      {"other.org", "example.com", 80, 0},
      {"example.com:8080", "example.com", 8080, 1},
      {"example.com:8080", "example.com", 80, 0},
      {"127.0.0.1", "127.0.0.1", 9, 1},
      {"127.0.0.1", "127.0.0.2", 9, 0},
      {"127.0.0.1:9", "127.0.0.1", 9, 1},
      {"127.0.0.1:9", "127.0.0.1", 10, 0},
      {"10.0.0.0/8", "10.200.3.4", 80, 1},
      {"10.0.0.0/8", "11.0.0.1", 80, 0},
      {"192.168.1.0/25", "192.168.1.127", 80, 1},
      {"192.168.1.0/25", "192.168.1.128", 80, 0},
      {"0.0.1", "127.0.0.1", 80, 0},               /* an address is not a name */
      {".0.0.1", "127.0.0.1", 80, 0},
      {"::1", "::1", 80, 1},
      {"[::1]", "::1", 80, 1},
      {"[::1]:8443", "::1", 8443, 1},
      {"[::1]:8443", "::1", 443, 0},
      {"fd00::/8", "fd12::1", 80, 1},
      {"fd00::/8", "fe80::1", 80, 0},
      {"127.0.0.1", "localhost", 80, 0},           /* names are not resolved */
      {"localhost", "localhost", 80, 1},
      {"example.com:0", "example.com", 80, 0},     /* malformed entries match nothing */
      {"10.0.0.0/x", "10.0.0.1", 80, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    const np_case *c = &cases[i];
    int got = mol_http__no_proxy_match(c->list, c->host, c->port);
    if (got != c->match)
      fail_msg("NO_PROXY '%s' for %s:%u: got %d, want %d", c->list ? c->list : "(null)", c->host,
               c->port, got, c->match);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_parse_refused),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_no_proxy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
