/* tls.h - TLS configuration for mol_stream (mbedTLS is used only in src/http/tls*).
 *
 * A config holds the trust anchors or the server certificate and is shared by any number of
 * streams; free it only after every stream using it has closed.
 */
#ifndef MOL_HTTP_TLS_H
#define MOL_HTTP_TLS_H

#include "http/stream.h"

typedef struct {
  const char *ca_file;          /* PEM bundle; NULL = the build's default system bundle */
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
 * insecure_skip_verify is set. Returns 0 or MOL_ETLS / MOL_ENOENT / MOL_ENOMEM. */
int mol_tls_config_client(const mol_tls_client_opts *opts, mol_tls_config **out);
/* Creates a server config from a certificate chain and key. */
int mol_tls_config_server(const mol_tls_server_opts *opts, mol_tls_config **out);
void mol_tls_config_free(mol_tls_config *cfg);

#endif
