/* hb_body.c - the body of POST /registry/heartbeat: its fields, and whether
 * the capability map it re-declares is the one already held.
 *
 * With 100,000 agents each heartbeating every 30 s, reading the body is most of a heartbeat's
 * cost, and building a jansson tree was most of that. mol_dp__hb_scan reads the fields with the
 * validating pull scanner (base/jscan) instead. It answers only what it is sure of: anything
 * jansson might read differently or that is refused (a duplicated known member, an escaped key,
 * \u0000, a field of the wrong type, a number jansson cannot load, any JSON error) declines, and
 * mol_dp__hb_read - the jansson reader, the reference - decides, with the exact result or the
 * 400. The unit test devplatform_hb_body checks that whatever the scan accepts, the jansson
 * reader reads the same. */
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "devplatform/dp_int.h"

/* A JSON real as an integer, clamped (and NaN as 0) so the conversion is always defined. */
static json_int_t real_to_int(double d) {
  if (!(d == d)) return 0;
  if (d > 1e15) return (json_int_t)1e15;
  if (d < -1e15) return (json_int_t)-1e15;
  return (json_int_t)d;
}

static void clamp_spend(mol_dp__hb *f) {
  if (f->spend < 0) f->spend = 0;
  if (f->spend > 1000000000000LL) f->spend = 1000000000000LL;
}

/* ---- the reference: a jansson tree ------------------------------------------------------- */

static void read_overrides(json_t *meta, mol_dp__hb *f) {
  if (!json_is_object(meta)) return;
  json_t *v = json_object_get(meta, "idle_timeout_seconds");
  if (json_is_integer(v)) f->idle = json_integer_value(v);
  else if (json_is_real(v)) f->idle = real_to_int(json_real_value(v));
  json_t *caps = json_object_get(meta, "capabilities");
  if (json_is_object(caps) && json_object_size(caps) > 0) f->caps = caps;
}

static int read_fields(json_t *b, mol_dp__hb *f) {
  json_t *v;
  f->ws = mol_json_str(b, "workspace_id");
  if (!f->ws) return 0;
  if ((v = json_object_get(b, "error_rate")) && !json_is_null(v)) {
    if (!json_is_number(v)) return 0;
    f->error_rate = json_number_value(v);
  }
#define HB_STR(key, dst)                                   \
  if ((v = json_object_get(b, key)) && !json_is_null(v)) { \
    if (!json_is_string(v)) return 0;                      \
    dst = json_string_value(v);                            \
  }
/* Integers given as reals (a Python float uptime) are truncated rather than refused. */
#define HB_INT(key, dst)                                                                  \
  if ((v = json_object_get(b, key)) && !json_is_null(v)) {                                \
    if (!json_is_number(v)) return 0;                                                     \
    dst = json_is_integer(v) ? json_integer_value(v) : real_to_int(json_real_value(v)); \
  }
  HB_STR("sample_error", f->sample_error);
  HB_STR("current_task", f->current_task);
  HB_STR("runtime_state", f->runtime_state);
  HB_INT("active_tasks", f->active_tasks);
  HB_INT("uptime_seconds", f->uptime);
  HB_INT("monthly_spend", f->spend);
#undef HB_STR
#undef HB_INT
  clamp_spend(f);
  read_overrides(json_object_get(b, "runtime_metadata"), f);
  return 1;
}

json_t *mol_dp__hb_read(const char *body, size_t len, mol_dp__hb *f) {
  memset(f, 0, sizeof *f);
  json_t *b = json_loadb(body ? body : "", len, 0, NULL);
  if (json_is_object(b) && read_fields(b, f)) return b;
  json_decref(b);
  memset(f, 0, sizeof *f);
  return NULL;
}

/* ---- the fast path: the scanner ---------------------------------------------------------- */

typedef struct {
  mol_jscan s;
  mol_jtok tok;
  mol_dp__hb *f;
  char *buf; /* strings are decoded here, one after another */
  unsigned seen;
} scan;

#define KEY(sc, lit) \
  ((sc)->tok.len == sizeof(lit) - 1 && !memcmp((sc)->tok.start, lit, sizeof(lit) - 1))

static int once(scan *sc, unsigned bit) {
  if (sc->seen & bit) return -1; /* jansson keeps the last of duplicates: let it decide */
  sc->seen |= bit;
  return 0;
}

/* The value after the current key, skipped whole. */
static int skip_value(scan *sc) { return mol_jscan_skip_value(&sc->s); }

/* The current REAL token as jansson converts it (strtod on its text). */
static int real_value(const mol_jtok *tok, double *out) {
  char num[64];
  if (tok->len >= sizeof num) return -1;
  memcpy(num, tok->start, tok->len);
  num[tok->len] = '\0';
  *out = strtod(num, NULL);
  return 0;
}

/* A string member: null leaves *dst NULL, a string is decoded into the buffer. */
static int read_str(scan *sc, const char **dst) {
  mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
  if (t == MOL_JT_NULL) return 0;
  if (t != MOL_JT_STRING) return -1;
  size_t n = mol_jscan_string(&sc->tok, sc->buf);
  *dst = sc->buf;
  sc->buf += n + 1;
  return 0;
}

/* A number member; is_int: truncate reals as jansson's reader does. */
static int read_num(scan *sc, double *d, json_int_t *i) {
  mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
  double v;
  switch (t) {
    case MOL_JT_NULL: return 0;
    case MOL_JT_INT:
      if (d) *d = (double)sc->tok.ival;
      if (i) *i = sc->tok.ival;
      return 0;
    case MOL_JT_REAL:
      if (real_value(&sc->tok, &v)) return -1;
      if (d) *d = v;
      if (i) *i = real_to_int(v);
      return 0;
    default: return -1;
  }
}

/* Just after an OBJECT token: 1 when the object has no member (its text is "{ ... }" with
 * only whitespace inside). */
static int object_empty(const mol_jscan *s, const mol_jtok *open) {
  const char *p = open->start + 1;
  while (p < s->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p < s->end && *p == '}';
}

enum { M_IDLE = 1, M_CAPS = 2 };

static int meta_member(scan *sc, unsigned *mseen) {
  mol_dp__hb *f = sc->f;
  if (KEY(sc, "idle_timeout_seconds")) {
    if (*mseen & M_IDLE) return -1;
    *mseen |= M_IDLE;
    mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
    double v;
    if (t == MOL_JT_INT) f->idle = sc->tok.ival;
    else if (t == MOL_JT_REAL) {
      if (real_value(&sc->tok, &v)) return -1;
      f->idle = real_to_int(v);
    }
    return mol_jscan_skip(&sc->s); /* any other type: no override */
  }
  if (!KEY(sc, "capabilities")) return skip_value(sc);
  if (*mseen & M_CAPS) return -1;
  *mseen |= M_CAPS;
  mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
  if (t != MOL_JT_OBJECT) return mol_jscan_skip(&sc->s); /* not a map: none */
  const char *start = sc->tok.start;
  int empty = object_empty(&sc->s, &sc->tok);
  if (mol_jscan_skip(&sc->s)) return -1;
  if (!empty) {
    f->caps_text = start;
    f->caps_len = (size_t)(sc->s.p - start);
  }
  return 0;
}

static int read_meta(scan *sc) {
  mol_jtype t = mol_jscan_next(&sc->s, &sc->tok);
  if (t != MOL_JT_OBJECT) return mol_jscan_skip(&sc->s); /* not a map: ignored */
  unsigned mseen = 0;
  for (;;) {
    t = mol_jscan_next(&sc->s, &sc->tok);
    if (t == MOL_JT_OBJECT_END) return 0;
    if (t != MOL_JT_KEY || sc->tok.escaped || meta_member(sc, &mseen)) return -1;
  }
}

enum {
  S_WS = 1, S_RATE = 2, S_SAMPLE = 4, S_TASK = 8, S_STATE = 16, S_ACTIVE = 32, S_UPTIME = 64,
  S_SPEND = 128, S_META = 256
};

static int top_member(scan *sc) {
  mol_dp__hb *f = sc->f;
  if (KEY(sc, "workspace_id")) {
    if (once(sc, S_WS) || mol_jscan_next(&sc->s, &sc->tok) != MOL_JT_STRING) return -1;
    size_t n = mol_jscan_string(&sc->tok, sc->buf);
    f->ws = sc->buf;
    sc->buf += n + 1;
    return 0;
  }
  if (KEY(sc, "error_rate")) return once(sc, S_RATE) ? -1 : read_num(sc, &f->error_rate, NULL);
  if (KEY(sc, "sample_error")) return once(sc, S_SAMPLE) ? -1 : read_str(sc, &f->sample_error);
  if (KEY(sc, "current_task")) return once(sc, S_TASK) ? -1 : read_str(sc, &f->current_task);
  if (KEY(sc, "runtime_state")) return once(sc, S_STATE) ? -1 : read_str(sc, &f->runtime_state);
  if (KEY(sc, "active_tasks")) return once(sc, S_ACTIVE) ? -1 : read_num(sc, NULL, &f->active_tasks);
  if (KEY(sc, "uptime_seconds")) return once(sc, S_UPTIME) ? -1 : read_num(sc, NULL, &f->uptime);
  if (KEY(sc, "monthly_spend")) return once(sc, S_SPEND) ? -1 : read_num(sc, NULL, &f->spend);
  if (KEY(sc, "runtime_metadata")) return once(sc, S_META) ? -1 : read_meta(sc);
  return skip_value(sc);
}

int mol_dp__hb_scan(const char *body, size_t len, mol_dp__hb *f, char *buf) {
  scan sc = {.f = f, .buf = buf};
  memset(f, 0, sizeof *f);
  mol_jscan_init(&sc.s, body, len);
  int ok = mol_jscan_next(&sc.s, &sc.tok) == MOL_JT_OBJECT;
  while (ok) {
    mol_jtype t = mol_jscan_next(&sc.s, &sc.tok);
    if (t == MOL_JT_OBJECT_END) break;
    ok = t == MOL_JT_KEY && !sc.tok.escaped && top_member(&sc) == 0;
  }
  ok = ok && mol_jscan_next(&sc.s, &sc.tok) == MOL_JT_END && !mol_jscan_saw_nul(&sc.s) && f->ws;
  if (!ok) {
    memset(f, 0, sizeof *f);
    return 0;
  }
  clamp_spend(f);
  return 1;
}

/* ---- the capability map, compared without building it ------------------------------------ */

/* 1 when the scalar token equals v; 0 otherwise, or for anything not compared here. */
static int scalar_same(const mol_jtok *tok, json_t *v) {
  switch (tok->type) {
    case MOL_JT_TRUE: return json_is_true(v);
    case MOL_JT_FALSE: return json_is_false(v);
    case MOL_JT_NULL: return json_is_null(v);
    case MOL_JT_INT: return json_is_integer(v) && json_integer_value(v) == tok->ival;
    case MOL_JT_STRING:
      return !tok->escaped && json_is_string(v) && json_string_length(v) == tok->len &&
             !memcmp(json_string_value(v), tok->start, tok->len);
    default: return 0;
  }
}

#define CAPS_MAX 32

int mol_dp__hb_caps_same(json_t *caps, const char *text, size_t len) {
  if (!json_is_object(caps) || !text) return 0;
  mol_jscan s;
  mol_jtok tok, keys[CAPS_MAX];
  size_t n = 0;
  mol_jscan_init(&s, text, len);
  if (mol_jscan_next(&s, &tok) != MOL_JT_OBJECT) return 0;
  for (;;) {
    mol_jtype t = mol_jscan_next(&s, &tok);
    if (t == MOL_JT_OBJECT_END) break;
    if (t != MOL_JT_KEY || tok.escaped || n == CAPS_MAX) return 0;
    for (size_t k = 0; k < n; k++) /* a duplicated key could hide a missing one */
      if (keys[k].len == tok.len && !memcmp(keys[k].start, tok.start, tok.len)) return 0;
    keys[n++] = tok;
    json_t *v = json_object_getn(caps, tok.start, tok.len);
    if (!v) return 0;
    mol_jscan_next(&s, &tok);
    if (!scalar_same(&tok, v)) return 0;
  }
  return mol_jscan_next(&s, &tok) == MOL_JT_END && !mol_jscan_saw_nul(&s) &&
         n == json_object_size(caps);
}
