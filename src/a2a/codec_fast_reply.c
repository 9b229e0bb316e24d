/* codec_fast_reply.c - the v0.3 answer with a one-text-part Message, written from a template.
 *
 * The answer to nearly every message/send is the same JSON with four strings and the request
 * id spliced in (a Message, which Molecule callers read as result.parts[0].text):
 *
 *   {"jsonrpc":"2.0","id":<id>,"result":{"kind":"message","messageId":"<id>","role":"agent",
 *    "parts":[{"kind":"text","text":"<text>"}],"contextId":"<id>","taskId":"<id>"}}
 *
 * The general writer (codec_build.c's reply_written with msg.c's write_compact) assembles it
 * from a dozen appends, each string escaped on the way. Here the strings are only checked for
 * bytes JSON would escape, 16 at a time, and when there are none (UUIDs and ordinary text:
 * UTF-8 is written as it is) the answer is sized exactly and copied together in one
 * allocation. A string that needs escaping, a message of another form, a v1.0 request: NULL,
 * and the general writer answers. The agreement test (test_a2a_fast_send) and the fuzz target
 * fuzz_a2a_fast check that the bytes are the general writer's. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/bytes8.h"
#include "molecule.h"

/* 1 when none of the n bytes at s is one a JSON string escapes (below 0x20, '"', '\\'): in
 * 16- or 8-byte steps, the last step overlapping the one before rather than going byte by
 * byte. */
static int plain(const char *s, size_t n) {
  size_t i = 0;
#if MOL_B16
  if (n >= 16) {
    for (; n - i > 16; i += 16)
      if (mol_b16_stops(s + i, 0)) return 0;
    return !mol_b16_stops(s + n - 16, 0);
  }
#endif
  if (n >= 8) {
    for (; n - i > 8; i += 8)
      if (mol_b8_special(mol_b8_load(s + i))) return 0;
    return !mol_b8_special(mol_b8_load(s + n - 8));
  }
  for (; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == '"' || c == '\\') return 0;
  }
  return 1;
}

/* Literals are copied with their size known at compile time: moves, not calls. */
#define PUT_LIT(at, lit) (memcpy((at), (lit), sizeof(lit) - 1), (at) += sizeof(lit) - 1)
#define PUT(at, s, n) (memcpy((at), (s), (n)), (at) += (n))

#define HEAD "{\"jsonrpc\":\"2.0\",\"id\":"
#define TO_MESSAGE_ID ",\"result\":{\"kind\":\"message\",\"messageId\":\""
#define TO_ROLE "\",\"role\":\""
#define TO_TEXT "\",\"parts\":[{\"kind\":\"text\",\"text\":\""
#define AFTER_TEXT "\"}]"
#define TO_CONTEXT_ID ",\"contextId\":\""
#define TO_TASK_ID ",\"taskId\":\""
#define TAIL "}}"
#define LEN(lit) (sizeof(lit) - 1)

char *mol_a2a__reply_message_template(const mol_a2a_request *req, const mol_a2a_cmsg *msg) {
  size_t text_len, rpc_id_len;
  const char *text = req->version == MOL_A2A_V03 ? mol_a2a_cmsg_only_text(msg, &text_len) : NULL;
  if (!text) return NULL; /* v1.0 wraps the result; not one compact text part */
  const char *id = mol_a2a_cmsg_id(msg), *ctx = mol_a2a_cmsg_context_id(msg),
             *task = mol_a2a_cmsg_task_id(msg);
  const char *role = mol_a2a_role_name(mol_a2a_cmsg_role(msg), MOL_A2A_V03);
  const char *rpc_id = mol_a2a_request_id(req, &rpc_id_len); /* JSON text already */
  size_t id_len = strlen(id), ctx_len = ctx ? strlen(ctx) : 0, task_len = task ? strlen(task) : 0,
         role_len = strlen(role);
  if (!plain(text, text_len) || !plain(id, id_len) || !plain(ctx, ctx_len) ||
      !plain(task, task_len))
    return NULL;
  size_t total = LEN(HEAD) + rpc_id_len + LEN(TO_MESSAGE_ID) + id_len + LEN(TO_ROLE) + role_len +
                 LEN(TO_TEXT) + text_len + LEN(AFTER_TEXT) + LEN(TAIL) +
                 (ctx ? LEN(TO_CONTEXT_ID) + ctx_len + 1 : 0) +
                 (task ? LEN(TO_TASK_ID) + task_len + 1 : 0);
  char *out = malloc(total + 1), *at = out;
  if (!out) return NULL;
  PUT_LIT(at, HEAD);
  PUT(at, rpc_id, rpc_id_len);
  PUT_LIT(at, TO_MESSAGE_ID);
  PUT(at, id, id_len);
  PUT_LIT(at, TO_ROLE);
  PUT(at, role, role_len);
  PUT_LIT(at, TO_TEXT);
  PUT(at, text, text_len);
  PUT_LIT(at, AFTER_TEXT);
  if (ctx) {
    PUT_LIT(at, TO_CONTEXT_ID);
    PUT(at, ctx, ctx_len);
    *at++ = '"';
  }
  if (task) {
    PUT_LIT(at, TO_TASK_ID);
    PUT(at, task, task_len);
    *at++ = '"';
  }
  PUT_LIT(at, TAIL);
  *at = '\0';
  return out;
}
