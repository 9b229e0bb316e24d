/* timer.h - the one seam through which the platform client arms the timers of its schedules:
 * a call's back-off sleep before a retry and the run loop's next heartbeat, state poll or
 * inbound poll.
 *
 * The schedule is the claim (Retry-After honoured to the second, back-off 1x/2x/4x capped,
 * heartbeats at their interval), and a loaded machine cannot show it by measuring wall time:
 * a test installs an observer and is told the exact delay of every timer armed, with what it
 * is for, while real time over real sockets only has to respect lower bounds and order.
 * Internal: nothing here is in the public headers, and without an observer arming a timer
 * costs one branch. */
#ifndef MOL_PLATFORM_TIMER_H
#define MOL_PLATFORM_TIMER_H

#include <stdint.h>
#include <uv.h>

#include "molecule.h"

typedef enum {
  MOL_PLATFORM__ARM_RETRY,     /* a call sleeps before its next attempt (429, 5xx) */
  MOL_PLATFORM__ARM_HEARTBEAT, /* the run loop wakes for its next heartbeat */
  MOL_PLATFORM__ARM_STATE,     /* ... for its next state poll */
  MOL_PLATFORM__ARM_INBOUND,   /* ... for its next inbound poll */
} mol_platform__arm_kind;

/* Told of every timer armed, before it is armed: which client, what for, and the delay in
 * ms from the loop's current time (uv_now). Runs on the loop, inside the client's code: it
 * must not call back into the client. */
typedef void (*mol_platform__arm_observer)(mol_platform_client *c, mol_platform__arm_kind kind,
                                           uint64_t delay_ms, void *arg);

/* Installs the observer of every client in the process (NULL removes it). For tests. */
void mol_platform__observe_arms(mol_platform__arm_observer fn, void *arg);

/* uv_timer_start(t, cb, delay_ms, 0), reported to the observer first. */
void mol_platform__arm(mol_platform_client *c, mol_platform__arm_kind kind, uv_timer_t *t,
                       uv_timer_cb cb, uint64_t delay_ms);

#endif
