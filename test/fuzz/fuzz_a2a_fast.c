/* fuzz_a2a_fast.c - the DOM-free request path (codec_fast.c: message/send, message/stream,
 * tasks/get, in v0.3 and v1.0 names) against the full parser. Whatever the fast path accepts,
 * the full parser must accept too and read the same request: version, method, id (its text,
 * byte for byte), configuration, params.metadata, the task id and historyLength, and the
 * message's canonical JSON. The fast path may decline anything; it may never answer
 * differently. It must decline any body with a U+0000 in a string (the full parser refuses or
 * keeps those). A message it took then goes into a task, and the task and its status event are
 * written straight from their handles and as trees: the same bytes (codec_build.c).
 * The literal match of the Molecule callers' send (codec_fast_send.c) goes first: whatever it
 * takes, the scanner's fast path takes too and reads the same request, and the reply is the same
 * bytes; the templates in its two shapes (as callers write it, keys sorted as the platform's
 * proxy forwards it) put the fuzzer's bytes in its strings and in its skeleton. Every answer
 * the reply template (codec_fast_reply.c) writes is the general writer's, byte for byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/json.h"
#include "molecule.h"

static int same_json(const json_t *a, const json_t *b) {
  return (!a && !b) || (a && b && json_equal(a, b));
}

static void check(const char *body, size_t size, mol_a2a_version v);

static int same_id(const mol_a2a_request *a, const mol_a2a_request *b) {
  size_t na, nb;
  const char *ia = mol_a2a_request_id(a, &na), *ib = mol_a2a_request_id(b, &nb);
  return na == nb && memcmp(ia, ib, na) == 0;
}

/* Random bytes seldom form a request, so most inputs are spliced into one: the first byte
 * picks where (or nowhere: the bytes are the whole body) and, by its top bit, the version. */
static const char *const k_templates[] = {
    NULL,
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
    "\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"@\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"message/send\",\"params\":{@,\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"message/stream\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",@,\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":@,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
    "\"agent\",\"messageId\":\"m\",\"parts\":[]}}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\","
    "\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\",@}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"message/send\",\"params\":{\"configuration\":{@},"
    "\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]}}}",
    "{@\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"metadata\":{\"history\":[]},"
    "\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"contextId\":\"c\",\"parts\":[]}}}",
    /* U+0000 in the text, an id, the metadata */
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":"
    "\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000@\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"\\u0000@\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"message/send\",\"params\":{\"metadata\":{\"h\":"
    "\"\\u0000@\"},\"message\":{\"role\":\"user\",\"messageId\":\"m\",\"parts\":[]}}}",
    /* v1.0 sends: ROLE_ names, parts without a kind, returnImmediately */
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{\"message\":{\"role\":"
    "\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"text\":\"@\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"SendStreamingMessage\",\"params\":{\"message\":{"
    "\"role\":\"ROLE_AGENT\",\"messageId\":\"m\",@,\"parts\":[{\"text\":\"hi\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"SendMessage\",\"params\":{\"configuration\":{@},"
    "\"message\":{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{\"text\":\"a\"}]}}}",
    /* Molecule's send, matched literally: the bytes in each string, then in the skeleton */
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"@\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"@\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"@\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\"@\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}]}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\"@\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"role\":\"user\",\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"@",
    /* the same, keys sorted as the platform's proxy forwards it */
    "{\"id\":\"r\",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"messageId\":\"@\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}],\"role\":\"user\"}}}",
    "{\"id\":\"r\",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{"
    "\"messageId\":\"m\",\"parts\":[{\"kind\":\"text\",\"text\":\"t\"}]@\"role\":\"user\"}}}",
    /* reads of a task */
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/get\",\"params\":{\"id\":\"@\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/get\",\"params\":{\"id\":\"t\",@}}",
    "{\"jsonrpc\":\"2.0\",\"id\":@,\"method\":\"GetTask\",\"params\":{\"id\":\"t\",\"historyLength\":1}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"GetTask\",\"params\":{@}}",
};

static char *splice(const uint8_t *data, size_t size, size_t *len) {
  const char *t = k_templates[(data[0] & 0x7f) % (sizeof(k_templates) / sizeof(k_templates[0]))];
  data++, size--;
  if (!t) {
    char *b = malloc(size + 1);
    memcpy(b, data, size);
    *len = size;
    return b;
  }
  const char *at = strchr(t, '@');
  size_t pre = (size_t)(at - t), post = strlen(at + 1);
  char *b = malloc(pre + size + post + 1);
  memcpy(b, t, pre);
  memcpy(b + pre, data, size);
  memcpy(b + pre + size, at + 1, post);
  *len = pre + size + post;
  return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t len;
  char *body = splice(data, size, &len);
  check(body, len, data[0] & 0x80 ? MOL_A2A_V10 : MOL_A2A_V03);
  free(body);
  return 0;
}

/* The status event of the task, written both ways, for the request's version. */
static void compare_event(mol_a2a_task *task, const mol_a2a_event *ev, void *arg) {
  (void)task;
  const mol_a2a_request *req = arg;
  char *a = mol_a2a_reply_event(req, ev), *b = mol_a2a__reply_event_tree(req, ev);
  if ((a || b) && (!a || !b || strcmp(a, b) != 0)) abort();
  free(a);
  free(b);
}

static void compare_task(const mol_a2a_request *req, const mol_a2a_task *t) {
  char *a = mol_a2a_reply_task(req, t), *b = mol_a2a__reply_task_tree(req, t);
  if (!a || !b || strcmp(a, b) != 0) abort();
  free(a);
  free(b);
}

/* The answer from its template, when it takes the message, is the general writer's. */
static void check_template(const mol_a2a_request *req, const mol_a2a_cmsg *m) {
  char *t = mol_a2a__reply_message_template(req, m);
  if (!t) return;
  char *w = mol_a2a__reply_message_written(req, m);
  if (!w || strcmp(t, w) != 0) abort();
  free(w);
  free(t);
}

/* The message joins a task (as the server's send does), which answers with it in its history
 * and then as its status message, with params.metadata as the event's. */
static void check_written(const mol_a2a_request *req) {
  mol_a2a_store *s;
  if (mol_a2a_store_new(NULL, &s) != 0) abort();
  mol_a2a_cmsg *m = mol_a2a_cmsg_ref(req->message);
  mol_a2a_task *t;
  mol_a2a_error err = {0};
  if (mol_a2a_store_begin(s, &m, &t, &err) == 0) { /* a taskId of a task it does not hold: not */
    check_template(req, m); /* with the task's ids filled in */
    compare_task(req, t);
    mol_a2a_listener *l;
    if (mol_a2a_task_subscribe(t, compare_event, (void *)req, &l) != 0) abort();
    if (mol_a2a_task_set_status_msg(t, MOL_A2A_STATE_INPUT_REQUIRED, m, req->metadata) != 0) abort();
    compare_task(req, t);
  }
  mol_a2a_cmsg_unref(m);
  mol_a2a_store_free(s);
}

/* The literal match took the body: the scanner's fast path must take it too and read the same
 * request, whose reply is the same bytes. */
static void check_match(const mol_a2a_request *match, const mol_a2a_request *fast) {
  if (!same_id(match, fast) || match->version != MOL_A2A_V03 || fast->version != MOL_A2A_V03 ||
      match->method != fast->method || match->config.blocking != fast->config.blocking ||
      match->config.history_length != fast->config.history_length ||
      match->history_length != fast->history_length || match->metadata || fast->metadata ||
      match->task_id || fast->task_id || !match->message || !fast->message)
    abort();
  if (!json_equal(mol_a2a_cmsg_json(match->message), mol_a2a_cmsg_json(fast->message))) abort();
  char *a = mol_a2a_reply_message(match, match->message);
  char *b = mol_a2a_reply_message(fast, fast->message);
  if (!a || !b || strcmp(a, b) != 0) abort();
  free(a);
  free(b);
}

static void check(const char *body, size_t size, mol_a2a_version v) {
  mol_a2a_request match, fast, full;
  mol_a2a__request_init(&match);
  mol_a2a__request_init(&fast);
  int matched = v == MOL_A2A_V03 && mol_a2a__request_match_send(body, size, &match);
  if (!mol_a2a__request_parse_fast(body, size, v, &fast)) {
    if (matched) abort(); /* the match may take only what the scanner takes */
    mol_a2a_request_free(&fast);
    return;
  }
  if (matched) check_match(&match, &fast);
  mol_a2a_request_free(&match);
  if (mol_a2a__request_parse_full(body, size, v == MOL_A2A_V10 ? "1.0" : NULL, &full) != 0)
    abort();
  if (fast.version != full.version || fast.method != full.method) abort();
  if (!same_id(&fast, &full)) abort();
  if (fast.config.blocking != full.config.blocking ||
      fast.config.history_length != full.config.history_length ||
      full.config.accepted_output_modes || full.config.push_config)
    abort();
  if (fast.history_length != full.history_length) abort();
  if (!fast.task_id != !full.task_id || (fast.task_id && strcmp(fast.task_id, full.task_id)))
    abort();
  if (!same_json(fast.metadata, full.metadata)) abort();
  if (!fast.message != !full.message) abort();
  if (!fast.message) {
    mol_a2a_request_free(&fast);
    mol_a2a_request_free(&full);
    return;
  }
  if (!same_json(mol_a2a_cmsg_json(fast.message), mol_a2a_cmsg_json(full.message))) abort();
  /* nothing it took holds a NUL: it declines those (test_a2a_codec_ids.c) */
  char path[8];
  if (mol_a2a_json_find_nul(mol_a2a_cmsg_json(fast.message), "", path, sizeof(path)) ||
      mol_a2a_json_find_nul(fast.metadata, "", path, sizeof(path)))
    abort();
  check_template(&fast, fast.message);
  check_template(&full, full.message);
  /* and they answer alike */
  char *a = mol_a2a_reply_message(&fast, fast.message), *b = mol_a2a_reply_message(&full, full.message);
  json_t *ja = a ? mol_json_parse(a, strlen(a), NULL, 0) : NULL;
  json_t *jb = b ? mol_json_parse(b, strlen(b), NULL, 0) : NULL;
  if (!ja || !jb || !json_equal(ja, jb)) abort();
  json_decref(ja);
  json_decref(jb);
  free(a);
  free(b);
  check_written(&fast);
  check_written(&full);
  mol_a2a_request_free(&fast);
  mol_a2a_request_free(&full);
}
