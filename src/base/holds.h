/* holds.h - one lifetime idiom: an object lives while anything holds it.
 *
 * An object that several things keep alive (its owner until close, an HTTP request not yet
 * answered, a listener, a running turn, a libuv handle not yet closed) counts them here rather
 * than asking "was that the last one?" with flags of its own. Each holder takes a hold and
 * drops it when done, in any order. When the count reaches zero, the holds close the object's
 * last handle (a uv handle it embeds and closes nowhere else) and the finish callback runs from
 * that handle's close callback: exactly once, and never inside the call that dropped the last
 * hold (libuv never runs a close callback inside uv_close). Code that drops a hold may
 * therefore go on using the object until it returns; finish frees it.
 *
 * From then on the last handle belongs to the holds (its data pointer too). Taking a hold after
 * the count reached zero is a bug. All calls happen on the loop thread. */
#ifndef MOL_BASE_HOLDS_H
#define MOL_BASE_HOLDS_H

#include <uv.h>

typedef struct mol_holds_shared mol_holds_shared;

typedef struct mol_holds {
  unsigned n;
  uv_handle_t *last;          /* NULL when the object shares its owner's handle */
  mol_holds_shared *shared;   /* that owner's queue, else NULL */
  struct mol_holds *next;     /* in the queue, once the count reached zero */
  void (*finish)(void *data);
  void *data;
} mol_holds;

/* Starts with one hold: the creator's, dropped by its close. last must be initialised. */
void mol_holds_init(mol_holds *h, uv_handle_t *last, void (*finish)(void *data), void *data);
void mol_holds_take(mol_holds *h);
void mol_holds_drop(mol_holds *h);

/* Objects too many to own a handle each (a turn pending among ten thousand: a timer is 150
 * bytes) share one owned by their owner. When such an object's count reaches zero it waits in
 * the owner's queue, and its finish runs on the loop's next turn from the queue's idle handle:
 * still exactly once and never inside the call that dropped the last hold. The idle handle runs
 * only while something waits.
 *
 * The owner uses that idle handle as its own last handle (mol_holds_shared_handle) and, in its
 * finish, calls mol_holds_shared_flush first: whatever still waits finishes then, before the
 * owner's memory goes. So the owner must not finish while a child is still held (the owner's
 * holds count its children's holders, as usual). */
struct mol_holds_shared {
  uv_idle_t idle;
  mol_holds *head, *tail;
};

void mol_holds_shared_init(uv_loop_t *loop, mol_holds_shared *s);
uv_handle_t *mol_holds_shared_handle(mol_holds_shared *s);
/* Like mol_holds_init, the object's handle being its owner's queue. */
void mol_holds_init_shared(mol_holds *h, mol_holds_shared *s, void (*finish)(void *data),
                           void *data);
/* Runs the finish of every object still waiting; for the owner's finish. */
void mol_holds_shared_flush(mol_holds_shared *s);

#endif
