/* ssrf.c - which agent URLs the platform accepts at register time and calls at dispatch time
 * (contract §4.9, validateAgentURL and isSafeURL).
 *
 * Deliberate differences from upstream, because this platform runs on one machine:
 *  - dev mode accepts loopback agents both at register and at dispatch (upstream's register
 *    check refuses http://127.0.0.1 even in dev mode, which breaks the out-of-the-box run);
 *  - private (RFC 1918, fd00::/8) addresses are refused even in dev mode: nothing on a single
 *    machine needs them, and they are where an SSRF does damage;
 *  - host names are resolved only at dispatch time (every address must pass), so a register
 *    never blocks on DNS; the dispatch check is the authoritative one;
 *  - IPv6 forms that carry an IPv4 address (IPv4-compatible, mapped, translated, NAT64, 6to4,
 *    Teredo) are judged by that IPv4 address, so [64:ff9b::a9fe:a9fe] is the metadata service
 *    it translates to, not a public address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "devplatform/dp_int.h"
#include "http/url.h"
#include "molecule.h"

typedef enum { ADDR_PUBLIC, ADDR_LOOPBACK, ADDR_PRIVATE, ADDR_BLOCKED } addr_class;

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
 * that its loopback is the far end's, never ours: dev mode's loopback allowance is for agents
 * on this machine, which use 127.0.0.1, ::1 or localhost. */
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

static int class_ok(addr_class c, int dev) {
  return c == ADDR_PUBLIC || (c == ADDR_LOOPBACK && dev);
}

int mol_dp__ssrf_addr_ok(const struct sockaddr *sa, int dev) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    return class_ok(classify4(ntohl(s4->sin_addr.s_addr)), dev);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    return class_ok(classify6(s6->sin6_addr.s6_addr), dev);
  }
  return 0;
}

static int is_localhost_name(const char *h) {
  size_t n = strlen(h);
  return strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0);
}

/* Classifies an IP-literal host; returns 0 when host is not a literal. */
static int literal_class(const char *host, addr_class *out) {
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

int mol_dp__ssrf_register_ok(const char *url, int dev) {
  mol_url u;
  if (mol_url_parse(url, &u) != 0) return 0;
  addr_class c;
  if (literal_class(u.host, &c)) return class_ok(c, dev);
  return 1; /* names ("localhost" included, as upstream) are judged at dispatch time */
}

mol_dp__ssrf mol_dp__ssrf_url(const char *url, int dev, char host_out[256]) {
  mol_url u;
  if (mol_url_parse(url, &u) != 0) return MOL_DP__SSRF_BADURL;
  addr_class c;
  if (literal_class(u.host, &c)) return class_ok(c, dev) ? MOL_DP__SSRF_OK : MOL_DP__SSRF_BLOCKED;
  if (is_localhost_name(u.host)) return dev ? MOL_DP__SSRF_OK : MOL_DP__SSRF_BLOCKED;
  strncpy(host_out, u.host, 255);
  host_out[255] = '\0';
  return MOL_DP__SSRF_RESOLVE;
}

typedef struct {
  uv_getaddrinfo_t req;
  mol_dp__ssrf_cb cb;
  void *arg;
  int dev;
} resolve_ctx;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_ctx *ctx = req->data;
  int ok = status == 0 && res != NULL; /* a DNS failure is a refusal */
  for (struct addrinfo *ai = res; ok && ai; ai = ai->ai_next)
    if (!mol_dp__ssrf_addr_ok(ai->ai_addr, ctx->dev)) ok = 0;
  uv_freeaddrinfo(res);
  ctx->cb(ok, ctx->arg);
  free(ctx);
}

int mol_dp__ssrf_resolve(uv_loop_t *loop, const char *host, int dev, mol_dp__ssrf_cb cb,
                         void *arg) {
  resolve_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return MOL_ENOMEM;
  ctx->cb = cb;
  ctx->arg = arg;
  ctx->dev = dev;
  ctx->req.data = ctx;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = uv_getaddrinfo(loop, &ctx->req, on_resolved, host, NULL, &hints);
  if (rc) free(ctx);
  return rc;
}
