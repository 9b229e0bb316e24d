/* tls_conn.h - one TLS session as an I/O-free engine (the mbedTLS side of a mol_stream).
 *
 * The engine never touches a socket: the stream feeds it the ciphertext it read and sends the
 * ciphertext it takes out, so mbedTLS types stay inside src/http/tls* (test/check_layers.py).
 * After every call that can produce records (handshake, read, write, close_notify) the caller
 * takes the output and writes it to the socket in that order.
 */
#ifndef MOL_HTTP_TLS_CONN_H
#define MOL_HTTP_TLS_CONN_H

#include <stddef.h>
#include <sys/types.h>

#include "http/tls.h"

typedef enum {
  MOL_TLS_HANDSHAKE = 0, /* handshake in progress */
  MOL_TLS_OPEN,          /* application data flows */
  MOL_TLS_FAILED         /* a fatal error happened; only take the output (an alert) */
} mol_tls_state;

/* Creates a session for one side of a connection. A client config needs `hostname` (sent as
 * SNI and checked against the certificate) unless the config skips verification; a server
 * config ignores it. Returns 0, MOL_EINVAL (wrong side or missing hostname), MOL_ENOMEM or
 * MOL_ETLS. */
int mol_http__tls_conn_new(mol_tls_config *cfg, int server, const char *hostname,
                           mol_tls_conn **out);
void mol_http__tls_conn_free(mol_tls_conn *c);

mol_tls_state mol_http__tls_conn_state(const mol_tls_conn *c);

/* Appends ciphertext read from the socket. Returns 0 or MOL_ENOMEM. */
int mol_http__tls_conn_feed(mol_tls_conn *c, const char *data, size_t len);
/* Records that the socket will deliver no more bytes; `code` (MOL_EOF or a read error) is what
 * mol_http__tls_conn_read returns once the buffered records are used up. */
void mol_http__tls_conn_feed_end(mol_tls_conn *c, int code);

/* 1 once feed_end has been called. */
int mol_http__tls_conn_ended(const mol_tls_conn *c);

/* Advances the handshake with the bytes fed so far. Returns 0 once it is complete, MOL_EAGAIN
 * while it needs more input, MOL_ETLSVERIFY if the peer's certificate or name was rejected, or
 * MOL_ETLS for any other failure (the transport ending early included). */
int mol_http__tls_conn_handshake(mol_tls_conn *c);

/* Decrypts the next plaintext into buf. Returns the byte count (> 0), 0 when a record carried
 * no application data (call again), MOL_EAGAIN when more ciphertext is needed, MOL_EOF after
 * the peer's close_notify, the code given to feed_end, or MOL_ETLS. */
ssize_t mol_http__tls_conn_read(mol_tls_conn *c, char *buf, size_t cap);

/* 1 if bytes already fed (or the end of the transport) are waiting to be read. */
int mol_http__tls_conn_pending(const mol_tls_conn *c);

/* Encrypts all of data into records (several if longer than one record). Returns 0 or
 * MOL_ETLS / MOL_ENOMEM; on failure the session is FAILED and no partial records remain. */
int mol_http__tls_conn_write(mol_tls_conn *c, const char *data, size_t len);

/* Queues a close_notify alert (once; later calls do nothing). */
void mol_http__tls_conn_close_notify(mol_tls_conn *c);

/* Hands over the ciphertext produced so far (malloc'd, the caller frees it) and its length;
 * NULL with *len == 0 when there is none. */
char *mol_http__tls_conn_take_output(mol_tls_conn *c, size_t *len);

#endif
