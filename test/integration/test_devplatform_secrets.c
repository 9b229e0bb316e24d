/* test_devplatform_secrets.c - the operator's secrets routes over loopback: the listing
 * (GET /workspaces/:id/secrets) is metadata only - keys, scope and times, never a value - and
 * holds the globals and the workspace's own, no other workspace's; a write of an existing key
 * updates it in place; a workspace secret overrides a global one of the same key in what the
 * agent pulls; deletion, and who may list. */
#include "test_devplatform_util.h"

/* The listing of ws as "scope:key" lines, checking each entry's shape on the way. */
static void listing(env *e, const char *ws, const char *bearer, char *out, size_t cap) {
  char path[160];
  snprintf(path, sizeof path, "/workspaces/%s/secrets", ws);
  json_t *j = expect(e, 200, "GET", path, bearer, NULL, NULL);
  assert_true(json_is_array(j));
  out[0] = '\0';
  size_t i;
  json_t *row;
  json_array_foreach(j, i, row) {
    assert_int_equal(json_object_size(row), 5);
    assert_null(json_object_get(row, "value"));
    assert_true(json_is_true(json_object_get(row, "has_value")));
    const char *created = json_string_value(json_object_get(row, "created_at"));
    const char *updated = json_string_value(json_object_get(row, "updated_at"));
    assert_non_null(created);
    assert_non_null(updated);
    assert_int_equal(strlen(created), 24); /* 2026-01-02T03:04:05.678Z */
    assert_true(created[10] == 'T' && created[23] == 'Z');
    assert_true(strcmp(updated, created) >= 0);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s:%s\n", json_string_value(json_object_get(row, "scope")),
             json_string_value(json_object_get(row, "key")));
  }
  json_decref(j);
}

static void put(env *e, const char *ws, const char *key, const char *value) {
  char path[160], body[256];
  if (ws) snprintf(path, sizeof path, "/workspaces/%s/secrets", ws);
  else snprintf(path, sizeof path, "/settings/secrets");
  snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", key, value);
  json_t *j = expect(e, 200, "POST", path, NULL, NULL, body);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "saved");
  assert_string_equal(json_string_value(json_object_get(j, "key")), key);
  json_decref(j);
}

static void test_listing_is_metadata_only(void **state) {
  (void)state;
  env e;
  env_start(&e, 1);
  env_open(&e);
  char A[64], B[64], tokA[64], tokB[64], out[1024], path[200];
  snprintf(A, 64, "%s", create_ws(&e, NULL, "alpha", NULL));
  snprintf(B, 64, "%s", create_ws(&e, NULL, "beta", NULL));
  snprintf(tokA, 64, "%s", register_ws(&e, A, "remote://no-inbound", NULL));
  snprintf(tokB, 64, "%s", register_ws(&e, B, "remote://no-inbound", NULL));
  listing(&e, A, NULL, out, sizeof out);
  assert_string_equal(out, "");
  put(&e, NULL, "REGION", "global-region-value");
  put(&e, A, "API_KEY", "alpha-api-key-value");
  put(&e, A, "DB_URL", "alpha-db-url-value");
  put(&e, B, "B_ONLY", "beta-only-value");
  /* globals first, then the workspace's own, each by key; B's are not A's business */
  listing(&e, A, NULL, out, sizeof out);
  assert_string_equal(out, "global:REGION\nworkspace:API_KEY\nworkspace:DB_URL\n");
  listing(&e, B, NULL, out, sizeof out);
  assert_string_equal(out, "global:REGION\nworkspace:B_ONLY\n");
  /* no value in the listing's bytes either */
  snprintf(path, sizeof path, "/workspaces/%s/secrets", A);
  call_res r;
  call_start(&e, &r, "GET", path, NULL, NULL, NULL, NULL, NULL);
  call_wait(&e, &r);
  assert_int_equal(r.status, 200);
  assert_null(strstr(r.body, "-value"));
  call_free(&r);
  /* a write of an existing key updates it, no second row; a workspace key shadows the global
   * one in what the agent pulls, and both stay listed */
  put(&e, A, "API_KEY", "alpha-api-key-rotated");
  put(&e, A, "REGION", "alpha-region");
  listing(&e, A, tokA, out, sizeof out);
  assert_string_equal(out, "global:REGION\nworkspace:API_KEY\nworkspace:DB_URL\n"
                           "workspace:REGION\n");
  snprintf(path, sizeof path, "/workspaces/%s/secrets/values", A);
  json_t *v = expect(&e, 200, "GET", path, tokA, NULL, NULL);
  assert_int_equal(json_object_size(v), 3);
  assert_string_equal(json_string_value(json_object_get(v, "API_KEY")), "alpha-api-key-rotated");
  assert_string_equal(json_string_value(json_object_get(v, "REGION")), "alpha-region");
  json_decref(v);
  snprintf(path, sizeof path, "/workspaces/%s/secrets/values", B);
  v = expect(&e, 200, "GET", path, tokB, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(v, "REGION")), "global-region-value");
  json_decref(v);
  /* delete: once, then 404; the global of the same key shows again */
  snprintf(path, sizeof path, "/workspaces/%s/secrets/REGION", A);
  json_t *d = expect(&e, 200, "DELETE", path, NULL, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(d, "status")), "deleted");
  assert_string_equal(json_string_value(json_object_get(d, "key")), "REGION");
  json_decref(d);
  d = expect(&e, 404, "DELETE", path, NULL, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(d, "error")), "secret not found");
  json_decref(d);
  listing(&e, A, NULL, out, sizeof out);
  assert_string_equal(out, "global:REGION\nworkspace:API_KEY\nworkspace:DB_URL\n");
  /* who may list: the operator (here --dev on loopback, no credentials), the workspace's own
   * token; never another workspace's */
  snprintf(path, sizeof path, "/workspaces/%s/secrets", A);
  d = expect(&e, 401, "GET", path, tokB, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(d, "error")),
                      "invalid workspace auth token");
  json_decref(d);
  /* bad input to a write is named */
  d = expect(&e, 400, "POST", path, NULL, NULL, "{\"key\":\"\",\"value\":\"x\"}");
  assert_non_null(strstr(json_string_value(json_object_get(d, "error")), "key and value are required"));
  json_decref(d);
  env_stop(&e);
}

/* Without --dev the listing needs credentials: the admin token or the workspace's own. */
static void test_listing_needs_credentials(void **state) {
  (void)state;
  env e;
  env_start(&e, 0);
  env_open(&e);
  const char *admin = mol_devplatform_admin_token(e.dp);
  char A[64], path[160];
  snprintf(A, 64, "%s", create_ws(&e, admin, "alpha", NULL));
  snprintf(path, sizeof path, "/workspaces/%s/secrets", A);
  expect_drop(&e, 200, "POST", path, admin, NULL, "{\"key\":\"K\",\"value\":\"V\"}");
  json_t *j = expect(&e, 401, "GET", path, NULL, NULL, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "error")),
                      "missing workspace auth token");
  json_decref(j);
  j = expect(&e, 200, "GET", path, admin, NULL, NULL);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "key")), "K");
  json_decref(j);
  env_stop(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listing_is_metadata_only),
      cmocka_unit_test(test_listing_needs_credentials),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
