/* route.c - the route table: exact and prefix paths, optional method. Routes are indexed by
 * their path's first two segments ("/agents/<name>"), so a host with 10,000 agents finds a
 * request's handful of candidates with one hash lookup instead of scanning 60,000 routes.
 * Prefix routes that end before a second segment ("/", "/api", "/agents/") match paths under
 * many keys: they stay in one short list that every lookup also scans. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "http/server_int.h"
#include "molecule.h"

struct mol_route_bucket {
  char *key;                   /* the first two segments every path of its routes starts with */
  mol_route_list list;
  UT_hash_handle hh;
};

/* One pair of the owner table: owner arg (a handler argument) has routes in bucket b. An
 * unroute finds its owner's pairs in one probe run and touches only those buckets. The table
 * is open-addressing (arg NULL: free) and at most 3/4 full: 16 bytes a pair and no allocation
 * per owner, since a host has two or three owners per agent. */
struct mol_route_owner {
  const void *arg;
  mol_route_bucket *b;
};

/* ---- keys ---------------------------------------------------------------------------------- */

/* The length of path's first two segments: up to its third '/', or all of it. */
static size_t key_len(const char *path, size_t plen) {
  const char *s2 = memchr(path + 1, '/', plen ? plen - 1 : 0);
  if (!s2) return plen;
  const char *s3 = memchr(s2 + 1, '/', plen - (size_t)(s2 + 1 - path));
  return s3 ? (size_t)(s3 - path) : plen;
}

/* Whether every path route r matches shares r's key. An exact route matches only its own
 * path; a prefix route does once it names a second segment ("/a/b", "/a/b/", not "/a/"). */
static int keyed(const char *path, size_t plen, int prefix) {
  if (!prefix) return 1;
  const char *s2 = memchr(path + 1, '/', plen ? plen - 1 : 0);
  return s2 && (size_t)(s2 - path) + 1 < plen;
}

/* ---- lists --------------------------------------------------------------------------------- */

/* The methods routes name, kept as these strings rather than a copy per route. */
static const char *const common_methods[] = {"GET",    "POST", "PUT",     "DELETE",
                                             "PATCH",  "HEAD", "OPTIONS", NULL};

static const char *method_keep(const char *m) {
  if (!m) return NULL;
  for (size_t i = 0; common_methods[i]; i++)
    if (strcmp(m, common_methods[i]) == 0) return common_methods[i];
  return strdup(m);
}

static int method_common(const char *m) {
  for (size_t i = 0; common_methods[i]; i++)
    if (m == common_methods[i]) return 1;
  return 0;
}

static int list_push(mol_route_list *l, const mol_route *r) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    mol_route *p = realloc(l->items, cap * sizeof(*p));
    if (!p) return MOL_ENOMEM;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->len++] = *r;
  return 0;
}

static void route_free(mol_route *r) {
  if (r->method && !method_common(r->method)) free((char *)r->method);
  free(r->path);
}

/* Drops the routes of arg from l, keeping the others in their order; returns how many. */
static size_t list_remove_arg(mol_route_list *l, const void *arg) {
  size_t kept = 0, removed = 0;
  for (size_t i = 0; i < l->len; i++) {
    if (l->items[i].arg == arg) {
      route_free(&l->items[i]);
      removed++;
    } else {
      l->items[kept++] = l->items[i];
    }
  }
  l->len = kept;
  return removed;
}

static void list_free(mol_route_list *l) {
  for (size_t i = 0; i < l->len; i++) route_free(&l->items[i]);
  free(l->items);
  memset(l, 0, sizeof(*l));
}

/* ---- the index ----------------------------------------------------------------------------- */

static mol_route_bucket *bucket_find(const mol_routes *t, const char *key, size_t klen) {
  mol_route_bucket *b = NULL;
  HASH_FIND(hh, t->by_key, key, klen, b);
  return b;
}

static mol_route_bucket *bucket_get(mol_routes *t, const char *key, size_t klen) {
  mol_route_bucket *b = bucket_find(t, key, klen);
  if (b) return b;
  if (!(b = calloc(1, sizeof(*b))) || !(b->key = strndup(key, klen))) {
    free(b);
    return NULL;
  }
  HASH_ADD_KEYPTR(hh, t->by_key, b->key, klen, b);
  return b;
}

static void bucket_drop(mol_routes *t, mol_route_bucket *b) {
  HASH_DEL(t->by_key, b);
  list_free(&b->list);
  free(b->key);
  free(b);
}

/* ---- the owner table ---------------------------------------------------------------------- */

static size_t owner_home(const mol_routes *t, const void *arg) {
  uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull;
  return (size_t)(x >> 32) & (t->cap_owners - 1);
}

/* The slot of a pair of arg (of arg and b, when b is not NULL), or SIZE_MAX. */
static size_t owner_find(const mol_routes *t, const void *arg, const mol_route_bucket *b) {
  if (!t->cap_owners) return SIZE_MAX;
  for (size_t i = owner_home(t, arg); t->owners[i].arg; i = (i + 1) & (t->cap_owners - 1))
    if (t->owners[i].arg == arg && (!b || t->owners[i].b == b)) return i;
  return SIZE_MAX;
}

static void owner_put(mol_routes *t, const void *arg, mol_route_bucket *b) {
  size_t i = owner_home(t, arg);
  while (t->owners[i].arg) i = (i + 1) & (t->cap_owners - 1);
  t->owners[i] = (mol_route_owner){arg, b};
}

/* Room for one more pair, the table at most 3/4 full. */
static int owners_reserve(mol_routes *t) {
  if ((t->n_owners + 1) * 4 <= t->cap_owners * 3) return 0;
  size_t cap = t->cap_owners ? t->cap_owners * 2 : 16, old_cap = t->cap_owners;
  mol_route_owner *old = t->owners, *slots = calloc(cap, sizeof(*slots));
  if (!slots) return MOL_ENOMEM;
  t->owners = slots;
  t->cap_owners = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].arg) owner_put(t, old[i].arg, old[i].b);
  free(old);
  return 0;
}

/* Empties slot i, moving back the pairs after it that it kept from their home. */
static void owner_drop(mol_routes *t, size_t i) {
  size_t mask = t->cap_owners - 1;
  for (size_t j = (i + 1) & mask; t->owners[j].arg; j = (j + 1) & mask) {
    size_t home = owner_home(t, t->owners[j].arg);
    if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue; /* in place */
    t->owners[i] = t->owners[j];
    i = j;
  }
  t->owners[i] = (mol_route_owner){0};
  t->n_owners--;
}

/* Notes that arg has routes in b (once per bucket). */
static int owner_note(mol_routes *t, const void *arg, mol_route_bucket *b) {
  if (owner_find(t, arg, b) != SIZE_MAX) return 0;
  if (owners_reserve(t)) return MOL_ENOMEM;
  owner_put(t, arg, b);
  t->n_owners++;
  return 0;
}

/* ---- adding and removing ------------------------------------------------------------------- */

static int route_place(mol_routes *t, const mol_route *r) {
  if (!keyed(r->path, r->plen, r->prefix)) return list_push(&t->wide, r);
  mol_route_bucket *b = bucket_get(t, r->path, key_len(r->path, r->plen));
  if (!b) return MOL_ENOMEM;
  int rc = list_push(&b->list, r);
  if (!rc && (rc = owner_note(t, r->arg, b)) != 0) b->list.len--; /* r is the caller's again */
  if (rc && b->list.len == 0) bucket_drop(t, b); /* no owner has noted it: nothing points here */
  return rc;
}

int mol_http__routes_add(mol_routes *t, const char *method, const char *path, int prefix,
                         mol_http_handler h, void *arg) {
  if (!path || path[0] != '/' || !h) return MOL_EINVAL;
  size_t plen = strlen(path);
  if (plen > 65535) return MOL_EINVAL;
  mol_route r = {.method = method_keep(method), .path = strdup(path), .plen = (unsigned)plen,
                 .prefix = prefix != 0, .h = h, .arg = arg};
  int rc = !r.path || (method && !r.method) ? MOL_ENOMEM : route_place(t, &r);
  if (rc) route_free(&r);
  return rc;
}

size_t mol_http__routes_remove_arg(mol_routes *t, const void *arg) {
  size_t removed = list_remove_arg(&t->wide, arg);
  for (size_t i; (i = owner_find(t, arg, NULL)) != SIZE_MAX;) {
    mol_route_bucket *b = t->owners[i].b;
    owner_drop(t, i);
    removed += list_remove_arg(&b->list, arg);
    if (b->list.len == 0) bucket_drop(t, b);
  }
  return removed;
}

void mol_http__routes_free(mol_routes *t) {
  mol_route_bucket *b, *bt;
  HASH_ITER(hh, t->by_key, b, bt) bucket_drop(t, b);
  free(t->owners);
  t->owners = NULL;
  t->n_owners = t->cap_owners = 0;
  list_free(&t->wide);
}

/* ---- matching ------------------------------------------------------------------------------ */

/* How well route r matches path: 0 = not at all, higher is more specific. */
static size_t path_score(const mol_route *r, const char *path, size_t plen) {
  if (!r->prefix) return plen == r->plen && memcmp(path, r->path, plen) == 0 ? SIZE_MAX : 0;
  if (plen < r->plen || memcmp(path, r->path, r->plen) != 0) return 0;
  /* "/api" covers "/api" and "/api/...", never "/apix". */
  if (r->path[r->plen - 1] != '/' && plen > r->plen && path[r->plen] != '/') return 0;
  return r->plen;
}

static int method_ok(const mol_route *r, const char *method) {
  return !r->method || strcmp(r->method, method) == 0;
}

static void allow_add(mol_buf *allow, const char *m) {
  size_t n = strlen(m);
  for (const char *p = allow->data; p && (p = strstr(p, m)); p += n)
    if ((p == allow->data || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return;
  if (allow->len) mol_buf_append(allow, ", ", 2);
  mol_buf_append(allow, m, n);
}

/* The routes a path can match: its key's bucket (may be empty) and the wide list. Two routes
 * with equal scores have the same path, so they sit in the same list, in the order added. */
typedef struct {
  const mol_route_list *lists[2];
  const char *path;
  size_t plen;
} candidates;

static candidates candidates_of(const mol_routes *t, const char *path) {
  candidates c = {{&t->wide, NULL}, path, strlen(path)};
  mol_route_bucket *b = path[0] == '/' ? bucket_find(t, path, key_len(path, c.plen)) : NULL;
  if (b) c.lists[1] = &b->list;
  return c;
}

static const mol_route *best_for(const candidates *c, const char *method, int *path_hit) {
  const mol_route *best = NULL;
  size_t best_score = 0;
  for (int k = 0; k < 2 && c->lists[k]; k++) {
    const mol_route_list *l = c->lists[k];
    for (size_t i = 0; i < l->len; i++) {
      size_t s = path_score(&l->items[i], c->path, c->plen);
      if (!s) continue;
      *path_hit = 1;
      if (s > best_score && method_ok(&l->items[i], method)) {
        best = &l->items[i];
        best_score = s;
      }
    }
  }
  return best;
}

static void allow_fill(const candidates *c, mol_buf *allow) {
  for (int k = 0; k < 2 && c->lists[k]; k++)
    for (size_t i = 0; i < c->lists[k]->len; i++) {
      const mol_route *x = &c->lists[k]->items[i];
      if (!x->method || !path_score(x, c->path, c->plen)) continue;
      allow_add(allow, x->method);
      if (strcmp(x->method, "GET") == 0) allow_add(allow, "HEAD");
    }
}

const mol_route *mol_http__routes_match(const mol_routes *t, const char *method, const char *path,
                                        int *status, mol_buf *allow) {
  candidates c = candidates_of(t, path);
  int hit = 0;
  const mol_route *r = best_for(&c, method, &hit);
  if (!r && strcmp(method, "HEAD") == 0) r = best_for(&c, "GET", &hit);
  if (r) return r;
  *status = hit ? 405 : 404;
  if (hit && allow) allow_fill(&c, allow);
  return NULL;
}

size_t mol_http__routes_scanned(const mol_routes *t, const char *path) {
  candidates c = candidates_of(t, path);
  return c.lists[0]->len + (c.lists[1] ? c.lists[1]->len : 0);
}
