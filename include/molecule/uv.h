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

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_UV_H */
