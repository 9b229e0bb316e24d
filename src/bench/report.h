/* report.h - a benchmark's results for people (a table) and for machines (JSON). Pure: writes
 * to the FILE it is given. */
#ifndef MOL_BENCH_REPORT_H
#define MOL_BENCH_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "bench/run.h"

/* The table: one line per workload that ran, a total, then the errors by kind. */
void mol_bench_report_text(FILE *f, const char *url, const mol_bench_result *res);
/* {"url", "endpoint", "agent", "seconds", "requests", "ok", "errors", "requests_per_s",
 *  "latency_us": {p50,p90,p99,p99.9,max,mean}, "errors_by_kind": {...}, "workloads": {...},
 *  "in_flight_max", "rss_max_kb"}; NULL when out of memory. */
json_t *mol_bench_report_json(const char *url, const mol_bench_result *res);

/* Side by side: B relative to A (req/s and latency percentiles of the totals). */
void mol_bench_report_compare_text(FILE *f, const mol_bench_result *a, const mol_bench_result *b);
json_t *mol_bench_report_compare_json(const mol_bench_result *a, const mol_bench_result *b);

/* The pieces: the column heads, one row, the errors of one row, one row as JSON. */
void mol_bench_report_header(FILE *f, const char *first);
void mol_bench_report_row(FILE *f, const char *name, const mol_bench_stats *s, double secs);
void mol_bench_report_errors(FILE *f, const char *name, const mol_bench_stats *s);
json_t *mol_bench_report_stats_json(const mol_bench_stats *s, double secs);

/* The totals of every workload. */
void mol_bench_result_total(const mol_bench_result *res, mol_bench_stats *total);

#endif
