/* codec_fast_send.c - the one message/send every Molecule caller writes, matched byte for byte.
 *
 * All Molecule callers (the workspace runtime's a2a_client, the Python SDK's call_peer, the
 * canvas) send the same v0.3 request, members in the same order, no whitespace:
 *
 *   {"jsonrpc":"2.0","id":"<id>","method":"message/send","params":{"message":{"role":"user",
 *    "messageId":"<id>","parts":[{"kind":"text","text":"<text>"}]}}}
 *
 * and the Molecule platform's A2A proxy forwards it re-marshalled by Go, the same members with
 * their keys sorted (Go's encoding/json sorts map keys).
 *
 * Reading it token by token (codec_fast.c) cost ~5,000 instructions, as much as the whole HTTP
 * request. Here the literal skeleton between the three strings is compared with memcmp and only
 * the strings are read: an ASCII string without escapes 16 bytes at a time, any other by the
 * validating scanner (base/jscan) on its own, so they are read, validated and decoded exactly
 * as codec_fast.c reads them. Any other byte anywhere (a space, another member order or
 * member, a non-string id, a trailing byte) and it declines: codec_fast.c, then the full
 * parser, take the request as they always did. The agreement test (test_a2a_fast_send) and the
 * fuzz target fuzz_a2a_fast check that whatever it takes, codec_fast.c and the full parser read
 * the same request. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/bytes8.h"
#include "base/jscan.h"
#include "molecule.h"

/* The literal text around the three strings (id, messageId, text, in that order in both). */
typedef struct {
  const char *lit[4];
  size_t len[4];
} shape;

#define SHAPE(a, b, c, d) {{a, b, c, d}, {sizeof(a) - 1, sizeof(b) - 1, sizeof(c) - 1, sizeof(d) - 1}}

static const shape k_shapes[] = {
    /* as the callers write it (Python dicts keep their order; httpx writes JSON compact) */
    SHAPE("{\"jsonrpc\":\"2.0\",\"id\":",
          ",\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":",
          ",\"parts\":[{\"kind\":\"text\",\"text\":", "}]}}}"),
    /* as the Molecule platform's A2A proxy forwards it: re-marshalled by Go, keys sorted */
    SHAPE("{\"id\":", ",\"jsonrpc\":\"2.0\",\"method\":\"message/send\",\"params\":{\"message\":{"
          "\"messageId\":",
          ",\"parts\":[{\"kind\":\"text\",\"text\":", "}],\"role\":\"user\"}}}"),
};

typedef struct {
  const char *p, *end;
  int saw_nul;
} cursor;

/* The literal lit at the cursor: moves past it, else -1. */
static int literal(cursor *c, const char *lit, size_t n) {
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return -1;
  c->p += n;
  return 0;
}

/* The common string, ASCII without escapes, found 16 bytes at a time: its token, as the scanner
 * would give it, or -1 for anything else (an escape, a control character, a byte above 0x7F,
 * no closing quote), which the scanner then reads. */
static int plain_string(cursor *c, mol_jtok *tok) {
  const char *p = c->p + 1;
  size_t left = (size_t)(c->end - p), i = 0;
#if MOL_B16
  for (; left - i >= 16; i += 16) {
    unsigned stops = mol_b16_stops(p + i, 1);
    if (stops) {
      i += (size_t)__builtin_ctz(stops);
      goto stop;
    }
  }
#endif
  for (; i < left; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x80) break;
  }
stop:
  if (i == left || p[i] != '"') return -1;
  *tok = (mol_jtok){.type = MOL_JT_STRING, .start = p, .len = i};
  c->p = p + i + 1;
  return 0;
}

/* The JSON string at the cursor, validated (UTF-8, escapes, control characters) as the scanner
 * validates it; moves past its closing quote. */
static int string(cursor *c, mol_jtok *tok) {
  if (c->p == c->end || *c->p != '"') return -1;
  if (plain_string(c, tok) == 0) return 0;
  mol_jscan s;
  mol_jscan_init(&s, c->p, (size_t)(c->end - c->p));
  if (mol_jscan_next(&s, tok) != MOL_JT_STRING) return -1;
  c->saw_nul |= mol_jscan_saw_nul(&s);
  c->p = s.p;
  return 0;
}

/* A STRING token decoded and NUL-terminated: into small when it fits, else into *heap
 * (malloc'd, the caller frees it). *len gets the decoded length. NULL on no memory. */
static char *decoded(const mol_jtok *tok, char *small, size_t room, char **heap, size_t *len) {
  char *out = tok->len < room ? small : (*heap = malloc(tok->len + 1));
  if (out) *len = mol_jscan_string(tok, out);
  return out;
}

/* Fills req as codec_fast.c would: v0.3 message/send, blocking, no history limit, no
 * metadata, the id as written, a compact user message with one text part. */
static int fill(mol_a2a_request *req, const mol_jtok *id, const mol_jtok *message_id,
                const mol_jtok *text) {
  char small_mid[128], *heap_mid = NULL, *heap_text = NULL;
  size_t mid_len;
  const char *mid = decoded(message_id, small_mid, sizeof(small_mid), &heap_mid, &mid_len);
  /* unescaped text is used in place (its length is carried); the message copies it */
  mol_a2a_text_span part = {text->start, text->len};
  if (text->escaped) part.text = decoded(text, NULL, 0, &heap_text, &part.len);
  mol_a2a_cmsg *msg = mid && part.text ? mol_a2a_cmsg_new_text(MOL_A2A_ROLE_USER, mid, NULL, NULL,
                                                               &part, 1)
                                       : NULL;
  free(heap_mid);
  free(heap_text);
  if (!msg || mol_a2a__id_set(&req->id, id->start - 1, id->len + 2) != 0) {
    mol_a2a_cmsg_unref(msg);
    return -1;
  }
  req->version = MOL_A2A_V03;
  req->method = MOL_A2A_M_SEND;
  req->message = msg;
  req->config.blocking = 1;
  req->config.history_length = -1;
  return 0;
}

/* The three strings of body in shape k, or -1. */
static int match_shape(const shape *k, const char *body, size_t len, mol_jtok *strs) {
  cursor c = {body, body + len, 0};
  for (int i = 0; i < 3; i++)
    if (literal(&c, k->lit[i], k->len[i]) || string(&c, &strs[i])) return -1;
  if (literal(&c, k->lit[3], k->len[3]) || c.p != c.end) return -1;
  /* A U+0000 is the full parser's to refuse or keep; an empty messageId is no id (declined by
   * codec_fast.c too, which the full parser then answers). */
  return c.saw_nul || strs[1].len == 0 ? -1 : 0;
}

int mol_a2a__request_match_send(const char *body, size_t len, mol_a2a_request *req) {
  if (!body) return 0;
  mol_jtok strs[3]; /* id, messageId, text */
  for (size_t k = 0; k < sizeof(k_shapes) / sizeof(k_shapes[0]); k++)
    if (match_shape(&k_shapes[k], body, len, strs) == 0)
      return fill(req, &strs[0], &strs[1], &strs[2]) == 0;
  return 0;
}
