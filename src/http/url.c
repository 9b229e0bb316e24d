/* url.c - absolute http(s) URL parsing; see url.h. */
#include "http/url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "molecule.h"

/* Every byte of a URL must be visible ASCII: this alone rules out CR/LF/NUL injection. */
static int all_visible(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
  return 1;
}

static const char *parse_scheme(const char *url, mol_url *out) {
  if (strncasecmp(url, "http://", 7) == 0) {
    out->https = 0;
    out->port = 80;
    return url + 7;
  }
  if (strncasecmp(url, "https://", 8) == 0) {
    out->https = 1;
    out->port = 443;
    return url + 8;
  }
  return NULL;
}

static int reg_name_char(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int copy_host(mol_url *out, const char *s, size_t n) {
  if (n == 0 || n > MOL_URL_HOST_MAX) return MOL_EURL;
  for (size_t i = 0; i < n; i++) out->host[i] = (char)tolower((unsigned char)s[i]);
  out->host[n] = '\0';
  return 0;
}

/* "[v6]" : validated with inet_pton so "[::1" or "[zz::]" never reach the resolver. */
static const char *parse_ipv6(const char *p, mol_url *out) {
  const char *close = strchr(p, ']');
  if (!close) return NULL;
  size_t n = (size_t)(close - p - 1);
  if (copy_host(out, p + 1, n)) return NULL;
  unsigned char addr[16];
  if (inet_pton(AF_INET6, out->host, addr) != 1) return NULL;
  out->ipv6 = 1;
  return close + 1;
}

static const char *parse_reg_name(const char *p, mol_url *out) {
  const char *q = p;
  while (reg_name_char(*q)) q++;
  if (copy_host(out, p, (size_t)(q - p))) return NULL;
  return q;
}

static const char *parse_port(const char *p, mol_url *out) {
  if (*p != ':') return p;
  p++;
  unsigned long v = 0;
  const char *start = p;
  while (isdigit((unsigned char)*p) && p - start < 6) v = v * 10 + (unsigned long)(*p++ - '0');
  if (p == start || isdigit((unsigned char)*p) || v == 0 || v > 65535) return NULL;
  out->port = (unsigned short)v;
  out->port_explicit = 1;
  return p;
}

static int parse_target(const char *p, mol_url *out) {
  if (*p != '\0' && *p != '/' && *p != '?' && *p != '#') return MOL_EURL;
  const char *hash = strchr(p, '#');
  out->target = p;
  out->target_len = hash ? (size_t)(hash - p) : strlen(p);
  return 0;
}

int mol_url_parse(const char *url, mol_url *out) {
  if (!url || !out) return MOL_EURL;
  memset(out, 0, sizeof(*out));
  if (!all_visible(url)) return MOL_EURL;
  const char *p = parse_scheme(url, out);
  if (!p) return MOL_EURL;
  p = *p == '[' ? parse_ipv6(p, out) : parse_reg_name(p, out);
  if (!p) return MOL_EURL;
  p = parse_port(p, out);
  if (!p) return MOL_EURL;
  /* '@' here means userinfo (or garbage after the host): refused either way. */
  return parse_target(p, out);
}
