/* bench_http_server - molecule's HTTP server answering every request with a fixed body:
 * the counterpart of the nginx configuration in bench/http. One loop, one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "molecule.h"

static const char *body = "{\"ok\":true}";
static size_t body_len;

static void on_request(mol_http_req *r, void *arg) {
  (void)arg;
  mol_http_respond(r, 200, "application/json", body, body_len);
}

int main(int argc, char **argv) {
  int port = 18081;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--body") == 0) body = argv[i + 1];
  }
  body_len = strlen(body);
  uv_loop_t *loop = uv_default_loop();
  mol_http_server *s;
  mol_http_server_opts o = {.max_connections = 20000};
  int rc = mol_http_server_new(loop, &o, &s);
  if (!rc) rc = mol_http_server_route(s, NULL, "/", 1, on_request, NULL);
  if (!rc) rc = mol_http_server_listen(s, "127.0.0.1", port);
  if (rc) {
    fprintf(stderr, "bench_http_server: %s\n", mol_strerror(rc));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
