/* codec_int.h - private to the codec files. */
#ifndef MOL_A2A_CODEC_INT_H
#define MOL_A2A_CODEC_INT_H

#include "a2a/codec.h"

/* codec_fast.c: reads a v0.3 message/send or message/stream of the common shape into req
 * (initialised by mol_a2a_request_parse) without a DOM. Returns 1 when req is complete, or 0
 * with req untouched: the caller then runs the full parser. */
int mol_a2a__request_parse_fast(const char *body, size_t len, mol_a2a_request *req);
/* codec_parse.c: mol_a2a_request_parse without the fast path (the reference the fast path is
 * tested against). Initialises req itself. */
int mol_a2a__request_parse_full(const char *body, size_t len, const char *version_header,
                                mol_a2a_request *req);

#endif
