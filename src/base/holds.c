/* holds.c - the holds counter (see holds.h). */
#include "base/holds.h"

#include <assert.h>

void mol_holds_init(mol_holds *h, uv_handle_t *last, void (*finish)(void *data), void *data) {
  h->n = 1;
  h->last = last;
  h->finish = finish;
  h->data = data;
}

void mol_holds_take(mol_holds *h) {
  assert(h->n > 0 && "a hold taken on an object that is finishing");
  h->n++;
}

static void on_last_closed(uv_handle_t *last) {
  mol_holds *h = last->data;
  h->finish(h->data); /* may free the memory of h and of last: nothing touches them after */
}

void mol_holds_drop(mol_holds *h) {
  assert(h->n > 0 && "a hold dropped twice");
  if (--h->n > 0) return;
  h->last->data = h;
  uv_close(h->last, on_last_closed);
}
