/* ssrf.c - which agent URLs the platform accepts at register time and calls at dispatch time
 * (upstream's validateAgentURL and isSafeURL), on the shared classifier of http/ssrf.h.
 *
 * Deliberate differences from upstream, because this platform runs on one machine:
 *  - dev mode accepts loopback agents both at register and at dispatch (upstream's register
 *    check refuses http://127.0.0.1 even in dev mode, which breaks the out-of-the-box run);
 *  - private (RFC 1918, fd00::/8) addresses are refused even in dev mode: nothing on a single
 *    machine needs them, and they are where an SSRF does damage;
 *  - host names are resolved only at dispatch time (every address must pass), so a register
 *    never blocks on DNS; the dispatch check is the authoritative one;
 *  - IPv6 forms that carry an IPv4 address are judged by that IPv4 address (http/ssrf.h).
 */
#include "devplatform/dp_int.h"
#include "http/ssrf.h"
#include "http/url.h"

/* Dev mode allows loopback, never private addresses. */
static mol_ssrf_policy policy(int dev) { return (mol_ssrf_policy){.allow_loopback = dev}; }

int mol_dp__ssrf_addr_ok(const struct sockaddr *sa, int dev) {
  mol_ssrf_policy p = policy(dev);
  return mol_ssrf_addr_ok(sa, &p);
}

int mol_dp__ssrf_register_ok(const char *url, int dev) {
  mol_url u;
  if (mol_url_parse(url, &u) != 0) return 0;
  mol_ssrf_class c;
  mol_ssrf_policy p = policy(dev);
  if (mol_ssrf_classify_literal(u.host, &c)) return mol_ssrf_allowed(c, &p);
  return 1; /* names ("localhost" included, as upstream) are judged at dispatch time */
}

mol_dp__ssrf mol_dp__ssrf_url(const char *url, int dev, char host_out[256]) {
  mol_ssrf_policy p = policy(dev);
  switch (mol_ssrf_check_url(url, &p, host_out)) {
    case MOL_SSRF_OK: return MOL_DP__SSRF_OK;
    case MOL_SSRF_REFUSED: return MOL_DP__SSRF_BLOCKED;
    case MOL_SSRF_RESOLVE: return MOL_DP__SSRF_RESOLVE;
    default: return MOL_DP__SSRF_BADURL;
  }
}

int mol_dp__ssrf_resolve(uv_loop_t *loop, const char *host, int dev, mol_dp__ssrf_cb cb,
                         void *arg) {
  mol_ssrf_policy p = policy(dev);
  return mol_ssrf_resolve(loop, host, &p, cb, arg);
}
