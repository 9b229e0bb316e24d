/* http.h - definitions shared by the HTTP server and client. */
#ifndef MOL_HTTP_HTTP_H
#define MOL_HTTP_HTTP_H

#include <stddef.h>

typedef struct {
  const char *name;
  const char *value;
} mol_http_header;

/* Owned list of headers (names and values copied), in arrival order. */
typedef struct {
  mol_http_header *items;
  size_t len;
  size_t cap;
  char *block;      /* set_packed's strings, one allocation; NULL when unused */
  size_t block_len;
} mol_http_headers;

/* Appends a copy of name/value (lengths given; neither needs a NUL). Returns 0 or MOL_ENOMEM. */
int mol_http_headers_add(mol_http_headers *h, const char *name, size_t nlen, const char *value,
                         size_t vlen);
/* First value of header `name` (case-insensitive), or NULL. */
/* Replaces the list with n fields packed as "name\0value\0" pairs in `len` bytes (copied into
 * one block): a parsed head costs one allocation for its strings, not two per field. The
 * bytes must hold exactly n pairs. Returns 0 or MOL_ENOMEM (the list is then empty). */
int mol_http_headers_set_packed(mol_http_headers *h, const char *pairs, size_t len, size_t n);
const char *mol_http_headers_get(const mol_http_headers *h, const char *name);
void mol_http_headers_clear(mol_http_headers *h); /* frees the strings, keeps the array */
void mol_http_headers_free(mol_http_headers *h);

/* First value of `name` in a plain array, or NULL. */
const char *mol_http_header_find(const mol_http_header *h, size_t n, const char *name);

/* Reason phrase for a status code ("OK", "Not Found", ...); "Unknown" when not known. */
const char *mol_http_reason(int status);

/* True when the bytes are a valid header field name token (RFC 9110 §5.1) / a field value
 * without CR, LF or NUL. Used to refuse header injection from callers. */
int mol_http_valid_name(const char *s, size_t n);
int mol_http_valid_value(const char *s, size_t n);
/* True when the bytes are a valid Host field value: host[:port] with a name or IPv4
 * address, or an IPv6 literal in brackets; empty is valid (RFC 9112 §3.2, RFC 3986 §3.2.2). */
int mol_http_valid_host(const char *s, size_t n);

#endif
