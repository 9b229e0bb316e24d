/* util.c - small pure helpers of the dev platform: ids, tokens, times, replies, queries. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devplatform/dp_int.h"
#include "molecule.h"

int mol_dp__is_uuid(const char *s) {
  if (!s || strlen(s) != MOL_UUID_LEN) return 0;
  for (int i = 0; i < MOL_UUID_LEN; i++) {
    char ch = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (ch != '-') return 0;
    } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
      return 0;
    }
  }
  return 1;
}

/* Workspace ids are lower-case canonical UUIDs: upstream compares them as
 * strings, so accepting "ABC…" here would create a second identity for the same agent. */
int mol_dp__is_id(const char *s) { return mol_dp__is_uuid(s); }

int mol_dp__token_new(char out[MOL_DP__TOKEN_LEN + 1]) {
  unsigned char raw[32];
  char b64[64];
  int rc = mol_random_bytes(raw, sizeof raw);
  if (rc) return rc;
  int n = mol_base64_encode(raw, sizeof raw, b64, sizeof b64);
  if (n < 0) return n;
  /* base64 -> base64url without padding (RFC 4648 §5), as upstream's RawURLEncoding. */
  int j = 0;
  for (int i = 0; i < n && j < MOL_DP__TOKEN_LEN; i++) {
    char ch = b64[i];
    if (ch == '=') break;
    out[j++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  }
  out[j] = '\0';
  return j == MOL_DP__TOKEN_LEN ? 0 : MOL_EINVAL;
}

void mol_dp__token_hash(const char *tok, uint8_t out[MOL_SHA256_LEN]) {
  mol_sha256_once(tok, strlen(tok), out);
}

void mol_dp__rfc3339(int64_t unix_ms, char out[32]) {
  time_t secs = (time_t)(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**p)) return 0;
    v = v * 10 + (*(*p)++ - '0');
  }
  *out = v;
  return 1;
}

static int expect(const char **p, char ch) {
  if (**p != ch) return 0;
  (*p)++;
  return 1;
}

static int parse_zone(const char *p, long *offset_s) {
  if (*p == 'Z' || *p == 'z') {
    *offset_s = 0;
    return p[1] == '\0';
  }
  if (*p != '+' && *p != '-') return 0;
  int sign = *p++ == '-' ? -1 : 1, hh, mm;
  if (!digits(&p, 2, &hh) || !expect(&p, ':') || !digits(&p, 2, &mm) || *p) return 0;
  *offset_s = sign * (hh * 3600L + mm * 60L);
  return 1;
}

int mol_dp__parse_rfc3339(const char *s, int64_t *unix_ms) {
  const char *p = s;
  struct tm tm = {0};
  int y, mo, d, h, mi, sec, ms = 0;
  if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
      !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || !(p++) ||
      !digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
      !digits(&p, 2, &sec))
    return MOL_EINVAL;
  if (*p == '.') {
    p++;
    int scale = 100, any = 0;
    while (isdigit((unsigned char)*p)) {
      ms += (*p++ - '0') * scale;
      scale /= 10;
      any = 1;
    }
    if (!any) return MOL_EINVAL;
  }
  long off;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
      !parse_zone(p, &off))
    return MOL_EINVAL;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *unix_ms = ((int64_t)timegm(&tm) - off) * 1000 + ms;
  return 0;
}

int mol_dp__bearer(const char *header, char *out, size_t cap) {
  out[0] = '\0';
  if (!header || strncmp(header, "Bearer ", 7) != 0) return 0;
  const char *b = header + 7;
  while (*b == ' ' || *b == '\t') b++;
  size_t n = strlen(b);
  while (n && (b[n - 1] == ' ' || b[n - 1] == '\t')) n--;
  if (!n) return 0;
  if (n >= cap) n = cap - 1; /* an over-long token stays present (and can never validate) */
  memcpy(out, b, n);
  out[n] = '\0';
  return 1;
}

void mol_dp__reply_set(mol_dp__reply *r, int status, json_t *body) {
  if (r->body) json_decref(r->body);
  r->status = status;
  r->body = body;
}

void mol_dp__reply_err(mol_dp__reply *r, int status, const char *msg) {
  mol_dp__reply_set(r, status, json_pack("{s:s}", "error", msg));
}

void mol_dp__reply_free(mol_dp__reply *r) {
  if (r->body) json_decref(r->body);
  r->body = NULL;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Percent-decodes [s, s+n) into out ('+' is a space, as in forms). 0 when it does not fit or
 * is malformed. */
static int url_decode(const char *s, size_t n, char *out, size_t cap) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      if (i + 2 >= n) return 0;
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return 0;
      ch = (char)(hi * 16 + lo);
      i += 2;
    } else if (ch == '+') {
      ch = ' ';
    }
    if (ch == '\0' || j + 1 >= cap) return 0;
    out[j++] = ch;
  }
  out[j] = '\0';
  return 1;
}

int mol_dp__query_get(const mol_dp__call *c, const char *name, char *out, size_t cap) {
  const char *q = c->query;
  out[0] = '\0';
  size_t nlen = strlen(name);
  while (q && *q) {
    const char *end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    const char *eq = memchr(q, '=', len);
    size_t klen = eq ? (size_t)(eq - q) : len;
    if (klen == nlen && memcmp(q, name, nlen) == 0) {
      if (!eq) {
        out[0] = '\0';
        return 1;
      }
      if (url_decode(eq + 1, len - klen - 1, out, cap)) return 1;
      out[0] = '\0';
      return -1;
    }
    q = end ? end + 1 : NULL;
  }
  return 0;
}
