/* metrics_proc.c - the /metrics of serve, platform and dev (see metrics_proc.h). A scrape is
 * built whole and sent with one response: these processes have a fixed, small set of series
 * (unlike a host's per-agent ones, which runtime/host_metrics.c streams). */
#include "cli/metrics_proc.h"

#include <stdlib.h>
#include <string.h>

#include "base/procstat.h"
#include "molecule.h"

int mol_cli__metrics_text(const mol_http_server *s, mol_cli__metrics_more more, void *arg,
                          mol_buf *out) {
  int rc = mol_procstat_write(out);
  if (!rc && s) rc = mol_http_server_requests_write(s, out);
  if (!rc && more) rc = more(out, arg);
  return rc;
}

static void on_metrics(mol_http_req *r, void *arg) {
  mol_cli__metrics *m = arg;
  mol_buf body = MOL_BUF_INIT;
  int rc = mol_cli__metrics_text(m->s, m->more, m->arg, &body);
  if (rc) {
    const char *why = mol_strerror(rc);
    mol_http_respond(r, 500, "text/plain", why, strlen(why));
  } else {
    mol_http_respond(r, 200, "text/plain; version=0.0.4", body.data, body.len);
  }
  mol_buf_free(&body);
}

int mol_cli__metrics_route(mol_cli__metrics *m, mol_http_server *s, mol_cli__metrics_more more,
                           void *arg) {
  *m = (mol_cli__metrics){.s = s, .more = more, .arg = arg};
  return mol_http_server_route(s, "GET", "/metrics", 0, on_metrics, m);
}
