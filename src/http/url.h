/* url.h - absolute http(s) URL parsing, a pure function (no I/O, no allocation).
 *
 * Accepts "scheme://host[:port][/path][?query][#fragment]" with scheme http or https
 * (case-insensitive), a registered name, an IPv4 literal or a bracketed IPv6 literal. The
 * fragment is dropped (it is never sent). Rejected with MOL_EURL: other schemes, userinfo
 * ("user@host" - credentials do not belong in URLs we log), empty hosts, ports outside 1..65535,
 * and any control character, space, or byte >= 0x7f anywhere (so a URL can never smuggle CR/LF
 * into the request line).
 */
#ifndef MOL_HTTP_URL_H
#define MOL_HTTP_URL_H

#include <stddef.h>

enum { MOL_URL_HOST_MAX = 255 };

typedef struct {
  int https;                         /* 1 for https */
  unsigned short port;               /* explicit, or 80 / 443 */
  int port_explicit;                 /* 1 when the URL named the port */
  int ipv6;                          /* host is an IPv6 literal (stored without brackets) */
  char host[MOL_URL_HOST_MAX + 1];   /* lower-cased, NUL-terminated */
  const char *target;                /* path + query inside the input; "" means "/" */
  size_t target_len;                 /* excludes the fragment */
} mol_url;

/* Parses the NUL-terminated url into *out. out->target points into url, so url must outlive
 * out. Returns 0 or MOL_EURL. */
int mol_url_parse(const char *url, mol_url *out);

#endif
