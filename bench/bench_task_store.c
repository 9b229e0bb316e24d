/* bench_task_store - what one stored A2A task costs in memory (docs/a2a.md, "Task store").
 *
 * One process, one loop: the A2A server with the instant echo executor on a loopback port and
 * our HTTP client. N Molecule-shaped message/send requests with blocking:false (the task stays
 * in the store, completed with the echo as its status message), one at a time; then a
 * tasks/get of each. The heap in use (glibc mallinfo2) is read before and after, once every
 * response has been freed, so the difference is what the stored tasks hold; the store's own
 * count (what it charges against its budget) is printed beside it.
 * Usage: bench_task_store [tasks=20000] */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "http/client.h"
#include "molecule.h"

static uv_loop_t loop;
static mol_http_client *client;
static char url[64];

typedef struct {
  int done, status;
  char id[40];
} result;

static void on_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  result *o = arg;
  o->done = 1;
  o->status = err ? -1 : resp->status;
  if (err || !resp->body) return;
  json_t *v = json_loadb(resp->body, resp->body_len, 0, NULL);
  const char *id = json_string_value(json_object_get(json_object_get(v, "result"), "id"));
  if (id) snprintf(o->id, sizeof(o->id), "%s", id);
  json_decref(v);
}

static int rpc(const char *body, result *o) {
  memset(o, 0, sizeof(*o));
  mol_http_header h = {"Content-Type", "application/json"};
  mol_http_request_opts opts = {.method = "POST", .url = url, .headers = &h, .nheaders = 1,
                                .body = body, .body_len = strlen(body)};
  if (mol_http_request_send(client, &opts, on_done, o, NULL) != 0) return -1;
  while (!o->done) uv_run(&loop, UV_RUN_ONCE);
  return o->status == 200 && o->id[0] ? 0 : -1;
}

static const char send_body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b\","
    "\"method\":\"message/send\","
    "\"params\":{\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\","
    "\"messageId\":\"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d\",\"parts\":[{\"kind\":\"text\","
    "\"text\":\"Summarise the quarterly report and list the three biggest risks.\"}]}}}";

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
  if (n == 0) return 2;
  uv_loop_init(&loop);
  mol_a2a_executor ex;
  mol_echo_opts eo = {0};
  mol_http_server *http;
  mol_a2a_server *a2a;
  mol_echo_new(&eo, &ex);
  int rc = mol_http_server_new(&loop, NULL, &http);
  if (!rc) rc = mol_http_server_listen(http, "127.0.0.1", 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", mol_http_server_port(http));
  mol_a2a_card card = {.name = "echo", .url = url};
  mol_a2a_server_opts ao = {.card = &card, .executor = &ex};
  if (!rc) rc = mol_a2a_server_new(&loop, http, &ao, &a2a);
  if (!rc) rc = mol_http_client_new(&loop, NULL, &client);
  if (rc) {
    fprintf(stderr, "bench_task_store: %s\n", mol_strerror(rc));
    return 1;
  }
  char (*ids)[40] = calloc(n, sizeof(*ids)); /* before the baseline: not a task's cost */
  result r;
  for (int i = 0; i < 500; i++) /* warm-up: the connection, the allocator's arenas */
    if (rpc(send_body, &r)) return 1;
  mol_a2a_server_stats s0, s1;
  mol_a2a_server_stats_get(a2a, &s0);
  size_t h0 = heap_in_use();
  for (size_t i = 0; i < n; i++) {
    if (rpc(send_body, &r)) return 1;
    memcpy(ids[i], r.id, sizeof(r.id));
  }
  size_t h1 = heap_in_use();
  mol_a2a_server_stats_get(a2a, &s1);
  char body[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\","
                                 "\"params\":{\"id\":\"%s\"}}", ids[i]);
    if (rpc(body, &r)) return 1;
  }
  size_t h2 = heap_in_use();
  size_t tasks = s1.tasks - s0.tasks;
  printf("tasks=%zu heap_per_task_b=%.0f heap_per_task_after_get_b=%.0f charged_per_task_b=%.0f "
         "evicted=%llu default_budget_tasks=%.0f\n",
         tasks, (double)(h1 - h0) / tasks, (double)(h2 - h0) / tasks,
         (double)(s1.task_bytes - s0.task_bytes) / tasks, s1.tasks_evicted,
         (double)MOL_A2A_STORE_DEFAULT_BYTES / ((double)(s1.task_bytes - s0.task_bytes) / tasks));
  free(ids);
  return 0;
}
