/* bench_tools_model - the scripted model of bench/tools: an OpenAI-compatible
 * POST /v1/chat/completions on our HTTP server, in a process of its own.
 *
 * A turn's first request (its user message is "turn <n>") is answered, after --delay-ms (+/- 25 %), with
 * K tool calls of --tool, arguments {"workspace_id":"<worker i mod W>","task":"turn <n> part <i>"}
 * (K = 0: with the answer at once). The request that brings their results back is answered,
 * after the same delay, with "done <n>: <the tool results joined by |>".
 *
 * Per turn it keeps the time from handing the tool-call reply to the HTTP server to the arrival
 * of the request with the results: everything the coordinator's tool step added to the turn
 * (reading the reply, its K calls, the new request). GET /stats?from=N answers
 * {"n","p50_us","p99_us","max_us","bad"} over turns >= N; "bad" counts requests that did not fit
 * the script (they are answered 400).
 *
 * Usage: bench_tools_model --listen PORT [--k 3] [--workers 3 | --ids ID,ID,...] [--delay-ms 0]
 *                          [--tool a2a_echo]
 * (the calls name workspaces w0, w1, ... or the --ids given)
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "base/json.h"
#include "http/server.h"
#include "molecule.h"

#define MAX_TURNS (1u << 20)

static struct {
  uv_loop_t loop;
  mol_http_server *srv;
  unsigned k, workers, delay_ms;
  const char *tool;
  char *ids[16];                 /* the workspace ids the calls name: --ids, or w0, w1, ... */
  uint64_t *replied_ns;          /* per turn: when its tool-call reply was handed over */
  uint64_t *gap_ns;              /* per turn: the tool step, 0 = none yet */
  size_t bad;
  uint64_t rng;
} M;

typedef struct {
  uv_timer_t timer;
  mol_http_req *r;
  char *body;
  unsigned long turn;
  int tool_reply;
} delayed;

/* ---- the script --------------------------------------------------------------------------- */

static json_t *completion(json_t *message, const char *finish) {
  return json_pack("{s:s,s:s,s:i,s:s,s:[{s:i,s:o,s:s}]}", "id", "bench", "object",
                   "chat.completion", "created", 1, "model", "bench", "choices", "index", 0,
                   "message", message, "finish_reason", finish);
}

static json_t *tool_calls_reply(unsigned long turn) {
  json_t *calls = json_array();
  for (unsigned i = 0; i < M.k; i++) {
    char id[48], args[256];
    snprintf(id, sizeof id, "call_%lu_%u", turn, i);
    snprintf(args, sizeof args, "{\"workspace_id\":\"%s\",\"task\":\"turn %lu part %u\"}",
             M.ids[i % M.workers], turn, i);
    json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type",
                                           "function", "function", "name", M.tool,
                                           "arguments", args));
  }
  return completion(json_pack("{s:s,s:n,s:o}", "role", "assistant", "content", "tool_calls",
                              calls), "tool_calls");
}

static json_t *answer(unsigned long turn, json_t *messages) {
  char head[48];
  snprintf(head, sizeof head, "done %lu: ", turn);
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, head);
  size_t i, n = 0;
  json_t *m;
  json_array_foreach(messages, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role || strcmp(role, "tool") != 0) continue;
    if (n++) mol_buf_append_str(&b, "|");
    mol_buf_append_str(&b, json_string_value(json_object_get(m, "content")));
  }
  json_t *v = completion(json_pack("{s:s,s:s}", "role", "assistant", "content", b.data), "stop");
  mol_buf_free(&b);
  return v;
}

/* The reply to one request, NULL when it does not fit the script. */
static char *script_reply(const char *body, unsigned long *turn, int *tool_reply) {
  json_t *req = json_loads(body, 0, NULL);
  json_t *messages = json_object_get(req, "messages");
  const char *first = json_string_value(json_object_get(json_array_get(messages, 0), "content"));
  const char *last = json_string_value(json_object_get(json_array_get(messages,
                                                       json_array_size(messages) - 1), "role"));
  json_t *reply = NULL;
  if (first && last && sscanf(first, "turn %lu", turn) == 1 && *turn < MAX_TURNS) {
    *tool_reply = M.k > 0 && strcmp(last, "user") == 0;
    if (*tool_reply) reply = tool_calls_reply(*turn);
    else if (M.k == 0 || strcmp(last, "tool") == 0) reply = answer(*turn, messages);
  }
  char *s = reply ? mol_json_dump(reply) : NULL;
  json_decref(reply);
  json_decref(req);
  return s;
}

/* ---- serving ------------------------------------------------------------------------------ */

static void respond(mol_http_req *r, const char *body, unsigned long turn, int tool_reply) {
  mol_http_respond(r, 200, "application/json", body, strlen(body));
  if (tool_reply) M.replied_ns[turn] = uv_hrtime();
}

static void on_delay_closed(uv_handle_t *h) {
  delayed *d = h->data;
  free(d->body);
  free(d);
}

static void on_delay(uv_timer_t *t) {
  delayed *d = t->data;
  respond(d->r, d->body, d->turn, d->tool_reply);
  uv_close((uv_handle_t *)&d->timer, on_delay_closed);
}

static void on_completion(mol_http_req *r, void *arg) {
  (void)arg;
  uint64_t now = uv_hrtime();
  unsigned long turn = 0;
  int tool_reply = 0;
  char *body = script_reply(mol_http_req_body(r, NULL), &turn, &tool_reply);
  if (!body) {
    M.bad++;
    mol_http_respond(r, 400, "application/json", "{\"error\":{\"message\":\"off script\"}}", 35);
    return;
  }
  if (!tool_reply && M.k > 0 && M.replied_ns[turn]) M.gap_ns[turn] = now - M.replied_ns[turn];
  if (M.delay_ms == 0) {
    respond(r, body, turn, tool_reply);
    free(body);
    return;
  }
  delayed *d = calloc(1, sizeof *d);
  d->r = r;
  d->body = body;
  d->turn = turn;
  d->tool_reply = tool_reply;
  uv_timer_init(&M.loop, &d->timer);
  d->timer.data = d;
  /* +/- 25 %, as a model's time varies: turns that happen to meet do not stay in step. */
  M.rng ^= M.rng << 13, M.rng ^= M.rng >> 7, M.rng ^= M.rng << 17;
  uv_timer_start(&d->timer, on_delay, M.delay_ms * 3 / 4 + M.rng % (M.delay_ms / 2 + 1), 0);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void on_stats(mol_http_req *r, void *arg) {
  (void)arg;
  const char *q = mol_http_req_query(r);
  unsigned long from = q && strncmp(q, "from=", 5) == 0 ? strtoul(q + 5, NULL, 10) : 0;
  uint64_t *g = malloc(MAX_TURNS * sizeof *g);
  size_t n = 0;
  for (size_t i = from; g && i < MAX_TURNS; i++)
    if (M.gap_ns[i]) g[n++] = M.gap_ns[i];
  if (n) qsort(g, n, sizeof *g, cmp_u64);
  char body[256];
  int len = snprintf(body, sizeof body, "{\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"bad\":%zu}",
                     n, n ? g[n / 2] / 1e3 : 0, n ? g[n * 99 / 100] / 1e3 : 0,
                     n ? g[n - 1] / 1e3 : 0, M.bad);
  free(g);
  mol_http_respond(r, 200, "application/json", body, (size_t)len);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"listen", required_argument, NULL, 'l'}, {"k", required_argument, NULL, 'k'},
      {"workers", required_argument, NULL, 'w'}, {"delay-ms", required_argument, NULL, 'd'},
      {"tool", required_argument, NULL, 't'}, {"ids", required_argument, NULL, 'i'},
      {NULL, 0, NULL, 0}};
  char *ids = NULL;
  int port = 0, c;
  M.k = 3, M.workers = 3, M.tool = "a2a_echo", M.rng = 0x2545f4914f6cdd1dull;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'l': port = atoi(optarg); break;
    case 'k': M.k = (unsigned)atoi(optarg); break;
    case 'w': M.workers = (unsigned)atoi(optarg); break;
    case 'd': M.delay_ms = (unsigned)atoi(optarg); break;
    case 't': M.tool = optarg; break;
    case 'i': ids = optarg; break;
    default: return 2;
    }
  }
  for (unsigned i = 0; i < 16; i++) {
    char w[16];
    snprintf(w, sizeof w, "w%u", i);
    M.ids[i] = strdup(w);
  }
  if (ids) { /* comma-separated: the workers are these workspaces */
    M.workers = 0;
    for (char *id = strtok(ids, ","); id && M.workers < 16; id = strtok(NULL, ",")) {
      free(M.ids[M.workers]);
      M.ids[M.workers++] = strdup(id);
    }
  }
  if (port <= 0 || M.workers == 0 || M.workers > 16) {
    fprintf(stderr, "usage: bench_tools_model --listen PORT [--k 3] [--workers 3] [--delay-ms 0] [--tool NAME]\n");
    return 2;
  }
  M.replied_ns = calloc(MAX_TURNS, sizeof *M.replied_ns);
  M.gap_ns = calloc(MAX_TURNS, sizeof *M.gap_ns);
  uv_loop_init(&M.loop);
  mol_http_server_opts so = {.max_connections = 16384, .max_body_bytes = 16u << 20};
  if (!M.replied_ns || !M.gap_ns || mol_http_server_new(&M.loop, &so, &M.srv) ||
      mol_http_server_route(M.srv, "POST", "/v1/chat/completions", 0, on_completion, NULL) ||
      mol_http_server_route(M.srv, "GET", "/stats", 0, on_stats, NULL) ||
      mol_http_server_listen(M.srv, "127.0.0.1", port)) {
    fprintf(stderr, "bench_tools_model: cannot listen on %d\n", port);
    return 1;
  }
  return uv_run(&M.loop, UV_RUN_DEFAULT);
}
