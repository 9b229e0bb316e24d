/* fuzz_a2a_codec.c - request parsing, the engine path a request takes, reply building and
 * response parsing must never crash, leak or produce a body with a raw newline. The first
 * byte picks the A2A-Version header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec.h"

static const char *const k_headers[] = {NULL, "", "0.3", "1.0", "1.0.1", "0.5"};

static void check_body(char *body) {
  if (body && strchr(body, '\n')) abort(); /* must fit one SSE data line */
  free(body);
}

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

  mol_a2a_request req;
  if (mol_a2a_request_parse(body, len, header, &req) != 0) {
    check_body(mol_a2a_reply_request_error(&req));
  } else if (req.message) {
    exercise_engine(&req);
  } else {
    check_body(mol_a2a_reply_error(&req, MOL_A2A_TASK_NOT_FOUND, NULL));
  }
  mol_a2a_request_free(&req);

  for (int v = 0; v < 2; v++) {
    mol_a2a_response r;
    mol_a2a_response_parse(body, len, (mol_a2a_version)v, &r);
    free(mol_a2a_response_text(&r));
    mol_a2a_response_free(&r);
  }
  return 0;
}
