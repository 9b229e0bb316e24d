/* ssrf.c - the address classes of ssrf.h, a URL verdict, and resolution on the loop. */
#include "http/ssrf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"
#include "molecule.h"

typedef mol_ssrf_class addr_class;
#define ADDR_PUBLIC MOL_SSRF_PUBLIC
#define ADDR_LOOPBACK MOL_SSRF_LOOPBACK
#define ADDR_PRIVATE MOL_SSRF_PRIVATE
#define ADDR_BLOCKED MOL_SSRF_BLOCKED

static int in4(uint32_t a, uint32_t net, int bits) {
  uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;
  return (a & mask) == (net & mask);
}

static addr_class classify4(uint32_t a /* host order */) {
  if (in4(a, 0x7f000000, 8)) return ADDR_LOOPBACK;
  if (in4(a, 0x0a000000, 8) || in4(a, 0xac100000, 12) || in4(a, 0xc0a80000, 16))
    return ADDR_PRIVATE;
  if (in4(a, 0x00000000, 8) ||   /* unspecified / "this network" */
      in4(a, 0xa9fe0000, 16) ||  /* link-local, cloud metadata */
      in4(a, 0x64400000, 10) ||  /* CGNAT */
      in4(a, 0xc0000000, 24) ||  /* IETF protocol assignments */
      in4(a, 0xc6120000, 15) ||  /* benchmarking */
      in4(a, 0xc0000200, 24) || in4(a, 0xc6336400, 24) || in4(a, 0xcb007100, 24) || /* TEST */
      in4(a, 0xe0000000, 4) ||   /* multicast */
      in4(a, 0xf0000000, 4))     /* reserved + broadcast */
    return ADDR_BLOCKED;
  return ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *b, int off) {
  return ((uint32_t)b[off] << 24) | ((uint32_t)b[off + 1] << 16) | ((uint32_t)b[off + 2] << 8) |
         b[off + 3];
}

/* An IPv4 address reached through a translator or a tunnel is judged as that address, except
 * that its loopback is the far end's, never ours: a loopback allowance is for this machine,
 * reached as 127.0.0.1, ::1 or localhost. */
static addr_class via_v4(uint32_t a) {
  addr_class c = classify4(a);
  return c == ADDR_LOOPBACK ? ADDR_BLOCKED : c;
}

static addr_class worst(addr_class a, addr_class b) { return a == ADDR_PUBLIC ? b : a; }

static addr_class classify6(const unsigned char *b) {
  static const unsigned char zero[16] = {0};
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (memcmp(b, mapped, 12) == 0) return classify4(v4_at(b, 12)); /* our own IPv4 stack */
  if (memcmp(b, zero, 15) == 0 && b[15] <= 1) return b[15] ? ADDR_LOOPBACK : ADDR_BLOCKED;
  if (memcmp(b, zero, 12) == 0 ||       /* IPv4-compatible ::/96 (deprecated) */
      memcmp(b, translated, 12) == 0 || /* IPv4-translated ::ffff:0:0:0/96 */
      memcmp(b, nat64, 12) == 0)        /* NAT64 well-known prefix 64:ff9b::/96 */
    return via_v4(v4_at(b, 12));
  if (b[0] == 0x20 && b[1] == 0x02) return via_v4(v4_at(b, 2)); /* 6to4 2002::/16 */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)   /* Teredo 2001::/32 */
    return worst(via_v4(v4_at(b, 4)), via_v4(~v4_at(b, 12)));  /* server, client */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return ADDR_BLOCKED;
  if (b[0] == 0xfd) return ADDR_PRIVATE; /* fd00::/8 */
  /* Everything outside global unicast 2000::/3 is special: the rest of fc00::/7, fe80::/10,
   * multicast, discard-only 100::/64, and the local-use NAT64 block 64:ff9b:1::/48 (where the
   * IPv4 sits depends on the operator's prefix length, so no embedded address can vouch). */
  if ((b[0] & 0xe0) != 0x20) return ADDR_BLOCKED;
  return ADDR_PUBLIC;
}

int mol_ssrf_allowed(mol_ssrf_class c, const mol_ssrf_policy *p) {
  return c == ADDR_PUBLIC || (c == ADDR_LOOPBACK && p->allow_loopback) ||
         (c == ADDR_PRIVATE && p->allow_private);
}

mol_ssrf_class mol_ssrf_classify_addr(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    return classify4(ntohl(s4->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    return classify6(s6->sin6_addr.s6_addr);
  }
  return ADDR_BLOCKED;
}

int mol_ssrf_addr_ok(const struct sockaddr *sa, const mol_ssrf_policy *p) {
  return mol_ssrf_allowed(mol_ssrf_classify_addr(sa), p);
}

int mol_ssrf_is_localhost_name(const char *h) {
  size_t n = strlen(h);
  return strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0);
}

int mol_ssrf_classify_literal(const char *host, mol_ssrf_class *out) {
  unsigned char b[16];
  if (inet_pton(AF_INET, host, b) == 1) {
    *out = classify4(v4_at(b, 0));
    return 1;
  }
  if (inet_pton(AF_INET6, host, b) == 1) {
    *out = classify6(b);
    return 1;
  }
  return 0;
}

mol_ssrf_verdict mol_ssrf_check_url(const char *url, const mol_ssrf_policy *p, char host_out[256]) {
  mol_url u;
  if (mol_url_parse(url, &u) != 0) return MOL_SSRF_BADURL;
  addr_class c;
  if (mol_ssrf_classify_literal(u.host, &c))
    return mol_ssrf_allowed(c, p) ? MOL_SSRF_OK : MOL_SSRF_REFUSED;
  if (mol_ssrf_is_localhost_name(u.host))
    return p->allow_loopback ? MOL_SSRF_OK : MOL_SSRF_REFUSED;
  strncpy(host_out, u.host, 255);
  host_out[255] = '\0';
  return MOL_SSRF_RESOLVE;
}

typedef struct {
  uv_getaddrinfo_t req;
  mol_ssrf_cb cb;
  void *arg;
  mol_ssrf_policy policy;
} resolve_ctx;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_ctx *ctx = req->data;
  int ok = status == 0 && res != NULL; /* a DNS failure is a refusal */
  for (struct addrinfo *ai = res; ok && ai; ai = ai->ai_next)
    if (!mol_ssrf_addr_ok(ai->ai_addr, &ctx->policy)) ok = 0;
  uv_freeaddrinfo(res);
  ctx->cb(ok, ctx->arg);
  free(ctx);
}

int mol_ssrf_resolve(uv_loop_t *loop, const char *host, const mol_ssrf_policy *p, mol_ssrf_cb cb,
                     void *arg) {
  resolve_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return MOL_ENOMEM;
  ctx->cb = cb;
  ctx->arg = arg;
  ctx->policy = *p;
  ctx->req.data = ctx;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = uv_getaddrinfo(loop, &ctx->req, on_resolved, host, NULL, &hints);
  if (rc) free(ctx);
  return rc;
}
