#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <stdio.h>

#include "base/log.h"
#include "molecule.h"

static char last[4096];
static int lines;

static void sink(mol_log_level level, const char *line, void *arg) {
  (void)level;
  (void)arg;
  snprintf(last, sizeof(last), "%s", line);
  lines++;
}

static int setup(void **state) {
  (void)state;
  mol_log_set_sink(sink, NULL);
  mol_log_set_level(MOL_LOG_INFO);
  mol_log_set_format(MOL_LOG_PLAIN);
  lines = 0;
  last[0] = '\0';
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mol_log_set_sink(NULL, NULL);
  mol_log_clear_secrets();
  return 0;
}

static void level_filter(void **state) {
  (void)state;
  mol_logd("t", "hidden %d", 1);
  assert_int_equal(lines, 0);
  mol_logw("t", "shown %d", 2);
  assert_int_equal(lines, 1);
  assert_non_null(strstr(last, "warn"));
  assert_non_null(strstr(last, "t: shown 2"));
}

static void plain_line_redacts_bearer(void **state) {
  (void)state;
  mol_logi("http", "POST /registry/register Authorization: Bearer tok_abcdef123456");
  assert_null(strstr(last, "tok_abcdef123456"));
  assert_non_null(strstr(last, "Bearer [REDACTED]"));
}

static void registered_secret_redacted_in_json_format(void **state) {
  (void)state;
  mol_log_set_format(MOL_LOG_JSON);
  assert_int_equal(mol_log_add_secret("sk-very-secret-value"), 0);
  mol_logi("cfg", "loaded key sk-very-secret-value \"quoted\"");
  json_error_t e;
  json_t *o = json_loads(last, 0, &e);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
  assert_string_equal(json_string_value(json_object_get(o, "scope")), "cfg");
  assert_string_equal(json_string_value(json_object_get(o, "msg")),
                      "loaded key [REDACTED] \"quoted\"");
  json_decref(o);
}

static void short_secrets_ignored_and_bounded(void **state) {
  (void)state;
  assert_int_equal(mol_log_add_secret("abc"), 0);
  mol_logi("t", "abc stays");
  assert_non_null(strstr(last, "abc stays"));
  assert_int_equal(mol_log_add_secret(NULL), MOL_EINVAL);
  char v[32];
  int rc = 0;
  for (int i = 0; i < 100 && rc == 0; i++) {
    snprintf(v, sizeof(v), "secret-number-%03d", i);
    rc = mol_log_add_secret(v);
  }
  assert_int_equal(rc, MOL_ELIMIT);
}

static void level_parse(void **state) {
  (void)state;
  mol_log_level l;
  assert_int_equal(mol_log_level_parse("DEBUG", &l), 0);
  assert_int_equal(l, MOL_LOG_DEBUG);
  assert_int_equal(mol_log_level_parse("warning", &l), 0);
  assert_int_equal(l, MOL_LOG_WARN);
  assert_int_equal(mol_log_level_parse("loud", &l), MOL_EINVAL);
}

static void error_names(void **state) {
  (void)state;
  assert_string_equal(mol_err_name(MOL_ETIMEDOUT), "ETIMEDOUT");
  assert_string_equal(mol_err_name(MOL_ETLSVERIFY), "MOL_ETLSVERIFY");
  assert_non_null(strstr(mol_strerror(MOL_ECONNREFUSED), "refused"));
  assert_non_null(mol_strerror(-123456));
  assert_string_equal(mol_strerror(MOL_EOF), "end of file");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(level_filter, setup, teardown),
    cmocka_unit_test_setup_teardown(plain_line_redacts_bearer, setup, teardown),
    cmocka_unit_test_setup_teardown(registered_secret_redacted_in_json_format, setup, teardown),
    cmocka_unit_test_setup_teardown(short_secrets_ignored_and_bounded, setup, teardown),
    cmocka_unit_test(level_parse),
    cmocka_unit_test(error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
