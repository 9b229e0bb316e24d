/* client.c - the A2A client: its lifecycle, the life of one call (exactly one completion), and
 * reading a unary JSON-RPC answer. The calls themselves are started in client_calls.c; SSE
 * streams live in client_stream.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/client_int.h"
#include "base/jscan.h"
#include "base/crypto.h"
#include "molecule.h"

enum { DEFAULT_TIMEOUT_MS = 60000 };

/* ---- client ---------------------------------------------------------------------------- */

static int copy_headers(mol_a2a_client *c, const mol_http_header *h, size_t n) {
  if (n == 0) return 0;
  c->headers = calloc(n, sizeof(*c->headers));
  if (!c->headers) return MOL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (!h[i].name || !h[i].value) return MOL_EINVAL;
    c->headers[i].name = strdup(h[i].name);
    c->headers[i].value = strdup(h[i].value);
    c->nheaders = i + 1;
    if (!c->headers[i].name || !c->headers[i].value) return MOL_ENOMEM;
  }
  return 0;
}

static void client_free(mol_a2a_client *c) {
  for (size_t i = 0; i < c->nheaders; i++) {
    free((char *)c->headers[i].name);
    free((char *)c->headers[i].value);
  }
  free(c->headers);
  free(c->base_url);
  free(c->rpc_url);
  free(c);
}

/* The holds' finish: closed, and every call freed. */
static void client_finish(void *arg) {
  mol_a2a_client *c = arg;
  void (*cb)(void *) = c->close_cb;
  void *cb_arg = c->close_arg;
  client_free(c);
  if (cb) cb(cb_arg);
}

static int is_http_url(const char *u) {
  return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
}

static void client_set_opts(mol_a2a_client *c, const mol_a2a_client_opts *o) {
  c->version = o->version;
  c->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  c->connect_timeout_ms = o->connect_timeout_ms;
  c->idle_timeout_ms = o->idle_timeout_ms;
  c->max_body_bytes = o->max_body_bytes;
  c->max_event_bytes = o->max_event_bytes;
  c->insecure = o->insecure_skip_verify;
}

int mol_a2a_client_new(uv_loop_t *loop, mol_http_client *http, const mol_a2a_client_opts *o,
                       mol_a2a_client **out) {
  if (!loop || !http || !o || !out || !is_http_url(o->url)) return MOL_EINVAL;
  if (o->version != MOL_A2A_V03 && o->version != MOL_A2A_V10) return MOL_EINVAL;
  mol_a2a_client *c = calloc(1, sizeof(*c));
  if (!c) return MOL_ENOMEM;
  c->loop = loop;
  c->http = http;
  client_set_opts(c, o);
  c->base_url = strdup(o->url);
  c->rpc_url = strdup(o->url);
  int rc = c->base_url && c->rpc_url ? copy_headers(c, o->headers, o->nheaders) : MOL_ENOMEM;
  if (rc != 0) {
    client_free(c);
    return rc;
  }
  size_t n = strlen(c->base_url);
  while (n > 0 && c->base_url[n - 1] == '/') c->base_url[--n] = '\0';
  uv_timer_init(loop, &c->defer);
  mol_holds_init(&c->holds, (uv_handle_t *)&c->defer, client_finish, c);
  *out = c;
  return 0;
}

int mol_a2a_client_set_rpc_url(mol_a2a_client *c, const char *url) {
  if (!c || !is_http_url(url)) return MOL_EINVAL;
  char *u = strdup(url);
  if (!u) return MOL_ENOMEM;
  free(c->rpc_url);
  c->rpc_url = u;
  return 0;
}

void mol_a2a_client_close(mol_a2a_client *c, void (*cb)(void *arg), void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->close_cb = cb;
  c->close_arg = arg;
  for (mol_a2a_call *k = c->calls; k; k = k->next)
    mol_a2a__client_fail(k, MOL_ESHUTDOWN, "the A2A client was closed");
  mol_holds_drop(&c->holds); /* cb runs once the calls are freed, never inside this call */
}

/* ---- one call -------------------------------------------------------------------------- */

static void call_unlink(mol_a2a_call *call) {
  mol_a2a_client *c = call->c;
  if (call->prev) call->prev->next = call->next;
  else if (c->calls == call) c->calls = call->next;
  if (call->next) call->next->prev = call->prev;
  call->prev = call->next = NULL;
}

static void on_call_closed(uv_handle_t *h) {
  mol_a2a_call *call = h->data;
  mol_a2a_client *c = call->c;
  free(call);
  mol_holds_drop(&c->holds);
}

static void call_release(mol_a2a_call *call) {
  json_decref(call->id);
  json_decref(call->card);
  mol_a2a_response_free(&call->resp);
  mol_buf_free(&call->detail);
  mol_buf_free(&call->text);
  mol_buf_free(&call->raw);
  free(call->task_id);
  free(call->card_url);
  mol_a2a__client_stream_free(call);
  uv_close((uv_handle_t *)&call->timer, on_call_closed);
}

void mol_a2a__client_finish(mol_a2a_call *call, int err) {
  if (call->finished) return;
  call->finished = 1;
  uv_timer_stop(&call->timer);
  call_unlink(call);
  if (err != 0 && call->detail.len == 0) mol_buf_append_str(&call->detail, mol_strerror(err));
  mol_a2a_result *res = &call->res;
  res->detail = call->detail.data ? call->detail.data : "";
  res->rpc_message = res->rpc_message ? res->rpc_message : "";
  res->text = call->text.data ? call->text.data : "";
  res->task_id = call->task_id;
  res->card = call->card;
  res->rpc_url = call->card_url;
  res->body = call->raw.data ? call->raw.data : "";
  if (call->resp.result && (err == 0 || call->kind == CALL_STREAM)) {
    res->kind = call->resp.kind;
    res->result = call->resp.result;
  }
  call->cb(call, err, res, call->arg);
  call_release(call);
}

/* The call's own timer: deferred completion after a cancel, the deadline while delivery is
 * held with the HTTP request already done, and resumed delivery of held events. */
static void call_on_timer(uv_timer_t *t) {
  mol_a2a_call *call = t->data;
  if (call->finished) return;
  if (!call->abort_err && uv_now(call->c->loop) >= call->deadline)
    mol_a2a__client_fail(call, MOL_ETIMEDOUT, "the call's deadline passed");
  if (call->abort_err) {
    if (!call->http) mol_a2a__client_finish(call, call->abort_err);
    return;
  }
  mol_a2a__client_stream_drain(call);
  if (!call->finished && !call->paused && call->http) mol_http_request_resume(call->http);
  mol_a2a__client_arm_deadline(call);
}

void mol_a2a__client_arm_deadline(mol_a2a_call *call) {
  /* Only needed while events are held and nothing else (the HTTP request) keeps time. */
  if (call->finished || call->http || call->abort_err || !call->paused) return;
  uint64_t now = uv_now(call->c->loop);
  uv_timer_start(&call->timer, call_on_timer, call->deadline > now ? call->deadline - now : 0, 0);
}

void mol_a2a_client_resume(mol_a2a_call *call) {
  if (!call || call->finished || call->kind != CALL_STREAM || !call->paused) return;
  call->paused = 0;
  uv_timer_start(&call->timer, call_on_timer, 0, 0);
}

void mol_a2a_client_pause(mol_a2a_call *call) {
  if (!call || call->finished || call->kind != CALL_STREAM || call->paused) return;
  call->paused = 1;
  if (call->http) mol_http_request_pause(call->http);
  mol_a2a__client_arm_deadline(call);
}

void mol_a2a_client_cancel(mol_a2a_call *call) {
  if (call) mol_a2a__client_fail(call, MOL_ECANCELED, "the call was cancelled");
}

int mol_a2a__client_fail(mol_a2a_call *call, int err, const char *fmt, ...) {
  if (call->finished || call->abort_err) return err;
  call->abort_err = err;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    mol_buf_reset(&call->detail);
    mol_buf_vprintf(&call->detail, fmt, ap);
    va_end(ap);
  }
  if (call->http) mol_http_request_cancel(call->http); /* its done callback completes us */
  else uv_timer_start(&call->timer, call_on_timer, 0, 0);
  return err;
}

/* ---- creating a call and its HTTP request ------------------------------------------------ */

int mol_a2a__client_call_new(mol_a2a_client *c, a2a_call_kind kind, mol_a2a_method m,
                             const mol_a2a_call_opts *o, mol_a2a_done_cb cb, void *arg,
                             mol_a2a_call **out) {
  if (!c || !cb) return MOL_EINVAL;
  if (c->closing) return MOL_ESHUTDOWN;
  char id[MOL_UUID_LEN + 1];
  if (mol_uuid4(id) != 0) return MOL_EIO;
  mol_a2a_call *call = calloc(1, sizeof(*call));
  if (!call || !(call->id = json_string(id))) {
    free(call);
    return MOL_ENOMEM;
  }
  call->c = c;
  call->kind = kind;
  call->method = m;
  call->cb = cb;
  call->arg = arg;
  unsigned timeout = o && o->timeout_ms ? o->timeout_ms : c->timeout_ms;
  call->deadline = uv_now(c->loop) + timeout;
  uv_timer_init(c->loop, &call->timer);
  call->timer.data = call;
  if (kind == CALL_STREAM) mol_a2a__client_stream_init(call);
  call->next = c->calls;
  if (c->calls) c->calls->prev = call;
  c->calls = call;
  mol_holds_take(&c->holds);
  *out = call;
  return 0;
}

void mol_a2a__client_call_discard(mol_a2a_call *call) {
  call->finished = 1;
  call_unlink(call);
  call_release(call);
}

static int why(mol_a2a_call *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why(mol_a2a_call *call, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mol_buf_reset(&call->detail);
  mol_buf_vprintf(&call->detail, fmt, ap);
  va_end(ap);
  return err;
}

static void on_http_done(mol_http_request *r, int err, const mol_http_response *resp,
                         void *arg) {
  mol_a2a_call *call = arg;
  (void)r;
  call->http = NULL;
  if (resp) call->res.http_status = resp->status;
  if (call->abort_err) {
    mol_a2a__client_finish(call, call->abort_err);
  } else if (call->kind == CALL_STREAM) {
    mol_a2a__client_stream_http_done(call, err, resp);
  } else if (err != 0) {
    mol_a2a__client_finish(call, why(call, err, "HTTP request failed: %s", mol_strerror(err)));
  } else if (call->kind == CALL_CARD) {
    mol_a2a__client_card_done(call, resp);
  } else {
    mol_a2a__client_finish(call, mol_a2a__client_read_answer(call, resp->status, resp->body,
                                                             resp->body_len));
  }
}

int mol_a2a__client_send_http(mol_a2a_call *call, const char *method, const char *url,
                              const char *body, int stream) {
  mol_a2a_client *c = call->c;
  uint64_t now = uv_now(c->loop);
  if (now >= call->deadline) return MOL_ETIMEDOUT;
  mol_http_header *h = malloc((c->nheaders + 3) * sizeof(*h));
  if (!h) return MOL_ENOMEM;
  size_t n = 0;
  if (body) h[n++] = (mol_http_header){"Content-Type", "application/json"};
  h[n++] = (mol_http_header){"Accept", stream ? "text/event-stream" : "application/json"};
  if (c->version == MOL_A2A_V10) h[n++] = (mol_http_header){"A2A-Version", "1.0"};
  if (c->nheaders) memcpy(h + n, c->headers, c->nheaders * sizeof(*h));
  n += c->nheaders;
  mol_http_request_opts o = {
      .method = method, .url = url, .headers = h, .nheaders = n,
      .body = body, .body_len = body ? strlen(body) : 0,
      .connect_timeout_ms = c->connect_timeout_ms,
      .total_timeout_ms = (unsigned)(call->deadline - now),
      .idle_timeout_ms = c->idle_timeout_ms,
      .max_body_bytes = c->max_body_bytes,
      .insecure_skip_verify = c->insecure,
  };
  if (stream) {
    o.on_headers = mol_a2a__client_stream_on_headers;
    o.on_body = mol_a2a__client_stream_on_body;
  }
  int rc = mol_http_request_send(c->http, &o, on_http_done, call, &call->http);
  free(h);
  return rc;
}

/* ---- reading answers ----------------------------------------------------------------------- */

void mol_a2a__client_note_result(mol_a2a_call *call, const mol_a2a_response *r, int append_text) {
  const char *tid = r->kind == MOL_A2A_RESULT_TASK
                        ? json_string_value(json_object_get(r->result, "id"))
                        : json_string_value(json_object_get(r->result, "taskId"));
  if (!call->task_id && tid && *tid) call->task_id = strdup(tid);
  if (!append_text) return;
  char *t = mol_a2a_response_text(r);
  if (t) mol_buf_append_str(&call->text, t);
  free(t);
}

static int is_push(mol_a2a_method m) { return m >= MOL_A2A_M_PUSH_SET && m <= MOL_A2A_M_PUSH_DELETE; }

static int kind_expected(mol_a2a_method m, mol_a2a_result_kind k) {
  if (is_push(m) || m == MOL_A2A_M_LIST_TASKS || m == MOL_A2A_M_GET_EXTENDED_CARD)
    return k == MOL_A2A_RESULT_OTHER;
  if (m == MOL_A2A_M_SEND) return k == MOL_A2A_RESULT_MESSAGE || k == MOL_A2A_RESULT_TASK;
  if (m == MOL_A2A_M_GET || m == MOL_A2A_M_CANCEL) return k == MOL_A2A_RESULT_TASK;
  return k != MOL_A2A_RESULT_NONE && k != MOL_A2A_RESULT_OTHER; /* a stream's single event */
}

/* A JSON-RPC error answers our request when it echoes our id, or carries null (the peer could
 * not read the id: -32700 / -32600). */
int mol_a2a__client_rpc_error(mol_a2a_call *call, const mol_a2a_response *r) {
  if (!json_is_null(r->id) && !json_equal(r->id, call->id))
    return why(call, MOL_EBADRESP, "a JSON-RPC error for another request id");
  call->res.rpc_code = r->error.code;
  call->res.rpc_message = r->error.message;
  call->res.rpc_data = r->error_data;
  return why(call, MOL_ERPC, "JSON-RPC error %d: %s", r->error.code, r->error.message);
}

/* The platform proxy's hand-off of a message/send it will deliver later: 202 {"queued":true}
 * or the poll-mode envelope {"status":"queued",...}. Neither is a JSON-RPC response. */
int mol_a2a__proxy_queued_dom(const char *body, size_t len) {
  json_t *j = json_loadb(body, len, 0, NULL);
  const char *st = json_string_value(json_object_get(j, "status"));
  int q = json_is_object(j) && !json_object_get(j, "jsonrpc") &&
          ((st && !strcmp(st, "queued")) || json_is_true(json_object_get(j, "queued")));
  json_decref(j);
  return q;
}

/* The same answer without a tree: every message/send answer passes here, and parsing it whole
 * to look at three top-level members was the largest part of a call. A JSON-RPC response
 * names "jsonrpc" first, and from that key on the answer is known to be no hand-off, whatever
 * follows (jansson gives 0 too: valid, it has the key; invalid, it is no object). Otherwise the
 * members are read to the end, the last of a repeated key counting, as in jansson; a text the
 * scanner does not decide goes to jansson. */
int mol_a2a__proxy_queued(const char *body, size_t len) {
  mol_jscan s;
  mol_jtok t;
  int status_queued = 0, queued_true = 0;
  mol_jscan_init(&s, body, len);
  if (mol_jscan_next(&s, &t) != MOL_JT_OBJECT) return mol_a2a__proxy_queued_dom(body, len);
  for (;;) {
    mol_jtype ty = mol_jscan_next(&s, &t);
    if (ty == MOL_JT_OBJECT_END) break;
    if (ty != MOL_JT_KEY) return mol_a2a__proxy_queued_dom(body, len);
    if (mol_jscan_eq(&t, "jsonrpc")) return 0;
    int which = mol_jscan_eq(&t, "status") ? 1 : mol_jscan_eq(&t, "queued") ? 2 : 0;
    ty = mol_jscan_next(&s, &t);
    if (ty == MOL_JT_FAIL || mol_jscan_skip(&s)) return mol_a2a__proxy_queued_dom(body, len);
    if (which == 1) status_queued = ty == MOL_JT_STRING && mol_jscan_eq(&t, "queued");
    if (which == 2) queued_true = ty == MOL_JT_TRUE;
  }
  if (mol_jscan_next(&s, &t) != MOL_JT_END || mol_jscan_saw_nul(&s))
    return mol_a2a__proxy_queued_dom(body, len);
  return status_queued || queued_true;
}

static int proxy_queued(int status, const char *body, size_t len) {
  return (status == 200 || status == 202) && mol_a2a__proxy_queued(body, len);
}
#define RAW_BODY_MAX 4096

int mol_a2a__client_read_answer(mol_a2a_call *call, int status, const char *body, size_t len) {
  mol_a2a_response *r = &call->resp;
  mol_a2a_response_free(r);
  if (call->method == MOL_A2A_M_SEND && proxy_queued(status, body, len)) {
    call->res.queued = 1; /* the envelope kept in res.body: it names the queue id */
    (void)mol_buf_append(&call->raw, body ? body : "", len < RAW_BODY_MAX ? len : RAW_BODY_MAX);
    return 0;
  }
  int rc = mol_a2a_response_parse(body, len, call->c->version, r);
  if (rc != 0 || ((status < 200 || status > 299) && !r->is_error)) /* kept for the caller */
    (void)mol_buf_append(&call->raw, body ? body : "", len < RAW_BODY_MAX ? len : RAW_BODY_MAX);
  if ((status < 200 || status > 299) && (rc != 0 || !r->is_error))
    return why(call, MOL_EHTTP, "HTTP %d from the agent", status);
  if (rc == MOL_EJSON) return why(call, MOL_EJSON, "the answer is not JSON");
  if (rc != 0) return why(call, MOL_EBADRESP, "the answer is not a JSON-RPC response");
  if (r->is_error) return mol_a2a__client_rpc_error(call, r);
  if (!json_equal(r->id, call->id))
    return why(call, MOL_EBADRESP, "the answer's id is not the request's");
  if (!kind_expected(call->method, r->kind))
    return why(call, MOL_EBADRESP, "unexpected kind of result for %s",
               mol_a2a_method_name(call->method, call->c->version));
  if (is_push(call->method)) return mol_a2a__client_push_answer(call);
  mol_a2a__client_note_result(call, r, 1);
  return 0;
}
