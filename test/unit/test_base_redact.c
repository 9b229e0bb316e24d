#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"

static char *redact(const char *in, const char *const *secrets, size_t n) {
  mol_buf out = MOL_BUF_INIT;
  assert_int_equal(mol_redact(in, strlen(in), secrets, n, &out), 0);
  return mol_buf_steal(&out);
}

static void check(const char *in, const char *want) {
  char *got = redact(in, NULL, 0);
  assert_string_equal(got, want);
  free(got);
}

static void bearer_credentials(void **state) {
  (void)state;
  check("Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED]");
  check("sent bearer eyJhbGciOiJIUzI1NiJ9.x.y to peer", "sent bearer [REDACTED] to peer");
  check("Basic dXNlcjpwYXNz", "Basic [REDACTED]");
}

static void json_keys(void **state) {
  (void)state;
  check("{\"auth_token\":\"s3cr3t-value\",\"id\":\"ws-1\"}",
        "{\"auth_token\":\"[REDACTED]\",\"id\":\"ws-1\"}");
  check("{\"api_key\": \"sk-live-1234\"}", "{\"api_key\": \"[REDACTED]\"}");
  check("{\"password\":\"a\\\"b\"}", "{\"password\":\"[REDACTED]\"}");
}

static void header_and_query_forms(void **state) {
  (void)state;
  check("X-Molecule-A2A-Secret: f00dfeed", "X-Molecule-A2A-Secret: [REDACTED]");
  check("GET /x?token=abc123&page=2", "GET /x?token=[REDACTED]&page=2");
  check("API_SERVER_KEY=hunter22 next", "API_SERVER_KEY=[REDACTED] next");
}

static void ordinary_text_untouched(void **state) {
  (void)state;
  check("connected to 127.0.0.1:8080 in 3 ms", "connected to 127.0.0.1:8080 in 3 ms");
  check("tokenizer: ready", "tokenizer: ready");
  check("the token expired", "the token expired");
  check("", "");
}

static void registered_secrets_anywhere(void **state) {
  (void)state;
  const char *secrets[] = {"wsk_9f8e7d6c5b", "another-secret"};
  char *got = redact("prefixwsk_9f8e7d6c5bsuffix and another-secret.", secrets, 2);
  assert_string_equal(got, "prefix[REDACTED]suffix and [REDACTED].");
  free(got);
}

static void sensitive_key_names(void **state) {
  (void)state;
  assert_true(mol_redact_is_sensitive_key("Authorization", 13));
  assert_true(mol_redact_is_sensitive_key("refresh-token", 13));
  assert_true(mol_redact_is_sensitive_key("CLIENT_SECRET", 13));
  assert_false(mol_redact_is_sensitive_key("content-type", 12));
  assert_false(mol_redact_is_sensitive_key("tokens_used", 11));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(bearer_credentials),   cmocka_unit_test(json_keys),
    cmocka_unit_test(header_and_query_forms), cmocka_unit_test(ordinary_text_untouched),
    cmocka_unit_test(registered_secrets_anywhere), cmocka_unit_test(sensitive_key_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
