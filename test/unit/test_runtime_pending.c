#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"
#include "runtime/pending.h"

typedef struct {
  int calls;
  int err;
  char text[64];
  int progress;
} outcome;

static void on_done(int err, const char *text, size_t len, void *arg) {
  outcome *o = arg;
  o->calls++;
  o->err = err;
  snprintf(o->text, sizeof(o->text), "%.*s", (int)len, text ? text : "");
}

static void on_progress(const char *text, size_t len, void *arg) {
  (void)text;
  (void)len;
  ((outcome *)arg)->progress++;
}

static int closed;
static void on_close(void *arg) { *(int *)arg += 1; }

static void resolve_once_then_stale(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_pending *p;
  assert_int_equal(mol_pending_new(&loop, NULL, &p), 0);
  outcome o = {0};
  assert_int_equal(mol_pending_add(p, "m1", 0, 7, on_done, on_progress, &o), 0);
  assert_int_equal(mol_pending_add(p, "m1", 0, 7, on_done, NULL, &o), MOL_EEXIST);
  assert_int_equal(mol_pending_deliver(p, "m1", "ack", 3, 0, NULL), MOL_PENDING_INTERIM);
  assert_int_equal(o.progress, 1);
  assert_int_equal(o.calls, 0);
  assert_int_equal(mol_pending_deliver(p, "m1", "hello", 5, 1, NULL), MOL_PENDING_RESOLVED);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.err, 0);
  assert_string_equal(o.text, "hello");
  int origin = 0;
  assert_int_equal(mol_pending_deliver(p, "m1", "hello", 5, 1, &origin), MOL_PENDING_DUPLICATE);
  assert_int_equal(mol_pending_deliver(p, "m1", "other", 5, 1, &origin), MOL_PENDING_ORPHAN);
  assert_int_equal(origin, 7);
  assert_int_equal(mol_pending_deliver(p, "never", "x", 1, 1, &origin), MOL_PENDING_ORPHAN);
  assert_int_equal(origin, -1);
  assert_int_equal(mol_pending_deliver(p, "never", "x", 1, 1, &origin), MOL_PENDING_DUPLICATE);
  assert_int_equal(o.calls, 1);
  closed = 0;
  mol_pending_close(p, on_close, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void deadlines_fire_in_order(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_pending *p;
  mol_pending_new(&loop, NULL, &p);
  outcome o[4] = {{0}};
  unsigned timeouts[] = {60, 20, 40, 5000};
  char id[8];
  for (int i = 0; i < 4; i++) {
    snprintf(id, sizeof(id), "t%d", i);
    assert_int_equal(mol_pending_add(p, id, timeouts[i], 0, on_done, NULL, &o[i]), 0);
  }
  assert_int_equal(mol_pending_cancel(p, "t3"), 0);
  assert_int_equal(mol_pending_cancel(p, "t3"), MOL_ENOENT);
  assert_int_equal(o[3].err, MOL_ECANCELED);
  uint64_t start = uv_now(&loop);
  while (mol_pending_count(p) > 0) uv_run(&loop, UV_RUN_ONCE);
  assert_true(uv_now(&loop) - start >= 60);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, MOL_ETIMEDOUT);
  }
  /* A late reply to a timed-out entry is an orphan with its origin, then a duplicate. */
  int origin = -5;
  assert_int_equal(mol_pending_deliver(p, "t1", "late", 4, 1, &origin), MOL_PENDING_ORPHAN);
  assert_int_equal(origin, 0);
  mol_pending_close(p, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void close_fails_all_with_shutdown(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_pending_opts opts = {.max_entries = 1000};
  mol_pending *p;
  mol_pending_new(&loop, &opts, &p);
  static outcome o[1001];
  memset(o, 0, sizeof(o));
  char id[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof(id), "id-%d", i);
    assert_int_equal(mol_pending_add(p, id, (unsigned)(1000 + (i * 7919) % 5000), 0, on_done,
                                     NULL, &o[i]),
                     0);
  }
  assert_int_equal(mol_pending_add(p, "one-too-many", 0, 0, on_done, NULL, &o[1000]), MOL_ELIMIT);
  assert_int_equal(mol_pending_add(p, "", 0, 0, on_done, NULL, &o[1000]), MOL_EINVAL);
  /* Resolve a scattered half so the heap is exercised in the middle. */
  for (int i = 0; i < 1000; i += 2) {
    snprintf(id, sizeof(id), "id-%d", i);
    assert_int_equal(mol_pending_deliver(p, id, "r", 1, 1, NULL), MOL_PENDING_RESOLVED);
  }
  assert_int_equal(mol_pending_count(p), 500);
  closed = 0;
  mol_pending_close(p, on_close, &closed);
  assert_int_equal(closed, 0); /* never inside the call */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, i % 2 ? MOL_ESHUTDOWN : 0);
  }
  assert_int_equal(o[1000].calls, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(resolve_once_then_stale),
    cmocka_unit_test(deadlines_fire_in_order),
    cmocka_unit_test(close_fails_all_with_shutdown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
