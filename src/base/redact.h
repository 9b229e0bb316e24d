/* redact.h - removes secrets from a line of text. Pure: no I/O, no global state.
 *
 * Three rules, applied in one left-to-right pass:
 *  1. every occurrence of a registered secret value becomes "[REDACTED]";
 *  2. "Bearer <credential>" / "Basic <credential>" keep the scheme, lose the credential;
 *  3. the value after a sensitive key ("token", "*_token", "secret", "*_secret", "password",
 *     "api_key", "authorization", "x-molecule-a2a-secret", ...) followed by ':' or '=' is
 *     replaced, whether quoted (JSON, headers) or bare (query strings, env dumps).
 */
#ifndef MOL_BASE_REDACT_H
#define MOL_BASE_REDACT_H

#include <stddef.h>

#include "base/buf.h"

#define MOL_REDACTED "[REDACTED]"

/* Appends the redacted form of in[0..len) to out. `secrets` is an array of n NUL-terminated
 * values (may be NULL when n is 0). Returns 0 or MOL_ENOMEM. */
int mol_redact(const char *in, size_t len, const char *const *secrets, size_t n, mol_buf *out);

/* True when a header or JSON key of this name carries a secret (case-insensitive). */
int mol_redact_is_sensitive_key(const char *key, size_t len);

#endif
