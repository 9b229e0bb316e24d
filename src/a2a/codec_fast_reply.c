/* codec_fast_reply.c - the v0.3 answer with a one-text-part Message, written from a template.
 *
 * The answer to nearly every message/send is the same JSON with four strings and the request
 * id spliced in (contract §6):
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

/* 1 when none of the n bytes at s is one a JSON string escapes (below 0x20, '"', '\\'). */
static int plain(const char *s, size_t n) {
  size_t i = 0;
#if MOL_B16
  for (; n - i >= 16; i += 16)
    if (mol_b16_stops(s + i, 0)) return 0;
#endif
  for (; n - i >= 8; i += 8)
    if (mol_b8_special(mol_b8_load(s + i))) return 0;
  for (; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == '"' || c == '\\') return 0;
  }
  return 1;
}

typedef struct {
  const char *s;
  size_t n;
} piece;

#define PIECE(lit) ((piece){lit, sizeof(lit) - 1})

/* The answer's pieces in order: literals and the spliced strings. */
enum { N_PIECES = 16 };

static char *join(const piece *p, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += p[i].n;
  char *out = malloc(total + 1), *at = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    memcpy(at, p[i].s, p[i].n);
    at += p[i].n;
  }
  *at = '\0';
  return out;
}

/* A string of the message, when it is plain: its piece, else -1. */
static int spliced(piece *p, const char *s, size_t n) {
  if (!plain(s, n)) return -1;
  *p = (piece){s, n};
  return 0;
}

char *mol_a2a__reply_message_template(const mol_a2a_request *req, const mol_a2a_cmsg *msg) {
  size_t text_len;
  const char *text = req->version == MOL_A2A_V03 ? mol_a2a_cmsg_only_text(msg, &text_len) : NULL;
  if (!text) return NULL; /* v1.0 wraps the result; not one compact text part */
  const char *id = mol_a2a_cmsg_id(msg), *ctx = mol_a2a_cmsg_context_id(msg),
             *task = mol_a2a_cmsg_task_id(msg);
  piece p[N_PIECES];
  size_t n = 0;
  size_t rpc_id_len;
  const char *rpc_id = mol_a2a_request_id(req, &rpc_id_len); /* JSON text already */
  p[n++] = PIECE("{\"jsonrpc\":\"2.0\",\"id\":");
  p[n++] = (piece){rpc_id, rpc_id_len};
  p[n++] = PIECE(",\"result\":{\"kind\":\"message\",\"messageId\":\"");
  if (spliced(&p[n++], id, strlen(id))) return NULL;
  p[n++] = PIECE("\",\"role\":\"");
  const char *role = mol_a2a_role_name(mol_a2a_cmsg_role(msg), MOL_A2A_V03);
  if (!role) return NULL;
  p[n++] = (piece){role, strlen(role)};
  p[n++] = PIECE("\",\"parts\":[{\"kind\":\"text\",\"text\":\"");
  if (spliced(&p[n++], text, text_len)) return NULL;
  p[n++] = PIECE("\"}]");
  if (ctx) {
    p[n++] = PIECE(",\"contextId\":\"");
    if (spliced(&p[n++], ctx, strlen(ctx))) return NULL;
    p[n++] = PIECE("\"");
  }
  if (task) {
    p[n++] = PIECE(",\"taskId\":\"");
    if (spliced(&p[n++], task, strlen(task))) return NULL;
    p[n++] = PIECE("\"");
  }
  p[n++] = PIECE("}}");
  return join(p, n);
}
