/* server_count.c - requests answered, by route and status, for a server's /metrics
 * (molecule_http_requests_total). A request's route is the path its route was registered
 * with, /agents/<name>/... written /agents/{name}/... so that a host with many agents keeps a
 * handful of series; a handler may name a finer one (mol_http_req_set_route, as the dev
 * platform does with its own path patterns); a path no route matches is "unmatched". The
 * labels are interned in the server (kept until it is freed), so a request holds only a
 * pointer and counting an answer is a hash lookup and a short scan. Requests refused before
 * they are routed (malformed, too large, over the connection limit) are not counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "http/server_int.h"
#include "molecule.h"

#define UNMATCHED "unmatched"

typedef struct {
  int status;
  unsigned long long n;
} status_count;

struct mol_http_route_count {
  char *label;
  status_count *by_status;
  size_t n, cap;
  UT_hash_handle hh;
};

static mol_http_route_count *intern(mol_http_counts *c, const char *label, size_t len) {
  mol_http_route_count *e = NULL;
  HASH_FIND(hh, c->by_label, label, len, e);
  if (e) return e;
  if (!(e = calloc(1, sizeof(*e))) || !(e->label = strndup(label, len))) {
    free(e);
    return NULL;
  }
  HASH_ADD_KEYPTR(hh, c->by_label, e->label, len, e);
  return e;
}

/* "/agents/<name>/rest" -> "/agents/{name}/rest"; other paths as they are. */
static mol_http_route_count *intern_path(mol_http_counts *c, const char *path) {
  static const char agents[] = "/agents/";
  size_t n = sizeof(agents) - 1;
  if (strncmp(path, agents, n) != 0 || !path[n]) return intern(c, path, strlen(path));
  const char *rest = strchr(path + n, '/');
  char label[256];
  int len = snprintf(label, sizeof(label), "/agents/{name}%s", rest ? rest : "");
  if (len < 0 || (size_t)len >= sizeof(label)) return intern(c, "/agents/{name}", 14);
  return intern(c, label, (size_t)len);
}

void mol_http__counts_route(mol_http_counts *c, mol_http_req *r, const char *route_path) {
  r->route = route_path ? intern_path(c, route_path) : intern(c, UNMATCHED, sizeof(UNMATCHED) - 1);
}

void mol_http__counts_answer(mol_http_counts *c, mol_http_req *r, int status) {
  (void)c;
  mol_http_route_count *e = r->route;
  if (!e) return; /* not routed, or no memory for its label */
  r->route = NULL; /* once per request, even if a handler starts two responses */
  for (size_t i = 0; i < e->n; i++) {
    if (e->by_status[i].status == status) {
      e->by_status[i].n++;
      return;
    }
  }
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 4;
    status_count *p = realloc(e->by_status, cap * sizeof(*p));
    if (!p) return;
    e->by_status = p;
    e->cap = cap;
  }
  e->by_status[e->n++] = (status_count){status, 1};
}

void mol_http__counts_free(mol_http_counts *c) {
  mol_http_route_count *e, *tmp;
  HASH_ITER(hh, c->by_label, e, tmp) {
    HASH_DEL(c->by_label, e);
    free(e->by_status);
    free(e->label);
    free(e);
  }
}

int mol_http__counts_write(const mol_http_counts *c, mol_buf *out) {
  int rc = mol_buf_append_str(out,
                              "# HELP molecule_http_requests_total HTTP requests answered, by "
                              "route and status.\n"
                              "# TYPE molecule_http_requests_total counter\n");
  for (const mol_http_route_count *e = c->by_label; e && !rc; e = e->hh.next)
    for (size_t i = 0; i < e->n && !rc; i++)
      rc = mol_buf_printf(out, "molecule_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                          e->label, e->by_status[i].status, e->by_status[i].n);
  return rc;
}
