/* tls_conn.c - one mbedTLS session over in-memory ciphertext buffers (see tls_conn.h).
 *
 * mbedTLS pulls ciphertext through bio_recv and pushes records through bio_send; both work on
 * buffers owned by the session, so mbedTLS never blocks and never sees a socket. */
#include "http/tls_conn.h"

#include <mbedtls/error.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "http/tls_priv.h"
#include "molecule.h"

/* Room for one record's header, explicit IV, MAC or tag and padding, used to size the output
 * buffer once for a large write instead of growing it record by record. */
#define RECORD_OVERHEAD 128
#define RECORD_PLAINTEXT 16384

struct mol_tls_conn {
  mbedtls_ssl_context ssl;
  mol_buf in;          /* ciphertext fed and not yet consumed by mbedTLS, from in_off */
  size_t in_off;
  mol_buf out;         /* records produced and not yet taken */
  mol_tls_state state;
  int server;
  int end_code;        /* non-zero once the transport has ended */
  int notified;        /* close_notify queued */
  char *host;          /* for log lines */
};

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
  mol_tls_conn *c = ctx;
  if (mol_buf_append(&c->out, buf, len)) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
  return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
  mol_tls_conn *c = ctx;
  size_t avail = c->in.len - c->in_off;
  /* 0 is mbedTLS's "transport closed"; WANT_READ asks to be called again after a feed. */
  if (avail == 0) return c->end_code ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
  size_t n = len < avail ? len : avail;
  memcpy(buf, c->in.data + c->in_off, n);
  c->in_off += n;
  if (c->in_off == c->in.len) {
    /* Idle connections should not keep a read-sized buffer each. */
    mol_buf_free(&c->in);
    c->in_off = 0;
  }
  return (int)n;
}

int mol_http__tls_conn_new(mol_tls_config *cfg, int server, const char *hostname,
                           mol_tls_conn **out) {
  *out = NULL;
  if (!cfg || cfg->server != !!server) return MOL_EINVAL;
  if (!server && cfg->verify && (!hostname || !*hostname)) {
    /* mbedTLS 2.28 silently skips the name check without a hostname: refuse instead. */
    mol_loge("tls", "a verifying TLS client needs the server's host name");
    return MOL_EINVAL;
  }
  mol_tls_conn *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  mbedtls_ssl_init(&c->ssl);
  c->server = !!server;
  c->host = strdup(hostname && !server ? hostname : "client");
  int ret = c->host ? mbedtls_ssl_setup(&c->ssl, &cfg->conf) : MBEDTLS_ERR_SSL_ALLOC_FAILED;
  if (ret == 0 && !server && hostname) ret = mbedtls_ssl_set_hostname(&c->ssl, hostname);
  if (ret) {
    char msg[128];
    mbedtls_strerror(ret, msg, sizeof(msg));
    mol_loge("tls", "cannot start a session: %s", msg);
    mol_http__tls_conn_free(c);
    return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? MOL_ENOMEM : MOL_ETLS;
  }
  mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
  *out = c;
  return 0;
}

void mol_http__tls_conn_free(mol_tls_conn *c) {
  if (!c) return;
  mbedtls_ssl_free(&c->ssl);
  mol_buf_free(&c->in);
  mol_buf_free(&c->out);
  free(c->host);
  free(c);
}

mol_tls_state mol_http__tls_conn_state(const mol_tls_conn *c) { return c->state; }

int mol_http__tls_conn_feed(mol_tls_conn *c, const char *data, size_t len) {
  if (c->in_off > 0) {
    mol_buf_consume(&c->in, c->in_off);
    c->in_off = 0;
  }
  return mol_buf_append(&c->in, data, len);
}

void mol_http__tls_conn_feed_end(mol_tls_conn *c, int code) {
  if (!c->end_code) c->end_code = code ? code : MOL_EOF;
}

int mol_http__tls_conn_ended(const mol_tls_conn *c) { return c->end_code != 0; }

int mol_http__tls_conn_pending(const mol_tls_conn *c) {
  return c->in.len > c->in_off || c->end_code != 0 ||
         mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl);
}

static void flatten(char *s) {
  for (; *s; s++)
    if (*s == '\n') *s = ' ';
}

static int handshake_error(mol_tls_conn *c, int ret) {
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    char info[512];
    mbedtls_x509_crt_verify_info(info, sizeof(info), "", mbedtls_ssl_get_verify_result(&c->ssl));
    flatten(info);
    mol_logw("tls", "certificate of %s rejected: %s", c->host, info);
    return MOL_ETLSVERIFY;
  }
  char msg[128];
  mbedtls_strerror(ret, msg, sizeof(msg));
  /* Debug only: port scanners and plain-text clients make these routine on a server. */
  mol_logd("tls", "handshake with %s failed: %s (-0x%04x)", c->server ? "a client" : c->host,
           msg, (unsigned)-ret);
  return MOL_ETLS;
}

int mol_http__tls_conn_handshake(mol_tls_conn *c) {
  if (c->state != MOL_TLS_HANDSHAKE) return c->state == MOL_TLS_OPEN ? 0 : MOL_ETLS;
  int ret = mbedtls_ssl_handshake(&c->ssl);
  if (ret == 0) {
    c->state = MOL_TLS_OPEN;
    return 0;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return MOL_EAGAIN;
  c->state = MOL_TLS_FAILED;
  return handshake_error(c, ret);
}

ssize_t mol_http__tls_conn_read(mol_tls_conn *c, char *buf, size_t cap) {
  if (c->state != MOL_TLS_OPEN) return MOL_ETLS;
  int ret = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, cap);
  if (ret > 0) return ret;
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return MOL_EAGAIN;
  if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return MOL_EOF;
  /* 0 is either an empty record (more may follow) or the transport's end, seen through
   * bio_recv; only the latter ends the stream, with the code the transport gave. */
  if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF)
    return c->end_code && c->in.len == c->in_off ? c->end_code : 0;
  c->state = MOL_TLS_FAILED;
  char msg[128];
  mbedtls_strerror(ret, msg, sizeof(msg));
  mol_logd("tls", "record from %s rejected: %s", c->server ? "a client" : c->host, msg);
  return MOL_ETLS;
}

int mol_http__tls_conn_write(mol_tls_conn *c, const char *data, size_t len) {
  if (c->state != MOL_TLS_OPEN || c->notified) return MOL_ETLS;
  if (len == 0) return 0;
  size_t records = len / RECORD_PLAINTEXT + 1;
  if (mol_buf_reserve(&c->out, len + records * RECORD_OVERHEAD)) return MOL_ENOMEM;
  size_t off = 0;
  while (off < len) {
    /* mbedTLS encrypts at most one record per call and returns how much it took. */
    int ret = mbedtls_ssl_write(&c->ssl, (const unsigned char *)data + off, len - off);
    if (ret <= 0) {
      c->state = MOL_TLS_FAILED;
      mol_buf_free(&c->out);
      return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? MOL_ENOMEM : MOL_ETLS;
    }
    off += (size_t)ret;
  }
  return 0;
}

void mol_http__tls_conn_close_notify(mol_tls_conn *c) {
  if (c->state != MOL_TLS_OPEN || c->notified) return;
  c->notified = 1;
  mbedtls_ssl_close_notify(&c->ssl);
}

char *mol_http__tls_conn_take_output(mol_tls_conn *c, size_t *len) {
  *len = c->out.len;
  if (c->out.len == 0) return NULL;
  return mol_buf_steal(&c->out);
}
