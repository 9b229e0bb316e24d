/* holds.c - the pending-work counter of holds.h. */
#include "devplatform/holds.h"

static void on_tick_closed(uv_handle_t *t) {
  mol_dp__holds *h = t->data;
  h->finish(h->arg);
}

static void on_tick(uv_timer_t *t) {
  mol_dp__holds *h = t->data;
  if (h->n) return; /* held again meanwhile: the last release re-arms us */
  uv_close((uv_handle_t *)t, on_tick_closed);
}

void mol_dp__holds_add(mol_dp__holds *h) { h->n++; }

void mol_dp__holds_release(mol_dp__holds *h) {
  if (--h->n == 0 && h->finishing && !uv_is_closing((uv_handle_t *)&h->tick))
    uv_timer_start(&h->tick, on_tick, 0, 0);
}

void mol_dp__holds_finish(mol_dp__holds *h, uv_loop_t *loop, void (*cb)(void *arg), void *arg) {
  h->finishing = 1;
  h->finish = cb;
  h->arg = arg;
  uv_timer_init(loop, &h->tick);
  h->tick.data = h;
  if (!h->n) uv_timer_start(&h->tick, on_tick, 0, 0);
}
