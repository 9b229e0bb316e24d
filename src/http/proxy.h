/* proxy.h - the HTTP client's proxy settings as pure functions: a proxy URL parsed (with its
 * credentials turned into a Proxy-Authorization value), the environment read the way curl
 * reads it, and the NO_PROXY match. No I/O: client.c and client_tunnel.c use them. */
#ifndef MOL_HTTP_PROXY_H
#define MOL_HTTP_PROXY_H

#include "http/url.h"

enum { MOL_PROXY_DEFAULT_PORT = 1080 }; /* curl's, for a proxy URL without a port */

typedef struct {
  int set;                      /* a proxy was configured (even a bad one) */
  int bad;                      /* configured but unusable: requests it would carry fail */
  mol_url url;                  /* where connections go (host, port, ipv6); no target */
  char name[MOL_URL_HOST_MAX + 9]; /* "host:port" for messages: never the credentials */
  char *auth;                   /* "Basic ..." from user:password in the URL, or NULL */
  const char *source;           /* the variable it came from ("https_proxy", ...) */
} mol_http_proxy;

/* Parses "[http://][user[:password]@]host[:port][/]" into *out (out->source is left alone).
 * The user and password may be percent-encoded. Returns 0, MOL_EURL (another scheme - https
 * and socks proxies are not supported - or a bad host or port) or MOL_ENOMEM. */
int mol_http__proxy_parse(const char *spec, mol_http_proxy *out);
void mol_http__proxy_free(mol_http_proxy *p);

/* The environment's proxy for one scheme, curl's names and order: https_proxy, HTTPS_PROXY
 * (https) or http_proxy, HTTP_PROXY (http; the upper-case one is ignored when REQUEST_METHOD is
 * set, as under CGI, where a client's "Proxy:" header would become it), then all_proxy,
 * ALL_PROXY. Empty values count as unset. NULL when none; *var names the variable. */
const char *mol_http__proxy_env(int https, const char **var);
/* no_proxy, then NO_PROXY; NULL when neither is set. */
const char *mol_http__no_proxy_env(void);

/* 1 when host (lower-case; an IPv6 literal without brackets) on port is listed in `list`:
 * comma-separated entries, each "*" (everything), a host name that also covers its
 * subdomains (a leading "." or "*." is allowed), an IPv4 or IPv6 address or CIDR block
 * ("10.0.0.0/8", "::1", "[::1]"), optionally with ":PORT" to match that port only. */
int mol_http__no_proxy_match(const char *list, const char *host, unsigned port);

#endif
