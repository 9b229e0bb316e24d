/* codec_fast.c - message/send, message/stream and tasks/get (v0.3 or v1.0: SendMessage,
 * SendStreamingMessage, GetTask) read without building a DOM.
 *
 * Nearly every request a Molecule agent receives is the same shape (codec_fast_send.c): a
 * message/send with one text part, an id, perhaps a contextId and params.metadata; a client
 * that got a task back polls it with tasks/get {id}. Building jansson trees for them cost more
 * than the HTTP server's whole request. This path scans the body once (base/jscan) and fills
 * the request with a compact message (a2a/msg.h) or the task id; only params.metadata, which
 * the executors read as JSON, is handed to jansson on its own.
 *
 * It answers only what it is sure of. Anything else (another method, file or data parts,
 * message metadata, a duplicated member, a type the slow path would reject or convert, a
 * U+0000 in any string, any JSON error) makes it decline, and mol_a2a_request_parse runs the
 * full parser, which then gives the exact result or error. So the fast path can never answer
 * differently: the agreement test (test_a2a_fast_paths) and the fuzz target fuzz_a2a_fast check
 * that whatever it accepts, in either version, the full parser reads the same. */
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
  mol_a2a_version version;
  int method;
  mol_a2a_role role;
  const char *message_id, *context_id, *task_id;
  mol_a2a_text_span parts[MAX_PARTS];
  size_t n_parts;
  int blocking, history_length;
  json_t *metadata;
  /* params.id and params.historyLength, which only tasks/get reads (a send skips them) */
  const char *get_id;     /* NULL: absent, or not what tasks/get takes */
  int get_history_length; /* -1: absent or null */
  int get_bad;            /* one of them is something tasks/get refuses or the fast path leaves */
  unsigned params_seen;
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
static int id_token(fast *f, mol_jtype t, const char **out) {
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

static int read_id(fast *f, const char **out) { return id_token(f, next(f), out); }

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

static int skip_value(fast *f) { return mol_jscan_skip_value(&f->s); }

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
    /* "kind" wins over its old spelling "type" when both are there, as in model_wire.c; a
     * v1.0 part with neither is a oneof, text when it has a string "text" */
    int text_kind = (seen & P_KIND)   ? (seen & P_KIND_TEXT)
                    : (seen & P_TYPE) ? (seen & P_TYPE_TEXT)
                                      : f->version == MOL_A2A_V10;
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
    /* v1.0 spells them ROLE_USER and ROLE_AGENT; the full parser takes either in both
     * versions, the v0.3 path leaves the v1.0 names to it */
    int v10 = f->version == MOL_A2A_V10;
    f->role = IS(f, "user") || (v10 && IS(f, "ROLE_USER"))     ? MOL_A2A_ROLE_USER
              : IS(f, "agent") || (v10 && IS(f, "ROLE_AGENT")) ? MOL_A2A_ROLE_AGENT
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

/* historyLength: absent/null -1, else an integer in 0..1000000 (else the full parser's). */
static int read_history_length(fast *f, int *out) {
  mol_jtype t = next(f);
  if (t == MOL_JT_NULL) return 0;
  if (t != MOL_JT_INT || f->tok.ival < 0 || f->tok.ival > 1000000) return -1;
  *out = (int)f->tok.ival;
  return 0;
}

/* v1.0 is blocking unless returnImmediately is true (any other value: blocking). */
static int config_member_v10(fast *f, unsigned *seen) {
  if (KEY(f, "returnImmediately")) {
    if (once(seen, 1)) return -1;
    mol_jtype t = next(f);
    if (t != MOL_JT_TRUE && t != MOL_JT_FALSE && t != MOL_JT_NULL) return -1;
    f->blocking = t != MOL_JT_TRUE;
    return 0;
  }
  if (KEY(f, "historyLength")) return once(seen, 2) || read_history_length(f, &f->history_length);
  /* kept as JSON by the full parser */
  if (KEY(f, "acceptedOutputModes") || KEY(f, "pushNotificationConfig") ||
      KEY(f, "taskPushNotificationConfig"))
    return -1;
  return skip_value(f);
}

static int config_member(fast *f, unsigned *seen) {
  if (f->version == MOL_A2A_V10) return config_member_v10(f, seen);
  if (KEY(f, "blocking")) {
    if (once(seen, 1)) return -1;
    mol_jtype t = next(f);
    if (t != MOL_JT_TRUE && t != MOL_JT_FALSE && t != MOL_JT_NULL) return -1;
    f->blocking = t != MOL_JT_FALSE;
    return 0;
  }
  if (KEY(f, "historyLength")) return once(seen, 2) || read_history_length(f, &f->history_length);
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

enum { A_MESSAGE = 1, A_CONFIG = 2, A_META = 4, A_ID = 8, A_HISTORY = 16 };

/* params.id and params.historyLength: what tasks/get reads, noted whatever the method (the
 * method may come after params); a send skips them, whatever they hold. */
static int get_member(fast *f, unsigned *seen, unsigned bit) {
  if (*seen & bit) f->get_bad = 1; /* jansson keeps the last: the full parser's */
  *seen |= bit;
  mol_jtype t = next(f);
  if (t == MOL_JT_FAIL || t == MOL_JT_END || t == MOL_JT_OBJECT_END || t == MOL_JT_ARRAY_END)
    return -1;
  if (bit == A_ID && t == MOL_JT_STRING) {
    if (id_token(f, t, &f->get_id) != 0) return -1;
    if (f->get_id) return 0; /* "" is no id: -32602 */
  } else if (bit == A_HISTORY && t == MOL_JT_NULL) {
    return 0;
  } else if (bit == A_HISTORY && t == MOL_JT_INT && f->tok.ival >= 0 && f->tok.ival <= 1000000) {
    f->get_history_length = (int)f->tok.ival;
    return 0;
  }
  f->get_bad = 1; /* not what tasks/get takes: a send skips it all the same */
  return mol_jscan_skip(&f->s);
}

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
  if (KEY(f, "id")) return get_member(f, seen, A_ID);
  if (KEY(f, "historyLength")) return get_member(f, seen, A_HISTORY);
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

/* The methods this path reads, by their name in the request's version. */
static int method_of(fast *f) {
  if (f->version == MOL_A2A_V10)
    return IS(f, "SendMessage")            ? MOL_A2A_M_SEND
           : IS(f, "SendStreamingMessage") ? MOL_A2A_M_STREAM
           : IS(f, "GetTask")              ? MOL_A2A_M_GET
                                           : MOL_A2A_M_UNKNOWN;
  return IS(f, "message/send")     ? MOL_A2A_M_SEND
         : IS(f, "message/stream") ? MOL_A2A_M_STREAM
         : IS(f, "tasks/get")      ? MOL_A2A_M_GET
                                   : MOL_A2A_M_UNKNOWN;
}

static int envelope_member(fast *f, unsigned *seen) {
  if (KEY(f, "jsonrpc")) {
    if (once(seen, E_JSONRPC) || next(f) != MOL_JT_STRING) return -1;
    return IS(f, "2.0") ? 0 : -1;
  }
  if (KEY(f, "id")) return once(seen, E_ID) || read_request_id(f);
  if (KEY(f, "method")) {
    if (once(seen, E_METHOD) || next(f) != MOL_JT_STRING) return -1;
    f->method = method_of(f);
    return f->method == MOL_A2A_M_UNKNOWN ? -1 : 0;
  }
  if (KEY(f, "params")) {
    if (once(seen, E_PARAMS) || next(f) != MOL_JT_OBJECT) return -1;
    return each_member(f, params_member, &f->params_seen);
  }
  return skip_value(f);
}

static int scan(fast *f) {
  unsigned seen = 0;
  if (next(f) != MOL_JT_OBJECT || each_member(f, envelope_member, &seen) != 0) return -1;
  if ((seen & (E_JSONRPC | E_METHOD | E_PARAMS)) != (E_JSONRPC | E_METHOD | E_PARAMS)) return -1;
  if (next(f) != MOL_JT_END) return -1;
  /* what the method needs of params, now that both are known */
  if (f->method == MOL_A2A_M_GET) return f->get_id && !f->get_bad ? 0 : -1;
  return (f->params_seen & A_MESSAGE) ? 0 : -1;
}

/* Fills req from what was read; 0, or -1 (out of memory) with req untouched. */
static int fill(fast *f, mol_a2a_request *req) {
  mol_a2a_cmsg *msg = NULL;
  char *task_id = NULL;
  if (f->method == MOL_A2A_M_GET) task_id = strdup(f->get_id);
  else msg = mol_a2a_cmsg_new_text(f->role, f->message_id, f->context_id, f->task_id, f->parts,
                                   f->n_parts);
  if ((!msg && !task_id) || (f->id && mol_a2a__id_set(&req->id, f->id, f->id_len) != 0)) {
    mol_a2a_cmsg_unref(msg);
    free(task_id);
    return -1;
  }
  req->version = f->version;
  req->method = f->method;
  req->message = msg;
  req->task_id = req->task_id_copy = task_id;
  if (f->method == MOL_A2A_M_GET) { /* a configuration is a send's alone */
    req->history_length = f->get_history_length;
  } else {
    req->config.blocking = f->blocking;
    req->config.history_length = f->history_length;
  }
  req->root = f->metadata; /* owned by the request, like the parsed body on the full path */
  req->metadata = f->metadata;
  return 0;
}

int mol_a2a__request_parse_fast(const char *body, size_t len, mol_a2a_version v,
                                mol_a2a_request *req) {
  fast f = {.body_len = len, .version = v, .blocking = 1, .history_length = -1,
            .get_history_length = -1};
  mol_jscan_init(&f.s, body, len);
  /* A U+0000 anywhere is the full parser's to refuse (-32602) or keep (in the id). */
  int ok = body && scan(&f) == 0 && !mol_jscan_saw_nul(&f.s) && fill(&f, req) == 0;
  if (f.scratch != f.small) free(f.scratch);
  if (!ok) json_decref(f.metadata);
  return ok;
}
