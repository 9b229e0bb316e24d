/* worker_forward.c - a request handed to the worker that owns what it names (workers.h): passed
 * on untouched to that worker's private loopback listener, its answer streamed back as it comes
 * (an SSE stream event by event), with back-pressure both ways. Only requests about another
 * worker's task take this path, never a new message/send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/workers.h"
#include "molecule.h"

/* Marks a request passed on once, so that it is never passed on again (no ping-pong even if
 * two workers disagreed about an owner). */
#define HOP_HEADER "Molecule-Worker-Hop"
#define MAX_QUEUED ((size_t)1 << 20) /* unsent bytes to the client before the owner is paused */

typedef struct {
  mol_http_req *in;        /* the client's request; NULL once finished */
  mol_http_request *out;   /* the request to the owner; NULL once done */
  int started;             /* the client's response has started */
} forward;

static int skipped(const char *name, const char *const *list) {
  for (; *list; list++)
    if (strcasecmp(name, *list) == 0) return 1;
  return 0;
}

/* Hop-by-hop fields and the ones each side computes itself. */
static const char *const request_skip[] = {"Host", "Content-Length", "Transfer-Encoding",
                                           "Connection", "Keep-Alive", "Expect", "TE",
                                           "Upgrade", HOP_HEADER, NULL};
static const char *const response_skip[] = {"Date", "Content-Length", "Transfer-Encoding",
                                            "Connection", "Keep-Alive", "Content-Type", NULL};

static void finish_in(forward *f) {
  if (!f->in) return;
  static const char gone[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
                             "\"message\":\"the worker that owns this task did not answer\"}}";
  if (f->started) mol_http_resp_end(f->in);
  else mol_http_respond(f->in, 502, "application/json", gone, sizeof(gone) - 1);
  f->in = NULL;
}

static int on_out_headers(mol_http_request *out, const mol_http_response *resp, void *arg) {
  (void)out;
  forward *f = arg;
  if (!f->in) return 1;
  const mol_http_headers *h = resp->headers;
  for (size_t i = 0; i < h->len; i++)
    if (!skipped(h->items[i].name, response_skip))
      mol_http_resp_header(f->in, h->items[i].name, h->items[i].value);
  if (mol_http_resp_start(f->in, resp->status, mol_http_headers_get(h, "Content-Type")) != 0)
    return 1;
  f->started = 1;
  return 0;
}

static void on_in_drain(mol_http_req *in, void *arg) {
  forward *f = arg;
  mol_http_req_on_drain(in, NULL, NULL);
  if (f->out) mol_http_request_resume(f->out);
}

static int on_out_body(mol_http_request *out, const char *data, size_t len, void *arg) {
  forward *f = arg;
  if (!f->in || mol_http_resp_write(f->in, data, len) != 0) {
    mol_http_request_cancel(out); /* the client is gone: the owner's answer goes nowhere */
    return 0;
  }
  if (mol_http_req_queued(f->in) < MAX_QUEUED) return 0;
  mol_http_req_on_drain(f->in, on_in_drain, f);
  return 1; /* paused until the client has taken what is queued */
}

static void on_out_done(mol_http_request *out, int err, const mol_http_response *resp, void *arg) {
  (void)out;
  (void)err;
  (void)resp;
  forward *f = arg;
  f->out = NULL;
  finish_in(f);
  free(f);
}

static void on_in_abort(mol_http_req *in, void *arg) {
  (void)in;
  forward *f = arg;
  if (f->out) mol_http_request_cancel(f->out); /* its done callback finishes the request */
}

/* Direct, never through a proxy from the environment (HTTP_PROXY): the hand-over is to this
 * process's own loopback listener. */
int mol_cli__forward_client(uv_loop_t *loop, mol_http_client **out) {
  static const mol_http_proxy_opts direct = {0};
  mol_http_client_opts o = {.max_conns_per_origin = 1024, .max_idle_per_origin = 64,
                            .proxy = &direct};
  return mol_http_client_new(loop, &o, out);
}

static int copy_headers(mol_http_req *r, mol_http_header **out, size_t *n) {
  size_t count = mol_http_req_header_count(r), k = 0;
  mol_http_header *h = calloc(count + 1, sizeof(*h));
  if (!h) return MOL_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    const char *name, *value;
    if (mol_http_req_header_at(r, i, &name, &value) == 0 && !skipped(name, request_skip))
      h[k++] = (mol_http_header){name, value};
  }
  h[k++] = (mol_http_header){HOP_HEADER, "1"};
  *out = h;
  *n = k;
  return 0;
}

int mol_cli__forward(mol_http_client *c, mol_http_req *r, int port) {
  if (mol_http_req_header(r, HOP_HEADER)) return MOL_EPROTO;
  const char *query = mol_http_req_query(r);
  size_t blen;
  const char *body = mol_http_req_body(r, &blen);
  char url[9000];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s%s%s", port, mol_http_req_path(r),
           query ? "?" : "", query ? query : "");
  forward *f = calloc(1, sizeof(*f));
  mol_http_header *h = NULL;
  size_t nh = 0;
  if (!f || copy_headers(r, &h, &nh) != 0) {
    free(f);
    return MOL_ENOMEM;
  }
  f->in = r;
  mol_http_request_opts o = {.method = mol_http_req_method(r), .url = url, .headers = h,
                             .nheaders = nh, .body = body, .body_len = blen,
                             .connect_timeout_ms = 5000,
                             .idle_timeout_ms = 7u * 86400 * 1000, /* a stream may idle */
                             .on_headers = on_out_headers, .on_body = on_out_body};
  int rc = mol_http_request_send(c, &o, on_out_done, f, &f->out);
  free(h); /* copied by the client */
  if (rc) {
    finish_in(f); /* the owner cannot be reached: say so rather than "task not found" */
    free(f);
    return 0;
  }
  mol_http_req_on_abort(r, on_in_abort, f);
  return 0;
}
