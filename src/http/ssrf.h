/* ssrf.h - which addresses an outbound call made on someone else's behalf may reach: the
 * development platform's agent URLs and the A2A server's push-notification webhooks share it.
 *
 * Every address is put in one class: public, loopback, private (RFC 1918, fd00::/8) or blocked
 * (link-local and the cloud metadata service, CGNAT, documentation, benchmarking, multicast,
 * reserved, unspecified, and everything outside IPv6 global unicast). A policy says whether
 * loopback and private addresses are allowed on top of public ones; blocked ones never are.
 * IPv6 forms that carry an IPv4 address (IPv4-compatible, mapped, translated, NAT64, 6to4,
 * Teredo) are judged by that IPv4 address, so [64:ff9b::a9fe:a9fe] is the metadata service
 * it translates to; a loopback reached through a translator or tunnel is the far end's, never
 * ours, so it is blocked.
 *
 * Host names are judged on every address they resolve to (mol_ssrf_resolve); "localhost" and
 * *.localhost count as loopback by their spelling, before any lookup. */
#ifndef MOL_HTTP_SSRF_H
#define MOL_HTTP_SSRF_H

#include <uv.h>

typedef enum { MOL_SSRF_PUBLIC, MOL_SSRF_LOOPBACK, MOL_SSRF_PRIVATE, MOL_SSRF_BLOCKED } mol_ssrf_class;

typedef struct {
  int allow_loopback; /* 127.0.0.0/8, ::1, localhost */
  int allow_private;  /* RFC 1918, fd00::/8 */
} mol_ssrf_policy;

mol_ssrf_class mol_ssrf_classify_addr(const struct sockaddr *sa); /* AF_INET/AF_INET6 else BLOCKED */
/* 1 when host is an IP literal (IPv6 without brackets), its class in *out. */
int mol_ssrf_classify_literal(const char *host, mol_ssrf_class *out);
int mol_ssrf_is_localhost_name(const char *host);
int mol_ssrf_allowed(mol_ssrf_class c, const mol_ssrf_policy *p);
int mol_ssrf_addr_ok(const struct sockaddr *sa, const mol_ssrf_policy *p);

typedef enum {
  MOL_SSRF_OK = 0,      /* an allowed literal or localhost: call it */
  MOL_SSRF_REFUSED = 1, /* a literal or localhost the policy refuses */
  MOL_SSRF_RESOLVE = 2, /* a host name: resolve it with mol_ssrf_resolve first */
  MOL_SSRF_BADURL = 3   /* not an http(s) URL (http/url.h) */
} mol_ssrf_verdict;

/* Judges a URL without I/O; for RESOLVE its host is copied to host_out. */
mol_ssrf_verdict mol_ssrf_check_url(const char *url, const mol_ssrf_policy *p, char host_out[256]);

/* Resolves host and checks every address it has (a lookup failure is a refusal); cb(ok, arg)
 * fires exactly once, never inside this call. Returns 0 or a negative error (cb never fires). */
typedef void (*mol_ssrf_cb)(int ok, void *arg);
int mol_ssrf_resolve(uv_loop_t *loop, const char *host, const mol_ssrf_policy *p, mol_ssrf_cb cb,
                     void *arg);

#endif
