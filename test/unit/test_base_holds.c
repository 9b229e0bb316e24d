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

/* Objects too many to own a handle each share their owner's: their finishes run on a later
 * loop turn, never inside the drop, and the owner's close runs those still waiting. */
typedef struct {
  mol_holds_shared shared; /* its idle handle is also the owner's last handle */
  mol_holds holds;
  int *finished;
} owner;

typedef struct {
  mol_holds holds;
  int *finished;
} child;

static void child_finish(void *data) {
  child *c = data;
  assert_int_equal(in_drop, 0);
  (*c->finished)++;
  free(c);
}

static child *child_new(owner *w, int *finished) {
  child *c = calloc(1, sizeof(*c));
  mol_holds_init_shared(&c->holds, &w->shared, child_finish, c);
  c->finished = finished;
  return c;
}

static void child_drop(child *c) {
  in_drop = 1;
  mol_holds_drop(&c->holds);
  in_drop = 0;
}

static void owner_finish(void *data) {
  owner *w = data;
  mol_holds_shared_flush(&w->shared); /* the children still waiting go first */
  (*w->finished)++;
  free(w);
}

static owner *owner_new(uv_loop_t *loop, int *finished) {
  owner *w = calloc(1, sizeof(*w));
  mol_holds_shared_init(loop, &w->shared);
  mol_holds_init(&w->holds, mol_holds_shared_handle(&w->shared), owner_finish, w);
  w->finished = finished;
  return w;
}

static void shared_children_finish_on_a_later_turn(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int owners = 0, children = 0;
  owner *w = owner_new(&loop, &owners);
  child *a = child_new(w, &children), *b = child_new(w, &children);
  mol_holds_take(&b->holds);
  child_drop(a);
  child_drop(b);
  assert_int_equal(children, 0); /* not inside the drop */
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(children, 1); /* a, on the next turn; b still held */
  child_drop(b);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(children, 2);
  /* Nothing waiting: the shared handle does not keep the loop turning. */
  assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
  mol_holds_drop(&w->holds);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(owners, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void owner_close_finishes_waiting_children(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int owners = 0, children = 0;
  owner *w = owner_new(&loop, &owners);
  child *a = child_new(w, &children);
  child_drop(a);                   /* waiting for the next turn ... */
  mol_holds_drop(&w->holds);       /* ... when the owner closes in the same one */
  assert_int_equal(children, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(children, 1);   /* before the owner's memory went */
  assert_int_equal(owners, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(finishes_once_after_the_last_drop),
      cmocka_unit_test(drop_inside_a_callback),
      cmocka_unit_test(shared_children_finish_on_a_later_turn),
      cmocka_unit_test(owner_close_finishes_waiting_children),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
