/* timer.c - the timer seam of the platform client (timer.h): every schedule's timer is armed
 * here, so a test can see the exact delay of each one; and the run loops' wakes, a min-heap
 * per loop behind one timer. */
#include <stdlib.h>
#include <string.h>

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

/* ---- wakes ------------------------------------------------------------------------------- */

static void place(mol_platform__sched *s, unsigned i, mol_platform__wake *w) {
  s->heap[i] = w;
  w->at = i + 1;
}

static void sift_up(mol_platform__sched *s, unsigned i) {
  mol_platform__wake *w = s->heap[i];
  while (i) {
    unsigned parent = (i - 1) / 2;
    if (s->heap[parent]->due <= w->due) break;
    place(s, i, s->heap[parent]);
    i = parent;
  }
  place(s, i, w);
}

static void sift_down(mol_platform__sched *s, unsigned i) {
  mol_platform__wake *w = s->heap[i];
  for (;;) {
    unsigned child = 2 * i + 1;
    if (child >= s->n) break;
    if (child + 1 < s->n && s->heap[child + 1]->due < s->heap[child]->due) child++;
    if (w->due <= s->heap[child]->due) break;
    place(s, i, s->heap[child]);
    i = child;
  }
  place(s, i, w);
}

static void heap_remove(mol_platform__sched *s, mol_platform__wake *w) {
  unsigned i = w->at - 1;
  w->at = 0;
  mol_platform__wake *last = s->heap[--s->n];
  if (i == s->n) return;
  place(s, i, last);
  sift_up(s, i);
  sift_down(s, last->at - 1);
}

static void on_sched(uv_timer_t *t);

/* The timer follows the heap's earliest wake (started again only when that changed). */
static void sched_update(mol_platform__sched *s) {
  if (!s->n) {
    if (s->timer_due != UINT64_MAX) uv_timer_stop(&s->timer);
    s->timer_due = UINT64_MAX;
    return;
  }
  uint64_t due = s->heap[0]->due, now = uv_now(s->timer.loop);
  if (due == s->timer_due && uv_is_active((uv_handle_t *)&s->timer)) return;
  s->timer_due = due;
  uv_timer_start(&s->timer, on_sched, due > now ? due - now : 0, 0);
}

/* Takes every wake due now out of the heap first, then runs them: what their callbacks arm
 * (for now, too) waits for the next pass. A callback may stop or re-arm a wake still listed:
 * it is then skipped. Runs are freed on a later loop turn than the one that ends them
 * (loop.c), so no listed wake is freed during the pass. */
static void on_sched(uv_timer_t *t) {
  mol_platform__sched *s = t->data;
  uint64_t now = uv_now(t->loop);
  s->timer_due = UINT64_MAX;
  mol_platform__wake *head = NULL, **tail = &head;
  while (s->n && s->heap[0]->due <= now) {
    mol_platform__wake *w = s->heap[0];
    heap_remove(s, w);
    w->listed = 1;
    w->next_due = NULL;
    *tail = w;
    tail = &w->next_due;
  }
  while (head) {
    mol_platform__wake *w = head;
    head = w->next_due;
    if (!w->listed) continue;
    w->listed = 0;
    w->cb(w);
  }
  sched_update(s);
}

void mol_platform__sched_init(uv_loop_t *loop, mol_platform__sched *s) {
  memset(s, 0, sizeof(*s));
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  s->timer_due = UINT64_MAX;
}

void mol_platform__sched_free(mol_platform__sched *s) {
  free(s->heap);
  s->heap = NULL;
}

int mol_platform__sched_reserve(mol_platform__sched *s) {
  if (s->reserved == s->cap) {
    unsigned cap = s->cap ? s->cap * 2 : 16;
    mol_platform__wake **heap = cap > s->cap ? realloc(s->heap, cap * sizeof(*heap)) : NULL;
    if (!heap) return MOL_ENOMEM;
    s->heap = heap;
    s->cap = cap;
  }
  s->reserved++;
  return 0;
}

void mol_platform__sched_release(mol_platform__sched *s) { s->reserved--; }

void mol_platform__wake_arm(mol_platform_client *c, mol_platform__sched *s,
                            mol_platform__arm_kind kind, mol_platform__wake *w,
                            mol_platform__wake_cb cb, uint64_t delay_ms) {
  if (observer) observer(c, kind, delay_ms, observer_arg);
  w->listed = 0;
  w->cb = cb;
  w->due = uv_now(s->timer.loop) + delay_ms;
  if (w->at) {
    sift_up(s, w->at - 1);
    sift_down(s, w->at - 1);
  } else {
    s->heap[s->n] = w; /* within the places reserved */
    w->at = ++s->n;
    sift_up(s, s->n - 1);
  }
  sched_update(s);
}

void mol_platform__wake_stop(mol_platform__sched *s, mol_platform__wake *w) {
  w->listed = 0;
  if (!w->at) return;
  heap_remove(s, w);
  sched_update(s);
}
