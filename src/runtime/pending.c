/* pending.c - replies awaited by message_id.
 *
 * Deadlines live in one binary min-heap served by a single uv_timer, rather than a timer
 * handle per entry: an entry then costs about a hundred bytes and resolving it needs no
 * close callback, which matters with tens of thousands of turns in flight.
 */
#include "runtime/pending.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "molecule.h"

#define MAX_ID_LEN 128
#define ORPHAN_HASHES 4

typedef struct entry {
  UT_hash_handle hh;
  uint64_t deadline;
  size_t heap_idx;
  mol_pending_cb cb;
  mol_pending_progress_cb progress;
  void *arg;
  int origin;
  char id[];
} entry;

typedef struct orphan {
  UT_hash_handle hh;
  struct orphan *older, *newer; /* FIFO for the count bound and the TTL */
  uint64_t at;
  int origin;
  unsigned nhashes;
  uint8_t hashes[ORPHAN_HASHES][MOL_SHA256_LEN];
  char id[];
} orphan;

struct mol_pending {
  uv_loop_t *loop;
  uv_timer_t timer;
  mol_pending_opts opts;
  entry *by_id;
  entry **heap;
  size_t len, cap;
  orphan *orphans, *oldest, *newest;
  size_t norphans;
  int closing;
  void (*close_cb)(void *);
  void *close_arg;
};

/* ---- deadline heap ------------------------------------------------------------------------ */

static void heap_set(mol_pending *p, size_t i, entry *e) {
  p->heap[i] = e;
  e->heap_idx = i;
}

static void heap_up(mol_pending *p, size_t i) {
  entry *e = p->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (p->heap[parent]->deadline <= e->deadline) break;
    heap_set(p, i, p->heap[parent]);
    i = parent;
  }
  heap_set(p, i, e);
}

static void heap_down(mol_pending *p, size_t i) {
  entry *e = p->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= p->len) break;
    if (c + 1 < p->len && p->heap[c + 1]->deadline < p->heap[c]->deadline) c++;
    if (p->heap[c]->deadline >= e->deadline) break;
    heap_set(p, i, p->heap[c]);
    i = c;
  }
  heap_set(p, i, e);
}

static int heap_push(mol_pending *p, entry *e) {
  if (p->len == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    entry **h = realloc(p->heap, cap * sizeof(*h));
    if (!h) return MOL_ENOMEM;
    p->heap = h;
    p->cap = cap;
  }
  heap_set(p, p->len++, e);
  heap_up(p, e->heap_idx);
  return 0;
}

static void heap_remove(mol_pending *p, entry *e) {
  size_t i = e->heap_idx;
  entry *last = p->heap[--p->len];
  if (i == p->len) return;
  heap_set(p, i, last);
  heap_up(p, i);
  heap_down(p, last->heap_idx);
}

/* ---- orphans ------------------------------------------------------------------------------ */

static void orphan_drop(mol_pending *p, orphan *o) {
  HASH_DEL(p->orphans, o);
  if (o->older) o->older->newer = o->newer; else p->oldest = o->newer;
  if (o->newer) o->newer->older = o->older; else p->newest = o->older;
  p->norphans--;
  free(o);
}

static void orphans_expire(mol_pending *p, uint64_t now) {
  while (p->oldest && (p->norphans > p->opts.max_orphans ||
                       now - p->oldest->at > p->opts.orphan_ttl_ms))
    orphan_drop(p, p->oldest);
}

static orphan *orphan_remember(mol_pending *p, const char *id, int origin) {
  size_t n = strlen(id);
  orphan *o = calloc(1, sizeof(*o) + n + 1);
  if (!o) return NULL;
  memcpy(o->id, id, n + 1);
  o->origin = origin;
  o->at = mol_mono_ms();
  HASH_ADD(hh, p->orphans, id[0], n, o);
  o->older = p->newest;
  if (p->newest) p->newest->newer = o; else p->oldest = o;
  p->newest = o;
  p->norphans++;
  orphans_expire(p, o->at);
  return o;
}

/* Records a reply's hash; returns 1 if it was already there. */
static int orphan_seen(orphan *o, const char *text, size_t len) {
  uint8_t h[MOL_SHA256_LEN];
  mol_sha256_once(text, len, h);
  for (unsigned i = 0; i < o->nhashes; i++)
    if (memcmp(o->hashes[i], h, sizeof(h)) == 0) return 1;
  memcpy(o->hashes[o->nhashes % ORPHAN_HASHES], h, sizeof(h));
  if (o->nhashes < ORPHAN_HASHES) o->nhashes++;
  return 0;
}

/* ---- entries ------------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t);

static void arm_timer(mol_pending *p) {
  if (p->len == 0) {
    uv_timer_stop(&p->timer);
    return;
  }
  uint64_t now = uv_now(p->loop), d = p->heap[0]->deadline;
  uv_timer_start(&p->timer, on_timer, d > now ? d - now : 0, 0);
}

/* Removes e from the table, remembers it for late replies, fires its callback, frees it. */
static void finish(mol_pending *p, entry *e, int err, const char *text, size_t len) {
  HASH_DEL(p->by_id, e);
  heap_remove(p, e);
  orphan *o = orphan_remember(p, e->id, e->origin);
  if (o && text) orphan_seen(o, text, len);
  mol_pending_cb cb = e->cb;
  void *arg = e->arg;
  free(e);
  cb(err, text, len, arg);
}

static void on_timer(uv_timer_t *t) {
  mol_pending *p = t->data;
  uint64_t now = uv_now(p->loop);
  while (p->len && p->heap[0]->deadline <= now) finish(p, p->heap[0], MOL_ETIMEDOUT, NULL, 0);
  arm_timer(p);
}

int mol_pending_new(uv_loop_t *loop, const mol_pending_opts *opts, mol_pending **out) {
  mol_pending *p = calloc(1, sizeof(*p));
  if (!p) return MOL_ENOMEM;
  if (opts) p->opts = *opts;
  if (!p->opts.max_entries) p->opts.max_entries = 100000;
  if (!p->opts.default_timeout_ms) p->opts.default_timeout_ms = 600000;
  if (!p->opts.max_orphans) p->opts.max_orphans = 2048;
  if (!p->opts.orphan_ttl_ms) p->opts.orphan_ttl_ms = 3600000;
  p->loop = loop;
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  *out = p;
  return 0;
}

int mol_pending_add(mol_pending *p, const char *message_id, unsigned timeout_ms, int origin,
                    mol_pending_cb cb, mol_pending_progress_cb progress, void *arg) {
  if (p->closing) return MOL_ESHUTDOWN;
  size_t n = message_id ? strlen(message_id) : 0;
  if (n == 0 || n > MAX_ID_LEN || !cb) return MOL_EINVAL;
  entry *e;
  HASH_FIND(hh, p->by_id, message_id, n, e);
  if (e) return MOL_EEXIST;
  if (p->len >= p->opts.max_entries) return MOL_ELIMIT;
  e = calloc(1, sizeof(*e) + n + 1);
  if (!e) return MOL_ENOMEM;
  memcpy(e->id, message_id, n + 1);
  e->deadline = uv_now(p->loop) + (timeout_ms ? timeout_ms : p->opts.default_timeout_ms);
  e->cb = cb;
  e->progress = progress;
  e->arg = arg;
  e->origin = origin;
  if (heap_push(p, e)) {
    free(e);
    return MOL_ENOMEM;
  }
  HASH_ADD(hh, p->by_id, id[0], n, e);
  if (e->heap_idx == 0) arm_timer(p);
  return 0;
}

mol_pending_outcome mol_pending_deliver(mol_pending *p, const char *message_id,
                                        const char *text, size_t len, int final, int *origin) {
  size_t n = message_id ? strlen(message_id) : 0;
  entry *e = NULL;
  if (n) HASH_FIND(hh, p->by_id, message_id, n, e);
  if (e && !final) {
    if (e->progress) e->progress(text, len, e->arg);
    return MOL_PENDING_INTERIM;
  }
  if (e) {
    int was_first = e->heap_idx == 0;
    finish(p, e, 0, text, len);
    if (was_first) arm_timer(p);
    return MOL_PENDING_RESOLVED;
  }
  orphans_expire(p, mol_mono_ms());
  orphan *o = NULL;
  if (n) HASH_FIND(hh, p->orphans, message_id, n, o);
  if (!o && n && n <= MAX_ID_LEN) o = orphan_remember(p, message_id, -1);
  if (origin) *origin = o ? o->origin : -1;
  if (o && orphan_seen(o, text, len)) return MOL_PENDING_DUPLICATE;
  return MOL_PENDING_ORPHAN;
}

int mol_pending_cancel(mol_pending *p, const char *message_id) {
  entry *e = NULL;
  size_t n = message_id ? strlen(message_id) : 0;
  if (n) HASH_FIND(hh, p->by_id, message_id, n, e);
  if (!e) return MOL_ENOENT;
  int was_first = e->heap_idx == 0;
  finish(p, e, MOL_ECANCELED, NULL, 0);
  if (was_first) arm_timer(p);
  return 0;
}

size_t mol_pending_count(const mol_pending *p) { return p->len; }

static void on_closed(uv_handle_t *h) {
  mol_pending *p = h->data;
  while (p->oldest) orphan_drop(p, p->oldest);
  free(p->heap);
  void (*cb)(void *) = p->close_cb;
  void *arg = p->close_arg;
  free(p);
  if (cb) cb(arg);
}

void mol_pending_close(mol_pending *p, void (*cb)(void *arg), void *arg) {
  if (p->closing) return;
  p->closing = 1;
  p->close_cb = cb;
  p->close_arg = arg;
  while (p->len) finish(p, p->heap[p->len - 1], MOL_ESHUTDOWN, NULL, 0);
  uv_close((uv_handle_t *)&p->timer, on_closed);
}
