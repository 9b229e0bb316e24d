/* host_reload.h - `molecule host` reloads its host file on SIGHUP (host_reload.c). */
#ifndef MOL_CLI_HOST_RELOAD_H
#define MOL_CLI_HOST_RELOAD_H

#include <uv.h>

#include "runtime/host.h"

/* On each SIGHUP: reads path again (with the --listen override, if any: host non-NULL) and
 * applies it to h (mol_host_reload); a file that does not load is logged and changes nothing.
 * The handle is unref'd: it never keeps the loop alive. */
void mol_cli__host_reload_on_sighup(uv_loop_t *loop, mol_host *h, const char *path,
                                    const char *listen_host, int listen_port);
/* Closes the handle (when the host has ended). */
void mol_cli__host_reload_close(void);

#endif
