/* test_host_metrics.c - /metrics of a host with many agents, over real loopback sockets: the
 * body is streamed (chunked, written over many loop iterations, so /health on another
 * connection is answered while it is still being written), it is a valid Prometheus text
 * exposition (checked line by line below: HELP/TYPE once before their family, each family's
 * samples together, no series twice, numbers that parse, histograms cumulative up to +Inf =
 * _count), every agent is in it, and it is the same text as mol_host_metrics returns whole,
 * followed by the process's series and the requests by route and status.
 * A client that goes away in the middle of a scrape leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "molecule/host.h"
#include "runtime/host.h"
#include "test_http_server_util.h"

enum { AGENTS = 600 };

typedef struct {
  uv_loop_t loop;
  mol_host *host;
  int ended;
} fixture;

static void on_end(mol_host *h, void *arg) {
  (void)h;
  ((fixture *)arg)->ended = 1;
}

static int is_ended(void *arg) { return ((fixture *)arg)->ended; }

static fixture *start_host(void) {
  fixture *f = calloc(1, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  unsetenv("PLATFORM_URL");
  json_t *agents = json_array();
  for (int i = 0; i < AGENTS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "agent-%d", i);
    json_array_append_new(agents, json_pack("{s:s, s:s}", "name", name, "executor", "echo"));
  }
  json_t *doc = json_pack("{s:s, s:o}", "listen", "127.0.0.1:0", "agents", agents);
  mol_host_config cfg;
  char err[256];
  assert_int_equal(mol_host_config_from_json(doc, ".", &cfg, err, sizeof(err)), 0);
  json_decref(doc);
  mol_host_callbacks cbs = {.on_end = on_end, .arg = f};
  assert_int_equal(mol_host_start_config(&f->loop, &cfg, &cbs, &f->host), 0);
  mol_host_config_free(&cfg);
  return f;
}

static void stop_host(fixture *f) {
  mol_host_stop(f->host);
  assert_true(run_until(&f->loop, is_ended, f, 20000));
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

static tclient *connect_to(fixture *f) {
  tclient *c = tc_open(&f->loop, "127.0.0.1", mol_host_port(f->host), 0);
  assert_true(run_until(&f->loop, is_connected, c, 5000));
  assert_int_equal(c->connected, 1);
  return c;
}

/* ---- a Prometheus text checker ------------------------------------------------------------- */

static int is_name(const char *s, size_t n) {
  if (!n || !(s[0] == '_' || s[0] == ':' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z'))) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(s[i] == '_' || s[i] == ':' || ((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z') ||
          (s[i] >= '0' && s[i] <= '9')))
      return 0;
  return 1;
}

static int parse_value(const char *s, double *v) {
  if (!strcmp(s, "+Inf")) return *v = INFINITY, 1;
  if (!strcmp(s, "-Inf")) return *v = -INFINITY, 1;
  if (!strcmp(s, "NaN")) return *v = NAN, 1;
  char *end;
  *v = strtod(s, &end);
  return end != s && *end == '\0';
}

/* Labels {a="x",b="y"}: names valid, values with only \\, \" and \n escapes. Returns the length
 * of the label block (0 when there is none) or -1; le receives the value of "le". */
static long parse_labels(const char *s, char *le, size_t lelen) {
  if (*s != '{') return 0;
  const char *p = s + 1;
  le[0] = '\0';
  while (*p != '}') {
    const char *eq = strchr(p, '=');
    if (!eq || !is_name(p, (size_t)(eq - p)) || eq[1] != '"') return -1;
    int is_le = eq - p == 2 && !strncmp(p, "le", 2);
    const char *v = eq + 2, *q = v;
    while (*q && *q != '"') q += *q == '\\' ? (q[1] == '\\' || q[1] == '"' || q[1] == 'n' ? 2 : 0) : 1;
    if (*q != '"') return -1;
    if (is_le) snprintf(le, lelen, "%.*s", (int)(q - v), v);
    p = q + 1;
    if (*p == ',') p++;
    else if (*p != '}') return -1;
  }
  return (long)(p + 1 - s);
}

typedef struct {
  char family[128], type[16];
  int helped;
  json_t *seen_series, *done_families;
  /* the histogram being read: per label set (without le), the last cumulative count */
  json_t *buckets;
  long samples;
} prom;

/* The family a sample named n (length len) belongs to under the current TYPE. */
static int sample_in_family(const prom *p, const char *n, size_t len) {
  size_t fl = strlen(p->family);
  if (len == fl && !strncmp(n, p->family, fl)) return !strcmp(p->type, "histogram") ? 0 : 1;
  if (strcmp(p->type, "histogram") || len <= fl || strncmp(n, p->family, fl)) return 0;
  const char *suf = n + fl;
  size_t sl = len - fl;
  return (sl == 7 && !strncmp(suf, "_bucket", 7)) || (sl == 4 && !strncmp(suf, "_sum", 4)) ||
         (sl == 6 && !strncmp(suf, "_count", 6));
}

static void check_comment(prom *p, const char *l) {
  int help = !strncmp(l, "# HELP ", 7), type = !strncmp(l, "# TYPE ", 7);
  if (!help && !type) return; /* another comment */
  const char *n = l + 7, *sp = strchr(n, ' ');
  if (!sp || !is_name(n, (size_t)(sp - n))) fail_msg("bad metadata line: '%s'", l);
  if (strncmp(n, p->family, strlen(p->family)) || strlen(p->family) != (size_t)(sp - n)) {
    /* a new family: the previous one is closed for good */
    if (p->family[0]) json_object_set_new(p->done_families, p->family, json_true());
    snprintf(p->family, sizeof(p->family), "%.*s", (int)(sp - n), n);
    if (json_object_get(p->done_families, p->family)) fail_msg("family %s split: '%s'", p->family, l);
    p->type[0] = '\0';
    p->helped = 0;
    json_object_clear(p->buckets);
  }
  if (help) {
    if (p->helped++) fail_msg("second HELP: '%s'", l);
    return;
  }
  if (p->type[0]) fail_msg("second TYPE: '%s'", l);
  snprintf(p->type, sizeof(p->type), "%s", sp + 1);
  const char *types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  int ok = 0;
  for (size_t i = 0; i < 5; i++) ok |= !strcmp(p->type, types[i]);
  if (!ok) fail_msg("unknown type: '%s'", l);
}

static void check_histogram(prom *p, const char *name, size_t nlen, const char *labels,
                            long lablen, const char *le, double v) {
  /* the label set without le: the agent's */
  char key[256];
  const char *agent = strstr(labels, "agent=\"");
  snprintf(key, sizeof(key), "%.*s", agent ? (int)(strchr(agent + 7, '"') - agent) : 0, agent);
  (void)lablen;
  json_t *last = json_object_get(p->buckets, key);
  if (nlen == strlen(p->family) + 7) { /* _bucket */
    if (!le[0]) fail_msg("bucket without le");
    if (last && json_real_value(last) > v) fail_msg("buckets of %s not cumulative", key);
    json_object_set_new(p->buckets, key, json_real(v));
    if (!strcmp(le, "+Inf")) {
      char inf[300];
      snprintf(inf, sizeof(inf), "+Inf %s", key);
      json_object_set_new(p->buckets, inf, json_real(v));
    }
  } else if (nlen == strlen(p->family) + 6) { /* _count */
    char inf[300];
    snprintf(inf, sizeof(inf), "+Inf %s", key);
    json_t *top = json_object_get(p->buckets, inf);
    if (!top || json_real_value(top) != v) fail_msg("%s_count of %s is not its +Inf bucket", p->family, key);
  }
  (void)name;
}

static void check_sample(prom *p, const char *l) {
  size_t nlen = 0;
  while (l[nlen] && l[nlen] != '{' && l[nlen] != ' ') nlen++;
  if (!is_name(l, nlen)) fail_msg("bad sample name: '%s'", l);
  if (!p->type[0] || !sample_in_family(p, l, nlen)) fail_msg("sample outside its family: '%s'", l);
  char le[32];
  long lab = parse_labels(l + nlen, le, sizeof(le));
  if (lab < 0) fail_msg("bad labels: '%s'", l);
  const char *rest = l + nlen + lab;
  if (*rest != ' ') fail_msg("no value: '%s'", l);
  double v;
  if (!parse_value(rest + 1, &v)) fail_msg("bad value: '%s'", l);
  char series[512];
  snprintf(series, sizeof(series), "%.*s", (int)(rest - l), l);
  if (json_object_get(p->seen_series, series)) fail_msg("series twice: '%s'", series);
  json_object_set_new(p->seen_series, series, json_true());
  if (!strcmp(p->type, "histogram")) check_histogram(p, l, nlen, l + nlen, lab, le, v);
  p->samples++;
}

/* Checks body as Prometheus text format 0.0.4; returns the number of samples. */
static long check_exposition(const char *body, size_t len) {
  assert_true(len > 0 && body[len - 1] == '\n');
  prom p = {.seen_series = json_object(), .done_families = json_object(), .buckets = json_object()};
  char *copy = strndup(body, len), *save = NULL;
  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (l[0] == '#') check_comment(&p, l);
    else check_sample(&p, l);
  }
  free(copy);
  json_decref(p.seen_series);
  json_decref(p.done_families);
  json_decref(p.buckets);
  return p.samples;
}

/* ---- the tests ----------------------------------------------------------------------------- */

typedef struct {
  tclient *metrics, *health;
  int health_first;
} race;

static int health_answered(void *arg) {
  race *r = arg;
  tresp t[1];
  int n = tc_responses(r->health, t, 1);
  tresp_free(t, n);
  if (n < 1) return 0;
  n = tc_responses(r->metrics, t, 1);
  tresp_free(t, n);
  r->health_first = n == 0;
  return 1;
}

static void metrics_streamed_and_valid(void **state) {
  (void)state;
  fixture *f = start_host();
  race r = {connect_to(f), connect_to(f), 0};
  tc_send_str(r.metrics, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  tc_send_str(r.health, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f->loop, health_answered, &r, 20000));
  assert_true(r.health_first); /* the loop served /health while the metrics body was written */
  assert_true(wait_responses(&f->loop, r.metrics, 1, 20000));
  assert_non_null(strstr(r.metrics->in.data, "\r\nTransfer-Encoding: chunked\r\n"));
  assert_non_null(strstr(r.metrics->in.data, "text/plain; version=0.0.4"));
  tresp t;
  assert_int_equal(tc_responses(r.metrics, &t, 1), 1);
  assert_int_equal(t.status, 200);
  assert_true(t.body.len > 500 * 1000);
  /* The agents' text, then the process's series and the listener's requests (/health was
   * answered before the scrape ended). */
  const char *tail = strstr(t.body.data, "# HELP molecule_build_info ");
  assert_non_null(tail);
  size_t agents_len = (size_t)(tail - t.body.data);
  assert_non_null(strstr(tail, "\nprocess_open_fds "));
  assert_non_null(strstr(tail, "\nmolecule_http_requests_total{route=\"/health\",status=\"200\"} 1\n"));
  assert_true(check_exposition(tail, t.body.len - agents_len) >= 5);
  /* 1 host gauge; per agent one sample of every other family, and the histogram's buckets,
   * +Inf, _sum and _count */
  long families = 0;
  for (const char *p = t.body.data; (p = strstr(p, "\n# TYPE ")) != NULL && p < tail; p++) families++;
  assert_true(families >= 20);
  assert_int_equal(check_exposition(t.body.data, agents_len),
                   1 + AGENTS * (families - 2 + MOL_AGENT_LATENCY_BUCKETS + 3));
  assert_non_null(strstr(t.body.data, "\nmolecule_host_agents 600\n"));
  assert_non_null(strstr(t.body.data, "\nmolecule_agent_up{agent=\"agent-599\"} 1\n"));
  char *whole = mol_host_metrics(f->host); /* the agents' text only */
  assert_int_equal(strlen(whole), agents_len);
  assert_memory_equal(t.body.data, whole, agents_len);
  mol_free(whole);
  tresp_free(&t, 1);
  tc_close(r.metrics);
  tc_close(r.health);
  stop_host(f);
}

static int got_some(void *arg) { return ((tclient *)arg)->in.len > 0; }

/* The client leaves after the first bytes: the scrape stops, the host still stops clean. */
static void scrape_abandoned(void **state) {
  (void)state;
  fixture *f = start_host();
  tclient *c = connect_to(f);
  tc_send_str(c, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f->loop, got_some, c, 20000));
  tc_close(c);
  tclient *h = connect_to(f);
  tc_send_str(h, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(wait_responses(&f->loop, h, 1, 20000));
  tc_close(h);
  stop_host(f);
}

/* A host stopped while a scrape is being written finishes the scrape's response or cuts it,
 * and frees everything. */
static void stop_during_scrape(void **state) {
  (void)state;
  fixture *f = start_host();
  tclient *c = connect_to(f);
  tc_send_str(c, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_true(run_until(&f->loop, got_some, c, 20000));
  mol_host_stop(f->host);
  assert_true(run_until(&f->loop, is_ended, f, 20000));
  tc_close(c);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(metrics_streamed_and_valid),
    cmocka_unit_test(scrape_abandoned),
    cmocka_unit_test(stop_during_scrape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
