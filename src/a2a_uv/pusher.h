/* pusher.h - delivering A2A push notifications: on every update of a task that has push
 * configs (a2a/push.h), a snapshot of the task is POSTed to each config's webhook through the
 * shared HTTP client, never blocking the loop.
 *
 * Delivery:
 *  - per (task, config) one notification at a time, in the order the updates happened; each
 *    carries the whole task as it was then, so later ones supersede earlier ones: past
 *    max_queued waiting notifications the newest replaces the last one waiting (counted as
 *    coalesced), and the webhook always ends up with the latest state;
 *  - the body is the version's shape of the config that asked: v0.3 the Task
 *    (application/json), v1.0 a StreamResponse {"task":…} (application/a2a+json);
 *  - headers: X-A2A-Notification-Token with the config's token, Authorization: <scheme>
 *    <credentials> with its authentication;
 *  - a 2xx is delivered; a 5xx, 408, 429 or a transport failure (refused, reset, timeout) is
 *    retried with exponential back-off and jitter (Retry-After honoured up to the cap) until
 *    max_attempts; any other answer fails at once;
 *  - webhook URLs pass http/ssrf.h: an address literal is judged when the config is set, a
 *    host name on every address it resolves to before each delivery; loopback and private
 *    addresses only with allow_private. Blocked ones never;
 *  - closing cancels what is in flight and drops what waits (counted).
 * Every counter is in mol_a2a_push_stats. */
#ifndef MOL_A2A_UV_PUSHER_H
#define MOL_A2A_UV_PUSHER_H

#include <stddef.h>
#include <uv.h>

#include "a2a/push.h"
#include "http/client.h"

typedef struct {
  mol_http_client *http;  /* the loop's shared client (outlives the pusher); NULL = push off */
  int allow_private;      /* webhooks on loopback and private addresses (one machine, tests) */
  unsigned timeout_ms;    /* per attempt, 0 -> 10 s */
  unsigned max_attempts;  /* per notification, 0 -> 5 */
  unsigned retry_base_ms; /* first retry delay, doubling per retry, +-25 % jitter; 0 -> 1000 */
  unsigned retry_cap_ms;  /* the longest delay (and Retry-After honoured), 0 -> 30000 */
  size_t max_queued;      /* notifications waiting per (task, config), 0 -> 16 */
} mol_a2a_push_opts;

typedef struct {
  unsigned long long sent;      /* delivered (2xx) */
  unsigned long long failed;    /* given up: attempts exhausted or a final answer */
  unsigned long long retries;   /* attempts after the first */
  unsigned long long coalesced; /* waiting notifications replaced by a newer one */
  unsigned long long refused;   /* webhooks whose address the SSRF policy refused at delivery */
  unsigned long long dropped;   /* still waiting when the server closed */
  size_t pending;               /* waiting or in flight */
} mol_a2a_push_stats;

typedef struct mol_a2a_pusher mol_a2a_pusher;

/* o->http must be set. Returns 0 or MOL_ENOMEM. */
int mol_a2a_pusher_new(uv_loop_t *loop, const mol_a2a_push_opts *o, mol_a2a_pusher **out);
/* Whether a webhook URL may be stored: an http(s) URL whose host, when it is an address (or
 * localhost), the policy allows. Returns 1, or 0 with *why saying what is wrong. */
int mol_a2a_pusher_url_ok(const mol_a2a_pusher *p, const char *url, const char **why);
/* Queues a notification of the task as it is now for `only` (NULL: every config it has). */
void mol_a2a_pusher_notify(mol_a2a_pusher *p, const mol_a2a_task *t,
                           const mol_a2a_push_config *only);
void mol_a2a_pusher_stats(const mol_a2a_pusher *p, mol_a2a_push_stats *out);
/* Cancels what is in flight, drops what waits, then writes the last counters to *last (when
 * not NULL) and calls cb(arg) once everything is freed (never inside this call).
 * Notifications asked for meanwhile are dropped. */
void mol_a2a_pusher_close(mol_a2a_pusher *p, mol_a2a_push_stats *last, void (*cb)(void *arg),
                          void *arg);

#endif
