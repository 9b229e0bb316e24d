/* commit.c - group commit, the reply side: no reply leaves the platform before the write
 * transaction it saw is committed.
 *
 * Every write of a loop iteration runs in one SQLite transaction, committed in the loop's check
 * phase (store.c). A reply produced while that transaction is open may acknowledge one of its
 * writes (the 201 of a created workspace) or show one (a GET in the same iteration reads the
 * uncommitted row), so it is held here, in arrival order, and released only once the COMMIT
 * has returned. Answering first and committing after, as the platform once did, let a kill -9
 * between the two lose workspaces whose 201 the client already had. If the COMMIT fails the
 * transaction is rolled back and every reply it held becomes a 503: no success reply for work
 * that was lost. A reply produced while no transaction is open saw only committed state and
 * leaves at once.
 *
 * Held replies are fully serialised (status + JSON body; headers are already on the request).
 * The request stays valid until it is answered, even if its client has gone meanwhile
 * (http/server.h), and responses on one connection leave in request order whatever order the
 * handlers answer in, so holding one reply never reorders a connection's answers.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devplatform/dp_int.h"
#include "http/server.h"
#include "molecule.h"

static const char ROLLED_BACK[] =
    "{\"error\":\"storage commit failed; the request was not applied, retry it\"}";
static const char NO_MEMORY[] = "{\"error\":\"out of memory\"}";

static void respond_now(void *req, int status, const char *body, size_t len) {
  if (mol_http_respond(req, status, "application/json", body ? body : "", body ? len : 0) != 0)
    mol_logw("devplatform", "respond %d failed", status);
}

static int hold(mol_devplatform *dp, void *req, int status, char *body, size_t len) {
  mol_dp__held_list *l = &dp->held;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    mol_dp__held *v = realloc(l->v, cap * sizeof *v);
    if (!v) return MOL_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (mol_dp__held){.req = req, .status = status, .body = body, .len = len};
  return 0;
}

void mol_dp__send(mol_devplatform *dp, void *req, int status, char *body, size_t len) {
  if (!dp->store.in_txn) {
    respond_now(req, status, body, len);
  } else if (hold(dp, req, status, body, len) != 0) {
    /* Cannot wait for the commit: a 5xx now is allowed, a success before the commit is not. */
    respond_now(req, 503, NO_MEMORY, sizeof NO_MEMORY - 1);
  } else {
    return; /* the batch owns body now */
  }
  free(body);
}

void mol_dp__send_copy(mol_devplatform *dp, void *req, int status, const char *body, size_t len) {
  if (!dp->store.in_txn) {
    respond_now(req, status, body, len);
    return;
  }
  char *copy = malloc(len + 1);
  if (copy) {
    if (len) memcpy(copy, body, len);
    copy[len] = '\0';
    mol_dp__send(dp, req, status, copy, len);
  } else {
    respond_now(req, 503, NO_MEMORY, sizeof NO_MEMORY - 1);
  }
}

/* Group commit across iterations. At low concurrency every proxied call ended in a commit of
 * its own (its activity row), the largest cost left on the proxy path after the JSON. So while
 * replies wait and forwarded calls are still out, the transaction stays open for their answers
 * to join it, up to GROUP_MAX replies and never longer than MOL_DP__GROUP_WAIT_MS (store.c).
 * Nothing changes for the rule above: every held reply still leaves only after the COMMIT of
 * what it saw. With nothing out (one caller at a time) it commits at once, as before. */
#define GROUP_MAX 32

int mol_dp__group_wait(void *arg) {
  mol_devplatform *dp = arg;
  return !dp->closing && dp->held.n > 0 && dp->held.n < GROUP_MAX && dp->dispatches_sending > 0;
}

void mol_dp__held_release(mol_devplatform *dp, int committed) {
  if (!dp->held.n) return;
  /* Answering may run more handlers whose replies join the next transaction's batch: take
   * this batch out first, and give its array back for reuse afterwards. */
  mol_dp__held_list batch = dp->held;
  dp->held = dp->held_spare;
  dp->held.n = 0;
  /* Last first. The server writes a connection's answers in request order whatever order they
   * come in; an answer behind an unanswered one waits in its request, and the head's answer
   * then goes out together with everything ready behind it. So, released backwards, a
   * connection's pipelined answers leave in one write instead of one write each. */
  for (size_t i = batch.n; i-- > 0;) {
    mol_dp__held *h = &batch.v[i];
    if (committed) respond_now(h->req, h->status, h->body, h->len);
    else respond_now(h->req, 503, ROLLED_BACK, sizeof ROLLED_BACK - 1);
    free(h->body);
  }
  batch.n = 0;
  dp->held_spare = batch;
}

void mol_dp__held_free(mol_devplatform *dp) {
  /* The store's close committed and released everything; only the arrays are left. */
  for (size_t i = 0; i < dp->held.n; i++) free(dp->held.v[i].body);
  free(dp->held.v);
  free(dp->held_spare.v);
  memset(&dp->held, 0, sizeof dp->held);
  memset(&dp->held_spare, 0, sizeof dp->held_spare);
}
