/* molecule/uv.h - run libmolecule on a libuv loop the caller owns.
 *
 * This is the only public header that includes a third-party header (<uv.h>).
 */
#ifndef MOLECULE_UV_H
#define MOLECULE_UV_H

#include <uv.h>
#include "../molecule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Translates a libuv status code into a molecule error code. libuv codes are already negated
 * errno values, so this is the identity on Unix; it exists so embedders need not rely on it. */
static inline int mol_err_from_uv(int uv_status) { return uv_status; }

/* ---- Event loop (see molecule.h) ---- */

/* Wraps a libuv loop the caller owns and runs. The caller keeps running uv_run() as before;
 * mol_loop_close() then releases only molecule's own handles (run the loop once more so their
 * close callbacks complete) and never closes the caller's loop. Returns 0 or MOL_ENOMEM. */
MOL_EXTERN int mol_loop_from_uv(uv_loop_t *uv, mol_loop **out);
/* The libuv loop under a mol_loop, for the constructors below that take a uv_loop_t. */
MOL_EXTERN uv_loop_t *mol_loop_uv(mol_loop *loop);

/* ---- Platform client (see molecule.h) ---- */

/* Creates a platform client on loop. Every client on a loop shares one HTTP connection pool.
 * Reads the token file (if any) synchronously. Returns 0, MOL_EINVAL (missing URL or id, an id
 * unsafe as a path component, no $HOME for the default token dir), MOL_EURL or MOL_ENOMEM. */
MOL_EXTERN int mol_platform_client_new(uv_loop_t *loop, const mol_platform_opts *opts,
                                       mol_platform_client **out);

/* ---- Executor, A2A server and client, agent (see molecule/a2a.h, molecule/agent.h) ---- */

/* The loop a turn runs on, for the timers and requests of an executor. */
MOL_EXTERN uv_loop_t *mol_turn_loop(const mol_turn *t);

/* Creates an A2A server on loop and listens on opts->host:opts->port. Returns 0, MOL_EINVAL
 * (no card name or executor, a bad prefix or card, a wildcard host without card->url),
 * MOL_EADDRINUSE or another listen error, MOL_ENOMEM. On an error the executor is not used
 * (its close is not called) and what was built closes in the background: keep running the
 * loop before closing it. */
MOL_EXTERN int mol_server_new(uv_loop_t *loop, const mol_server_opts *opts, mol_server **out);

/* Creates an A2A client on loop for opts->url, with its own connection pool. Returns 0,
 * MOL_EINVAL (no or bad URL, a bad header) or MOL_ENOMEM. */
MOL_EXTERN int mol_client_new(uv_loop_t *loop, const mol_client_opts *opts, mol_client **out);

/* Creates an agent on loop, listens and (with a platform URL) starts registering. The
 * snapshot, if any, is read before this returns (mol_agent_restored_state). Returns 0, after
 * which on_end (required) fires exactly once, never inside this call; or an error: MOL_EINVAL
 * (bad name, no executor, a public_url not ending in '/', a wildcard listen_host without
 * public_url, a platform URL without a workspace id), a listen error (MOL_EADDRINUSE, ...),
 * MOL_ENOMEM; on_end then never fires, the executor is not used (its close is not called), and
 * what was built closes in the background. */
MOL_EXTERN int mol_agent_new(uv_loop_t *loop, const mol_agent_params *params,
                             mol_agent_end_cb on_end, void *arg, mol_agent **out);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_UV_H */
