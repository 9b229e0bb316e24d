/* codec_fast.c - message/send and message/stream read without building a DOM.
 *
 * Nearly every request a Molecule agent receives is the same shape (contract §6): a v0.3
 * message/send with one text part, an id, perhaps a contextId and params.metadata. Building
 * jansson trees for it cost more than the HTTP server's whole request. This path scans the
 * body once (base/jscan) and fills the request with a compact message (a2a/msg.h); only
 * params.metadata, which the executors read as JSON, is handed to jansson on its own.
 *
 * It answers only what it is sure of. Anything else (another method, v1.0, file or data parts,
 * message metadata, a duplicated member, a type the slow path would reject or convert, a
 * U+0000 in any string, any JSON error) makes it decline, and mol_a2a_request_parse runs the
 * full parser, which then gives the exact result or error. So the fast path can never answer
 * differently: the fuzz target fuzz_a2a_fast checks that whatever it accepts, the full parser
 * reads the same. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/jscan.h"
#include "base/json.h"
#include "molecule.h"

#define MAX_PARTS 8

typedef struct {
  mol_jscan s;
  mol_jtok tok;
  char *scratch, *scratch_at; /* decoded strings and terminated ids (never more than the body) */
  size_t body_len;
  char small[512];            /* the scratch of a body that fits */
  /* what was read */
  const char *id;             /* the id's JSON text in the body (NULL: none, or null) */
  size_t id_len;
  int method;
  mol_a2a_role role;
  const char *message_id, *context_id, *task_id;
  mol_a2a_text_span parts[MAX_PARTS];
  size_t n_parts;
  int blocking, history_length;
  json_t *metadata;
} fast;

/* ---- tokens ------------------------------------------------------------------------------- */

static int scratch_init(fast *f) {
  f->scratch = f->body_len < sizeof(f->small) ? f->small : malloc(f->body_len + 1);
  f->scratch_at = f->scratch;
  return f->scratch ? 0 : -1;
}

static mol_jtype next(fast *f) { return mol_jscan_next(&f->s, &f->tok); }

/* The current STRING token, decoded and NUL-terminated. NULL when escapes need room that
 * cannot be had. *len gets the decoded length. */
static const char *str(fast *f, size_t *len) {
  if (!f->tok.escaped) {
    *len = f->tok.len;
    /* Unescaped tokens are used in place only where the length is carried; ids need a NUL. */
    return f->tok.start;
  }
  if (!f->scratch && scratch_init(f) != 0) return NULL;
  char *out = f->scratch_at;
  *len = mol_jscan_string(&f->tok, out);
  f->scratch_at += *len + 1;
  return out;
}

/* A string member value as a NUL-terminated id, "" (absent, as ProtoJSON has it) or NULL for
 * anything the slow path would handle differently. */
static int read_id(fast *f, const char **out) {
  mol_jtype t = next(f);
  if (t == MOL_JT_NULL) return *out = NULL, 0;
  if (t != MOL_JT_STRING) return -1;
  size_t len;
  const char *s = str(f, &len);
  if (!s || memchr(s, '\0', len)) return -1;
  if (!f->tok.escaped) { /* copy into scratch to terminate it */
    if (!f->scratch && scratch_init(f) != 0) return -1;
    memcpy(f->scratch_at, s, len);
    f->scratch_at[len] = '\0';
    s = f->scratch_at;
    f->scratch_at += len + 1;
  }
  *out = len ? s : NULL;
  return 0;
}

/* The current key is lit. Keys with escapes never get here (each_member declines them), so
 * this is a length check and a memcmp the compiler inlines. */
#define KEY(f, lit) ((f)->tok.len == sizeof(lit) - 1 && memcmp((f)->tok.start, lit, sizeof(lit) - 1) == 0)
/* The current STRING value is lit (values may be escaped: decoded comparison). */
#define IS(f, lit) mol_jscan_eq(&(f)->tok, lit)

/* Calls member(f, seen) on each key of the object just opened; stops at its end. */
static int each_member(fast *f, int (*member)(fast *f, unsigned *seen), unsigned *seen) {
  for (;;) {
    mol_jtype t = next(f);
    if (t == MOL_JT_OBJECT_END) return 0;
    if (t != MOL_JT_KEY || f->tok.escaped || member(f, seen) != 0) return -1;
  }
}

/* Marks a known member as seen; a second one declines (jansson keeps the last, we keep out). */
static int once(unsigned *seen, unsigned bit) {
  if (*seen & bit) return -1;
  *seen |= bit;
  return 0;
}

static int skip_value(fast *f) {
  mol_jtype t = next(f);
  if (t == MOL_JT_FAIL || t == MOL_JT_END || t == MOL_JT_OBJECT_END || t == MOL_JT_ARRAY_END)
    return -1;
  return mol_jscan_skip(&f->s);
}

/* ---- message ------------------------------------------------------------------------------ */

enum { P_KIND = 1, P_TYPE = 2, P_TEXT = 4, P_KIND_TEXT = 8, P_TYPE_TEXT = 16 };

static int is_text_kind(fast *f, unsigned *seen, unsigned bit, unsigned text_bit) {
  if (once(seen, bit) || next(f) != MOL_JT_STRING) return -1;
  if (IS(f, "text")) *seen |= text_bit;
  return 0;
}

static int part_member(fast *f, unsigned *seen) {
  if (KEY(f, "kind")) return is_text_kind(f, seen, P_KIND, P_KIND_TEXT);
  if (KEY(f, "type")) return is_text_kind(f, seen, P_TYPE, P_TYPE_TEXT);
  if (KEY(f, "text")) {
    if (once(seen, P_TEXT) || next(f) != MOL_JT_STRING) return -1;
    mol_a2a_text_span *p = &f->parts[f->n_parts];
    return (p->text = str(f, &p->len)) ? 0 : -1;
  }
  if (KEY(f, "metadata")) return -1; /* part metadata: the full parser keeps it */
  return skip_value(f);
}

static int read_parts(fast *f) {
  if (next(f) != MOL_JT_ARRAY) return -1;
  for (;;) {
    mol_jtype t = next(f);
    if (t == MOL_JT_ARRAY_END) return 0;
    if (t != MOL_JT_OBJECT || f->n_parts == MAX_PARTS) return -1;
    unsigned seen = 0;
    if (each_member(f, part_member, &seen) != 0 || !(seen & P_TEXT)) return -1;
    /* "kind" wins over its old spelling "type" when both are there, as in model_wire.c */
    int text_kind = (seen & P_KIND) ? (seen & P_KIND_TEXT) : (seen & P_TYPE_TEXT);
    if (!text_kind) return -1;
    f->n_parts++;
  }
}

enum { M_KIND = 1, M_ROLE = 2, M_ID = 4, M_CTX = 8, M_TASK = 16, M_PARTS = 32 };

static int message_member(fast *f, unsigned *seen) {
  if (KEY(f, "kind")) {
    if (once(seen, M_KIND) || next(f) != MOL_JT_STRING) return -1;
    return IS(f, "message") ? 0 : -1;
  }
  if (KEY(f, "role")) {
    if (once(seen, M_ROLE) || next(f) != MOL_JT_STRING) return -1;
    f->role = IS(f, "user")    ? MOL_A2A_ROLE_USER
              : IS(f, "agent") ? MOL_A2A_ROLE_AGENT
                                               : MOL_A2A_ROLE_UNSPECIFIED;
    return f->role == MOL_A2A_ROLE_UNSPECIFIED ? -1 : 0;
  }
  if (KEY(f, "messageId")) return once(seen, M_ID) || read_id(f, &f->message_id);
  if (KEY(f, "contextId")) return once(seen, M_CTX) || read_id(f, &f->context_id);
  if (KEY(f, "taskId")) return once(seen, M_TASK) || read_id(f, &f->task_id);
  if (KEY(f, "parts")) return once(seen, M_PARTS) || read_parts(f);
  /* Members the canonical message keeps: only the full form holds them. */
  if (KEY(f, "metadata") || KEY(f, "extensions") ||
      KEY(f, "referenceTaskIds"))
    return -1;
  return skip_value(f);
}

static int read_message(fast *f) {
  unsigned seen = 0;
  if (next(f) != MOL_JT_OBJECT || each_member(f, message_member, &seen) != 0) return -1;
  return (seen & M_ROLE) && (seen & M_PARTS) && f->message_id ? 0 : -1;
}

/* ---- params ------------------------------------------------------------------------------- */

static int config_member(fast *f, unsigned *seen) {
  if (KEY(f, "blocking")) {
    if (once(seen, 1)) return -1;
    mol_jtype t = next(f);
    if (t != MOL_JT_TRUE && t != MOL_JT_FALSE && t != MOL_JT_NULL) return -1;
    f->blocking = t != MOL_JT_FALSE;
    return 0;
  }
  if (KEY(f, "historyLength")) {
    if (once(seen, 2)) return -1;
    mol_jtype t = next(f);
    if (t == MOL_JT_NULL) return 0;
    if (t != MOL_JT_INT || f->tok.ival < 0 || f->tok.ival > 1000000) return -1;
    f->history_length = (int)f->tok.ival;
    return 0;
  }
  /* acceptedOutputModes and pushNotificationConfig are kept as JSON by the full parser. */
  if (KEY(f, "acceptedOutputModes") ||
      KEY(f, "pushNotificationConfig"))
    return -1;
  return skip_value(f);
}

/* params.metadata goes to jansson alone: executors read it as JSON (the canvas's history). */
static int read_metadata(fast *f) {
  mol_jtype t = next(f);
  if (t == MOL_JT_NULL) return 0;
  if (t != MOL_JT_OBJECT) return -1;
  const char *from = f->tok.start;
  if (mol_jscan_skip(&f->s) != 0) return -1;
  f->metadata = mol_json_parse(from, (size_t)(f->s.p - from), NULL, 0);
  return json_is_object(f->metadata) ? 0 : -1;
}

enum { A_MESSAGE = 1, A_CONFIG = 2, A_META = 4 };

static int params_member(fast *f, unsigned *seen) {
  if (KEY(f, "message")) return once(seen, A_MESSAGE) || read_message(f);
  if (KEY(f, "configuration")) {
    if (once(seen, A_CONFIG)) return -1;
    mol_jtype t = next(f);
    if (t == MOL_JT_NULL) return 0;
    unsigned cseen = 0;
    return t == MOL_JT_OBJECT ? each_member(f, config_member, &cseen) : -1;
  }
  if (KEY(f, "metadata")) return once(seen, A_META) || read_metadata(f);
  return skip_value(f);
}

/* ---- envelope ----------------------------------------------------------------------------- */

enum { E_JSONRPC = 1, E_ID = 2, E_METHOD = 4, E_PARAMS = 8 };

/* The id is kept as its text (codec_id.c): a string with its quotes, a number as spelt. */
static int read_request_id(fast *f) {
  switch (next(f)) {
    case MOL_JT_STRING:
      f->id = f->tok.start - 1;
      f->id_len = f->tok.len + 2;
      return 0;
    case MOL_JT_INT:
    case MOL_JT_REAL:
      f->id = f->tok.start;
      f->id_len = f->tok.len;
      return 0;
    case MOL_JT_NULL:
      return 0;
    default: /* numbers jansson cannot load and the invalid types: the full parser */
      return -1;
  }
}

static int envelope_member(fast *f, unsigned *seen) {
  if (KEY(f, "jsonrpc")) {
    if (once(seen, E_JSONRPC) || next(f) != MOL_JT_STRING) return -1;
    return IS(f, "2.0") ? 0 : -1;
  }
  if (KEY(f, "id")) return once(seen, E_ID) || read_request_id(f);
  if (KEY(f, "method")) {
    if (once(seen, E_METHOD) || next(f) != MOL_JT_STRING) return -1;
    f->method = IS(f, "message/send")     ? MOL_A2A_M_SEND
                : IS(f, "message/stream") ? MOL_A2A_M_STREAM
                                                          : MOL_A2A_M_UNKNOWN;
    return f->method == MOL_A2A_M_UNKNOWN ? -1 : 0;
  }
  if (KEY(f, "params")) {
    unsigned pseen = 0;
    if (once(seen, E_PARAMS) || next(f) != MOL_JT_OBJECT) return -1;
    if (each_member(f, params_member, &pseen) != 0) return -1;
    return (pseen & A_MESSAGE) ? 0 : -1;
  }
  return skip_value(f);
}

static int scan(fast *f) {
  unsigned seen = 0;
  if (next(f) != MOL_JT_OBJECT || each_member(f, envelope_member, &seen) != 0) return -1;
  if ((seen & (E_JSONRPC | E_METHOD | E_PARAMS)) != (E_JSONRPC | E_METHOD | E_PARAMS)) return -1;
  return next(f) == MOL_JT_END ? 0 : -1;
}

int mol_a2a__request_parse_fast(const char *body, size_t len, mol_a2a_request *req) {
  fast f = {.body_len = len, .blocking = 1, .history_length = -1};
  mol_jscan_init(&f.s, body, len);
  /* A U+0000 anywhere is the full parser's to refuse (-32602) or keep (in the id). */
  int ok = body && scan(&f) == 0 && !mol_jscan_saw_nul(&f.s);
  mol_a2a_cmsg *msg = NULL;
  if (ok) {
    msg = mol_a2a_cmsg_new_text(f.role, f.message_id, f.context_id, f.task_id, f.parts,
                                f.n_parts);
    ok = msg != NULL && (!f.id || mol_a2a__id_set(&req->id, f.id, f.id_len) == 0);
  }
  if (f.scratch != f.small) free(f.scratch);
  if (!ok) {
    mol_a2a_cmsg_unref(msg);
    json_decref(f.metadata);
    return 0;
  }
  req->version = MOL_A2A_V03;
  req->method = f.method;
  req->message = msg;
  req->config.blocking = f.blocking;
  req->config.history_length = f.history_length;
  req->root = f.metadata; /* owned by the request, like the parsed body on the full path */
  req->metadata = f.metadata;
  return 1;
}
