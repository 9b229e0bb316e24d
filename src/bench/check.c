/* check.c - validation of every reply and the kinds errors are counted under (check.h). */
#include "bench/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "a2a/model.h"
#include "molecule.h"

mol_bench_outcome mol_bench_reply_fail(mol_bench_reply *out, mol_bench_outcome o, int code,
                                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
  va_end(ap);
  out->outcome = o;
  out->code = code;
  return o;
}

static void copy_id(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "");
}

/* The ids, state and finality of a canonical result. */
static mol_bench_outcome read_result(const mol_a2a_response *r, mol_bench_reply *out) {
  const json_t *res = r->result;
  out->kind = r->kind;
  if (r->kind == MOL_A2A_RESULT_MESSAGE) {
    if (mol_a2a_msg_role(res) != MOL_A2A_ROLE_AGENT)
      return mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the reply message's role is not agent");
    copy_id(out->task_id, sizeof(out->task_id), mol_a2a_msg_task_id(res));
    copy_id(out->context_id, sizeof(out->context_id), mol_a2a_msg_context_id(res));
    out->final = 1;
    return MOL_BENCH_OK;
  }
  const json_t *status = json_object_get(res, "status");
  if (r->kind == MOL_A2A_RESULT_TASK) {
    copy_id(out->task_id, sizeof(out->task_id), json_string_value(json_object_get(res, "id")));
  } else {
    copy_id(out->task_id, sizeof(out->task_id), json_string_value(json_object_get(res, "taskId")));
  }
  copy_id(out->context_id, sizeof(out->context_id),
          json_string_value(json_object_get(res, "contextId")));
  if (status && mol_a2a_state_parse(json_string_value(json_object_get(status, "state")), &out->state))
    return mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the task state is not one A2A knows");
  if (r->kind == MOL_A2A_RESULT_TASK && !out->task_id[0])
    return mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the task has no id");
  if (r->kind == MOL_A2A_RESULT_STATUS_UPDATE)
    out->final = json_is_true(json_object_get(res, "final"));
  else if (r->kind == MOL_A2A_RESULT_TASK)
    out->final = mol_a2a_state_is_terminal(out->state) || mol_a2a_state_is_interrupted(out->state);
  return MOL_BENCH_OK;
}

static const char *kind_name(mol_a2a_result_kind k) {
  static const char *const names[] = {"none", "message", "task", "status-update",
                                      "artifact-update", "other"};
  return k <= MOL_A2A_RESULT_OTHER ? names[k] : "?";
}

/* HTTP+JSON answers carry the bare result: wrapped into a JSON-RPC response so the codec's
 * v1.0 checks apply unchanged. */
static int parse_rest(const char *body, size_t len, mol_a2a_response *r) {
  mol_buf w = MOL_BUF_INIT;
  int rc = mol_buf_append_str(&w, "{\"jsonrpc\":\"2.0\",\"id\":\"rest\",\"result\":");
  if (!rc) rc = mol_buf_append(&w, body, len);
  if (!rc) rc = mol_buf_append_str(&w, "}");
  /* the body must be one JSON value: a wrapped "1},{" would otherwise slip through */
  json_t *alone = rc ? NULL : json_loadb(body, len, JSON_DECODE_ANY, NULL);
  if (!rc) rc = alone ? mol_a2a_response_parse(w.data, w.len, MOL_A2A_V10, r) : MOL_EJSON;
  json_decref(alone);
  mol_buf_free(&w);
  return rc;
}

mol_bench_outcome mol_bench_check_body(const char *body, size_t len, mol_bench_binding b,
                                       const char *rpc_id, unsigned accept, mol_bench_reply *out) {
  if (b == MOL_BENCH_JSONRPC_V03 && (accept & MOL_BENCH_ACCEPT(MOL_A2A_RESULT_MESSAGE)) &&
      mol_bench__check_fast(body, len, rpc_id, out))
    return MOL_BENCH_OK;
  memset(out, 0, sizeof(*out));
  mol_a2a_response r = {0};
  int rc = b == MOL_BENCH_HTTP_JSON
               ? parse_rest(body, len, &r)
               : mol_a2a_response_parse(body, len, b == MOL_BENCH_JSONRPC_V10 ? MOL_A2A_V10 : MOL_A2A_V03, &r);
  mol_bench_outcome o = MOL_BENCH_OK;
  if (rc == MOL_EJSON) o = mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the reply is not JSON");
  else if (rc == MOL_ENOMEM) o = mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "out of memory reading the reply");
  else if (rc) o = mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "not an A2A response of the right shape");
  else if (b != MOL_BENCH_HTTP_JSON && (!json_is_string(r.id) || strcmp(json_string_value(r.id), rpc_id)))
    o = mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the reply does not echo the request id");
  else if (r.is_error)
    o = mol_bench_reply_fail(out, MOL_BENCH_E_RPC, r.error.code, "%s", r.error.message);
  else if (!(accept & MOL_BENCH_ACCEPT(r.kind)))
    o = mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "a %s result where it cannot be", kind_name(r.kind));
  else
    o = read_result(&r, out);
  mol_a2a_response_free(&r);
  return o;
}

mol_bench_outcome mol_bench_check_http(int status, const char *body, size_t len,
                                       mol_bench_binding b, const char *rpc_id, unsigned accept,
                                       mol_bench_reply *out) {
  if (status >= 200 && status <= 299) return mol_bench_check_body(body, len, b, rpc_id, accept, out);
  if (b != MOL_BENCH_HTTP_JSON && body &&
      mol_bench_check_body(body, len, b, rpc_id, accept, out) == MOL_BENCH_E_RPC)
    return MOL_BENCH_E_RPC;
  memset(out, 0, sizeof(*out));
  return mol_bench_reply_fail(out, MOL_BENCH_E_HTTP, status, "HTTP status %d", status);
}

mol_bench_outcome mol_bench_check_transport(int err, mol_bench_reply *out) {
  memset(out, 0, sizeof(*out));
  if (err == MOL_ETIMEDOUT) return mol_bench_reply_fail(out, MOL_BENCH_E_TIMEOUT, err, "no answer in time");
  return mol_bench_reply_fail(out, MOL_BENCH_E_TRANSPORT, err, "%s", mol_strerror(err));
}

void mol_bench_error_key(const mol_bench_reply *r, char *out, size_t n) {
  switch (r->outcome) {
    case MOL_BENCH_E_HTTP: snprintf(out, n, "HTTP %d", r->code); break;
    case MOL_BENCH_E_RPC: snprintf(out, n, "JSON-RPC %d", r->code); break;
    case MOL_BENCH_E_TIMEOUT: snprintf(out, n, "timeout"); break;
    case MOL_BENCH_E_INVALID: snprintf(out, n, "invalid reply"); break;
    case MOL_BENCH_E_TRANSPORT: snprintf(out, n, "transport: %s", mol_strerror(r->code)); break;
    case MOL_BENCH_E_TASK:
      snprintf(out, n, "task %s", mol_a2a_state_name((mol_a2a_task_state)r->code, MOL_A2A_V03));
      break;
    case MOL_BENCH_E_OVERLOAD: snprintf(out, n, "overload"); break;
    default: snprintf(out, n, "ok"); break;
  }
}
