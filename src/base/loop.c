/* loop.c - mol_loop: the event loop, embeddable in a foreign loop, with one thread-safe entry.
 *
 * mol_loop_post() is the only function any thread may call: it appends to a mutex-protected
 * queue and wakes the loop with a uv_async_t, which libuv makes safe to signal from any
 * thread. Many posts may coalesce into one async callback, so the callback drains the whole
 * queue. */
#include <stdlib.h>
#include <uv.h>

#include "molecule.h"
#include "molecule/uv.h"

typedef struct post {
  struct post *next;
  mol_post_fn fn;
  void *arg;
} post;

struct mol_loop {
  uv_loop_t *uv;
  uv_loop_t own;       /* used when molecule owns the loop */
  int owned;
  uv_async_t wake;
  uv_mutex_t lock;     /* guards head/tail/closing: the one lock, for the one threaded entry */
  post *head, *tail;
  int closing;
};

static post *take_all(mol_loop *l) {
  uv_mutex_lock(&l->lock);
  post *p = l->head;
  l->head = l->tail = NULL;
  uv_mutex_unlock(&l->lock);
  return p;
}

static void run_posts(post *p, int status) {
  while (p) {
    post *next = p->next;
    p->fn(p->arg, status);
    free(p);
    p = next;
  }
}

static void on_wake(uv_async_t *a) {
  mol_loop *l = a->data;
  run_posts(take_all(l), 0);
}

static int init(mol_loop *l, uv_loop_t *uv) {
  l->uv = uv;
  int rc = uv_mutex_init(&l->lock);
  if (rc) return rc;
  rc = uv_async_init(uv, &l->wake, on_wake);
  if (rc) {
    uv_mutex_destroy(&l->lock);
    return rc;
  }
  l->wake.data = l;
  return 0;
}

int mol_loop_new(mol_loop **out) {
  mol_loop *l = calloc(1, sizeof(*l));
  if (!l) return MOL_ENOMEM;
  int rc = uv_loop_init(&l->own);
  if (rc == 0) {
    l->owned = 1;
    rc = init(l, &l->own);
    if (rc) uv_loop_close(&l->own);
  }
  if (rc) {
    free(l);
    return rc;
  }
  *out = l;
  return 0;
}

int mol_loop_from_uv(uv_loop_t *uv, mol_loop **out) {
  mol_loop *l = calloc(1, sizeof(*l));
  if (!l) return MOL_ENOMEM;
  int rc = init(l, uv);
  if (rc) {
    free(l);
    return rc;
  }
  *out = l;
  return 0;
}

uv_loop_t *mol_loop_uv(mol_loop *l) { return l->uv; }

int mol_loop_run(mol_loop *l, mol_run_mode mode) {
  uv_run_mode m = mode == MOL_RUN_ONCE ? UV_RUN_ONCE : mode == MOL_RUN_NOWAIT ? UV_RUN_NOWAIT
                                                                             : UV_RUN_DEFAULT;
  return uv_run(l->uv, m);
}

void mol_loop_stop(mol_loop *l) { uv_stop(l->uv); }
int mol_loop_backend_fd(const mol_loop *l) { return uv_backend_fd(l->uv); }
int mol_loop_backend_timeout(const mol_loop *l) { return uv_backend_timeout(l->uv); }

int mol_loop_post(mol_loop *l, mol_post_fn fn, void *arg) {
  if (!fn) return MOL_EINVAL;
  post *p = malloc(sizeof(*p));
  if (!p) return MOL_ENOMEM;
  p->next = NULL;
  p->fn = fn;
  p->arg = arg;
  uv_mutex_lock(&l->lock);
  int closing = l->closing;
  if (!closing) {
    if (l->tail) l->tail->next = p; else l->head = p;
    l->tail = p;
    uv_async_send(&l->wake); /* under the lock: close cannot free the handle meanwhile */
  }
  uv_mutex_unlock(&l->lock);
  if (closing) {
    free(p);
    return MOL_ESHUTDOWN;
  }
  return 0;
}

/* For a caller's loop this is the end of the mol_loop; an owned loop is torn down by
 * mol_loop_close itself once uv_run has returned (uv_loop_close cannot run inside it). */
static void on_wake_closed(uv_handle_t *h) {
  mol_loop *l = h->data;
  if (l->owned) return;
  uv_mutex_destroy(&l->lock);
  free(l);
}

/* Counts handles that are not ours, to refuse closing a loop still in use. */
static void count_foreign(uv_handle_t *h, void *arg) {
  mol_loop *l = arg;
  if (h != (uv_handle_t *)&l->wake && !uv_is_closing(h)) l->closing++;
}

int mol_loop_close(mol_loop *l) {
  if (l->owned) {
    int before = l->closing;
    uv_walk(l->uv, count_foreign, l);
    int foreign = l->closing - before;
    l->closing = before;
    if (foreign) return MOL_EBUSY;
  }
  uv_mutex_lock(&l->lock);
  l->closing = 1;
  uv_mutex_unlock(&l->lock);
  run_posts(take_all(l), MOL_ESHUTDOWN);
  uv_close((uv_handle_t *)&l->wake, on_wake_closed);
  if (l->owned) {
    uv_run(l->uv, UV_RUN_DEFAULT);
    uv_loop_close(&l->own);
    uv_mutex_destroy(&l->lock);
    free(l);
  }
  return 0;
}
