/* run.c - the load generator's loop: the target's endpoint (its card), the op pool, closed and
 * open loop, the measured window, the progress line (run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/crypto.h"
#include "bench/run_int.h"
#include "molecule.h"

static const char *const workload_names[MOL_BENCH_NWORK] = {"send", "stream", "task", "conversation"};

const char *mol_bench_workload_name(mol_bench_workload w) {
  return w < MOL_BENCH_NWORK ? workload_names[w] : "?";
}

int mol_bench_workload_parse(const char *name) {
  for (int i = 0; i < MOL_BENCH_NWORK; i++)
    if (!strcmp(name, workload_names[i])) return i;
  return -1;
}

void mol_bench_result_merge(mol_bench_result *dst, const mol_bench_result *src) {
  dst->elapsed_s += src->elapsed_s;
  if (src->in_flight_max > dst->in_flight_max) dst->in_flight_max = src->in_flight_max;
  if (src->rss_max_kb > dst->rss_max_kb) dst->rss_max_kb = src->rss_max_kb;
  for (int w = 0; w < MOL_BENCH_NWORK; w++) mol_bench_stats_merge(&dst->work[w], &src->work[w]);
  if (!dst->endpoint[0]) memcpy(dst->endpoint, src->endpoint, sizeof(dst->endpoint));
  if (!dst->agent[0]) memcpy(dst->agent, src->agent, sizeof(dst->agent));
}

/* ---- ops: pool, start, end ----------------------------------------------------------------- */

static mol_bench_op *op_get(mol_bench_runner *r) {
  mol_bench_op *op = r->free_ops;
  if (op) {
    r->free_ops = op->next_free;
    return op;
  }
  if (r->nops == r->cap_ops) {
    size_t cap = r->cap_ops ? 2 * r->cap_ops : 64;
    mol_bench_op **all = realloc(r->all_ops, cap * sizeof(*all));
    if (!all) return NULL;
    r->all_ops = all;
    r->cap_ops = cap;
  }
  op = calloc(1, sizeof(*op));
  if (!op) return NULL;
  op->r = r;
  uv_timer_init(&r->loop, &op->poll_timer);
  op->poll_timer.data = op;
  r->all_ops[r->nops++] = op;
  return op;
}

static int in_window(const mol_bench_runner *r, uint64_t t) {
  if (t < r->measure_from_ns) return 0;
  if (r->o->requests) return r->measured_started < r->o->requests;
  return t < r->measure_to_ns;
}

static void check_stop(mol_bench_runner *r, uint64_t now) {
  if (r->o->requests ? r->measured_started >= r->o->requests : now >= r->measure_to_ns)
    r->stopping = 1;
}

/* Starts an op whose latency counts from `origin` (its intended start in open loop). */
static void start_op(mol_bench_runner *r, uint64_t origin) {
  mol_bench_reply over;
  int measured = in_window(r, origin);
  if (measured) r->measured_started++;
  mol_bench_op *op = r->in_flight < r->o->max_in_flight ? op_get(r) : NULL;
  if (!op) { /* past the bound (or out of memory): counted, never silently dropped */
    memset(&over, 0, sizeof(over));
    mol_bench_reply_fail(&over, MOL_BENCH_E_OVERLOAD, 0, "%llu ops already in flight",
                         (unsigned long long)r->in_flight);
    if (measured) mol_bench_stats_error(&r->res->work[mol_bench_mix_next(&r->mix)], &over);
    return;
  }
  op->work = (mol_bench_workload)mol_bench_mix_next(&r->mix);
  op->seq = r->next_seq++;
  op->started_ns = origin;
  op->measured = measured;
  op->turn = op->requests = 0;
  op->task_id[0] = op->context_id[0] = '\0';
  if (++r->in_flight > r->res->in_flight_max) r->res->in_flight_max = r->in_flight;
  r->starting++;
  mol_bench__op_start(op);
  r->starting--;
}

void mol_bench__op_record(mol_bench_op *op, const mol_bench_reply *reply, uint64_t from_ns) {
  mol_bench_runner *r = op->r;
  uint64_t now = uv_hrtime();
  r->progress_done++;
  r->last_done_ns = now;
  if (!op->measured) return;
  mol_bench_stats *s = &r->res->work[op->work];
  if (reply->outcome == MOL_BENCH_OK) mol_bench_stats_ok(s, now > from_ns ? now - from_ns : 0);
  else mol_bench_stats_error(s, reply);
}

static void maybe_refill(mol_bench_runner *r);
static void refill(mol_bench_runner *r);

void mol_bench__op_end(mol_bench_op *op, const mol_bench_reply *reply, uint64_t latency_end_ns) {
  mol_bench_runner *r = op->r;
  if (reply) {
    uint64_t end = latency_end_ns ? latency_end_ns : uv_hrtime();
    r->progress_done++;
    r->last_done_ns = uv_hrtime();
    if (op->measured) {
      mol_bench_stats *s = &r->res->work[op->work];
      if (reply->outcome == MOL_BENCH_OK) mol_bench_stats_ok(s, end > op->started_ns ? end - op->started_ns : 0);
      else mol_bench_stats_error(s, reply);
    }
  }
  op->req = NULL;
  op->next_free = r->free_ops;
  r->free_ops = op;
  r->in_flight--;
  maybe_refill(r);
}

/* Closed loop: one op ends, the next starts - but never inside the call that started the op
 * that just failed (a refused send would otherwise recurse); the tick picks those up. */
static void maybe_refill(mol_bench_runner *r) {
  if (r->o->rate > 0 || r->stopping) return;
  uint64_t now = uv_hrtime();
  check_stop(r, now);
  if (r->stopping || r->in_flight >= r->o->concurrency) return;
  if (r->starting) r->refill_due = 1;
  else refill(r);
}

static void refill(mol_bench_runner *r) {
  r->refill_due = 0;
  uint64_t now = uv_hrtime();
  while (!r->stopping && r->in_flight < r->o->concurrency) {
    start_op(r, now);
    check_stop(r, now);
  }
}

/* ---- the tick: the open-loop schedule, the end of the window ------------------------------- */

static void issue_due(mol_bench_runner *r, uint64_t now) {
  uint64_t due = mol_bench_sched_due(&r->sched, now);
  while (!r->stopping && r->issued < due) {
    uint64_t at = mol_bench_sched_at(&r->sched, r->issued++);
    start_op(r, at);
    check_stop(r, at);
  }
}

static void on_tick(uv_timer_t *t) {
  mol_bench_runner *r = t->data;
  uint64_t now = uv_hrtime();
  if (r->o->interrupt && *r->o->interrupt && !r->stopping) {
    r->stopping = 1; /* the window ends now: its length is what ran */
    if (now < r->measure_to_ns) r->measure_to_ns = now > r->measure_from_ns ? now : r->measure_from_ns;
  }
  if (r->o->rate > 0) issue_due(r, now); /* the slots before the end first */
  if (!r->stopping) check_stop(r, now);
  if (r->o->rate <= 0 && r->refill_due) refill(r);
}

static void on_progress(uv_timer_t *t) {
  mol_bench_runner *r = t->data;
  uint64_t ok = 0, err = 0;
  for (int w = 0; w < MOL_BENCH_NWORK; w++) {
    ok += r->res->work[w].ok;
    err += r->res->work[w].errors;
  }
  double secs = (double)(uv_hrtime() - r->t0_ns) / 1e9;
  fprintf(stderr, "\r\033[K%s%s%6.1fs %9llu req/s  ok %llu  errors %llu  in flight %llu%s",
          r->o->label ? r->o->label : "", r->o->label ? " " : "", secs,
          (unsigned long long)(r->progress_done - r->progress_last), (unsigned long long)ok,
          (unsigned long long)err, (unsigned long long)r->in_flight,
          secs * 1e9 < (double)(r->measure_from_ns - r->t0_ns) ? "  (warm-up)" : "");
  r->progress_last = r->progress_done;
}

/* ---- the endpoint: from the agent card ----------------------------------------------------- */

typedef struct {
  int done, err, status;
  json_t *body;
} fetch_state;

static void on_fetched(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  fetch_state *f = arg;
  (void)req;
  f->done = 1;
  f->err = err;
  f->status = resp ? resp->status : 0;
  if (!err && resp && resp->status == 200) f->body = json_loadb(resp->body, resp->body_len, 0, NULL);
}

static int fetch_json(mol_bench_runner *r, const char *url, fetch_state *f) {
  memset(f, 0, sizeof(*f));
  mol_http_request_opts ro = {.url = url, .headers = r->headers + 1, .nheaders = r->nheaders - 1,
                              .total_timeout_ms = r->o->timeout_ms};
  int rc = mol_http_request_send(r->http, &ro, on_fetched, f, NULL);
  while (!rc && !f->done) uv_run(&r->loop, UV_RUN_ONCE);
  return rc ? rc : f->err;
}

/* The card URL of a base URL, or the URL itself when it already names a card. */
static void card_url(const char *url, const char *file, char *out, size_t n) {
  if (strstr(url, "/.well-known/")) {
    snprintf(out, n, "%s", url);
    return;
  }
  size_t len = strlen(url);
  while (len > 0 && url[len - 1] == '/') len--;
  snprintf(out, n, "%.*s/.well-known/%s", (int)len, url, file);
}

static int resolve_endpoint(mol_bench_runner *r, const char *url, char *err, size_t errlen) {
  if (r->o->no_card) {
    snprintf(r->endpoint, sizeof(r->endpoint), "%s", url);
    return 0;
  }
  char curl[600];
  fetch_state f;
  card_url(url, "agent-card.json", curl, sizeof(curl));
  int rc = fetch_json(r, curl, &f);
  if (!rc && f.status == 404 && !strstr(url, "/.well-known/")) {
    card_url(url, "agent.json", curl, sizeof(curl)); /* older agents (pre 0.3) */
    rc = fetch_json(r, curl, &f);
  }
  if (rc || f.status != 200 || !json_is_object(f.body)) {
    snprintf(err, errlen, "no agent card at %s: %s (use --no-card when URL is the endpoint)", curl,
             rc ? mol_strerror(rc) : f.status != 200 ? "not HTTP 200" : "not a JSON object");
    json_decref(f.body);
    return rc ? rc : MOL_EHTTP;
  }
  const char *ep = mol_bench_card_endpoint(f.body, r->o->binding);
  snprintf(r->res->agent, sizeof(r->res->agent), "%s",
           json_string_value(json_object_get(f.body, "name")) ? json_string_value(json_object_get(f.body, "name")) : "");
  if (ep) snprintf(r->endpoint, sizeof(r->endpoint), "%s", ep);
  else snprintf(err, errlen, "the agent card at %s offers no %s endpoint", curl,
                mol_bench_binding_name(r->o->binding));
  json_decref(f.body);
  return ep ? 0 : MOL_ENOTSUP;
}

/* ---- setup and teardown -------------------------------------------------------------------- */

static int make_headers(mol_bench_runner *r) {
  r->headers = calloc(r->o->nheaders + 3, sizeof(*r->headers));
  if (!r->headers) return MOL_ENOMEM;
  r->headers[r->nheaders++] = (mol_http_header){"Content-Type", "application/json"};
  if (r->o->binding != MOL_BENCH_JSONRPC_V03)
    r->headers[r->nheaders++] = (mol_http_header){"A2A-Version", "1.0"};
  for (size_t i = 0; i < r->o->nheaders; i++) r->headers[r->nheaders++] = r->o->headers[i];
  /* one past the end, counted only by streams */
  r->headers[r->nheaders] = (mol_http_header){"Accept", "text/event-stream"};
  return 0;
}

static long rss_max_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void start_load(mol_bench_runner *r) {
  const mol_bench_opts *o = r->o;
  r->t0_ns = uv_hrtime();
  r->measure_from_ns = r->t0_ns + (uint64_t)(o->warmup_s * 1e9);
  r->measure_to_ns = o->requests ? UINT64_MAX : r->measure_from_ns + (uint64_t)(o->duration_s * 1e9);
  uv_timer_init(&r->loop, &r->tick);
  r->tick.data = r;
  uv_timer_start(&r->tick, on_tick, 1, 1);
  uv_timer_init(&r->loop, &r->progress);
  r->progress.data = r;
  if (o->progress) uv_timer_start(&r->progress, on_progress, 1000, 1000);
  if (o->rate > 0) {
    r->sched = (mol_bench_sched){.start_ns = r->t0_ns, .rate = o->rate};
    issue_due(r, r->t0_ns);
  } else {
    refill(r);
  }
}

static void on_closed(void *arg) { *(int *)arg = 1; }

static void teardown(mol_bench_runner *r) {
  int closed = 0;
  for (size_t i = 0; i < r->nops; i++) uv_close((uv_handle_t *)&r->all_ops[i]->poll_timer, NULL);
  if (r->t0_ns) { /* the timers exist once the load started */
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_close((uv_handle_t *)&r->progress, NULL);
  }
  if (r->http) mol_http_client_close(r->http, on_closed, &closed);
  while (r->http && !closed) uv_run(&r->loop, UV_RUN_ONCE);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  for (size_t i = 0; i < r->nops; i++) {
    mol_bench_op *op = r->all_ops[i];
    mol_buf_free(&op->body);
    mol_buf_free(&op->url);
    mol_buf_free(&op->raw);
    free(op);
  }
  free(r->all_ops);
  free(r->headers);
  uv_loop_close(&r->loop);
}

static void defaults(mol_bench_opts *o) {
  if (!o->connections) o->connections = o->concurrency ? o->concurrency : 64;
  if (!o->concurrency) o->concurrency = o->connections;
  if (!o->duration_s && !o->requests) o->duration_s = 10;
  if (!o->timeout_ms) o->timeout_ms = 30000;
  if (!o->max_in_flight) o->max_in_flight = 100000;
  if (!o->turns) o->turns = 3;
  if (!o->poll_ms) o->poll_ms = 10;
}

int mol_bench_run(const char *url, const mol_bench_opts *given, mol_bench_result *out, char *err,
                  size_t errlen) {
  mol_bench_opts o = *given;
  defaults(&o);
  mol_bench_runner r = {.o = &o, .res = out};
  memset(out, 0, sizeof(*out));
  for (int w = 0; w < MOL_BENCH_NWORK; w++) mol_bench_stats_init(&out->work[w]);
  int weights[MOL_BENCH_NWORK] = {0};
  memcpy(weights, o.weights, sizeof(weights));
  if (!weights[0] && !weights[1] && !weights[2] && !weights[3]) weights[MOL_BENCH_SEND] = 1;
  int rc = mol_bench_mix_init(&r.mix, weights, MOL_BENCH_NWORK);
  if (rc || !o.nprompts) {
    snprintf(err, errlen, "%s", rc ? "bad workload weights" : "no message text");
    return MOL_EINVAL;
  }
  mol_random_hex(r.run_tag, 4);
  if (uv_loop_init(&r.loop)) return MOL_ENOMEM;
  mol_http_client_opts ho = {.max_conns_per_origin = o.connections, .max_idle_per_origin = o.connections,
                             .max_queued = o.max_in_flight * 2 + 1024};
  rc = make_headers(&r);
  if (!rc) rc = mol_http_client_new(&r.loop, &ho, &r.http);
  if (!rc) rc = resolve_endpoint(&r, url, err, errlen);
  else snprintf(err, errlen, "%s", mol_strerror(rc));
  if (!rc) {
    snprintf(out->endpoint, sizeof(out->endpoint), "%s", r.endpoint);
    start_load(&r);
    while (!r.stopping || r.in_flight) uv_run(&r.loop, UV_RUN_ONCE);
    if (o.progress) fprintf(stderr, "\r\033[K");
    uint64_t end = r.last_done_ns > r.measure_from_ns ? r.last_done_ns : uv_hrtime();
    if (end < r.measure_to_ns && r.measure_to_ns != UINT64_MAX) end = r.measure_to_ns;
    out->elapsed_s = end > r.measure_from_ns ? (double)(end - r.measure_from_ns) / 1e9 : 0;
    out->rss_max_kb = rss_max_kb();
  }
  teardown(&r);
  return rc;
}
