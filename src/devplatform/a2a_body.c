/* a2a_body.c - the body of a proxied A2A call (docs/devplatform.md "A2A proxy"): its method and
 * params.message.messageId, and the normalisation that adds a missing JSON-RPC envelope or
 * messageId.
 *
 * Nearly every body that reaches the proxy already has both, and then it is forwarded exactly
 * as it came: mol_dp__a2a_scan reads the three fields with the validating pull scanner
 * (base/jscan) instead of building a jansson tree and dumping it again. It answers only what
 * it is sure of; anything that needs normalising or that jansson might read differently (a
 * duplicated member, an escaped key, \u0000, a method or messageId of another type or too
 * long for their buffers, any JSON error) declines, and mol_dp__a2a_normalize decides, with
 * the exact result or error. The unit test devplatform_a2a_body checks that whatever the
 * scan accepts, normalisation reads the same fields and the same JSON value. */
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "base/json.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

typedef struct {
  mol_jscan s;
  mol_jtok tok;
  char *method, *msgid; /* the caller's buffers */
} scan;

enum { SEEN_JSONRPC = 1, SEEN_METHOD = 2, SEEN_PARAMS = 4, SEEN_MESSAGE = 8, SEEN_MSGID = 16 };

/* The current key is lit (escaped keys never get here: each_member declines them). */
#define KEY(sc, lit) \
  ((sc)->tok.len == sizeof(lit) - 1 && !memcmp((sc)->tok.start, lit, sizeof(lit) - 1))

static int once(unsigned *seen, unsigned bit) {
  if (*seen & bit) return -1;
  *seen |= bit;
  return 0;
}

/* The value after the current key, skipped whole. */
static int skip_value(scan *sc) { return mol_jscan_skip_value(&sc->s); }

/* The next value as a string into out (cap bytes with its NUL); -1 for anything else or a
 * string the full path would truncate. */
static int read_string(scan *sc, char *out, size_t cap) {
  if (mol_jscan_next(&sc->s, &sc->tok) != MOL_JT_STRING || sc->tok.len >= cap) return -1;
  mol_jscan_string(&sc->tok, out); /* decoding never grows: fits */
  return 0;
}

/* Calls member(sc, seen) on each key of the object just opened, up to its end. */
static int each_member(scan *sc, int (*member)(scan *, unsigned *), unsigned *seen) {
  for (;;) {
    mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
    if (t == MOL_JT_OBJECT_END) return 0;
    if (t != MOL_JT_KEY || sc->tok.escaped || member(sc, seen) != 0) return -1;
  }
}

static int message_member(scan *sc, unsigned *seen) {
  if (!KEY(sc, "messageId")) return skip_value(sc);
  return once(seen, SEEN_MSGID) ? -1 : read_string(sc, sc->msgid, 128);
}

static int params_member(scan *sc, unsigned *seen) {
  if (!KEY(sc, "message")) return skip_value(sc);
  if (once(seen, SEEN_MESSAGE) || mol_jscan_next(&sc->s, &sc->tok) != MOL_JT_OBJECT) return -1;
  unsigned mseen = 0;
  /* No messageId: normalisation adds one. */
  return each_member(sc, message_member, &mseen) == 0 && (mseen & SEEN_MSGID) ? 0 : -1;
}

static int top_member(scan *sc, unsigned *seen) {
  if (KEY(sc, "jsonrpc")) return once(seen, SEEN_JSONRPC) ? -1 : skip_value(sc);
  if (KEY(sc, "method")) return once(seen, SEEN_METHOD) ? -1 : read_string(sc, sc->method, 64);
  if (!KEY(sc, "params")) return skip_value(sc);
  if (once(seen, SEEN_PARAMS)) return -1;
  mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
  if (t == MOL_JT_NULL) return 0; /* no message: nothing to add */
  if (t != MOL_JT_OBJECT) return -1;
  unsigned pseen = 0;
  return each_member(sc, params_member, &pseen);
}

int mol_dp__a2a_scan(const char *body, size_t len, char method[64], char msgid[128]) {
  scan sc = {.method = method, .msgid = msgid};
  method[0] = msgid[0] = '\0';
  mol_jscan_init(&sc.s, body, len);
  unsigned seen = 0;
  int ok = mol_jscan_next(&sc.s, &sc.tok) == MOL_JT_OBJECT &&
           each_member(&sc, top_member, &seen) == 0 &&
           mol_jscan_next(&sc.s, &sc.tok) == MOL_JT_END && !mol_jscan_saw_nul(&sc.s) &&
           (seen & (SEEN_JSONRPC | SEEN_METHOD)) == (SEEN_JSONRPC | SEEN_METHOD);
  if (!ok) method[0] = msgid[0] = '\0';
  return ok;
}

char *mol_dp__a2a_normalize(const char *body, size_t len, char method[64], char msgid[128]) {
  json_t *b = json_loadb(body ? body : "", len, 0, NULL);
  if (!json_is_object(b)) {
    json_decref(b);
    return NULL;
  }
  if (!json_object_get(b, "jsonrpc")) {
    char id[MOL_UUID_LEN + 1];
    mol_uuid4(id);
    json_t *w = json_pack("{s:s,s:s}", "jsonrpc", "2.0", "id", id);
    json_t *m = json_object_get(b, "method"), *p = json_object_get(b, "params");
    json_object_set(w, "method", m ? m : json_null());
    json_object_set(w, "params", p ? p : json_null());
    json_decref(b);
    b = w;
  }
  json_t *msg = mol_json_path(b, "params.message");
  if (json_is_object(msg) && !json_object_get(msg, "messageId")) {
    char id[MOL_UUID_LEN + 1];
    mol_uuid4(id);
    json_object_set_new(msg, "messageId", json_string(id));
  }
  const char *m = mol_json_str(b, "method"), *mid = mol_json_str(msg, "messageId");
  snprintf(method, 64, "%s", m ? m : "");
  snprintf(msgid, 128, "%s", mid ? mid : "");
  char *out = mol_json_dump(b);
  json_decref(b);
  return out;
}
