/* tls.h - TLS configuration for mol_stream (mbedTLS is used only in src/http/tls*).
 *
 * A config holds the trust anchors or the server certificate and is shared by any number of
 * streams; free it only after every stream using it has closed.
 */
#ifndef MOL_HTTP_TLS_H
#define MOL_HTTP_TLS_H

#include "http/stream.h"

typedef struct {
  const char *ca_file;          /* PEM bundle; NULL = the environment's trust store, else the
                                   build's default system bundle (see below) */
  const char *ca_pem;           /* PEM text instead of a file (NUL-terminated), e.g. in tests */
  int insecure_skip_verify;     /* explicit opt-out of certificate and hostname checks;
                                   logged as a warning when the config is created */
} mol_tls_client_opts;

typedef struct {
  const char *cert_file;        /* PEM certificate chain */
  const char *key_file;         /* PEM private key */
  const char *cert_pem;         /* or PEM text (NUL-terminated) */
  const char *key_pem;
} mol_tls_server_opts;

/* Creates a client config: verification of the peer's chain and of the hostname is ON unless
 * insecure_skip_verify is set. opts may be NULL (all defaults). ca_file and ca_pem add up;
 * when neither is set the trust store comes from the environment - SSL_CERT_FILE and/or
 * SSL_CERT_DIR (':'-separated directories), else REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE - and
 * only without any of those from the system bundle. A variable naming something unusable is
 * an error, not a silent fall-back. TLS 1.2 is the minimum. Streams using a
 * verifying config must be given the server's host name (mol_stream_connect fails with
 * MOL_EINVAL otherwise). Returns 0 or MOL_ETLS (unparsable PEM) / MOL_ENOENT (missing file) /
 * MOL_EIO (unreadable file) / MOL_ENOMEM; *out is NULL on failure. */
int mol_tls_config_client(const mol_tls_client_opts *opts, mol_tls_config **out);
/* Creates a server config from a certificate chain and key (file or PEM for each). Returns 0,
 * MOL_EINVAL (no certificate or no key), MOL_ENOENT / MOL_EIO (file), MOL_ETLS (unparsable, or
 * the key does not match the certificate) or MOL_ENOMEM; *out is NULL on failure. */
int mol_tls_config_server(const mol_tls_server_opts *opts, mol_tls_config **out);
void mol_tls_config_free(mol_tls_config *cfg);

#endif
