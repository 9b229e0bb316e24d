/* host_metrics.c - the host's Prometheus text (format 0.0.4): every agent's counters, one
 * series family after another, then (on GET /metrics) the process's own series and the
 * listener's requests by route and status. GET /metrics reads the counters of 1,000 agents per loop
 * iteration, then writes the text in chunks of about 32 KiB, one per iteration, so a host with
 * 10,000 agents (a body of 19 MB) never holds the loop for long; mol_host_metrics returns the
 * text whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/procstat.h"
#include "molecule.h"
#include "runtime/host_int.h"

#define SNAPSHOT_BATCH 1000       /* agents whose counters are read per loop iteration */
#define CHUNK_BYTES (32 * 1024)   /* written per loop iteration */
#define QUEUE_HIGH (256 * 1024)   /* unwritten bytes past which the writer waits for the peer */
#define RECHECK_MS 10             /* how often it looks again while waiting (see wait_peer) */

typedef unsigned long long (*stat_fn)(const mol_agent_stats *s);
#define STAT(field) \
  static unsigned long long st_##field(const mol_agent_stats *s) { return s->field; }
STAT(turns)
STAT(errors)
STAT(heartbeats)
STAT(heartbeat_failures)
STAT(heartbeat_pushes)
STAT(live_turns)
STAT(pending_replies)
STAT(tasks_evicted)
STAT(task_store_bytes)
STAT(push_configs)
STAT(wedged)
STAT(fallback)
STAT(upstream_failures)
STAT(gateway_probes)
STAT(gateway_probe_failures)
STAT(initial_prompts)
STAT(idle_prompts)
#define PUSH_STAT(field) \
  static unsigned long long st_push_##field(const mol_agent_stats *s) { return s->push.field; }
PUSH_STAT(sent)
PUSH_STAT(failed)
PUSH_STAT(retries)
PUSH_STAT(coalesced)
PUSH_STAT(refused)
PUSH_STAT(dropped)
PUSH_STAT(pending)

typedef enum { FAM_HOST_AGENTS, FAM_UP, FAM_STAT, FAM_TURN_HISTOGRAM } family_kind;

static const struct family {
  const char *name, *type, *help;
  family_kind kind;
  stat_fn f;
} families[] = {
  {"molecule_host_agents", "gauge", "Agents serving.", FAM_HOST_AGENTS, NULL},
  {"molecule_agent_up", "gauge", "1 while the agent serves, 0 once it ended.", FAM_UP, NULL},
  {"molecule_agent_turns_total", "counter", "Turns started.", FAM_STAT, st_turns},
  {"molecule_agent_turn_duration_seconds", "histogram",
   "Time from a turn's start to its last state.", FAM_TURN_HISTOGRAM, NULL},
  {"molecule_agent_live_turns", "gauge", "Turns in flight.", FAM_STAT, st_live_turns},
  {"molecule_agent_pending_replies", "gauge", "Hermes turns waiting for their reply callback.",
   FAM_STAT, st_pending_replies},
  {"molecule_agent_heartbeats_total", "counter", "Heartbeats sent to the platform.", FAM_STAT,
   st_heartbeats},
  {"molecule_agent_heartbeat_failures_total", "counter", "Failed heartbeats and registrations.",
   FAM_STAT, st_heartbeat_failures},
  {"molecule_agent_heartbeat_pushes_total", "counter",
   "Immediate heartbeats on turn start and end, accepted by the platform.", FAM_STAT,
   st_heartbeat_pushes},
  {"molecule_agent_errors_total", "counter", "Turns that failed.", FAM_STAT, st_errors},
  {"molecule_a2a_tasks_evicted_total", "counter",
   "Finished A2A tasks evicted before their TTL to keep the task store in its memory budget.",
   FAM_STAT, st_tasks_evicted},
  {"molecule_a2a_task_store_bytes", "gauge",
   "Memory held by the tasks of the A2A task store, against its budget.", FAM_STAT,
   st_task_store_bytes},
  {"molecule_a2a_push_configs", "gauge", "A2A push-notification configs stored.", FAM_STAT,
   st_push_configs},
  {"molecule_a2a_push_sent_total", "counter", "Push notifications delivered (2xx).", FAM_STAT,
   st_push_sent},
  {"molecule_a2a_push_failed_total", "counter",
   "Push notifications given up (attempts exhausted or a final answer).", FAM_STAT,
   st_push_failed},
  {"molecule_a2a_push_retries_total", "counter", "Push-notification attempts after the first.",
   FAM_STAT, st_push_retries},
  {"molecule_a2a_push_coalesced_total", "counter",
   "Waiting push notifications replaced by a newer snapshot of their task.", FAM_STAT,
   st_push_coalesced},
  {"molecule_a2a_push_refused_total", "counter",
   "Push notifications whose webhook resolved to an address the SSRF policy refuses.",
   FAM_STAT, st_push_refused},
  {"molecule_a2a_push_dropped_total", "counter",
   "Push notifications still waiting when their agent stopped.", FAM_STAT, st_push_dropped},
  {"molecule_a2a_push_pending", "gauge", "Push notifications waiting or in flight.", FAM_STAT,
   st_push_pending},
  /* The agents looking after themselves (runtime/agent_care.h). */
  {"molecule_agent_wedged", "gauge",
   "1 while the agent reports its model backend wedged (runtime_state).", FAM_STAT, st_wedged},
  {"molecule_agent_fallback", "gauge",
   "1 while a hermes agent answers through chat-completions (its plugin never answered).",
   FAM_STAT, st_fallback},
  {"molecule_agent_upstream_failures_total", "counter",
   "Model backend requests that failed (unreachable, timeout, 5xx).", FAM_STAT,
   st_upstream_failures},
  {"molecule_agent_gateway_probes_total", "counter", "Health probes of the model gateway.",
   FAM_STAT, st_gateway_probes},
  {"molecule_agent_gateway_probe_failures_total", "counter",
   "Health probes of the model gateway that failed.", FAM_STAT, st_gateway_probe_failures},
  {"molecule_agent_initial_prompts_total", "counter", "initial_prompt sends that reached the agent.",
   FAM_STAT, st_initial_prompts},
  {"molecule_agent_idle_prompts_total", "counter", "idle_prompt sends.", FAM_STAT,
   st_idle_prompts},
};
#define N_FAMILIES (sizeof(families) / sizeof(*families))

/* ---- the text, a piece at a time ----------------------------------------------------------- */

/* Every agent's counters (read SNAPSHOT_BATCH agents at a time, then written family after
 * family), and where the writing is. Each agent's counters are read at one moment, so its
 * histogram and its counters agree with each other. */
typedef struct {
  mol_agent_stats *st;
  unsigned char *up;
  size_t n, live, taken;
  size_t family, agent;
  int family_begun;
  char le[MOL_AGENT_LATENCY_BUCKETS][24];
} metrics_text;

static int text_open(metrics_text *t, const mol_host *h) {
  memset(t, 0, sizeof(*t));
  t->n = mol_host__agents(h);
  t->live = mol_host__live(h);
  t->st = malloc((t->n ? t->n : 1) * sizeof(*t->st)); /* n is 0 before a start */
  t->up = malloc(t->n ? t->n : 1);
  if (!t->st || !t->up) {
    free(t->st);
    free(t->up);
    return MOL_ENOMEM;
  }
  for (int k = 0; k < MOL_AGENT_LATENCY_BUCKETS; k++)
    snprintf(t->le[k], sizeof(t->le[k]), "%g", mol_agent_latency_bounds[k]);
  return 0;
}

/* Reads the next agents' counters, at most max of them; returns 1 once all are read. */
static int text_snapshot(metrics_text *t, const mol_host *h, size_t max) {
  for (size_t end = t->taken + max; t->taken < t->n && t->taken < end; t->taken++)
    t->up[t->taken] = (unsigned char)mol_host__agent_stats(h, t->taken, &t->st[t->taken]);
  return t->taken == t->n;
}

static void text_close(metrics_text *t) {
  free(t->st);
  free(t->up);
  t->st = NULL;
  t->up = NULL;
}

static void put(mol_buf *b, const char *s) { mol_buf_append(b, s, strlen(s)); }

static void put_u64(mol_buf *b, unsigned long long v) {
  char d[24];
  size_t i = sizeof(d);
  do d[--i] = (char)('0' + v % 10);
  while (v /= 10);
  mol_buf_append(b, d + i, sizeof(d) - i);
}

/* One sample line: <name><suffix>{agent="<agent>"[,le="<le>"]} <v>. Written by hand rather
 * than with printf, which spent most of a scrape measuring its own arguments. Agent names are
 * [A-Za-z0-9_-]: no label escaping needed. */
static void sample(mol_buf *b, const char *name, const char *suffix, const char *agent,
                   const char *le, unsigned long long v) {
  put(b, name);
  put(b, suffix);
  put(b, "{agent=\"");
  put(b, agent);
  if (le) {
    put(b, "\",le=\"");
    put(b, le);
  }
  put(b, "\"} ");
  put_u64(b, v);
  mol_buf_append(b, "\n", 1);
}

static void histogram_lines(mol_buf *b, const metrics_text *t, const char *name,
                            const mol_agent_stats *s) {
  unsigned long long cum = 0;
  for (int k = 0; k < MOL_AGENT_LATENCY_BUCKETS; k++) {
    cum += s->latency_buckets[k];
    sample(b, name, "_bucket", s->name, t->le[k], cum);
  }
  sample(b, name, "_bucket", s->name, "+Inf", s->turns_ended);
  mol_buf_printf(b, "%s_sum{agent=\"%s\"} %.6f\n", name, s->name, s->turn_seconds_sum);
  sample(b, name, "_count", s->name, NULL, s->turns_ended);
}

static void agent_lines(mol_buf *b, const struct family *f, const metrics_text *t, size_t i) {
  const mol_agent_stats *s = &t->st[i];
  switch (f->kind) {
  case FAM_UP: sample(b, f->name, "", s->name, NULL, t->up[i]); break;
  case FAM_STAT: sample(b, f->name, "", s->name, NULL, f->f(s)); break;
  case FAM_TURN_HISTOGRAM: histogram_lines(b, t, f->name, s); break;
  case FAM_HOST_AGENTS: break;
  }
}

/* Appends the next lines to b until it holds about budget bytes; returns 1 once the text is
 * complete. A family's lines stay together, after its HELP and TYPE, as the format asks. */
static int text_next(metrics_text *t, mol_buf *b, size_t budget) {
  for (; t->family < N_FAMILIES; t->family++, t->agent = 0, t->family_begun = 0) {
    const struct family *f = &families[t->family];
    if (!t->family_begun) {
      mol_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
      t->family_begun = 1;
      if (f->kind == FAM_HOST_AGENTS) mol_buf_printf(b, "%s %zu\n", f->name, t->live);
    }
    if (f->kind == FAM_HOST_AGENTS) continue;
    for (; t->agent < t->n; t->agent++) {
      if (b->len >= budget) return 0;
      agent_lines(b, f, t, t->agent);
    }
  }
  return 1;
}

char *mol_host_metrics(const mol_host *h) {
  metrics_text t;
  mol_buf b = MOL_BUF_INIT;
  if (text_open(&t, h)) return NULL;
  text_snapshot(&t, h, SIZE_MAX);
  text_next(&t, &b, SIZE_MAX);
  text_close(&t);
  return mol_buf_steal(&b);
}

char *mol_host_metrics_whole(const mol_host *h) {
  metrics_text t;
  mol_buf b = MOL_BUF_INIT;
  if (text_open(&t, h)) return NULL;
  text_snapshot(&t, h, SIZE_MAX);
  text_next(&t, &b, SIZE_MAX);
  text_close(&t);
  int rc = mol_procstat_write(&b);
  if (!rc && h->http) rc = mol_http_server_requests_write(h->http, &b);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

/* ---- GET /metrics -------------------------------------------------------------------------- */

/* One scrape being written. It holds the host (whose agents' names it prints) until its timer
 * has closed. */
typedef struct {
  mol_http_req *r;             /* NULL once finished */
  mol_host *h;
  metrics_text text;
  mol_buf chunk;
  uv_idle_t next;              /* the next chunk, in the next loop iteration */
  uv_timer_t recheck;          /* while the peer is behind */
  int open_handles;
} metrics_stream;

static void stream_closed(uv_handle_t *hd) {
  metrics_stream *m = hd->data;
  if (--m->open_handles) return;
  mol_holds_drop(mol_host__holds(m->h));
  free(m);
}

/* Finishes the response (whatever was written stands: a client that went away sees a short
 * body) and lets go of everything. */
static void stream_finish(metrics_stream *m) {
  if (!m->r) return;
  mol_http_req *r = m->r;
  m->r = NULL;
  mol_http_req_on_drain(r, NULL, NULL);
  mol_http_req_on_abort(r, NULL, NULL);
  mol_http_resp_end(r);
  text_close(&m->text);
  mol_buf_free(&m->chunk);
  uv_close((uv_handle_t *)&m->next, stream_closed);
  uv_close((uv_handle_t *)&m->recheck, stream_closed);
}

static void stream_step(metrics_stream *m);

static void on_next(uv_idle_t *i) { stream_step(i->data); }

static void on_recheck(uv_timer_t *t) { stream_step(t->data); }

static void on_drain(mol_http_req *r, void *arg) {
  (void)r;
  stream_step(arg);
}

static void on_abort(mol_http_req *r, void *arg) {
  (void)r;
  stream_finish(arg);
}

/* The peer is behind: go on when its queue drains, and look again now and then, because a
 * response that waits behind a pipelined one drains without telling it. */
static void wait_peer(metrics_stream *m) {
  uv_idle_stop(&m->next);
  mol_http_req_on_drain(m->r, on_drain, m);
  uv_timer_start(&m->recheck, on_recheck, RECHECK_MS, 0);
}

/* Writes the next chunk, then yields the loop: the following one comes from the idle handle
 * in the next iteration (after the loop has polled for I/O without waiting), or once the peer
 * has caught up. An idle handle, not a timer due at once: libuv runs a timer restarted with no
 * timeout from its own callback again in the same iteration. */
static void stream_step(metrics_stream *m) {
  mol_http_req_on_drain(m->r, NULL, NULL);
  uv_timer_stop(&m->recheck);
  if (mol_http_req_queued(m->r) > QUEUE_HIGH) {
    wait_peer(m);
    return;
  }
  if (!text_snapshot(&m->text, m->h, SNAPSHOT_BATCH)) {
    uv_idle_start(&m->next, on_next);
    return;
  }
  mol_buf_reset(&m->chunk);
  int done = text_next(&m->text, &m->chunk, CHUNK_BYTES);
  if (done) { /* the process's own series and the listener's requests close the text */
    mol_procstat_write(&m->chunk);
    if (m->h->http) mol_http_server_requests_write(m->h->http, &m->chunk);
  }
  if (m->chunk.len && mol_http_resp_write(m->r, m->chunk.data, m->chunk.len) != 0) done = 1;
  if (done) stream_finish(m);
  else if (mol_http_req_queued(m->r) > QUEUE_HIGH) wait_peer(m);
  else uv_idle_start(&m->next, on_next);
}

void mol_host__metrics_serve(mol_http_req *r, mol_host *h) {
  metrics_stream *m = calloc(1, sizeof(*m));
  if (!m || text_open(&m->text, h) != 0) {
    free(m);
    mol_http_respond(r, 500, "text/plain", "out of memory\n", 14);
    return;
  }
  if (mol_http_resp_start(r, 200, "text/plain; version=0.0.4; charset=utf-8") != 0) {
    text_close(&m->text);
    free(m);
    mol_http_respond(r, 500, "text/plain", "internal error\n", 15);
    return;
  }
  m->r = r;
  m->h = h;
  mol_holds_take(mol_host__holds(h));
  uv_idle_init(mol_host__loop(h), &m->next);
  uv_timer_init(mol_host__loop(h), &m->recheck);
  m->next.data = m->recheck.data = m;
  m->open_handles = 2;
  mol_http_req_on_abort(r, on_abort, m);
  if (strcmp(mol_http_req_method(r), "HEAD") == 0) stream_finish(m); /* no body to write */
  else stream_step(m);
}
