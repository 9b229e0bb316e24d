/* http.c - definitions shared by the HTTP server and client. */
#include "http/http.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "molecule.h"

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

int mol_http_headers_add(mol_http_headers *h, const char *name, size_t nlen, const char *value,
                         size_t vlen) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    mol_http_header *p = realloc(h->items, cap * sizeof(*p));
    if (!p) return MOL_ENOMEM;
    h->items = p;
    h->cap = cap;
  }
  char *n = dup_n(name, nlen), *v = dup_n(value, vlen);
  if (!n || !v) {
    free(n);
    free(v);
    return MOL_ENOMEM;
  }
  h->items[h->len].name = n;
  h->items[h->len].value = v;
  h->len++;
  return 0;
}

static int headers_reserve(mol_http_headers *h, size_t n) {
  if (n <= h->cap) return 0;
  mol_http_header *p = realloc(h->items, n * sizeof(*p));
  if (!p) return MOL_ENOMEM;
  h->items = p;
  h->cap = n;
  return 0;
}

int mol_http_headers_set_packed(mol_http_headers *h, const char *pairs, size_t len, size_t n) {
  mol_http_headers_clear(h);
  if (n == 0) return 0;
  if (headers_reserve(h, n) || !(h->block = malloc(len))) return MOL_ENOMEM;
  memcpy(h->block, pairs, len);
  h->block_len = len;
  const char *s = h->block, *end = h->block + len;
  for (size_t i = 0; i < n; i++) {
    h->items[i].name = s;
    s += strnlen(s, (size_t)(end - s)) + 1;
    h->items[i].value = s;
    s += strnlen(s, (size_t)(end - s)) + 1;
  }
  h->len = n;
  return 0;
}

static int in_block(const mol_http_headers *h, const char *s) {
  return h->block && s >= h->block && s < h->block + h->block_len;
}

const char *mol_http_header_find(const mol_http_header *h, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(h[i].name, name) == 0) return h[i].value;
  return NULL;
}

const char *mol_http_headers_get(const mol_http_headers *h, const char *name) {
  return mol_http_header_find(h->items, h->len, name);
}

void mol_http_headers_clear(mol_http_headers *h) {
  for (size_t i = 0; i < h->len; i++) {
    if (!in_block(h, h->items[i].name)) free((char *)h->items[i].name);
    if (!in_block(h, h->items[i].value)) free((char *)h->items[i].value);
  }
  h->len = 0;
  free(h->block);
  h->block = NULL;
  h->block_len = 0;
}

void mol_http_headers_free(mol_http_headers *h) {
  mol_http_headers_clear(h);
  free(h->items);
  h->items = NULL;
  h->cap = 0;
}

const char *mol_http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

int mol_http_valid_name(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c))) return 0;
  }
  return 1;
}

int mol_http_valid_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\n' || c == '\0') return 0;
  }
  return 1;
}

/* RFC 9112 §3.2: Host = uri-host [":" port] (RFC 3986 §3.2.2). A reg-name or IPv4 address is
 * made of unreserved, sub-delims and '%'; an IP literal sits in brackets and adds ':'. Empty
 * is valid (a target without authority). Refusing anything else keeps bytes no host can
 * contain (spaces, '/', '@', a second port) away from whatever routes on the name. */
static int is_host_char(unsigned char ch, int in_brackets) {
  static const uint64_t reg[2] = {0x2bff7ff200000000ull, 0x47fffffe87fffffeull};
  if (ch >= 128) return 0;
  return (reg[ch >> 6] >> (ch & 63) & 1) || (in_brackets && ch == ':');
}

int mol_http_valid_host(const char *s, size_t n) {
  size_t i = 0;
  if (n && s[0] == '[') {
    for (i = 1; i < n && s[i] != ']'; i++)
      if (!is_host_char((unsigned char)s[i], 1)) return 0;
    if (i++ == n) return 0; /* no closing bracket */
  } else {
    for (; i < n && s[i] != ':'; i++)
      if (!is_host_char((unsigned char)s[i], 0)) return 0;
  }
  if (i == n) return 1;
  if (s[i] != ':') return 0;
  for (i++; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}
