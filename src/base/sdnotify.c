/* sdnotify.c - "READY=1" and "STOPPING=1" to systemd's $NOTIFY_SOCKET (see sdnotify.h). */
#include "base/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "molecule.h"

static int read_once;
static char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];

void mol_sd_notify_init(void) {
  if (read_once) return;
  read_once = 1;
  const char *p = getenv("NOTIFY_SOCKET");
  if (p && (p[0] == '/' || p[0] == '@') && strlen(p) < sizeof(notify_path))
    snprintf(notify_path, sizeof(notify_path), "%s", p);
  unsetenv("NOTIFY_SOCKET");
}

/* The socket address of notify_path: '@' stands for the abstract namespace's leading NUL. */
static socklen_t notify_addr(struct sockaddr_un *sa) {
  size_t n = strlen(notify_path);
  if (n > sizeof(sa->sun_path) - (notify_path[0] == '/')) return 0; /* room for the NUL */
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, notify_path, n);
  if (sa->sun_path[0] == '@') sa->sun_path[0] = '\0';
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (notify_path[0] == '/'));
}

int mol_sd_notify(const char *state) {
  mol_sd_notify_init();
  if (!notify_path[0] || !state) return 0;
  struct sockaddr_un sa;
  socklen_t len = notify_addr(&sa);
  if (!len) return MOL_EINVAL;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
  int err = n < 0 ? -errno : 0;
  close(fd);
  return err ? err : 1;
}
