/* gate.c - the clients of one loop that talk to one platform share its connections; the gate
 * hands them out.
 *
 * Without it every exchange went straight to the HTTP client, which queues what it cannot
 * send at once behind its connections (16 to an origin) - and a request's timeout runs from
 * the moment it is queued. With thousands of agents starting together, registrations waited
 * seconds in that queue and timed out there, or worse, timed out after the platform had
 * committed them (minting the workspace's token) with their answer on its way. So exchanges
 * to the platform now wait here, untimed, and go to the HTTP client only when a connection is
 * free; their timeout then measures the platform, not the queue. (A call's own deadline, when
 * it has one, still counts the wait: call.c arms it.)
 *
 * Registrations are slow on the platform (a row, a token and its commit) and come all at once
 * at start-up; they are sure of half of the connections, so heartbeats and state polls of the
 * agents already registered keep flowing. While no other exchange waits they may borrow the
 * idle ones beyond that half, all but one: a heartbeat made meanwhile still finds a connection
 * at once, and a borrowed connection, once answered, goes to whatever else waits by then.
 * Within those rules the oldest waiting exchange goes first.
 *
 * The waiting room is bounded (max_waiting, the pool's max_queued), but never below four
 * exchanges per client sharing the gate: a client's own loop has at most a registration, a
 * heartbeat, a state poll and an inbound poll out at once, so a host starting 100,000 agents
 * (100,000 registrations waiting) does not refuse the heartbeats of those already registered.
 *
 * Exchanges to other origins (a peer called directly) bypass the gate. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform_int.h"

struct mol_platform__gate {
  char *base_url;
  unsigned refs;
  unsigned slots, reg_slots; /* connections; of which registrations may hold */
  unsigned busy, reg_busy;
  unsigned waiting, max_waiting; /* past max_waiting an attempt fails with MOL_ELIMIT */
  uint64_t seq;
  mol_platform_req *head[2], *tail[2]; /* waiting: [0] other exchanges, [1] registrations */
  mol_platform__gate *next;
};

int mol_platform__gate_get(mol_platform__gate **list, const char *base_url, unsigned slots,
                           unsigned max_waiting, mol_platform__gate **out) {
  mol_platform__gate *g = *list;
  while (g && strcmp(g->base_url, base_url)) g = g->next;
  if (!g) {
    if (!(g = calloc(1, sizeof(*g))) || !(g->base_url = strdup(base_url))) {
      free(g);
      return MOL_ENOMEM;
    }
    g->slots = slots ? slots : 16; /* the HTTP client's default per origin */
    g->reg_slots = g->slots > 1 ? g->slots / 2 : 1;
    g->max_waiting = max_waiting ? max_waiting : 100000;
    g->next = *list;
    *list = g;
  }
  g->refs++;
  *out = g;
  return 0;
}

const char *mol_platform__gate_url(const mol_platform__gate *g) { return g->base_url; }

void mol_platform__gate_put(mol_platform__gate **list, mol_platform__gate *g) {
  if (!g || --g->refs) return;
  mol_platform__gate **pp = list;
  while (*pp != g) pp = &(*pp)->next;
  *pp = g->next;
  free(g->base_url);
  free(g);
}

static int lane_of(const mol_platform_req *r) { return (r->flags & MOL_PLATFORM__REGISTER) != 0; }

/* An exchange to the platform: its URL is the base URL followed by a path (or nothing), not
 * merely a string that starts alike (":80" is a prefix of ":8080"). */
static int gated(const mol_platform_req *r) {
  mol_platform__gate *g = r->c->gate;
  size_t n = g ? strlen(g->base_url) : 0;
  if (!r->url) return g != NULL; /* a late exchange (url made when sent) is the platform's */
  return g && !strncmp(r->url, g->base_url, n) && strchr("/?#", r->url[n]);
}

static int may_go(const mol_platform__gate *g, int lane) {
  if (g->busy >= g->slots) return 0;
  if (!lane || g->reg_busy < g->reg_slots) return 1;
  return !g->head[0] && g->busy + 1 < g->slots; /* a registration borrowing an idle slot */
}

/* Room for every client's own periodic exchanges, whatever the configured bound. */
static unsigned room(const mol_platform__gate *g) {
  unsigned per_clients = g->refs > UINT_MAX / 4 ? UINT_MAX : g->refs * 4;
  return g->max_waiting > per_clients ? g->max_waiting : per_clients;
}

static void take(mol_platform__gate *g, mol_platform_req *r) {
  r->gate_slot = 1;
  g->busy++;
  g->reg_busy += (unsigned)lane_of(r);
}

int mol_platform__gate_enter(mol_platform_req *r) {
  mol_platform__gate *g = r->c->gate;
  if (r->gate_slot || !gated(r)) return 1;
  int lane = lane_of(r);
  if (may_go(g, lane) && !g->head[lane]) {
    take(g, r);
    return 1;
  }
  if (g->waiting >= room(g)) return MOL_ELIMIT;
  g->waiting++;
  r->gate_waiting = 1;
  r->gate_seq = g->seq++;
  r->gate_next = NULL;
  r->gate_prev = g->tail[lane];
  if (g->tail[lane]) g->tail[lane]->gate_next = r;
  else g->head[lane] = r;
  g->tail[lane] = r;
  return 0;
}

void mol_platform__gate_unqueue(mol_platform_req *r) {
  if (!r->gate_waiting) return;
  mol_platform__gate *g = r->c->gate;
  int lane = lane_of(r);
  if (r->gate_prev) r->gate_prev->gate_next = r->gate_next;
  else g->head[lane] = r->gate_next;
  if (r->gate_next) r->gate_next->gate_prev = r->gate_prev;
  else g->tail[lane] = r->gate_prev;
  r->gate_next = r->gate_prev = NULL;
  r->gate_waiting = 0;
  g->waiting--;
}

/* The oldest waiting exchange that may go now, or NULL. */
static mol_platform_req *next_ready(mol_platform__gate *g) {
  mol_platform_req *a = may_go(g, 0) ? g->head[0] : NULL;
  mol_platform_req *b = may_go(g, 1) ? g->head[1] : NULL;
  if (a && b) return a->gate_seq < b->gate_seq ? a : b;
  return a ? a : b;
}

void mol_platform__gate_leave(mol_platform_req *r, int pump) {
  mol_platform__gate *g = r->c->gate;
  if (r->gate_slot) {
    r->gate_slot = 0;
    g->busy--;
    g->reg_busy -= (unsigned)lane_of(r);
  }
  if (!pump || !g) return;
  /* A send that fails at once gives its slot back (pump 0), so this loop goes on. */
  mol_platform_req *w;
  while ((w = next_ready(g))) {
    mol_platform__gate_unqueue(w);
    take(g, w);
    mol_platform__attempt_go(w);
  }
}
