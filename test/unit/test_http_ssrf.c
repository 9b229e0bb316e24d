/* http/ssrf.h: the policy on top of the address classes (the classes themselves are checked
 * address by address through the development platform's guard in test_devplatform_pure). A
 * webhook policy that allows private addresses still never reaches a blocked one. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/ssrf.h"

static mol_ssrf_verdict check(const char *url, int loopback, int private_) {
  char host[256];
  mol_ssrf_policy p = {.allow_loopback = loopback, .allow_private = private_};
  return mol_ssrf_check_url(url, &p, host);
}

static void policies(void **state) {
  (void)state;
  const struct { const char *url; mol_ssrf_verdict strict, loopback, open; } cases[] = {
    {"http://8.8.8.8/hook", MOL_SSRF_OK, MOL_SSRF_OK, MOL_SSRF_OK},
    {"https://[2001:4860::8888]/", MOL_SSRF_OK, MOL_SSRF_OK, MOL_SSRF_OK},
    {"http://127.0.0.1:9/", MOL_SSRF_REFUSED, MOL_SSRF_OK, MOL_SSRF_OK},
    {"http://[::1]:9/", MOL_SSRF_REFUSED, MOL_SSRF_OK, MOL_SSRF_OK},
    {"http://localhost:9/", MOL_SSRF_REFUSED, MOL_SSRF_OK, MOL_SSRF_OK},
    {"http://a.localhost/", MOL_SSRF_REFUSED, MOL_SSRF_OK, MOL_SSRF_OK},
    {"http://10.1.2.3/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_OK},
    {"http://192.168.0.1/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_OK},
    {"http://[fd00::1]/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_OK},
    {"http://169.254.169.254/latest/meta-data", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_REFUSED},
    {"http://[64:ff9b::a9fe:a9fe]/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_REFUSED},
    {"http://[64:ff9b::7f00:1]/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_REFUSED},
    {"http://0.0.0.0/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_REFUSED},
    {"http://224.0.0.1/", MOL_SSRF_REFUSED, MOL_SSRF_REFUSED, MOL_SSRF_REFUSED},
    {"http://hooks.example.com/x", MOL_SSRF_RESOLVE, MOL_SSRF_RESOLVE, MOL_SSRF_RESOLVE},
    {"ftp://8.8.8.8/", MOL_SSRF_BADURL, MOL_SSRF_BADURL, MOL_SSRF_BADURL},
    {"http://user@8.8.8.8/", MOL_SSRF_BADURL, MOL_SSRF_BADURL, MOL_SSRF_BADURL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    if (check(cases[i].url, 0, 0) != cases[i].strict ||
        check(cases[i].url, 1, 0) != cases[i].loopback ||
        check(cases[i].url, 1, 1) != cases[i].open)
      fail_msg("%s", cases[i].url);
  }
  char host[256];
  mol_ssrf_policy p = {0};
  assert_int_equal(mol_ssrf_check_url("http://Hooks.Example.com:8080/x", &p, host), MOL_SSRF_RESOLVE);
  assert_string_equal(host, "hooks.example.com");
}

static void addresses(void **state) {
  (void)state;
  struct sockaddr_in a = {.sin_family = AF_INET};
  mol_ssrf_policy open = {.allow_loopback = 1, .allow_private = 1}, strict = {0};
  inet_pton(AF_INET, "172.16.5.4", &a.sin_addr);
  assert_int_equal(mol_ssrf_classify_addr((struct sockaddr *)&a), MOL_SSRF_PRIVATE);
  assert_true(mol_ssrf_addr_ok((struct sockaddr *)&a, &open));
  assert_false(mol_ssrf_addr_ok((struct sockaddr *)&a, &strict));
  inet_pton(AF_INET, "100.64.0.1", &a.sin_addr);
  assert_false(mol_ssrf_addr_ok((struct sockaddr *)&a, &open));
  struct sockaddr_in6 b = {.sin6_family = AF_INET6};
  inet_pton(AF_INET6, "::ffff:10.0.0.1", &b.sin6_addr);
  assert_int_equal(mol_ssrf_classify_addr((struct sockaddr *)&b), MOL_SSRF_PRIVATE);
  struct sockaddr unknown = {.sa_family = AF_UNIX};
  assert_int_equal(mol_ssrf_classify_addr(&unknown), MOL_SSRF_BLOCKED);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(policies), cmocka_unit_test(addresses)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
