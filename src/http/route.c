/* route.c - the route table: exact and prefix paths, optional method. A linear scan: servers
 * here have a handful of routes, and a scan over short memcmp's beats a trie at that size. */
#include <stdlib.h>
#include <string.h>

#include "http/server_int.h"
#include "molecule.h"

int mol_http__routes_add(mol_routes *t, const char *method, const char *path, int prefix,
                         mol_http_handler h, void *arg) {
  if (!path || path[0] != '/' || !h) return MOL_EINVAL;
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    mol_route *p = realloc(t->items, cap * sizeof(*p));
    if (!p) return MOL_ENOMEM;
    t->items = p;
    t->cap = cap;
  }
  mol_route *r = &t->items[t->len];
  r->method = method ? strdup(method) : NULL;
  r->path = strdup(path);
  if (!r->path || (method && !r->method)) {
    free(r->method);
    free(r->path);
    return MOL_ENOMEM;
  }
  r->plen = strlen(path);
  r->prefix = prefix != 0;
  r->h = h;
  r->arg = arg;
  t->len++;
  return 0;
}

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

static const mol_route *best_for(const mol_routes *t, const char *method, const char *path,
                                 size_t plen, int *path_hit) {
  const mol_route *best = NULL;
  size_t best_score = 0;
  for (size_t i = 0; i < t->len; i++) {
    size_t s = path_score(&t->items[i], path, plen);
    if (!s) continue;
    *path_hit = 1;
    if (s > best_score && method_ok(&t->items[i], method)) {
      best = &t->items[i];
      best_score = s;
    }
  }
  return best;
}

const mol_route *mol_http__routes_match(const mol_routes *t, const char *method, const char *path,
                                        int *status, mol_buf *allow) {
  size_t plen = strlen(path);
  int hit = 0;
  const mol_route *r = best_for(t, method, path, plen, &hit);
  if (!r && strcmp(method, "HEAD") == 0) r = best_for(t, "GET", path, plen, &hit);
  if (r) return r;
  *status = hit ? 405 : 404;
  if (!hit || !allow) return NULL;
  for (size_t i = 0; i < t->len; i++) {
    const mol_route *x = &t->items[i];
    if (!x->method || !path_score(x, path, plen)) continue;
    allow_add(allow, x->method);
    if (strcmp(x->method, "GET") == 0) allow_add(allow, "HEAD");
  }
  return NULL;
}

size_t mol_http__routes_remove_arg(mol_routes *t, const void *arg) {
  size_t kept = 0, removed = 0;
  for (size_t i = 0; i < t->len; i++) {
    if (t->items[i].arg == arg) {
      free(t->items[i].method);
      free(t->items[i].path);
      removed++;
    } else {
      t->items[kept++] = t->items[i];
    }
  }
  t->len = kept;
  return removed;
}

void mol_http__routes_free(mol_routes *t) {
  for (size_t i = 0; i < t->len; i++) {
    free(t->items[i].method);
    free(t->items[i].path);
  }
  free(t->items);
  t->items = NULL;
  t->len = t->cap = 0;
}
