/* fuzz_a2a_fast.c - the DOM-free message/send path (codec_fast.c) against the full parser.
 * Whatever the fast path accepts, the full parser must accept too and read the same request:
 * method, id (its text, byte for byte), configuration, params.metadata and the message's
 * canonical JSON. The fast path may decline anything; it may never answer differently. It must
 * decline any body with a U+0000 in a string (the full parser refuses or keeps those). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/json.h"

static int same_json(const json_t *a, const json_t *b) {
  return (!a && !b) || (a && b && json_equal(a, b));
}

static void check(const char *body, size_t size);

static int same_id(const mol_a2a_request *a, const mol_a2a_request *b) {
  size_t na, nb;
  const char *ia = mol_a2a_request_id(a, &na), *ib = mol_a2a_request_id(b, &nb);
  return na == nb && memcmp(ia, ib, na) == 0;
}

/* Random bytes seldom form a message/send, so most inputs are spliced into one: the first byte
 * picks where (or nowhere: the bytes are the whole body). */
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
};

static char *splice(const uint8_t *data, size_t size, size_t *len) {
  const char *t = k_templates[data[0] % (sizeof(k_templates) / sizeof(k_templates[0]))];
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
  check(body, len);
  free(body);
  return 0;
}

static void check(const char *body, size_t size) {
  mol_a2a_request fast, full;
  mol_a2a__request_init(&fast);
  if (!mol_a2a__request_parse_fast(body, size, &fast)) {
    mol_a2a_request_free(&fast);
    return;
  }
  if (mol_a2a__request_parse_full(body, size, NULL, &full) != 0) abort();
  if (fast.version != full.version || fast.method != full.method) abort();
  if (!same_id(&fast, &full)) abort();
  if (fast.config.blocking != full.config.blocking ||
      fast.config.history_length != full.config.history_length ||
      full.config.accepted_output_modes || full.config.push_config)
    abort();
  if (!same_json(fast.metadata, full.metadata)) abort();
  if (!same_json(mol_a2a_cmsg_json(fast.message), mol_a2a_cmsg_json(full.message))) abort();
  /* nothing it took holds a NUL: it declines those (test_a2a_codec_ids.c) */
  char path[8];
  if (mol_a2a_json_find_nul(mol_a2a_cmsg_json(fast.message), "", path, sizeof(path)) ||
      mol_a2a_json_find_nul(fast.metadata, "", path, sizeof(path)))
    abort();
  /* and they answer alike */
  char *a = mol_a2a_reply_message(&fast, fast.message), *b = mol_a2a_reply_message(&full, full.message);
  json_t *ja = a ? mol_json_parse(a, strlen(a), NULL, 0) : NULL;
  json_t *jb = b ? mol_json_parse(b, strlen(b), NULL, 0) : NULL;
  if (!ja || !jb || !json_equal(ja, jb)) abort();
  json_decref(ja);
  json_decref(jb);
  free(a);
  free(b);
  mol_a2a_request_free(&fast);
  mol_a2a_request_free(&full);
}
