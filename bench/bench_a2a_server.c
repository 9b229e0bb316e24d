/* bench_a2a_server - the A2A server with the echo executor and nothing else: what
 * `molecule serve --executor echo` runs, without the CLI around it (for profiling). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "molecule.h"

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 18111;
  uv_loop_t *loop = uv_default_loop();
  mol_a2a_executor ex;
  mol_echo_opts eo = {0};
  mol_echo_new(&eo, &ex);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
  mol_a2a_card card = {.name = "echo", .url = url, .streaming = 1};
  mol_http_server *http;
  mol_a2a_server *a2a;
  mol_a2a_server_opts ao = {.card = &card, .executor = &ex};
  int rc = mol_http_server_new(loop, NULL, &http);
  if (!rc) rc = mol_a2a_server_new(loop, http, &ao, &a2a);
  if (!rc) rc = mol_http_server_listen(http, "127.0.0.1", port);
  if (rc) {
    fprintf(stderr, "bench_a2a_server: %s\n", mol_strerror(rc));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
