/* fuzz_a2a_answer.c - the DOM-free reader of v0.3 answers (codec_fast_answer.c) against the
 * full parser. Whatever the fast path takes, the full parser must read too, as a result (not
 * an error) of the same kind, with the same id and the same canonical result, key order
 * included. The fast path may decline anything; it may never answer differently, and nothing
 * it takes may hold a U+0000. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/json.h"

/* Random bytes seldom form an answer, so most inputs are spliced into one: the first byte
 * picks where (or nowhere: the bytes are the whole body). */
static const char *const k_templates[] = {
    NULL,
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\","
    "\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"@\"}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\",@,"
    "\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":@,\"result\":{\"kind\":\"message\",\"messageId\":\"a\","
    "\"role\":\"agent\",\"parts\":[]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\","
    "\"role\":\"agent\",\"parts\":[{\"type\":\"text\",\"text\":\"a\",@}]}}",
    "{@\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\",\"role\":\"user\","
    "\"contextId\":\"c\",\"parts\":[]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"task\",\"id\":\"t\",\"contextId\":"
    "\"c\",\"status\":{\"state\":\"completed\",@},\"artifacts\":[{\"artifactId\":\"x\",\"parts\":"
    "[{\"kind\":\"text\",\"text\":\"hi\"}]}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"task\",\"id\":\"t\",\"contextId\":"
    "\"c\",\"status\":{\"state\":\"working\"},\"history\":[{\"kind\":\"message\",\"messageId\":"
    "\"u\",\"role\":\"user\",@,\"parts\":[]}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"task\",\"id\":\"t\",\"contextId\":"
    "\"c\",\"status\":{\"state\":\"working\"},\"artifacts\":[{\"artifactId\":\"x\",@,\"parts\":[]}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"task\",@}}",
    /* U+0000 in the text, the id, the metadata */
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\","
    "\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000@\"}]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"\\u0000@\",\"result\":{\"kind\":\"message\",\"messageId\":"
    "\"a\",\"role\":\"agent\",\"parts\":[]}}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"kind\":\"message\",\"messageId\":\"a\","
    "\"role\":\"agent\",\"metadata\":{\"h\":\"\\u0000@\"},\"parts\":[]}}",
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

static int same_dump(const json_t *a, const json_t *b) {
  char *x = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
  char *y = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
  int same = x && y && strcmp(x, y) == 0;
  free(x);
  free(y);
  return same;
}

static void check(const char *body, size_t size) {
  mol_a2a_response fast, full;
  memset(&fast, 0, sizeof(fast));
  int took = mol_a2a__response_parse_fast(body, size, &fast);
  int rc = mol_a2a__response_parse_full(body, size, MOL_A2A_V03, &full);
  if (took) {
    if (rc != 0 || full.is_error || fast.kind != full.kind) abort();
    if (!json_equal(fast.id, full.id) || !same_dump(fast.result, full.result)) abort();
    char path[8];
    if (mol_a2a_json_find_nul(fast.result, "", path, sizeof(path)) ||
        mol_a2a_json_find_nul(fast.id, "", path, sizeof(path)))
      abort();
  } else if (fast.result || fast.id) {
    abort(); /* declined: untouched */
  }
  mol_a2a_response_free(&fast);
  mol_a2a_response_free(&full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t len;
  char *body = splice(data, size, &len);
  check(body, len);
  free(body);
  return 0;
}
