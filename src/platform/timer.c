/* timer.c - the timer seam of the platform client (timer.h): every schedule's timer is armed
 * here, so a test can see the exact delay of each one. */
#include "platform/timer.h"

static mol_platform__arm_observer observer;
static void *observer_arg;

void mol_platform__observe_arms(mol_platform__arm_observer fn, void *arg) {
  observer = fn;
  observer_arg = arg;
}

void mol_platform__arm(mol_platform_client *c, mol_platform__arm_kind kind, uv_timer_t *t,
                       uv_timer_cb cb, uint64_t delay_ms) {
  if (observer) observer(c, kind, delay_ms, observer_arg);
  uv_timer_start(t, cb, delay_ms, 0);
}
