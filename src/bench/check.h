/* check.h - every reply the load generator gets is validated here; a fast wrong answer is an
 * error, not a success. Pure: no I/O.
 *
 * A reply must be a JSON-RPC 2.0 response (HTTP+JSON: the bare result) that echoes the
 * request's id and whose result has the shape of its kind (the A2A codec's own checks: a
 * Message with role and parts, a Task with id, contextId and a known state, ...). The caller
 * then says which kinds it accepts. Errors are sorted into kinds, each counted apart:
 * HTTP status, JSON-RPC code, timeout, invalid reply, transport, a task that ended unsuccessful,
 * and the generator's own overload. */
#ifndef MOL_BENCH_CHECK_H
#define MOL_BENCH_CHECK_H

#include <stddef.h>

#include "a2a/codec.h"
#include "bench/wire.h"

typedef enum {
  MOL_BENCH_OK = 0,
  MOL_BENCH_E_HTTP,      /* a non-2xx status (code = the status) */
  MOL_BENCH_E_RPC,       /* a JSON-RPC error (code = its code) */
  MOL_BENCH_E_TIMEOUT,   /* no complete answer within --timeout */
  MOL_BENCH_E_INVALID,   /* an answer, but not the one the protocol requires */
  MOL_BENCH_E_TRANSPORT, /* connect failed, connection reset, ... (code = the MOL_E* error) */
  MOL_BENCH_E_TASK,      /* the task ended failed, canceled or rejected (code = its state) */
  MOL_BENCH_E_OVERLOAD   /* open loop: the generator's in-flight bound was reached; not sent */
} mol_bench_outcome;

/* Which result kinds a request accepts (bits of 1 << mol_a2a_result_kind). */
#define MOL_BENCH_ACCEPT(kind) (1u << (kind))

typedef struct {
  mol_bench_outcome outcome;
  int code;
  char detail[160];              /* why, in words, when outcome != OK */
  mol_a2a_result_kind kind;      /* of the result */
  mol_a2a_task_state state;      /* Task, status-update: its state; else UNKNOWN */
  int final;                     /* status-update: final; a Message or terminal Task: 1 */
  char task_id[128];             /* "" when the result names none */
  char context_id[128];
} mol_bench_reply;

/* Checks one reply body (or one SSE event's data): binding b, the request's JSON-RPC id
 * (ignored for HTTP+JSON), the result kinds accepted. Fills *out; returns out->outcome. */
mol_bench_outcome mol_bench_check_body(const char *body, size_t len, mol_bench_binding b,
                                       const char *rpc_id, unsigned accept, mol_bench_reply *out);

/* Sorts an HTTP answer: a 2xx is checked as above; any other status is MOL_BENCH_E_HTTP unless
 * its body is a JSON-RPC error for this request (then MOL_BENCH_E_RPC). */
mol_bench_outcome mol_bench_check_http(int status, const char *body, size_t len,
                                       mol_bench_binding b, const char *rpc_id, unsigned accept,
                                       mol_bench_reply *out);

/* A transport error (a MOL_E* code from the HTTP client): timeout or transport. */
mol_bench_outcome mol_bench_check_transport(int err, mol_bench_reply *out);

/* Sets an error outcome with a printf-style detail; returns the outcome. */
mol_bench_outcome mol_bench_reply_fail(mol_bench_reply *out, mol_bench_outcome o, int code,
                                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The key an error is counted under: "HTTP 503", "JSON-RPC -32603", "timeout", "invalid reply",
 * "transport: connection refused", "task failed", "overload". */
void mol_bench_error_key(const mol_bench_reply *r, char *out, size_t n);

/* Internal (check_fast.c): accepts a v0.3 reply that is exactly a Message with text parts and
 * the id rpc_id, without a DOM; 0 when it declines (then the full check decides). */
int mol_bench__check_fast(const char *body, size_t len, const char *rpc_id, mol_bench_reply *out);

#endif
