/* server_addr.c - the listeners' socket addresses for server.c: a HOST and PORT parsed for
 * bind, SO_REUSEPORT set before it, and what a bound listener reports back (its port, and a
 * host a local client can connect to). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "http/server_int.h"
#include "molecule.h"

int mol_http__addr_parse(const char *host, int port, mol_http__sock_addr *a) {
  if (port < 0 || port > 65535) return MOL_EINVAL;
  int rc = strchr(host, ':') ? uv_ip6_addr(host, port, &a->v6) : uv_ip4_addr(host, port, &a->v4);
  return rc ? MOL_EINVAL : 0;
}

/* SO_REUSEPORT lets one loop per thread or process share the port (docs/architecture.md); libuv
 * 1.44 has no flag for it, so it is set on the socket before bind. */
int mol_http__addr_reuse_port(uv_tcp_t *t) {
  uv_os_fd_t fd;
  int on = 1;
  if (uv_fileno((uv_handle_t *)t, &fd)) return MOL_EINVAL;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ? -errno : 0;
}

int mol_http__addr_port(uv_tcp_t *t) {
  mol_http__sock_addr a;
  int len = sizeof(a);
  if (uv_tcp_getsockname(t, &a.sa, &len)) return MOL_EINVAL;
  return ntohs(a.sa.sa_family == AF_INET6 ? a.v6.sin6_port : a.v4.sin_port);
}

int mol_http__addr_local_host(uv_tcp_t *t, char *buf, size_t n) {
  mol_http__sock_addr a;
  int len = sizeof(a);
  if (uv_tcp_getsockname(t, &a.sa, &len)) return MOL_EINVAL;
  char ip[64];
  int v6 = a.sa.sa_family == AF_INET6, rc;
  if (v6) rc = uv_ip6_name(&a.v6, ip, sizeof(ip));
  else rc = uv_ip4_name(&a.v4, ip, sizeof(ip));
  if (rc) return MOL_EINVAL;
  /* A wildcard is not an address to connect to: the loopback of its family is. */
  const char *host = !v6 && strcmp(ip, "0.0.0.0") == 0 ? "127.0.0.1"
                     : v6 && strcmp(ip, "::") == 0    ? "::1" : ip;
  int w = snprintf(buf, n, v6 ? "[%s]" : "%s", host);
  return w < 0 || (size_t)w >= n ? MOL_ELIMIT : 0;
}
