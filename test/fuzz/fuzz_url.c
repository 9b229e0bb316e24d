/* fuzz_url.c - libFuzzer target for the URL parser (http/url.h). Whatever the input, an
 * accepted URL obeys the documented rules: http or https, a non-empty lower-case host with no
 * byte that could end a request line, a port in 1..65535 (80/443 unless explicit), a target
 * that lies inside the input and holds no '#'; and the URL rebuilt from those parts parses to
 * the same parts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"

static void check(const char *in, const mol_url *u) {
  size_t hl = strlen(u->host);
  if (hl == 0 || hl > MOL_URL_HOST_MAX) abort();
  for (size_t i = 0; i < hl; i++) {
    unsigned char c = (unsigned char)u->host[i];
    if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z') || c == '@' || c == '/') abort();
  }
  if (u->port == 0) abort();
  if (!u->port_explicit && u->port != (u->https ? 443 : 80)) abort();
  size_t il = strlen(in);
  if (u->target < in || u->target + u->target_len > in + il) abort();
  if (memchr(u->target, '#', u->target_len)) abort();
  for (size_t i = 0; i < u->target_len; i++)
    if ((unsigned char)u->target[i] <= 0x20 || (unsigned char)u->target[i] >= 0x7f) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *in = malloc(len + 1);
  if (!in) return 0;
  memcpy(in, data, len);
  in[len] = '\0';
  mol_url u;
  if (mol_url_parse(in, &u) == 0) {
    check(in, &u);
    size_t n = 8 + MOL_URL_HOST_MAX + 16 + u.target_len + 1;
    char *again = malloc(n);
    snprintf(again, n, "%s://%s%s%s:%u%.*s", u.https ? "https" : "http", u.ipv6 ? "[" : "", u.host,
             u.ipv6 ? "]" : "", (unsigned)u.port, (int)u.target_len, u.target);
    mol_url v;
    if (mol_url_parse(again, &v) != 0) abort();
    if (v.https != u.https || v.port != u.port || v.ipv6 != u.ipv6 || strcmp(v.host, u.host) != 0 ||
        v.target_len != u.target_len || memcmp(v.target, u.target, u.target_len) != 0)
      abort();
    free(again);
  }
  free(in);
  return 0;
}
