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
} dp_dispatch_args;

enum { DP_EXP_NONE = 0, DP_EXP_IDLE, DP_EXP_DEADLINE };

struct dp_dispatch {
  mol_devplatform *dp;
  dp_dispatch *prev, *next;  /* the target's in-flight list (dp_rt.inflight) */
  void *req;
  mol_http_request *out;
  char target[DP_ID_MAX + 1];
  char caller[DP_ID_MAX + 1];
  char method[64];
  char msgid[128];
  char queue_id[MOL_UUID_LEN + 1];
  char *url;
  char *body;
  uv_timer_t timer;          /* idle timer, bounded by the deadline */
  uint64_t idle_ms;
  uint64_t deadline;         /* uv_now() value, 0 = none */
  uint64_t started;
  int expired;               /* DP_EXP_* */
  int sending;               /* the outbound request is in flight */
};

/* Starts a dispatch. Returns 1 when it took over (the inbound request, if any, is answered
 * later, exactly once), 0 when r holds an immediate answer (refused URL, out of memory). */
int dp_dispatch_start(mol_devplatform *dp, const dp_dispatch_args *a, dp_reply *r);

/* queue.c: the busy answer (§4.3, §4.8) for a dispatch that timed out or lost its connection:
 * enqueue and 202, or 503 with Retry-After. Drains never come here. */
void dp_queue_busy_reply(mol_devplatform *dp, const dp_dispatch *d, dp_reply *r);
/* queue.c: the outcome of a drained item: ok=1 completed, else back to the queue. */
void dp_queue_drain_done(mol_devplatform *dp, const char *queue_id, int ok, const char *err);
/* Number of queued items across all workspaces (kept in memory so that heartbeats skip the
 * queue query when nothing is queued anywhere). */
int dp_queue_load_count(mol_devplatform *dp);

#endif
