/* tls_priv.h - the config shared by tls.c (which builds it) and tls_conn.c (which starts
 * sessions from it). Only src/http/tls* may include this: it names mbedTLS types. */
#ifndef MOL_HTTP_TLS_PRIV_H
#define MOL_HTTP_TLS_PRIV_H

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "http/tls.h"

struct mol_tls_config {
  mbedtls_ssl_config conf;     /* parsed once, shared read-only by every session */
  mbedtls_x509_crt chain;      /* client: trust anchors; server: own certificate chain */
  mbedtls_pk_context key;      /* server: private key */
  int server;
  int verify;                  /* client: peer certificate and hostname are checked */
};

#endif
