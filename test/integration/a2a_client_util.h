/* a2a_client_util.h - a loop, one shared HTTP client, and collectors for A2A client calls,
 * shared by the fake-server and the interop tests of the A2A client. Include after cmocka.h. */
#ifndef TEST_A2A_CLIENT_UTIL_H
#define TEST_A2A_CLIENT_UTIL_H

#include <stdio.h>
#include <string.h>

#include "a2a_uv/client.h"
#include "molecule.h"

enum { AR_MAX_EVENTS = 32 };

/* What one call reported, copied out of the callbacks. */
typedef struct {
  int calls;                 /* done callbacks: must end at exactly 1 */
  int in_call;               /* set while the starting function runs: catches re-entrancy */
  int reentered;
  int err;
  int http_status, rpc_code;
  char rpc_message[256], detail[256];
  int has_rpc_data;
  mol_a2a_result_kind kind;
  char text[1024], task_id[128], state[40], rpc_url[256], card_name[64];
  size_t events;
  /* stream events, in order */
  int nev;
  mol_a2a_result_kind ev_kind[AR_MAX_EVENTS];
  char ev_state[AR_MAX_EVENTS][40];
  char ev_text[AR_MAX_EVENTS][128];
  int ev_final[AR_MAX_EVENTS];
  /* consumer behaviour */
  int pause_each;            /* return 1 (pause) from every event */
  int cancel_at;             /* cancel inside the nth event (1-based), 0 = never */
  mol_a2a_call *call;
} ares;

static inline void ar_copy(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

static inline const char *ar_state_of(const json_t *result) {
  return json_string_value(json_object_get(json_object_get(result, "status"), "state"));
}

static inline void ar_done(mol_a2a_call *call, int err, const mol_a2a_result *r, void *arg) {
  ares *a = arg;
  (void)call;
  if (a->in_call) a->reentered = 1;
  a->calls++;
  a->err = err;
  a->http_status = r->http_status;
  a->rpc_code = r->rpc_code;
  ar_copy(a->rpc_message, sizeof(a->rpc_message), r->rpc_message);
  ar_copy(a->detail, sizeof(a->detail), r->detail);
  a->has_rpc_data = r->rpc_data != NULL;
  a->kind = r->kind;
  ar_copy(a->text, sizeof(a->text), r->text);
  ar_copy(a->task_id, sizeof(a->task_id), r->task_id);
  ar_copy(a->state, sizeof(a->state), r->result ? ar_state_of(r->result) : NULL);
  ar_copy(a->rpc_url, sizeof(a->rpc_url), r->rpc_url);
  ar_copy(a->card_name, sizeof(a->card_name),
          r->card ? json_string_value(json_object_get(r->card, "name")) : NULL);
  a->events = r->events;
}

static inline int ar_event(mol_a2a_call *call, const mol_a2a_response *ev, void *arg) {
  ares *a = arg;
  if (a->in_call) a->reentered = 1;
  if (a->nev < AR_MAX_EVENTS) {
    int i = a->nev;
    a->ev_kind[i] = ev->kind;
    ar_copy(a->ev_state[i], sizeof(a->ev_state[i]), ar_state_of(ev->result));
    char *t = mol_a2a_response_text(ev);
    ar_copy(a->ev_text[i], sizeof(a->ev_text[i]), t);
    free(t);
    a->ev_final[i] = json_is_true(json_object_get(ev->result, "final"));
  }
  a->nev++;
  if (a->cancel_at && a->nev == a->cancel_at) mol_a2a_client_cancel(call);
  return a->pause_each;
}

typedef struct {
  uv_loop_t loop;
  uv_timer_t tick; /* keeps UV_RUN_ONCE from sleeping forever */
  mol_http_client *http;
  mol_a2a_client *c;
  int closed;
} a2a_env;

static inline void ae_tick(uv_timer_t *t) { (void)t; }

static inline void ae_init_loop(a2a_env *e) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, ae_tick, 20, 20);
}

/* An A2A client on url with version v (and the shared HTTP client). */
static inline void ae_client(a2a_env *e, const char *url, mol_a2a_version v,
                             const mol_a2a_client_opts *extra) {
  mol_a2a_client_opts o = {0};
  if (extra) o = *extra;
  o.url = url;
  o.version = v;
  if (!e->http) assert_int_equal(mol_http_client_new(&e->loop, NULL, &e->http), 0);
  assert_int_equal(mol_a2a_client_new(&e->loop, e->http, &o, &e->c), 0);
}

/* Runs the loop until *n >= want; fails after limit_ms. */
static inline void ae_run_until(a2a_env *e, const int *n, int want, unsigned limit_ms) {
  uint64_t start = uv_now(&e->loop);
  while (*n < want) {
    uv_run(&e->loop, UV_RUN_ONCE);
    if (uv_now(&e->loop) - start > limit_ms) fail_msg("timed out waiting: %d < %d", *n, want);
  }
}

static inline void ae_run_for(a2a_env *e, unsigned ms) {
  uint64_t end = uv_now(&e->loop) + ms;
  while (uv_now(&e->loop) < end) uv_run(&e->loop, UV_RUN_ONCE);
}

static inline void ae_on_closed(void *arg) { (*(int *)arg)++; }

/* Closes the A2A client and the HTTP client and waits until both are freed. */
static inline void ae_close_clients(a2a_env *e) {
  if (e->c) {
    int closed = 0;
    mol_a2a_client_close(e->c, ae_on_closed, &closed);
    assert_int_equal(closed, 0); /* never inside the close call */
    ae_run_until(e, &closed, 1, 10000);
    e->c = NULL;
  }
  if (e->http) {
    int closed = 0;
    mol_http_client_close(e->http, ae_on_closed, &closed);
    ae_run_until(e, &closed, 1, 10000);
    e->http = NULL;
  }
}

static inline void ae_fini_loop(a2a_env *e) {
  ae_close_clients(e);
  uv_close((uv_handle_t *)&e->tick, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
}

/* Waits for the done callback and checks it fired once, not inside the starting call. */
static inline void ae_wait(a2a_env *e, ares *a) {
  ae_run_until(e, &a->calls, 1, 30000);
  ae_run_for(e, 5); /* a second callback would show up here */
  assert_int_equal(a->calls, 1);
  assert_false(a->reentered);
}

/* A user message with one text part. */
static inline json_t *ae_msg(const char *text) {
  json_t *m = mol_a2a_message_new(MOL_A2A_ROLE_USER, text);
  assert_non_null(m);
  return m;
}

static inline void ae_send(a2a_env *e, const char *text, ares *a) {
  json_t *m = ae_msg(text);
  a->in_call = 1;
  assert_int_equal(mol_a2a_send(e->c, m, NULL, ar_done, a, &a->call), 0);
  a->in_call = 0;
  json_decref(m);
  ae_wait(e, a);
}

static inline void ae_stream(a2a_env *e, const char *text, ares *a) {
  json_t *m = ae_msg(text);
  a->in_call = 1;
  assert_int_equal(mol_a2a_stream(e->c, m, NULL, ar_event, ar_done, a, &a->call), 0);
  a->in_call = 0;
  json_decref(m);
  ae_wait(e, a);
}

#endif
