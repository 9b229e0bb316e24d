/* exec_chat_reply.c - reading a plain chat.completion reply: choices[0].message's content,
 * reasoning_content and tool calls. Every model round of every turn reads one, and a jansson
 * DOM of it was half of the tool loop's CPU, so the common shapes are read with the validating
 * scanner (base/jscan) and no allocation but the strings kept. Anything the scanner does not
 * decide, or a shape it leaves to jansson (a duplicate key it needs, a non-string id or name,
 * object arguments, a string holding NUL, a body that is not an object of the usual shape), is
 * read again with jansson, which then gives the answer; so does a reply past a bound (too many
 * calls, too many bytes of arguments). Both paths agree (unit test + fuzz). */
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "molecule.h"
#include "runtime/exec_chat_int.h"

enum { FALLBACK = 0, READ = 1, BOUND = -1 };

typedef struct {
  mol_jscan s;
  mol_jtok tok;
  mol_chat__turn *ct;
  int want_calls;
  mol_chat__reply *out;
} reader;

static mol_jtype next(reader *r) { return mol_jscan_next(&r->s, &r->tok); }

/* Reads the value of the key just read and ignores it. */
static int skip_value(reader *r) { return next(r) != MOL_JT_FAIL && mol_jscan_skip(&r->s) == 0; }

/* The STRING token, decoded, as a new C string; "" -> NULL when empty_is_null. 0 or -1. */
static int take_string(reader *r, char **dst, int empty_is_null) {
  if (empty_is_null && r->tok.len == 0) return 0;
  char *s = malloc(r->tok.len + 1);
  if (!s) return -1;
  size_t n = mol_jscan_string(&r->tok, s);
  if (memchr(s, '\0', n)) { /* jansson (flags 0) refuses the body: let it say so */
    free(s);
    return -1;
  }
  *dst = s;
  return 0;
}

static int function(reader *r, mol_chat__call *k) {
  unsigned seen = 0;
  for (;;) {
    mol_jtype t = next(r);
    if (t == MOL_JT_OBJECT_END) return READ;
    if (t != MOL_JT_KEY) return FALLBACK;
    unsigned which = mol_jscan_eq(&r->tok, "name") ? 1 : mol_jscan_eq(&r->tok, "arguments") ? 2 : 0;
    if (which & seen) return FALLBACK;
    seen |= which;
    if (!which) {
      if (!skip_value(r)) return FALLBACK;
      continue;
    }
    t = next(r);
    if (which == 2 && t == MOL_JT_NULL) continue;
    if (t != MOL_JT_STRING) return FALLBACK;
    if (which == 1 && take_string(r, &k->name, 1)) return FALLBACK;
    if (which == 2) {
      char *args = NULL;
      if (take_string(r, &args, 0)) return FALLBACK;
      int rc = mol_chat__call_args(k, args, strlen(args), &r->out->why);
      free(args);
      if (rc) return BOUND;
    }
  }
}

static int tool_call(reader *r, mol_chat__call *k) {
  unsigned seen = 0;
  for (;;) {
    mol_jtype t = next(r);
    if (t == MOL_JT_OBJECT_END) return READ;
    if (t != MOL_JT_KEY) return FALLBACK;
    unsigned which = mol_jscan_eq(&r->tok, "id") ? 1 : mol_jscan_eq(&r->tok, "function") ? 2 : 0;
    if (which & seen) return FALLBACK;
    seen |= which;
    if (!which) {
      if (!skip_value(r)) return FALLBACK;
    } else if (which == 1) {
      if (next(r) != MOL_JT_STRING || take_string(r, &k->id, 1)) return FALLBACK;
    } else {
      if (next(r) != MOL_JT_OBJECT) return FALLBACK;
      int rc = function(r, k);
      if (rc != READ) return rc;
    }
  }
}

static int tool_calls(reader *r) {
  if (!r->want_calls) return skip_value(r) ? READ : FALLBACK;
  if (next(r) != MOL_JT_ARRAY) return FALLBACK;
  for (long i = 0;; i++) {
    mol_jtype t = next(r);
    if (t == MOL_JT_ARRAY_END) return READ;
    if (t != MOL_JT_OBJECT) return FALLBACK;
    mol_chat__call *k = mol_chat__call_add(r->ct, i);
    if (!k) {
      r->out->why = mol_chat__too_many_calls;
      return BOUND;
    }
    int rc = tool_call(r, k);
    if (rc != READ) return rc;
  }
}

static int message(reader *r) {
  unsigned seen = 0;
  for (;;) {
    mol_jtype t = next(r);
    if (t == MOL_JT_OBJECT_END) {
      r->out->has_message = 1;
      return READ;
    }
    if (t != MOL_JT_KEY) return FALLBACK;
    unsigned which = mol_jscan_eq(&r->tok, "content") ? 1
                   : mol_jscan_eq(&r->tok, "reasoning_content") ? 2
                   : mol_jscan_eq(&r->tok, "tool_calls") ? 4 : 0;
    if (which & seen) return FALLBACK;
    seen |= which;
    if (which == 4) {
      int rc = tool_calls(r);
      if (rc != READ) return rc;
    } else if (which) {
      t = next(r);
      if (t == MOL_JT_NULL) continue;
      if (t != MOL_JT_STRING || take_string(r, which == 1 ? &r->out->content : &r->out->reasoning, 0))
        return FALLBACK;
    } else if (!skip_value(r)) {
      return FALLBACK;
    }
  }
}

/* The members of choices[0]: its message, the rest skipped. */
static int first_choice(reader *r) {
  int seen = 0;
  for (;;) {
    mol_jtype t = next(r);
    if (t == MOL_JT_OBJECT_END) return seen ? READ : FALLBACK;
    if (t != MOL_JT_KEY) return FALLBACK;
    if (!mol_jscan_eq(&r->tok, "message")) {
      if (!skip_value(r)) return FALLBACK;
      continue;
    }
    if (seen++ || next(r) != MOL_JT_OBJECT) return FALLBACK;
    int rc = message(r);
    if (rc != READ) return rc;
  }
}

static int choices(reader *r) {
  if (next(r) != MOL_JT_ARRAY || next(r) != MOL_JT_OBJECT) return FALLBACK;
  int rc = first_choice(r);
  if (rc != READ) return rc;
  for (;;) { /* the other choices */
    mol_jtype t = next(r);
    if (t == MOL_JT_ARRAY_END) return READ;
    if (t == MOL_JT_FAIL || mol_jscan_skip(&r->s)) return FALLBACK;
  }
}

static int body(reader *r) {
  int seen = 0;
  if (next(r) != MOL_JT_OBJECT) return FALLBACK;
  for (;;) {
    mol_jtype t = next(r);
    if (t == MOL_JT_OBJECT_END) return seen && next(r) == MOL_JT_END ? READ : FALLBACK;
    if (t != MOL_JT_KEY) return FALLBACK;
    if (!mol_jscan_eq(&r->tok, "choices")) {
      if (!skip_value(r)) return FALLBACK;
      continue;
    }
    if (seen++) return FALLBACK;
    int rc = choices(r);
    if (rc != READ) return rc;
  }
}

void mol_chat__reply_free(mol_chat__reply *r) {
  free(r->content);
  free(r->reasoning);
  memset(r, 0, sizeof *r);
}

int mol_chat__reply_scan(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                         mol_chat__reply *out) {
  reader r = {.ct = ct, .want_calls = want_calls, .out = out};
  memset(out, 0, sizeof *out);
  mol_jscan_init(&r.s, data, len);
  /* Past a bound the reply is an error, but which one (that bound, or a body that is not
   * JSON further on) is jansson's to say, so that both paths always agree. */
  if (body(&r) == READ && !mol_jscan_saw_nul(&r.s)) return READ;
  mol_chat__reply_free(out);
  mol_chat__calls_clear(ct);
  return FALLBACK;
}

int mol_chat__reply_dom(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                        mol_chat__reply *out) {
  memset(out, 0, sizeof *out);
  json_t *v = json_loadb(data, len, 0, NULL);
  json_t *msg = json_object_get(json_array_get(json_object_get(v, "choices"), 0), "message");
  int rc = FALLBACK;
  if (json_is_object(msg)) {
    const char *c = json_string_value(json_object_get(msg, "content"));
    const char *rs = json_string_value(json_object_get(msg, "reasoning_content"));
    out->has_message = 1;
    out->content = c ? strdup(c) : NULL;
    out->reasoning = rs ? strdup(rs) : NULL;
    rc = want_calls && mol_chat__calls_from_message(ct, msg, &out->why) < 0 ? BOUND : READ;
  }
  json_decref(v);
  return rc;
}

int mol_chat__reply_read(mol_chat__turn *ct, int want_calls, const char *data, size_t len,
                         mol_chat__reply *out) {
  int rc = mol_chat__reply_scan(ct, want_calls, data, len, out);
  return rc == FALLBACK ? mol_chat__reply_dom(ct, want_calls, data, len, out) : rc;
}
