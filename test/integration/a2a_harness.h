/* a2a_harness.h - an A2A server on a loopback port with three echo agents, and blocking
 * helpers that send HTTP requests with our client while the same loop serves them.
 *   /       instant echo: message/send answers with a Message
 *   /task   task lifecycle, 100 ms between steps (cancel, resubscribe, continue)
 *   /nostream  like / but the card says streaming:false */
#ifndef A2A_HARNESS_H
#define A2A_HARNESS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/echo.h"
#include "a2a_uv/server.h"
#include "http/client.h"
#include "http/server.h"
#include "molecule.h"

typedef struct {
  int done, err, status;
  char *body;
  size_t len;
  char ctype[128], vary[64], etag[64], cache[64];
} h_resp;

typedef struct {
  uv_loop_t loop;
  mol_http_server *http;
  mol_http_client *client;
  mol_a2a_executor ex_instant, ex_task;
  mol_a2a_server *a2a[8];
  int n_a2a;
  int echo_made;
  int port;
  int closed;
  int a2a_closed; /* the A2A servers closed: the HTTP server closes after the last */
  uv_timer_t tick; /* wakes UV_RUN_ONCE now and then: a wait whose event came in a phase
                      after the poll rechecks its condition without sleeping to the next timer */
} h_env;

static h_env H;

static void h_copy_header(const mol_http_response *resp, const char *name, char *out, size_t n) {
  const char *v = resp ? mol_http_headers_get(resp->headers, name) : NULL;
  snprintf(out, n, "%s", v ? v : "");
}

static void h_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  h_resp *o = arg;
  o->done++;
  o->err = err;
  if (resp) {
    o->status = resp->status;
    o->body = malloc(resp->body_len + 1);
    memcpy(o->body, resp->body ? resp->body : "", resp->body_len);
    o->body[resp->body_len] = '\0';
    o->len = resp->body_len;
    h_copy_header(resp, "Content-Type", o->ctype, sizeof(o->ctype));
    h_copy_header(resp, "Vary", o->vary, sizeof(o->vary));
    h_copy_header(resp, "ETag", o->etag, sizeof(o->etag));
    h_copy_header(resp, "Cache-Control", o->cache, sizeof(o->cache));
  }
}

/* Starts a request; the response lands in *o when the loop has run. */
static void h_start(const char *method, const char *path, const char *body, const char *hname,
                    const char *hval, h_resp *o) {
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", H.port, path);
  memset(o, 0, sizeof(*o));
  mol_http_header hdrs[2] = {{"Content-Type", "application/json"}, {hname, hval}};
  mol_http_request_opts opts = {.method = method, .url = url, .headers = hdrs,
                                .nheaders = hname ? 2 : 1, .body = body,
                                .body_len = body ? strlen(body) : 0, .total_timeout_ms = 10000};
  if (mol_http_request_send(H.client, &opts, h_done, o, NULL) != 0) {
    fprintf(stderr, "request could not start\n");
    abort();
  }
}

static void h_wait(h_resp *o) {
  while (!o->done) uv_run(&H.loop, UV_RUN_ONCE);
}

static void h_req(const char *method, const char *path, const char *body, const char *hname,
                  const char *hval, h_resp *o) {
  h_start(method, path, body, hname, hval, o);
  h_wait(o);
}

static void h_free(h_resp *o) {
  free(o->body);
  o->body = NULL;
}

/* POST a JSON-RPC body to path; returns the parsed response (the caller decrefs). */
__attribute__((unused)) static json_t *h_rpc(const char *path, const char *body, const char *version) {
  h_resp o;
  h_req("POST", path, body, version ? "A2A-Version" : NULL, version, &o);
  json_t *v = o.status == 200 ? json_loads(o.body, 0, NULL) : NULL;
  if (!v) fprintf(stderr, "rpc %s -> %d %s\n", body, o.status, o.body ? o.body : "");
  h_free(&o);
  return v;
}

static void h_mount(const char *prefix, const mol_a2a_executor *ex, int streaming) {
  int i = H.n_a2a++;
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/", H.port, prefix);
  mol_a2a_skill skill = {.id = "echo", .name = "Echo", .description = "echoes text"};
  mol_a2a_card card = {.name = "echo", .description = "test agent", .url = url,
                       .streaming = streaming, .skills = &skill, .n_skills = 1};
  mol_a2a_server_opts o = {.card = &card, .executor = ex, .prefix = prefix,
                           .store = {.max_tasks = 64}};
  if (mol_a2a_server_new(&H.loop, H.http, &o, &H.a2a[i]) != 0) abort();
}

/* A loop, an HTTP listener on an ephemeral port and a client; mount agents with h_mount. */
static void h_tick(uv_timer_t *t) { (void)t; }

static void h_setup_base(void) {
  memset(&H, 0, sizeof(H));
  uv_loop_init(&H.loop);
  uv_timer_init(&H.loop, &H.tick);
  uv_timer_start(&H.tick, h_tick, 20, 20);
  uv_unref((uv_handle_t *)&H.tick); /* never what keeps the loop alive */
  mol_http_server_new(&H.loop, NULL, &H.http);
  mol_http_server_listen(H.http, "127.0.0.1", 0);
  H.port = mol_http_server_port(H.http);
  mol_http_client_new(&H.loop, NULL, &H.client);
}

__attribute__((unused)) static void h_setup(void) {
  h_setup_base();
  mol_echo_opts instant = {0}, task = {.delay_ms = 100, .task_mode = 1};
  mol_echo_new(&instant, &H.ex_instant);
  mol_echo_new(&task, &H.ex_task);
  H.echo_made = 1;
  h_mount("", &H.ex_instant, 1);
  h_mount("/task", &H.ex_task, 1);
  h_mount("/nostream", &H.ex_instant, 0);
}

static void h_count_closed(void *arg) { (void)arg; H.closed++; }

/* The A2A servers go first (they remove their routes), the HTTP server after the last. */
static void h_after_a2a(void *arg) {
  (void)arg;
  H.closed++;
  if (++H.a2a_closed == H.n_a2a) mol_http_server_close(H.http, 1000, h_count_closed, NULL);
}

static void h_teardown(void) {
  mol_http_client_close(H.client, h_count_closed, NULL);
  for (int i = 0; i < H.n_a2a; i++) mol_a2a_server_close(H.a2a[i], h_after_a2a, NULL);
  if (H.n_a2a == 0) mol_http_server_close(H.http, 1000, h_count_closed, NULL);
  while (H.closed < 2 + H.n_a2a) uv_run(&H.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&H.tick, NULL);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  if (H.echo_made) {
    mol_echo_free(&H.ex_instant);
    mol_echo_free(&H.ex_task);
  }
  if (uv_loop_close(&H.loop) != 0) {
    fprintf(stderr, "loop still has handles\n");
    abort();
  }
}

/* Splits an SSE body into events; each must be "data: <one line>" or "event: error\ndata: …".
 * Returns the number of events, fills data[] (pointers into body, NUL-terminated in place)
 * and is_error[]; -1 on a framing error. */
__attribute__((unused)) static int h_sse_events(char *body, char **data, int *is_error, int max) {
  int n = 0;
  char *p = body;
  while (*p) {
    char *end = strstr(p, "\n\n");
    if (!end || n == max) return -1;
    *end = '\0';
    is_error[n] = 0;
    if (strncmp(p, "event: error\n", 13) == 0) {
      is_error[n] = 1;
      p += 13;
    }
    if (strncmp(p, "data: ", 6) != 0 || strchr(p + 6, '\n')) return -1;
    data[n++] = p + 6;
    p = end + 2;
  }
  return n;
}

#endif
