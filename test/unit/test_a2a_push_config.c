/* a2a/push.h without sockets: both wire spellings in, each version's shape out, the task's
 * configs (default id, replacement, bounds per task and per store) and the store's observer,
 * which hears the events of tasks with configs only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "a2a/push.h"
#include "a2a_test_util.h"
#include "molecule.h"

static mol_a2a_push_config read(const char *wire, mol_a2a_version v, int want_rc) {
  json_t *j = json_loads(wire, 0, NULL);
  mol_a2a_push_config c;
  mol_a2a_error err = {0};
  assert_int_equal(mol_a2a_push_config_from_wire(j, v, &c, &err), want_rc);
  if (want_rc) assert_int_equal(err.code, MOL_A2A_INVALID_PARAMS);
  json_decref(j);
  return c;
}

static char *out(const mol_a2a_push_config *c, mol_a2a_version v) {
  json_t *j = mol_a2a_push_config_to_wire("t1", c, v);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

static void wire_shapes(void **state) {
  (void)state;
  mol_a2a_push_config c = read("{\"id\":\"c\",\"url\":\"http://h/x\",\"token\":\"t\","
                               "\"authentication\":{\"schemes\":[\"Bearer\",\"Basic\"],\"credentials\":\"k\"}}",
                               MOL_A2A_V03, 0);
  assert_string_equal(c.auth_scheme, "Bearer");
  assert_json_free(out(&c, MOL_A2A_V03),
                   "{\"taskId\":\"t1\",\"pushNotificationConfig\":{\"id\":\"c\",\"url\":\"http://h/x\","
                   "\"token\":\"t\",\"authentication\":{\"schemes\":[\"Bearer\"],\"credentials\":\"k\"}}}");
  assert_json_free(out(&c, MOL_A2A_V10),
                   "{\"taskId\":\"t1\",\"id\":\"c\",\"url\":\"http://h/x\",\"token\":\"t\","
                   "\"authentication\":{\"scheme\":\"Bearer\",\"credentials\":\"k\"}}");
  mol_a2a_push_config_clear(&c);
  c = read("{\"taskId\":\"t1\",\"url\":\"http://h/y\",\"token\":\"\",\"authentication\":{\"scheme\":\"Basic\"}}",
           MOL_A2A_V10, 0);
  assert_null(c.id);
  assert_null(c.token); /* "" is none */
  assert_string_equal(c.auth_scheme, "Basic");
  assert_int_equal(c.version, MOL_A2A_V10);
  mol_a2a_push_config_clear(&c);
  const char *bad[] = {"{}", "{\"url\":1}", "{\"url\":\"http://h\",\"token\":[1]}",
                       "{\"url\":\"http://h\",\"token\":\"a\\nb\"}", "{\"url\":\"http://h\\u0000x\"}",
                       "{\"url\":\"http://h\",\"authentication\":[]}",
                       "{\"url\":\"http://h\",\"authentication\":{\"schemes\":[1]}}",
                       "{\"url\":\"http://h\",\"authentication\":{\"scheme\":\"two words\"}}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) read(bad[i], MOL_A2A_V03, MOL_EINVAL);
}

static int heard;
static void observer(mol_a2a_task *t, const mol_a2a_event *ev, void *arg) {
  (void)t;
  (void)ev;
  (void)arg;
  heard++;
}

static void on_tasks(void **state) {
  (void)state;
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.max_push_per_task = 2, .max_push_configs = 3, .push_observer = observer};
  assert_int_equal(mol_a2a_store_new(&o, &s), 0);
  mol_a2a_task *a, *b;
  assert_int_equal(mol_a2a_store_create(s, NULL, &a), 0);
  assert_int_equal(mol_a2a_store_create(s, NULL, &b), 0);
  assert_int_equal(mol_a2a_task_set_status(a, MOL_A2A_STATE_WORKING, NULL, NULL), 0);
  assert_int_equal(heard, 0); /* no configs: never heard */
  mol_a2a_error err = {0};
  const mol_a2a_push_config *stored;
  mol_a2a_push_config c = read("{\"url\":\"http://h/1\"}", MOL_A2A_V03, 0);
  size_t before = 0;
  mol_a2a_store_stats st;
  mol_a2a_store_stats_get(s, &st);
  before = st.bytes;
  assert_int_equal(mol_a2a_task_push_put(a, &c, &stored, &err), 0);
  assert_string_equal(stored->id, mol_a2a_task_id(a)); /* the default id */
  mol_a2a_store_stats_get(s, &st);
  assert_true(st.bytes > before); /* charged to the budget */
  c = read("{\"url\":\"http://h/2\"}", MOL_A2A_V03, 0);
  assert_int_equal(mol_a2a_task_push_put(a, &c, &stored, &err), 0); /* same id: replaced */
  assert_int_equal(mol_a2a_task_push_count(a), 1);
  assert_string_equal(mol_a2a_task_push_find(a, NULL)->url, "http://h/2");
  c = read("{\"id\":\"x\",\"url\":\"http://h/3\"}", MOL_A2A_V03, 0);
  assert_int_equal(mol_a2a_task_push_put(a, &c, &stored, &err), 0);
  c = read("{\"id\":\"y\",\"url\":\"http://h/4\"}", MOL_A2A_V03, 0);
  assert_int_equal(mol_a2a_task_push_put(a, &c, &stored, &err), MOL_ELIMIT); /* per task */
  assert_int_equal(err.code, MOL_A2A_INVALID_PARAMS);
  mol_a2a_push_config_clear(&c);
  c = read("{\"id\":\"y\",\"url\":\"http://h/4\"}", MOL_A2A_V03, 0);
  assert_int_equal(mol_a2a_task_push_put(b, &c, &stored, &err), 0);
  c = read("{\"id\":\"z\",\"url\":\"http://h/5\"}", MOL_A2A_V03, 0);
  assert_int_equal(mol_a2a_task_push_put(b, &c, &stored, &err), MOL_ELIMIT); /* per store */
  assert_int_equal(err.code, MOL_A2A_INTERNAL_ERROR);
  mol_a2a_push_config_clear(&c);
  assert_int_equal(mol_a2a_store_push_count(s), 3);
  assert_int_equal(mol_a2a_task_set_status(a, MOL_A2A_STATE_COMPLETED, NULL, NULL), 0);
  assert_int_equal(heard, 1);
  assert_int_equal(mol_a2a_task_push_remove(b, "nope"), MOL_ENOENT);
  assert_int_equal(mol_a2a_task_push_remove(b, "y"), 0);
  assert_int_equal(mol_a2a_task_push_count(b), 0);
  assert_int_equal(mol_a2a_task_set_status(b, MOL_A2A_STATE_WORKING, NULL, NULL), 0);
  assert_int_equal(heard, 1);
  assert_int_equal(mol_a2a_store_remove(s, a), 0); /* its configs go with it */
  assert_int_equal(mol_a2a_store_push_count(s), 0);
  mol_a2a_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(wire_shapes), cmocka_unit_test(on_tasks)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
