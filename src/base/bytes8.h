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

/* The 0x80 bit of each byte of w that is below 0x20, a '"' or a '\\': a string byte that must
 * be escaped or ends a token. Bit tricks from "Bit Twiddling Hacks" (a byte below n, a zero
 * byte). A borrow may also mark bytes after the first special one, never one before it: a
 * nonzero result is exact, and so is its lowest marked byte (mol_b8_first). */
static inline uint64_t mol_b8_special_bits(uint64_t w) {
  uint64_t q = w ^ (MOL_B8_ONES * '"'), bs = w ^ (MOL_B8_ONES * '\\');
  uint64_t hit = ((w - MOL_B8_ONES * 0x20) & ~w) | ((q - MOL_B8_ONES) & ~q) |
                 ((bs - MOL_B8_ONES) & ~bs);
  return hit & MOL_B8_HIGHS;
}

/* 1 when one of the 8 bytes of w is special (see above); exact, no false positives. */
static inline int mol_b8_special(uint64_t w) { return mol_b8_special_bits(w) != 0; }

/* Whether mol_b8_first can name the first marked byte: on a little-endian machine the first
 * byte in memory is the word's lowest, where borrows start. Elsewhere callers go byte by byte. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MOL_B8_FIRST 1
/* The index (0..7) of the first byte in memory whose 0x80 bit is set in m (m != 0). */
static inline unsigned mol_b8_first(uint64_t m) { return (unsigned)__builtin_ctzll(m) >> 3; }
#else
#define MOL_B8_FIRST 0
#endif

/* Sixteen bytes at a time where SSE2 is there (every x86-64): bit k of the mask is set when
 * byte k of the 16 at p is special (see above) or, with high, not ASCII. Exact per byte. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define MOL_B16 1
static inline unsigned mol_b16_stops(const void *p, int high) {
  __m128i x = _mm_loadu_si128((const __m128i *)p);
  __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
  __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
  __m128i bs = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
  __m128i hit = _mm_or_si128(_mm_or_si128(ctl, q), bs);
  if (high) hit = _mm_or_si128(hit, x); /* movemask takes each byte's top bit */
  return (unsigned)_mm_movemask_epi8(hit);
}
#else
#define MOL_B16 0
#endif

/* 1 when all 8 bytes of w are ASCII and none is special (see above). */
static inline int mol_b8_plain_ascii(uint64_t w) {
  return (w & MOL_B8_HIGHS) == 0 && !mol_b8_special(w);
}

#endif
