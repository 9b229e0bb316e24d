/* crypto.c - SHA-256 and base64 from mbedTLS, randomness from the OS. */
#include "base/crypto.h"

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "molecule.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((mol_sha256 *)0)->opaque),
               "mol_sha256 too small for mbedtls_sha256_context");

void mol_sha256_init(mol_sha256 *h) {
  mbedtls_sha256_context *c = (mbedtls_sha256_context *)h->opaque;
  mbedtls_sha256_init(c);
  mbedtls_sha256_starts_ret(c, 0);
}

void mol_sha256_update(mol_sha256 *h, const void *data, size_t len) {
  mbedtls_sha256_update_ret((mbedtls_sha256_context *)h->opaque, data, len);
}

void mol_sha256_final(mol_sha256 *h, uint8_t out[MOL_SHA256_LEN]) {
  mbedtls_sha256_context *c = (mbedtls_sha256_context *)h->opaque;
  mbedtls_sha256_finish_ret(c, out);
  mbedtls_sha256_free(c);
}

void mol_sha256_once(const void *data, size_t len, uint8_t out[MOL_SHA256_LEN]) {
  mol_sha256 h;
  mol_sha256_init(&h);
  mol_sha256_update(&h, data, len);
  mol_sha256_final(&h, out);
}

void mol_hex(const uint8_t *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

int mol_random_bytes(void *buf, size_t n) {
  /* uv_random without a loop is synchronous and reads getrandom(2) on Linux. */
  return uv_random(NULL, NULL, buf, n, 0, NULL);
}

/* Ids are drawn per request, several times: a getrandom(2) call each was a fifth of a
 * message/send's CPU. A CTR-DRBG (NIST SP 800-90A, AES-256) per thread, seeded from the OS
 * and reseeded by mbedTLS every 10,000 draws of a pool, gives the same unpredictability in user
 * space. Thread-local: no lock, and each loop thread has its own. */
static void forget_in_child(void);
static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_in_child); }

static int os_entropy(void *arg, unsigned char *out, size_t len) {
  (void)arg;
  return mol_random_bytes(out, len) ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

static __thread mbedtls_ctr_drbg_context drbg;
static __thread int drbg_state; /* 0 unseeded, 1 ready, -1 failed: use the OS directly */
/* Output is drawn a pool at a time: each mbedtls_ctr_drbg_random call also re-keys AES (the
 * SP 800-90A update step), which cost more per id than producing its 16 bytes. Used bytes
 * are wiped at once. */
static __thread unsigned char pool[512];
static __thread size_t pool_left;

/* A forked child must not hand out the ids its parent will: forget the state there. */
static void forget_in_child(void) {
  if (drbg_state == 1) mbedtls_ctr_drbg_free(&drbg);
  drbg_state = 0;
  pool_left = 0;
}

static int drbg_ready(void) {
  if (drbg_state == 0) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    mbedtls_ctr_drbg_init(&drbg);
    static const unsigned char who[] = "molecule ids";
    drbg_state = mbedtls_ctr_drbg_seed(&drbg, os_entropy, NULL, who, sizeof(who) - 1) ? -1 : 1;
  }
  return drbg_state == 1;
}

static int fast_random(void *buf, size_t n) {
  if (n > sizeof(pool) || !drbg_ready()) return mol_random_bytes(buf, n);
  if (pool_left < n) {
    if (mbedtls_ctr_drbg_random(&drbg, pool, sizeof(pool)) != 0) return mol_random_bytes(buf, n);
    pool_left = sizeof(pool);
  }
  unsigned char *from = pool + sizeof(pool) - pool_left;
  memcpy(buf, from, n);
  memset(from, 0, n);
  pool_left -= n;
  return 0;
}

/* Both hex digits of each byte value: a message/send makes three UUIDs, and one lookup per
 * byte with the dashes put at their fixed places costs a third of a loop that looked up each
 * digit and tested for a dash before it. */
static const char k_hex2[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Byte i's two digits at offset o of "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (written out: a
 * loop over a table of offsets cost twice as much). */
#define HEX2(i, o) memcpy(out + (o), k_hex2 + 2 * b[i], 2)

int mol_uuid4(char out[MOL_UUID_LEN + 1]) {
  uint8_t b[16];
  int rc = fast_random(b, sizeof(b));
  if (rc) return rc;
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  HEX2(0, 0), HEX2(1, 2), HEX2(2, 4), HEX2(3, 6), HEX2(4, 9), HEX2(5, 11), HEX2(6, 14);
  HEX2(7, 16), HEX2(8, 19), HEX2(9, 21), HEX2(10, 24), HEX2(11, 26), HEX2(12, 28);
  HEX2(13, 30), HEX2(14, 32), HEX2(15, 34);
  out[8] = out[13] = out[18] = out[23] = '-';
  out[MOL_UUID_LEN] = '\0';
  return 0;
}

int mol_random_hex(char *out, size_t nbytes) {
  uint8_t b[64];
  if (nbytes > sizeof(b)) return MOL_EINVAL;
  int rc = fast_random(b, nbytes);
  if (rc) return rc;
  mol_hex(b, nbytes, out);
  return 0;
}

int mol_base64_encode(const void *in, size_t n, char *out, size_t cap) {
  size_t olen = 0;
  int rc = mbedtls_base64_encode((unsigned char *)out, cap, &olen, in, n);
  if (rc) return MOL_ETOOBIG;
  return (int)olen;
}

int mol_base64_decode(const char *in, size_t n, void *out, size_t cap) {
  size_t olen = 0;
  int rc = mbedtls_base64_decode(out, cap, &olen, (const unsigned char *)in, n);
  if (rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL) return MOL_ETOOBIG;
  if (rc) return MOL_EINVAL;
  return (int)olen;
}

int mol_ct_equal(const void *a, size_t alen, const void *b, size_t blen) {
  const volatile uint8_t *x = a, *y = b;
  size_t n = alen < blen ? alen : blen;
  uint8_t diff = (uint8_t)(alen != blen);
  for (size_t i = 0; i < n; i++) diff |= x[i] ^ y[i];
  return diff == 0;
}

int mol_ct_streq(const char *a, const char *b) {
  if (!a || !b) return 0;
  return mol_ct_equal(a, strlen(a), b, strlen(b));
}
