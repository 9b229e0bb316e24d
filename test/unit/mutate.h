/* mutate.h - the random edits the agreement tests make to a JSON seed before checking that a
 * fast reader and jansson still agree on it: 1..3 replacements, deletions or insertions of
 * characters from an alphabet, driven by a xorshift64 seed so every run makes the same edits. */
#ifndef MOL_TEST_MUTATE_H
#define MOL_TEST_MUTATE_H

#include <stdint.h>
#include <string.h>

/* Copies src into buf (cap bytes) and makes `edits` edits; returns the new length. */
static inline size_t mol_test_mutate(char *buf, size_t cap, const char *src, int edits,
                                     uint64_t *seed, const char *alphabet, size_t alen) {
  size_t len = strlen(src);
  if (len > cap) len = cap;
  memcpy(buf, src, len);
  for (; edits > 0 && len > 1; edits--) {
    uint64_t s = *seed;
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    *seed = s;
    size_t at = (size_t)(s >> 8) % len;
    char c = alphabet[(s >> 40) % alen];
    switch ((s >> 56) % 3) {
    case 0: buf[at] = c; break;
    case 1: memmove(buf + at, buf + at + 1, len - at - 1), len--; break;
    default:
      if (len + 1 < cap) memmove(buf + at + 1, buf + at, len - at), buf[at] = c, len++;
    }
  }
  return len;
}

#endif
