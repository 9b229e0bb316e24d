/* fuzz_a2a_codec.c - request parsing, the engine path a request takes, reply building and
 * response parsing must never crash or leak; every reply is produced (nothing here runs out of
 * memory), is one line of valid JSON and carries the request's id exactly as the request
 * holds it. The first byte picks the A2A-Version header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec.h"
#include "base/jscan.h"

static const char *const k_headers[] = {NULL, "", "0.3", "1.0", "1.0.1", "0.5"};

/* Valid JSON, with numbers beyond jansson allowed (ids are echoed as written). */
static int valid_json(const char *body) {
  mol_jscan s;
  mol_jtok t;
  mol_jscan_init(&s, body, strlen(body));
  mol_jscan_allow_bignum(&s);
  mol_jtype ty;
  while ((ty = mol_jscan_next(&s, &t)) != MOL_JT_END)
    if (ty == MOL_JT_FAIL) return 0;
  return 1;
}

static void check_reply(const mol_a2a_request *req, char *body) {
  if (!body || strchr(body, '\n') || !valid_json(body)) abort(); /* one SSE data line */
  size_t n;
  const char *id = mol_a2a_request_id(req, &n);
  static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
  if (strncmp(body, head, sizeof(head) - 1) != 0 || memcmp(body + sizeof(head) - 1, id, n) != 0 ||
      body[sizeof(head) - 1 + n] != ',')
    abort();
  free(body);
}

#define check_body(body) check_reply(req, (body))

static void exercise_engine(mol_a2a_request *req) {
  mol_a2a_store *s;
  mol_a2a_store_opts o = {.max_tasks = 4};
  if (mol_a2a_store_new(&o, &s) != 0) return;
  mol_a2a_task *t;
  mol_a2a_error err;
  if (mol_a2a_store_begin(s, &req->message, &t, &err) == 0) {
    mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_WORKING, req->message, req->metadata);
    check_body(mol_a2a_reply_task(req, t));
    mol_a2a_task_set_status(t, MOL_A2A_STATE_COMPLETED, NULL, NULL);
    check_body(mol_a2a_reply_task(req, t));
  } else {
    check_body(mol_a2a_reply_error(req, err.code, err.message));
  }
  if (req->message) check_body(mol_a2a_reply_message(req, req->message));
  mol_a2a_store_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *header = k_headers[data[0] % (sizeof(k_headers) / sizeof(k_headers[0]))];
  const char *body = (const char *)data + 1;
  size_t len = size - 1;

  mol_a2a_request request, *req = &request;
  if (mol_a2a_request_parse(body, len, header, req) != 0) {
    check_body(mol_a2a_reply_request_error(req));
  } else if (req->message) {
    exercise_engine(req);
  } else {
    check_body(mol_a2a_reply_error(req, MOL_A2A_TASK_NOT_FOUND, NULL));
  }
  mol_a2a_request_free(req);

  for (int v = 0; v < 2; v++) {
    mol_a2a_response r;
    mol_a2a_response_parse(body, len, (mol_a2a_version)v, &r);
    free(mol_a2a_response_text(&r));
    mol_a2a_response_free(&r);
  }
  return 0;
}
