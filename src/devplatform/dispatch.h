/* dispatch.h - one forwarded A2A call (dispatch.c) and the busy queue (queue.c). */
#ifndef MOL_DEVPLATFORM_DISPATCH_H
#define MOL_DEVPLATFORM_DISPATCH_H

#include "devplatform/dp_int.h"
#include "http/client.h"

typedef struct {
  const char *target, *caller, *url, *body, *method, *msgid;
  void *req;                 /* inbound request to answer; NULL for a queue drain */
  const char *x_timeout;     /* X-Timeout header or NULL */
  const char *queue_id;      /* the queue item a drain replays, else NULL */
} mol_dp__dispatch_args;

enum { MOL_DP__EXP_NONE = 0, MOL_DP__EXP_IDLE, MOL_DP__EXP_DEADLINE };

struct mol_dp__dispatch {
  mol_devplatform *dp;
  mol_dp__dispatch *prev, *next;  /* the target's in-flight list (mol_dp__rt.inflight) */
  void *req;
  mol_http_request *out;
  char target[MOL_DP__ID_MAX + 1];
  char caller[MOL_DP__ID_MAX + 1];
  char method[64];
  char msgid[128];
  char queue_id[MOL_UUID_LEN + 1];
  char *url;
  char *body;
  uv_timer_t timer;          /* idle timer, bounded by the deadline */
  uint64_t idle_ms;
  uint64_t deadline;         /* uv_now() value, 0 = none */
  uint64_t started;
  int expired;               /* MOL_DP__EXP_* */
  int sending;               /* the outbound request is in flight */
  int is_drain;              /* replays a queue item (queue_id may be cleared on shutdown) */
};

/* Starts a dispatch. Returns 1 when it took over (the inbound request, if any, is answered
 * later, exactly once), 0 when r holds an immediate answer (refused URL, out of memory). */
int mol_dp__dispatch_start(mol_devplatform *dp, const mol_dp__dispatch_args *a, mol_dp__reply *r);

/* queue.c: the busy answer for a dispatch that timed out or lost its connection:
 * enqueue and 202, or 503 with Retry-After. Drains never come here. */
void mol_dp__queue_busy_reply(mol_devplatform *dp, const mol_dp__dispatch *d, mol_dp__reply *r);
/* queue.c: the outcome of a drained item: ok=1 completed, else back to the queue. Returns 1
 * when the item failed for good (its attempts are used up), else 0. */
int mol_dp__queue_drain_done(mol_devplatform *dp, const char *queue_id, int ok, const char *err);
/* Number of queued items across all workspaces (kept in memory so that heartbeats skip the
 * queue query when nothing is queued anywhere). */
int mol_dp__queue_load_count(mol_devplatform *dp);

#endif
