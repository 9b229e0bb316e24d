/* holds.h - a pending-work counter: each outstanding job holds its owner, and once the owner
 * asks to finish, its callback fires exactly once when nothing holds it any more, on a later
 * loop turn - never inside the call that released the last hold, nor inside the call that
 * armed it. The dev platform's own few lines until base has the generic helper; the names say
 * what to swap. */
#ifndef MOL_DEVPLATFORM_HOLDS_H
#define MOL_DEVPLATFORM_HOLDS_H

#include <uv.h>

typedef struct {
  unsigned n;                      /* outstanding holds */
  int finishing;                   /* mol_dp__holds_finish was called */
  uv_timer_t tick;                 /* takes the finish out of the releasing call */
  void (*finish)(void *arg);
  void *arg;
} mol_dp__holds;                   /* zeroed = no holds, not finishing */

void mol_dp__holds_add(mol_dp__holds *h);
void mol_dp__holds_release(mol_dp__holds *h);
/* cb(arg) fires once the count is zero, on a later loop turn; the helper's own handle is
 * closed by then, so cb may free the memory h lives in. Call it once. */
void mol_dp__holds_finish(mol_dp__holds *h, uv_loop_t *loop, void (*cb)(void *arg), void *arg);

#endif
