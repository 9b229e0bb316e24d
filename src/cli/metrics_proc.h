/* metrics_proc.h - GET /metrics for the commands that listen (serve, platform, dev): the
 * process's own series (molecule_build_info, process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds, ...), the requests the listener answered by
 * route and status (molecule_http_requests_total), then what the command adds. */
#ifndef MOL_CLI_METRICS_PROC_H
#define MOL_CLI_METRICS_PROC_H

#include "base/buf.h"
#include "http/server.h"

/* Appends the command's own series to out; 0, or an error (the scrape then answers 500). */
typedef int (*mol_cli__metrics_more)(mol_buf *out, void *arg);

/* The body of a scrape of s: the process's series, s's requests, then more (may be NULL). */
int mol_cli__metrics_text(const mol_http_server *s, mol_cli__metrics_more more, void *arg,
                          mol_buf *out);

/* A /metrics route: the caller's storage, which must outlive the server's routes. */
typedef struct {
  mol_http_server *s;
  mol_cli__metrics_more more;
  void *arg;
} mol_cli__metrics;

/* Routes GET /metrics on s to the text above (m filled in; s keeps the route until it
 * closes). */
int mol_cli__metrics_route(mol_cli__metrics *m, mol_http_server *s, mol_cli__metrics_more more,
                           void *arg);

#endif
