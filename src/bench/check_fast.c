/* check_fast.c - the one reply shape nearly every send gets, checked without building a DOM.
 *
 * Parsing a reply into jansson objects and canonicalising it cost more than the rest of a
 * request together, which made the generator slower than the server it measures. Almost
 * every reply to a v0.3 message/send is {"jsonrpc":"2.0","id":<ours>,"result":<Message>} with
 * text parts only. This path scans it once (base/jscan) and accepts it only when it is exactly
 * that: known members once each, role agent, at least one part, every part {kind:"text",
 * text:<string>}, ids without escapes. Anything else - an error, a Task, another member, a
 * U+0000, a JSON error - makes it decline, and mol_bench_check_body runs the full codec,
 * which gives the verdict. What it accepts is a subset of what the codec accepts, with the
 * same ids (test_bench_pure compares the two). */
#include <string.h>

#include "base/jscan.h"
#include "bench/check.h"

typedef struct {
  mol_jscan s;
  mol_jtok t;
} scan;

static mol_jtype next(scan *c) { return mol_jscan_next(&c->s, &c->t); }

/* A plain (unescaped) non-empty string value, copied into out. */
static int plain_string(scan *c, char *out, size_t n) {
  if (next(c) != MOL_JT_STRING || c->t.escaped || c->t.len == 0 || c->t.len >= n) return 0;
  memcpy(out, c->t.start, c->t.len);
  out[c->t.len] = '\0';
  return 1;
}

static int string_is(scan *c, const char *lit) {
  return next(c) == MOL_JT_STRING && mol_jscan_eq(&c->t, lit);
}

/* {"kind":"text","text":<string>} */
static int text_part(scan *c) {
  int kind = 0, text = 0;
  while (next(c) == MOL_JT_KEY) {
    if (mol_jscan_eq(&c->t, "kind") && !kind++) {
      if (!string_is(c, "text")) return 0;
    } else if (mol_jscan_eq(&c->t, "text") && !text++) {
      if (next(c) != MOL_JT_STRING) return 0;
    } else {
      return 0;
    }
  }
  return c->t.type == MOL_JT_OBJECT_END && kind && text;
}

static int parts(scan *c) {
  size_t n = 0;
  if (next(c) != MOL_JT_ARRAY) return 0;
  while (next(c) == MOL_JT_OBJECT) {
    if (!text_part(c)) return 0;
    n++;
  }
  return c->t.type == MOL_JT_ARRAY_END && n > 0;
}

enum { M_KIND = 1, M_ID = 2, M_ROLE = 4, M_PARTS = 8, M_CTX = 16, M_TASK = 32 };

static int message_member(scan *c, unsigned bit, mol_bench_reply *out) {
  char id[128];
  switch (bit) {
    case M_KIND: return string_is(c, "message");
    case M_ID: return plain_string(c, id, sizeof(id));
    case M_ROLE: return string_is(c, "agent");
    case M_PARTS: return parts(c);
    case M_CTX: return plain_string(c, out->context_id, sizeof(out->context_id));
    default: return plain_string(c, out->task_id, sizeof(out->task_id));
  }
}

static int message(scan *c, mol_bench_reply *out) {
  static const char *const names[] = {"kind", "messageId", "role", "parts", "contextId", "taskId"};
  unsigned seen = 0;
  if (next(c) != MOL_JT_OBJECT) return 0;
  while (next(c) == MOL_JT_KEY) {
    unsigned bit = 0;
    for (unsigned i = 0; i < 6 && !bit; i++)
      if (mol_jscan_eq(&c->t, names[i])) bit = 1u << i;
    if (!bit || (seen & bit) || !message_member(c, bit, out)) return 0;
    seen |= bit;
  }
  unsigned need = M_KIND | M_ID | M_ROLE | M_PARTS;
  return c->t.type == MOL_JT_OBJECT_END && (seen & need) == need;
}

int mol_bench__check_fast(const char *body, size_t len, const char *rpc_id, mol_bench_reply *out) {
  scan c;
  unsigned seen = 0;
  memset(out, 0, sizeof(*out));
  mol_jscan_init(&c.s, body, len);
  if (next(&c) != MOL_JT_OBJECT) return 0;
  while (next(&c) == MOL_JT_KEY) {
    unsigned bit = mol_jscan_eq(&c.t, "jsonrpc") ? 1 : mol_jscan_eq(&c.t, "id") ? 2
                 : mol_jscan_eq(&c.t, "result") ? 4 : 0;
    if (!bit || (seen & bit)) return 0;
    seen |= bit;
    if (bit == 1 && !string_is(&c, "2.0")) return 0;
    if (bit == 2 && !string_is(&c, rpc_id)) return 0;
    if (bit == 4 && !message(&c, out)) return 0;
  }
  if (c.t.type != MOL_JT_OBJECT_END || seen != 7 || next(&c) != MOL_JT_END || mol_jscan_saw_nul(&c.s))
    return 0;
  out->outcome = MOL_BENCH_OK;
  out->kind = MOL_A2A_RESULT_MESSAGE;
  out->final = 1;
  return 1;
}
