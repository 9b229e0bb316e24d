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

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_UV_H */
