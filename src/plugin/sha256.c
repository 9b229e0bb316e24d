/* sha256.c - SHA-256 for the install's two hashing passes (the archive stream and every
 * extracted file), which dominate its CPU time: mbedTLS 2.28 has no x86 SHA extensions and
 * runs at ~230 MB/s, the SHA-NI instructions at ~1 GB/s. On CPUs with SHA-NI (detected once
 * with CPUID) blocks go through the compression loop below, the standard schedule from Intel's
 * SHA extensions paper; everywhere else mol_sha256 (mbedTLS) does the work. The unit test
 * compares both paths on random inputs and split points. */
#include <string.h>

#include "plugin/plugin.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_NI_PATH 1

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* Sixteen groups of four rounds. W[g % 4] holds message words 4g..4g+3; each group finishes
 * the schedule of group g+1 (sha256msg2) and starts the one of group g+3 (sha256msg1). */
__attribute__((target("sha,sse4.1,ssse3"))) static void ni_blocks(uint32_t st[8], const uint8_t *p,
                                                                   size_t nblocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1); /* CDAB */
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B);  /* EFGH */
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);                                        /* ABEF */
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                             /* CDGH */
  for (; nblocks > 0; nblocks--, p += 64) {
    __m128i save0 = s0, save1 = s1, W[4];
    for (int g = 0; g < 16; g++) {
      if (g < 4) W[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
      __m128i msg = _mm_add_epi32(W[g & 3], _mm_loadu_si128((const __m128i *)&K[4 * g]));
      s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
      if (g >= 3 && g <= 14) {
        __m128i t = _mm_alignr_epi8(W[g & 3], W[(g - 1) & 3], 4);
        W[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(W[(g + 1) & 3], t), W[g & 3]);
      }
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
      if (g >= 1 && g <= 12) W[(g - 1) & 3] = _mm_sha256msg1_epu32(W[(g - 1) & 3], W[g & 3]);
    }
    s0 = _mm_add_epi32(s0, save0);
    s1 = _mm_add_epi32(s1, save1);
  }
  tmp = _mm_shuffle_epi32(s0, 0x1B);           /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);            /* DCHG */
  s0 = _mm_blend_epi16(tmp, s1, 0xF0);         /* DCBA */
  s1 = _mm_alignr_epi8(s1, tmp, 8);            /* ABEF */
  _mm_storeu_si128((__m128i *)&st[0], s0);
  _mm_storeu_si128((__m128i *)&st[4], s1);
}

static int cpu_has_sha_ni(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b >> 29) & 1;
}
#endif

static int use_ni = -1;  /* -1 unknown; any thread may set it, always to the same value */

void mol_plugin__sha256_select(int portable) {
#ifdef HAVE_NI_PATH
  int v = portable ? 0 : cpu_has_sha_ni();
#else
  (void)portable;
  int v = 0;
#endif
  __atomic_store_n(&use_ni, v, __ATOMIC_RELAXED);
}

void mol_plugin__sha256_init(mol_plugin_sha256 *h) {
  if (__atomic_load_n(&use_ni, __ATOMIC_RELAXED) < 0) mol_plugin__sha256_select(0);
  memset(h, 0, sizeof(*h));
  h->ni = __atomic_load_n(&use_ni, __ATOMIC_RELAXED);
  if (!h->ni) {
    mol_sha256_init(&h->sw);
    return;
  }
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(h->st, iv, sizeof(iv));
}

static void blocks(mol_plugin_sha256 *h, const uint8_t *p, size_t n) {
#ifdef HAVE_NI_PATH
  ni_blocks(h->st, p, n);
#else
  (void)h;
  (void)p;
  (void)n;
#endif
}

void mol_plugin__sha256_update(mol_plugin_sha256 *h, const void *data, size_t len) {
  if (!h->ni) {
    mol_sha256_update(&h->sw, data, len);
    return;
  }
  const uint8_t *p = data;
  h->total += len;
  if (h->buflen) {
    size_t k = 64 - h->buflen < len ? 64 - h->buflen : len;
    memcpy(h->buf + h->buflen, p, k);
    h->buflen += k;
    p += k;
    len -= k;
    if (h->buflen < 64) return;
    blocks(h, h->buf, 1);
    h->buflen = 0;
  }
  if (len >= 64) {
    blocks(h, p, len / 64);
    p += len & ~(size_t)63;
    len &= 63;
  }
  memcpy(h->buf, p, len);
  h->buflen = len;
}

void mol_plugin__sha256_final(mol_plugin_sha256 *h, uint8_t out[MOL_SHA256_LEN]) {
  if (!h->ni) {
    mol_sha256_final(&h->sw, out);
    return;
  }
  uint64_t bits = h->total * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (h->buflen < 56 ? 56 : 120) - h->buflen;
  for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
  mol_plugin__sha256_update(h, pad, padlen + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(h->st[i] >> 24);
    out[4 * i + 1] = (uint8_t)(h->st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(h->st[i] >> 8);
    out[4 * i + 3] = (uint8_t)h->st[i];
  }
}
