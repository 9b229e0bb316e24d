/* buf.c - growable byte buffer. */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"

int mol_buf_reserve(mol_buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return MOL_ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  /* A first reservation is taken at its word (a caller that knows the size asked for it);
   * growth after that doubles. */
  size_t cap = b->cap ? b->cap : (need > 64 ? need : 64);
  while (cap < need) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return MOL_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int mol_buf_append_grow(mol_buf *b, const void *data, size_t len) {
  int rc = mol_buf_reserve(b, len);
  if (rc) return rc;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int mol_buf_append_str(mol_buf *b, const char *s) {
  return mol_buf_append(b, s, strlen(s));
}

int mol_buf_vprintf(mol_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return MOL_EINVAL;
  int rc = mol_buf_reserve(b, (size_t)n);
  if (rc) return rc;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int mol_buf_printf(mol_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = mol_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

void mol_buf_consume(mol_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data) b->data[b->len] = '\0';
}

void mol_buf_reset(mol_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void mol_buf_free(mol_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *mol_buf_steal(mol_buf *b) {
  if (!b->data && mol_buf_reserve(b, 0)) return NULL;
  if (!b->data) return NULL;
  b->data[b->len] = '\0';
  char *p = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
