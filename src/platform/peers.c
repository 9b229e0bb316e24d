/* peers.c - get_peers, discover and the peer URL cache.
 *
 * The cache maps a target workspace id to its http(s) URL with an expiry (300 s by default).
 * Unlike the Python SDK's unbounded dict it holds at most cache_max entries per client: when
 * full, expired entries go first, then the oldest insertion (uthash keeps insertion order). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uthash.h>

#include "base/json.h"
#include "base/log.h"
#include "platform/platform_int.h"

struct mol_platform__peer {
  UT_hash_handle hh;
  uint64_t expires_ms;
  char *url;
  char id[];
};

int mol_platform__is_http_url(const char *url) {
  return url && (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8));
}

static void peer_del(mol_platform_client *c, mol_platform__peer *p) {
  HASH_DEL(c->peers, p);
  c->cache_len--;
  free(p->url);
  free(p);
}

const char *mol_platform__cache_get(mol_platform_client *c, const char *id, uint64_t now_ms) {
  mol_platform__peer *p;
  HASH_FIND_STR(c->peers, id, p);
  if (p && now_ms >= p->expires_ms) {
    peer_del(c, p); /* expired: drop it so the next lookup asks the platform */
    p = NULL;
  }
  return p ? p->url : NULL;
}

static void cache_free(mol_platform_client *c, mol_platform__part *self) {
  (void)self;
  while (c->peers) peer_del(c, c->peers);
}

static void make_room(mol_platform_client *c, uint64_t now_ms) {
  mol_platform__peer *p, *tmp;
  HASH_ITER(hh, c->peers, p, tmp)
    if (now_ms >= p->expires_ms) peer_del(c, p);
  while (c->cache_len >= c->cache_max && c->peers) peer_del(c, c->peers);
}

int mol_platform__cache_put(mol_platform_client *c, const char *id, const char *url,
                            uint64_t now_ms) {
  mol_platform__peer *p;
  HASH_FIND_STR(c->peers, id, p);
  if (p) peer_del(c, p); /* re-insert so a refresh counts as the newest entry */
  if (c->cache_len >= c->cache_max) make_room(c, now_ms);
  if (!c->cache_part.free) { /* the first entry: the client frees the cache with itself */
    c->cache_part.free = cache_free;
    mol_platform__part_add(c, &c->cache_part);
  }
  size_t n = strlen(id);
  if (!(p = malloc(sizeof(*p) + n + 1))) return MOL_ENOMEM;
  memcpy(p->id, id, n + 1);
  if (!(p->url = strdup(url))) {
    free(p);
    return MOL_ENOMEM;
  }
  p->expires_ms = now_ms + c->cache_ttl_ms;
  HASH_ADD_KEYPTR(hh, c->peers, p->id, n, p);
  c->cache_len++;
  return 0;
}

void mol_platform_invalidate_peer(mol_platform_client *c, const char *target_id) {
  mol_platform__peer *p;
  char *id = c ? mol_platform__id_dup(target_id) : NULL;
  if (!id) return;
  HASH_FIND_STR(c->peers, id, p);
  if (p) peer_del(c, p);
  free(id);
}

/* ---- get_peers ---------------------------------------------------------------------------- */

typedef struct {
  mol_platform_peer *peers;
  char **cards; /* serialized agent cards, freed with the call */
  size_t n;
} peers_op;

static void peers_op_free(mol_platform_req *r) {
  peers_op *op = r->op;
  if (!op) return;
  for (size_t i = 0; i < op->n; i++) free(op->cards[i]);
  free(op->cards);
  free(op->peers);
}

static const char *str_or(json_t *row, const char *key, const char *dflt) {
  const char *s = mol_json_str(row, key);
  return s ? s : dflt;
}

/* One row; 0 when it has an id (rows without one are skipped, as upstream). */
static int peer_from_row(json_t *row, mol_platform_peer *p, char **card) {
  const char *id = mol_json_str(row, "id");
  if (!id || !*id) return MOL_EINVAL;
  json_t *tier = json_object_get(row, "tier");
  json_t *ac = json_object_get(row, "agent_card");
  p->id = id;
  p->name = str_or(row, "name", "");
  p->url = str_or(row, "url", "");
  p->role = str_or(row, "role", ""); /* JSON null is absent, never "None" */
  p->tier = json_is_integer(tier) && json_integer_value(tier) ? (int)json_integer_value(tier) : 2;
  p->status = str_or(row, "status", "unknown");
  *card = json_is_object(ac) ? mol_json_dump(ac) : strdup("{}");
  p->agent_card_json = *card;
  return *card ? 0 : MOL_ENOMEM;
}

static int peers_fill(mol_platform_req *r) {
  mol_platform_client *c = r->c;
  if (!json_is_array(r->json)) return MOL_EJSON;
  peers_op *op = r->op = calloc(1, sizeof(*op));
  size_t n = json_array_size(r->json);
  r->op_free = peers_op_free;
  if (!op || !(op->peers = calloc(n + 1, sizeof(*op->peers))) ||
      !(op->cards = calloc(n + 1, sizeof(char *))))
    return MOL_ENOMEM;
  uint64_t now = uv_now(c->loop);
  for (size_t i = 0; i < n; i++) {
    mol_platform_peer *p = &op->peers[op->n];
    if (peer_from_row(json_array_get(r->json, i), p, &op->cards[op->n])) continue;
    op->n++;
    /* lookups lower-case */
    char *key = mol_platform__is_http_url(p->url) ? mol_platform__id_dup(p->id) : NULL;
    if (key) mol_platform__cache_put(c, key, p->url, now);
    free(key);
  }
  r->res.peers = op->peers;
  r->res.npeers = op->n;
  return 0;
}

static void peers_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (!err) err = mol_platform__parse_body(r, resp);
  if (!err) err = peers_fill(r);
  mol_platform__finish(r, err);
}

static int peers_start(mol_platform_req *r, const void *ctx) {
  (void)ctx;
  mol_platform_client *c = r->c;
  return mol_platform__exchange(r, "GET", mol_platform__url(c, "/registry/%s/peers", c->ws_id),
                                NULL, 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_WS |
                                MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH, c->timeout_ms,
                                peers_done);
}

int mol_platform_get_peers(mol_platform_client *c, const mol_platform_call *call,
                           mol_platform_cb cb, void *arg, mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, peers_start, NULL, out);
}

/* ---- discover ----------------------------------------------------------------------------- */

static void discover_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  err = mol_platform__response_err(r, err, resp);
  if (err == MOL_EHTTP && resp->status == 404) {
    r->res.error = NULL;
    mol_platform__finish(r, 0); /* no such peer (or no URL): res->url stays NULL */
    return;
  }
  if (!err) err = mol_platform__parse_body(r, resp);
  const char *url = err ? NULL : mol_json_str(r->json, "url");
  if (mol_platform__is_http_url(url)) {
    r->res.url = url;
    mol_platform__cache_put(r->c, r->s1, url, uv_now(r->c->loop));
  }
  mol_platform__finish(r, err);
}

static int discover_start(mol_platform_req *r, const void *target_id) {
  mol_platform_client *c = r->c;
  const char *hit = NULL;
  if (!(r->s1 = mol_platform__id_dup(target_id)) ||
      ((hit = mol_platform__cache_get(c, r->s1, uv_now(c->loop))) && !(r->s2 = strdup(hit))))
    return MOL_ENOMEM;
  if (hit) {
    r->res.url = r->s2;
    mol_platform__finish_later(r, 0); /* a cache hit sends nothing, but still completes later */
    return 0;
  }
  return mol_platform__exchange(r, "GET", mol_platform__url(c, "/registry/discover/%s", r->s1),
                                NULL, 0,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT | MOL_PLATFORM__H_WS |
                                MOL_PLATFORM__RETRY | MOL_PLATFORM__REAUTH, c->timeout_ms,
                                discover_done);
}

int mol_platform_discover(mol_platform_client *c, const char *target_id,
                          const mol_platform_call *call, mol_platform_cb cb, void *arg,
                          mol_platform_req **out) {
  if (!mol_platform__valid_id(target_id)) return MOL_EINVAL;
  return mol_platform__call(c, call, cb, arg, discover_start, target_id, out);
}
