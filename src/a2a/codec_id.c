/* codec_id.c - JSON-RPC ids kept as the client wrote them.
 *
 * JSON-RPC lets an id be any string or number and expects it back unchanged. Held as a jansson
 * value it would not be: an integer past 2^63 or a real past a double does not load at all
 * (the whole request became -32700), 1e3 comes back as 1000.0 and "\u00e9" as "é". So the id is
 * kept as the text of its token and written back verbatim; a valid JSON token is valid in any
 * reply, and cannot hold a raw newline, so SSE lines stay one line. */
#include <stdlib.h>
#include <string.h>

#include "a2a/codec_int.h"
#include "base/jscan.h"
#include "molecule.h"

void mol_a2a__id_clear(mol_a2a_rpc_id *id) {
  free(id->heap);
  id->heap = NULL;
  id->len = 0;
  id->small[0] = '\0';
}

int mol_a2a__id_set(mol_a2a_rpc_id *id, const char *text, size_t len) {
  mol_a2a__id_clear(id);
  char *to = id->small;
  if (len >= sizeof(id->small) && !(to = id->heap = malloc(len + 1))) return MOL_ENOMEM;
  memcpy(to, text, len);
  to[len] = '\0';
  id->len = len;
  return 0;
}

const char *mol_a2a_request_id(const mol_a2a_request *req, size_t *len) {
  const mol_a2a_rpc_id *id = &req->id;
  if (id->len == 0) {
    *len = 4;
    return "null";
  }
  *len = id->len;
  return id->heap ? id->heap : id->small;
}

/* The text of a token that is a valid id (a string with its quotes, a number), else NULL. */
static const char *id_text(mol_jtype type, const mol_jtok *tok, size_t *len) {
  switch (type) {
    case MOL_JT_STRING:
      *len = tok->len + 2;
      return tok->start - 1;
    case MOL_JT_INT:
    case MOL_JT_REAL:
    case MOL_JT_BIGNUM:
      *len = tok->len;
      return tok->start;
    default:
      *len = 0;
      return NULL;
  }
}

/* Writes the number at tok as 0 padded with blanks in the masked copy (made on first use). */
static int mask(mol_a2a__prescan *out, const char *body, size_t len, const mol_jtok *tok) {
  if (!out->masked) {
    if (!(out->masked = malloc(len))) return MOL_ENOMEM;
    memcpy(out->masked, body, len);
  }
  char *at = out->masked + (tok->start - body);
  at[0] = '0';
  memset(at + 1, ' ', tok->len - 1);
  return 0;
}

enum { OTHER, ID, PARAMS };

int mol_a2a__prescan_body(const char *body, size_t len, mol_a2a__prescan *out) {
  memset(out, 0, sizeof(*out));
  mol_jscan s;
  mol_jtok tok;
  mol_jscan_init(&s, body, len);
  mol_jscan_allow_bignum(&s);
  int depth = 0, object = 0, member = OTHER; /* member: the top-level member being read */
  for (;;) {
    mol_jtype t = mol_jscan_next(&s, &tok);
    if (t == MOL_JT_FAIL) return -1;
    if (t == MOL_JT_END) return 0;
    if (t == MOL_JT_KEY) {
      if (depth == 1 && object) /* decoded, as jansson compares keys */
        member = mol_jscan_eq(&tok, "id") ? ID : mol_jscan_eq(&tok, "params") ? PARAMS : OTHER;
      continue;
    }
    if (t == MOL_JT_OBJECT_END || t == MOL_JT_ARRAY_END) {
      depth--;
      continue;
    }
    if (depth == 1 && member == ID) out->id = id_text(t, &tok, &out->id_len); /* last wins */
    if (t == MOL_JT_OBJECT || t == MOL_JT_ARRAY) {
      if (depth++ == 0) object = t == MOL_JT_OBJECT;
    } else if (t == MOL_JT_BIGNUM) {
      if (mask(out, body, len, &tok) != 0) return MOL_ENOMEM;
      if (depth >= 1 && object && member == PARAMS) out->big_in_params = 1;
    }
  }
}

void mol_a2a__prescan_free(mol_a2a__prescan *p) {
  free(p->masked);
  p->masked = NULL;
}
