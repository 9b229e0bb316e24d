/* crypto.h - hashing, encoding, randomness and comparisons that must not leak timing.
 * The only file outside src/http/tls* allowed to use mbedTLS. */
#ifndef MOL_BASE_CRYPTO_H
#define MOL_BASE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MOL_SHA256_LEN 32
#define MOL_SHA256_HEX_LEN 64
#define MOL_UUID_LEN 36

/* Incremental SHA-256 (opaque storage big enough for mbedTLS's context). */
typedef struct {
  _Alignas(8) unsigned char opaque[128];
} mol_sha256;

void mol_sha256_init(mol_sha256 *h);
void mol_sha256_update(mol_sha256 *h, const void *data, size_t len);
void mol_sha256_final(mol_sha256 *h, uint8_t out[MOL_SHA256_LEN]);
/* One-shot SHA-256 of a buffer. */
void mol_sha256_once(const void *data, size_t len, uint8_t out[MOL_SHA256_LEN]);
/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void mol_hex(const uint8_t *in, size_t n, char *out);

/* Fills buf with n bytes from the operating system's CSPRNG. Returns 0 or a negative errno. */
int mol_random_bytes(void *buf, size_t n);
/* Writes a random (version 4) UUID as 36 lower-case chars + NUL into out, from a per-thread
 * CTR-DRBG seeded by the OS (no system call per id). Returns 0 or error. */
int mol_uuid4(char out[MOL_UUID_LEN + 1]);
/* Writes n random bytes (same source as mol_uuid4) as 2n lower-case hex chars + NUL. */
int mol_random_hex(char *out, size_t nbytes);

/* Standard base64 (RFC 4648 §4) with padding. Returns the number of chars written (excluding
 * the NUL), or MOL_ETOOBIG if out (of size cap) is too small. */
int mol_base64_encode(const void *in, size_t n, char *out, size_t cap);
/* Returns the number of bytes written, MOL_EINVAL for bad input or MOL_ETOOBIG. */
int mol_base64_decode(const char *in, size_t n, void *out, size_t cap);

/* Compares two byte strings in time that depends only on their lengths. 1 if equal. */
int mol_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* The same for NUL-terminated strings; NULL is unequal to everything. */
int mol_ct_streq(const char *a, const char *b);

#endif
