/* URL parser table: what is accepted, how it is split, and what is refused with MOL_EURL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/url.h"
#include "molecule.h"

typedef struct {
  const char *url;
  int https;
  const char *host;
  unsigned port;
  int ipv6;
  const char *target;
} good_case;

static const good_case good[] = {
    {"http://example.com", 0, "example.com", 80, 0, ""},
    {"http://example.com/", 0, "example.com", 80, 0, "/"},
    {"https://example.com", 1, "example.com", 443, 0, ""},
    {"HTTPS://Example.COM/A/b", 1, "example.com", 443, 0, "/A/b"},
    {"http://example.com:8080/x?y=1&z=2", 0, "example.com", 8080, 0, "/x?y=1&z=2"},
    {"http://example.com?q=1", 0, "example.com", 80, 0, "?q=1"},
    {"http://example.com/p#frag", 0, "example.com", 80, 0, "/p"},
    {"http://127.0.0.1:1/", 0, "127.0.0.1", 1, 0, "/"},
    {"http://[::1]:8443/v1", 0, "::1", 8443, 1, "/v1"},
    {"https://[2001:DB8::1]/", 1, "2001:db8::1", 443, 1, "/"},
    {"http://[::ffff:127.0.0.1]", 0, "::ffff:127.0.0.1", 80, 1, ""},
    {"http://a-b_c.d~e:65535/%20x@y", 0, "a-b_c.d~e", 65535, 0, "/%20x@y"},
    {"https://h:443/", 1, "h", 443, 0, "/"},
};

static void parses_good_urls(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    mol_url u;
    const good_case *g = &good[i];
    int rc = mol_url_parse(g->url, &u);
    if (rc) fail_msg("%s: %d", g->url, rc);
    assert_int_equal(u.https, g->https);
    assert_string_equal(u.host, g->host);
    assert_int_equal(u.port, g->port);
    assert_int_equal(u.ipv6, g->ipv6);
    assert_int_equal(u.target_len, strlen(g->target));
    assert_memory_equal(u.target, g->target, u.target_len);
  }
}

static void explicit_port_is_flagged(void **state) {
  (void)state;
  mol_url u;
  assert_int_equal(mol_url_parse("http://h:80/", &u), 0);
  assert_int_equal(u.port_explicit, 1);
  assert_int_equal(mol_url_parse("http://h/", &u), 0);
  assert_int_equal(u.port_explicit, 0);
}

static const char *const bad[] = {
    "",
    "example.com",
    "ftp://example.com/",
    "http:/example.com",
    "http://",
    "http:///path",
    "http://user@example.com/",
    "http://user:pass@example.com/",
    "http://@example.com/",
    "http://exa mple.com/",
    "http://example.com/a b",
    "http://example.com/\r\nX-Injected: 1",
    "http://example.com\r\n/",
    "http://example.com/\x7f",
    "http://example.com/\xc3\xa9",
    "http://example.com:0/",
    "http://example.com:65536/",
    "http://example.com:99999999999/",
    "http://example.com:/",
    "http://example.com:8o/",
    "http://example.com:-1/",
    "http://[::1/",
    "http://[]/",
    "http://[zz::1]/",
    "http://[::1]x/",
    "http://[fe80::1%25eth0]/",
    "http://exa%2Fmple.com/",
    "http://example.com\\@evil.com/",
};

static void rejects_bad_urls(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mol_url u;
    int rc = mol_url_parse(bad[i], &u);
    if (rc != MOL_EURL) fail_msg("accepted %s", bad[i]);
  }
  mol_url u;
  assert_int_equal(mol_url_parse(NULL, &u), MOL_EURL);
}

static void rejects_overlong_host(void **state) {
  (void)state;
  char url[400] = "http://";
  memset(url + 7, 'a', 256);
  mol_url u;
  assert_int_equal(mol_url_parse(url, &u), MOL_EURL);
  url[7 + 255] = '\0';
  assert_int_equal(mol_url_parse(url, &u), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_good_urls),
      cmocka_unit_test(explicit_port_is_flagged),
      cmocka_unit_test(rejects_bad_urls),
      cmocka_unit_test(rejects_overlong_host),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
