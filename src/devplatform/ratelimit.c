/* ratelimit.c - the global per-client-IP limiter: a fixed window of `limit`
 * requests; the bucket refills completely once its window has elapsed. Pure: time is passed
 * in, so tests drive it without sleeping. The table is bounded: past max_buckets, expired
 * buckets are dropped, then the oldest one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devplatform/dp_int.h"

struct mol_dp__rl_bucket {
  char key[64];
  uint64_t window_start;
  long used;
  UT_hash_handle hh;
};

void mol_dp__rl_init(mol_dp__ratelimit *rl, long limit, uint64_t window_ms, size_t max_buckets) {
  memset(rl, 0, sizeof *rl);
  rl->limit = limit;
  rl->window_ms = window_ms ? window_ms : 60000;
  rl->max_buckets = max_buckets ? max_buckets : 65536;
}

void mol_dp__rl_free(mol_dp__ratelimit *rl) {
  mol_dp__rl_bucket *b, *tmp;
  HASH_ITER(hh, rl->buckets, b, tmp) {
    HASH_DEL(rl->buckets, b);
    free(b);
  }
  rl->nbuckets = 0;
}

static void make_room(mol_dp__ratelimit *rl, uint64_t now) {
  mol_dp__rl_bucket *b, *tmp;
  HASH_ITER(hh, rl->buckets, b, tmp) {
    if (now - b->window_start >= rl->window_ms) {
      HASH_DEL(rl->buckets, b);
      free(b);
      rl->nbuckets--;
    }
  }
  if (rl->nbuckets >= rl->max_buckets && rl->buckets) {
    b = rl->buckets; /* the oldest insertion */
    HASH_DEL(rl->buckets, b);
    free(b);
    rl->nbuckets--;
  }
}

static mol_dp__rl_bucket *bucket_for(mol_dp__ratelimit *rl, const char *key, uint64_t now) {
  mol_dp__rl_bucket *b = NULL;
  HASH_FIND_STR(rl->buckets, key, b);
  if (b) return b;
  if (rl->nbuckets >= rl->max_buckets) make_room(rl, now);
  b = calloc(1, sizeof *b);
  if (!b) return NULL;
  snprintf(b->key, sizeof b->key, "%s", key);
  b->window_start = now;
  HASH_ADD_STR(rl->buckets, key, b);
  rl->nbuckets++;
  return b;
}

void mol_dp__rl_check(mol_dp__ratelimit *rl, const char *key, uint64_t now_ms,
                      mol_dp__rl_verdict *v) {
  memset(v, 0, sizeof *v);
  v->limit = rl->limit;
  v->allowed = 1;
  if (rl->limit < 0) return;
  char k[64];
  strncpy(k, key, sizeof k - 1);
  k[sizeof k - 1] = '\0';
  mol_dp__rl_bucket *b = bucket_for(rl, k, now_ms);
  if (!b) return; /* out of memory: fail open rather than refuse everyone */
  if (now_ms - b->window_start >= rl->window_ms) {
    b->window_start = now_ms;
    b->used = 0;
  }
  uint64_t left_ms = rl->window_ms - (now_ms - b->window_start);
  v->reset_s = (long)((left_ms + 999) / 1000);
  if (b->used >= rl->limit) {
    v->allowed = 0;
    v->remaining = 0;
    return;
  }
  b->used++;
  v->remaining = rl->limit - b->used;
}
