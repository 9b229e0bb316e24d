/* host_int.h - what the /metrics writer (host_metrics.c) reads of a running host (host.c). */
#ifndef MOL_RUNTIME_HOST_INT_H
#define MOL_RUNTIME_HOST_INT_H

#include <stddef.h>

#include "base/holds.h"
#include "http/server.h"
#include "runtime/host.h"

/* The agents the host was started with (0 before a start), and how many still serve. */
size_t mol_host__agents(const mol_host *h);
size_t mol_host__live(const mol_host *h);
/* Agent i's counters, live or as they were when it ended, named after it; returns 1 while it
 * serves, 0 once it ended. */
int mol_host__agent_stats(const mol_host *h, size_t i, mol_agent_stats *out);
uv_loop_t *mol_host__loop(const mol_host *h);
/* The host stays allocated while a hold is taken (a /metrics body still being written). */
mol_holds *mol_host__holds(mol_host *h);

/* Answers GET /metrics: the body streamed in chunks between loop iterations. */
void mol_host__metrics_serve(mol_http_req *r, mol_host *h);

#endif
