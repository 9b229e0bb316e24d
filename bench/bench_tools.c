/* bench_tools - a coordinator agent with the tool loop: N turns, C of them in flight at any
 * time, through the chat executor against the scripted model of bench_tools_model, each turn
 * fanning out to K tool calls that go to workers over loopback (bench/tools/run.sh starts the
 * model and the workers as processes of their own).
 *
 * Turns start directly on an A2A task store (mol_a2a_store_begin + mol_a2a_turn_start, no A2A
 * HTTP in front, as bench_turns does), so what is measured is the tool loop and its calls. Each
 * turn must end with the model's answer naming every tool result, or the run fails.
 *
 * The tool is pluggable (--tool NAME, the table below); its name is the one the model calls
 * and its arguments are delegate_to_workspace's, {"workspace_id","task"}:
 *   a2a_echo  message/send of the task to the worker the workspace id names (--worker ID=URL),
 *             through the A2A client on the coordinator's HTTP client; the reply text is the
 *             result.
 *   a2a_platform  the same message/send, through the platform's A2A proxy
 *             (mol_platform_call_peer, proxy only) as the coordinator workspace (--platform,
 *             --workspace-id, --token); --worker ID=TARGET names the target workspace.
 *   delegate_to_workspace  the built-in tool (with the rest of the core set, as an agent has
 *             them): POST /workspaces/<self>/delegate to the platform (--platform ...), which
 *             sends the task to the worker --worker ID=TARGET names and records the reply; the
 *             tool answers {"success":true,"task_id":...} once the platform took it.
 *   noop      answers at once with "noop: <task>": the tool loop's own cost, no tool I/O.
 *
 * Output: one line of key=value pairs (bench/tools/run.sh reads it): turns/s, the duration of
 * one tool call (p50/p99), CPU per turn, RSS and heap per in-flight turn. The first --warmup
 * turns are not counted; the first counted C start evenly over --ramp-ms (each ending turn is
 * replaced at once, so they stay spread), and RSS is read once they are all in flight.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "a2a/task.h"
#include "a2a_uv/client.h"
#include "a2a_uv/turn.h"
#include "http/client.h"
#include "molecule.h"
#include "molecule/uv.h"
#include "runtime/exec_chat.h"
#include "tools/builtin.h"
#include "tools/registry.h"

#define MAX_WORKERS 16

static struct {
  uv_loop_t loop;
  mol_http_client *http;
  mol_tool_env env;
  mol_platform_client *platform; /* --platform: the coordinator's client, for platform tools */
  mol_tools *tools;
  mol_tools_builtin *builtin;   /* delegate_to_workspace: the core set's shared state */
  mol_a2a_executor chat;
  mol_a2a_store *store;
  uv_check_t starter;
  size_t n, warmup, conc, k;
  size_t started, ended, answered, wrong, to_start;
  size_t limit;                 /* turns to start in this phase */
  const char *result_fmt;       /* what one call returns for its task, NULL: not checked */
  const char *result_has;       /* else what each of the K results must contain, or NULL */
  char *worker_id[MAX_WORKERS];
  char *worker_to[MAX_WORKERS];  /* the URL (a2a_echo) or workspace id (platform tools) */
  mol_a2a_client *worker[MAX_WORKERS];
  size_t nworkers;
  uint64_t *call_ns;            /* durations of counted tool calls */
  size_t ncalls, calls_failed;
  uint64_t t_counted;           /* when the first counted turn started */
  double cpu_counted;
} B;

/* ---- measurements ------------------------------------------------------------------------- */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int counted_task(const char *task) {
  unsigned long turn;
  return task && sscanf(task, "turn %lu", &turn) == 1 && turn >= B.warmup;
}

/* ---- the tool: a2a_echo ------------------------------------------------------------------- */

typedef struct {
  mol_tool_call *call;
  mol_a2a_call *a2a;
  uint64_t t0;
  int counted;
} echo_call;

static void echo_done(mol_a2a_call *a2a, int err, const mol_a2a_result *res, void *arg) {
  (void)a2a;
  echo_call *e = arg;
  if (e->counted && !err && B.ncalls < B.n * B.k) B.call_ns[B.ncalls++] = uv_hrtime() - e->t0;
  if (err) {
    B.calls_failed++;
    mol_tool_call_fail(e->call, "%s", *res->detail ? res->detail : mol_strerror(err));
  } else {
    mol_tool_call_done(e->call, res->text, (size_t)-1);
  }
  free(e);
}

static int worker_index(const char *ws) {
  for (size_t i = 0; ws && i < B.nworkers; i++)
    if (strcmp(B.worker_id[i], ws) == 0) return (int)i;
  return -1;
}

static int echo_start(mol_tool_call *call, json_t *args) {
  const char *ws = json_string_value(json_object_get(args, "workspace_id"));
  const char *task = json_string_value(json_object_get(args, "task"));
  int w = worker_index(ws);
  mol_a2a_client *worker = w < 0 ? NULL : B.worker[w];
  if (!worker) {
    mol_tool_call_fail(call, "workspace %s is not a peer", ws ? ws : "");
    return 0;
  }
  echo_call *e = calloc(1, sizeof *e);
  json_t *msg = mol_a2a_message_new(MOL_A2A_ROLE_USER, task);
  if (!e || !msg) {
    free(e);
    json_decref(msg);
    return MOL_ENOMEM;
  }
  e->call = call;
  e->t0 = uv_hrtime();
  e->counted = counted_task(task);
  int rc = mol_a2a_send(worker, msg, NULL, echo_done, e, &e->a2a);
  json_decref(msg);
  if (rc) {
    free(e);
    return rc;
  }
  mol_tool_call_set_data(call, e);
  return 0;
}

static void echo_cancel(mol_tool_call *call) {
  echo_call *e = mol_tool_call_data(call);
  mol_a2a_client_cancel(e->a2a); /* echo_done follows and ends the call */
}

static int add_a2a_echo(mol_tools *reg) {
  mol_tool_def def = {
      .name = "a2a_echo",
      .description = "Sends a task to a peer workspace over A2A and returns its reply.",
      .input_schema = "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\"},"
                      "\"task\":{\"type\":\"string\"}},\"required\":[\"workspace_id\",\"task\"]}",
      .start = echo_start,
      .cancel = echo_cancel};
  return mol_tools_add(reg, &def);
}

/* ---- the tool: a2a_platform --------------------------------------------------------------- */

typedef struct {
  mol_tool_call *call;
  mol_platform_req *req;
  uint64_t t0;
  int counted;
} peer_call;

static void peer_done(int err, const mol_platform_result *res, void *arg) {
  peer_call *e = arg;
  if (e->counted && !err && B.ncalls < B.n * B.k) B.call_ns[B.ncalls++] = uv_hrtime() - e->t0;
  if (err || res->queued) {
    B.calls_failed++;
    mol_tool_call_fail(e->call, "%s", err ? mol_strerror(err) : "queued by the platform");
  } else {
    mol_tool_call_done(e->call, res->text ? res->text : "", (size_t)-1);
  }
  free(e);
}

static int peer_start(mol_tool_call *call, json_t *args) {
  const char *ws = json_string_value(json_object_get(args, "workspace_id"));
  const char *task = json_string_value(json_object_get(args, "task"));
  int w = worker_index(ws);
  if (w < 0 || !B.platform) {
    mol_tool_call_fail(call, "workspace %s is not a peer", ws ? ws : "");
    return 0;
  }
  peer_call *e = calloc(1, sizeof *e);
  if (!e) return MOL_ENOMEM;
  e->call = call;
  e->t0 = uv_hrtime();
  e->counted = counted_task(task);
  mol_platform_call_peer_opts po = {.proxy_only = 1};
  int rc = mol_platform_call_peer(B.platform, B.worker_to[w], task, &po, NULL, peer_done, e, &e->req);
  if (rc) {
    free(e);
    return rc;
  }
  mol_tool_call_set_data(call, e);
  return 0;
}

static void peer_cancel(mol_tool_call *call) {
  peer_call *e = mol_tool_call_data(call);
  mol_platform_cancel(e->req); /* peer_done follows and ends the call */
}

static int add_a2a_platform(mol_tools *reg) {
  mol_tool_def def = {
      .name = "a2a_platform",
      .description = "Sends a task to a peer workspace through the platform and returns its reply.",
      .input_schema = "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\"},"
                      "\"task\":{\"type\":\"string\"}},\"required\":[\"workspace_id\",\"task\"]}",
      .start = peer_start,
      .cancel = peer_cancel};
  return mol_tools_add(reg, &def);
}

/* ---- the tool: noop (the loop's own cost: no I/O) ------------------------------------------ */

static int noop_start(mol_tool_call *call, json_t *args) {
  char text[160];
  snprintf(text, sizeof text, "noop: %s", json_string_value(json_object_get(args, "task")));
  mol_tool_call_done(call, text, (size_t)-1);
  return 0;
}

static int add_noop(mol_tools *reg) {
  mol_tool_def def = {
      .name = "noop",
      .description = "Answers at once with its task: measures the tool loop without a tool's I/O.",
      .input_schema = "{\"type\":\"object\",\"properties\":{\"workspace_id\":{\"type\":\"string\"},"
                      "\"task\":{\"type\":\"string\"}},\"required\":[\"workspace_id\",\"task\"]}",
      .start = noop_start};
  return mol_tools_add(reg, &def);
}

/* ---- the tool: delegate_to_workspace (built in) -------------------------------------------- */

/* The core set as the runtime gives it to an agent's chat executor; its tools run through
 * B.env's platform client as the coordinator workspace. Its calls are not timed here (the
 * registry runs them): the model's view of the tool step is the latency measured. */
static int add_core_set(mol_tools *reg) {
  if (!B.platform) return MOL_EINVAL;
  B.builtin = mol_tools_builtin_new(NULL);
  return B.builtin ? mol_tools_add_core(reg, B.builtin) : MOL_ENOMEM;
}

/* The tools a run can fan out to. A tool that needs the platform finds the coordinator's client
 * and workspace id in B.env (run.sh starts the platform and registers the workspaces for every
 * tool but a2a_echo and noop); run.sh's TOOL picks one. */
static const struct {
  const char *name;
  int (*add)(mol_tools *reg);
  const char *result_fmt;
  const char *result_has;
} tool_table[] = {
    {"a2a_echo", add_a2a_echo, "echo: %s", NULL},
    {"a2a_platform", add_a2a_platform, "echo: %s", NULL},
    {"delegate_to_workspace", add_core_set, NULL, "\"success\":true"},
    {"noop", add_noop, "noop: %s", NULL},
};

/* ---- turns -------------------------------------------------------------------------------- */

/* "done <n>: r0|r1|…", each r the tool's result for "turn <n> part <i>". */
static int answer_ok(size_t turn, const char *text) {
  char want[4096];
  int len = snprintf(want, sizeof want, "done %zu: ", turn);
  if (strncmp(text, want, (size_t)len) != 0) return 0;
  if (!B.result_fmt) { /* results the tool makes up (ids): each must say it succeeded */
    size_t n = 0;
    for (const char *p = text; B.result_has && (p = strstr(p, B.result_has)); p++) n++;
    return !B.result_has || n == B.k;
  }
  for (size_t i = 0; i < B.k && (size_t)len < sizeof want; i++) {
    char task[64];
    snprintf(task, sizeof task, "turn %zu part %zu", turn, i);
    len += snprintf(want + len, sizeof want - (size_t)len, "%s", i ? "|" : "");
    len += snprintf(want + len, sizeof want - (size_t)len, B.result_fmt, task);
  }
  return strcmp(text, want) == 0;
}

static void on_turn_reply(mol_a2a_turn *t, const mol_a2a_cmsg *msg, void *arg) {
  (void)t;
  char *text = mol_a2a_cmsg_text(msg);
  if (!text || !answer_ok((size_t)(uintptr_t)arg, text)) {
    if (B.wrong++ < 3) fprintf(stderr, "bench_tools: turn %zu answered: %s\n", (size_t)(uintptr_t)arg, text ? text : "(null)");
  } else {
    B.answered++;
  }
  free(text);
}

static void on_turn_end(mol_a2a_turn *t, void *arg) {
  (void)t;
  (void)arg;
  B.ended++;
  if (B.started + B.to_start < B.limit) B.to_start++;
}

static int start_turn(void) {
  char text[32];
  size_t i = B.started++;
  snprintf(text, sizeof text, "turn %zu", i);
  if (i == B.warmup) {
    B.t_counted = uv_hrtime();
    B.cpu_counted = cpu_s();
  }
  mol_a2a_cmsg *msg = mol_a2a_cmsg_new_text1(MOL_A2A_ROLE_USER, text);
  mol_a2a_task *task;
  mol_a2a_error err;
  int rc = msg ? mol_a2a_store_begin(B.store, &msg, &task, &err) : MOL_ENOMEM;
  mol_a2a_turn_hooks hooks = {.on_reply = on_turn_reply, .on_end = on_turn_end,
                              .arg = (void *)(uintptr_t)i};
  if (!rc) rc = mol_a2a_turn_start(&B.loop, task, msg, NULL, 0, &B.chat, &hooks, NULL);
  mol_a2a_cmsg_unref(msg);
  return rc;
}

/* Turns that ended make room for new ones on the next loop pass, outside their own ending. */
static void on_check(uv_check_t *h) {
  (void)h;
  while (B.to_start) {
    B.to_start--;
    if (B.started >= B.limit) continue; /* the ramp started it meanwhile */
    if (start_turn()) {
      fprintf(stderr, "bench_tools: a turn did not start\n");
      exit(1);
    }
  }
}

/* ---- phases ------------------------------------------------------------------------------- */

static void run_until_ended(size_t n) {
  while (B.ended < n) uv_run(&B.loop, UV_RUN_ONCE);
}

typedef struct {
  long rss0, rss1;
  size_t heap0, heap1;
} probe;

static struct {
  uv_timer_t timer;
  uint64_t t0;
  unsigned ms;
  size_t n, started;
} ramp;

static void start_or_die(void) {
  if (start_turn()) {
    fprintf(stderr, "bench_tools: a turn did not start\n");
    exit(1);
  }
}

/* Starts the batch evenly over the ramp: started together, C turns would stay in step with
 * each other (the model answers them together, their tool steps collide) instead of being C
 * independent turns in flight. */
static void on_ramp(uv_timer_t *t) {
  size_t due = (size_t)((uv_hrtime() - ramp.t0) / 1e6 * ramp.n / ramp.ms) + 1;
  while (ramp.started < ramp.n && ramp.started < due && B.started < B.limit) {
    ramp.started++;
    start_or_die();
  }
  if (ramp.started == ramp.n || B.started >= B.limit) uv_timer_stop(t);
}

/* Starts the first counted batch of C turns, spread over ramp_ms, and once they are all in
 * flight reads RSS and the heap in use against the values just before. */
static void start_counted(probe *p, unsigned ramp_ms) {
  p->rss0 = rss_kb();
  p->heap0 = mallinfo2().uordblks;
  ramp.n = B.conc < B.n - B.started ? B.conc : B.n - B.started;
  ramp.started = 0;
  if (ramp_ms == 0) {
    while (ramp.started < ramp.n) ramp.started++, start_or_die();
  } else {
    ramp.ms = ramp_ms;
    ramp.t0 = uv_hrtime();
    uv_timer_init(&B.loop, &ramp.timer);
    uv_timer_start(&ramp.timer, on_ramp, 0, 1);
    while (uv_is_active((uv_handle_t *)&ramp.timer)) uv_run(&B.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&ramp.timer, NULL);
  }
  p->rss1 = rss_kb();
  p->heap1 = mallinfo2().uordblks;
}

typedef struct {
  int done;
  char body[512];
} stats_req;

static void on_stats(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  stats_req *s = arg;
  snprintf(s->body, sizeof s->body, "%s", !err && resp->status == 200 ? resp->body : "{}");
  s->done = 1;
}

/* The model's view of the tool step of the counted turns. */
static json_t *model_stats(const char *model) {
  char url[256];
  snprintf(url, sizeof url, "%s/stats?from=%zu", model, B.warmup);
  stats_req s = {0};
  mol_http_request_opts o = {.url = url, .total_timeout_ms = 10000};
  if (mol_http_request_send(B.http, &o, on_stats, &s, NULL)) return json_object();
  while (!s.done) uv_run(&B.loop, UV_RUN_ONCE);
  json_t *v = json_loads(s.body, 0, NULL);
  return v ? v : json_object();
}

static int report(const probe *p, const char *model, const char *tool) {
  double secs = (uv_hrtime() - B.t_counted) / 1e9, cpu = cpu_s() - B.cpu_counted;
  size_t counted = B.n - B.warmup;
  qsort(B.call_ns, B.ncalls, sizeof *B.call_ns, cmp_u64);
  json_t *st = model_stats(model);
  double c50 = B.ncalls ? B.call_ns[B.ncalls / 2] / 1e3 : 0;
  double c99 = B.ncalls ? B.call_ns[B.ncalls * 99 / 100] / 1e3 : 0;
  double cmax = B.ncalls ? B.call_ns[B.ncalls - 1] / 1e3 : 0;
  size_t inflight = B.conc < counted ? B.conc : counted;
  printf("tool=%s turns=%zu counted=%zu concurrency=%zu k=%zu resolved=%zu answered=%zu wrong=%zu "
         "calls=%zu calls_failed=%zu model_bad=%lld throughput=%.0f call_p50_us=%.1f "
         "call_p99_us=%.1f call_max_us=%.1f step_n=%lld step_p50_us=%.1f step_p99_us=%.1f "
         "step_max_us=%.1f cpu_per_turn_us=%.2f rss_per_turn_b=%.0f heap_per_turn_b=%.0f\n",
         tool, B.n, counted, B.conc, B.k, B.ended, B.answered, B.wrong, B.ncalls, B.calls_failed,
         json_integer_value(json_object_get(st, "bad")), counted / secs, c50, c99, cmax,
         json_integer_value(json_object_get(st, "n")),
         json_number_value(json_object_get(st, "p50_us")),
         json_number_value(json_object_get(st, "p99_us")),
         json_number_value(json_object_get(st, "max_us")), cpu * 1e6 / counted,
         (p->rss1 - p->rss0) * 1024.0 / inflight,
         ((double)p->heap1 - (double)p->heap0) / inflight);
  fflush(stdout);
  int ok = B.ended == B.n && B.answered == B.n && !B.wrong && !B.calls_failed &&
           json_integer_value(json_object_get(st, "bad")) == 0;
  json_decref(st);
  return ok ? 0 : 1;
}

/* ---- setup -------------------------------------------------------------------------------- */

/* ID=URL (an A2A client for it) or ID=WORKSPACE (a target through the platform). */
static int add_worker(const char *spec) {
  const char *eq = strchr(spec, '=');
  if (!eq || B.nworkers == MAX_WORKERS) return MOL_EINVAL;
  size_t i = B.nworkers++;
  B.worker_id[i] = strndup(spec, (size_t)(eq - spec));
  B.worker_to[i] = strdup(eq + 1);
  if (strncmp(eq + 1, "http", 4) != 0) return 0;
  mol_a2a_client_opts o = {.url = eq + 1, .timeout_ms = 60000};
  return mol_a2a_client_new(&B.loop, B.http, &o, &B.worker[i]);
}

/* The coordinator's platform client: its token as given, the loop's pool sized for every turn. */
static int add_platform(const char *url, const char *id, const char *token) {
  mol_platform_opts o = {.platform_url = url, .workspace_id = id, .token = token,
                         .peer_timeout_ms = 60000, .pool_max_conns = (unsigned)B.conc + 64,
                         .pool_max_queued = 8 * (unsigned)B.conc + 1000};
  int rc = mol_platform_client_new(&B.loop, &o, &B.platform);
  B.env.platform = B.platform;
  B.env.workspace_id = id;
  return rc;
}

static int setup(const char *model, const char *tool, char **workers, size_t nworkers,
                 const char *platform, const char *ws, const char *token) {
  uv_loop_init(&B.loop);
  /* Every in-flight turn may hold a model connection and a worker connection: no request
   * should wait for a connection of the pool, or the wait would count as the loop's. */
  mol_http_client_opts co = {.max_conns_per_origin = (unsigned)B.conc + 64,
                             .max_idle_per_origin = (unsigned)B.conc + 64,
                             .max_queued = 8 * (unsigned)B.conc + 1000};
  int rc = mol_http_client_new(&B.loop, &co, &B.http);
  for (size_t i = 0; !rc && i < nworkers; i++) rc = add_worker(workers[i]);
  if (!rc && platform) rc = ws && token ? add_platform(platform, ws, token) : MOL_EINVAL;
  B.env.loop = &B.loop;
  B.tools = rc ? NULL : mol_tools_new(&B.env);
  size_t t = 0;
  while (t < sizeof tool_table / sizeof tool_table[0] && strcmp(tool_table[t].name, tool) != 0) t++;
  if (!rc && (!B.tools || t == sizeof tool_table / sizeof tool_table[0])) rc = MOL_EINVAL;
  if (!rc) rc = tool_table[t].add(B.tools);
  if (!rc) B.result_fmt = tool_table[t].result_fmt, B.result_has = tool_table[t].result_has;
  char base[256];
  snprintf(base, sizeof base, "%s/v1", model);
  mol_chat_opts ch = {.http = B.http, .api_base = base, .model = "bench", .tools = B.tools,
                      .timeout_ms = 60000, .tool_timeout_ms = 60000};
  if (!rc) rc = mol_chat_executor_new(&ch, &B.chat);
  mol_a2a_store_opts so = {.max_tasks = 2 * B.conc + 1024};
  if (!rc) rc = mol_a2a_store_new(&so, &B.store);
  if (!rc) rc = uv_check_init(&B.loop, &B.starter);
  if (!rc) rc = uv_check_start(&B.starter, on_check);
  if (rc) fprintf(stderr, "bench_tools: setup: %s\n", mol_strerror(rc));
  return rc;
}

static void on_closed(void *arg) { (*(int *)arg)--; }

static void teardown(void) {
  int parts = 1;
  uv_close((uv_handle_t *)&B.starter, NULL);
  for (size_t i = 0; i < B.nworkers; i++) {
    if (B.worker[i]) parts++, mol_a2a_client_close(B.worker[i], on_closed, &parts);
    free(B.worker_id[i]);
    free(B.worker_to[i]);
  }
  if (B.platform) parts++, mol_platform_client_close(B.platform, on_closed, &parts);
  mol_http_client_close(B.http, on_closed, &parts);
  while (parts > 0) uv_run(&B.loop, UV_RUN_ONCE);
  uv_run(&B.loop, UV_RUN_DEFAULT);
  mol_a2a_store_free(B.store);
  mol_chat_executor_free(&B.chat);
  mol_tools_free(B.tools);
  if (B.builtin) mol_tools_builtin_release(B.builtin);
  uv_loop_close(&B.loop);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_tools --model URL --worker ID=URL|ID=WORKSPACE... [--tool a2a_echo] [--k 3]\n"
                  "                   [--platform URL --workspace-id ID --token TOKEN]\n"
                  "                   [--turns 10000] [--concurrency 1000] [--warmup 1000] [--ramp-ms 0]\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"model", required_argument, NULL, 'm'}, {"worker", required_argument, NULL, 'w'},
      {"tool", required_argument, NULL, 't'}, {"k", required_argument, NULL, 'k'},
      {"turns", required_argument, NULL, 'n'}, {"concurrency", required_argument, NULL, 'c'},
      {"warmup", required_argument, NULL, 'u'}, {"ramp-ms", required_argument, NULL, 'p'},
      {"platform", required_argument, NULL, 'P'}, {"workspace-id", required_argument, NULL, 'W'},
      {"token", required_argument, NULL, 'T'},
      {NULL, 0, NULL, 0}};
  const char *model = NULL, *tool = "a2a_echo", *platform = NULL, *ws = NULL, *token = NULL;
  char *workers[MAX_WORKERS];
  size_t nworkers = 0;
  unsigned ramp_ms = 0;
  int c;
  B.n = 10000, B.conc = 1000, B.warmup = 1000, B.k = 3;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': model = optarg; break;
    case 'w': if (nworkers < MAX_WORKERS) workers[nworkers++] = optarg; break;
    case 't': tool = optarg; break;
    case 'k': B.k = strtoul(optarg, NULL, 10); break;
    case 'n': B.n = strtoul(optarg, NULL, 10); break;
    case 'c': B.conc = strtoul(optarg, NULL, 10); break;
    case 'u': B.warmup = strtoul(optarg, NULL, 10); break;
    case 'p': ramp_ms = (unsigned)atoi(optarg); break;
    case 'P': platform = optarg; break;
    case 'W': ws = optarg; break;
    case 'T': token = optarg; break;
    default: usage(); return 2;
    }
  }
  if (!model || !nworkers || !B.conc || B.warmup >= B.n) {
    usage();
    return 2;
  }
  mol_log_set_level(MOL_LOG_WARN);
  B.call_ns = malloc((B.n * B.k + 1) * sizeof *B.call_ns); /* before any baseline */
  if (!B.call_ns || setup(model, tool, workers, nworkers, platform, ws, token)) return 1;
  B.limit = B.warmup; /* the warm-up opens the pools and sizes the allocator */
  for (size_t i = 0; i < B.conc && i < B.warmup; i++)
    if (start_turn()) return 1;
  run_until_ended(B.warmup);
  B.limit = B.n;
  probe p;
  start_counted(&p, ramp_ms);
  run_until_ended(B.n);
  int failed = report(&p, model, tool);
  teardown();
  free(B.call_ns);
  if (failed) fprintf(stderr, "bench_tools: FAILED: not every turn resolved with every tool result\n");
  return failed;
}
