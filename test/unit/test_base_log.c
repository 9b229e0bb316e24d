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

static int evaluated;
static const char *counted(const char *v) {
  evaluated++;
  return v;
}

/* Structured fields: members of the JSON object (numbers as numbers, NULL strings left out,
 * values redacted, the line's own members never overwritten), key=value in plain text, and
 * nothing built at all when the level is off. */
static void fields_in_json_and_plain(void **state) {
  (void)state;
  mol_log_set_format(MOL_LOG_JSON);
  assert_int_equal(mol_log_add_secret("sk-field-secret-1"), 0);
  mol_logx(MOL_LOG_WARN, "agent",
           MOL_FIELDS(MOL_F_STR("agent", "alpha"), MOL_F_INT("duration_ms", 1234),
                      MOL_F_INT("status", 503), MOL_F_ERR(MOL_ECONNREFUSED),
                      MOL_F_STR("workspace_id", NULL), MOL_F_STR("token_seen", "sk-field-secret-1"),
                      MOL_F_STR("msg", "not the message")),
           "turn %s", "ended");
  json_error_t e;
  json_t *o = json_loads(last, 0, &e);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "msg")), "turn ended");
  assert_string_equal(json_string_value(json_object_get(o, "agent")), "alpha");
  assert_int_equal(json_integer_value(json_object_get(o, "duration_ms")), 1234);
  assert_int_equal(json_integer_value(json_object_get(o, "status")), 503);
  assert_string_equal(json_string_value(json_object_get(o, "err")), mol_strerror(MOL_ECONNREFUSED));
  assert_null(json_object_get(o, "workspace_id"));
  assert_string_equal(json_string_value(json_object_get(o, "token_seen")), "[REDACTED]");
  assert_string_equal(json_string_value(json_object_get(o, "field_msg")), "not the message");
  json_decref(o);

  mol_log_set_format(MOL_LOG_PLAIN);
  mol_logx(MOL_LOG_INFO, "agent", MOL_FIELDS(MOL_F_STR("agent", "alpha"), MOL_F_INT("duration_ms", 7),
                                             MOL_F_STR("status", "two words"), MOL_F_ERR(0)),
           "done");
  assert_non_null(strstr(last, "agent: done agent=alpha duration_ms=7 status=\"two words\""));
  assert_null(strstr(last, "err="));

  evaluated = 0;
  lines = 0;
  mol_logx(MOL_LOG_DEBUG, "agent", MOL_FIELDS(MOL_F_STR("agent", counted("a"))), "%s", counted("b"));
  assert_int_equal(lines, 0);
  assert_int_equal(evaluated, 0); /* off: neither the fields nor the arguments were evaluated */
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
    cmocka_unit_test_setup_teardown(fields_in_json_and_plain, setup, teardown),
    cmocka_unit_test(level_parse),
    cmocka_unit_test(error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
