/* stdio_transport.h - MCP over stdio: newline-delimited JSON-RPC read from one file descriptor and
 * answered on another, on the loop (the transport `molecule mcp` serves).
 *
 * Each line is one message (a trailing CR is dropped, blank lines are skipped); each answer is
 * one line. Requests run concurrently and are answered as they end. Nothing but MCP messages
 * is written to the output: logs go to stderr. Bounded: a line longer than max_line is
 * answered with an Invalid Request error (id null) and skipped up to its newline; while more
 * than max_out_queue bytes of answers wait for a slow reader, input is not read.
 * End of input drains: the calls in flight run to their end, their answers are written, then
 * on_end fires with 0. mol_mcp_stdio_stop() (a signal) cancels the calls in flight instead (each
 * still answered, isError), flushes and ends the same way. A write error (the client went
 * away) cancels what runs and ends with that error. Descriptors may be pipes, sockets,
 * terminals or regular files. All calls on the loop thread. */
#ifndef MOL_MCP_STDIO_TRANSPORT_H
#define MOL_MCP_STDIO_TRANSPORT_H

#include <stddef.h>
#include <uv.h>

#include "mcp/session.h"

typedef struct mol_mcp_stdio mol_mcp_stdio;

typedef struct {
  mol_mcp_session_opts session; /* .tools required */
  int in_fd, out_fd;           /* usually 0 and 1 */
  size_t max_line;             /* 0 -> 4 MiB */
  size_t max_out_queue;        /* 0 -> 16 MiB */
} mol_mcp_stdio_opts;

/* on_end(err): 0 after the input ended (or a stop) and every answer was written; else the
 * read or write error. Fires exactly once, never inside a call of this API; the binding is
 * freed after it returns. */
typedef void (*mol_mcp_stdio_end_cb)(int err, void *arg);

/* Starts serving. Returns 0, MOL_EINVAL (no tools, a descriptor that cannot be used) or
 * MOL_ENOMEM; on an error on_end never fires. */
int mol_mcp_stdio_start(uv_loop_t *loop, const mol_mcp_stdio_opts *o, mol_mcp_stdio_end_cb on_end,
                        void *arg, mol_mcp_stdio **out);

/* Stops reading and cancels the calls in flight; on_end follows once their answers are
 * written. Idempotent. */
void mol_mcp_stdio_stop(mol_mcp_stdio *io);

#endif
