/* report.c - results as a table and as JSON (report.h). */
#include "bench/report.h"

#include <stdlib.h>

static const double percentiles[] = {50, 90, 99, 99.9};
static const char *const pnames[] = {"p50", "p90", "p99", "p99.9"};
#define NPCT (sizeof(percentiles) / sizeof(*percentiles))

void mol_bench_result_total(const mol_bench_result *res, mol_bench_stats *total) {
  mol_bench_stats_init(total);
  for (int w = 0; w < MOL_BENCH_NWORK; w++) mol_bench_stats_merge(total, &res->work[w]);
}

/* ns -> "850us", "12.40ms", "1.25s" */
static const char *fmt_ns(uint64_t ns, char *buf, size_t n) {
  if (ns < 1000000) snprintf(buf, n, "%lluus", (unsigned long long)(ns / 1000));
  else if (ns < 1000000000ull) snprintf(buf, n, "%.2fms", (double)ns / 1e6);
  else snprintf(buf, n, "%.2fs", (double)ns / 1e9);
  return buf;
}

static double rate(const mol_bench_stats *s, double secs) {
  return secs > 0 ? (double)(s->ok + s->errors) / secs : 0;
}

void mol_bench_report_row(FILE *f, const char *name, const mol_bench_stats *s, double secs) {
  char b[5][24];
  const mol_bench_hist *h = &s->latency;
  fprintf(f, "%-13s %10llu %10.1f %8llu %9s %9s %9s %9s %9s\n", name,
          (unsigned long long)(s->ok + s->errors), rate(s, secs), (unsigned long long)s->errors,
          fmt_ns(mol_bench_hist_percentile(h, 50), b[0], 24), fmt_ns(mol_bench_hist_percentile(h, 90), b[1], 24),
          fmt_ns(mol_bench_hist_percentile(h, 99), b[2], 24), fmt_ns(mol_bench_hist_percentile(h, 99.9), b[3], 24),
          fmt_ns(h->max, b[4], 24));
}

static void text_extras(FILE *f, mol_bench_workload w, const mol_bench_stats *s) {
  char b[3][24];
  if (w == MOL_BENCH_STREAM && s->first_event.count)
    fprintf(f, "  first event: p50 %s  p99 %s  max %s; %llu events\n",
            fmt_ns(mol_bench_hist_percentile(&s->first_event, 50), b[0], 24),
            fmt_ns(mol_bench_hist_percentile(&s->first_event, 99), b[1], 24),
            fmt_ns(s->first_event.max, b[2], 24), (unsigned long long)s->events);
  if (w == MOL_BENCH_TASK && s->polls)
    fprintf(f, "  tasks/get polls: %llu\n", (unsigned long long)s->polls);
}

void mol_bench_report_errors(FILE *f, const char *name, const mol_bench_stats *s) {
  for (size_t i = 0; i < MOL_BENCH_ERR_KINDS && s->errs[i].count; i++)
    fprintf(f, "  %-13s %-32s %8llu  e.g. %s\n", name, s->errs[i].key,
            (unsigned long long)s->errs[i].count, s->errs[i].example);
  if (s->errs_other)
    fprintf(f, "  %-13s %-32s %8llu\n", name, "(other kinds)", (unsigned long long)s->errs_other);
}

void mol_bench_report_header(FILE *f, const char *first) {
  fprintf(f, "%-13s %10s %10s %8s %9s %9s %9s %9s %9s\n", first, "requests", "req/s", "errors",
          "p50", "p90", "p99", "p99.9", "max");
}

void mol_bench_report_text(FILE *f, const char *url, const mol_bench_result *res) {
  mol_bench_stats total;
  mol_bench_result_total(res, &total);
  fprintf(f, "target        %s", url);
  if (res->agent[0]) fprintf(f, " (agent '%s')", res->agent);
  fprintf(f, "\nendpoint      %s\n", res->endpoint);
  fprintf(f, "measured      %.2f s, at most %llu in flight\n\n", res->elapsed_s,
          (unsigned long long)res->in_flight_max);
  mol_bench_report_header(f, "workload");
  int used = 0;
  for (int w = 0; w < MOL_BENCH_NWORK; w++) {
    const mol_bench_stats *s = &res->work[w];
    if (!s->ok && !s->errors) continue;
    used++;
    mol_bench_report_row(f, mol_bench_workload_name((mol_bench_workload)w), s, res->elapsed_s);
    text_extras(f, (mol_bench_workload)w, s);
  }
  if (used > 1) mol_bench_report_row(f, "total", &total, res->elapsed_s);
  fprintf(f, "(latency of successful requests; errors are counted, never timed)\n");
  if (!total.errors) return;
  fprintf(f, "\nerrors by kind:\n");
  for (int w = 0; w < MOL_BENCH_NWORK; w++)
    mol_bench_report_errors(f, mol_bench_workload_name((mol_bench_workload)w), &res->work[w]);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *latency_json(const mol_bench_hist *h) {
  json_t *o = json_object();
  for (size_t i = 0; i < NPCT; i++)
    json_object_set_new(o, pnames[i], json_real((double)mol_bench_hist_percentile(h, percentiles[i]) / 1e3));
  json_object_set_new(o, "max", json_real((double)h->max / 1e3));
  json_object_set_new(o, "mean", json_real(mol_bench_hist_mean(h) / 1e3));
  return o;
}

json_t *mol_bench_report_stats_json(const mol_bench_stats *s, double secs) {
  json_t *o = json_object(), *errs = json_object();
  json_object_set_new(o, "requests", json_integer((json_int_t)(s->ok + s->errors)));
  json_object_set_new(o, "ok", json_integer((json_int_t)s->ok));
  json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
  json_object_set_new(o, "requests_per_s", json_real(rate(s, secs)));
  json_object_set_new(o, "latency_us", latency_json(&s->latency));
  for (size_t i = 0; i < MOL_BENCH_ERR_KINDS && s->errs[i].count; i++)
    json_object_set_new(errs, s->errs[i].key, json_integer((json_int_t)s->errs[i].count));
  if (s->errs_other) json_object_set_new(errs, "other", json_integer((json_int_t)s->errs_other));
  json_object_set_new(o, "errors_by_kind", errs);
  if (s->first_event.count) json_object_set_new(o, "first_event_us", latency_json(&s->first_event));
  if (s->events) json_object_set_new(o, "events", json_integer((json_int_t)s->events));
  if (s->polls) json_object_set_new(o, "polls", json_integer((json_int_t)s->polls));
  return o;
}

json_t *mol_bench_report_json(const char *url, const mol_bench_result *res) {
  mol_bench_stats total;
  mol_bench_result_total(res, &total);
  json_t *o = mol_bench_report_stats_json(&total, res->elapsed_s), *works = json_object();
  json_object_set_new(o, "url", json_string(url));
  json_object_set_new(o, "endpoint", json_string(res->endpoint));
  json_object_set_new(o, "agent", json_string(res->agent));
  json_object_set_new(o, "seconds", json_real(res->elapsed_s));
  json_object_set_new(o, "in_flight_max", json_integer((json_int_t)res->in_flight_max));
  json_object_set_new(o, "rss_max_kb", json_integer(res->rss_max_kb));
  for (int w = 0; w < MOL_BENCH_NWORK; w++)
    if (res->work[w].ok || res->work[w].errors)
      json_object_set_new(works, mol_bench_workload_name((mol_bench_workload)w),
                          mol_bench_report_stats_json(&res->work[w], res->elapsed_s));
  json_object_set_new(o, "workloads", works);
  return o;
}

/* ---- side by side ---------------------------------------------------------------------------- */

static double ratio(double b, double a) { return a > 0 ? b / a : 0; }

void mol_bench_report_compare_text(FILE *f, const mol_bench_result *a, const mol_bench_result *b) {
  mol_bench_stats ta, tb;
  mol_bench_result_total(a, &ta);
  mol_bench_result_total(b, &tb);
  fprintf(f, "\ncompare (B / A, alternating rounds):\n");
  fprintf(f, "  req/s   %10.1f / %10.1f = %.2fx\n", rate(&tb, b->elapsed_s), rate(&ta, a->elapsed_s),
          ratio(rate(&tb, b->elapsed_s), rate(&ta, a->elapsed_s)));
  for (size_t i = 0; i < NPCT; i++) {
    double pa = (double)mol_bench_hist_percentile(&ta.latency, percentiles[i]) / 1e3;
    double pb = (double)mol_bench_hist_percentile(&tb.latency, percentiles[i]) / 1e3;
    fprintf(f, "  %-6s  %8.0fus / %8.0fus = %.2fx\n", pnames[i], pb, pa, ratio(pb, pa));
  }
  fprintf(f, "  errors  %10llu / %10llu\n", (unsigned long long)tb.errors, (unsigned long long)ta.errors);
}

json_t *mol_bench_report_compare_json(const mol_bench_result *a, const mol_bench_result *b) {
  mol_bench_stats ta, tb;
  mol_bench_result_total(a, &ta);
  mol_bench_result_total(b, &tb);
  json_t *o = json_object();
  json_object_set_new(o, "requests_per_s", json_real(ratio(rate(&tb, b->elapsed_s), rate(&ta, a->elapsed_s))));
  for (size_t i = 0; i < NPCT; i++)
    json_object_set_new(o, pnames[i], json_real(ratio((double)mol_bench_hist_percentile(&tb.latency, percentiles[i]),
                                                      (double)mol_bench_hist_percentile(&ta.latency, percentiles[i]))));
  return o;
}
