/* metrics_merge.h - `--workers N`: one /metrics body out of every worker's Prometheus text
 * (metrics_merge.c). */
#ifndef MOL_CLI_METRICS_MERGE_H
#define MOL_CLI_METRICS_MERGE_H

#include "base/buf.h"

/* Appends to out the n texts (NULL ones skipped) merged into one: each family once, in the
 * order first seen, with its HELP/TYPE lines once; the process's own families
 * (molecule_build_info, process_*), which every worker reads alike, from the first text that
 * has them; any other sample that several texts carry (same name and labels: a worker's
 * counter such as molecule_http_requests_total{route,status} or molecule_host_agents) summed;
 * the rest (a host's per-agent series, each on one worker) as they are. 0 or MOL_ENOMEM. */
int mol_cli__metrics_merge(const char *const *texts, unsigned n, mol_buf *out);

#endif
