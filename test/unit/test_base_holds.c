/* test_base_holds.c - the holds counter: finish runs once, after the last drop, never inside
 * the call that dropped it, and may free the object whose handle it closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <uv.h>

#include "base/holds.h"

typedef struct {
  mol_holds holds;
  uv_timer_t last;
  int *finished;
} object;

static int in_drop; /* set around a drop, to catch finish running inside it */

static void finish(void *data) {
  object *o = data;
  assert_int_equal(in_drop, 0);
  (*o->finished)++;
  free(o); /* the holds and the handle live in o: finish may free them */
}

static object *object_new(uv_loop_t *loop, int *finished) {
  object *o = calloc(1, sizeof(*o));
  uv_timer_init(loop, &o->last);
  mol_holds_init(&o->holds, (uv_handle_t *)&o->last, finish, o);
  o->finished = finished;
  return o;
}

static void drop(object *o) {
  in_drop = 1;
  mol_holds_drop(&o->holds);
  in_drop = 0;
}

static void finishes_once_after_the_last_drop(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int finished = 0;
  object *o = object_new(&loop, &finished);
  mol_holds_take(&o->holds);
  mol_holds_take(&o->holds);
  drop(o);
  drop(o);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(finished, 0); /* the creator's hold is still there */
  drop(o);
  assert_int_equal(finished, 0); /* not inside the drop ... */
  assert_true(uv_is_closing((uv_handle_t *)&o->last)); /* ... o is still valid here */
  uv_run(&loop, UV_RUN_DEFAULT); /* the closing handle keeps the loop alive until finish */
  assert_int_equal(finished, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* A hold dropped from inside a callback: the object stays usable for the rest of it. */
static void on_timer(uv_timer_t *t) {
  object *o = t->data;
  drop(o);
  assert_non_null(o->finished); /* still o's memory (ASan would say otherwise) */
}

static void drop_inside_a_callback(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int finished = 0;
  object *o = object_new(&loop, &finished);
  o->last.data = o; /* the handle works as a timer until the holds take it */
  uv_timer_start(&o->last, on_timer, 0, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(finished, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(finishes_once_after_the_last_drop),
      cmocka_unit_test(drop_inside_a_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
