/* proxy.c - proxy URLs, the proxy environment variables and NO_PROXY; see proxy.h. */
#include "http/proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "molecule.h"

/* ---- proxy URLs --------------------------------------------------------------------------- */

static int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes n bytes of s onto out (which has room for n + 1). */
static size_t pct_decode(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hex_val(s[i + 1])) >= 0 &&
        (lo = hex_val(s[i + 2])) >= 0) {
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return o;
}

/* user[:password] -> "Basic base64(user:password)" (RFC 7617). */
static int make_auth(const char *userinfo, size_t n, char **out) {
  char *plain = malloc(n + 1);
  size_t b64cap = (n + 2) / 3 * 4 + 1;
  char *value = malloc(6 + b64cap);
  if (!plain || !value) {
    free(plain);
    free(value);
    return MOL_ENOMEM;
  }
  size_t len = pct_decode(userinfo, n, plain);
  if (!memchr(plain, ':', len)) { /* a user without a password: curl sends "user:" */
    plain[len] = ':';
    len++;
  }
  memcpy(value, "Basic ", 6);
  int w = mol_base64_encode(plain, len, value + 6, b64cap);
  memset(plain, 0, n + 1);
  free(plain);
  if (w < 0) {
    free(value);
    return MOL_ENOMEM;
  }
  *out = value;
  return 0;
}

/* Skips "http://" (any case); other schemes are refused. */
static const char *proxy_scheme(const char *spec) {
  const char *sep = strstr(spec, "://");
  if (!sep) return spec;
  if ((size_t)(sep - spec) == 4 && strncasecmp(spec, "http", 4) == 0) return sep + 3;
  return NULL;
}

int mol_http__proxy_parse(const char *spec, mol_http_proxy *out) {
  const char *source = out->source;
  memset(out, 0, sizeof(*out));
  out->source = source;
  out->set = 1;
  out->bad = 1;
  const char *p = spec ? proxy_scheme(spec) : NULL;
  if (!p) return MOL_EURL;
  size_t authority = strcspn(p, "/?#");
  const char *at = NULL;
  for (const char *q = p; q < p + authority; q++)
    if (*q == '@') at = q; /* the last '@': a password may hold one, encoded or not */
  char hostport[MOL_URL_HOST_MAX + 24];
  const char *hp = at ? at + 1 : p;
  size_t hplen = authority - (size_t)(hp - p);
  if (hplen == 0 || hplen + 9 > sizeof(hostport)) return MOL_EURL;
  snprintf(hostport, sizeof(hostport), "http://%.*s/", (int)hplen, hp);
  if (mol_url_parse(hostport, &out->url) != 0) return MOL_EURL;
  if (!out->url.port_explicit) out->url.port = MOL_PROXY_DEFAULT_PORT;
  out->url.target = NULL;
  out->url.target_len = 0;
  snprintf(out->name, sizeof(out->name), "%s%s%s:%u", out->url.ipv6 ? "[" : "", out->url.host,
           out->url.ipv6 ? "]" : "", out->url.port);
  if (at && make_auth(p, (size_t)(at - p), &out->auth)) return MOL_ENOMEM;
  out->bad = 0;
  return 0;
}

void mol_http__proxy_free(mol_http_proxy *p) {
  if (p->auth) {
    memset(p->auth, 0, strlen(p->auth));
    free(p->auth);
  }
  p->auth = NULL;
}

/* ---- the environment ---------------------------------------------------------------------- */

static const char *env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

const char *mol_http__proxy_env(int https, const char **var) {
  const char *names[4] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
  if (!https) {
    names[0] = "http_proxy";
    names[1] = getenv("REQUEST_METHOD") ? NULL : "HTTP_PROXY";
  }
  for (int i = 0; i < 4; i++) {
    const char *v = names[i] ? env_set(names[i]) : NULL;
    if (v) {
      *var = names[i];
      return v;
    }
  }
  *var = NULL;
  return NULL;
}

const char *mol_http__no_proxy_env(void) {
  const char *v = getenv("no_proxy");
  return v ? v : getenv("NO_PROXY");
}

/* ---- NO_PROXY ----------------------------------------------------------------------------- */

typedef struct {
  char host[MOL_URL_HOST_MAX + 16];
  int bits;          /* CIDR prefix length, -1 when none */
  unsigned port;     /* 0: any port */
} no_proxy_entry;

/* 1 when the first `bits` bits of a and b agree. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits) {
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)whole) != 0) return 0;
  if (!rest) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

/* 1 for an entry that is an address (or a block) containing host; -1 when the entry is no
 * address at all (then it is a name). */
static int address_match(const no_proxy_entry *e, const char *host) {
  unsigned char want[16], got[16];
  int fam = inet_pton(AF_INET, e->host, want) == 1 ? AF_INET
            : inet_pton(AF_INET6, e->host, want) == 1 ? AF_INET6 : 0;
  if (!fam) return -1;
  if (inet_pton(fam, host, got) != 1) return 0;
  int max = fam == AF_INET ? 32 : 128;
  int bits = e->bits < 0 || e->bits > max ? max : e->bits;
  return prefix_equal(want, got, bits);
}

static int name_match(const char *entry, const char *host) {
  if (entry[0] == '*' && entry[1] == '.') entry++;
  if (entry[0] == '.') entry++;
  size_t n = strlen(entry), h = strlen(host);
  if (n == 0) return 0;
  if (h == n) return strcasecmp(host, entry) == 0;
  return h > n && host[h - n - 1] == '.' && strcasecmp(host + h - n, entry) == 0;
}

/* Splits "[v6]:port", "host:port", "v4/bits", "v6" or "v6/bits" into e. 0, or -1 if it is
 * not something an entry may be. */
static int entry_parse(const char *s, size_t n, no_proxy_entry *e) {
  char tmp[MOL_URL_HOST_MAX + 16];
  if (n == 0 || n >= sizeof(tmp)) return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  e->bits = -1;
  e->port = 0;
  char *host = tmp, *port = NULL, *bits = NULL;
  if (tmp[0] == '[') {
    char *close = strchr(tmp, ']');
    if (!close || (close[1] && close[1] != ':' && close[1] != '/')) return -1;
    if (close[1] == ':') port = close + 2;
    if (close[1] == '/') bits = close + 2;
    *close = '\0';
    host = tmp + 1;
  } else if (strchr(tmp, ':') == strrchr(tmp, ':') && strchr(tmp, ':')) {
    port = strchr(tmp, ':');
    *port++ = '\0';
  }
  if (port) {
    char *end;
    unsigned long v = strtoul(port, &end, 10);
    if (!*port || *end || v == 0 || v > 65535) return -1;
    e->port = (unsigned)v;
  }
  char *slash = strchr(host, '/');
  if (slash) {
    *slash = '\0';
    bits = slash + 1;
  }
  if (bits) {
    char *end;
    long b = strtol(bits, &end, 10);
    if (!*bits || *end || b < 0 || b > 128) return -1;
    e->bits = (int)b;
  }
  snprintf(e->host, sizeof(e->host), "%s", host);
  return 0;
}

static int entry_match(const char *s, size_t n, const char *host, unsigned port) {
  no_proxy_entry e;
  if (n == 1 && s[0] == '*') return 1;
  if (entry_parse(s, n, &e)) return 0;
  if (e.port && e.port != port) return 0;
  int m = address_match(&e, host);
  if (m >= 0) return m;
  /* An address is matched as an address only: "0.0.1" is no domain of 127.0.0.1. */
  unsigned char buf[16];
  if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) return 0;
  return name_match(e.host, host);
}

int mol_http__no_proxy_match(const char *list, const char *host, unsigned port) {
  if (!list) return 0;
  const char *p = list;
  while (*p) {
    while (*p == ',' || isspace((unsigned char)*p)) p++;
    size_t n = strcspn(p, ", \t");
    if (n && entry_match(p, n, host, port)) return 1;
    p += n;
  }
  return 0;
}
