/* bytes8.h - eight bytes at a time: tests for the bytes JSON strings treat specially, used by
 * the string writer (json.c) and the scanner (jscan.c) to pass plain text in word steps. */
#ifndef MOL_BASE_BYTES8_H
#define MOL_BASE_BYTES8_H

#include <stdint.h>
#include <string.h>

#define MOL_B8_ONES 0x0101010101010101ull
#define MOL_B8_HIGHS 0x8080808080808080ull

/* The 8 bytes at p (no alignment needed). */
static inline uint64_t mol_b8_load(const void *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* 1 when one of the 8 bytes of w is below 0x20, a '"' or a '\\': a string byte that must be
 * escaped or ends a token. Bit tricks from "Bit Twiddling Hacks" (a byte below n, a zero
 * byte); exact, no false positives. */
static inline int mol_b8_special(uint64_t w) {
  uint64_t q = w ^ (MOL_B8_ONES * '"'), bs = w ^ (MOL_B8_ONES * '\\');
  uint64_t hit = ((w - MOL_B8_ONES * 0x20) & ~w) | ((q - MOL_B8_ONES) & ~q) |
                 ((bs - MOL_B8_ONES) & ~bs);
  return (hit & MOL_B8_HIGHS) != 0;
}

/* 1 when all 8 bytes of w are ASCII and none is special (see above). */
static inline int mol_b8_plain_ascii(uint64_t w) {
  return (w & MOL_B8_HIGHS) == 0 && !mol_b8_special(w);
}

#endif
