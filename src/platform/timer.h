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

/* ---- wakes: the run loops' schedules on one timer per loop ----------------------------------
 * Every client's run loop (loop.c) waits for its next heartbeat, state poll or inbound poll.
 * A uv_timer_t each is 152 bytes per agent of a host; instead each run keeps a wake (32
 * bytes) in a min-heap of its loop's shared pool (platform.c), behind the pool's one timer,
 * armed for the earliest. A wake's callback runs from that timer, on a later loop turn than
 * the arm, like a timer's: each due wake once per pass, earliest first (a wake re-armed by
 * its own callback for "now" runs on the next pass). A run reserves its place in the heap
 * when it starts (mol_platform__sched_reserve), so arming one never fails. */
typedef struct mol_platform__wake mol_platform__wake;
typedef void (*mol_platform__wake_cb)(mol_platform__wake *w);
struct mol_platform__wake {
  uint64_t due;                   /* in uv_now's ms */
  mol_platform__wake_cb cb;
  mol_platform__wake *next_due;   /* in the current pass's list of due wakes */
  unsigned at;                    /* its index in the heap + 1; 0: not armed */
  unsigned listed : 1;            /* in the current pass's list, not run yet */
};

typedef struct {
  uv_timer_t timer;               /* due for the heap's earliest wake; stopped when empty */
  mol_platform__wake **heap;
  unsigned n, cap;                /* armed wakes; the heap's size */
  unsigned reserved;              /* places promised (mol_platform__sched_reserve) */
  uint64_t timer_due;             /* what the timer is started for; UINT64_MAX: stopped */
} mol_platform__sched;

void mol_platform__sched_init(uv_loop_t *loop, mol_platform__sched *s);
/* Frees the heap; the timer is closed by the pool (it must hold no wake any more). */
void mol_platform__sched_free(mol_platform__sched *s);

/* The schedule of c's loop, kept with the shared pool (platform.c). */
mol_platform__sched *mol_platform__sched_of(mol_platform_client *c);
/* Promises one wake a place in s's heap: 0 or MOL_ENOMEM. Released when the wake is done
 * with (disarmed first). The schedule itself knows nothing of clients: timer.c calls into
 * no other file of the platform client. */
int mol_platform__sched_reserve(mol_platform__sched *s);
void mol_platform__sched_release(mol_platform__sched *s);
/* Arms w in s for delay_ms from uv_now (re-arming it if it was armed), reported to the
 * observer first as c's, as mol_platform__arm. w's place must have been reserved. */
void mol_platform__wake_arm(mol_platform_client *c, mol_platform__sched *s,
                            mol_platform__arm_kind kind, mol_platform__wake *w,
                            mol_platform__wake_cb cb, uint64_t delay_ms);
/* Disarms w (nothing when it is not armed). */
void mol_platform__wake_stop(mol_platform__sched *s, mol_platform__wake *w);

#endif
