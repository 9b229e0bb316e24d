/* tls.c - TLS configurations: trust anchors and verification policy for clients, certificate
 * chain and key for servers. Everything is parsed once here and shared by every session. */
#include <errno.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"
#include "http/tls_priv.h"
#include "mol_config.h"
#include "molecule.h"

/* The mbedTLS rng callback of every config: the OS CSPRNG. */
static int tls_rng(void *unused, unsigned char *out, size_t len) {
  (void)unused;
  /* The OS CSPRNG directly: no DRBG state to seed, share or reseed after fork. */
  return mol_random_bytes(out, len) ? MBEDTLS_ERR_ENTROPY_SOURCE_FAILED : 0;
}

static int log_failure(const char *what, const char *detail, int ret) {
  char msg[160];
  mbedtls_strerror(ret, msg, sizeof(msg));
  mol_loge("tls", "%s %s: %s (-0x%04x)", what, detail, msg, (unsigned)-ret);
  if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED || ret == MBEDTLS_ERR_PK_ALLOC_FAILED ||
      ret == MBEDTLS_ERR_SSL_ALLOC_FAILED)
    return MOL_ENOMEM;
  return MOL_ETLS;
}

/* mbedTLS reports a missing file as a generic I/O error; checking first gives MOL_ENOENT. */
static int check_readable(const char *path) {
  if (access(path, R_OK) == 0) return 0;
  int err = errno;
  mol_loge("tls", "cannot read %s: %s", path, strerror(err));
  return err == ENOENT ? MOL_ENOENT : MOL_EIO;
}

/* A positive ret counts certificates mbedTLS could not parse: a system bundle may hold a few
 * with unsupported algorithms, which is fine as long as the others loaded. */
static int crt_result(const mbedtls_x509_crt *crt, int ret, const char *what) {
  if (ret < 0) return log_failure("cannot parse certificates in", what, ret);
  if (ret > 0) mol_logd("tls", "skipped %d unparsable certificate(s) in %s", ret, what);
  if (crt->version == 0) {
    mol_loge("tls", "no certificate found in %s", what);
    return MOL_ETLS;
  }
  return 0;
}

static int parse_crt_file(mbedtls_x509_crt *crt, const char *path) {
  int rc = check_readable(path);
  if (rc) return rc;
  return crt_result(crt, mbedtls_x509_crt_parse_file(crt, path), path);
}

static int parse_crt_pem(mbedtls_x509_crt *crt, const char *pem, const char *what) {
  /* PEM input must include the terminating NUL in its length. */
  int ret = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
  return crt_result(crt, ret, what);
}

static int parse_key(mbedtls_pk_context *key, const mol_tls_server_opts *o) {
  int ret;
  const char *what = o->key_file ? o->key_file : "key_pem";
  if (o->key_file) {
    int rc = check_readable(o->key_file);
    if (rc) return rc;
    ret = mbedtls_pk_parse_keyfile(key, o->key_file, NULL);
  } else {
    ret = mbedtls_pk_parse_key(key, (const unsigned char *)o->key_pem, strlen(o->key_pem) + 1,
                               NULL, 0);
  }
  return ret ? log_failure("cannot parse private key", what, ret) : 0;
}

static int config_new(int server, mol_tls_config **out) {
  *out = NULL;
  mol_tls_config *cfg = calloc(1, sizeof(*cfg));
  if (!cfg) return MOL_ENOMEM;
  mbedtls_ssl_config_init(&cfg->conf);
  mbedtls_x509_crt_init(&cfg->chain);
  mbedtls_pk_init(&cfg->key);
  cfg->server = server;
  int ret = mbedtls_ssl_config_defaults(
      &cfg->conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret) {
    mol_tls_config_free(cfg);
    return log_failure("cannot initialise", "config", ret);
  }
  mbedtls_ssl_conf_rng(&cfg->conf, tls_rng, NULL);
  /* TLS 1.2 is the floor; mbedTLS 2.28's TLS 1.3 is experimental and not offered. */
  mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  *out = cfg;
  return 0;
}

static const char *env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* Every directory of a ':'-separated list (OpenSSL's SSL_CERT_DIR form), each file in it. */
static int parse_crt_dirs(mbedtls_x509_crt *crt, const char *dirs) {
  char path[4096];
  for (const char *p = dirs; *p;) {
    size_t n = strcspn(p, ":");
    if (n > 0 && n < sizeof(path)) {
      memcpy(path, p, n);
      path[n] = '\0';
      int rc = check_readable(path);
      if (rc) return rc;
      int ret = mbedtls_x509_crt_parse_path(crt, path);
      if (ret < 0) return log_failure("cannot read certificates in", path, ret);
    }
    p += n + (p[n] == ':');
  }
  return crt_result(crt, 0, dirs);
}

/* The trust store when the caller named none, from the environment: OpenSSL's SSL_CERT_FILE
 * and SSL_CERT_DIR (both, when both are set), else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (what
 * a Python or curl user already has). 1 when one was set (rc tells how loading went). */
static int load_env_trust(mol_tls_config *cfg, int *rc) {
  const char *var = "SSL_CERT_FILE", *file = env_set(var), *dir = env_set("SSL_CERT_DIR");
  if (!file && !dir && (file = env_set(var = "REQUESTS_CA_BUNDLE")) == NULL)
    file = env_set(var = "CURL_CA_BUNDLE");
  if (!file && !dir) return 0;
  *rc = file ? parse_crt_file(&cfg->chain, file) : 0;
  if (*rc) {
    mol_loge("tls", "the trust store named by %s cannot be used", var);
    return 1;
  }
  *rc = dir ? parse_crt_dirs(&cfg->chain, dir) : 0;
  if (*rc)
    mol_loge("tls", "the trust store named by SSL_CERT_DIR cannot be used");
  else
    mol_logd("tls", "trust store from %s%s", file ? var : "SSL_CERT_DIR",
             file && dir ? " and SSL_CERT_DIR" : "");
  return 1;
}

/* ca_file and ca_pem add up; without either, the environment's trust store (above), else the
 * system bundle. */
static int load_trust(mol_tls_config *cfg, const mol_tls_client_opts *o) {
  const char *file = o->ca_file;
  int rc = 0;
  if (!file && !o->ca_pem && load_env_trust(cfg, &rc)) return rc;
  if (!file && !o->ca_pem) file = MOL_CA_BUNDLE_DEFAULT;
  if (file) rc = parse_crt_file(&cfg->chain, file);
  if (rc == 0 && o->ca_pem) rc = parse_crt_pem(&cfg->chain, o->ca_pem, "ca_pem");
  return rc;
}

int mol_tls_config_client(const mol_tls_client_opts *opts, mol_tls_config **out) {
  static const mol_tls_client_opts defaults;
  const mol_tls_client_opts *o = opts ? opts : &defaults;
  *out = NULL;
  mol_tls_config *cfg;
  int rc = config_new(0, &cfg);
  if (rc) return rc;
  cfg->verify = !o->insecure_skip_verify;
  if (!cfg->verify) {
    mol_logw("tls", "insecure_skip_verify is set: server certificates and host names are "
                    "NOT verified; any server can impersonate the peer");
    mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
  } else if ((rc = load_trust(cfg, o)) == 0) {
    mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->chain, NULL);
  }
  if (rc) {
    mol_tls_config_free(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

static int load_identity(mol_tls_config *cfg, const mol_tls_server_opts *o) {
  if ((!o->cert_file && !o->cert_pem) || (!o->key_file && !o->key_pem)) {
    mol_loge("tls", "a server config needs a certificate and a private key");
    return MOL_EINVAL;
  }
  int rc = o->cert_file ? parse_crt_file(&cfg->chain, o->cert_file)
                        : parse_crt_pem(&cfg->chain, o->cert_pem, "cert_pem");
  if (rc == 0) rc = parse_key(&cfg->key, o);
  if (rc) return rc;
  /* A mismatched pair would only show up as failed handshakes; say so at startup instead. */
  int ret = mbedtls_pk_check_pair(&cfg->chain.pk, &cfg->key);
  if (ret) return log_failure("private key does not match", "the certificate", ret);
  ret = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->chain, &cfg->key);
  return ret ? log_failure("cannot use", "the certificate", ret) : 0;
}

int mol_tls_config_server(const mol_tls_server_opts *opts, mol_tls_config **out) {
  *out = NULL;
  if (!opts) return MOL_EINVAL;
  mol_tls_config *cfg;
  int rc = config_new(1, &cfg);
  if (rc) return rc;
  rc = load_identity(cfg, opts);
  if (rc) {
    mol_tls_config_free(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

void mol_tls_config_free(mol_tls_config *cfg) {
  if (!cfg) return;
  mbedtls_ssl_config_free(&cfg->conf);
  mbedtls_x509_crt_free(&cfg->chain);
  mbedtls_pk_free(&cfg->key);
  free(cfg);
}
