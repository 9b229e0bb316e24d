/* holds.c - the holds counter, and the queue of objects sharing their owner's handle (see
 * holds.h). */
#include "base/holds.h"

#include <assert.h>

void mol_holds_init(mol_holds *h, uv_handle_t *last, void (*finish)(void *data), void *data) {
  *h = (mol_holds){.n = 1, .last = last, .finish = finish, .data = data};
}

void mol_holds_init_shared(mol_holds *h, mol_holds_shared *s, void (*finish)(void *data),
                           void *data) {
  *h = (mol_holds){.n = 1, .shared = s, .finish = finish, .data = data};
}

void mol_holds_take(mol_holds *h) {
  assert(h->n > 0 && "a hold taken on an object that is finishing");
  h->n++;
}

static void on_last_closed(uv_handle_t *last) {
  mol_holds *h = last->data;
  h->finish(h->data); /* may free the memory of h and of last: nothing touches them after */
}

static void enqueue(mol_holds_shared *s, mol_holds *h);

void mol_holds_drop(mol_holds *h) {
  assert(h->n > 0 && "a hold dropped twice");
  if (--h->n > 0) return;
  if (h->shared) {
    enqueue(h->shared, h);
    return;
  }
  h->last->data = h;
  uv_close(h->last, on_last_closed);
}

/* ---- objects sharing their owner's handle ---------------------------------------------------- */

void mol_holds_shared_flush(mol_holds_shared *s) {
  /* A finish may drop another object's last hold, which queues it behind: run until empty. */
  while (s->head) {
    mol_holds *h = s->head;
    s->head = h->next;
    if (!s->head) s->tail = NULL;
    h->finish(h->data); /* may free h */
  }
}

static void on_idle(uv_idle_t *idle) {
  mol_holds_shared *s = (mol_holds_shared *)idle; /* idle is its first member */
  mol_holds_shared_flush(s);
  uv_idle_stop(idle);
}

static void enqueue(mol_holds_shared *s, mol_holds *h) {
  h->next = NULL;
  if (s->tail) s->tail->next = h;
  else s->head = h;
  s->tail = h;
  /* Once the owner's holds closed the handle, its finish flushes the queue instead. */
  if (!uv_is_closing((uv_handle_t *)&s->idle)) uv_idle_start(&s->idle, on_idle);
}

void mol_holds_shared_init(uv_loop_t *loop, mol_holds_shared *s) {
  uv_idle_init(loop, &s->idle);
  s->head = s->tail = NULL;
}

uv_handle_t *mol_holds_shared_handle(mol_holds_shared *s) { return (uv_handle_t *)&s->idle; }
