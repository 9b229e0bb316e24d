/* pool.c - per-origin keep-alive pools: the queue of requests waiting for a connection, the
 * idle connections, and the bound on connections per origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client_int.h"
#include "molecule.h"

static size_t put(char *out, size_t at, size_t n, const char *s) {
  size_t len = strlen(s);
  if (at + len < n) memcpy(out + at, s, len);
  return at + len;
}

/* Connections made without certificate checks never serve a request that wants them, so
 * "insecure" is part of the key. Built on every request: no format string. */
static int origin_key(const mol_url *u, int insecure, char *out, size_t n) {
  char port[8];
  size_t p = sizeof(port) - 1, at = 0;
  unsigned v = u->port;
  port[p] = '\0';
  do port[--p] = (char)('0' + v % 10); while ((v /= 10) != 0 && p > 0);
  at = put(out, at, n, u->https ? (insecure ? "https+insecure://" : "https://") : "http://");
  at = put(out, at, n, u->ipv6 ? "[" : "");
  at = put(out, at, n, u->host);
  at = put(out, at, n, u->ipv6 ? "]:" : ":");
  at = put(out, at, n, port + p);
  if (at >= n) return -1;
  out[at] = '\0';
  return (int)at;
}

mol_origin *mol_http__origin_get(mol_http_client *c, const mol_url *u, int insecure) {
  char key[MOL_URL_HOST_MAX + 40];
  int len = origin_key(u, insecure && u->https, key, sizeof(key));
  if (len < 0) return NULL;
  mol_origin *o = NULL;
  HASH_FIND(hh, c->origins, key, (unsigned)len, o);
  if (o) return o;
  o = calloc(1, sizeof(*o));
  if (!o || !(o->key = strdup(key))) {
    free(o);
    return NULL;
  }
  o->c = c;
  o->url = *u;
  o->url.target = NULL;
  o->url.target_len = 0;
  o->https = u->https;
  o->insecure = insecure && u->https;
  o->proxy = mol_http__client_proxy(c, u); /* the same for every request to this origin */
  HASH_ADD_KEYPTR(hh, c->origins, o->key, (unsigned)len, o);
  return o;
}

static void origin_free(mol_http_client *c, mol_origin *o) {
  HASH_DELETE(hh, c->origins, o);
  free(o->key);
  free(o);
}

/* Origins come and go with their traffic, so a client that talks to many hosts over its life
 * does not accumulate them. */
void mol_http__origin_maybe_free(mol_origin *o) {
  if (o->nlive == 0 && !o->qhead && !o->pumping) origin_free(o->c, o);
}

void mol_http__origins_free(mol_http_client *c) {
  mol_origin *o, *tmp;
  HASH_ITER(hh, c->origins, o, tmp) origin_free(c, o);
}

int mol_http__origin_would_wait(const mol_origin *o) {
  return o->qhead || (o->nidle == 0 && o->nconns >= o->c->max_conns);
}

void mol_http__origin_enqueue(mol_origin *o, mol_http_request *r, int front) {
  r->o = o;
  r->state = REQ_QUEUED;
  r->qprev = r->qnext = NULL;
  if (front) {
    r->qnext = o->qhead;
    if (o->qhead) o->qhead->qprev = r;
    else o->qtail = r;
    o->qhead = r;
  } else {
    r->qprev = o->qtail;
    if (o->qtail) o->qtail->qnext = r;
    else o->qhead = r;
    o->qtail = r;
  }
  o->c->nqueued++;
}

void mol_http__origin_dequeue(mol_origin *o, mol_http_request *r) {
  if (r->qprev) r->qprev->qnext = r->qnext;
  else o->qhead = r->qnext;
  if (r->qnext) r->qnext->qprev = r->qprev;
  else o->qtail = r->qprev;
  r->qprev = r->qnext = NULL;
  r->o = NULL;
  o->c->nqueued--;
}

void mol_http__origin_idle_remove(mol_origin *o, mol_conn *conn) {
  if (!conn->idle) return;
  if (conn->prev) conn->prev->next = conn->next;
  else o->idle_head = conn->next;
  if (conn->next) conn->next->prev = conn->prev;
  conn->prev = conn->next = NULL;
  conn->idle = 0;
  o->nidle--;
  /* The idle timer is left running: stopping and restarting it for every request would cost
   * two timer heap operations each; when it fires on a busy connection it does nothing. */
}

static mol_conn *idle_pop(mol_origin *o) {
  mol_conn *conn = o->idle_head;
  if (conn) mol_http__origin_idle_remove(o, conn);
  return conn;
}

/* The least recently used idle connection, closed to make room for a fresh one. */
static void close_oldest_idle(mol_origin *o) {
  mol_conn *conn = o->idle_head;
  while (conn && conn->next) conn = conn->next;
  if (conn) mol_http__conn_close(conn);
}

static void on_idle_expired(uv_timer_t *t) {
  mol_conn *conn = t->data;
  if (!conn->idle) return; /* busy since: armed again when it goes back to the pool */
  uint64_t idle_for = uv_now(t->loop) - conn->idle_since;
  unsigned keepalive = conn->o->c->keepalive_ms;
  if (idle_for >= keepalive) mol_http__conn_close(conn);
  else uv_timer_start(t, on_idle_expired, keepalive - idle_for, 0);
}

static int serve_head(mol_origin *o) {
  mol_http_request *r = o->qhead;
  mol_conn *conn = r->need_fresh ? NULL : idle_pop(o);
  if (conn) {
    mol_http__origin_dequeue(o, r);
    mol_http__conn_start(conn, r);
    return 1;
  }
  if (r->need_fresh && o->nconns >= o->c->max_conns && o->nidle) close_oldest_idle(o);
  if (o->nconns >= o->c->max_conns) return 0;
  mol_http__origin_dequeue(o, r);
  int rc = mol_http__conn_open(o, r);
  if (rc) mol_http__req_abort(r, rc);
  return 1;
}

/* Hands queued requests to idle connections, or opens connections within the bound. Re-entry
 * (a connection closing while we open another) is folded into the running loop. */
void mol_http__origin_pump(mol_origin *o) {
  if (o->pumping || o->c->closing) return;
  o->pumping = 1;
  while (o->qhead && serve_head(o)) {
  }
  o->pumping = 0;
}

void mol_http__origin_release(mol_origin *o, mol_conn *conn) {
  mol_http_client *c = o->c;
  if (c->closing || o->nidle >= c->max_idle) {
    mol_http__conn_close(conn);
    return;
  }
  conn->reused = 1;
  conn->idle = 1;
  conn->prev = NULL;
  conn->next = o->idle_head;
  if (o->idle_head) o->idle_head->prev = conn;
  o->idle_head = conn;
  o->nidle++;
  conn->idle_since = uv_now(c->loop);
  conn->idle_timer.data = conn;
  if (!uv_is_active((uv_handle_t *)&conn->idle_timer))
    uv_timer_start(&conn->idle_timer, on_idle_expired, c->keepalive_ms, 0);
  mol_http__origin_pump(o);
}

void mol_http__origin_close_idle(mol_origin *o) {
  while (o->idle_head) mol_http__conn_close(o->idle_head);
}
