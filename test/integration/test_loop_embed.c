/* The embedding surface: a foreign poll() loop drives mol_loop through the backend fd and
 * timeout, other threads post work, and every posted callback runs exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "molecule.h"
#include "molecule/uv.h"

#define THREADS 4
#define PER_THREAD 2500

static atomic_int ran_ok, ran_shutdown;
static int timer_fired;

static void on_post(void *arg, int status) {
  (void)arg;
  if (status == 0) atomic_fetch_add(&ran_ok, 1);
  else if (status == MOL_ESHUTDOWN) atomic_fetch_add(&ran_shutdown, 1);
}

static void *poster(void *arg) {
  mol_loop *l = arg;
  for (int i = 0; i < PER_THREAD; i++)
    while (mol_loop_post(l, on_post, NULL) == MOL_ENOMEM) {}
  return NULL;
}

static void on_timer(uv_timer_t *t) {
  timer_fired = 1;
  uv_close((uv_handle_t *)t, NULL);
}

static void foreign_poll_loop_drives_molecule(void **state) {
  (void)state;
  mol_loop *l;
  assert_int_equal(mol_loop_new(&l), 0);
  uv_timer_t timer;
  uv_timer_init(mol_loop_uv(l), &timer);
  uv_timer_start(&timer, on_timer, 30, 0);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, poster, l);
  uint64_t start = uv_hrtime();
  while ((!timer_fired || atomic_load(&ran_ok) < THREADS * PER_THREAD) &&
         uv_hrtime() - start < 10000000000ull) {
    struct pollfd pfd = {.fd = mol_loop_backend_fd(l), .events = POLLIN};
    poll(&pfd, 1, mol_loop_backend_timeout(l));
    mol_loop_run(l, MOL_RUN_NOWAIT);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  mol_loop_run(l, MOL_RUN_NOWAIT);
  assert_true(timer_fired);
  assert_int_equal(atomic_load(&ran_ok), THREADS * PER_THREAD);
  assert_int_equal(mol_loop_close(l), 0);
  assert_int_equal(atomic_load(&ran_shutdown), 0);
}

static void close_refuses_busy_loop_and_fails_queued_posts(void **state) {
  (void)state;
  atomic_store(&ran_ok, 0);
  mol_loop *l;
  assert_int_equal(mol_loop_new(&l), 0);
  uv_timer_t timer;
  uv_timer_init(mol_loop_uv(l), &timer);
  assert_int_equal(mol_loop_close(l), MOL_EBUSY); /* a handle of the caller is still open */
  uv_close((uv_handle_t *)&timer, NULL);
  mol_loop_run(l, MOL_RUN_NOWAIT);
  for (int i = 0; i < 10; i++) assert_int_equal(mol_loop_post(l, on_post, NULL), 0);
  assert_int_equal(mol_loop_close(l), 0); /* never ran: each gets MOL_ESHUTDOWN once */
  assert_int_equal(atomic_load(&ran_shutdown), 10);
  assert_int_equal(atomic_load(&ran_ok), 0);
}

static void wraps_a_callers_uv_loop(void **state) {
  (void)state;
  atomic_store(&ran_ok, 0);
  uv_loop_t uv;
  uv_loop_init(&uv);
  mol_loop *l;
  assert_int_equal(mol_loop_from_uv(&uv, &l), 0);
  assert_ptr_equal(mol_loop_uv(l), &uv);
  assert_int_equal(mol_loop_post(l, on_post, NULL), 0);
  uv_run(&uv, UV_RUN_NOWAIT);
  assert_int_equal(atomic_load(&ran_ok), 1);
  assert_int_equal(mol_loop_close(l), 0);
  uv_run(&uv, UV_RUN_DEFAULT); /* the caller runs its loop to finish our close */
  assert_int_equal(uv_loop_close(&uv), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(foreign_poll_loop_drives_molecule),
    cmocka_unit_test(close_refuses_busy_loop_and_fails_queued_posts),
    cmocka_unit_test(wraps_a_callers_uv_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
