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

typedef struct {
  unsigned n;
  uv_handle_t *last;
  void (*finish)(void *data);
  void *data;
} mol_holds;

/* Starts with one hold: the creator's, dropped by its close. last must be initialised. */
void mol_holds_init(mol_holds *h, uv_handle_t *last, void (*finish)(void *data), void *data);
void mol_holds_take(mol_holds *h);
void mol_holds_drop(mol_holds *h);

#endif
