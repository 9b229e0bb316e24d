/* Unit tests of the server's route table (route.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/server_int.h"
#include "molecule.h"

static int tags[8];
static void h(mol_http_req *r, void *arg) {
  (void)r;
  (void)arg;
}

static int match(const mol_routes *t, const char *m, const char *p, int *status, mol_buf *a) {
  const mol_route *r = mol_http__routes_match(t, m, p, status, a);
  return r ? *(int *)r->arg : 0;
}

static void exact_prefix_and_methods(void **state) {
  (void)state;
  mol_routes t = {0};
  for (int i = 0; i < 8; i++) tags[i] = i + 1;
  assert_int_equal(mol_http__routes_add(&t, "GET", "/a", 0, h, &tags[0]), 0);
  assert_int_equal(mol_http__routes_add(&t, "POST", "/a", 0, h, &tags[1]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/api", 1, h, &tags[2]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/api/v2/", 1, h, &tags[3]), 0);
  assert_int_equal(mol_http__routes_add(&t, "GET", "/api/exact", 0, h, &tags[4]), 0);
  assert_int_equal(mol_http__routes_add(&t, "PUT", "/only-put", 0, h, &tags[5]), 0);
  assert_int_equal(mol_http__routes_add(&t, "GET", "relative", 0, h, &tags[6]), MOL_EINVAL);
  int st = 0;
  mol_buf allow = MOL_BUF_INIT;
  assert_int_equal(match(&t, "GET", "/a", &st, NULL), 1);
  assert_int_equal(match(&t, "POST", "/a", &st, NULL), 2);
  assert_int_equal(match(&t, "HEAD", "/a", &st, NULL), 1);   /* HEAD falls back to GET */
  assert_int_equal(match(&t, "GET", "/api", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/api/x/y", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/api/v2/z", &st, NULL), 4); /* longest prefix wins */
  assert_int_equal(match(&t, "GET", "/api/exact", &st, NULL), 5); /* exact beats prefix */
  assert_int_equal(match(&t, "POST", "/api/exact", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/apix", &st, NULL), 0);
  assert_int_equal(st, 404);
  assert_int_equal(match(&t, "DELETE", "/a", &st, &allow), 0);
  assert_int_equal(st, 405);
  assert_string_equal(allow.data, "GET, HEAD, POST");
  mol_buf_reset(&allow);
  assert_int_equal(match(&t, "GET", "/only-put", &st, &allow), 0);
  assert_int_equal(st, 405);
  assert_string_equal(allow.data, "PUT");
  mol_buf_free(&allow);
  mol_http__routes_free(&t);
}

static void root_prefix_catches_all(void **state) {
  (void)state;
  mol_routes t = {0};
  int tag = 9;
  assert_int_equal(mol_http__routes_add(&t, NULL, "/", 1, h, &tag), 0);
  int st = 0;
  assert_int_equal(match(&t, "PATCH", "/anything/at/all", &st, NULL), 9);
  assert_int_equal(match(&t, "GET", "*", &st, NULL), 0);
  assert_int_equal(st, 404);
  mol_http__routes_free(&t);
}

/* An agent's routes as a host registers them: the card, JSON-RPC, REST and transcript. */
static void add_agent(mol_routes *t, int i, void *arg) {
  char p[64];
  snprintf(p, sizeof(p), "/agents/a%d/.well-known/agent-card.json", i);
  assert_int_equal(mol_http__routes_add(t, "GET", p, 0, h, arg), 0);
  snprintf(p, sizeof(p), "/agents/a%d/.well-known/agent.json", i);
  assert_int_equal(mol_http__routes_add(t, "GET", p, 0, h, arg), 0);
  snprintf(p, sizeof(p), "/agents/a%d/", i);
  assert_int_equal(mol_http__routes_add(t, "POST", p, 0, h, arg), 0);
  snprintf(p, sizeof(p), "/agents/a%d", i);
  assert_int_equal(mol_http__routes_add(t, "POST", p, 0, h, arg), 0);
  snprintf(p, sizeof(p), "/agents/a%d/v1/", i);
  assert_int_equal(mol_http__routes_add(t, NULL, p, 1, h, arg), 0);
  snprintf(p, sizeof(p), "/agents/a%d/transcript", i);
  assert_int_equal(mol_http__routes_add(t, "GET", p, 0, h, arg), 0);
}

/* A lookup compares the path with the routes of its own first two segments and the few
 * routes that span many (such as "/"), never with every agent's: a host's cost per request
 * does not grow with its agents. */
static void lookup_independent_of_table_size(void **state) {
  (void)state;
  enum { N = 10000 };
  static int ids[N];
  mol_routes t = {0};
  int root = -1, metrics = -2;
  assert_int_equal(mol_http__routes_add(&t, "GET", "/metrics", 0, h, &metrics), 0);
  for (int i = 0; i < N; i++) {
    ids[i] = i;
    add_agent(&t, i, &ids[i]);
  }
  assert_int_equal(mol_http__routes_add(&t, NULL, "/", 1, h, &root), 0);
  assert_true(mol_http__routes_scanned(&t, "/agents/a9999/") <= 8);
  assert_true(mol_http__routes_scanned(&t, "/agents/a0/v1/tasks/x") <= 8);
  assert_true(mol_http__routes_scanned(&t, "/agents/nobody/") <= 8);
  int st = 0;
  mol_buf allow = MOL_BUF_INIT;
  assert_int_equal(match(&t, "POST", "/agents/a9999/", &st, NULL), 9999);
  assert_int_equal(match(&t, "POST", "/agents/a9999", &st, NULL), 9999);
  assert_int_equal(match(&t, "GET", "/agents/a42/v1/tasks/t1", &st, NULL), 42);
  assert_int_equal(match(&t, "GET", "/agents/a7/.well-known/agent.json", &st, NULL), 7);
  assert_int_equal(match(&t, "GET", "/metrics", &st, NULL), -2);
  assert_int_equal(match(&t, "GET", "/agents/a7/nothing", &st, NULL), -1); /* "/" catches it */
  /* Unrouting an agent leaves its neighbours; its paths fall to the catch-all. */
  assert_int_equal(mol_http__routes_remove_arg(&t, &ids[42]), 6);
  assert_int_equal(mol_http__routes_remove_arg(&t, &ids[42]), 0);
  assert_int_equal(match(&t, "POST", "/agents/a42/", &st, NULL), -1);
  assert_int_equal(match(&t, "POST", "/agents/a43/", &st, NULL), 43);
  assert_int_equal(mol_http__routes_remove_arg(&t, &root), 1);
  assert_int_equal(match(&t, "POST", "/agents/a42/", &st, NULL), 0);
  assert_int_equal(st, 404);
  assert_int_equal(match(&t, "DELETE", "/agents/a43/transcript", &st, &allow), 0);
  assert_int_equal(st, 405);
  assert_string_equal(allow.data, "GET, HEAD");
  mol_buf_free(&allow);
  add_agent(&t, 42, &ids[42]); /* back again */
  assert_int_equal(match(&t, "GET", "/agents/a42/transcript", &st, NULL), 42);
  mol_http__routes_free(&t);
}

/* The owner a route of method and path belongs to, or NULL. */
static const void *owner_of(const mol_routes *t, const char *m, const char *p) {
  int st = 0;
  const mol_route *r = mol_http__routes_match(t, m, p, &st, NULL);
  return r ? r->arg : NULL;
}

/* Owners come and go in any order: each unroute takes exactly its own routes (in one bucket
 * or several), whatever was removed before it, and the others keep routing. The owners are
 * scattered addresses (as heap objects are), so some share a slot of the owner table; methods
 * outside the common set are routed too. */
static void owners_removed_in_any_order(void **state) {
  (void)state;
  enum { N = 3000 };
  static char pool[N * 64];
  static const void *arg[N];
  static char gone[N];
  mol_routes t = {0};
  char p[64];
  uint32_t x = 12345;
  for (int i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    arg[i] = &pool[i * 64 + (x >> 16) % 64]; /* distinct, irregularly spaced */
    snprintf(p, sizeof(p), "/agents/a%d/x", i);
    assert_int_equal(mol_http__routes_add(&t, "GET", p, 0, h, (void *)arg[i]), 0);
    snprintf(p, sizeof(p), "/agents/a%d/y", i);
    assert_int_equal(mol_http__routes_add(&t, "PROPFIND", p, 0, h, (void *)arg[i]), 0);
    if (i % 3) continue;
    snprintf(p, sizeof(p), "/teams/t%d/z", i); /* a second bucket */
    assert_int_equal(mol_http__routes_add(&t, NULL, p, 1, h, (void *)arg[i]), 0);
  }
  for (int k = 0; k < N; k++) {
    int i = (int)((k * 7919L) % N); /* 7919 is prime: every owner once, scattered */
    assert_int_equal(mol_http__routes_remove_arg(&t, arg[i]), i % 3 ? 2 : 3);
    gone[i] = 1;
    for (int j = (i * 31) % N, n = 0; n < 3; j = (j + 997) % N, n++) {
      snprintf(p, sizeof(p), "/agents/a%d/y", j);
      assert_ptr_equal(owner_of(&t, "PROPFIND", p), gone[j] ? NULL : arg[j]);
      snprintf(p, sizeof(p), "/teams/t%d/z/deeper", j);
      assert_ptr_equal(owner_of(&t, "GET", p), gone[j] || j % 3 ? NULL : arg[j]);
    }
    if (k != N / 2) continue;
    for (int j = 0; j < N; j++) { /* half way: every owner, gone or not */
      snprintf(p, sizeof(p), "/agents/a%d/x", j);
      assert_ptr_equal(owner_of(&t, "GET", p), gone[j] ? NULL : arg[j]);
    }
  }
  assert_int_equal(mol_http__routes_scanned(&t, "/agents/a1/x"), 0);
  mol_http__routes_free(&t);
}

/* A prefix that ends inside the first segments spans many keys and still matches all of them;
 * the most specific route wins whichever side of the index it sits on. */
static void wide_prefixes_and_specific_routes(void **state) {
  (void)state;
  mol_routes t = {0};
  for (int i = 0; i < 8; i++) tags[i] = i + 1;
  assert_int_equal(mol_http__routes_add(&t, NULL, "/agents/", 1, h, &tags[0]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/agents/x/", 1, h, &tags[1]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/agents/x/deep/er/", 1, h, &tags[2]), 0);
  assert_int_equal(mol_http__routes_add(&t, NULL, "/ag", 1, h, &tags[3]), 0);
  int st = 0;
  assert_int_equal(match(&t, "GET", "/agents/y/z", &st, NULL), 1);
  assert_int_equal(match(&t, "GET", "/agents/x/z", &st, NULL), 2);
  assert_int_equal(match(&t, "GET", "/agents/x", &st, NULL), 1);
  assert_int_equal(match(&t, "GET", "/agents/x/deep/er/1", &st, NULL), 3);
  assert_int_equal(match(&t, "GET", "/agents/x/deep/e", &st, NULL), 2);
  assert_int_equal(match(&t, "GET", "/ag/x/y", &st, NULL), 4);
  assert_int_equal(match(&t, "GET", "/agentsx/y", &st, NULL), 0);
  assert_int_equal(st, 404);
  mol_http__routes_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(exact_prefix_and_methods),
    cmocka_unit_test(root_prefix_catches_all),
    cmocka_unit_test(lookup_independent_of_table_size),
    cmocka_unit_test(owners_removed_in_any_order),
    cmocka_unit_test(wide_prefixes_and_specific_routes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
