/* bench_turns - N concurrent A2A turns through the hermes plugin transport, in one process on
 * one loop (issue 5).
 *
 * Parts, all on one libuv loop: an A2A task store; the hermes executor with its reply server
 * on an ephemeral port; a fake hermes plugin (our HTTP server) that acknowledges each inbound
 * POST at once, records its message_id and replies later, through the same shared HTTP client
 * the executor uses. No A2A HTTP server sits in front: turns start directly with
 * mol_a2a_store_begin + mol_a2a_turn_start, so what is measured is the transport.
 *
 * Per round: start N turns; once the plugin holds all N (every turn pending), read RSS and the
 * heap in use against the values before the round; then the plugin replies to all of them,
 * either at a steady rate (--rate R per second, spread over 1 ms ticks) or all in one loop
 * iteration (--rate 0, "burst"). Added latency of a turn = its on_end time minus the moment
 * the plugin handed its reply POST to the HTTP client. Throughput = N / (last on_end - first
 * reply sent).
 *
 * Output: one line of key=value pairs per round (parsed by bench/turns/run.sh). Exits 1 when
 * a turn did not resolve with its own reply, or a reply POST was not acknowledged {"ok":true}.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "a2a/task.h"
#include "a2a_uv/turn.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"
#include "runtime/exec_hermes.h"

#define ID_LEN 32

typedef struct {
  uint64_t reply_ns, end_ns;
  char message_id[ID_LEN + 1];
  int ok; /* the turn ended with the plugin's reply to it */
} turn_rec;

static struct {
  uv_loop_t loop;
  mol_http_client *http;
  mol_http_server *plugin;
  mol_a2a_executor hermes;
  char callback_url[128];
  turn_rec *recs;
  size_t n, inbound, ended, replied, reply_acks, reply_bad, wrong;
  double rate;         /* replies per second; 0 = all at once */
  uint64_t tick_start_ns;
  uv_timer_t tick;
  int bad_inbound;
} B;

/* ---- measurements -------------------------------------------------------------------------- */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* ---- the fake plugin ----------------------------------------------------------------------- */

/* Records message_id for the turn named in content ("t<index>") and acknowledges at once, as
 * the real plugin does (it answers later, at callback_url). */
static void on_inbound(mol_http_req *r, void *arg) {
  (void)arg;
  json_t *b = json_loads(mol_http_req_body(r, NULL), 0, NULL);
  const char *content = json_string_value(json_object_get(b, "content"));
  const char *id = json_string_value(json_object_get(b, "message_id"));
  const char *cb = json_string_value(json_object_get(b, "callback_url"));
  size_t i = content && content[0] == 't' ? strtoul(content + 1, NULL, 10) : (size_t)-1;
  if (i < B.n && id && strlen(id) == ID_LEN && cb && strcmp(cb, B.callback_url) == 0) {
    memcpy(B.recs[i].message_id, id, ID_LEN + 1);
    B.inbound++;
  } else {
    B.bad_inbound++;
  }
  json_decref(b);
  mol_http_respond(r, 200, "application/json", "{\"ok\":true,\"queued\":true}", 26);
}

static void on_reply_acked(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  (void)arg;
  if (!err && resp->status == 200 && strcmp(resp->body, "{\"ok\":true}") == 0) B.reply_acks++;
  else B.reply_bad++;
}

static void send_reply(size_t i) {
  char body[200];
  int len = snprintf(body, sizeof body, "{\"chat_id\":\"c\",\"content\":\"reply t%zu\",\"reply_to\":\"%s\"}",
                     i, B.recs[i].message_id);
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"},
                             {"X-Molecule-A2A-Secret", mol_hermes_secret(&B.hermes)}};
  mol_http_request_opts o = {.method = "POST", .url = B.callback_url, .headers = hdrs,
                             .nheaders = 2, .body = body, .body_len = (size_t)len};
  B.recs[i].reply_ns = uv_hrtime();
  if (mol_http_request_send(B.http, &o, on_reply_acked, NULL, NULL) != 0) B.reply_bad++;
}

/* Steady rate: every 1 ms tick sends the replies due since the round's first tick. */
static void on_tick(uv_timer_t *t) {
  double secs = (uv_hrtime() - B.tick_start_ns) / 1e9;
  size_t due = (size_t)(secs * B.rate) + 1;
  while (B.replied < B.n && B.replied < due) send_reply(B.replied++);
  if (B.replied == B.n) uv_timer_stop(t);
}

/* ---- turns --------------------------------------------------------------------------------- */

static void on_turn_reply(mol_a2a_turn *t, const mol_a2a_cmsg *msg, void *arg) {
  (void)t;
  size_t i = (size_t)(uintptr_t)arg;
  char want[32];
  snprintf(want, sizeof want, "reply t%zu", i);
  char *text = mol_a2a_cmsg_text(msg);
  B.recs[i].ok = text && strcmp(text, want) == 0;
  free(text);
}

static void on_turn_end(mol_a2a_turn *t, void *arg) {
  (void)t;
  size_t i = (size_t)(uintptr_t)arg;
  B.recs[i].end_ns = uv_hrtime();
  B.ended++;
  if (!B.recs[i].ok) B.wrong++;
}

static int start_turn(mol_a2a_store *store, size_t i) {
  char text[32];
  snprintf(text, sizeof text, "t%zu", i);
  /* Held the way the A2A server holds a Molecule-shaped message/send: compactly. */
  mol_a2a_cmsg *msg = mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_USER, text);
  mol_a2a_task *task;
  mol_a2a_error err;
  int rc = msg ? mol_a2a_store_begin(store, &msg, &task, &err) : MOL_ENOMEM;
  mol_a2a_turn_hooks hooks = {.on_reply = on_turn_reply, .on_end = on_turn_end,
                              .arg = (void *)(uintptr_t)i};
  if (!rc) rc = mol_a2a_turn_start(&B.loop, task, msg, NULL, 0, &B.hermes, &hooks, NULL);
  mol_a2a_cmsg_unref(msg);
  return rc;
}

/* ---- rounds -------------------------------------------------------------------------------- */

static void on_settled(uv_timer_t *t) { *(int *)t->data = 1; }

/* Lets in-flight acknowledgements land (the inbound POSTs' 200s) before measuring. */
static void settle(unsigned ms) {
  uv_timer_t t;
  int done = 0;
  uv_timer_init(&B.loop, &t);
  t.data = &done;
  uv_timer_start(&t, on_settled, ms, 0);
  while (!done) uv_run(&B.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&B.loop, UV_RUN_NOWAIT);
}

typedef struct {
  long rss0, rss1;
  size_t heap0, heap1;
  double cpu_start, cpu_resolve, secs;
  uint64_t p50, p99, max;
} round_result;

static void start_all(mol_a2a_store *store, round_result *res) {
  res->rss0 = rss_kb();
  res->heap0 = heap_in_use();
  double c0 = cpu_s();
  for (size_t i = 0; i < B.n; i++)
    if (start_turn(store, i) != 0) {
      fprintf(stderr, "bench_turns: turn %zu did not start\n", i);
      exit(1);
    }
  while (B.inbound + B.bad_inbound < B.n) uv_run(&B.loop, UV_RUN_ONCE);
  settle(200);
  res->cpu_start = cpu_s() - c0;
  res->rss1 = rss_kb();
  res->heap1 = heap_in_use();
}

static void resolve_all(round_result *res) {
  double c0 = cpu_s();
  uint64_t t0 = uv_hrtime();
  if (B.rate > 0) {
    B.tick_start_ns = t0;
    uv_timer_start(&B.tick, on_tick, 0, 1);
  } else {
    while (B.replied < B.n) send_reply(B.replied++);
  }
  while (B.ended < B.n || B.reply_acks + B.reply_bad < B.n) uv_run(&B.loop, UV_RUN_ONCE);
  res->cpu_resolve = cpu_s() - c0;
  uint64_t last = 0, *lat = malloc(B.n * sizeof(*lat));
  for (size_t i = 0; i < B.n; i++) {
    lat[i] = B.recs[i].end_ns - B.recs[i].reply_ns;
    if (B.recs[i].end_ns > last) last = B.recs[i].end_ns;
  }
  qsort(lat, B.n, sizeof(*lat), cmp_u64);
  res->p50 = lat[B.n / 2];
  res->p99 = lat[(B.n * 99) / 100];
  res->max = lat[B.n - 1];
  res->secs = (last - t0) / 1e9;
  free(lat);
}

static int run_round(int round) {
  memset(B.recs, 0, B.n * sizeof(*B.recs));
  B.inbound = B.ended = B.replied = B.reply_acks = B.reply_bad = B.wrong = 0;
  B.bad_inbound = 0;
  mol_a2a_store_opts so = {.max_tasks = B.n + 16};
  mol_a2a_store *store;
  if (mol_a2a_store_new(&so, &store)) return 1;
  round_result r = {0};
  start_all(store, &r);
  size_t pending = mol_hermes_pending(&B.hermes);
  resolve_all(&r);
  mol_a2a_store_free(store);
  printf("round=%d turns=%zu pending=%zu resolved=%zu wrong=%zu reply_acks=%zu reply_bad=%zu "
         "bad_inbound=%d mode=%s rate=%.0f rss_per_turn_b=%.0f heap_per_turn_b=%.0f "
         "throughput=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f cpu_start_us=%.2f "
         "cpu_resolve_us=%.2f\n",
         round, B.n, pending, B.ended, B.wrong, B.reply_acks, B.reply_bad, B.bad_inbound,
         B.rate > 0 ? "steady" : "burst", B.rate, (r.rss1 - r.rss0) * 1024.0 / B.n,
         ((double)r.heap1 - (double)r.heap0) / B.n, B.n / r.secs, r.p50 / 1e3, r.p99 / 1e3,
         r.max / 1e3, r.cpu_start * 1e6 / B.n, r.cpu_resolve * 1e6 / B.n);
  fflush(stdout);
  return pending == B.n && B.ended == B.n && !B.wrong && B.reply_acks == B.n && !B.bad_inbound ? 0 : 1;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int setup(void) {
  uv_loop_init(&B.loop);
  /* Every turn's inbound POST and every reply POST go through this one pool: enough
   * connections that 10k requests queued at once drain quickly, and a queue that holds them. */
  mol_http_client_opts co = {.max_conns_per_origin = 256, .max_idle_per_origin = 256,
                             .max_queued = 4 * (unsigned)B.n + 1000};
  int rc = mol_http_client_new(&B.loop, &co, &B.http);
  mol_http_server_opts so = {.max_connections = 4096};
  if (!rc) rc = mol_http_server_new(&B.loop, &so, &B.plugin);
  if (!rc) rc = mol_http_server_route(B.plugin, "POST", "/a2a/inbound", 0, on_inbound, NULL);
  if (!rc) rc = mol_http_server_listen(B.plugin, "127.0.0.1", 0);
  mol_hermes_opts ho = {.http = B.http, .plugin_port = mol_http_server_port(B.plugin),
                        .reply_port = -1, .max_pending = B.n + 16};
  if (!rc) rc = mol_hermes_executor_new(&B.loop, &ho, &B.hermes);
  if (rc) {
    fprintf(stderr, "bench_turns: setup: %s\n", mol_strerror(rc));
    return rc;
  }
  snprintf(B.callback_url, sizeof B.callback_url, "%s", mol_hermes_callback_url(&B.hermes));
  uv_timer_init(&B.loop, &B.tick);
  return 0;
}

static void on_closed(void *arg) { (*(int *)arg)--; }

static void teardown(void) {
  int parts = 3;
  uv_close((uv_handle_t *)&B.tick, NULL);
  mol_hermes_executor_close(&B.hermes, on_closed, &parts);
  mol_http_server_close(B.plugin, 100, on_closed, &parts);
  mol_http_client_close(B.http, on_closed, &parts);
  while (parts > 0) uv_run(&B.loop, UV_RUN_ONCE);
  uv_run(&B.loop, UV_RUN_DEFAULT);
  uv_loop_close(&B.loop);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_turns [--turns N=10000] [--rate R=5000 (replies/s; 0 = all at once)]\n"
                  "                   [--rounds K=1] [--warmup W=500]\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"turns", required_argument, NULL, 'n'}, {"rate", required_argument, NULL, 'r'},
      {"rounds", required_argument, NULL, 'k'}, {"warmup", required_argument, NULL, 'w'},
      {NULL, 0, NULL, 0}};
  size_t n = 10000, warmup = 500;
  int rounds = 1, c;
  B.rate = 5000;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'n': n = strtoul(optarg, NULL, 10); break;
    case 'r': B.rate = atof(optarg); break;
    case 'k': rounds = atoi(optarg); break;
    case 'w': warmup = strtoul(optarg, NULL, 10); break;
    default: usage(); return 2;
    }
  }
  if (n == 0 || rounds < 1) {
    usage();
    return 2;
  }
  mol_log_set_level(MOL_LOG_WARN);
  B.n = n > warmup ? n : warmup;
  B.recs = calloc(B.n, sizeof(*B.recs)); /* allocated before any baseline: not a turn's cost */
  if (!B.recs || setup()) return 1;
  int failed = 0;
  if (warmup) { /* opens the pooled connections and sizes the allocator's arenas */
    size_t keep = B.n;
    B.n = warmup;
    failed |= run_round(0);
    B.n = keep;
  }
  for (int r = 1; r <= rounds; r++) failed |= run_round(r);
  teardown();
  free(B.recs);
  if (failed) fprintf(stderr, "bench_turns: FAILED: not every turn resolved with its reply\n");
  return failed;
}
