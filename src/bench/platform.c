/* platform.c - the simulated agents under load: heartbeats and state polls on per-agent
 * timers spread over their interval, A2A messages through the proxy on an open-loop schedule,
 * each call timed from its scheduled moment and its answer checked (platform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/platform_int.h"
#include "bench/schedule.h"

static const char *const kind_names[MOL_BENCH_P_N] = {"register", "heartbeat", "state", "a2a"};

const char *mol_bench_platform_kind_name(int k) {
  return k >= 0 && k < MOL_BENCH_P_N ? kind_names[k] : "?";
}

static int measured(const mol_bench_plat *p, uint64_t t) { return t >= p->from && t < p->to; }

/* A call of kind k scheduled at `due` has its answer (reply.outcome OK or not). */
static void record(mol_bench_plat *p, int k, uint64_t due, const mol_bench_reply *reply) {
  if (!measured(p, due)) return;
  uint64_t now = uv_hrtime();
  if (reply->outcome == MOL_BENCH_OK) mol_bench_stats_ok(&p->res->kind[k], now > due ? now - due : 0);
  else mol_bench_stats_error(&p->res->kind[k], reply);
}

static void behind(mol_bench_plat *p, int k, uint64_t due, const char *what) {
  mol_bench_reply r;
  memset(&r, 0, sizeof(r));
  mol_bench_reply_fail(&r, MOL_BENCH_E_OVERLOAD, 0, "the previous %s was still in flight", what);
  record(p, k, due, &r);
}

/* One-shot timers aimed at the ideal schedule: a repeating uv timer restarts from the moment
 * it ran, so a late loop would push every later call back and hide the lag. */
static void rearm(uv_timer_t *t, uint64_t due_ns, uv_timer_cb cb) {
  uint64_t now = uv_hrtime();
  uv_timer_start(t, cb, due_ns > now ? (due_ns - now + 999999) / 1000000 : 0, 0);
}

/* ---- heartbeat and state --------------------------------------------------------------------- */

static void on_beat(int err, const mol_platform_result *res, void *arg) {
  mol_bench_agent *a = arg;
  mol_bench_reply reply;
  mol_bench__plat_reply(err, res, &reply);
  a->hb_busy = 0;
  a->p->in_flight--;
  record(a->p, MOL_BENCH_P_HEARTBEAT, a->hb_sent, &reply);
}

static void on_hb_timer(uv_timer_t *t) {
  mol_bench_agent *a = t->data;
  mol_bench_plat *p = a->p;
  uint64_t due = a->hb_due;
  a->hb_due += (uint64_t)p->o.heartbeat_ms * 1000000;
  if (p->stopping) return;
  rearm(t, a->hb_due, on_hb_timer);
  if (a->hb_busy) return behind(p, MOL_BENCH_P_HEARTBEAT, due, "heartbeat");
  a->hb_sent = due;
  mol_platform_heartbeat_payload hp = {.capabilities = MOL_PLATFORM_CAP_HEARTBEAT};
  int rc = mol_platform_heartbeat(a->c, &hp, NULL, on_beat, a, NULL);
  if (rc) {
    mol_bench_reply reply;
    mol_bench_check_transport(rc, &reply);
    return record(p, MOL_BENCH_P_HEARTBEAT, due, &reply);
  }
  a->hb_busy = 1;
  p->in_flight++;
}

static void on_state(int err, const mol_platform_result *res, void *arg) {
  mol_bench_agent *a = arg;
  mol_bench_reply reply;
  mol_bench__plat_reply(err, res, &reply);
  if (!err && (res->deleted || res->paused))
    mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the workspace is %s", res->deleted ? "deleted" : "paused");
  a->poll_busy = 0;
  a->p->in_flight--;
  record(a->p, MOL_BENCH_P_STATE, a->poll_sent, &reply);
}

static void on_poll_timer(uv_timer_t *t) {
  mol_bench_agent *a = t->data;
  mol_bench_plat *p = a->p;
  uint64_t due = a->poll_due;
  a->poll_due += (uint64_t)p->o.poll_ms * 1000000;
  if (p->stopping) return;
  rearm(t, a->poll_due, on_poll_timer);
  if (a->poll_busy) return behind(p, MOL_BENCH_P_STATE, due, "state poll");
  a->poll_sent = due;
  int rc = mol_platform_poll_state(a->c, NULL, on_state, a, NULL);
  if (rc) {
    mol_bench_reply reply;
    mol_bench_check_transport(rc, &reply);
    return record(p, MOL_BENCH_P_STATE, due, &reply);
  }
  a->poll_busy = 1;
  p->in_flight++;
}

/* ---- A2A through the proxy ------------------------------------------------------------------- */

typedef struct {
  mol_bench_plat *p;
  uint64_t due;
  char want[64];
} a2a_call;

static void on_a2a(int err, const mol_platform_result *res, void *arg) {
  a2a_call *c = arg;
  mol_bench_reply reply;
  mol_bench__plat_reply(err, res, &reply);
  if (!err && res->queued)
    mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the proxy queued the message instead of delivering it");
  else if (!err && (!res->text || strcmp(res->text, c->want) != 0))
    mol_bench_reply_fail(&reply, MOL_BENCH_E_INVALID, 0, "the reply is not the echo of the message");
  c->p->a2a_in_flight--;
  c->p->in_flight--;
  record(c->p, MOL_BENCH_P_A2A, c->due, &reply);
  free(c);
}

static void send_a2a(mol_bench_plat *p, uint64_t k, uint64_t due) {
  mol_bench_agent *from = &p->agents[k % p->n], *to = &p->agents[(k + 1) % p->n];
  char text[48];
  a2a_call *c = calloc(1, sizeof(*c));
  mol_bench_reply reply;
  if (!c) {
    mol_bench_check_transport(MOL_ENOMEM, &reply);
    return record(p, MOL_BENCH_P_A2A, due, &reply);
  }
  snprintf(text, sizeof(text), "bench %llu", (unsigned long long)k);
  snprintf(c->want, sizeof(c->want), "echo: %s", text);
  c->p = p;
  c->due = due;
  mol_platform_call_peer_opts po = {.proxy_only = 1};
  int rc = mol_platform_call_peer(from->c, to->id, text, &po, NULL, on_a2a, c, NULL);
  if (rc) {
    free(c);
    mol_bench_check_transport(rc, &reply);
    return record(p, MOL_BENCH_P_A2A, due, &reply);
  }
  p->a2a_in_flight++;
  p->in_flight++;
}

static void on_tick(uv_timer_t *t) {
  mol_bench_plat *p = t->data;
  uint64_t now = uv_hrtime();
  if (p->o.interrupt && *p->o.interrupt && now < p->to) p->to = now > p->from ? now : p->from;
  if (now >= p->to) p->stopping = 1;
  if (p->stopping || p->o.a2a_rate <= 0) return;
  mol_bench_sched s = {.start_ns = p->t0, .rate = p->o.a2a_rate};
  uint64_t due = mol_bench_sched_due(&s, now);
  while (p->a2a_issued < due) {
    uint64_t at = mol_bench_sched_at(&s, p->a2a_issued);
    send_a2a(p, p->a2a_issued++, at);
  }
}

static void on_progress(uv_timer_t *t) {
  mol_bench_plat *p = t->data;
  const mol_bench_stats *hb = &p->res->kind[MOL_BENCH_P_HEARTBEAT];
  fprintf(stderr, "\r\033[K%6.1fs  heartbeats ok %llu  errors %llu  in flight %llu",
          (double)(uv_hrtime() - p->t0) / 1e9, (unsigned long long)hb->ok,
          (unsigned long long)hb->errors, (unsigned long long)p->in_flight);
}

/* ---- the run --------------------------------------------------------------------------------- */

static void start_load(mol_bench_plat *p) {
  p->t0 = uv_hrtime();
  p->from = p->t0 + (uint64_t)(p->o.warmup_s * 1e9);
  p->to = p->from + (uint64_t)(p->o.duration_s * 1e9);
  for (unsigned i = 0; i < p->n; i++) { /* spread over the interval, not all on one tick */
    mol_bench_agent *a = &p->agents[i];
    uint64_t hb_off = (uint64_t)p->o.heartbeat_ms * i / p->n, poll_off = (uint64_t)p->o.poll_ms * i / p->n;
    a->hb_due = p->t0 + hb_off * 1000000;
    a->poll_due = p->t0 + poll_off * 1000000;
    uv_timer_start(&a->hb_timer, on_hb_timer, hb_off, 0);
    if (!p->o.no_poll) uv_timer_start(&a->poll_timer, on_poll_timer, poll_off, 0);
  }
  uv_timer_init(&p->loop, &p->tick);
  p->tick.data = p;
  uv_timer_start(&p->tick, on_tick, 0, 1);
  uv_timer_init(&p->loop, &p->progress);
  p->progress.data = p;
  if (p->o.progress) uv_timer_start(&p->progress, on_progress, 1000, 1000);
}

static void stop_load(mol_bench_plat *p) {
  for (unsigned i = 0; i < p->n; i++) {
    uv_timer_stop(&p->agents[i].hb_timer);
    uv_timer_stop(&p->agents[i].poll_timer);
  }
  uv_close((uv_handle_t *)&p->tick, NULL);
  uv_close((uv_handle_t *)&p->progress, NULL);
  if (p->o.progress) fprintf(stderr, "\r\033[K");
}

static void defaults(mol_bench_platform_opts *o) {
  if (!o->agents) o->agents = 100;
  if (!o->heartbeat_ms) o->heartbeat_ms = 1000;
  if (!o->poll_ms) o->poll_ms = 5000;
  if (!o->duration_s) o->duration_s = 10;
  if (!o->timeout_ms) o->timeout_ms = 10000;
  if (!o->connections) o->connections = 64;
}

int mol_bench_platform_run(const mol_bench_platform_opts *given, mol_bench_platform_result *out,
                           char *err, size_t errlen) {
  mol_bench_plat *p = calloc(1, sizeof(*p));
  if (!p) return MOL_ENOMEM;
  p->o = *given;
  defaults(&p->o);
  p->res = out;
  p->n = p->o.agents;
  memset(out, 0, sizeof(*out));
  for (int k = 0; k < MOL_BENCH_P_N; k++) mol_bench_stats_init(&out->kind[k]);
  out->agents = p->n;
  snprintf(p->dir, sizeof(p->dir), "/tmp/molecule-bench-XXXXXX");
  p->agents = calloc(p->n, sizeof(*p->agents));
  for (unsigned i = 0; p->agents && i < p->n; i++) p->agents[i].p = p;
  int rc = !p->agents ? MOL_ENOMEM : uv_loop_init(&p->loop) ? MOL_ENOMEM : 0;
  if (rc) {
    free(p->agents);
    free(p);
    return rc;
  }
  if (!mkdtemp(p->dir)) p->dir[0] = '\0';
  rc = p->dir[0] ? mol_http_client_new(&p->loop, NULL, &p->http) : MOL_EIO;
  if (!rc) rc = mol_bench__plat_workspaces(p, err, errlen);
  if (!rc) rc = mol_bench__plat_echo_agent(p, err, errlen);
  if (!rc) rc = mol_bench__plat_clients(p, err, errlen);
  if (!rc) {
    start_load(p);
    while (!p->stopping || p->in_flight) uv_run(&p->loop, UV_RUN_ONCE);
    stop_load(p);
    out->elapsed_s = (double)(p->to - p->from) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->rss_max_kb = ru.ru_maxrss;
  } else if (!err[0]) {
    snprintf(err, errlen, "%s", mol_strerror(rc));
  }
  mol_bench__plat_teardown(p);
  free(p);
  return rc;
}
