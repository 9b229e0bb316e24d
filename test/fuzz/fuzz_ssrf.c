/* fuzz_ssrf.c - libFuzzer target for the dev platform's agent-URL classifier
 * (devplatform/ssrf.c). For any URL and either mode: it is a bad URL exactly when the URL
 * parser refuses it; a host that is an address literal is judged, at register and at dispatch
 * alike, exactly as that address is when a name resolves to it (so no spelling of an address
 * slips past the literal check that the resolver check would stop); a name handed over for
 * resolution is the parsed URL's host. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devplatform/dp_int.h"
#include "http/url.h"

static void check(const char *in, int dev) {
  char host[256] = "";
  mol_dp__ssrf c = mol_dp__ssrf_url(in, dev, host);
  int reg = mol_dp__ssrf_register_ok(in, dev);
  mol_url u;
  if (mol_url_parse(in, &u) != 0) {
    if (c != MOL_DP__SSRF_BADURL || reg) abort();
    return;
  }
  if (c == MOL_DP__SSRF_BADURL) abort();
  struct sockaddr_in a4 = {.sin_family = AF_INET};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
  const struct sockaddr *sa = NULL;
  if (inet_pton(AF_INET, u.host, &a4.sin_addr) == 1) sa = (const struct sockaddr *)&a4;
  else if (inet_pton(AF_INET6, u.host, &a6.sin6_addr) == 1) sa = (const struct sockaddr *)&a6;
  if (sa) {
    int ok = mol_dp__ssrf_addr_ok(sa, dev);
    if (c == MOL_DP__SSRF_RESOLVE || (c == MOL_DP__SSRF_OK) != ok || reg != ok) abort();
  } else if (c == MOL_DP__SSRF_RESOLVE && strcmp(host, u.host) != 0) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *in = malloc(len + 1);
  if (!in) return 0;
  memcpy(in, data, len);
  in[len] = '\0';
  check(in, 0);
  check(in, 1);
  free(in);
  return 0;
}
