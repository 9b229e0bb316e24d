/* respond.c - the reply writers every handler shares: a mol_dp__reply (status, JSON body,
 * Retry-After) or an upstream body passed through verbatim, onto the server request.
 *
 * They sit below the handlers (routes.c for synchronous answers, the proxy's dispatches and the
 * plugin packer for later ones) and above commit.c, which holds a reply until the write
 * transaction it saw is committed; nothing here calls back up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devplatform/dp_int.h"
#include "http/server.h"

void mol_dp__respond(mol_devplatform *dp, void *req, mol_dp__reply *r) {
  /* mol_json_dump writes what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes, key order
   * included, at a fraction of its cost: jansson's was ~6.7k instructions per reply. */
  char *body = r->body ? mol_json_dump(r->body) : NULL;
  if (r->retry_after >= 0) {
    char ra[24];
    snprintf(ra, sizeof ra, "%d", r->retry_after);
    mol_http_resp_header(req, "Retry-After", ra);
  }
  mol_dp__send(dp, req, r->status, body, body ? strlen(body) : 0); /* may wait for the commit */
}

void mol_dp__respond_raw(mol_devplatform *dp, void *req, int status, const char *body,
                         size_t len) {
  mol_dp__send_copy(dp, req, status, body, len);
}
