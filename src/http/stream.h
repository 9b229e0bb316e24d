/* stream.h - a connected byte stream over TCP, in plain text or TLS.
 *
 * The HTTP server and client speak only to this interface; whether bytes are encrypted is
 * decided when the stream is created and is invisible above it. A mol_stream is embedded in
 * its owner's struct (libuv style): the owner allocates it, and may free it only after the
 * close callback has fired.
 *
 * Reads: once started, on_read receives plaintext chunks (valid only during the call), then
 * exactly one terminal call with nread < 0 (MOL_EOF for an orderly end, another code for an
 * error), after which no more reads are delivered.
 * Writes: queued in order; each completion callback (optional) fires exactly once, with a
 * negative status if the stream failed or closed first. mol_stream_queued() reports the bytes
 * accepted but not yet handed to the kernel, so producers can respect back-pressure; on_drain
 * fires when that count falls back to zero.
 *
 * SIGPIPE: the first stream created sets SIGPIPE to ignored if its disposition is still the
 * default, so a write to a vanished peer fails with MOL_EPIPE instead of ending the process.
 */
#ifndef MOL_HTTP_STREAM_H
#define MOL_HTTP_STREAM_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

typedef struct mol_stream mol_stream;
typedef struct mol_tls_config mol_tls_config; /* see tls.h */
typedef struct mol_tls_conn mol_tls_conn;

typedef void (*mol_stream_read_cb)(mol_stream *s, ssize_t nread, const char *data);
typedef void (*mol_stream_write_cb)(mol_stream *s, int status, void *arg);
typedef void (*mol_stream_connect_cb)(mol_stream *s, int status);
typedef void (*mol_stream_drain_cb)(mol_stream *s);
typedef void (*mol_stream_close_cb)(mol_stream *s);

struct mol_stream {
  uv_tcp_t tcp;                 /* tcp.data points back at this stream */
  uv_loop_t *loop;
  void *data;                   /* the owner's */
  mol_stream_read_cb on_read;
  mol_stream_drain_cb on_drain; /* optional */
  mol_stream_connect_cb on_connect;
  mol_stream_close_cb on_close;
  mol_tls_conn *tls;            /* NULL for plain TCP */
  uv_connect_t connect_req;
  size_t queued;                /* bytes written but not yet completed */
  unsigned reading : 1;         /* the owner wants on_read calls */
  unsigned read_done : 1;       /* the terminal on_read has been delivered */
  unsigned connected : 1;       /* TCP (and TLS handshake, if any) complete */
  unsigned closing : 1;
  /* Private to stream.c. */
  unsigned connect_pending : 1; /* mol_stream_connect returned 0, on_connect has not fired */
  unsigned tls_reading : 1;     /* TLS: the socket is being read (handshake or owner) */
  unsigned tls_shutdown : 1;    /* TLS: mol_stream_shutdown called (close_notify sent or due) */
  uv_idle_t tls_resume;         /* TLS: delivers records received before reading resumed */
  struct mol_stream_early *tls_early; /* TLS: writes accepted before the server handshake ended */
};

/* Accepts a pending connection from `server` into s. With tls != NULL the server side of a
 * TLS handshake runs as soon as reading starts; on_read sees only decrypted bytes and a
 * handshake failure is reported as a terminal on_read with MOL_ETLS. Returns 0 or an error (on
 * error s is left closed or closing: wait for on_close if it was set). */
int mol_stream_accept(uv_loop_t *loop, uv_stream_t *server, mol_stream *s,
                      mol_tls_config *tls, mol_stream_close_cb on_close);

/* Connects s to addr. With tls != NULL, runs a client handshake verifying `hostname` (which is
 * also sent as SNI) according to the config. If this returns 0, on_connect fires exactly once:
 * 0 when the stream is ready for I/O, or a negative error. Whatever the outcome (a non-zero
 * return included), the owner ends with mol_stream_close() and frees s only in s->on_close,
 * which it sets after this call. */
int mol_stream_connect(uv_loop_t *loop, mol_stream *s, const struct sockaddr *addr,
                       mol_tls_config *tls, const char *hostname, mol_stream_connect_cb on_connect);

/* Turns a connected plain client stream into a TLS one: the client handshake (verifying
 * `hostname` as mol_stream_connect does) runs over the same socket, e.g. inside a proxy's
 * CONNECT tunnel. Reading stops first; nothing may be written until on_connect fires, exactly
 * once and never inside this call, with 0 or an error. Returns 0, or MOL_EINVAL (not a
 * connected plain stream), MOL_ENOMEM, MOL_ETLS (then on_connect does not fire). */
int mol_stream_start_tls(mol_stream *s, mol_tls_config *tls, const char *hostname,
                         mol_stream_connect_cb on_connect);

/* Starts or stops delivering on_read. Stopping applies back-pressure to the peer. */
int mol_stream_read_start(mol_stream *s, mol_stream_read_cb on_read);
void mol_stream_read_stop(mol_stream *s);

/* Queues len bytes, copied. cb may be NULL. Returns 0 or MOL_EPIPE/MOL_ESHUTDOWN if the stream
 * can no longer write (cb is then not called). */
int mol_stream_write(mol_stream *s, const void *data, size_t len, mol_stream_write_cb cb,
                     void *arg);
/* As mol_stream_write, but takes ownership of a malloc'd buffer (freed by the stream in all
 * cases, including failure). Avoids a copy on hot paths. */
int mol_stream_write_owned(mol_stream *s, char *data, size_t len, mol_stream_write_cb cb,
                           void *arg);

/* Writes what the socket takes right now, without queuing and without a callback: returns
 * the number of bytes written (possibly 0). Always 0 on TLS streams, while earlier writes are
 * queued (order), or once closing. Lets a server answer in place: through a queued write
 * libuv re-arms its watcher after each completion, an extra syscall per response. */
size_t mol_stream_try_write(mol_stream *s, const void *data, size_t len);

/* Bytes accepted by mol_stream_write* and not yet written to the socket. */
size_t mol_stream_queued(const mol_stream *s);

/* Sends a FIN (and TLS close_notify) after queued writes, keeps reading. Optional. */
int mol_stream_shutdown(mol_stream *s);

/* Closes the stream; pending writes fail with MOL_ECANCELED; on_close fires exactly once,
 * after which the owner may free the memory. Idempotent. `abort` resets the connection (RST)
 * instead of a graceful FIN. */
void mol_stream_close(mol_stream *s, int abort);

/* The peer or local address as "ip:port" ("[ip6]:port" for IPv6). Returns 0 or an error. */
int mol_stream_peer_name(mol_stream *s, char *out, size_t outlen);

#endif
