/* tls_testcerts.h - throw-away certificates made at test time (nothing is committed).
 *
 * mol_testcert_ca() makes a self-signed CA; mol_testcert_leaf() a server certificate for one
 * DNS name signed by it. Keys are EC P-256, everything is PEM text in the struct. Header-only
 * so any test (TLS stream, HTTPS server/client) can include it; tests may use mbedTLS. */
#ifndef MOL_TEST_TLS_TESTCERTS_H
#define MOL_TEST_TLS_TESTCERTS_H

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"

typedef struct {
  char subject[128];
  char key_pem[512];
  char cert_pem[2048];
  mbedtls_pk_context key; /* kept to sign leaves; free with mol_testcert_free */
} mol_testcert;

static inline int mol_testcert_rng(void *unused, unsigned char *out, size_t len) {
  (void)unused;
  return mol_random_bytes(out, len) ? -1 : 0;
}

static inline int mol_testcert_key(mol_testcert *c) {
  mbedtls_pk_init(&c->key);
  int ret = mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0)
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
                              mol_testcert_rng, NULL);
  if (ret == 0)
    ret = mbedtls_pk_write_key_pem(&c->key, (unsigned char *)c->key_pem, sizeof(c->key_pem));
  return ret;
}

/* subjectAltName = one dNSName, DER by hand (mbedTLS 2.28 has no SAN writer). */
static inline int mol_testcert_san(mbedtls_x509write_cert *w, const char *dns) {
  unsigned char der[300];
  size_t n = strlen(dns);
  if (n > 250) return -1;
  der[0] = 0x30; /* SEQUENCE */
  der[1] = (unsigned char)(n + 2);
  der[2] = 0x82; /* [2] dNSName */
  der[3] = (unsigned char)n;
  memcpy(der + 4, dns, n);
  return mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                             der, n + 4);
}

/* Signs c's key with issuer (c itself when issuer is NULL: a self-signed CA). */
static inline int mol_testcert_sign(mol_testcert *c, mol_testcert *issuer, const char *dns,
                                    int serial) {
  mol_testcert *iss = issuer ? issuer : c;
  mbedtls_x509write_cert w;
  mbedtls_mpi sn;
  mbedtls_x509write_crt_init(&w);
  mbedtls_mpi_init(&sn);
  mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w, &c->key);
  mbedtls_x509write_crt_set_issuer_key(&w, &iss->key);
  int ret = mbedtls_mpi_lset(&sn, serial);
  if (!ret) ret = mbedtls_x509write_crt_set_serial(&w, &sn);
  if (!ret) ret = mbedtls_x509write_crt_set_subject_name(&w, c->subject);
  if (!ret) ret = mbedtls_x509write_crt_set_issuer_name(&w, iss->subject);
  if (!ret) ret = mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959");
  if (!ret) ret = mbedtls_x509write_crt_set_basic_constraints(&w, issuer == NULL, -1);
  if (!ret) ret = mbedtls_x509write_crt_set_subject_key_identifier(&w);
  if (!ret) ret = mbedtls_x509write_crt_set_authority_key_identifier(&w);
  if (!ret)
    ret = mbedtls_x509write_crt_set_key_usage(
        &w, issuer ? MBEDTLS_X509_KU_DIGITAL_SIGNATURE
                   : MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
  if (!ret && dns) ret = mol_testcert_san(&w, dns);
  if (!ret)
    ret = mbedtls_x509write_crt_pem(&w, (unsigned char *)c->cert_pem, sizeof(c->cert_pem),
                                    mol_testcert_rng, NULL);
  mbedtls_mpi_free(&sn);
  mbedtls_x509write_crt_free(&w);
  return ret;
}

static inline int mol_testcert_ca(mol_testcert *ca, const char *name) {
  memset(ca, 0, sizeof(*ca));
  snprintf(ca->subject, sizeof(ca->subject), "CN=%s,O=molecule tests", name);
  int ret = mol_testcert_key(ca);
  return ret ? ret : mol_testcert_sign(ca, NULL, NULL, 1);
}

static inline int mol_testcert_leaf(mol_testcert *leaf, mol_testcert *ca,
                                    const char *dns) {
  static int serial = 100;
  memset(leaf, 0, sizeof(*leaf));
  snprintf(leaf->subject, sizeof(leaf->subject), "CN=%s,O=molecule tests", dns);
  int ret = mol_testcert_key(leaf);
  return ret ? ret : mol_testcert_sign(leaf, ca, dns, serial++);
}

static inline void mol_testcert_free(mol_testcert *c) { mbedtls_pk_free(&c->key); }

#endif
