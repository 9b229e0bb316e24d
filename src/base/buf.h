/* buf.h - growable byte buffer. Always NUL-terminated (the NUL is not counted in len), so a
 * buffer of text can be handed to string functions directly. */
#ifndef MOL_BASE_BUF_H
#define MOL_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef struct {
  char *data;  /* NULL until the first append */
  size_t len;
  size_t cap;
} mol_buf;

#define MOL_BUF_INIT {NULL, 0, 0}

/* Ensures room for `extra` more bytes (plus the NUL). Returns 0 or MOL_ENOMEM. */
int mol_buf_reserve(mol_buf *b, size_t extra);
/* Appends len bytes. Returns 0 or MOL_ENOMEM. Inline when there is room: replies are
 * assembled from many short pieces. */
int mol_buf_append_grow(mol_buf *b, const void *data, size_t len);
static inline int mol_buf_append(mol_buf *b, const void *data, size_t len) {
  if (b->cap - b->len > len) { /* room for the bytes and the NUL */
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
  }
  return mol_buf_append_grow(b, data, len);
}
int mol_buf_append_str(mol_buf *b, const char *s);
int mol_buf_printf(mol_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mol_buf_vprintf(mol_buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (n is clamped to len). */
void mol_buf_consume(mol_buf *b, size_t n);
void mol_buf_reset(mol_buf *b);   /* len = 0, keeps memory */
void mol_buf_free(mol_buf *b);    /* releases memory, back to MOL_BUF_INIT */
/* Hands the bytes to the caller (who frees them) and resets the buffer. Never NULL on success:
 * an empty buffer yields an allocated "". Returns NULL only on allocation failure. */
char *mol_buf_steal(mol_buf *b);

#endif
