/* molecule.h - public API of libmolecule.
 *
 * Conventions (the same as libuv's):
 *  - Functions that can fail return 0 or a negative error code (MOL_E*); mol_strerror() names it.
 *  - Handles are opaque; option structs are zero-initialised by the caller and then filled in,
 *    so a zero field always means "the documented default".
 *  - Every callback fires exactly once: on success, error, timeout, cancellation or shutdown.
 *  - Strings passed in are copied; the caller keeps ownership of what it passes.
 *  - All calls happen on the loop thread unless a function says it is thread-safe.
 *
 * This header includes no third-party header. To run on your own libuv loop, include
 * <molecule/uv.h> as well.
 */
#ifndef MOLECULE_H
#define MOLECULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define MOL_EXTERN __attribute__((visibility("default")))
#else
#define MOL_EXTERN
#endif

/* ---- Errors ----------------------------------------------------------------------------- */

/* System errors are negated errno values, as in libuv (and libuv's own codes pass through
 * unchanged, so a UV_E* value is also a valid molecule error). Protocol-level errors live in
 * the -30000 range. */
#define MOL_OK            0
#define MOL_ENOENT        (-2)
#define MOL_EIO           (-5)
#define MOL_EAGAIN        (-11)
#define MOL_ENOMEM        (-12)
#define MOL_EBUSY         (-16)
#define MOL_EEXIST        (-17)
#define MOL_EINVAL        (-22)
#define MOL_EPIPE         (-32)
#define MOL_ERANGE        (-34)
#define MOL_EPROTO        (-71)
#define MOL_EMSGSIZE      (-90)
#define MOL_ENOTSUP       (-95)
#define MOL_EADDRINUSE    (-98)
#define MOL_ECONNRESET    (-104)
#define MOL_ESHUTDOWN     (-108)
#define MOL_ETIMEDOUT     (-110)
#define MOL_ECONNREFUSED  (-111)
#define MOL_ECANCELED     (-125)
#define MOL_EOF           (-4095) /* same value as UV_EOF */

#define MOL_EHTTP         (-30001) /* the peer answered with an HTTP error status */
#define MOL_ETLS          (-30002) /* TLS handshake or record failure */
#define MOL_ETLSVERIFY    (-30003) /* peer certificate not trusted or wrong hostname */
#define MOL_EJSON         (-30004) /* malformed JSON */
#define MOL_ERPC          (-30005) /* the peer answered with a JSON-RPC error */
#define MOL_ETOOBIG       (-30006) /* a configured size bound was exceeded */
#define MOL_ELIMIT        (-30007) /* a configured count bound was exceeded */
#define MOL_EURL          (-30008) /* malformed or unsupported URL */
#define MOL_EBADRESP      (-30009) /* malformed HTTP response */

/* Returns a static, human-readable message for an error code (never NULL). */
MOL_EXTERN const char *mol_strerror(int err);

/* Returns the symbolic name of an error code, e.g. "MOL_ETIMEDOUT" (never NULL). */
MOL_EXTERN const char *mol_err_name(int err);

/* ---- Version ---------------------------------------------------------------------------- */

/* Returns the library version as "MAJOR.MINOR.PATCH". */
MOL_EXTERN const char *mol_version(void);

/* ---- Logging ---------------------------------------------------------------------------- */

typedef enum {
  MOL_LOG_TRACE = 0,
  MOL_LOG_DEBUG,
  MOL_LOG_INFO,
  MOL_LOG_WARN,
  MOL_LOG_ERROR,
  MOL_LOG_OFF
} mol_log_level;

typedef enum {
  MOL_LOG_PLAIN = 0, /* "2026-01-01T00:00:00.000Z WARN  http: message" */
  MOL_LOG_JSON       /* {"ts":"...","level":"warn","scope":"http","msg":"..."} */
} mol_log_format;

/* Receives every emitted line, already formatted and redacted, without a trailing newline. */
typedef void (*mol_log_sink)(mol_log_level level, const char *line, void *arg);

/* Sets the minimum level that is emitted (default MOL_LOG_INFO). */
MOL_EXTERN void mol_log_set_level(mol_log_level level);
/* Sets the line format (default MOL_LOG_PLAIN). */
MOL_EXTERN void mol_log_set_format(mol_log_format format);
/* Sends lines to `sink` instead of stderr; NULL restores stderr. */
MOL_EXTERN void mol_log_set_sink(mol_log_sink sink, void *arg);
/* Parses "trace", "debug", "info", "warn", "error" or "off". Returns 0 or MOL_EINVAL. */
MOL_EXTERN int mol_log_level_parse(const char *name, mol_log_level *out);

/* Registers a secret value (token, key) that must never appear in a log line: every occurrence
 * is replaced by "[REDACTED]". Values shorter than 6 bytes are ignored (too likely to collide
 * with ordinary text). Bearer tokens and well-known secret keys ("token", "secret", "password",
 * "api_key", "authorization", ...) are redacted without registration. Returns 0, MOL_EINVAL or
 * MOL_ELIMIT (at most 64 registered values). */
MOL_EXTERN int mol_log_add_secret(const char *value);
/* Forgets all registered secret values. */
MOL_EXTERN void mol_log_clear_secrets(void);

/* ---- Event loop ------------------------------------------------------------------------- */

/* A mol_loop is the one event loop everything of molecule runs on. Create your own with
 * mol_loop_new(), wrap a libuv loop you already run with mol_loop_from_uv() (molecule/uv.h),
 * or drive it from any other event loop with the backend fd + timeout pair: watch
 * mol_loop_backend_fd() for readability, wake up after mol_loop_backend_timeout() ms, and
 * call mol_loop_run(loop, MOL_RUN_NOWAIT) each time (the same contract as uv_backend_fd). */
typedef struct mol_loop mol_loop;

typedef enum {
  MOL_RUN_DEFAULT = 0, /* until nothing is left to do or mol_loop_stop() */
  MOL_RUN_ONCE,        /* one iteration, blocking for I/O if needed */
  MOL_RUN_NOWAIT       /* one iteration, never blocking */
} mol_run_mode;

/* Creates a loop that molecule owns. Returns 0 or a negative error. */
MOL_EXTERN int mol_loop_new(mol_loop **out);
/* Runs the loop. Returns non-zero if there is still work (uv_run's contract). */
MOL_EXTERN int mol_loop_run(mol_loop *loop, mol_run_mode mode);
/* Makes mol_loop_run(MOL_RUN_DEFAULT) return soon. Loop thread only. */
MOL_EXTERN void mol_loop_stop(mol_loop *loop);
/* A file descriptor that becomes readable when the loop has work (Linux: an epoll fd). */
MOL_EXTERN int mol_loop_backend_fd(const mol_loop *loop);
/* Milliseconds until the loop's next timer is due; -1 when none, 0 when work is pending. */
MOL_EXTERN int mol_loop_backend_timeout(const mol_loop *loop);

/* Receives work posted with mol_loop_post(). status is 0 when it runs normally, or
 * MOL_ESHUTDOWN when the loop closed first; it is called exactly once either way. */
typedef void (*mol_post_fn)(void *arg, int status);

/* THREAD-SAFE: the one call that may be made from any thread. Queues fn(arg, 0) to run on the
 * loop thread, in posting order. Returns 0, MOL_ENOMEM, or MOL_ESHUTDOWN once the loop is
 * closing (fn is then not called). */
MOL_EXTERN int mol_loop_post(mol_loop *loop, mol_post_fn fn, void *arg);

/* Closes the loop: posted work not yet run is called with MOL_ESHUTDOWN, molecule's own
 * handles are closed, and (for a loop from mol_loop_new) the libuv loop is run until they are
 * gone and freed. Everything created on the loop must have been closed first; returns
 * MOL_EBUSY otherwise (the loop stays usable). */
MOL_EXTERN int mol_loop_close(mol_loop *loop);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_H */
