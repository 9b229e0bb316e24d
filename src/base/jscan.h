/* jscan.h - zero-allocation pull scanner over an in-memory JSON text. A fast path for reading a
 * few fields of a small body without building a jansson DOM: it is never more lenient than
 * mol_json_parse (jansson's json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL), so whenever it
 * returns MOL_JT_FAIL the caller falls back to that parser, which then gives the precise error.
 * A text read through to MOL_JT_END is one jansson accepts, with the values the tokens describe.
 * It may be stricter than jansson: nesting deeper than 64, reals in [1e308, 1e309) with more
 * than 40 significant digits, and a NUL byte right after a number or literal (which jansson
 * silently drops) all fail. (The one opt-in exception: mol_jscan_allow_bignum.) */
#ifndef MOL_BASE_JSCAN_H
#define MOL_BASE_JSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Token types returned by mol_jscan_next. */
typedef enum {
  MOL_JT_FAIL = 0,   /* invalid JSON, or beyond what the scanner decides: use a full parser */
  MOL_JT_OBJECT,     /* '{' begins an object */
  MOL_JT_OBJECT_END, /* '}' */
  MOL_JT_ARRAY,      /* '[' */
  MOL_JT_ARRAY_END,  /* ']' */
  MOL_JT_KEY,        /* an object member's key (a string); the member's value is the next token */
  MOL_JT_STRING,
  MOL_JT_INT,        /* an integer that fits a long long (ival) */
  MOL_JT_REAL,       /* a number with a fraction or an exponent (validated, value not computed) */
  MOL_JT_TRUE,
  MOL_JT_FALSE,
  MOL_JT_NULL,
  MOL_JT_END,        /* the text held exactly one value, followed only by JSON whitespace */
  MOL_JT_BIGNUM      /* only after mol_jscan_allow_bignum: a number jansson cannot load (an
                        integer beyond a long long, a real beyond a double); start/len hold it */
} mol_jtype;

/* One token. start/len point into the scanned text, which must outlive the token. */
typedef struct {
  mol_jtype type;
  const char *start; /* strings/keys without their quotes, escapes not decoded; numbers and
                        literals as written */
  size_t len;
  int escaped;       /* STRING/KEY: contains backslash escapes (decode with mol_jscan_string) */
  long long ival;    /* INT: the value */
} mol_jtok;

/* Maximum nesting of objects and arrays; deeper texts fail (jansson allows 2048). */
#define MOL_JSCAN_MAX_DEPTH 64

/* Scanner state. Private: use the functions below. */
typedef struct {
  const char *p;    /* cursor */
  const char *end;  /* one past the last byte */
  uint64_t objects; /* bit d set: the container at depth d + 1 is an object, clear: an array */
  int depth;        /* open containers */
  int state;        /* what the next token may be */
  int bignum;       /* mol_jscan_allow_bignum was called */
  int saw_nul;      /* a STRING read so far decodes to a NUL byte somewhere (\u0000) */
} mol_jscan;

/* Starts scanning len bytes at data (data may be NULL when len is 0). Never fails. */
void mol_jscan_init(mol_jscan *s, const char *data, size_t len);
/* Makes numbers that are valid JSON but beyond what jansson loads come back as MOL_JT_BIGNUM
 * instead of failing, for a caller that wants their text (a JSON-RPC id is echoed as written).
 * A text holding one is then no longer one jansson accepts as it stands. */
void mol_jscan_allow_bignum(mol_jscan *s);
/* 1 when a STRING token read so far decodes to text holding a NUL byte (\u0000): a caller
 * that reads strings as C strings must not take such a text. */
int mol_jscan_saw_nul(const mol_jscan *s);
/* Reads the next token into *tok and returns its type. After MOL_JT_FAIL or MOL_JT_END every
 * further call returns the same. A KEY is only returned once the ':' after it has been seen. */
mol_jtype mol_jscan_next(mol_jscan *s, mol_jtok *tok);
/* Called right after a value token: for OBJECT/ARRAY consumes everything up to and including
 * the matching end (validating it all); for a scalar (or anything else) does nothing. Returns
 * 0, or -1 when the skipped text is invalid or the scanner had already failed (the scanner is
 * then failed). Used to ignore unknown members. */
int mol_jscan_skip(mol_jscan *s);
/* Called right after a KEY: reads its value and skips it whole (mol_jscan_skip). Returns 0,
 * or -1 when there is no value there or it is invalid. Used to ignore unknown members. */
int mol_jscan_skip_value(mol_jscan *s);
/* Decodes a STRING/KEY token from mol_jscan_next into out, which must have room for
 * tok->len + 1 bytes (decoding never grows), and NUL-terminates it. Returns the decoded length,
 * which may count NUL bytes from \u0000 in a STRING (never in a KEY). */
size_t mol_jscan_string(const mol_jtok *tok, char *out);
/* 1 when the decoded STRING/KEY token equals the NUL-terminated lit (which has no NUL inside),
 * else 0. No copy: length + memcmp for unescaped tokens, decoding on the fly otherwise. */
int mol_jscan_eq(const mol_jtok *tok, const char *lit);

#endif
