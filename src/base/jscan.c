/* jscan.c - zero-allocation pull scanner over an in-memory JSON text. One pass, no recursion:
 * the open containers are a bit stack (1 = object) in a uint64_t. Every check mirrors jansson
 * 2.14's json_loadb (src/load.c, src/utf.c) or is stricter; see jscan.h. */
#include "base/jscan.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes8.h"

/* What the next token may be: a value; a value or ']'; a key or '}'; ',' or an end (or the end
 * of the text at depth 0). */
enum { ST_VALUE, ST_ARR_FIRST, ST_OBJ_FIRST, ST_AFTER, ST_END, ST_FAIL };

/* String byte classes. C_U2..C_U4C are UTF-8 lead bytes; k_utf8 gives their length and the
 * range the second byte must be in (which rules out overlong forms, surrogates and code points
 * above U+10FFFF exactly as jansson's utf8_check_full does). C_BAD: control bytes, stray
 * continuation bytes, C0/C1 and F5..FF. */
enum { C_OK, C_QUOTE, C_ESC, C_BAD, C_U2, C_U3A, C_U3, C_U3D, C_U4A, C_U4, C_U4C };

static const unsigned char k_cls[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 00 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, /* 50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 70: DEL is allowed */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 80: continuation bytes */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 90 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* A0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* B0 */
    3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* C0: C0, C1 are overlong */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* D0 */
    5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 6, 6, /* E0: E0 overlong range, ED surrogates */
    8, 9, 9, 9, 10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* F0: F0 overlong, F4 max, F5.. bad */
};

/* Per lead class (from C_U2): sequence length, allowed range of the second byte. */
static const struct {
  unsigned char n, lo, hi;
} k_utf8[] = {
    {2, 0x80, 0xBF}, {3, 0xA0, 0xBF}, {3, 0x80, 0xBF}, {3, 0x80, 0x9F},
    {4, 0x90, 0xBF}, {4, 0x80, 0xBF}, {4, 0x80, 0x8F},
};

#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10u)
#define IS_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
/* What may follow a number or a literal: JSON whitespace, ',', ']', '}' (or the end). */
#define IS_DELIM(c) (IS_WS(c) || (c) == ',' || (c) == ']' || (c) == '}')

/* Significant digits a real near DBL_MAX may have before the scanner gives up on it. */
#define REAL_DIGITS 40

void mol_jscan_init(mol_jscan *s, const char *data, size_t len) {
  s->p = data;
  s->end = data ? data + len : data;
  s->objects = 0;
  s->depth = 0;
  s->state = ST_VALUE;
  s->bignum = 0;
  s->saw_nul = 0;
}

void mol_jscan_allow_bignum(mol_jscan *s) { s->bignum = 1; }
int mol_jscan_saw_nul(const mol_jscan *s) { return s->saw_nul; }

static int hexval(unsigned char c) {
  if (IS_DIGIT(c)) return c - '0';
  c |= 0x20; /* ASCII lower case */
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* The 4 hex digits at p (p + 4 <= end is checked), or -1. */
static long hex4(const unsigned char *p, const unsigned char *end) {
  if (end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/* The first byte at or after p that is not plain ASCII (a quote, an escape, a control byte,
 * UTF-8), or end. Sixteen or eight bytes per step; a block that holds one names where it is. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end) {
#if MOL_B16
  while (end - p >= 16) {
    unsigned m = mol_b16_stops(p, 1);
    if (m) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (end - p >= 8) {
    uint64_t w = mol_b8_load(p);
#if MOL_B8_FIRST
    uint64_t m = (w & MOL_B8_HIGHS) | mol_b8_special_bits(w);
    if (m) return p + mol_b8_first(m);
#else
    if (!mol_b8_plain_ascii(w)) break;
#endif
    p += 8;
  }
  while (p < end && k_cls[*p] == C_OK) p++;
  return p;
}

/* Scans the string whose opening quote is at s->p; on success fills tok (start, len, escaped)
 * and leaves s->p after the closing quote. A key may not decode to a NUL byte (jansson: "NUL
 * byte in object key not supported"). Returns 0 or -1. */
static int scan_string(mol_jscan *s, mol_jtok *tok, int key) {
  const unsigned char *p = (const unsigned char *)s->p + 1;
  const unsigned char *end = (const unsigned char *)s->end;
  const unsigned char *start = p;
  int escaped = 0;
  for (;;) {
    p = skip_plain(p, end);
    if (p == end) return -1;
    unsigned cls = k_cls[*p];
    if (cls == C_QUOTE) break;
    if (cls == C_BAD) return -1;
    if (cls == C_ESC) {
      if (end - p < 2) return -1;
      escaped = 1;
      unsigned char e = p[1];
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
          e == 't') {
        p += 2;
        continue;
      }
      if (e != 'u') return -1;
      long u = hex4(p + 2, end);
      if (u < 0) return -1;
      p += 6;
      if (u >= 0xD800 && u <= 0xDBFF) { /* high surrogate: a \u low surrogate must follow */
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
        long lo = hex4(p + 2, end);
        if (lo < 0xDC00 || lo > 0xDFFF) return -1;
        p += 6;
      } else if ((u >= 0xDC00 && u <= 0xDFFF) || (u == 0 && key)) {
        return -1;
      } else if (u == 0) {
        s->saw_nul = 1;
      }
      continue;
    }
    /* UTF-8 multi-byte sequence */
    unsigned n = k_utf8[cls - C_U2].n;
    if ((size_t)(end - p) < n) return -1;
    if (p[1] < k_utf8[cls - C_U2].lo || p[1] > k_utf8[cls - C_U2].hi) return -1;
    for (unsigned i = 2; i < n; i++)
      if ((p[i] & 0xC0) != 0x80) return -1;
    p += n;
  }
  tok->start = (const char *)start;
  tok->len = (size_t)(p - start);
  tok->escaped = escaped;
  s->p = (const char *)p + 1;
  return 0;
}

/* jansson fails a real when strtod overflows to +-HUGE_VAL (underflow is accepted). Decides that
 * from the decimal exponent and calls strtod only for values in [1e308, 1e309), on a copy of
 * the significant digits with no '.', so the locale does not matter. s..e is a valid number. */
static int real_ok(const char *s, const char *e) {
  char buf[REAL_DIGITS + 16];
  size_t nd = 0, zeros = 0; /* digits kept in buf; zeros seen but not yet kept */
  int too_long = 0, frac = 0;
  long long exp10 = 0; /* value = 0.<digits> * 10^exp10 */
  const char *q = s + (*s == '-');
  for (; q < e && *q != 'e' && *q != 'E'; q++) {
    if (*q == '.') {
      frac = 1;
    } else if (nd == 0 && *q == '0') {
      exp10 -= frac; /* a leading zero ("0" or "0.00...") */
    } else {
      exp10 += !frac;
      if (*q == '0') {
        zeros++;
      } else if (nd + zeros + 1 > REAL_DIGITS) {
        too_long = 1;
      } else {
        while (zeros) buf[nd++] = '0', zeros--;
        buf[nd++] = *q;
      }
    }
  }
  if (q < e) { /* exponent, saturated */
    int neg = 0;
    long long x = 0;
    q++;
    if (*q == '+' || *q == '-') neg = *q++ == '-';
    for (; q < e; q++)
      if (x < 1000000) x = x * 10 + (*q - '0');
    exp10 += neg ? -x : x;
  }
  if (nd == 0 && !too_long) return 1; /* zero */
  if (exp10 <= 308) return 1;         /* below 1e308 < DBL_MAX */
  if (exp10 >= 310 || too_long) return 0;
  snprintf(buf + nd, sizeof(buf) - nd, "e%d", 309 - (int)nd);
  int saved = errno;
  errno = 0;
  double v = strtod(buf, NULL);
  int ok = !((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE);
  errno = saved;
  return ok;
}

/* Scans the number at p into tok. jansson's grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * plus: it must end at a delimiter, integers must fit a long long, reals must not overflow
 * (or, with bignum, a number that does not is a BIGNUM). */
static mol_jtype scan_number(const char *p, const char *end, mol_jtok *tok, int bignum) {
  const char *q = p;
  int neg = *q == '-';
  q += neg;
  unsigned long long acc = 0;
  int over = 0;
  if (q == end || !IS_DIGIT(*q)) return MOL_JT_FAIL;
  if (*q == '0') {
    q++;
  } else {
    for (; q < end && IS_DIGIT(*q); q++) {
      unsigned d = (unsigned)(*q - '0');
      if (acc > (ULLONG_MAX - d) / 10) over = 1;
      else acc = acc * 10 + d;
    }
  }
  int real = 0;
  if (q < end && *q == '.') {
    q++;
    if (q == end || !IS_DIGIT(*q)) return MOL_JT_FAIL;
    while (q < end && IS_DIGIT(*q)) q++;
    real = 1;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end && (*q == '+' || *q == '-')) q++;
    if (q == end || !IS_DIGIT(*q)) return MOL_JT_FAIL;
    while (q < end && IS_DIGIT(*q)) q++;
    real = 1;
  }
  if (q < end && !IS_DELIM(*q)) return MOL_JT_FAIL;
  tok->start = p;
  tok->len = (size_t)(q - p);
  mol_jtype too_big = bignum ? MOL_JT_BIGNUM : MOL_JT_FAIL;
  if (real) return real_ok(p, q) ? MOL_JT_REAL : too_big;
  unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
  if (over || acc > lim) return too_big; /* jansson: "too big integer" */
  if (!neg) tok->ival = (long long)acc;
  else tok->ival = acc == lim ? LLONG_MIN : -(long long)acc;
  return MOL_JT_INT;
}

static mol_jtype fail(mol_jscan *s, mol_jtok *tok, const char *p) {
  s->p = p;
  s->state = ST_FAIL;
  tok->start = p;
  tok->len = 0;
  return tok->type = MOL_JT_FAIL;
}

mol_jtype mol_jscan_next(mol_jscan *s, mol_jtok *tok) {
  const char *p = s->p, *end = s->end;
  tok->escaped = 0;
  tok->ival = 0;
  tok->start = p;
  tok->len = 0;
  if (s->state == ST_FAIL) return tok->type = MOL_JT_FAIL;
  if (s->state == ST_END) return tok->type = MOL_JT_END;
  while (p < end && IS_WS(*p)) p++;
  int in_obj = s->depth > 0 && (s->objects >> (s->depth - 1) & 1);
  switch (s->state) {
    case ST_AFTER:
      if (s->depth == 0) {
        if (p != end) return fail(s, tok, p); /* trailing garbage */
        s->p = p;
        s->state = ST_END;
        tok->start = p;
        return tok->type = MOL_JT_END;
      }
      if (p == end) return fail(s, tok, p);
      if (*p == ',') {
        p++;
        while (p < end && IS_WS(*p)) p++;
        if (in_obj) goto key;
        goto value;
      }
      goto close;
    case ST_OBJ_FIRST:
      if (p < end && *p == '}') goto close;
      goto key;
    case ST_ARR_FIRST:
      if (p < end && *p == ']') goto close;
      goto value;
    default:
      goto value;
  }

close:
  if (p == end || *p != (in_obj ? '}' : ']')) return fail(s, tok, p);
  s->depth--;
  s->state = ST_AFTER;
  s->p = p + 1;
  tok->start = p;
  tok->len = 1;
  return tok->type = in_obj ? MOL_JT_OBJECT_END : MOL_JT_ARRAY_END;

key:
  if (p == end || *p != '"') return fail(s, tok, p);
  s->p = p;
  if (scan_string(s, tok, 1) != 0) return fail(s, tok, p);
  p = s->p;
  while (p < end && IS_WS(*p)) p++;
  if (p == end || *p != ':') return fail(s, tok, p);
  s->p = p + 1;
  s->state = ST_VALUE;
  return tok->type = MOL_JT_KEY;

value:
  if (p == end) return fail(s, tok, p);
  tok->start = p;
  mol_jtype t;
  switch (*p) {
    case '{':
    case '[':
      if (s->depth == MOL_JSCAN_MAX_DEPTH) return fail(s, tok, p);
      if (*p == '{') s->objects |= (uint64_t)1 << s->depth;
      else s->objects &= ~((uint64_t)1 << s->depth);
      s->depth++;
      s->state = *p == '{' ? ST_OBJ_FIRST : ST_ARR_FIRST;
      s->p = p + 1;
      tok->len = 1;
      return tok->type = *p == '{' ? MOL_JT_OBJECT : MOL_JT_ARRAY;
    case '"':
      s->p = p;
      if (scan_string(s, tok, 0) != 0) return fail(s, tok, p);
      s->state = ST_AFTER;
      return tok->type = MOL_JT_STRING;
    case 't':
    case 'f':
    case 'n': {
      const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
      size_t n = *p == 'f' ? 5 : 4;
      if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0) return fail(s, tok, p);
      if ((size_t)(end - p) > n && !IS_DELIM(p[n])) return fail(s, tok, p);
      t = *p == 't' ? MOL_JT_TRUE : *p == 'f' ? MOL_JT_FALSE : MOL_JT_NULL;
      tok->len = n;
      break;
    }
    default:
      t = scan_number(p, end, tok, s->bignum);
      if (t == MOL_JT_FAIL) return fail(s, tok, p);
      break;
  }
  s->p = p + tok->len;
  s->state = ST_AFTER;
  return tok->type = t;
}

int mol_jscan_skip(mol_jscan *s) {
  if (s->state == ST_FAIL) return -1;
  if (s->state != ST_OBJ_FIRST && s->state != ST_ARR_FIRST) return 0;
  int target = s->depth - 1;
  mol_jtok t;
  while (s->depth > target)
    if (mol_jscan_next(s, &t) == MOL_JT_FAIL) return -1;
  return 0;
}

int mol_jscan_skip_value(mol_jscan *s) {
  mol_jtok tok;
  mol_jtype t = mol_jscan_next(s, &tok);
  if (t == MOL_JT_FAIL || t == MOL_JT_END || t == MOL_JT_OBJECT_END || t == MOL_JT_ARRAY_END)
    return -1;
  return mol_jscan_skip(s);
}

/* Decodes the character at p (n > 0 bytes left) of a scanned string into out (at most 4 bytes):
 * returns how many input bytes it used and sets *outlen. Tolerates malformed input (copies the
 * byte) so a hand-made token cannot make it read past p + n. */
static size_t decode1(const unsigned char *p, size_t n, unsigned char *out, size_t *outlen) {
  *outlen = 1;
  if (p[0] != '\\' || n < 2) {
    out[0] = p[0];
    return 1;
  }
  switch (p[1]) {
    case 'b': out[0] = '\b'; return 2;
    case 'f': out[0] = '\f'; return 2;
    case 'n': out[0] = '\n'; return 2;
    case 'r': out[0] = '\r'; return 2;
    case 't': out[0] = '\t'; return 2;
    case 'u': break;
    default: out[0] = p[1]; return 2; /* '"', '\\', '/' */
  }
  long u = hex4(p + 2, p + n);
  if (u < 0) {
    out[0] = p[0];
    return 1;
  }
  size_t used = 6;
  if (u >= 0xD800 && u <= 0xDBFF && n >= 12 && p[6] == '\\' && p[7] == 'u') {
    long lo = hex4(p + 8, p + n);
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      used = 12;
    }
  }
  if (u < 0x80) {
    out[0] = (unsigned char)u;
  } else if (u < 0x800) {
    out[0] = (unsigned char)(0xC0 | (u >> 6));
    out[1] = (unsigned char)(0x80 | (u & 0x3F));
    *outlen = 2;
  } else if (u < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (u >> 12));
    out[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (u & 0x3F));
    *outlen = 3;
  } else {
    out[0] = (unsigned char)(0xF0 | (u >> 18));
    out[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (u & 0x3F));
    *outlen = 4;
  }
  return used;
}

size_t mol_jscan_string(const mol_jtok *tok, char *out) {
  if (!tok->escaped) {
    if (tok->len) memcpy(out, tok->start, tok->len);
    out[tok->len] = '\0';
    return tok->len;
  }
  const unsigned char *p = (const unsigned char *)tok->start;
  size_t i = 0, o = 0, n;
  while (i < tok->len) {
    i += decode1(p + i, tok->len - i, (unsigned char *)out + o, &n);
    o += n;
  }
  out[o] = '\0';
  return o;
}

int mol_jscan_eq(const mol_jtok *tok, const char *lit) {
  size_t ll = strlen(lit);
  if (!tok->escaped) return tok->len == ll && memcmp(tok->start, lit, ll) == 0;
  if (tok->len < ll) return 0; /* decoding never grows */
  const unsigned char *p = (const unsigned char *)tok->start;
  unsigned char ch[4];
  size_t i = 0, o = 0, n;
  while (i < tok->len) {
    i += decode1(p + i, tok->len - i, ch, &n);
    if (o + n > ll || memcmp(lit + o, ch, n) != 0) return 0;
    o += n;
  }
  return o == ll;
}
