/* upstream.h - how a model executor tells its agent what the backend did, turn by turn: the
 * agent's health (runtime/agent_care.h) counts consecutive failures to decide "wedged" and
 * clears it on the first success. An executor reports once per request that reached a
 * verdict: ok = 1 for an answer, 0 for an unreachable backend, a timeout or a 5xx (a 4xx is
 * the request's fault, not the backend's, and is not reported). */
#ifndef MOL_RUNTIME_UPSTREAM_H
#define MOL_RUNTIME_UPSTREAM_H

#include <jansson.h>

typedef void (*mol_upstream_fn)(int ok, const char *why, void *arg);

/* The stored conversation of a context, as A2A messages ({"role":"user"|"agent","parts":[...]}),
 * oldest first; NULL when nothing is stored. Borrowed until the loop turns. */
typedef const json_t *(*mol_history_fn)(const char *context_id, void *arg);

#endif
